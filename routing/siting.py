"""Base siting: where a unit would need (more) bases so that its approved areas are reached within the limit.

Method
------
- **Demand**: the audit's population points (:mod:`routing.population`) in the unit's approved areas, weighted by
  people; what the unit's existing bases reach is exactly what the audit counts as reached.
- **Candidate sites** (:mod:`routing.candidate_sites`): one per DeSO, at the population-weighted centre of its
  points snapped to the nearest road a house can lie on (never a motorway), thinned greedily, most populous first,
  so that no two sites are closer than :data:`routing.candidate_sites.SITING_SPACING_M`: about 320 sites over the
  county, wherever people live.
- **Coverage** (:func:`routing.candidate_sites.reach_matrix`): one drive-time tree per site (bounded at the limit,
  :mod:`routing.trees`) and the time to every population point, partial edges included, as the audit measures it.
  Computed once per profile and limit.
- **Most people for N new bases** (maximal coverage): spopt's ``MCLP`` with the existing bases as predefined
  facilities, solved by CBC (bundled with PuLP). Points that the same sites cover are merged into one client with
  their summed population, which leaves the optimum unchanged and shrinks the model from tens of thousands of points
  to a few thousand; the points the existing bases reach are one client served by them.
- **Fewest new bases so that every approved area reaches the supported share** (95 %): a set cover with a partial
  requirement per area (each area's reached population ≥ 95 % of its people), written in PuLP and solved by CBC on
  the same merged clients; spopt's LSCP would demand every point. An area
  that no set of sites can bring to the share (people beyond every candidate's reach) is reported and asked to
  reach what it can; more than :data:`SITING_MAX_BASES` sites count as not met.
- Each suggestion gives its point, where it is (DeSO, district or municipality, and the named place nearest **by
  car**, so never a place across water), the people it adds per area (in the order the sites add most), and the
  verdicts after, for every profile.
- **Worth a base**: a site that adds fewer people than ``settings.siting_min_gain_share`` of the unit's approved
  areas' people is not offered (the answer says how many were left out and the minimum). An answer without sites
  says why, by ``status``: ``none_needed`` (what is asked is met with today's bases) or ``none_helps`` (people are
  out of reach, but no site adds the minimum).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from routing.audit import CoverageAuditor, floor4
from routing.candidate_sites import SITING_SPACING_M, candidate_sites, reach_matrix
from routing.snapping import SnapArray, snap_many
from routing.trees import drive_time_trees, times_to_snaps

SITING_MAX_BASES = 8
"""Most new bases the 'fewest bases' search tries before it reports the target out of reach."""
SITING_TIME_LIMIT_S = 60.0
"""Longest the solver may search for the fewest bases (s); past it the best found is not proven fewest."""
SITING_NEAR_DRIVE_S = 900.0
"""A named place farther from a site than this by car (s) is not given as its 'near' name."""
SNAP_FIELDS = ("edge", "fraction", "distance_m", "x", "y", "far")


class SitingError(ValueError):
    """The siting question cannot be answered (bad count, a unit without approved areas)."""


@dataclass
class Site:
    """One suggested base: where, and the people it adds per approved area (given the bases before it)."""

    lat: float
    lon: float
    deso: str
    where: str
    near: str | None
    near_drive_min: float | None
    """Drive time (min) from the site to :attr:`near`, the named place nearest by car."""
    gained: dict[int, int]

    def to_dict(self, area_names: dict[int, str]) -> dict:
        """JSON shape."""
        return {
            "lat": round(self.lat, 6), "lon": round(self.lon, 6), "deso": self.deso, "where": self.where,
            "near": self.near,
            "near_drive_min": None if self.near_drive_min is None else round(self.near_drive_min, 1),
            "population_gained": sum(self.gained.values()),
            "gained_by_area": [{"area_id": a, "area_name": area_names.get(a, ""), "population": p}
                               for a, p in self.gained.items()],
        }


@dataclass
class SitingResult:
    """The answer to a siting question for one unit."""

    unit_id: str
    unit: str
    question: str
    profile: str
    limit_s: float
    sites: list[Site]
    areas: list[dict]
    candidates: int
    runtime_s: float
    unreachable: list[dict] = field(default_factory=list)
    met: bool | None = None
    proven: bool | None = None
    status: str = "sites"
    """``sites``; or, with none: ``none_needed`` (met with today's bases) or ``none_helps`` (no site adds
    :attr:`min_gain`)."""
    min_gain: int = 0
    """Fewest people a site must add to be offered (``settings.siting_min_gain_share`` of the approved people)."""
    not_offered: int = 0
    """Sites the solver chose that add fewer than :attr:`min_gain` people, left out."""
    chosen: list[int] = field(default_factory=list, repr=False)
    """Candidate indices of :attr:`sites` (internal)."""

    def to_dict(self, area_names: dict[int, str]) -> dict:
        """JSON shape (``asih suggest-bases --json`` and the HTTP answer)."""
        return {
            "unit": self.unit, "unit_id": self.unit_id, "question": self.question, "profile": self.profile,
            "limit_minutes": self.limit_s / 60, "count": len(self.sites),
            "sites": [s.to_dict(area_names) for s in self.sites], "areas": self.areas,
            "target_met": self.met, "proven_fewest": self.proven, "out_of_reach": self.unreachable,
            "status": self.status, "min_gain": self.min_gain, "not_offered": self.not_offered,
            "candidates": self.candidates,
            "runtime_s": round(self.runtime_s, 2),
            "method": "spopt MCLP (CBC via PuLP), existing bases fixed, over population-weighted DeSO sites "
                      f"{SITING_SPACING_M / 1000:g} km apart; demand = the audit's population points",
        }


class SitePlanner:
    """Siting over the prepared state: auditors per profile (:func:`routing.audit.profile_auditors`).

    Parameters
    ----------
    auditors : profile → auditor (same samples and limit); the sites are chosen for ``profile``.
    profile : the traffic profile the sites must reach within the limit under.
    places : optional named places ``(name, x, y)`` (EPSG:3006) for each site's 'near' name.
    min_gain_share : share of the approved people a site must add to be offered (default the settings').
    """

    def __init__(self, auditors: dict[str, CoverageAuditor], profile: str,
                 places: list[tuple[str, float, float]] | None = None, spacing_m: float = SITING_SPACING_M,
                 min_gain_share: float | None = None):
        if profile not in auditors:
            raise SitingError(f"Profile {profile!r} is not among the audited ones ({', '.join(auditors)}).")
        self.auditors = auditors
        self.profile = profile
        self.auditor = auditors[profile]
        self.points = self.auditor.samples.population
        self.candidates = candidate_sites(self.auditor.net, self.points, spacing_m)
        self.places = places or []
        self.min_gain_share = float(self.auditor.settings.siting_min_gain_share if min_gain_share is None
                                    else min_gain_share)
        self.area_names = dict(zip(self.auditor.model.areas["id"].astype(int),
                                   self.auditor.model.areas["name"].astype(str)))
        self._reach: np.ndarray | None = None
        self._places_snapped: SnapArray | None = None

    @property
    def reach(self) -> np.ndarray:
        """Bool (candidates × population points) under the planning profile (computed on first use)."""
        if self._reach is None:
            self._reach = reach_matrix(self.auditor.net, self.candidates.snaps, self.points.snaps,
                                       self.auditor.limit_s)
        return self._reach

    def suggest(self, unit_id: str, count: int) -> SitingResult:
        """The ``count`` new sites that, with the existing bases, reach the most people in the approved areas."""
        t0 = time.perf_counter()
        if not 1 <= count <= SITING_MAX_BASES:
            raise SitingError(f"Ask for 1 to {SITING_MAX_BASES} new bases, not {count}.")
        unit, demand, covered = self._demand(unit_id)
        chosen = self._mclp(demand, covered, count)
        result = self._result(unit, f"most people with {count} new base(s)", chosen, demand, covered, t0)
        if not result.sites:
            out = float(self.points.weight[demand & ~covered].sum())
            result.status = "none_needed" if out == 0 else "none_helps"
        return result

    def fewest(self, unit_id: str, max_bases: int = SITING_MAX_BASES) -> SitingResult:
        """The fewest new sites so that every approved area reaches the supported share (see module docstring)."""
        t0 = time.perf_counter()
        unit, demand, covered = self._demand(unit_id)
        share = self.auditor.settings.audit_supported_share
        best = self._best_possible(demand, covered)
        need = {a: min(share, best[a]) for a in unit.areas}
        unreachable = [{"area_id": a, "area_name": self.area_names.get(a, ""), "best_share": floor4(best[a])}
                       for a in unit.areas if best[a] < share]
        chosen: list[int] = []
        met, proven = self._meets(chosen, demand, covered, need), True
        if not met:
            chosen, proven = self._cover_ilp(demand, covered, need, max_bases)
            met = bool(chosen) and self._meets(chosen, demand, covered, need)
        question = f"fewest new bases so that every approved area reaches {share:.0%}"
        result = self._result(unit, question, chosen, demand, covered, t0)
        if result.not_offered:  # sites too small to offer are not part of the answer: is the target met without?
            met = self._meets(result.chosen, demand, covered, need)
        result.met, result.unreachable, result.proven = met, unreachable, proven
        if not result.sites:
            result.status = "none_needed" if met else "none_helps"
        return result

    # -- internals -------------------------------------------------------------------------------------------------
    def _demand(self, unit_id: str):
        unit = self.auditor.registry.get(unit_id)
        if not unit.areas:
            raise SitingError(f"{unit.unit} is approved for no area; there is nothing to site for.")
        i = self.auditor.unit_order.index(unit.id)
        demand = np.isin(self.points.area_id, list(unit.areas))
        return unit, demand, self.auditor.pop_reached[i].copy()

    def _mclp(self, demand: np.ndarray, covered: np.ndarray, count: int) -> list[int]:
        """spopt MCLP over the uncovered demand, existing bases fixed; returns candidate indices."""
        import pulp
        from spopt.locate import MCLP

        useful, patterns, weights = self._clients(demand & ~covered, by_area=False)
        if useful.size == 0:
            return []
        k = 1  # the existing bases act as one fixed facility: what they reach is one client they serve
        cost = np.full((1 + len(patterns), k + useful.size), np.inf)
        cost[0, :k] = 0.0
        cost[1:, k:] = np.where(patterns, 0.0, np.inf)
        served = float(self.points.weight[demand & covered].sum())
        predefined = np.r_[np.ones(k, dtype=int), np.zeros(useful.size, dtype=int)]
        p = k + min(count, useful.size)
        with warnings.catch_warnings():  # PuLP 3.x warns about its 4.0 API on every variable spopt creates
            warnings.simplefilter("ignore", DeprecationWarning)
            model = MCLP.from_cost_matrix(cost, np.r_[served, weights], service_radius=0.5, p_facilities=p,
                                          predefined_facilities_arr=predefined, name="asih_siting")
            model.solve(pulp.PULP_CBC_CMD(msg=False), results=False)
        picked = [j for j in range(useful.size) if (model.fac_vars[k + j].value() or 0) > 0.5]
        return [int(useful[j]) for j in picked]

    def _cover_ilp(self, demand: np.ndarray, covered: np.ndarray, need: dict[int, float],
                   max_bases: int) -> tuple[list[int], bool]:
        """Fewest sites so that each area's reached share is at least ``need[area]`` (a set cover with a partial,
        per-area requirement: spopt's LSCP covers every client, so this small model is written in PuLP directly, on
        the same merged clients as :meth:`_mclp`). Returns the sites (empty when infeasible within ``max_bases``) and
        whether the count is proven fewest (False when the solver's time limit cut the search short)."""
        import pulp

        w, area = self.points.weight, self.points.area_id
        useful, patterns, weights = self._clients(demand & ~covered, by_area=True)
        if useful.size == 0:
            return [], True
        with warnings.catch_warnings():  # PuLP 3.x warns about its 4.0 API on every variable
            warnings.simplefilter("ignore", DeprecationWarning)
            problem = pulp.LpProblem("asih_fewest_bases", pulp.LpMinimize)
            x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(useful.size)]
            y = [pulp.LpVariable(f"y{p}", cat="Binary") for p in range(len(patterns))]
            problem += pulp.lpSum(x)
            for p, row in enumerate(patterns[:, 1:]):
                problem += y[p] <= pulp.lpSum(x[j] for j in np.flatnonzero(row))
            for a, share in need.items():
                in_area = demand & (area == a)
                missing = share * float(w[in_area].sum()) - float(w[in_area & covered].sum())
                if missing > 1e-9:
                    ps = np.flatnonzero(patterns[:, 0] == a)
                    problem += pulp.lpSum(float(weights[p]) * y[p] for p in ps) >= missing - 1e-6
            problem += pulp.lpSum(x) <= max_bases
            problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=SITING_TIME_LIMIT_S))
        # sol_status 1: proven optimal; 2: a solution found before the time limit, not proven fewest.
        if problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            return [], False
        picked = [int(useful[j]) for j in range(useful.size) if (x[j].value() or 0) > 0.5]
        return picked, problem.sol_status == pulp.LpSolutionOptimal

    def _clients(self, open_: np.ndarray, by_area: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's clients and facilities for the ``open_`` points (not reached today).

        Returns the candidate indices kept, the client patterns (bool rows over those candidates; with ``by_area``
        the first column is the area id) and their people. Points covered by the same sites (in the same area) are
        one client; a candidate whose clients are all covered by another candidate is dropped (it can always be
        swapped for that one without losing anyone), which shrinks the model severalfold.
        """
        w, area = self.points.weight, self.points.area_id
        cover = self.reach[:, open_].T
        useful = np.flatnonzero(cover.any(axis=0))
        if useful.size == 0:
            return useful, np.zeros((0, 0), dtype=np.int64), np.zeros(0)
        lead = area[open_][:, None] if by_area else np.zeros((int(open_.sum()), 0), dtype=np.int64)
        n = lead.shape[1]
        patterns, weights = _merge(np.c_[lead, cover[:, useful]].astype(np.int64), w[open_])
        keep_cols = ~_dominated(patterns[:, n:].astype(bool))
        useful = useful[keep_cols]
        patterns, weights = _merge(np.c_[patterns[:, :n], patterns[:, n:][:, keep_cols]], weights)
        keep = patterns[:, n:].any(axis=1)
        return useful, patterns[keep], weights[keep]

    def _best_possible(self, demand: np.ndarray, covered: np.ndarray) -> dict[int, float]:
        """Per approved area, the share reached if every candidate site were a base."""
        reached = covered | self.reach.any(axis=0)
        return {int(a): self._share(reached, demand & (self.points.area_id == a))
                for a in np.unique(self.points.area_id[demand])}

    def _meets(self, chosen, demand, covered, need: dict[int, float]) -> bool:
        reached = covered | (self.reach[chosen].any(axis=0) if chosen else False)
        return all(self._share(reached, demand & (self.points.area_id == a)) >= need[a] - 1e-12 for a in need)

    def _share(self, reached: np.ndarray, mask: np.ndarray) -> float:
        total = float(self.points.weight[mask].sum())
        return float(self.points.weight[mask & reached].sum()) / total if total else 1.0

    def _result(self, unit, question: str, chosen: list[int], demand, covered, t0: float) -> SitingResult:
        """The chosen sites in the order they add most, each offered only if it adds the minimum gain."""
        w, area = self.points.weight, self.points.area_id
        min_gain = self.min_gain_share * float(w[demand].sum())
        order, reached, sites, kept = list(chosen), covered.copy(), [], []
        while order:
            gains = [float(w[demand & ~reached & self.reach[j]].sum()) for j in order]
            if max(gains) < min_gain or max(gains) <= 0:
                break  # gains only shrink as more is reached: the rest are smaller still
            j = order.pop(int(np.argmax(gains)))
            new = demand & ~reached & self.reach[j]
            gained = {int(a): int(round(w[new & (area == a)].sum())) for a in unit.areas}
            near, minutes = self._near(j)
            c = self.candidates
            sites.append(Site(float(c.lat[j]), float(c.lon[j]), str(c.deso[j]), str(c.place[j]), near, minutes,
                              gained))
            kept.append(j)
            reached |= self.reach[j]
        return SitingResult(unit.id, unit.unit, question, self.profile, self.auditor.limit_s, sites,
                            self._areas_after(unit, sites), len(self.candidates), time.perf_counter() - t0,
                            min_gain=int(np.ceil(min_gain)), not_offered=len(order), chosen=kept)

    def _areas_after(self, unit, sites: list[Site]) -> list[dict]:
        """Per approved area and profile: share and verdict today and with the sites."""
        from geo.providers import Base
        from routing.basetrees import compute_base_trees

        out = {a: {"area_id": a, "area_name": self.area_names.get(a, ""), "population": 0, "profiles": {}}
               for a in unit.areas}
        w, area = self.points.weight, self.points.area_id
        i = self.auditor.unit_order.index(unit.id)
        for name, auditor in self.auditors.items():
            before = auditor.pop_reached[i]
            if sites:
                pairs = [(unit, Base(f"site {k + 1}", s.lat, s.lon, "address", "siting")) for k, s in enumerate(sites)]
                with np.errstate(invalid="ignore"):
                    trees = compute_base_trees(auditor.net, pairs, auditor.limit_s)
                    after = before | (trees.times_to(auditor.net, self.points.snaps) <= auditor.limit_s).any(axis=0)
            else:
                after = before
            for a in unit.areas:
                mask = area == a
                out[a]["population"] = int(round(w[mask].sum()))
                sb, sa = self._share(before, mask), self._share(after, mask)
                out[a]["profiles"][name] = {
                    "share_before": floor4(sb), "verdict_before": auditor.verdict(sb),
                    "share_after": floor4(sa), "verdict_after": auditor.verdict(sa),
                    "people_gained": int(round(w[mask & after & ~before].sum())),
                }
        return list(out.values())

    def _near(self, j: int) -> tuple[str | None, float | None]:
        """The named place nearest to site ``j`` by car (outbound, within :data:`SITING_NEAR_DRIVE_S`) and the drive
        time to it (min); (None, None) without places or with none that near."""
        places = self._place_snaps()
        if places is None:
            return None, None
        net = self.auditor.net
        site = SnapArray(*(getattr(self.candidates.snaps, f)[j:j + 1] for f in SNAP_FIELDS))
        with np.errstate(invalid="ignore"):
            trees = drive_time_trees(net, site, SITING_NEAR_DRIVE_S)
            times = times_to_snaps(net, trees, places, sources=site)[0]
        k = int(np.argmin(times))
        if not np.isfinite(times[k]) or times[k] > SITING_NEAR_DRIVE_S:
            return None, None
        return self.places[k][0], float(times[k]) / 60

    def _place_snaps(self) -> SnapArray | None:
        """The named places snapped to the network (once)."""
        if not self.places:
            return None
        if self._places_snapped is None:
            xy = np.array([(px, py) for _, px, py in self.places], dtype=float)
            self._places_snapped = snap_many(self.auditor.net, xy[:, 0], xy[:, 1], far_m=float("inf"))
        return self._places_snapped


def _merge(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Identical rows merged, their weights summed."""
    rows, inverse = np.unique(keys, axis=0, return_inverse=True)
    return rows, np.bincount(inverse.ravel(), weights=weights, minlength=len(rows))


def _dominated(bits: np.ndarray) -> np.ndarray:
    """Columns whose set of rows is contained in another column's (of equal sets, all but the first)."""
    a = bits.astype(np.int32)
    inter = a.T @ a
    size = np.diag(inter)
    idx = np.arange(size.size)
    contained = inter == size[:, None]  # [j, k]: column j ⊆ column k
    beats = (size[None, :] > size[:, None]) | ((size[None, :] == size[:, None]) & (idx[None, :] < idx[:, None]))
    return (contained & beats & (idx[None, :] != idx[:, None])).any(axis=1)


def index_places(geocoder) -> list[tuple[str, float, float]]:
    """Named places of the offline geocoder's index in the county (localities and Stockholm districts), as
    ``(label, x, y)``; empty for a geocoder without an index."""
    index = getattr(geocoder, "index", None)
    if index is None:
        return []
    return [(p.label, p.x, p.y) for p in index.places if p.in_county and p.kind in ("locality", "district")]

"""Patient choice: how many approved units really reach each place within the limit.

Per population point, the number of units approved for its area whose nearest base reaches it within the limit;
population with 0, 1, 2 and 3+ real choices per area and for the county (these add up to the county population
exactly). Per DeSO (for maps), a unit counts as reaching the DeSO when it reaches at least half of the DeSO's
population points.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from routing.audit import CoverageAuditor

DESO_REACH_SHARE = 0.5
"""A unit reaches a DeSO when it reaches at least this share of the DeSO's population points."""


def _approved_matrix(auditor: CoverageAuditor) -> np.ndarray:
    """Boolean (units × points): unit approved for the point's area."""
    area_of = auditor.samples.population.area_id
    return np.array([np.isin(area_of, list(u.areas)) for u in auditor.registry.units])


def choice_summary(auditor: CoverageAuditor) -> dict:
    """``{by_area: [{area_id, area_name, population, pop_0, pop_1, pop_2, pop_3plus}], county: {...}}`` (persons)."""
    pop = auditor.samples.population
    counts = (auditor.pop_reached & _approved_matrix(auditor)).sum(axis=0)

    def _row(mask: np.ndarray) -> dict:
        w = pop.weight[mask]
        c = counts[mask]
        return {
            "population": int(round(w.sum())),
            "pop_0": int(round(w[c == 0].sum())),
            "pop_1": int(round(w[c == 1].sum())),
            "pop_2": int(round(w[c == 2].sum())),
            "pop_3plus": int(round(w[c >= 3].sum())),
        }

    names = dict(zip(auditor.model.areas["id"].astype(int), auditor.model.areas["name"].astype(str)))
    by_area = [{"area_id": a, "area_name": names.get(a, ""), **_row(pop.area_id == a)} for a in auditor.area_ids]
    county = _row(np.ones(len(pop), dtype=bool))
    return {
        "by_area": by_area,
        "county": county,
        "limit_s": auditor.limit_s,
        "profile": auditor.net.profile,
        "base_precision_note": _precision_note(auditor),
    }


def choice_layer(auditor: CoverageAuditor) -> gpd.GeoDataFrame:
    """DeSO polygons (EPSG:3006) with ``deso, area_id, population, choices, units`` (units reaching it)."""
    pop = auditor.samples.population
    deso = auditor.model.deso.reset_index(drop=True)
    index = {d: i for i, d in enumerate(deso["deso"])}
    owner = np.array([index[d] for d in pop.deso])
    n_points = np.bincount(owner, minlength=len(deso)).astype(float)
    approved = _approved_matrix(auditor)
    reaching = []
    for u, reached, ok in zip(auditor.registry.units, auditor.pop_reached, approved):
        share = np.bincount(owner, weights=(reached & ok).astype(float), minlength=len(deso)) / np.maximum(n_points, 1)
        reaching.append((u.unit, share >= DESO_REACH_SHARE))
    choices = np.sum([r for _, r in reaching], axis=0)
    names = [", ".join(name for name, r in reaching if r[i]) for i in range(len(deso))]
    layer = deso[["deso", "area_id", "municipality_code", "population", "geometry"]].copy()
    layer["choices"] = choices.astype(int)
    layer["units"] = names
    return layer


def _precision_note(auditor: CoverageAuditor) -> str:
    guessed = [u.unit for u in auditor.registry.units if u.precision == "unknown"]
    return (
        f"{len(guessed)} of {len(auditor.registry.units)} units have a guessed base ({', '.join(guessed)}); "
        "their reach, and the choice counts that include them, are uncertain."
        if guessed else "All bases are known at address or place level."
    )

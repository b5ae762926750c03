"""Calibrate the ``typical`` and ``peak`` speed profiles to measured city-wide congestion.

Method (the numbers and their sources are in ``data/speeds.yaml``, section ``calibration``):

- A profile multiplies each road class's free-flow time by ``1 + k · shape[class]``; the shape (which classes
  congest more) is an assumption, the level ``k`` is fitted.
- The trip set is what ASIH drives: from every provider base to every population point it reaches within
  ``max_free_flow_minutes`` at free flow, each trip weighted by the point's population.
- The slow-down of a set of trips is ``Σ w·t_profile / Σ w·t_free − 1`` (a whole-city index aggregates travel
  time the same way), with every trip re-routed on the slowed network. It grows with ``k``, so ``k`` is the root
  of ``slow-down(k) − target`` (Brent's method); the factors are then rounded and their own slow-down reported.
- An independent check set (population-weighted origins to every population point within the same time) says
  how far the fit carries beyond the bases; so does the share of the trip set that ends in Stockholm city.

Run ``asih calibrate`` (or ``python -m routing.calibrate``): it prints the fit; ``--check`` exits 1 when the
factors in ``speeds.yaml`` differ from the fit; ``--write`` rewrites the calibrated block of ``speeds.yaml``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import brentq

from core.settings import Settings, get_settings
from routing.network import RoadNetwork
from routing.snapping import SnapArray
from routing.trees import drive_time_trees, times_to_snaps

BEGIN = "  # BEGIN calibrated profiles"
END = "  # END calibrated profiles"
PROFILE_DESCRIPTIONS = {
    "typical": "Weekday all-day average traffic, calibrated to measured city-wide congestion.",
    "peak": "Weekday rush hours (08-09, 16-17), calibrated to measured city-wide congestion.",
}
MAX_K = 5.0
"""Upper end of the search for ``k`` (time × 6 on a shape-1 road): far beyond any measured congestion."""


@dataclass(frozen=True)
class CalibrationSpec:
    """The ``calibration`` section of ``speeds.yaml``: targets (extra time, fraction), class shape, trip sets."""

    targets: dict[str, float]
    shape: dict[str, float]
    shape_default: float
    trip_minutes: float
    check_origins: int
    check_seed: int
    check_minutes: float
    decimals: int


@dataclass
class TripSet:
    """Trips from ``sources`` (k points) to ``targets`` (m points): free-flow times (s, k × m) and weights (k × m,
    0 for pairs outside the set)."""

    sources: SnapArray
    targets: SnapArray
    free_s: np.ndarray
    weight: np.ndarray

    @property
    def n_trips(self) -> int:
        """Number of (source, target) pairs in the set."""
        return int((self.weight > 0).sum())


@dataclass(frozen=True)
class Fit:
    """One calibrated profile: level ``k``, rounded factors, and the slow-downs they give (fractions)."""

    profile: str
    target: float
    k: float
    default_factor: float
    factors: dict[str, float]
    achieved: float
    check_set: float
    stockholm_city: float
    trips: int


def read_spec(path: str | Path) -> CalibrationSpec:
    """The calibration section of a speeds file."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cal = raw.get("calibration")
    if not cal:
        raise ValueError(f"{path} has no `calibration` section; see data/speeds.yaml.")
    return CalibrationSpec(
        targets={k: float(v) for k, v in cal["targets"].items()},
        shape={k: float(v) for k, v in cal["shape"].items()},
        shape_default=float(cal["shape_default"]),
        trip_minutes=float(cal["trip_set"]["max_free_flow_minutes"]),
        check_origins=int(cal["check_set"]["origins"]),
        check_seed=int(cal["check_set"]["seed"]),
        check_minutes=float(cal["check_set"]["max_free_flow_minutes"]),
        decimals=int(cal.get("factor_decimals", 3)),
    )


def profile_factors(k: float, spec: CalibrationSpec, classes: list[str] | None = None) -> tuple[float, dict[str, float]]:
    """Speed factors of level ``k``: ``1 / (1 + k · shape)`` per class, rounded to ``spec.decimals``.

    Returns
    -------
    (default_factor, {class: factor}) as in ``speeds.yaml``'s profiles.
    """
    classes = classes if classes is not None else list(spec.shape)
    table = {c: round(1.0 / (1.0 + k * spec.shape.get(c, spec.shape_default)), spec.decimals) for c in classes}
    return round(1.0 / (1.0 + k * spec.shape_default), spec.decimals), table


def base_trip_set(net: RoadNetwork, base_snaps: SnapArray, points: SnapArray, weight: np.ndarray,
                  minutes: float) -> TripSet:
    """Trips from each base to each population point within ``minutes`` at free flow (``net`` in free flow)."""
    with np.errstate(invalid="ignore"):
        free = times_to_snaps(net, drive_time_trees(net, base_snaps), points, sources=base_snaps)
    return TripSet(base_snaps, points, free, np.where(free <= minutes * 60, weight[None, :], 0.0))


def check_trip_set(net: RoadNetwork, points: SnapArray, weight: np.ndarray, origins: int, seed: int,
                   minutes: float) -> TripSet:
    """Trips from ``origins`` population points (drawn ∝ population, fixed seed) to every point within ``minutes``."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(points), size=origins, replace=False, p=weight / weight.sum())
    sources = SnapArray(*(getattr(points, f)[pick] for f in ("edge", "fraction", "distance_m", "x", "y", "far")))
    return base_trip_set(net, sources, points, weight, minutes)


def slowdown(net: RoadNetwork, trips: TripSet, profile: tuple[float, dict[str, float]],
             mask: np.ndarray | None = None) -> float:
    """Extra travel time of the trip set under ``profile`` (fraction; 0.28 = +28 %), trips re-routed.

    ``net`` is the free-flow network; ``mask`` (bool over targets) limits the set to some destinations.
    """
    slowed = replace(net, profiles={**net.profiles, "_calibrating": [profile[0], profile[1]]}, profile="_calibrating")
    with np.errstate(invalid="ignore"):  # 0 · inf on one-way roads is resolved to inf inside routing.trees
        times = times_to_snaps(slowed, drive_time_trees(slowed, trips.sources), trips.targets, sources=trips.sources)
    w = trips.weight if mask is None else trips.weight * mask[None, :]
    return float((w * times).sum() / (w * trips.free_s).sum() - 1.0)


def fit_profile(net: RoadNetwork, trips: TripSet, name: str, target: float, spec: CalibrationSpec,
                classes: list[str]) -> tuple[float, tuple[float, dict[str, float]]]:
    """The level ``k`` whose (unrounded) factors slow ``trips`` by ``target``, and the rounded factors."""

    def gap(k: float) -> float:
        exact = (1.0 / (1.0 + k * spec.shape_default),
                 {c: 1.0 / (1.0 + k * spec.shape.get(c, spec.shape_default)) for c in classes})
        return slowdown(net, trips, exact) - target

    if not 0 < target < gap(MAX_K) + target:  # the slow-down at MAX_K must exceed the target
        raise ValueError(f"The {name} target {target:+.0%} cannot be reached with k in (0, {MAX_K}].")
    k = float(brentq(gap, 0.0, MAX_K, xtol=1e-5))
    return k, profile_factors(k, spec, classes)


def calibrate(settings: Settings | None = None, spec: CalibrationSpec | None = None) -> list[Fit]:
    """Fit every target profile on the prepared free-flow network, bases and population points."""
    from geo.areas.model import load_area_model
    from geo.providers import read_registry
    from routing.basetrees import load_base_trees
    from routing.population import load_samples
    from routing.prepare import load_network

    settings = settings or get_settings()
    spec = spec or read_spec(settings.speeds_file)
    net = load_network(settings, profile="free_flow")
    registry = read_registry(settings.providers_file)
    pop = load_samples(settings, net, load_area_model(settings)).population
    bases = load_base_trees(settings, net, registry).snaps
    classes = sorted({str(c) for c in np.unique(net.edge_class)} | set(spec.shape))
    trips = base_trip_set(net, bases, pop.snaps, pop.weight, spec.trip_minutes)
    check = check_trip_set(net, pop.snaps, pop.weight, spec.check_origins, spec.check_seed, spec.check_minutes)
    city = np.char.find(pop.place.astype(str), " / ") >= 0  # Stockholm city points are 'borough / district'
    fits = []
    for name, target in spec.targets.items():
        k, factors = fit_profile(net, trips, name, target, spec, classes)
        fits.append(Fit(
            profile=name, target=target, k=round(k, 4), default_factor=factors[0], factors=factors[1],
            achieved=slowdown(net, trips, factors), check_set=slowdown(net, check, factors),
            stockholm_city=slowdown(net, trips, factors, city), trips=trips.n_trips,
        ))
    return fits


def render_block(fits: list[Fit]) -> str:
    """The calibrated profiles as the YAML lines between the BEGIN and END markers of ``speeds.yaml``."""
    lines = []
    for f in fits:
        lines += [
            f"  {f.profile}:",
            f"    description: {PROFILE_DESCRIPTIONS.get(f.profile, 'Calibrated profile.')}",
            f"    fit: {{k: {f.k}, trips: {f.trips}, achieved: {f.achieved:.4f}, "
            f"check_set: {f.check_set:.4f}, stockholm_city: {f.stockholm_city:.4f}}}",
            f"    default_factor: {f.default_factor}",
            "    factor:",
            *[f"      {c}: {v}" for c, v in f.factors.items()],
        ]
    return "\n".join(lines) + "\n"


def write_block(path: str | Path, block: str) -> None:
    """Replace the text between the calibrated-profile markers of a speeds file (comments elsewhere kept)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"({re.escape(BEGIN)}[^\n]*\n)(.*?)({re.escape(END)})", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{path} has no '{BEGIN.strip()}' … '{END.strip()}' markers under `profiles`.")
    path.write_text(pattern.sub(lambda m: m.group(1) + block + m.group(3), text, count=1), encoding="utf-8")


def differences(path: str | Path, fits: list[Fit]) -> list[str]:
    """Sentences naming every factor in ``path`` that differs from the fit (empty when they agree)."""
    profiles = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["profiles"]
    out = []
    for f in fits:
        have = profiles.get(f.profile) or {}
        if float(have.get("default_factor", -1)) != f.default_factor:
            out.append(f"{f.profile}: default_factor is {have.get('default_factor')}, the fit gives {f.default_factor}.")
        for c, v in f.factors.items():
            got = (have.get("factor") or {}).get(c)
            if got is None or float(got) != v:
                out.append(f"{f.profile}: {c} is {got}, the fit gives {v}.")
    return out


def report(fits: list[Fit]) -> str:
    """A plain-text summary of the fit."""
    rows = [f"{'profile':<8} {'target':>7} {'k':>7} {'trips':>7} {'achieved':>9} {'check set':>10} "
            f"{'Stockholm city':>15}"]
    for f in fits:
        rows.append(f"{f.profile:<8} {f.target:>+7.1%} {f.k:>7.4f} {f.trips:>7,} {f.achieved:>+9.2%} "
                    f"{f.check_set:>+10.2%} {f.stockholm_city:>+15.2%}")
    rows.append("Factors (speed × factor): " + "; ".join(
        f"{f.profile}: " + ", ".join(f"{c} {v}" for c, v in f.factors.items()) for f in fits))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m routing.calibrate [--check | --write]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when speeds.yaml differs from the fit")
    parser.add_argument("--write", action="store_true", help="rewrite the calibrated profiles in speeds.yaml")
    args = parser.parse_args(argv)
    settings = get_settings()
    fits = calibrate(settings)
    print(report(fits))
    if args.write:
        write_block(settings.speeds_file, render_block(fits))
        print(f"Written to {settings.speeds_file}.")
        return 0
    diff = differences(settings.speeds_file, fits)
    for line in diff:
        print(line, file=sys.stderr)
    return 1 if (args.check and diff) else 0


if __name__ == "__main__":
    raise SystemExit(main())

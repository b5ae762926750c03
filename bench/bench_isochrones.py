"""Isochrone polygons: ours (contoured time grid) vs today's corridor polygons vs Valhalla, same network, one run.

Run: ``.venv/bin/python bench/bench_isochrones.py [--repeat 3] [--no-valhalla] [--no-corridor] [--json F]
[--cell-m M] [--reach-m M]``.
Needs the prepared cache (``asih prepare``); Valhalla needs the ``bench`` extra (``pip install -e .[bench]``) and
is built from the same compiled network in a temporary directory (bench/valhalla_from_network.py).

From the 16 provider bases (data/providers.yaml), free-flow profile, 30 minutes:

- time: ours = bounded tree + polygon (the grid is built once per network, reported apart); corridor = polygon from
  the same tree (bench.corridor.corridor_isochrone); Valhalla = one ``Actor.isochrone`` call (its own search
  and contour, default options, one 30-minute contour);
- accuracy on the roads, by our lookup's times (points every 25 m on every road, two-way roads once): share of
  the reached road length inside the polygon (all roads, and roads a place can lie on: no motorways/ramps), and
  the share of the road length inside the polygon that is not reached (water and verges carry no road, so the
  areas are printed as well);
- agreement with the point lookup (snap + tree time, as routing.eligibility): 1 000 random points in the county
  per base, and the 1 942 real address points of ``stockholm-county-address-points-2025.csv``: of the points the
  lookup says are within 30 minutes, the share inside the polygon (all, and those within ``reach_m`` of their road,
  i.e. answered without a far-from-road caveat).

Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corridor import corridor_isochrone  # noqa: E402
from geo.areas.model import load_area_model  # noqa: E402
from core.crs import to_metric  # noqa: E402
from geo.providers import read_registry  # noqa: E402
from core.settings import METRIC_CRS, WGS84, get_settings  # noqa: E402
from routing.contours import isochrone_bands  # noqa: E402
from routing.isochrones import isochrone  # noqa: E402
from routing.network import RoadNetwork  # noqa: E402
from routing.prepare import load_network  # noqa: E402
from routing.snapping import SnapArray, snap_many  # noqa: E402
from routing.time_grid import BEYOND_S, contour_grid  # noqa: E402
from routing.trees import drive_time_tree, times_to_snaps  # noqa: E402

LIMIT_S = 1800.0
ROAD_SPACING_M = 25.0
RANDOM_POINTS = 1000
ADDRESS_FILE = "stockholm-county-address-points-2025.csv"
_TO_METRIC = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)


def road_points(net: RoadNetwork) -> tuple[SnapArray, np.ndarray, np.ndarray]:
    """Points every ≤ 25 m on every road (a two-way road once): as snaps, their length weight (m), motorway flag."""
    idx = np.arange(net.n_edges)
    one = ~net.edge_ferry & ((net.edge_rev < 0) | (idx < net.edge_rev))
    edges = np.flatnonzero(one)
    n = np.maximum(np.ceil(net.edge_length_m[edges] / ROAD_SPACING_M).astype(int), 1)
    edge = np.repeat(edges, n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    frac = (k + 0.5) / np.repeat(n, n)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(net.edge_geometries()[edge], frac, normalized=True))
    weight = net.edge_length_m[edge] / np.repeat(n, n)
    motorway = np.isin(net.edge_class[edge], list(net.snap_exclude))
    zeros = np.zeros(len(edge))
    return SnapArray(edge, frac, zeros, xy[:, 0], xy[:, 1], zeros.astype(bool)), weight, motorway


def road_shares(poly, pts: SnapArray, weight, motorway, reached) -> dict[str, float]:
    """Reached road length inside (all, no motorways) and the unreached share of the road length inside."""
    shapely.prepare(poly)
    inside = shapely.contains_xy(poly, pts.x, pts.y)
    w_in = weight * inside
    local = ~motorway
    return {
        "reached_inside": float(w_in[reached].sum() / weight[reached].sum()),
        "reached_inside_local": float(w_in[reached & local].sum() / weight[reached & local].sum()),
        "unreached_of_inside": float(w_in[~reached].sum() / max(w_in.sum(), 1e-9)),
        "unreached_local_of_inside": float(w_in[~reached & local].sum() / max(w_in.sum(), 1e-9)),
        "area_km2": float(poly.area / 1e6),
    }


def agreement(poly, xy: np.ndarray, times: np.ndarray, snap_m: np.ndarray, reach_m: float) -> dict[str, float]:
    """Of the points the lookup says are within the limit, the share inside the polygon (and of those near a road);
    of those it says are not, the share inside."""
    inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
    within = times <= LIMIT_S
    near = snap_m <= reach_m
    return {
        "within": int(within.sum()), "within_inside": int((within & inside).sum()),
        "within_near": int((within & near).sum()), "within_near_inside": int((within & near & inside).sum()),
        "outside": int((~within).sum()), "outside_inside": int((~within & inside).sum()),
    }


def random_county_points(county, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = county.bounds
    shapely.prepare(county)
    out = np.zeros((0, 2))
    while len(out) < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        out = np.vstack([out, cand[shapely.contains_xy(county, cand[:, 0], cand[:, 1])]])
    return out[:n]


def valhalla_polygon(actor, lat: float, lon: float, minutes: float):
    """One Valhalla 30-minute isochrone polygon (EPSG:3006) and its wall time (ms)."""
    req = {"locations": [{"lat": lat, "lon": lon}], "costing": "auto", "contours": [{"time": minutes}],
           "polygons": True}
    t0 = time.perf_counter()
    out = actor.isochrone(req)
    ms = (time.perf_counter() - t0) * 1000
    if isinstance(out, str):
        out = json.loads(out)
    geom = shapely.geometry.shape(out["features"][0]["geometry"])
    geom = shapely.transform(geom, lambda xy: np.column_stack(_TO_METRIC.transform(xy[:, 0], xy[:, 1])))
    return shapely.make_valid(geom), ms


def _sum(rows: list[dict], key: str) -> int:
    return int(sum(r[key] for r in rows))


def _rate(rows, num, den) -> str:
    d = _sum(rows, den)
    return f"{_sum(rows, num) / d:.2%} ({_sum(rows, num)}/{d})" if d else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per base (median over all)")
    ap.add_argument("--no-valhalla", action="store_true")
    ap.add_argument("--no-corridor", action="store_true")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--cell-m", type=float, help="grid cell (m); default routing.time_grid.CELL_M")
    ap.add_argument("--reach-m", type=float, help="reach from a road (m); default settings.snap_warning_m")
    args = ap.parse_args()

    settings = get_settings()
    net = load_network(settings, rebuild=False)
    model = load_area_model(settings, rebuild=False)
    pairs = read_registry(settings.providers_file).bases()
    lat = np.array([b.lat for _, b in pairs])
    lon = np.array([b.lon for _, b in pairs])
    bx, by = to_metric(lat, lon)
    snaps = snap_many(net, np.asarray(bx), np.asarray(by))
    print(f"county network: {net.n_nodes} nodes, {net.n_edges} edges; {len(pairs)} bases; "
          f"{LIMIT_S / 60:.0f} min, {net.profile}")

    t0 = time.perf_counter()
    grid = contour_grid(net, args.cell_m, args.reach_m)
    grid_s = time.perf_counter() - t0
    print(f"contour grid (once per network): {grid_s:.2f} s, {grid.nx} × {grid.ny} cells of {grid.cell_m:.0f} m, "
          f"reach {grid.reach_m:.0f} m, {len(grid.sample_edge)} road samples")

    # Timing: ours (tree + polygon), one band and three bands.
    ours_ms, bands_ms, trees, polys = [], [], [], {}
    for i in range(len(pairs)):
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            tree = drive_time_tree(net, snaps[i], LIMIT_S + BEYOND_S)
            poly = isochrone(net, tree, LIMIT_S, origin=snaps[i], grid=grid)
            ours_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            tree3 = drive_time_tree(net, snaps[i], LIMIT_S + BEYOND_S)
            isochrone_bands(net, tree3, [600, 1200, 1800], "disks", origins=snaps[i], max_hole_m2=250_000,
                            grid=grid)
            bands_ms.append((time.perf_counter() - t0) * 1000)
        trees.append(tree)
        polys.setdefault("ours", []).append(poly)
    results = {"bases": len(pairs), "repeat": args.repeat, "grid_s": grid_s, "cell_m": grid.cell_m,
               "reach_m": grid.reach_m,
               "ours_ms": {"median": float(np.median(ours_ms)), "p90": float(np.percentile(ours_ms, 90)),
                           "max": float(np.max(ours_ms))},
               "ours_bands_10_20_30_ms": {"median": float(np.median(bands_ms)), "max": float(np.max(bands_ms))}}
    print(f"ours, tree + 30-min polygon: median {np.median(ours_ms):.1f} ms, p90 {np.percentile(ours_ms, 90):.1f} ms, "
          f"max {np.max(ours_ms):.1f} ms ({len(ours_ms)} runs)")
    print(f"ours, tree + 10/20/30 disks: median {np.median(bands_ms):.1f} ms, max {np.max(bands_ms):.1f} ms")

    if not args.no_corridor:
        corr_ms = []
        for i in range(len(pairs)):
            t0 = time.perf_counter()
            polys.setdefault("corridor", []).append(corridor_isochrone(net, trees[i], LIMIT_S, origin=snaps[i]))
            corr_ms.append((time.perf_counter() - t0) * 1000)
        results["corridor_ms"] = {"median": float(np.median(corr_ms)), "max": float(np.max(corr_ms))}
        print(f"corridor (today), polygon from the tree: median {np.median(corr_ms):.0f} ms, "
              f"max {np.max(corr_ms):.0f} ms ({len(corr_ms)} runs)")

    if not args.no_valhalla:
        _valhalla(net, pairs, args.repeat, polys, results)

    # Accuracy on the roads.
    pts, weight, motorway = road_points(net)
    shares: dict[str, list[dict]] = {m: [] for m in polys}
    for i in range(len(pairs)):
        t = times_to_snaps(net, trees[i], pts, sources=[snaps[i]])
        reached = t <= LIMIT_S
        for method in polys:
            shares[method].append(road_shares(polys[method][i], pts, weight, motorway, reached))
    print("\naccuracy on the roads (median over bases; by our lookup's times):")
    print(f"{'method':>10} {'reached inside':>15} {'(no motorways)':>15} {'unreached/inside':>17} "
          f"{'(no motorways)':>15} {'area km²':>9}")
    results["accuracy"] = {}
    for method, rows in shares.items():
        med = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
        worst = float(min(r["reached_inside"] for r in rows))
        results["accuracy"][method] = {**med, "reached_inside_min": worst}
        print(f"{method:>10} {med['reached_inside']:>15.2%} {med['reached_inside_local']:>15.2%} "
              f"{med['unreached_of_inside']:>17.2%} {med['unreached_local_of_inside']:>15.2%} {med['area_km2']:>9.0f}"
              f"   (worst base reached inside {worst:.2%})")

    # Agreement with the point lookup.
    rng = np.random.default_rng(12)
    addr = pd.read_csv(settings.raw(ADDRESS_FILE))
    ax, ay = to_metric(addr["lat"].to_numpy(), addr["lon"].to_numpy())
    addr_xy = np.column_stack([ax, ay])
    addr_snaps = snap_many(net, addr_xy[:, 0], addr_xy[:, 1])
    agree: dict[str, dict[str, list[dict]]] = {m: {"random": [], "address": []} for m in polys}
    for i in range(len(pairs)):
        rnd = random_county_points(model.county, RANDOM_POINTS, rng)
        rnd_snaps = snap_many(net, rnd[:, 0], rnd[:, 1])
        for kind, xy, sn in (("random", rnd, rnd_snaps), ("address", addr_xy, addr_snaps)):
            t = times_to_snaps(net, trees[i], sn, sources=[snaps[i]])
            for method in polys:
                agree[method][kind].append(agreement(polys[method][i], xy, t, sn.distance_m, grid.reach_m))
    print(f"\nagreement with the lookup (all {len(pairs)} bases pooled): of the points the lookup puts within 30 min, "
          f"the share inside the polygon")
    results["agreement"] = {}
    for method, kinds in agree.items():
        results["agreement"][method] = {}
        for kind, rows in kinds.items():
            results["agreement"][method][kind] = {k: _sum(rows, k) for k in rows[0]}
            print(f"{method:>10} {kind:>8}: all {_rate(rows, 'within_inside', 'within'):>22}; within "
                  f"{grid.reach_m:.0f} m of the road {_rate(rows, 'within_near_inside', 'within_near'):>22}; "
                  f"not within but inside {_rate(rows, 'outside_inside', 'outside')}")
    print("\nMachine: 2 cores shared with other work; figures are wall times of one process.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


def _valhalla(net, pairs, repeat: int, polys: dict, results: dict) -> None:
    from bench.valhalla_from_network import build_valhalla

    with tempfile.TemporaryDirectory(prefix="asih-valhalla-") as tmp:
        try:
            config, info = build_valhalla(net, Path(tmp))
            from valhalla import Actor

            actor = Actor(config)
        except Exception as exc:  # noqa: BLE001 - the reason is the figure: say it and go on without the peer
            results["valhalla_error"] = str(exc)
            print(f"Valhalla: NOT MEASURED — {exc}")
            return
        print(f"Valhalla {info['version']}: {info['ways']} ways → {info['tiles']} tiles; convert "
              f"{info['convert_s']:.1f} s, valhalla_build_tiles {info['build_s']:.1f} s")
        vh_ms = []
        for _, b in pairs:
            valhalla_polygon(actor, b.lat, b.lon, LIMIT_S / 60)  # warm the tile cache for this area
            for _ in range(repeat):
                geom, ms = valhalla_polygon(actor, b.lat, b.lon, LIMIT_S / 60)
                vh_ms.append(ms)
            polys.setdefault("valhalla", []).append(geom)
        results["valhalla"] = info
        results["valhalla_ms"] = {"median": float(np.median(vh_ms)), "p90": float(np.percentile(vh_ms, 90)),
                                  "max": float(np.max(vh_ms))}
        print(f"Valhalla, 30-min isochrone: median {np.median(vh_ms):.1f} ms, p90 {np.percentile(vh_ms, 90):.1f} ms, "
              f"max {np.max(vh_ms):.1f} ms ({len(vh_ms)} runs)")


if __name__ == "__main__":
    main()

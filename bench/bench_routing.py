"""Routing benchmark on the county network (MATSim source).

Run: ``.venv/bin/python bench/bench_routing.py``. Prints prepare, cache load, 30-minute trees (ours vs
networkx, with an equality check at 1e-6 s) from 15 bases, and isochrone polygon times. Figures are
recorded in bench/README.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import METRIC_CRS, WGS84, Settings  # noqa: E402
from routing.isochrones import isochrone  # noqa: E402
from routing.prepare import load_network, prepare_network  # noqa: E402
from routing.snapping import nearest_node  # noqa: E402
from routing.trees import drive_time_tree, node_tree  # noqa: E402

BASES = [
    (59.2790, 18.3000), (59.2860, 18.0850), (59.3070, 18.1600), (59.3150, 18.0850), (59.4950, 18.0600),
    (59.4280, 17.9500), (59.2444, 18.2286), (59.4400, 18.0600), (59.1670, 18.1390), (59.3340, 18.0630),
    (59.3450, 18.0300), (59.2810, 17.9780), (59.3320, 18.0240), (59.3450, 18.1000), (59.1920, 17.6340),
]
LIMIT_S = 1800.0
REPEAT = 5


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="asih-bench-") as tmp:
        settings = Settings(cache_dir=Path(tmp), network_source="matsim", profile="free_flow")
        t0 = time.perf_counter()
        prepare_network(settings, progress=False)
        prepare_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        net = load_network(settings, rebuild=False)
        load_s = time.perf_counter() - t0
    print(f"county network: {net.n_nodes} nodes, {net.n_edges} edges")
    print(f"prepare (MATSim XML → cache): {prepare_s:.2f} s   [target ≤ 60 s]")
    print(f"cache load (+ snap index):    {load_s:.2f} s   [target ≤ 5 s]")

    G = net.to_networkx()
    to_metric = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
    ours_ms, theirs_ms, worst = [], [], 0.0
    print(f"\n{'base':>18} {'node':>6} {'reached':>8} {'ours ms':>8} {'nx ms':>8} {'ratio':>6}")
    for lat, lon in BASES:
        source = nearest_node(net, *to_metric.transform(lon, lat))
        t0 = time.perf_counter()
        for _ in range(REPEAT):
            tree = node_tree(net, source, LIMIT_S)
        ours = (time.perf_counter() - t0) / REPEAT * 1000
        t0 = time.perf_counter()
        ref = nx.single_source_dijkstra_path_length(G, source, cutoff=LIMIT_S, weight="travel_time")
        theirs = (time.perf_counter() - t0) * 1000
        reached = np.flatnonzero(np.isfinite(tree))
        if set(reached.tolist()) != set(ref):
            raise SystemExit(f"reached sets differ from networkx for base {lat},{lon}")
        worst = max(worst, float(np.max(np.abs(tree[reached] - np.array([ref[i] for i in reached])))))
        ours_ms.append(ours)
        theirs_ms.append(theirs)
        print(f"{lat:8.4f},{lon:8.4f} {source:>7} {len(reached):>8} {ours:8.2f} {theirs:8.1f} {theirs / ours:6.1f}")
    ratio = np.array(theirs_ms) / np.array(ours_ms)
    print(f"tree: median {np.median(ours_ms):.2f} ms, max {max(ours_ms):.2f} ms [target ≤ 20 ms]; "
          f"networkx median {np.median(theirs_ms):.1f} ms; ratio median {np.median(ratio):.0f}×, min {ratio.min():.0f}× "
          f"[target ≥ 20×]; max |Δ| {worst:.2e} s [≤ 1e-6]")

    from routing.snapping import snap

    iso_ms = []
    for lat, lon in BASES:
        s = snap(net, *to_metric.transform(lon, lat))
        tree = drive_time_tree(net, s, LIMIT_S)
        t0 = time.perf_counter()
        poly = isochrone(net, tree, LIMIT_S, origin=s)
        iso_ms.append((time.perf_counter() - t0) * 1000)
        _ = poly.area
    print(f"isochrone 30 min (point tree → polygon): median {np.median(iso_ms):.0f} ms, max {max(iso_ms):.0f} ms")
    if worst > 1e-6:
        raise SystemExit("tree times differ from networkx by more than 1e-6 s")


if __name__ == "__main__":
    main()

"""Valhalla tiles from the project's compiled network, so the peer routes on the same roads (bench only).

Run: ``.venv/bin/python bench/valhalla_from_network.py OUT_DIR`` (or import :func:`build_valhalla`). Writes
``OUT_DIR/network.osm.pbf`` with pyosmium and builds ``OUT_DIR/tiles`` with the ``valhalla_build_tiles`` that the
pyvalhalla wheel ships; nothing goes into git (use a temporary directory).

The conversion, road by road of the compiled :class:`~routing.network.RoadNetwork` (EPSG:3006 → WGS84):

- every network node becomes an OSM node (id = index + 1), every interior geometry vertex a node of its own way;
- a two-way road (an edge and its ``edge_rev``) becomes one way, a one-way edge a way with ``oneway=yes``;
- ``highway`` is the edge's class (the network keeps OSM's class; from speed when a class is not an OSM one), and
  ``maxspeed`` the network's free-flow speed (km/h, rounded), so Valhalla's auto costing uses our speeds;
- ferries are left out (the network has none).

Valhalla still adds its own turn and intersection costs, so its times are somewhat longer than ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import METRIC_CRS, WGS84  # noqa: E402
from routing.network import RoadNetwork  # noqa: E402

OSM_CLASSES = {
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service", "road",
}


def _class_from_speed(kph: float) -> str:
    """An OSM highway class for a speed, for edges whose class is not an OSM one."""
    for limit, cls in ((100, "motorway"), (80, "trunk"), (70, "primary"), (60, "secondary"), (50, "tertiary"),
                       (30, "residential")):
        if kph >= limit:
            return cls
    return "living_street"


def write_osm_pbf(net: RoadNetwork, path: Path) -> dict[str, int]:
    """Write ``net`` as an .osm.pbf (see the module docstring). Returns counts of nodes and ways."""
    import osmium

    to_wgs = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True)
    lon, lat = to_wgs.transform(net.node_x, net.node_y)
    gx, gy = to_wgs.transform(net.geom_xy[:, 0], net.geom_xy[:, 1])
    idx = np.arange(net.n_edges)
    keep = ~net.edge_ferry & (net.edge_u != net.edge_v)
    # One way per road: a one-way edge, or the lower-numbered edge of a two-way pair.
    first = keep & ((net.edge_rev < 0) | (idx < net.edge_rev))
    path = Path(path)
    path.unlink(missing_ok=True)
    next_node = net.n_nodes + 1
    n_ways = 0
    interior_nodes: list[tuple[int, float, float]] = []
    ways = []
    for e in np.flatnonzero(first):
        a, b = net.geom_offsets[e], net.geom_offsets[e + 1]
        refs = [int(net.edge_u[e]) + 1]
        for k in range(a + 1, b - 1):
            interior_nodes.append((next_node, float(gx[k]), float(gy[k])))
            refs.append(next_node)
            next_node += 1
        refs.append(int(net.edge_v[e]) + 1)
        cls = str(net.edge_class[e])
        tags = {"highway": cls if cls in OSM_CLASSES else _class_from_speed(float(net.edge_speed_kph[e])),
                "maxspeed": str(int(round(float(net.edge_speed_kph[e]))))}
        if net.edge_rev[e] < 0:
            tags["oneway"] = "yes"
        if net.edge_name[e]:
            tags["name"] = str(net.edge_name[e])
        ways.append((refs, tags))
    with osmium.SimpleWriter(str(path)) as writer:
        for i in range(net.n_nodes):
            writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(float(lon[i]), float(lat[i])), version=1))
        for nid, x, y in interior_nodes:
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(x, y), version=1))
        for refs, tags in ways:
            n_ways += 1
            writer.add_way(osmium.osm.mutable.Way(id=n_ways, nodes=refs, tags=tags, version=1))
    return {"nodes": next_node - 1, "ways": n_ways}


def build_valhalla(net: RoadNetwork, workdir: Path, verbose: bool = False) -> tuple[dict, dict]:
    """Convert ``net`` and build Valhalla tiles in ``workdir``.

    Returns
    -------
    (config, info) : the Valhalla config (for ``valhalla.Actor``) and counts/timings of the build.

    Raises
    ------
    RuntimeError
        With the reason, when pyvalhalla is missing or the tile build fails.
    """
    try:
        import valhalla
        from valhalla import get_config
    except ImportError as exc:
        raise RuntimeError(
            f"pyvalhalla is not installed ({exc}); `pip install -e .[bench]` installs it (Python 3.11: the "
            "pyvalhalla-weekly 3.5.1 wheel; pyvalhalla ≥ 3.6 publishes cp312 wheels only)."
        ) from None
    workdir = Path(workdir)
    tiles = workdir / "tiles"
    tiles.mkdir(parents=True, exist_ok=True)
    pbf = workdir / "network.osm.pbf"
    t0 = time.perf_counter()
    counts = write_osm_pbf(net, pbf)
    convert_s = time.perf_counter() - t0
    config = get_config(tile_extract="", tile_dir=tiles, verbose=verbose)
    config_path = workdir / "valhalla.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    exe = Path(valhalla.__file__).parent / "bin" / "valhalla_build_tiles"
    t0 = time.perf_counter()
    # cwd: valhalla_build_tiles writes side files (duplicateways.txt) into the working directory.
    proc = subprocess.run([str(exe), "-c", str(config_path), str(pbf)], capture_output=True, text=True, cwd=workdir)
    build_s = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-1500:]
        raise RuntimeError(f"valhalla_build_tiles failed (exit {proc.returncode}): {tail}")
    n_tiles = sum(1 for _ in tiles.rglob("*.gph"))
    if n_tiles == 0:
        raise RuntimeError(f"valhalla_build_tiles wrote no tiles: {(proc.stderr or proc.stdout)[-1500:]}")
    version = getattr(valhalla, "__version__", "?")
    return config, {**counts, "tiles": n_tiles, "convert_s": convert_s, "build_s": build_s, "version": version}


def main() -> None:
    from core.settings import get_settings
    from routing.prepare import load_network

    if len(sys.argv) != 2:
        raise SystemExit("usage: valhalla_from_network.py OUT_DIR")
    net = load_network(get_settings(), rebuild=False)
    _, info = build_valhalla(net, Path(sys.argv[1]))
    print(json.dumps(info))


if __name__ == "__main__":
    main()

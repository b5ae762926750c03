"""Uncached isochrones over HTTP: ``GET /v1/isochrones/{unit}?minutes=M`` against a real server, every unit.

Run: ``.venv/bin/python bench/bench_http_isochrones.py [--rounds 3] [--before] [--steps] [--valhalla] [--json F]``.

A real uvicorn server (``api.app.create_app``, heavy work in its forked worker process, as ``asih serve`` runs it)
on a free local port; one keep-alive client (``http.client``) asks every unit of data/providers.yaml for one
isochrone per round, with a different ``minutes`` each round (29, 28.9, 28.8, …) so nothing is memoised, in the
server or in its worker. Each server first answers one warm-up request (``minutes=31``: the worker reads the
population points once). Time = request sent → whole body read, on the client.

``--before`` starts a second server that answers isochrones as before issue 24 — geometries built as Python dicts
of coordinates at 7 decimals, then FastAPI's ``jsonable_encoder`` and ``JSONResponse``, and the worker measuring its
private memory after every task (``api.executor.MEMORY_CHECK_S = 0``); everything else the same code — and asks
both servers the same requests, alternating, so both see the same machine load. ``--steps`` adds a third server with
the new JSON but the old memory check, to show what each change gives. Every answer is checked against the after
server's: the same features and properties, and coordinates within 1e-6° (rounding 7 → 6 decimals).

``--valhalla`` (the ``bench`` extra: ``pip install -c constraints.txt -e ".[bench]"``) adds the peer of issue 24 in
the same run: Valhalla in this process (``valhalla.Actor``), on tiles built from the same compiled network (the
configured profile, as the servers load it; bench/valhalla_from_network.py), answering the same (unit, minutes) in
the same rotation: one ``Actor.isochrone`` call per base of the unit (default options, one contour of ``minutes``,
GeoJSON text out), its time the sum over the unit's bases. Its tiles are warmed by one call per base first. The
tiles carry the network's free-flow speeds, so with ``--valhalla`` every server runs the free-flow profile too
(``ASIH_PROFILE=free_flow``): both search the same roads at the same speeds (under the default typical profile ours
would reach less in the same minutes, and so do less work).

Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import free_port, start_server  # noqa: E402 - needs the root on sys.path

COMMAND = ".venv/bin/python bench/bench_http_isochrones.py --rounds 10 --before --steps --valhalla"
ROOT = Path(__file__).resolve().parent.parent
_SERVE = """
import sys, uvicorn
sys.path.insert(0, {root!r})
import bench.bench_http_isochrones as b
b.serve_as(sys.argv[2])
from api.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


# -- the path before issue 24, for --before (patched into that server process only; its worker is forked from it) --


def serve_as(mode: str) -> None:
    """Make this server process (and the workers it forks) answer isochrones as ``mode`` (see the module docstring)."""
    import api.executor as executor
    import api.routes.coverage as coverage

    if mode in ("before", "json"):
        executor.MEMORY_CHECK_S = 0.0  # measure after every task
    if mode == "before":
        coverage.isochrones_json = _before_isochrones_json


def _before_isochrones_json(svc, unit_id: str, limits: tuple[float, ...], shape: str, direction: str,
                            simplify_m: float = 0.0) -> bytes:
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    import routing.isochrones as iso
    from core.geojson import geometry_dict

    original = iso.to_geojson
    iso.to_geojson = lambda geom: geometry_dict(geom, 7)
    try:
        collection = iso.unit_isochrones(svc.settings, svc.network, svc.areas, svc.eligibility.trees,
                                         svc.registry.get(unit_id), list(limits), shape, direction)
    finally:
        iso.to_geojson = original
    return JSONResponse(jsonable_encoder(collection)).body


# -- the client ----------------------------------------------------------------------------------------------------


def _start(port: int, mode: str, log: Path):
    python = ROOT / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), "-c", _SERVE.format(root=str(ROOT)), str(port), mode]
    return start_server(cmd, port, log, timeout=180)


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[float, bytes]:
    try:
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
    except (http.client.RemoteDisconnected, ConnectionError):
        # The server closed the idle keep-alive connection (5 s): connect again, and time from there.
        conn.close()
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
    body = resp.read()
    ms = (time.perf_counter() - t0) * 1000
    if resp.status != 200:
        raise SystemExit(f"{path}: HTTP {resp.status} {body[:300]!r}")
    return ms, body


def _same_meaning(a: bytes, b: bytes) -> float:
    """Largest coordinate difference (degrees) between two answers; raise when features or properties differ."""
    fa, fb = json.loads(a)["features"], json.loads(b)["features"]
    if len(fa) != len(fb) or [f["properties"] for f in fa] != [f["properties"] for f in fb]:
        raise SystemExit("before and after answers differ in features or properties")
    worst = 0.0
    for x, y in zip(fa, fb):
        if x["geometry"]["type"] != y["geometry"]["type"]:
            raise SystemExit("before and after geometries differ in type")
        cx, cy = _coords(x["geometry"]["coordinates"]), _coords(y["geometry"]["coordinates"])
        if cx.shape != cy.shape:
            raise SystemExit("before and after geometries differ in vertices")
        worst = max(worst, float(np.abs(cx - cy).max(initial=0.0)))
    return worst


def _coords(nested) -> np.ndarray:
    out: list[list[float]] = []

    def walk(v):
        if v and isinstance(v[0], (int, float)):
            out.append(v)
        else:
            for w in v:
                walk(w)

    walk(nested)
    return np.array(out, dtype=float).reshape(-1, 2)


def _valhalla_actor(workdir: Path):
    """A ``valhalla.Actor`` on tiles built in ``workdir`` from the configured profile's compiled network, and the
    build's figures. Raises ``RuntimeError`` with the reason when pyvalhalla is missing or the build fails."""
    from bench.valhalla_from_network import build_valhalla
    from core.settings import get_settings
    from routing.prepare import load_network

    config, info = build_valhalla(load_network(get_settings(), rebuild=False), workdir)
    from valhalla import Actor

    return Actor(config), info


def _valhalla_ms(actor, bases, minutes: str) -> float:
    """Milliseconds for one Valhalla isochrone of ``minutes`` from each base (in turn), GeoJSON text out."""
    total = 0.0
    for base in bases:
        req = {"locations": [{"lat": base.lat, "lon": base.lon}], "costing": "auto",
               "contours": [{"time": float(minutes)}], "polygons": True}
        t0 = time.perf_counter()
        out = actor.isochrone(req)
        total += (time.perf_counter() - t0) * 1000
        if '"features"' not in (out if isinstance(out, str) else json.dumps(out)):
            raise SystemExit(f"Valhalla gave no isochrone for {base.name}: {str(out)[:300]}")
    return total


def _stats(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "median": statistics.median(ms), "p90": float(np.percentile(ms, 90)), "max": max(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="requests per unit and server (each with its own minutes)")
    ap.add_argument("--before", action="store_true", help="also measure the path before issue 24, alternating")
    ap.add_argument("--steps", action="store_true", help="also measure the new JSON with the old memory check")
    ap.add_argument("--valhalla", action="store_true", help="also time Valhalla in-process, same requests and run")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args()
    if args.valhalla:
        os.environ["ASIH_PROFILE"] = "free_flow"  # Valhalla's tiles carry the free-flow speeds; the servers inherit it

    from geo.providers import read_registry
    from core.settings import get_settings

    registry = read_registry(get_settings().providers_file)
    units = [u.id for u in registry.units]
    bases = {u.id: list(u.bases) for u in registry.units}
    servers_modes = ["after"] + (["json"] if args.steps else []) + (["before"] if args.before else [])
    modes = servers_modes + (["valhalla"] if args.valhalla else [])
    servers, conns = {}, {}
    ms: dict[str, list[float]] = {m: [] for m in modes}
    size: dict[str, list[int]] = {m: [] for m in modes}
    worst = 0.0
    valhalla_info: dict = {}
    with tempfile.TemporaryDirectory(prefix="asih-bench-iso-") as tmp:
        try:
            if args.valhalla:
                try:
                    actor, valhalla_info = _valhalla_actor(Path(tmp) / "valhalla")
                except RuntimeError as exc:
                    raise SystemExit(f"Valhalla: NOT MEASURED — {exc}") from None
                print(f"Valhalla {valhalla_info['version']}: {valhalla_info['ways']} ways → {valhalla_info['tiles']} "
                      f"tiles in {valhalla_info['convert_s'] + valhalla_info['build_s']:.1f} s")
                for unit in units:
                    _valhalla_ms(actor, bases[unit], "31")  # read the tiles once, as the servers' warm-up
            for mode in servers_modes:
                port = free_port()
                servers[mode] = _start(port, mode, Path(tmp) / f"{mode}.log")
                conns[mode] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                _get(conns[mode], f"/v1/isochrones/{units[0]}?minutes=31")
            load = [round(x, 2) for x in os.getloadavg()]
            for r in range(args.rounds):
                minutes = f"{29 - 0.1 * r:.1f}"
                for i, unit in enumerate(units):
                    bodies = {}
                    # Rotate which server goes first, so none always follows another's work.
                    k = (r * len(units) + i) % len(modes)
                    for mode in modes[k:] + modes[:k]:
                        if mode == "valhalla":
                            ms[mode].append(_valhalla_ms(actor, bases[unit], minutes))
                            continue
                        t, bodies[mode] = _get(conns[mode], f"/v1/isochrones/{unit}?minutes={minutes}")
                        ms[mode].append(t)
                        size[mode].append(len(bodies[mode]))
                    for mode in servers_modes[1:]:
                        worst = max(worst, _same_meaning(bodies[mode], bodies["after"]))
            load_after = [round(x, 2) for x in os.getloadavg()]
        finally:
            for proc in servers.values():
                proc.terminate()
                proc.wait(timeout=15)

    result = {"command": COMMAND, "date": time.strftime("%Y-%m-%d %H:%M"), "units": len(units), "rounds": args.rounds,
              "profile": os.environ.get("ASIH_PROFILE", "configured"),
              "load_before": load, "load_after": load_after}
    print(f"uncached GET /v1/isochrones/{{unit}}?minutes≈29, {len(units)} units × {args.rounds} rounds, profile "
          f"{os.environ.get('ASIH_PROFILE', 'configured')} (load {load} → {load_after}):")
    for mode in modes:
        s = _stats(ms[mode])
        result[mode] = s
        body = ""
        if size[mode]:
            result[mode]["bytes_median"] = int(statistics.median(size[mode]))
            body = f"; body median {statistics.median(size[mode]) / 1000:.0f} kB"
        print(f"  {mode:>8}: median {s['median']:.1f} ms, p90 {s['p90']:.1f} ms, max {s['max']:.1f} ms{body}")
    if args.valhalla:
        paired = [a / v for a, v in zip(ms["after"], ms["valhalla"])]
        ratio = statistics.median(ms["after"]) / statistics.median(ms["valhalla"])
        result["valhalla"].update(version=valhalla_info["version"], tiles=valhalla_info["tiles"],
                                  base_calls=sum(len(bases[u]) for u in units) * args.rounds)
        result["after_over_valhalla"] = {"of_medians": ratio, "paired_median": statistics.median(paired)}
        print(f"  after / Valhalla in-process: {ratio:.2f}× (of the medians), {statistics.median(paired):.2f}× "
              f"(median of the {len(paired)} paired requests); target ≤ 0.5×")
    if len(servers_modes) > 1:
        result["max_coordinate_difference_deg"] = worst
        print(f"  same features and properties in every answer; largest coordinate difference {worst:.2e}°")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Live what-if (issue 12, item 4): from a dropped base to the redrawn 30-minute polygon and audit rows.

Run from the repository root (prepared cache; chromium for the browser part)::

    .venv/bin/python bench/bench_whatif.py [--moves 50] [--drags 10] [--seed 12] [--no-browser] [--json F]

1. **Server**: a real uvicorn server (``api.main:app``, with ``api.routes.whatif`` added when the app does not include
   it yet), warmed by one no-change request per unit (what the page sends when a unit is picked). Then ``--moves``
   random moves, each of a random unit's random base to a random point within 15 km of it inside the county:
   ``POST /v1/whatif`` request → whole answer read (client wall time over loopback; the answer is ~200 KB: two
   polygons and the rows), and the server's own time (``Server-Timing``: tree + polygon + audit rows + JSON).
2. **Browser**: Debian's chromium (playwright) on ``/planering``: ``--drags`` mouse drags of bases of three units
   (one, two and one base) to random points in view and in the county; the page's ``performance.measure("whatif")``
   spans the drop (Leaflet's ``dragend``) to the frame after the new polygon is on the map.

Target: p95 ≤ 300 ms from drop to redrawn polygon. Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import free_port, start_server  # noqa: E402 - needs the root on sys.path

COMMAND = ".venv/bin/python bench/bench_whatif.py --moves 50 --drags 10"
TARGET_P95_MS = 300.0
RADIUS_KM = 15.0
BROWSER_UNITS = ("syd-aleris", "stockholms-sjukhem", "sodertalje-sjukhus")
CHROMIUM = "/usr/bin/chromium"
_SERVE = """
import sys, uvicorn
from api.app import create_app
from api.routes import whatif
app = create_app()
if "/v1/whatif" not in app.openapi()["paths"]:
    app.include_router(whatif.router)
    app.openapi_schema = None
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _start_server(port: int, log: Path) -> subprocess.Popen:
    python = ROOT / ".venv" / "bin" / "python"
    return start_server([str(python if python.exists() else sys.executable), "-c", _SERVE, str(port)], port, log,
                        timeout=120)


def _post(url: str, body: dict) -> tuple[int, float, float]:
    """(status, client ms, server ms) of one POST /v1/whatif, the whole answer read."""
    req = urllib.request.Request(url + "/v1/whatif", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            status, timing = resp.status, resp.headers.get("Server-Timing", "")
    except urllib.error.HTTPError as exc:
        exc.read()
        status, timing = exc.code, ""
    client = (time.perf_counter() - t0) * 1000
    server = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
    return status, client, server


def _random_point(rng: random.Random, lat: float, lon: float, locator, radius_km: float = RADIUS_KM):
    """A uniform point within ``radius_km`` of (lat, lon) that lies in the county."""
    for _ in range(200):
        r = radius_km * math.sqrt(rng.random())
        a = rng.random() * 2 * math.pi
        p = (lat + r * math.sin(a) / 110.574, lon + r * math.cos(a) / (111.32 * math.cos(math.radians(lat))))
        if locator.locate(*p).inside:
            return round(p[0], 6), round(p[1], 6)
    raise RuntimeError("no point in the county near the base")


def _stats(values: list[float]) -> dict:
    v = np.asarray(values, dtype=float)
    return {"n": int(v.size), "p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)),
            "max": float(v.max())}


def bench_server(url: str, registry, locator, moves: int, rng: random.Random) -> dict:
    for u in registry.units:  # the page's first request for a unit: today's rows and polygon
        _post(url, {"unit": u.id})
    client, server, refused = [], [], 0
    while len(client) < moves:
        u = rng.choice(registry.units)
        k = rng.randrange(len(u.bases))
        lat, lon = _random_point(rng, u.bases[k].lat, u.bases[k].lon, locator)
        status, c, s = _post(url, {"unit": u.id, "move": [{"base": k, "lat": lat, "lon": lon}]})
        if status != 200:
            refused += 1
            continue
        client.append(c)
        server.append(s)
    return {"client": _stats(client), "server": _stats(server), "refused": refused}


def bench_browser(url: str, locator, drags: int, rng: random.Random) -> dict:
    from playwright.sync_api import expect, sync_playwright

    durations: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="sv-SE")
        page.goto(url + "/planering")
        expect(page.locator("#unit")).to_be_enabled(timeout=30_000)
        per_unit = [drags // len(BROWSER_UNITS) + (1 if i < drags % len(BROWSER_UNITS) else 0)
                    for i in range(len(BROWSER_UNITS))]
        for unit_id, n in zip(BROWSER_UNITS, per_unit):
            page.select_option("#unit", unit_id)
            expect(page.locator("#announce")).to_contain_text(" i dag.", timeout=30_000)
            page.wait_for_timeout(300)
            for _ in range(n):
                markers = page.locator("#map .leaflet-marker-icon[data-key]")
                marker = markers.nth(rng.randrange(markers.count()))
                box = marker.bounding_box()
                start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                lat, lon = _lat_lon(page, *start)
                for _ in range(50):
                    target = _random_point(rng, lat, lon, locator)
                    x, y = _pixel(page, *target)
                    mbox = page.locator("#map").bounding_box()
                    if mbox["x"] + 30 < x < mbox["x"] + mbox["width"] - 30 and mbox["y"] + 30 < y < mbox["y"] + mbox["height"] - 30:
                        break
                drawn = int(page.locator("#map-box").get_attribute("data-drawn") or 0)
                count = page.evaluate("performance.getEntriesByName('whatif').length")
                page.mouse.move(*start)
                page.mouse.down()
                page.mouse.move(x, y, steps=8)
                page.mouse.up()
                expect(page.locator("#map-box")).not_to_have_attribute("data-drawn", str(drawn), timeout=30_000)
                page.wait_for_timeout(50)
                entries = page.evaluate("performance.getEntriesByName('whatif').map(e => e.duration)")
                if len(entries) > count:
                    durations.append(float(entries[-1]))
                if page.locator("#error").is_visible():
                    print("  refused:", page.locator("#error").inner_text())
        browser.close()
    return {"drop_to_drawn": _stats(durations)}


def _view(page) -> tuple[float, float, float, float, dict]:
    south, west, north, east = (float(v) for v in page.locator("#map").get_attribute("data-view").split(","))
    return south, west, north, east, page.locator("#map").bounding_box()


def _merc(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _pixel(page, lat: float, lon: float) -> tuple[float, float]:
    south, west, north, east, box = _view(page)
    x = box["x"] + (lon - west) / (east - west) * box["width"]
    y = box["y"] + (_merc(north) - _merc(lat)) / (_merc(north) - _merc(south)) * box["height"]
    return x, y


def _lat_lon(page, x: float, y: float) -> tuple[float, float]:
    south, west, north, east, box = _view(page)
    lon = west + (x - box["x"]) / box["width"] * (east - west)
    m = _merc(north) - (y - box["y"]) / box["height"] * (_merc(north) - _merc(south))
    return math.degrees(2 * math.atan(math.exp(m)) - math.pi / 2), lon


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moves", type=int, default=50)
    ap.add_argument("--drags", type=int, default=10)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from geo.areas.locate import AreaLocator
    from geo.areas.model import load_area_model
    from geo.providers import read_registry
    from core.settings import get_settings

    settings = get_settings()
    locator = AreaLocator(load_area_model(settings, rebuild=False), 0)
    registry = read_registry(settings.providers_file)
    rng = random.Random(args.seed)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = _start_server(port, Path(tmp) / "server.log")
        try:
            load = os.getloadavg()
            result = {"command": COMMAND, "date": time.strftime("%Y-%m-%d"), "load_before": [round(x, 2) for x in load],
                      "server": bench_server(url, registry, locator, args.moves, rng)}
            if not args.no_browser and Path(CHROMIUM).exists():
                result["browser"] = bench_browser(url, locator, args.drags, rng)
            result["load_after"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            proc.terminate()
            proc.wait(timeout=15)

    s = result["server"]
    print(f"what-if, {args.moves} random moves over {len(registry.units)} units (load {result['load_before']}):")
    print(f"  request → answer (client) p50 {s['client']['p50']:.0f} ms, p95 {s['client']['p95']:.0f} ms, "
          f"max {s['client']['max']:.0f} ms")
    print(f"  server time (Server-Timing) p50 {s['server']['p50']:.0f} ms, p95 {s['server']['p95']:.0f} ms, "
          f"max {s['server']['max']:.0f} ms; refused {s['refused']}")
    if "browser" in result:
        b = result["browser"]["drop_to_drawn"]
        print(f"  chromium, {b['n']} drags: drop → polygon drawn p50 {b['p50']:.0f} ms, p95 {b['p95']:.0f} ms, "
              f"max {b['max']:.0f} ms (target p95 ≤ {TARGET_P95_MS:.0f} ms)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

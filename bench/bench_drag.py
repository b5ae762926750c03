"""Dragging a base on /planering in real chromium (issue 24, item 3): drop → redrawn polygon, and how often the
polygon follows the base while it is dragged; a keyboard move → redrawn polygon.

Run from the repository root (prepared cache, Debian's chromium)::

    .venv/bin/python bench/bench_drag.py [--drags 24] [--keys 12] [--seed 24] [--before DIR] [--json F]

A real uvicorn server (``api.app.create_app``, a throwaway registry) and ``/planering`` at 1280×800 in chromium
(playwright). Each drag takes a base of one of three units (one, two and one base) to a random point in view, in the
county and within 15 km (as ``bench_whatif.py``), the mouse moved in ``--steps`` steps ``--pace`` ms apart (a 1 s
drag by default), then released at once (or after resting ``--settle`` ms on the place). Measured in the page:

- **drop → drawn**: the page's ``performance.measure("whatif")``, from Leaflet's ``dragend`` to the frame after the
  new polygon is on the map;
- **updates a second while dragging**: the polygons drawn between the press and the release
  (``performance.mark("whatif-preview")``) over the drag's duration;
- **key → drawn**: one arrow-key press on the move pad (1 km, a new place each time) to the redrawn polygon;
- **→ table** (the new page only): the same change to the table's new figures (``performance.measure
  ("whatif-answer")``), which come with the full answer after the polygon.

With ``--before DIR`` a second server runs from another tree (e.g. the last commit: ``mkdir -p DIR && git archive HEAD
| tar -x -C DIR``) on the same data and cache, and the drags and key presses alternate between the two pages, so both
see the same load. A drop on a place far from a road is answered with a question on the new page (its polygon drawn
with it); the bench answers "place it here anyway" and counts such drops (their table waits for the answer, so they
have no drop → table figure). No time is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import free_port  # noqa: E402 - needs the root on sys.path
from bench.bench_whatif import _lat_lon, _pixel, _random_point  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_drag.py --drags 24 --keys 12 --before /tmp/asih-before"
"""The documented command (bench/README.md); a run records its own (``sys.argv``)."""
UNITS = ("syd-aleris", "stockholms-sjukhem", "sodertalje-sjukhus")
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 30_000
_SERVE = """
import sys
sys.path.insert(0, sys.argv[2])
import uvicorn
from api.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _serve(root: Path, tmp: Path, name: str) -> tuple[subprocess.Popen, str]:
    """A server running the code of ``root`` on this checkout's data and cache, with a throwaway registry."""
    import urllib.request

    port = free_port()
    from core.settings import get_settings

    env = {**os.environ, "ASIH_CACHE_DIR": str(ROOT / "data" / "cache"), "ASIH_DATA_DIR": str(get_settings().data_dir),
           "ASIH_REGISTRY_URL": f"sqlite:///{tmp / (name + '.sqlite3')}",
           "ASIH_REGISTRY_SECRET_FILE": str(tmp / (name + ".secret"))}
    python = ROOT / ".venv" / "bin" / "python"
    log = open(tmp / f"{name}.log", "wb")
    proc = subprocess.Popen([str(python if python.exists() else sys.executable), "-c", _SERVE, str(port), str(root)],
                            cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} server exited: {(tmp / f'{name}.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"{name} server not healthy after 180 s")


class Page:
    """One /planering page and its figures."""

    def __init__(self, browser, url: str, name: str):
        from playwright.sync_api import expect

        self.name = name
        self.page = browser.new_page(viewport=VIEWPORT, locale="sv-SE")
        self.page.goto(url + "/planering")
        expect(self.page.locator("#unit")).to_be_enabled(timeout=TIMEOUT_MS)
        self.new = self.page.locator("#far").count() == 1  # the page with previews and the far-from-road question
        self.drop_ms: list[float] = []
        self.rates: list[float] = []
        self.key_ms: list[float] = []
        self.drop_table_ms: list[float] = []
        self.key_table_ms: list[float] = []
        self.far = 0
        self.refused = 0
        self.unanswered = 0
        self.unit_id = None

    def unit(self, unit_id: str) -> None:
        from playwright.sync_api import expect

        if unit_id == self.unit_id:
            return
        self.page.select_option("#unit", unit_id)
        expect(self.page.locator("#announce")).to_contain_text(" i dag.", timeout=TIMEOUT_MS)
        self.page.wait_for_timeout(300)  # fitBounds
        self.unit_id = unit_id

    def _entries(self, name: str) -> list[dict]:
        return self.page.evaluate(f"performance.getEntriesByName({name!r}).map(e => [e.startTime, e.duration])")

    def _answered(self, before: tuple[int, int], table: list[float]) -> float | None:
        """Wait for the change's redrawn polygon (and, on the new page, its table or the far-from-road question);
        the polygon's ``whatif`` measure (ms). The table's ``whatif-answer`` measure goes to ``table`` (not taken
        when the question was asked: the table then waits for the user)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        count, answers = before
        try:
            self.page.wait_for_function(
                """([n, a, table]) => {
                    const far = document.getElementById("far");
                    if (far && !far.hidden) return true;
                    if (!document.getElementById("error").hidden) return true;
                    return performance.getEntriesByName("whatif").length > n &&
                        (!table || performance.getEntriesByName("whatif-answer").length > a);
                }""", arg=[count, answers, self.new], timeout=TIMEOUT_MS)
        except PlaywrightTimeout:  # the base did not move (the drag missed it): nothing to measure
            self.unanswered += 1
            return None
        if self.page.locator("#error").is_visible():  # refused (outside the county): undone, not measured
            self.refused += 1
            self.page.locator("#busy").wait_for(state="hidden", timeout=TIMEOUT_MS)
            return None
        self.page.wait_for_timeout(40)  # the question is shown before the frame that measures the drawn polygon
        entries = self._entries("whatif")
        drawn = entries[-1][1] if len(entries) > count else None
        if self.new and self.page.locator("#far").is_visible():  # drawn, and asked: the bench places it anyway
            self.far += 1
            self.page.locator("#far-place").click()
            self.page.locator("#busy").wait_for(state="hidden", timeout=TIMEOUT_MS)
            return drawn
        if self.new:
            table.append(self._entries("whatif-answer")[-1][1])
        self.page.locator("#busy").wait_for(state="hidden", timeout=TIMEOUT_MS)
        return drawn

    def _counts(self) -> tuple[int, int]:
        return len(self._entries("whatif")), len(self._entries("whatif-answer"))

    def drag(self, rng: random.Random, locator, steps: int, pace_ms: int, settle_ms: int = 0) -> None:
        page = self.page
        page.evaluate("document.getElementById('map').scrollIntoView({block: 'center'})")
        page.wait_for_timeout(100)
        markers = page.locator("#map .leaflet-marker-icon[data-key]")
        marker = markers.nth(rng.randrange(markers.count()))
        box = marker.bounding_box()
        start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        mbox = page.locator("#map").bounding_box()
        lat, lon = _lat_lon(page, *start)
        for _ in range(100):
            x, y = _pixel(page, *_random_point(rng, lat, lon, locator))
            if (mbox["x"] + 30 < x < mbox["x"] + mbox["width"] - 30
                    and mbox["y"] + 30 < y < mbox["y"] + mbox["height"] - 30):
                break
        counts = self._counts()
        page.mouse.move(*start)
        page.mouse.down()
        t0 = page.evaluate("performance.now()")
        for k in range(1, steps + 1):
            page.mouse.move(start[0] + (x - start[0]) * k / steps, start[1] + (y - start[1]) * k / steps)
            page.wait_for_timeout(pace_ms)
        t1 = page.evaluate("performance.now()")
        if settle_ms:  # the hand rests on the place before letting go
            page.wait_for_timeout(settle_ms)
        page.mouse.up()
        previews = [s for s, _ in self._entries("whatif-preview") if t0 <= s <= t1]
        self.rates.append(len(previews) / ((t1 - t0) / 1000))
        ms = self._answered(counts, self.drop_table_ms)
        if ms is not None:
            self.drop_ms.append(ms)

    def key(self, direction: str) -> None:
        page = self.page
        if page.locator("#target").input_value() in ("", "new"):
            page.select_option("#target", index=0)
        page.locator(f'#nudge button[data-dir="{direction}"]').focus()
        counts = self._counts()
        page.keyboard.press({"n": "ArrowUp", "s": "ArrowDown", "w": "ArrowLeft", "e": "ArrowRight"}[direction])
        ms = self._answered(counts, self.key_table_ms)
        if ms is not None:
            self.key_ms.append(ms)

    def figures(self) -> dict:
        return {"drop_to_drawn_ms": _stats(self.drop_ms), "drop_to_table_ms": _stats(self.drop_table_ms),
                "updates_per_s_while_dragging": _stats(self.rates), "key_to_drawn_ms": _stats(self.key_ms),
                "key_to_table_ms": _stats(self.key_table_ms), "far_from_road_drops": self.far,
                "refused": self.refused, "not_moved": self.unanswered}


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = np.asarray(values, dtype=float)
    return {"n": int(v.size), "p50": round(float(np.percentile(v, 50)), 1),
            "p95": round(float(np.percentile(v, 95)), 1), "max": round(float(v.max()), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drags", type=int, default=24)
    ap.add_argument("--keys", type=int, default=12)
    ap.add_argument("--steps", type=int, default=20, help="mouse moves per drag")
    ap.add_argument("--pace", type=int, default=50, help="ms between two mouse moves")
    ap.add_argument("--settle", type=int, default=0, help="ms the mouse rests at the end before the release")
    ap.add_argument("--seed", type=int, default=24)
    ap.add_argument("--before", type=Path, help="another tree to serve side by side (e.g. the last commit)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from core.settings import get_settings
    from geo.areas.locate import AreaLocator
    from geo.areas.model import load_area_model

    locator = AreaLocator(load_area_model(get_settings(), rebuild=False), 0)
    tmp = Path(tempfile.mkdtemp(prefix="asih-bench-drag-"))
    trees = {"after": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    servers = {name: _serve(root, tmp, name) for name, root in trees.items()}
    load = os.getloadavg()[0]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            pages = {name: Page(browser, url, name) for name, (_, url) in servers.items()}
            for i in range(args.drags):
                unit_id = UNITS[i * len(UNITS) // max(args.drags, 1)]
                for name in sorted(pages, key=lambda n: (n != ("before", "after")[i % 2])):  # alternate who goes first
                    pages[name].unit(unit_id)
                    pages[name].drag(random.Random(args.seed * 1000 + i), locator, args.steps, args.pace, args.settle)
            for i in range(args.keys):
                for page in pages.values():
                    page.unit(UNITS[0])
                    page.key("wn"[i % 2])  # west and north in turn: a new place every press
            out = {"command": " ".join([".venv/bin/python", *sys.argv]), "load_average_1min": round(load, 2),
                   "viewport": VIEWPORT, "steps": args.steps, "pace_ms": args.pace, "settle_ms": args.settle,
                   **{name: page.figures() for name, page in pages.items()}}
            browser.close()
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=20)
    text = json.dumps(out, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

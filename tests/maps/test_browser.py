"""The exported HTML works in a real browser with every network request refused."""

from __future__ import annotations

from pathlib import Path

from maps import style
from maps.interactive import choice_map, lookup_map, overview_map, unit_map
from maps.offline import save_html
from tests.conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def _open_offline(browser, path: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    refused, errors = [], []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_function("() => document.querySelectorAll('path.leaflet-interactive').length > 0")
    return page, refused, errors


def test_overview_renders_offline(browser, areas, municipalities, boroughs, bases, land, tmp_path):
    path = save_html(overview_map(areas, municipalities, boroughs, bases, land=land), tmp_path / "overview.html")
    page, refused, errors = _open_offline(browser, path)
    try:
        assert page.evaluate("typeof window.L") == "object"
        assert page.evaluate("L.version") == "1.9.4"
        assert page.locator("path.leaflet-interactive").count() >= 8
        assert page.locator("path.asih-area").count() == 8
        assert page.locator("path.asih-base").count() == len(bases)
        assert page.locator(".asih-label").count() == 8
        # The label is there; whether it shows in full or as its number depends on the room the layout gives it.
        assert page.get_by_text("Område 4 – Södermalm / Nacka–Värmdö", exact=True).count() >= 1
        assert "Lantmäteriet, SCB, Stockholms stad, GeoNames" in page.locator(".leaflet-control-attribution").inner_text()
        # Leaflet's own layer control works without Bootstrap: unticking the areas removes their polygons.
        page.get_by_label("ASIH-områden").uncheck()
        assert page.locator("path.asih-area").count() == 0
        page.get_by_label("ASIH-områden").check()
        assert page.locator("path.asih-area").count() == 8
        # A base popup opens (plain Leaflet, no jQuery): the last base is Södertälje sjukhus, alone in area 1.
        page.locator("path.asih-base").last.click()
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "ASIH Södertälje sjukhus" in popup and "Basens precision" in popup and "adress" in popup
        page.screenshot(path=str(tmp_path / "overview.png"))
        assert (tmp_path / "overview.png").stat().st_size > 50_000
        assert refused == []
        assert errors == []
    finally:
        page.close()


def test_choice_map_renders_offline(browser, deso, areas, land, tmp_path):
    path = save_html(choice_map(deso, areas, 30, land=land), tmp_path / "choice.html")
    page, refused, errors = _open_offline(browser, path)
    try:
        assert page.locator("path.asih-deso").count() == len(deso)
        assert "Antal godkända enheter som når inom 30 min" in page.locator(".asih-legend").inner_text()
        page.screenshot(path=str(tmp_path / "choice.png"))
        assert refused == [] and errors == []
    finally:
        page.close()


def test_unit_and_lookup_maps_render_offline(browser, units, reach, gaps, lookup_result, bases, areas, land, tmp_path):
    unit = next(u for u in units if u["id"] == "sodertalje-sjukhus")
    unit_path = save_html(unit_map(unit, reach, areas, gaps, 30, land=land), tmp_path / "unit.html")
    page, refused, errors = _open_offline(browser, unit_path)
    try:
        gap_fill = page.locator("path.gap").first.get_attribute("fill")
        assert gap_fill == "url(#asih-hatch)" and page.locator("#asih-hatch").count() == 1
        assert page.locator("path.isochrone").count() == 1
        page.screenshot(path=str(tmp_path / "unit.png"))
        assert refused == [] and errors == []
    finally:
        page.close()
    lookup_path = save_html(lookup_map(lookup_result, bases, areas, land=land), tmp_path / "lookup.html")
    page, refused, errors = _open_offline(browser, lookup_path)
    try:
        shown = {u["unit"] for u in lookup_result["eligible"] + lookup_result["reachable_not_approved"]}
        n_bases = sum(1 for b in bases if b["unit"] in shown)
        assert page.locator("path.asih-base").count() == n_bases
        first = lookup_result["eligible"][0]
        page.locator("path.asih-base").first.hover()
        # Hovering may also open an area's tooltip on the way; pick the unit's.
        tip = page.locator(".leaflet-tooltip", has_text=f"{first['unit']}: ").first
        assert f"{first['unit']}: {style.minutes_text(first['drive_time_s'])}" in tip.inner_text()
        page.screenshot(path=str(tmp_path / "lookup.png"))
        assert refused == [] and errors == []
    finally:
        page.close()


def test_area_and_base_labels_never_overlap(browser, areas, municipalities, boroughs, bases, land, tmp_path):
    path = save_html(overview_map(areas, municipalities, boroughs, bases, land=land), tmp_path / "labels.html")
    page, refused, errors = _open_offline(browser, path)
    try:
        rects = """() => Array.from(document.querySelectorAll('.asih-area-label, .asih-base-label'))
            .filter(e => getComputedStyle(e).visibility !== 'hidden')
            .map(e => Array.from(e.querySelectorAll('span')).filter(s => getComputedStyle(s).display !== 'none')[0])
            .map(s => { const r = s.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"""
        # The labels have given way for this view, and no later move has asked them to again.
        placed = ("() => { const v = +document.querySelector('.leaflet-container').getAttribute('data-labels-placed');"
                  " return v > 0 && Date.now() - v > 700; }")  # past a zoom animation
        for zoom in (None, 10, 11):
            if zoom is not None:
                page.evaluate(f"() => {{ document.querySelector('.leaflet-container')"
                              f".removeAttribute('data-labels-placed'); "
                              f"const m = Object.values(window).find(v => v instanceof L.Map); "
                              f"m.setView([59.33, 18.06], {zoom}, {{animate: false}}); }}")
            page.wait_for_function(placed)
            boxes = page.evaluate(rects)
            assert len(boxes) >= 8
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (zoom, a, b)
        shown = page.evaluate("() => Array.from(document.querySelectorAll('.asih-area-label'))"
                              ".filter(e => getComputedStyle(e).visibility !== 'hidden').length")
        assert shown >= 6
        assert refused == [] and errors == []
    finally:
        page.close()

"""Interactive maps: self-contained HTML with the areas, bases, legends and attribution."""

from __future__ import annotations

import re

import folium
import pytest
from folium.plugins import MiniMap

from core.settings import Settings
from maps import style
from maps.interactive import choice_map, lookup_map, overview_map, unit_map
from maps.offline import SelfContainedError, external_references, save_html

AREA_LABELS = [
    "Område 1 – Södertälje",
    "Område 2 – Norrtälje",
    "Område 3 – Söderort / Södertörn",
    "Område 4 – Södermalm / Nacka–Värmdö",
    "Område 5 – Innerstaden",
    "Område 6 – Västerort",
    "Område 7 – Nordväst",
    "Område 8 – Nordost",
]
# A tag that would make the browser fetch something from the network.
_EXTERNAL_TAG = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
                           re.IGNORECASE)


@pytest.fixture(scope="module")
def overview_html(areas, municipalities, boroughs, bases, land, tmp_path_factory):
    path = save_html(overview_map(areas, municipalities, boroughs, bases, land=land),
                     tmp_path_factory.mktemp("html") / "overview.html")
    return path.read_text(encoding="utf-8")


def _assert_self_contained(html: str) -> None:
    assert external_references(html) == []
    assert _EXTERNAL_TAG.search(html) is None
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn", "tile.openstreetmap"):
        assert cdn not in html
    assert "Leaflet 1.9.4" in html  # inlined, not linked


def test_overview_is_self_contained_with_labels_and_attribution(overview_html, bases):
    _assert_self_contained(overview_html)
    for label in AREA_LABELS:
        assert label in overview_html
    assert style.ATTRIBUTION in overview_html
    assert overview_html.count("L.circleMarker(") == len(bases) == 16
    for word in ("adress", "plats", "okänd (gissning)", "Basens precision"):
        assert word in overview_html
    assert "L.control.layers(" in overview_html
    assert "$(" not in overview_html.replace("$(`", "")  # no jQuery calls
    assert "ASIH Södertälje sjukhus" in overview_html and "Rosenborgsgatan 6-10, Södertälje" in overview_html


def test_unit_map_shows_reach_approved_areas_and_hatched_gaps(areas, units, reach, gaps, land, tmp_path):
    unit = next(u for u in units if u["id"] == "sodertalje-sjukhus")
    html = save_html(unit_map(unit, reach, areas, gaps, 30, land=land), tmp_path / "unit.html").read_text()
    _assert_self_contained(html)
    assert 'id="asih-hatch"' in html and "url(#asih-hatch)" in html
    assert "Nås inom 30 min" in html
    assert "Godkända områden: 1" in html
    assert style.ATTRIBUTION in html


def test_choice_map_has_the_four_classes_and_legend(deso, areas, land, tmp_path):
    html = save_html(choice_map(deso, areas, 30, land=land), tmp_path / "choice.html").read_text()
    _assert_self_contained(html)
    assert "Antal godkända enheter som når inom 30 min" in html
    for _, label, colour in style.CHOICE_CLASSES:
        assert colour in html
    assert html.count('"deso": "') == len(deso)


def test_lookup_map_shows_drive_times_in_minutes(lookup_result, bases, areas, land, tmp_path):
    html = save_html(lookup_map(lookup_result, bases, areas, land=land), tmp_path / "lookup.html").read_text()
    _assert_self_contained(html)
    first = lookup_result["eligible"][0]
    assert first["unit"] == "ASIH Ersta Diakoni" and first["within_limit"]
    assert f"ASIH Ersta Diakoni: {style.minutes_text(first['drive_time_s'])} (inom gränsen)" in html
    for item in lookup_result["reachable_not_approved"]:
        assert f"{item['unit']}: {style.minutes_text(item['drive_time_s'])}" in html
    assert "Område 4 – Södermalm / Nacka–Värmdö" in html
    assert "membership is a hypothesis" in html  # the answer's warnings are shown


def test_lookup_outside_the_county_still_draws(bases, areas, land):
    result = {"query": {"precision": "postcode", "matched": "x", "lat": 57.7, "lon": 11.97},
              "area": None, "eligible": [], "reachable_not_approved": [], "warnings": ["Utanför länet."]}
    html = lookup_map(result, bases, areas, land=land).get_root().render()
    assert "utanför länet" in html


def test_save_html_refuses_external_resources(areas, municipalities, boroughs, bases, land, tmp_path):
    m = overview_map(areas, municipalities, boroughs, bases, land=land)
    MiniMap().add_to(m)  # a folium plugin that links its JS/CSS from a CDN
    with pytest.raises(SelfContainedError, match="http"):
        save_html(m, tmp_path / "bad.html")
    assert not (tmp_path / "bad.html").exists()


def test_save_html_wants_html_extension(areas, municipalities, boroughs, bases, land, tmp_path):
    with pytest.raises(ValueError, match=r"\.html"):
        save_html(overview_map(areas, municipalities, boroughs, bases, land=land), tmp_path / "map.png")


def test_configured_tile_server_replaces_local_land(areas, municipalities, boroughs, bases):
    settings = Settings(tile_url="https://tiles.example.org/{z}/{x}/{y}.png", tile_attribution="© Example tiles")
    m = overview_map(areas, municipalities, boroughs, bases, settings=settings)
    html = m.get_root().render()
    assert "L.tileLayer(" in html and "tiles.example.org" in html and "Example tiles" in html
    assert style.ATTRIBUTION in html
    assert style.WATER not in html  # no local land-on-water background
    assert external_references(html) == []  # tiles are fetched by Leaflet at run time, not by a tag


def test_inputs_must_be_metric(areas, municipalities, boroughs, bases, land):
    with pytest.raises(ValueError, match="EPSG:3006"):
        overview_map(areas.to_crs(4326), municipalities, boroughs, bases, land=land)


def test_external_references_finds_fetching_tags_only():
    html = ('<script src="https://x.org/a.js"></script><link rel="stylesheet" href="//y.org/b.css">'
            '<a href="https://leafletjs.com">Leaflet</a><img src="data:image/png;base64,AA">'
            '<style>.a{background:url("https://z.org/i.png")}</style>')
    assert external_references(html) == ["https://x.org/a.js", "//y.org/b.css", "https://z.org/i.png"]


def test_plain_folium_map_is_not_self_contained():
    # Guards the premise: folium's defaults do link CDNs, which offline_map removes.
    assert external_references(folium.Map(tiles=None).get_root().render())


def test_maps_have_a_page_title_and_folded_base_list(overview_html):
    assert "<title>ASIH-områden och vårdgivarnas baser</title>" in overview_html
    assert "Vårdgivarnas baser (16)" in overview_html and "<details>" in overview_html
    assert overview_html.count('"asih-base-label"') == 16  # every base numbered beside its marker
    assert overview_html.count("asih-area-label") >= 8 and "declutter()" in overview_html  # labels give way
    assert "Områdena 2–8 är vår hypotes" in overview_html


def test_unit_map_hatches_by_people(areas, units, auditor, service, land, tmp_path):
    unit = next(u for u in units if u["id"] == "syd-aleris")
    unreached = auditor.unreached_by_deso("syd-aleris")
    m = unit_map(unit, service.isochrone("syd-aleris", 1800.0), areas, None, 30, unreached=unreached,
                 profile="typical", land=land)
    html = save_html(m, tmp_path / "unit.html").read_text(encoding="utf-8")
    assert "<title>ASIH Syd Aleris: nås inom 30 min (normal trafik)</title>" in html
    assert html.count("url(#asih-hatch)") == len(unreached)
    assert "Ej nådda personer" in html and "1 000 eller fler" in html
    assert "Handen, Haninge" in html and "normal trafik (kalibrerad" in html

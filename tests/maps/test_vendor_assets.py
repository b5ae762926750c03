"""Leaflet is vendored once and inlined; nothing else from folium's CDN list is needed."""

from __future__ import annotations

import pytest

from maps import vendor_assets
from maps.offline import leaflet_assets


def test_leaflet_is_vendored_with_images_inlined():
    info = vendor_assets.vendored()
    assert info is not None, "run `python -m maps.vendor_assets`"
    assert info["leaflet"] == vendor_assets.LEAFLET_VERSION
    js, css = leaflet_assets()
    assert f"Leaflet {vendor_assets.LEAFLET_VERSION}," in js[:200]
    assert "images/" not in css
    assert "url(data:image/png;base64," in css


def test_fetch_is_idempotent_and_needs_no_npm_when_present(monkeypatch):
    before = {p.name: p.stat().st_mtime_ns for p in vendor_assets.VENDOR_DIR.iterdir()}
    monkeypatch.setattr(vendor_assets.shutil, "which", lambda _name: None)
    assert vendor_assets.fetch_leaflet() == vendor_assets.VENDOR_DIR
    after = {p.name: p.stat().st_mtime_ns for p in vendor_assets.VENDOR_DIR.iterdir()}
    assert after == before


def test_missing_npm_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(vendor_assets.shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError, match="npm"):
        vendor_assets.fetch_leaflet(vendor_dir=tmp_path)


def test_tampered_asset_is_not_counted_as_vendored(tmp_path):
    for name in (vendor_assets.LEAFLET_JS, vendor_assets.LEAFLET_CSS, vendor_assets.MANIFEST):
        (tmp_path / name).write_bytes((vendor_assets.VENDOR_DIR / name).read_bytes())
    assert vendor_assets.vendored(tmp_path) is not None
    (tmp_path / vendor_assets.LEAFLET_JS).write_text("alert(1)")
    assert vendor_assets.vendored(tmp_path) is None

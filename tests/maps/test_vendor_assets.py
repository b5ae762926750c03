"""Leaflet is vendored once and inlined (nothing else from folium's CDN list is needed); Swagger UI for /docs;
axe-core for the browser tests only. Each package must match its pinned npm integrity."""

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


def test_axe_is_vendored_for_the_tests_only():
    info = vendor_assets.vendored(vendor_assets.AXE_DIR)
    assert info is not None, "run `python -m maps.vendor_assets`"
    assert info["axe-core"] == vendor_assets.AXE_VERSION and info["licence"] == "MPL-2.0"
    assert (vendor_assets.AXE_DIR / "LICENSE-axe-core").read_text(encoding="utf-8").startswith("Mozilla Public License")
    # Not served: the page's routes serve fixed names from their own directories, none of them axe's.
    from api.routes import docs, web

    assert vendor_assets.AXE_JS not in web._VENDOR_FILES + web._STATIC_FILES + docs._OWN_FILES
    assert vendor_assets.AXE_JS not in vendor_assets.SWAGGER_UI_FILES


def test_swagger_ui_is_vendored_for_offline_docs():
    info = vendor_assets.vendored(vendor_assets.SWAGGER_UI_DIR)
    assert info is not None, "run `python -m maps.vendor_assets`"
    assert info["swagger-ui-dist"] == vendor_assets.SWAGGER_UI_VERSION
    assert set(info["files"]) == set(vendor_assets.SWAGGER_UI_FILES)
    assert (vendor_assets.SWAGGER_UI_DIR / "LICENSE").exists()


def test_fetch_axe_and_swagger_are_idempotent_without_npm(monkeypatch):
    monkeypatch.setattr(vendor_assets.shutil, "which", lambda _name: None)
    assert vendor_assets.fetch_axe() == vendor_assets.AXE_DIR
    assert vendor_assets.fetch_swagger_ui() == vendor_assets.SWAGGER_UI_DIR


def test_a_package_that_does_not_match_its_pinned_integrity_is_refused(tmp_path, monkeypatch):
    import io
    import subprocess
    import tarfile
    from pathlib import Path

    def fake_pack(cmd, cwd, **_kw):  # an "npm pack" that hands over a different tarball
        data = b"console.log('not axe')"
        dest = Path(cmd[cmd.index("--pack-destination") + 1])
        with tarfile.open(dest / f"axe-core-{vendor_assets.AXE_VERSION}.tgz", "w:gz") as tar:
            info = tarfile.TarInfo("package/axe.min.js")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(vendor_assets.shutil, "which", lambda _name: "/usr/bin/npm")
    monkeypatch.setattr(vendor_assets.subprocess, "run", fake_pack)
    with pytest.raises(RuntimeError, match="does not match the pinned integrity"):
        vendor_assets.fetch_axe(vendor_dir=tmp_path / "axe")
    assert not (tmp_path / "axe" / vendor_assets.AXE_JS).exists()

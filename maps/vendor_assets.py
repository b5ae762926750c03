"""Fetch the browser assets the maps inline, so exported HTML works with no network.

Run once at install time (``make install`` does it): ``python -m maps.vendor_assets``. Only Leaflet is needed:
the maps use circle markers, GeoJSON, tooltips, plain popups and Leaflet's own layer control, so folium's default
jQuery, Bootstrap, Font Awesome and awesome-markers are dropped rather than vendored (see ``maps.offline``).

The package comes from the npm registry through ``npm pack`` (which checks the registry's integrity hash). The
images Leaflet's CSS refers to (layer-control icon, default marker) are rewritten as ``data:`` URIs so the CSS can
be inlined in a single HTML file. Running again is a no-op when the wanted version is already in place.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LEAFLET_VERSION = "1.9.4"
VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
MANIFEST = "manifest.json"
LEAFLET_JS = "leaflet.js"
LEAFLET_CSS = "leaflet.css"

_CSS_URL = re.compile(r"url\((['\"]?)images/([A-Za-z0-9_.-]+\.png)\1\)")


def vendored(vendor_dir: Path = VENDOR_DIR) -> dict | None:
    """The manifest of the vendored assets, or None when they are missing or incomplete."""
    manifest = vendor_dir / MANIFEST
    if not manifest.exists():
        return None
    info = json.loads(manifest.read_text(encoding="utf-8"))
    for name, digest in info.get("files", {}).items():
        path = vendor_dir / name
        if not path.exists() or _sha256(path.read_bytes()) != digest:
            return None
    return info


def fetch_leaflet(version: str = LEAFLET_VERSION, vendor_dir: Path = VENDOR_DIR, force: bool = False) -> Path:
    """Download Leaflet from the npm registry into ``vendor_dir`` (idempotent).

    Parameters
    ----------
    version
        Leaflet version on the npm registry.
    vendor_dir
        Target directory (git-ignored).
    force
        Download even when the same version is already vendored.

    Returns
    -------
    Path
        The vendor directory, holding ``leaflet.js``, ``leaflet.css`` (images inlined) and ``manifest.json``.
    """
    info = vendored(vendor_dir)
    if info and info.get("leaflet") == version and not force:
        return vendor_dir
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: it is needed once, to fetch Leaflet from the npm registry.")
    with tempfile.TemporaryDirectory(prefix="asih-leaflet-") as tmp:
        tmpdir = Path(tmp)
        done = subprocess.run(
            [npm, "pack", f"leaflet@{version}", "--pack-destination", str(tmpdir), "--silent"],
            cwd=tmpdir, capture_output=True, text=True, check=False,
        )
        tarballs = list(tmpdir.glob("leaflet-*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise RuntimeError(f"npm pack leaflet@{version} failed: {done.stderr.strip() or done.stdout.strip()}")
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(tmpdir / "x", filter="data")
        dist = tmpdir / "x" / "package" / "dist"
        js = (dist / "leaflet.js").read_bytes()
        css = _inline_css_images((dist / "leaflet.css").read_text(encoding="utf-8"), dist / "images")
        license_text = (tmpdir / "x" / "package" / "LICENSE").read_bytes()
    vendor_dir.mkdir(parents=True, exist_ok=True)
    (vendor_dir / LEAFLET_JS).write_bytes(js)
    (vendor_dir / LEAFLET_CSS).write_text(css, encoding="utf-8")
    (vendor_dir / "LICENSE-leaflet").write_bytes(license_text)
    manifest = {
        "leaflet": version,
        "source": f"npm registry, leaflet@{version}",
        "files": {name: _sha256((vendor_dir / name).read_bytes()) for name in (LEAFLET_JS, LEAFLET_CSS)},
    }
    (vendor_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return vendor_dir


def _inline_css_images(css: str, images: Path) -> str:
    def data_uri(match: re.Match) -> str:
        path = images / match.group(2)
        if not path.exists():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") + ")"

    return _CSS_URL.sub(data_uri, css)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vendor Leaflet for the offline maps.")
    parser.add_argument("--force", action="store_true", help="download again even if present")
    args = parser.parse_args(argv)
    try:
        path = fetch_leaflet(force=args.force)
    except (RuntimeError, OSError) as exc:
        print(f"maps.vendor_assets: {exc}", file=sys.stderr)
        return 1
    print(f"Leaflet {LEAFLET_VERSION} in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

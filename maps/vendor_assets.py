"""Fetch the browser assets the maps inline, so exported HTML works with no network.

Run once at install time (``make install`` does it): ``python -m maps.vendor_assets``. Only Leaflet is needed:
the maps use circle markers, GeoJSON, tooltips, plain popups and Leaflet's own layer control, so folium's default
jQuery, Bootstrap, Font Awesome and awesome-markers are dropped rather than vendored (see ``maps.offline``).

Swagger UI (``vendor/swagger-ui/``) makes ``/docs`` work offline (``api.routes.docs``). axe-core (the accessibility
checker, ``vendor/axe/``) is for the browser tests only: the tests inject it into the page; the app never serves it
(``api.routes.web`` and ``api.routes.docs`` serve fixed file names from their own directories).

Packages come from the npm registry through ``npm pack``, and each tarball's SHA-512 must equal the integrity
pinned here (the registry's ``dist.integrity``), so a changed or substituted package is refused. The images
Leaflet's CSS refers to (layer-control icon, default marker) are rewritten as ``data:`` URIs so the CSS can be
inlined in a single HTML file. Running again is a no-op when the wanted versions are already in place.
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
LEAFLET_INTEGRITY = "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
MANIFEST = "manifest.json"
LEAFLET_JS = "leaflet.js"
LEAFLET_CSS = "leaflet.css"

SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI_INTEGRITY = "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
SWAGGER_UI_DIR = VENDOR_DIR / "swagger-ui"
"""Served at ``/docs`` by ``api.routes.docs`` (the OpenAPI page, offline)."""
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")

AXE_VERSION = "4.14.1"
AXE_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_DIR = VENDOR_DIR / "axe"
"""Test-only: never served (not in ``api.routes.web``'s allow-list, and not in the package data ``vendor/*``)."""
AXE_JS = "axe.min.js"

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
    with tempfile.TemporaryDirectory(prefix="asih-leaflet-") as tmp:
        package = _npm_pack("leaflet", version, LEAFLET_INTEGRITY if version == LEAFLET_VERSION else None, Path(tmp))
        dist = package / "dist"
        js = (dist / "leaflet.js").read_bytes()
        css = _inline_css_images((dist / "leaflet.css").read_text(encoding="utf-8"), dist / "images")
        license_text = (package / "LICENSE").read_bytes()
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


def fetch_axe(version: str = AXE_VERSION, vendor_dir: Path = AXE_DIR, force: bool = False) -> Path:
    """Download axe-core from the npm registry into ``vendor_dir`` (idempotent), for the browser tests.

    Parameters
    ----------
    version
        axe-core version on the npm registry; only the pinned one is checked against a pinned integrity.
    vendor_dir
        Target directory (git-ignored, not served, not packaged).
    force
        Download even when the same version is already vendored.

    Returns
    -------
    Path
        The directory, holding ``axe.min.js``, its licences (MPL-2.0 and third-party) and ``manifest.json``.
    """
    info = vendored(vendor_dir)
    if info and info.get("axe-core") == version and not force:
        return vendor_dir
    with tempfile.TemporaryDirectory(prefix="asih-axe-") as tmp:
        package = _npm_pack("axe-core", version, AXE_INTEGRITY if version == AXE_VERSION else None, Path(tmp))
        js = (package / AXE_JS).read_bytes()
        licences = {name: (package / name).read_bytes() for name in ("LICENSE", "LICENSE-3RD-PARTY.txt")
                    if (package / name).exists()}
    vendor_dir.mkdir(parents=True, exist_ok=True)
    (vendor_dir / AXE_JS).write_bytes(js)
    for name, text in licences.items():
        (vendor_dir / (name.replace("LICENSE", "LICENSE-axe-core", 1))).write_bytes(text)
    manifest = {
        "axe-core": version,
        "source": f"npm registry, axe-core@{version}",
        "licence": "MPL-2.0",
        "use": "browser tests only; never served by the app",
        "files": {AXE_JS: _sha256(js)},
    }
    (vendor_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return vendor_dir


def fetch_swagger_ui(version: str = SWAGGER_UI_VERSION, vendor_dir: Path = SWAGGER_UI_DIR, force: bool = False) -> Path:
    """Download swagger-ui-dist from the npm registry into ``vendor_dir`` (idempotent), for ``/docs`` offline.

    Parameters
    ----------
    version
        swagger-ui-dist version on the npm registry; only the pinned one is checked against a pinned integrity.
    vendor_dir
        Target directory (git-ignored).
    force
        Download even when the same version is already vendored.

    Returns
    -------
    Path
        The directory, holding ``swagger-ui-bundle.js``, ``swagger-ui.css``, the licences and ``manifest.json``.
    """
    info = vendored(vendor_dir)
    if info and info.get("swagger-ui-dist") == version and not force:
        return vendor_dir
    with tempfile.TemporaryDirectory(prefix="asih-swagger-") as tmp:
        package = _npm_pack("swagger-ui-dist", version,
                            SWAGGER_UI_INTEGRITY if version == SWAGGER_UI_VERSION else None, Path(tmp))
        files = {name: (package / name).read_bytes() for name in SWAGGER_UI_FILES}
        licences = {name: (package / name).read_bytes()
                    for name in ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt") if (package / name).exists()}
    vendor_dir.mkdir(parents=True, exist_ok=True)
    for name, data in {**files, **licences}.items():
        (vendor_dir / name).write_bytes(data)
    manifest = {
        "swagger-ui-dist": version,
        "source": f"npm registry, swagger-ui-dist@{version}",
        "licence": "Apache-2.0",
        "files": {name: _sha256(data) for name, data in files.items()},
    }
    (vendor_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return vendor_dir


def _npm_pack(name: str, version: str, integrity: str | None, tmpdir: Path) -> Path:
    """``npm pack name@version`` into ``tmpdir``, check the tarball's integrity, unpack; the package directory."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not installed: it is needed once, to fetch {name} from the npm registry.")
    done = subprocess.run(
        [npm, "pack", f"{name}@{version}", "--pack-destination", str(tmpdir), "--silent"],
        cwd=tmpdir, capture_output=True, text=True, check=False,
    )
    tarballs = list(tmpdir.glob(f"{name}-*.tgz"))
    if done.returncode != 0 or not tarballs:
        raise RuntimeError(f"npm pack {name}@{version} failed: {done.stderr.strip() or done.stdout.strip()}")
    data = tarballs[0].read_bytes()
    if integrity is not None:
        got = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
        if got != integrity:
            raise RuntimeError(f"{name}@{version} from the registry does not match the pinned integrity ({got}).")
    with tarfile.open(tarballs[0]) as tar:
        tar.extractall(tmpdir / "x", filter="data")
    return tmpdir / "x" / "package"


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
    parser = argparse.ArgumentParser(
        description="Vendor Leaflet for the offline maps, Swagger UI for /docs (and axe-core for the tests)."
    )
    parser.add_argument("--force", action="store_true", help="download again even if present")
    parser.add_argument("--no-axe", action="store_true", help="skip axe-core (only the browser tests use it)")
    args = parser.parse_args(argv)
    try:
        path = fetch_leaflet(force=args.force)
        print(f"Leaflet {LEAFLET_VERSION} in {path}")
        print(f"swagger-ui-dist {SWAGGER_UI_VERSION} in {fetch_swagger_ui(force=args.force)} (/docs)")
        if not args.no_axe:
            print(f"axe-core {AXE_VERSION} in {fetch_axe(force=args.force)} (tests only)")
    except (RuntimeError, OSError) as exc:
        print(f"maps.vendor_assets: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

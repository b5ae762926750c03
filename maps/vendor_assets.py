"""Fetch the browser assets the maps inline, so exported HTML works with no network.

Run once at install time (``make install`` does it): ``python -m maps.vendor_assets``. Only Leaflet is needed:
the maps use circle markers, GeoJSON, tooltips, plain popups and Leaflet's own layer control, so folium's default
jQuery, Bootstrap, Font Awesome and awesome-markers are dropped rather than vendored (see ``maps.offline``).

Swagger UI (``vendor/swagger-ui/``) makes ``/docs`` work offline (``api.routes.docs``). axe-core (the accessibility
checker, ``vendor/axe/``) is for the browser tests only: the tests inject it into the page; the app never serves it
(``api.routes.web`` and ``api.routes.docs`` serve fixed file names from their own directories).

Packages come from the npm registry through ``npm pack``, and each tarball's SHA-512 must equal the integrity
pinned here (the registry's ``dist.integrity``), so a changed or substituted package is refused (the fetching,
checking and manifests are :mod:`maps.npm_vendor`, shared with :mod:`api.docs_assets`). The images
Leaflet's CSS refers to (layer-control icon, default marker) are rewritten as ``data:`` URIs so the CSS can be
inlined in a single HTML file. Running again is a no-op when the wanted versions are already in place.
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil  # noqa: F401 - used by maps.npm_vendor; the tests patch ``vendor_assets.shutil.which``
import subprocess  # noqa: F401 - likewise ``vendor_assets.subprocess.run``
from collections.abc import Iterator
from pathlib import Path

from maps import npm_vendor

LEAFLET_VERSION = "1.9.4"
LEAFLET_INTEGRITY = "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
MANIFEST = npm_vendor.MANIFEST
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
    """The manifest of the vendored assets, or None when they are missing, incomplete or altered."""
    return npm_vendor.vendored(vendor_dir)


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

    def pick(package: Path) -> tuple[npm_vendor.Files, npm_vendor.Files]:
        dist = package / "dist"
        css = _inline_css_images((dist / "leaflet.css").read_text(encoding="utf-8"), dist / "images")
        files = {LEAFLET_JS: (dist / "leaflet.js").read_bytes(), LEAFLET_CSS: css.encode("utf-8")}
        return files, {"LICENSE-leaflet": (package / "LICENSE").read_bytes()}

    return npm_vendor.fetch_package("leaflet", version, vendor_dir, pinned=(LEAFLET_VERSION, LEAFLET_INTEGRITY),
                                    pick=pick, force=force)


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

    def pick(package: Path) -> tuple[npm_vendor.Files, npm_vendor.Files]:
        licences = npm_vendor.present(package, ("LICENSE", "LICENSE-3RD-PARTY.txt"))
        return ({AXE_JS: (package / AXE_JS).read_bytes()},
                {name.replace("LICENSE", "LICENSE-axe-core", 1): data for name, data in licences.items()})

    return npm_vendor.fetch_package(
        "axe-core", version, vendor_dir, pinned=(AXE_VERSION, AXE_INTEGRITY), pick=pick, force=force,
        manifest={"licence": "MPL-2.0", "use": "browser tests only; never served by the app"},
    )


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

    def pick(package: Path) -> tuple[npm_vendor.Files, npm_vendor.Files]:
        return ({name: (package / name).read_bytes() for name in SWAGGER_UI_FILES},
                npm_vendor.present(package, ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt")))

    return npm_vendor.fetch_package("swagger-ui-dist", version, vendor_dir,
                                    pinned=(SWAGGER_UI_VERSION, SWAGGER_UI_INTEGRITY), pick=pick, force=force,
                                    manifest={"licence": "Apache-2.0"})


def _inline_css_images(css: str, images: Path) -> str:
    def data_uri(match: re.Match) -> str:
        path = images / match.group(2)
        if not path.exists():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") + ")"

    return _CSS_URL.sub(data_uri, css)


def main(argv: list[str] | None = None) -> int:
    def fetch(args: argparse.Namespace) -> Iterator[str]:
        yield f"Leaflet {LEAFLET_VERSION} in {fetch_leaflet(force=args.force)}"
        yield f"swagger-ui-dist {SWAGGER_UI_VERSION} in {fetch_swagger_ui(force=args.force)} (/docs)"
        if not args.no_axe:
            yield f"axe-core {AXE_VERSION} in {fetch_axe(force=args.force)} (tests only)"

    return npm_vendor.run_command(
        "maps.vendor_assets", "Vendor Leaflet for the offline maps, Swagger UI for /docs (and axe-core for the tests).",
        fetch, argv, flags=[("--no-axe", "skip axe-core (only the browser tests use it)")],
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""``/redoc`` offline: ReDoc vendored from npm and served from this origin (FastAPI's own page loads it from a CDN,
blank in a hospital network without internet).

Run once at install time (``make install`` does it): ``python -m api.docs_assets``. The package comes from the npm
registry through ``npm pack`` and its tarball's SHA-512 must equal the integrity pinned here (the registry's
``dist.integrity``), so a changed or substituted package is refused; running again is a no-op when the pinned
version is in place. The fetching, checking and manifest are :mod:`maps.npm_vendor`, as for Leaflet and Swagger UI.
ReDoc 2 is the major FastAPI itself uses; it renders ``/openapi.json`` from a ``<redoc>`` element, so the page
needs no inline script. ``/docs`` (Swagger UI) is :mod:`api.routes.docs`.
"""

from __future__ import annotations

import argparse
import html
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from maps import npm_vendor

REDOC_VERSION = "2.5.4"
REDOC_INTEGRITY = "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ=="
REDOC_DIR = Path(__file__).resolve().parent.parent / "maps" / "vendor" / "redoc"
"""Beside the other vendored browser files (git-ignored ``maps/vendor/``)."""
REDOC_JS = "redoc.standalone.js"
MANIFEST = npm_vendor.MANIFEST

# ReDoc sets inline styles, draws its logo and icons as data: URIs and runs its search index in a blob: worker.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
        "script-src 'self'; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """The OpenAPI reference (ReDoc), from vendored files only."""
    title = html.escape(f"{request.app.title} – API reference")
    spec = html.escape(request.app.openapi_url or "/openapi.json")
    if vendored() is not None:
        body = f'<redoc spec-url="{spec}"></redoc>\n<script src="/redoc/assets/{REDOC_JS}"></script>'
    else:
        body = (f"<main><h1>{title}</h1><p>The reference page needs ReDoc, vendored once with "
                f"<code>python -m api.docs_assets</code>. The API is described in the "
                f'<a href="{spec}">OpenAPI document</a> and at <a href="/docs">/docs</a>.</p></main>')
    page = (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n'
            f"<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
    return HTMLResponse(page, headers=PAGE_HEADERS)


@router.get(f"/redoc/assets/{REDOC_JS}")
def redoc_js() -> FileResponse:
    """ReDoc's standalone bundle (the only file served from the vendored folder)."""
    path = REDOC_DIR / REDOC_JS
    if vendored() is None:
        raise HTTPException(404, "ReDoc is not vendored: run `python -m api.docs_assets`.")
    return FileResponse(path, media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"})


def vendored(vendor_dir: Path = REDOC_DIR) -> dict | None:
    """The manifest of the vendored ReDoc, or None when missing, incomplete or altered."""
    return npm_vendor.vendored(vendor_dir)


def fetch_redoc(version: str = REDOC_VERSION, vendor_dir: Path = REDOC_DIR, force: bool = False) -> Path:
    """Download ReDoc from the npm registry into ``vendor_dir`` (idempotent).

    Parameters
    ----------
    version : str
        ReDoc version on the npm registry; only the pinned one is checked against the pinned integrity.
    vendor_dir : Path
        Target directory (git-ignored).
    force : bool
        Download even when the same version is already vendored.

    Returns
    -------
    Path
        The directory, holding ``redoc.standalone.js``, its licences and ``manifest.json``.
    """

    def pick(package: Path) -> tuple[npm_vendor.Files, npm_vendor.Files]:
        licences = npm_vendor.present(package, ("LICENSE", f"bundles/{REDOC_JS}.LICENSE.txt"))
        return ({REDOC_JS: (package / "bundles" / REDOC_JS).read_bytes()},
                {f"LICENSE-{name.replace('/', '-')}": data for name, data in licences.items()})

    return npm_vendor.fetch_package("redoc", version, vendor_dir, pinned=(REDOC_VERSION, REDOC_INTEGRITY),
                                    pick=pick, manifest={"licence": "MIT"}, force=force)


def main(argv: list[str] | None = None) -> int:
    def fetch(args: argparse.Namespace) -> Iterator[str]:
        yield f"ReDoc {REDOC_VERSION} in {fetch_redoc(force=args.force)}"

    return npm_vendor.run_command("api.docs_assets", "Vendor ReDoc for the offline /redoc page.", fetch, argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""The referrer's web page: ``GET /`` and its static files, all served locally (no CDN, no tile server).

Leaflet comes from ``maps/vendor`` (``python -m maps.vendor_assets``); when it is missing the page still answers
lookups, without the map. Files are served from fixed allow-lists, never from a path taken from the request.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from maps.vendor_assets import LEAFLET_CSS, LEAFLET_JS, VENDOR_DIR

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_STATIC_FILES = ("app.js", "app.css")
_VENDOR_FILES = (LEAFLET_JS, LEAFLET_CSS)

# The page talks only to this origin; Leaflet's CSS carries its icons as data: URIs and sets inline styles.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    """The lookup page."""
    return _file(STATIC_DIR / "index.html", cache="no-cache")


@router.get("/static/vendor/{name}")
def vendor_file(name: str) -> FileResponse:
    """Leaflet's JS or CSS, as vendored by ``python -m maps.vendor_assets``."""
    if name not in _VENDOR_FILES:
        raise HTTPException(404, "Not found.")
    path = VENDOR_DIR / name
    if not path.is_file():
        raise HTTPException(404, "Leaflet is not vendored: run `python -m maps.vendor_assets`; the page works without the map.")
    return _file(path, cache="public, max-age=86400")


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """The page's own script and stylesheet."""
    if name not in _STATIC_FILES:
        raise HTTPException(404, "Not found.")
    return _file(STATIC_DIR / name, cache="no-cache")


def _file(path: Path, cache: str) -> FileResponse:
    headers = {**_SECURITY_HEADERS, "Cache-Control": cache}
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers=headers)

"""``/docs``: the OpenAPI page from local files (Swagger UI vendored from npm), so it works offline.

FastAPI's own ``/docs`` loads Swagger UI from a CDN (blank offline, and outside the CSP). This page is the same
Swagger UI, vendored by ``python -m maps.vendor_assets``, inside a page with a language, a ``<main>`` and an
``<h1>``, under the referrer page's CSP. The app must turn FastAPI's page off (``docs_url=None``) and include
``router``. Without the vendored files the page still names the OpenAPI document and how to fetch Swagger UI.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.pages import MEDIA_TYPES, SECURITY_HEADERS, STATIC_DIR, TEMPLATES
from maps.vendor_assets import SWAGGER_UI_DIR, SWAGGER_UI_FILES, vendored

_OWN_FILES = ("docs.js", "docs.css")

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    """The OpenAPI page."""
    html = TEMPLATES.get_template("docs.html").render(
        title=request.app.title, version=request.app.version, openapi_url=request.app.openapi_url or "/openapi.json",
        vendored=vendored(SWAGGER_UI_DIR) is not None,
    )
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> FileResponse:
    """Swagger UI's bundle and stylesheet, and the page's own starter script and stylesheet (fixed names only)."""
    if name in _OWN_FILES:
        path = STATIC_DIR / name
    elif name in SWAGGER_UI_FILES:
        path = SWAGGER_UI_DIR / name
    else:
        raise HTTPException(404, "Not found.")
    if not path.is_file():
        raise HTTPException(404, "Swagger UI is not vendored: run `python -m maps.vendor_assets`.")
    media = MEDIA_TYPES[path.suffix]
    return FileResponse(path, media_type=media, headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"})

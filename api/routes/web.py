"""The referrer's web page: ``GET /`` (the form), ``POST /svar`` (the answer, rendered on the server), static files.

The page works without JavaScript: the form posts ``address``, ``lang`` and ``choice`` (form-urlencoded) to
``/svar``, which answers with the same content as the scripted page, minus the map. With JavaScript, ``app.js``
posts JSON to ``/v1/lookup`` instead and draws the map. The address travels only in POST bodies: never in a URL
(no redirect carries it), and the answer page is sent ``no-store``.

Leaflet comes from ``maps/vendor`` (``python -m maps.vendor_assets``); when it is missing the page still answers
lookups, without the map. Files are served from fixed allow-lists, never from a path taken from the request.
Page texts, in Swedish and English, come from the catalogue (``core/words.yaml``): the templates and the script read
the same dictionary (:data:`api.view.TEXTS`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.deps import service
from api.pages import MEDIA_TYPES, SECURITY_HEADERS, STATIC_DIR, TEMPLATES, TEMPLATES_DIR  # noqa: F401
from lookup.localize import say
from api.view import TEXTS, TZ, fill, free_places, view  # noqa: F401 - free_places re-exported for the tests
from geo.geocode import Ambiguous, GeocodeError
from maps.vendor_assets import LEAFLET_CSS, LEAFLET_JS, VENDOR_DIR

LANGS = ("sv", "en")
DEFAULT_LANG = "sv"

_STATIC_FILES = ("app.js", "app.css", "basemap.js")
_VENDOR_FILES = (LEAFLET_JS, LEAFLET_CSS)



router = APIRouter(include_in_schema=False)


@router.get("/")
@router.get("/svar")
def index(lang: str = DEFAULT_LANG) -> HTMLResponse:
    """The lookup page (``/svar`` too: reloading an answer page shows the empty form, never a 405)."""
    return _page(_lang(lang), status=200, cache="no-cache")


@router.post("/")
@router.post("/svar")
async def answer_page(request: Request) -> HTMLResponse:
    """The answer for a posted form (``address``, ``lang``, optional ``choice``), without JavaScript.

    ``town`` (the "no, another town" field of a one-town question) is asked as the same address in that town or
    postcode: ``"{address}, {town}"``, with no choice."""
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a body that is not a form is answered like an empty query
        form = {}
    address, lang, choice, town = (_field(form, k) for k in ("address", "lang", "choice", "town"))
    lang = _lang(lang)
    t = TEXTS[lang]
    svc = await service(request)
    address = address.strip()
    if town.strip():
        address, choice = _in_town(address, town), ""
    if not address:
        return _page(lang, address=address, error={"message": t["empty_query"]}, status=422)
    if len(address) > svc.settings.query_max_chars:
        return _page(lang, error={"message": fill(t["too_long"], n=svc.settings.query_max_chars)}, status=422)
    try:
        body = await run_in_threadpool(_lookup, svc, address, choice.strip() or None, lang)
    except Ambiguous as exc:
        cands = [{"matched": c.matched, "precision": c.precision} for c in exc.candidates]
        error = {"message": say(exc, lang), "candidates": cands}
        return _page(lang, address=address, error=error, status=422)
    except GeocodeError as exc:
        return _page(lang, address=address, error={"message": say(exc, lang)}, status=422)
    except ValueError as exc:
        return _page(lang, address=address, error={"message": say(exc, lang)}, status=422)
    answer = view(body, lang, svc.registry, datetime.now(TZ))
    return _page(lang, address=address, answer=answer, status=200)


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


# -- the answer as the page shows it ---------------------------------------------------------------------------------
# -- plumbing ----------------------------------------------------------------------------------------------------------
def _lookup(svc, address: str, choice: str | None, lang: str) -> dict:
    return svc.lookup(address=address, choice=choice, lang=lang)


def _in_town(address: str, town: str) -> str:
    """The address asked again in another town or postcode (the same join app.js makes)."""
    return ", ".join(p for p in (address.strip(), town.strip()) if p)


def _field(form, key: str) -> str:
    value = form.get(key) if hasattr(form, "get") else None
    return value if isinstance(value, str) else ""


def _lang(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


def _page(lang: str, *, address: str = "", answer: dict | None = None, error: dict | None = None,
          status: int, cache: str = "no-store") -> HTMLResponse:
    html = TEMPLATES.get_template("page.html").render(
        lang=lang, t=TEXTS[lang], texts=TEXTS, address=address, answer=answer, error=error,
        langs=LANGS,
    )
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, "Cache-Control": cache})


def _file(path: Path, cache: str) -> FileResponse:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)

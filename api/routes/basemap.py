"""The offline base map as one cached GeoJSON answer: ``GET /v1/basemap`` (water, main roads by class, place names).

The layer is prepared once by ``asih prepare`` (:mod:`maps.basemap`); this route only reads it from the cache (never
the raw files) and answers the same bytes every time, with a strong ``ETag`` and a long ``Cache-Control``: a
browser asks once a day and gets ``304 Not Modified`` while the layer is unchanged.
"""

from __future__ import annotations

import gzip
import threading

from fastapi import APIRouter, HTTPException, Request, Response

from api.schemas import errors
from core.cache import CacheError
from maps.basemap import BaseMap, load_basemap

router = APIRouter(prefix="/v1", tags=["maps"])

CACHE_CONTROL = "public, max-age=86400"
"""A day: the layer changes only when ``asih prepare`` rebuilds it; the ETag revalidates it after that."""
MEDIA_TYPE = "application/geo+json"

_loaded: dict[str, tuple[BaseMap, bytes]] = {}
_lock = threading.Lock()


@router.get("/basemap", response_description="A GeoJSON FeatureCollection in EPSG:4326",
            responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "object"}}}},
                       304: {"description": "Unchanged since the ETag sent in If-None-Match."},
                       **errors(503, said={503: "The base map is not prepared (run `asih prepare`)."})})
def basemap(request: Request) -> Response:
    """The base map under every map: ``water`` polygons, ``road`` lines per ``class`` (motorway, trunk, primary,
    secondary) and ``place`` points (``name``, ``place``: municipality, borough, locality or district; ``rank``: the
    order in which names are placed; ``minzoom``). The ``style`` member carries the colours."""
    layer, packed = _layer(request)
    # gzip (a fifth of the size) to a client that takes it: compressed once, with its own tag.
    gz = "gzip" in request.headers.get("accept-encoding", "")
    etag = layer.etag[:-1] + '-gz"' if gz else layer.etag
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if etag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    if gz:
        return Response(packed, media_type=MEDIA_TYPE, headers={**headers, "Content-Encoding": "gzip"})
    return Response(layer.text, media_type=MEDIA_TYPE, headers=headers)


def _layer(request: Request) -> tuple[BaseMap, bytes]:
    settings = request.app.state.settings
    key = str(settings.cache_dir)
    with _lock:
        if key not in _loaded:
            try:
                layer = load_basemap(settings, rebuild=False)
            except CacheError as exc:
                raise HTTPException(503, str(exc)) from None
            _loaded[key] = (layer, gzip.compress(layer.text, mtime=0))
        return _loaded[key]


def _tags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}

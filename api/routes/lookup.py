"""Referrer lookups: one point or address, and batches. Inputs are never logged or stored."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from api.batch import BatchInputError, BatchRow, rows_from_csv, run_batch
from api.deps import service
from api.executor import heavy_for, run_heavy
from lookup.localize import say
from api.schemas import BatchOut, Day, LookupIn, LookupOut, errors
from lookup.service import Service
from api.view import view as view_model
from geo.geocode import Ambiguous, GeocodeError

router = APIRouter(prefix="/v1/lookup", tags=["lookup"])


def _lookup(svc: Service, address: str | None, lat: float | None, lon: float | None, lang: str = "en",
            choice: str | None = None, on: dt.date | None = None) -> dict:
    try:
        return svc.lookup(address=address, lat=lat, lon=lon, choice=choice, lang=lang, on=on)
    except Ambiguous as exc:
        candidates = [{"matched": c.matched, "precision": c.precision, "lat": c.lat, "lon": c.lon} for c in exc.candidates]
        raise HTTPException(422, {"message": say(exc, lang), "candidates": candidates}) from None
    except GeocodeError as exc:
        raise HTTPException(422, say(exc, lang)) from None
    except ValueError as exc:
        raise HTTPException(422, say(exc, lang)) from None


def _respond(body: dict) -> JSONResponse:
    # The body is built by Service with the LookupOut fields (checked in tests/api/test_api.py); returning it
    # directly skips a second pydantic pass per request on the referrer's hot path. An answer about a patient's
    # address must not be kept by a browser or a proxy.
    return JSONResponse(body, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.get("", response_model=LookupOut, responses=errors(422))
async def lookup(
    address: str | None = Query(None, max_length=300, description="Address, postcode, place or 'lat, lon'."),
    lat: float | None = Query(None, ge=-90, le=90),
    lon: float | None = Query(None, ge=-180, le=180),
    lang: Literal["en", "sv"] = Query("en", description="Language of warnings and error sentences."),
    choice: str | None = Query(None, max_length=100, description="A token from a previous answer's area.choices."),
    date: Day | None = Query(None, description="The day whose approvals apply (YYYY-MM-DD; default today)."),
    svc: Service = Depends(service),
) -> JSONResponse:
    """Area and eligible units for an address or a point. Prefer POST: a query string may end up in proxies' logs."""
    return _respond(_lookup(svc, address, lat, lon, lang, choice, date))


@router.post("", response_model=LookupOut, responses=errors(400, 413, 422))
async def lookup_post(body: LookupIn, svc: Service = Depends(service)) -> JSONResponse:
    """As GET, with the address in the body (kept out of URLs and their logs). With ``"view": true`` the answer also
    carries ``view``, the referrer page's view model (the same the server renders without JavaScript)."""
    answer = _lookup(svc, body.address, body.lat, body.lon, body.lang, body.choice, body.date)
    if body.view:
        answer["view"] = view_model(answer, body.lang, svc.registry)
    return _respond(answer)


@router.post(
    "/batch",
    response_model=BatchOut,
    responses=errors(413, 415, 422, 503, said={413: "The body is too large, or has more rows than the limit."}),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "array", "items": LookupIn.model_json_schema()}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def lookup_batch(request: Request, svc: Service = Depends(service)) -> JSONResponse:
    """Many lookups: a JSON list of ``{address}`` / ``{lat, lon}``, or CSV (``address`` column, or ``lat,lon``).

    Bounded to ``batch_max_rows`` rows (413 beyond). A failing row reports why; the batch goes on.
    """
    rows = await _batch_rows(request, svc.settings.batch_max_rows)
    # Identical concurrent batches are computed once; the key is a digest, and batches are never memoised.
    key = ("batch", hashlib.sha256(repr(rows).encode("utf-8")).hexdigest())
    body = await run_heavy(heavy_for(request), key, batch_json, rows, memo=False)
    return Response(body, media_type="application/json")


def batch_json(svc: Service, rows: list[BatchRow]) -> bytes:
    """The batch answer as JSON, built in a heavy-work worker (validated against ``BatchOut`` there, so the event
    loop only sends bytes)."""
    results = [{"row": i, "ok": error is None, "result": result, "error": error}
               for i, result, error in run_batch(svc, rows)]
    ok = sum(r["ok"] for r in results)
    body = BatchOut.model_validate({"rows": len(results), "ok": ok, "failed": len(results) - ok, "results": results})
    return JSONResponse(body.model_dump(mode="json")).body


async def _batch_rows(request: Request, max_rows: int) -> list[BatchRow]:
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(422, "The body is not UTF-8 text.") from None
    if ctype in ("text/csv", "text/plain"):
        try:
            rows = rows_from_csv(text)
        except BatchInputError as exc:
            raise HTTPException(422, str(exc)) from None
    elif ctype == "application/json":
        rows = _json_rows(text)
    else:
        raise HTTPException(415, "Send application/json (a list of {address} or {lat, lon}) or text/csv.")
    if not rows:
        raise HTTPException(422, "The batch is empty.")
    if len(rows) > max_rows:
        raise HTTPException(413, f"The batch has {len(rows)} rows; at most {max_rows} are accepted per request.")
    return rows


def _json_rows(text: str) -> list[BatchRow]:
    import json

    from pydantic import ValidationError

    try:
        data = json.loads(text)
    except ValueError:
        raise HTTPException(422, "The body is not valid JSON.") from None
    except RecursionError:
        raise HTTPException(422, "The body is nested too deeply: send a flat JSON list of {address} or "
                                 "{lat, lon} objects.") from None
    if not isinstance(data, list):
        raise HTTPException(422, "The body must be a JSON list of {address} or {lat, lon} objects.")
    rows = []
    for i, item in enumerate(data, start=1):
        try:
            parsed = LookupIn.model_validate(item)
        except (ValidationError, RecursionError):
            raise HTTPException(422, f"Item {i} is not an {{address}} or {{lat, lon}} object.") from None
        if parsed.address is not None:
            rows.append(BatchRow(address=parsed.address))
        elif parsed.lat is not None and parsed.lon is not None:
            rows.append(BatchRow(lat=parsed.lat, lon=parsed.lon))
        else:
            raise HTTPException(422, f"Item {i} has neither an address nor both lat and lon.")
    return rows

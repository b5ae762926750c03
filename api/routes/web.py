"""The referrer's web page: ``GET /`` (the form), ``POST /svar`` (the answer, rendered on the server), static files.

The page works without JavaScript: the form posts ``address``, ``lang`` and ``choice`` (form-urlencoded) to
``/svar``, which answers with the same content as the scripted page, minus the map. With JavaScript, ``app.js``
posts JSON to ``/v1/lookup`` instead and draws the map. The address travels only in POST bodies: never in a URL
(no redirect carries it), and the answer page is sent ``no-store``.

Leaflet comes from ``maps/vendor`` (``python -m maps.vendor_assets``); when it is missing the page still answers
lookups, without the map. Files are served from fixed allow-lists, never from a path taken from the request.
Page texts, in Swedish and English, live in ``static/texts.json``: the templates and the script read the same file.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool

from api.deps import service
from api.i18n import localize_lookup, translate
from geo.geocode import Ambiguous, GeocodeError
from maps.vendor_assets import LEAFLET_CSS, LEAFLET_JS, VENDOR_DIR

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LANGS = ("sv", "en")
DEFAULT_LANG = "sv"
TZ = ZoneInfo("Europe/Stockholm")

_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_STATIC_FILES = ("app.js", "app.css")
_VENDOR_FILES = (LEAFLET_JS, LEAFLET_CSS)

# The page talks only to this origin; Leaflet's CSS carries its icons as data: URIs and sets inline styles.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

TEXTS: dict[str, dict[str, str]] = json.loads((STATIC_DIR / "texts.json").read_text(encoding="utf-8"))
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
CONTACT_ORDER = ("referral", "phone", "hours")
_STATED_BY_SUMMARY = ("area_uncertain", "outside_county", "none_within_limit", "none_approved",
                      "partly_within_limit")
_GUESS_SUFFIX = re.compile(r"\s*\((?:guess|gissning)\)\s*$")

router = APIRouter(include_in_schema=False)


@router.get("/")
@router.get("/svar")
def index(lang: str = DEFAULT_LANG) -> HTMLResponse:
    """The lookup page (``/svar`` too: reloading an answer page shows the empty form, never a 405)."""
    return _page(_lang(lang), status=200, cache="no-cache")


@router.post("/")
@router.post("/svar")
async def answer_page(request: Request) -> HTMLResponse:
    """The answer for a posted form (``address``, ``lang``, optional ``choice``), without JavaScript."""
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a body that is not a form is answered like an empty query
        form = {}
    address, lang, choice = (_field(form, k) for k in ("address", "lang", "choice"))
    lang = _lang(lang)
    t = TEXTS[lang]
    svc = await service(request)
    address = address.strip()
    if not address:
        return _page(lang, address=address, error={"message": t["empty_query"]}, status=422)
    if len(address) > svc.settings.query_max_chars:
        return _page(lang, error={"message": _fmt(t["too_long"], n=svc.settings.query_max_chars)}, status=422)
    try:
        body = await run_in_threadpool(_lookup, svc, address, choice.strip() or None, lang)
    except Ambiguous as exc:
        cands = [{"matched": c.matched, "precision": c.precision} for c in exc.candidates]
        error = {"message": translate(exc.user_message, lang), "candidates": cands}
        return _page(lang, address=address, error=error, status=422)
    except GeocodeError as exc:
        return _page(lang, address=address, error={"message": translate(exc.user_message, lang)}, status=422)
    except ValueError as exc:
        return _page(lang, address=address, error={"message": translate(str(exc), lang)}, status=422)
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
def view(body: dict, lang: str, registry=None, now: datetime | None = None) -> dict:
    """The lookup answer (old or new contract) as display texts in ``lang``; ``app.js`` mirrors this in ``view()``.

    Old answers (warnings as plain strings, no ``area.status``) are read as: status from ``area.id``, every warning a
    "caution". A unit without a ``contact`` key takes it from the registry. An eligible unit's ``availability`` (the
    live registry's free places) becomes ``free`` (:func:`free_places`); without it the row has no free-places line.
    """
    t = TEXTS[lang]
    q, area = body["query"], body["area"]
    limit_min = round(float(body.get("limit_s") or 1800) / 60)
    status = area.get("status") or ("outside" if area.get("id") is None else "certain")
    warnings = [_warning(w) for w in body.get("warnings") or []]
    groups = {s: [w["message"] for w in warnings if w["severity"] == s] for s in ("decisive", "caution", "info")}
    # The summary already says that the area is uncertain or outside the county, or that no unit reaches.
    spoken = [w["message"] for w in warnings if w["severity"] == "decisive" and w["code"] not in _STATED_BY_SUMMARY]
    region = q.get("region") or None
    # A wide region's rows carry a range and the share within the limit: the page never shows one time for it.
    where = t.get("where_" + str((region or {}).get("kind")), t["where_place"])
    eligible = [_unit_row(u, i + 1, limit_min, t, registry, where) for i, u in enumerate(body.get("eligible") or [])]
    others = [_unit_row(u, i + 1, limit_min, t, registry, where)
              for i, u in enumerate(body.get("reachable_not_approved") or [])]
    precision = t.get("precision_" + str(q.get("precision")), str(q.get("precision")))
    region_text = None
    if region and region.get("width_m") and region.get("kind") != "coordinates":
        region_text = _fmt(t["region_width"], label=region.get("label") or "", width=_width(region["width_m"], t))
    bw = area.get("border_warning")
    choices = [
        {**c, "letter": chr(ord("A") + i),
         "text": _fmt(t["confirm_button" if c.get("token") == "confirm" else "choice_button"],
                      **{k: c.get(k, "") for k in ("label", "area_id", "area_name")})}
        for i, c in enumerate(area.get("choices") or [])
    ]
    # A match the service will not assume (a corrected spelling, a street without its town): one "confirm"
    # choice, asked as "did you mean …?" or "is it …?". The prefix picks the texts.
    confirm = ""
    if status == "uncertain" and [c.get("token") for c in choices] == ["confirm"]:
        confirm = "confirm_" if q.get("corrected_from") else "confirm_place_"
    deciders = [t.get("decide_" + d, d) for d in area.get("decide_by") or []]
    basis = body.get("basis") or {}
    view_ = {
        "status": status,
        "matched": _matched(q),
        "corrected_from": q.get("corrected_from"),
        "precision": precision,
        "region": region_text,
        "region_basis": (region or {}).get("basis") if region_text else None,
        "confirm": confirm,
        "choice_heading": _fmt(t[confirm + "heading"], matched=_matched(q)) if confirm else t["choice_heading"],
        "choice_intro": t[confirm + "intro"] if confirm else t["choice_intro"],
        "area": _area_text(area, status, t),
        "provenance": t.get("prov_" + str(area.get("provenance")), "") if status == "certain" else "",
        "place": ", ".join(p for p in (area.get("municipality"), _borough(area, t)) if p) or "–",
        "border": None if not bw else _fmt(t["border"], id=bw["neighbour_area_id"], name=bw["neighbour_area_name"],
                                           distance=round(bw["distance_m"])) + " " + bw.get("message", ""),
        "choices": choices,
        "decide_by": _fmt(t["decide_by"], list=f" {t['or']} ".join(deciders)) if deciders else None,
        "decisive": groups["decisive"],
        "caution": groups["caution"],
        "info": groups["info"],
        "spoken": spoken,
        "outside_notice": status == "outside" and not any(w["code"] == "outside_county" for w in warnings),
        "eligible": eligible,
        "others": others,
        "limit_min": limit_min,
        "where": where,
        "basis": basis.get("summary") or _fmt(t["basis_fallback"], profile=body.get("profile", ""), n=limit_min),
        "answered_at": _fmt(t["answered_at"], when=(now or datetime.now(TZ)).strftime("%Y-%m-%d %H:%M")),
    }
    view_["summary"] = _summary(view_, area, t)
    return view_


def _summary(v: dict, area: dict, t: dict) -> str:
    """The one sentence group the live region speaks: area, count, nearest, any decisive warning."""
    if v["status"] == "outside":
        parts = [t["summary_outside"]]
    elif v["status"] == "uncertain" and v["confirm"]:
        parts = [_fmt(t["summary_" + v["confirm"].removesuffix("_")], matched=v["matched"])]
    elif v["status"] == "uncertain":
        parts = [_fmt(t["summary_uncertain"], n=len(v["choices"]))]
    else:
        parts = [_fmt(t["summary_certain"], id=area.get("id"), name=area.get("name"))]
        n = len(v["eligible"])
        k = sum(1 for r in v["eligible"] if r["within"])
        if n == 0:
            parts.append(t["summary_none_approved"])
        elif any(r["share"] is not None for r in v["eligible"]):
            parts += _region_summary(v, n, k, t)
        else:
            key = ("summary_count_none_one" if n == 1 else "summary_count_none") if k == 0 else (
                "summary_count_one" if n == 1 else "summary_count")
            parts.append(_fmt(t[key], n=n, k=k, limit=v["limit_min"]))
            nearest = v["eligible"][0]
            full = (nearest["free"] or {}).get("status") == "full"
            parts.append(_fmt(t["summary_nearest_full" if full else "summary_nearest"], unit=nearest["unit"],
                              time=nearest["time"]))
    parts += [_fmt(t["summary_decisive"], message=m) for m in v["spoken"]]
    return " ".join(parts)


def _region_summary(v: dict, n: int, k: int, t: dict) -> list[str]:
    """A wide region's count (units reaching all of it, and only parts of it) and its nearest unit by the median,
    with its range and the share within the limit: never one time."""
    p = sum(1 for r in v["eligible"] if not r["within"] and r["share"])
    units = t["units_one"] if n == 1 else _fmt(t["units_many"], n=n)
    nearest = v["eligible"][0]
    full = (nearest["free"] or {}).get("status") == "full"
    return [_fmt(t["summary_region_count"], units=units, where=v["where"], limit=v["limit_min"], k=k, p=p),
            _fmt(t["summary_nearest_region_full" if full else "summary_nearest_region"], unit=nearest["unit"],
                 time=nearest["time"], limit=v["limit_min"], share=percent(nearest["share"] or 0.0, t),
                 where=v["where"])]


def _warning(w) -> dict:
    if isinstance(w, str):
        return {"code": None, "severity": "caution", "message": w}
    severity = w.get("severity") if w.get("severity") in ("decisive", "caution", "info") else "caution"
    return {"code": w.get("code"), "severity": severity, "message": str(w.get("message", ""))}


def _unit_row(u: dict, nr: int, limit_min: int, t: dict, registry, where: str = "") -> dict:
    """A unit row as the page shows it. A wide region's row (``drive_time_range_s``) shows the range as its time, and
    a unit reaching only part of the region within the limit says how much (``partial``), never yes or no."""
    s = u.get("drive_time_s")
    within = s is not None and (u.get("within_limit") if "within_limit" in u else s <= limit_min * 60)
    rng = u.get("drive_time_range_s")
    share = u.get("within_limit_share") if rng else None
    partial = None
    if share is not None and 0 < share < 1:
        partial = _fmt(t["within_part"], share=percent(share, t), where=where)
    if "contact" in u:
        contact = u["contact"]
    else:
        contact = _registry_contact(registry, u.get("id"))
    return {
        "nr": nr,
        "id": u.get("id"),
        "unit": u.get("unit", ""),
        "organisation": u.get("organisation", ""),
        "time": time_range(rng, t) if rng else minutes(s, t),
        "within": bool(within),
        "share": share,
        "partial": partial,
        "base": base_name(u.get("base", "")),
        "base_precision": u.get("base_precision"),
        "base_precision_text": t.get("base_" + str(u.get("base_precision")), str(u.get("base_precision"))),
        "contact": _contact(contact, t),
        "capacity": u.get("capacity_note"),
        "free": free_places(u.get("availability"), t),
        "traffic": _traffic(u, t),
    }


def _traffic(u: dict, t: dict) -> str | None:
    """For a unit within the limit only without traffic: its time in typical traffic (whole minutes, up)."""
    if not u.get("within_limit_only_at_free_flow"):
        return None
    rng = (u.get("drive_time_range_s_by_profile") or {}).get("typical")
    if rng:
        return _fmt(t["free_flow_only"], time=time_range(rng, t))
    s = (u.get("drive_time_s_by_profile") or {}).get("typical")
    time = t["unreachable"] if s is None else _fmt(t["minutes"], n=math.ceil(s / 60))
    return _fmt(t["free_flow_only"], time=time)


def free_places(availability: dict | None, t: dict) -> dict | None:
    """A unit's free places from the live registry as the page shows them; None without a registry.

    Returns ``{"status", "text", "age", "reported_at", "note"}``: ``status`` is ``current``, ``full`` (a current report
    of 0: the unit stays listed, marked in words), ``stale`` (the text gives the report's age and says to call, never
    the number) or ``none``; ``age`` ("rapporterat för 2 tim sedan") only for a current report.
    """
    if not isinstance(availability, dict):
        return None
    n, age_s = availability.get("free_places"), availability.get("age_s")
    status = availability.get("status") or (
        "none" if n is None else "stale" if availability.get("stale") else "current")
    if n is None or age_s is None or status not in ("current", "stale"):
        return {"status": "none", "text": t["free_none"], "age": None, "reported_at": None, "note": None}
    note = availability.get("note")
    free = {"status": status, "age": None, "reported_at": availability.get("reported_at"),
            "note": _fmt(t["free_note"], note=note) if note else None}
    if status == "stale":
        return {**free, "text": _fmt(t["free_stale"], age=_age(age_s, t))}
    return {**free, "status": "full" if n == 0 else "current", "age": _reported(age_s, t),
            "text": t["free_full"] if n == 0 else _fmt(t["free_current"], n=n)}


def _reported(age_s: float, t: dict) -> str:
    """A current report's age, e.g. "rapporterat för 2 tim sedan": minutes under an hour, hours under two days, then
    days (rounded)."""
    if _round(age_s / 60) < 1:
        return t["reported_now"]
    return _fmt(t["reported_" + _age_unit(age_s)], n=_age_count(age_s))


def _age(age_s: float, t: dict) -> str:
    """A stale report's age, e.g. "30 tim", in the units of :func:`_reported` (at least 1 min)."""
    return _fmt(t["age_" + _age_unit(age_s)], n=max(1, _age_count(age_s)))


def _age_unit(age_s: float) -> str:
    return "min" if _round(age_s / 60) < 60 else "h" if _round(age_s / 3600) < 48 else "d"


def _age_count(age_s: float) -> int:
    return _round(age_s / {"min": 60, "h": 3600, "d": 86400}[_age_unit(age_s)])


def _round(x: float) -> int:
    """Half up, as JavaScript's ``Math.round`` (app.js must say the same)."""
    return math.floor(x + 0.5)


def _contact(contact: dict | None, t: dict) -> dict | None:
    """Known contact fields (referral route first), and one line naming the missing ones."""
    if not contact:
        return None
    known = [{"label": t[k], "value": contact[k], "tel": _tel(contact[k]) if k == "phone" else None}
             for k in CONTACT_ORDER if contact.get(k)]
    missing = [t[k] for k in CONTACT_ORDER if not contact.get(k)]
    labels = ", ".join(missing[:1] + [m.lower() for m in missing[1:]])
    return {"known": known, "missing": _fmt(t["missing_fields"], labels=labels) if missing else None}


def _registry_contact(registry, unit_id) -> dict | None:
    if registry is None or unit_id is None:
        return None
    try:
        return getattr(registry.get(unit_id), "contact", None)
    except KeyError:
        return None


def _tel(phone: str | None) -> str | None:
    return None if not phone else "tel:" + re.sub(r"[^\d+]", "", phone)


def _matched(q: dict) -> str:
    if q.get("precision") == "coordinates" and q.get("lat") is not None and q.get("lon") is not None:
        return f"{q['lat']:.5f}, {q['lon']:.5f}"
    return str(q.get("matched") or "")


def _area_text(area: dict, status: str, t: dict) -> str:
    if status == "outside":
        return t["outside_value"]
    if status == "uncertain":
        return t["uncertain_value"]
    return _fmt(t["area_value"], id=area.get("id"), name=area.get("name"))


def _borough(area: dict, t: dict) -> str | None:
    d = area.get("district")
    return _fmt(t["borough"], name=d) if d and d != area.get("municipality") else None


def base_name(name: str) -> str:
    """A base's name without the data file's "(gissning)": the precision column says how sure it is."""
    return _GUESS_SUFFIX.sub("", name or "")


def minutes(s: float | None, t: dict) -> str:
    """A drive time as the page shows it."""
    if s is None:
        return t["unreachable"]
    return t["less_than_minute"] if s < 60 else _fmt(t["minutes"], n=round(s / 60))


def time_range(rng: dict, t: dict) -> str:
    """A wide region's drive-time range (``{"min", "p50", "max"}``, s) in whole minutes, both ends rounded up (an end
    within the limit prints within it), as :func:`api.wide_region.range_text` says it in notes."""
    if rng.get("min") is None:
        return t["unreachable"]
    lo = math.ceil(rng["min"] / 60)
    if rng.get("max") is None:
        return _fmt(t["minutes_from"], lo=lo)
    hi = math.ceil(rng["max"] / 60)
    return _fmt(t["minutes"], n=hi) if hi == lo else _fmt(t["minutes_range"], lo=lo, hi=hi)


def percent(share: float, t: dict) -> str:
    """A share in whole percent, floored (0.9999 is "99 %", never "100 %"); "< 1 %" above 0 and below 0.01."""
    n = math.floor(share * 100 + 1e-9)
    return t["percent_lt1"] if share > 0 and n == 0 else _fmt(t["percent"], n=n)


def _width(m: float, t: dict) -> str:
    if m < 1000:
        return _fmt(t["width_m"], n=max(10, round(m / 10) * 10))
    return _fmt(t["width_km"], n=f"{m / 1000:.1f}".replace(".", t["decimal"]))


def _fmt(template: str, **kw) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(kw.get(m.group(1), m.group(0))), template)


# -- plumbing ----------------------------------------------------------------------------------------------------------
def _lookup(svc, address: str, choice: str | None, lang: str) -> dict:
    lookup = getattr(svc, "lookup", None)
    if callable(lookup):
        return lookup(address=address, choice=choice, lang=lang)
    return localize_lookup(svc.lookup_text(address), lang)  # the service before the "uncertain area" rework


def _field(form, key: str) -> str:
    value = form.get(key) if hasattr(form, "get") else None
    return value if isinstance(value, str) else ""


def _lang(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


def _page(lang: str, *, address: str = "", answer: dict | None = None, error: dict | None = None,
          status: int, cache: str = "no-store") -> HTMLResponse:
    html = _ENV.get_template("page.html").render(
        lang=lang, t=TEXTS[lang], texts=TEXTS, address=address, answer=answer, error=error,
        langs=LANGS,
    )
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, "Cache-Control": cache})


def _file(path: Path, cache: str) -> FileResponse:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers=headers)

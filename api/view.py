"""The referrer page's view model: a lookup answer as the texts the page shows, in one language.

Made by the server only — ``POST /svar`` renders it into ``templates/answer.html`` (no JavaScript), and
``POST /v1/lookup`` with ``"view": true`` sends it to ``static/app.js``, which renders it and computes nothing. So the
two pages cannot say different things. Page texts (sv, en) and the answer's own sentences (notes, refusals) come
from the one catalogue (``core/words.yaml``; :func:`core.words.page_texts`).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.words import label, page_texts

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEXTS: dict[str, dict[str, str]] = {lang: page_texts(lang) for lang in ("sv", "en")}
"""Page texts by language (``sv``, ``en``), from the catalogue; the page embeds the same dictionary."""
TZ = ZoneInfo("Europe/Stockholm")
CONTACT_ORDER = ("referral", "phone", "hours")
_STATED_BY_SUMMARY = ("area_uncertain", "outside_county", "none_within_limit", "none_approved",
                      "partly_within_limit")
_GUESS_SUFFIX = re.compile(r"\s*\((?:guess|gissning)\)\s*$")


def view(body: dict, lang: str, registry=None, now: datetime | None = None) -> dict:
    """The lookup answer (old or new contract) as display texts in ``lang``: what both pages show (``/svar`` renders
    it with the template, ``app.js`` with the DOM).

    Old answers (warnings as plain strings, no ``area.status``) are read as: status from ``area.id``, every warning a
    "caution". A unit without a ``contact`` key takes it from the registry. An eligible unit's ``availability`` (the
    live registry's free places) becomes ``free`` (:func:`free_places`); without it the row has no free-places line.
    """
    t = TEXTS[lang]
    q, area = body["query"], body["area"]
    limit_min = round(float(body.get("limit_s") or 1800) / 60)
    status = area.get("status") or ("outside" if area.get("id") is None else "certain")
    warnings = [_warning(w) for w in body.get("warnings") or []]
    # An uncertain area's question is asked once, by the choice section: its note is not repeated above it.
    shown = [w for w in warnings if not (status == "uncertain" and w["code"] == "area_uncertain")]
    groups = {s: [w["message"] for w in shown if w["severity"] == s] for s in ("decisive", "caution", "info")}
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
        region_text = fill(t["region_width"], label=region.get("label") or "", width=_width(region["width_m"], t))
    bw = area.get("border_warning")
    choices = [
        {**c, "letter": chr(ord("A") + i),
         "text": fill(t["confirm_button" if c.get("token") == "confirm" else "choice_button"],
                      **{k: c.get(k, "") for k in ("label", "area_id", "area_name")})}
        for i, c in enumerate(area.get("choices") or [])
    ]
    # A match the service will not assume (a corrected spelling, a street without its town): one "confirm"
    # choice, asked as "did you mean …?" or "is it …?". The prefix picks the texts.
    confirm = ""
    if status == "uncertain" and [c.get("token") for c in choices] == ["confirm"]:
        confirm = "confirm_" if q.get("corrected_from") else "confirm_place_"
    # "A point on the map" is offered by the map itself (app.js); a page without a map offers coordinates.
    deciders = [t["coordinates_lat_lon"] if d == "map_point" else t.get("decide_" + d, d)
                for d in area.get("decide_by") or []]
    basis = body.get("basis") or {}
    view_ = {
        "status": status,
        "matched": _matched(q),
        "corrected_from": q.get("corrected_from"),
        "precision": precision,
        "region": region_text,
        "region_basis": (region or {}).get("basis") if region_text else None,
        "confirm": confirm,
        "choice_heading": fill(t[confirm + "heading"], matched=_matched(q)) if confirm else t["choice_heading"],
        "choice_intro": t[confirm + "intro"] if confirm else t["choice_intro"],
        "area": _area_text(area, status, t),
        "area_id": area.get("id"),
        "area_name": area.get("name"),
        "lat": q.get("lat"),
        "lon": q.get("lon"),
        "provenance": t.get("prov_" + str(area.get("provenance")), "") if status == "certain" else "",
        "place": ", ".join(p for p in (area.get("municipality"), _borough(area, t)) if p) or "–",
        "border": None if not bw else fill(t["border"], id=bw["neighbour_area_id"], name=bw["neighbour_area_name"],
                                           distance=round(bw["distance_m"])) + " " + bw.get("message", ""),
        "choices": choices,
        "decide_by": fill(t["decide_by"], list=f" {t['or']} ".join(deciders)) if deciders else None,
        "decisive": groups["decisive"],
        "caution": groups["caution"],
        "info": groups["info"],
        "spoken": spoken,
        # A point far from any road is checked, not trusted: the page says how to give a better one.
        "far_next": q.get("precision") in ("coordinates", "address")
        and any(w["code"] == "far_from_road" and w["severity"] == "decisive" for w in warnings),
        "outside_notice": status == "outside" and not any(w["code"] == "outside_county" for w in warnings),
        "eligible": eligible,
        "others": others,
        "limit_min": limit_min,
        "where": where,
        "basis": basis.get("summary") or fill(t["basis_fallback"], profile=body.get("profile", ""), n=limit_min),
        "answered_at": fill(t["answered_at"], when=(now or datetime.now(TZ)).strftime("%Y-%m-%d %H:%M")),
        "copy_generated": fill(t["copy_generated"], when=(now or datetime.now(TZ)).strftime("%Y-%m-%d %H:%M")),
    }
    profile = body.get("profile") or "typical"
    if profile == "peak":  # the times are peak times already: nothing to show beside them
        for row in view_["eligible"] + view_["others"]:
            row["peak"] = None
    view_["profile"] = fill(t["summary_profile"], profile=label("profile_long", profile, lang))
    view_["summary"] = _summary(view_, area, t)
    return view_


def _summary(v: dict, area: dict, t: dict) -> str:
    """The one sentence group the live region speaks: area, count, nearest, any decisive warning."""
    if v["status"] == "outside":
        parts = [t["summary_outside"]]
    elif v["status"] == "uncertain" and v["confirm"]:
        parts = [fill(t["summary_" + v["confirm"].removesuffix("_")], matched=v["matched"])]
    elif v["status"] == "uncertain":
        parts = [fill(t["summary_uncertain"], n=len(v["choices"]))]
    else:
        parts = [fill(t["summary_certain"], id=area.get("id"), name=area.get("name"))]
        n = len(v["eligible"])
        k = sum(1 for r in v["eligible"] if r["within"])
        if n == 0:
            parts.append(t["summary_none_approved"])
        elif any(r["share"] is not None for r in v["eligible"]):
            parts += _region_summary(v, n, k, t)
        else:
            key = ("summary_count_none_one" if n == 1 else "summary_count_none") if k == 0 else (
                "summary_count_one" if n == 1 else "summary_count")
            parts.append(fill(t[key], n=n, k=k, limit=v["limit_min"]))
            nearest = v["eligible"][0]
            full = (nearest["free"] or {}).get("status") == "full"
            parts.append(fill(t["summary_nearest_full" if full else "summary_nearest"], unit=nearest["unit"],
                              time=nearest["time"]))
    if v["status"] == "certain" and v["eligible"]:
        parts.append(v["profile"])  # which traffic the times are for: the answer's first lines say it
    parts += [fill(t["summary_decisive"], message=m) for m in v["spoken"]]
    return " ".join(parts)


def _region_summary(v: dict, n: int, k: int, t: dict) -> list[str]:
    """A wide region's count (units reaching all of it, and only parts of it) and its nearest unit by the median,
    with its range and the share within the limit: never one time."""
    p = sum(1 for r in v["eligible"] if not r["within"] and r["share"])
    units = t["units_one"] if n == 1 else fill(t["units_many"], n=n)
    nearest = v["eligible"][0]
    if k == 0 and p == 0:  # no unit reaches any part of it: say so in words, not as counts of zero
        return [fill(t["summary_region_none"], units=units, where=v["where"], limit=v["limit_min"], unit=nearest["unit"],
                     time=nearest["time"])]
    full = (nearest["free"] or {}).get("status") == "full"
    return [fill(t["summary_region_count"], units=units, where=v["where"], limit=v["limit_min"], k=k, p=p),
            fill(t["summary_nearest_region_full" if full else "summary_nearest_region"], unit=nearest["unit"],
                 time=nearest["time"], limit=v["limit_min"], share=percent(nearest["share"] or 0.0, t),
                 where=v["where"])]


def _warning(w) -> dict:
    if isinstance(w, str):
        return {"code": None, "severity": "caution", "message": w}
    severity = w.get("severity") if w.get("severity") in ("decisive", "caution", "info") else "caution"
    return {"code": w.get("code"), "severity": severity, "message": str(w.get("message", ""))}


def _peak(u: dict, t: dict) -> str | None:
    """The unit's drive time at peak, shown beside its time in the answer's profile ("rusning: 16 min"); None when the
    answer is itself at peak or gives no peak time."""
    if u.get("drive_time_s_by_profile") is None or "peak" not in u["drive_time_s_by_profile"]:
        return None
    if u.get("drive_time_range_s_by_profile"):
        rng = u["drive_time_range_s_by_profile"].get("peak")
        return None if rng is None else fill(t["time_at_peak"], time=time_range(rng, t))
    return fill(t["time_at_peak"], time=minutes(u["drive_time_s_by_profile"]["peak"], t))  # as the time beside it


def _unit_row(u: dict, nr: int, limit_min: int, t: dict, registry, where: str = "") -> dict:
    """A unit row as the page shows it. A wide region's row (``drive_time_range_s``) shows the range as its time, and
    a unit reaching only part of the region within the limit says how much (``partial``), never yes or no."""
    s = u.get("drive_time_s")
    within = s is not None and (u.get("within_limit") if "within_limit" in u else s <= limit_min * 60)
    rng = u.get("drive_time_range_s")
    share = u.get("within_limit_share") if rng else None
    partial = None
    if share is not None and 0 < share < 1:
        partial = fill(t["within_part"], share=percent(share, t), where=where)
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
        "peak": _peak(u, t),
        "within": bool(within),
        "share": share,
        "partial": partial,
        "base": base_name(u.get("base", "")),
        "base_raw": u.get("base", ""),
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
        return fill(t["free_flow_only"], time=time_range(rng, t))
    s = (u.get("drive_time_s_by_profile") or {}).get("typical")
    time = t["unreachable"] if s is None else fill(t["minutes"], n=math.ceil(s / 60))
    return fill(t["free_flow_only"], time=time)


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
            "note": fill(t["free_note"], note=note) if note else None}
    if status == "stale":
        return {**free, "text": fill(t["free_stale"], age=_age(age_s, t))}
    return {**free, "status": "full" if n == 0 else "current", "age": _reported(age_s, t),
            "text": t["free_full"] if n == 0 else fill(t["free_current"], n=n)}


def _reported(age_s: float, t: dict) -> str:
    """A current report's age, e.g. "rapporterat för 2 tim sedan": minutes under an hour, hours under two days, then
    days (rounded)."""
    if _round(age_s / 60) < 1:
        return t["reported_now"]
    return fill(t["reported_" + _age_unit(age_s)], n=_age_count(age_s))


def _age(age_s: float, t: dict) -> str:
    """A stale report's age, e.g. "30 tim", in the units of :func:`_reported` (at least 1 min)."""
    return fill(t["age_" + _age_unit(age_s)], n=max(1, _age_count(age_s)))


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
    return {"known": known, "missing": fill(t["missing_fields"], labels=labels) if missing else None}


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
    return fill(t["area_value"], id=area.get("id"), name=area.get("name"))


def _borough(area: dict, t: dict) -> str | None:
    d = area.get("district")
    return fill(t["borough"], name=d) if d and d != area.get("municipality") else None


def base_name(name: str) -> str:
    """A base's name without the data file's "(gissning)": the precision column says how sure it is."""
    return _GUESS_SUFFIX.sub("", name or "")


def minutes(s: float | None, t: dict) -> str:
    """A drive time as the page shows it."""
    if s is None:
        return t["unreachable"]
    return t["less_than_minute"] if s < 60 else fill(t["minutes"], n=round(s / 60))


def time_range(rng: dict, t: dict) -> str:
    """A wide region's drive-time range (``{"min", "p50", "max"}``, s) in whole minutes, both ends rounded up (an end
    within the limit prints within it), as :func:`lookup.wide_region.range_text` says it in notes."""
    if rng.get("min") is None:
        return t["unreachable"]
    lo = math.ceil(rng["min"] / 60)
    if rng.get("max") is None:
        return fill(t["minutes_from"], lo=lo)
    hi = math.ceil(rng["max"] / 60)
    return fill(t["minutes"], n=hi) if hi == lo else fill(t["minutes_range"], lo=lo, hi=hi)


def percent(share: float, t: dict) -> str:
    """A share in whole percent, floored (0.9999 is "99 %", never "100 %"); "< 1 %" above 0 and below 0.01."""
    n = math.floor(share * 100 + 1e-9)
    return t["percent_lt1"] if share > 0 and n == 0 else fill(t["percent"], n=n)


def _width(m: float, t: dict) -> str:
    if m < 1000:
        return fill(t["width_m"], n=max(10, round(m / 10) * 10))
    return fill(t["width_km"], n=f"{m / 1000:.1f}".replace(".", t["decimal"]))


def fill(template: str, **kw) -> str:
    """A page text with its ``{name}`` fields filled (unknown ones left as they are, as app.js does)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(kw.get(m.group(1), m.group(0))), template)

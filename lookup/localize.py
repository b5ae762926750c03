"""The lookup answer in the user's language (``lang="sv"`` or ``"en"``), at the edge.

Everything a user reads is data until here: notes (warnings, the border warning, the basis line, the region's basis)
are :class:`core.words.Note`, refusals are :class:`core.words.Refusal`, and both are worded from the one catalogue,
``core/words.yaml``. The one English word left in the geocoder's labels ("Storgatan (2 places)") is put in the
user's language here; a test runs real lookups and checks that every sentence they produce is in Swedish.
"""

from __future__ import annotations

import re

from lookup.answer import worded
from core import words
from core.words import Note, Refusal

Lang = str
LANGS = ("en", "sv")

_PLACES = re.compile(r"\((\d+) places\)")
"""The one label the geocoder still writes in English: a street or address found in several places."""


def _label(text: str, lang: Lang) -> str:
    """A geocoder label in ``lang`` ("Storgatan (2 places)" → "Storgatan (2 platser)")."""
    if lang == "en" or not text:
        return text
    return _PLACES.sub(lambda m: words.render("label_places", {"name": "", "n": m[1]}, lang).strip(), text)


def say(exc: Exception, lang: Lang) -> str:
    """An error for a user in ``lang``: a :class:`core.words.Refusal` worded from the catalogue; anything else as it
    is (it carries no text meant for users)."""
    return exc.render(lang) if isinstance(exc, Refusal) else str(exc)


def either(names, lang: Lang = "en") -> str | None:
    """Names joined as alternatives in ``lang`` (:func:`core.words.either`)."""
    return words.either(names, lang)


def _local_names(note: Note, lang: Lang) -> Note:
    """A note whose ``matched`` param (a name the geocoder labelled, e.g. "Storgatan (2 places)") is in ``lang``, for
    its sentence (its ``params`` stay as the geocoder gave them)."""
    if lang == "en" or "matched" not in note.params:
        return note
    return Note(note.code, note.severity, {**note.params, "matched": _label(note.params["matched"], lang)},
                note.text)


def localize_lookup(body: dict, lang: Lang) -> dict:
    """The lookup answer worded in ``lang``: its notes (warnings, the border warning, the basis line) rendered from
    the catalogue (:mod:`core.words`) with their ``params``; the region's basis; labels in ``lang``."""
    body = {**body, "warnings": [{**worded(n, lang), "message": _local_names(n, lang).render(lang)}
                                 for n in body["warnings"]]}
    query = body.get("query") or {}
    if query.get("region"):
        region = {**query["region"], "basis": " ".join(n.render(lang) for n in query["region"]["basis"]),
                  "label": _label(query["region"]["label"], lang)}
        body["query"] = {**query, "region": region, "matched": _label(query["matched"], lang)}
    if body.get("basis"):
        summary = body["basis"]["summary"]
        body["basis"] = {**body["basis"], "summary": summary.render(lang) if isinstance(summary, Note) else summary,
                         "network": words.word(body["basis"]["network"], lang)}
    border = body["area"].get("border_warning")
    if border and isinstance(border.get("message"), Note):
        body["area"] = {**body["area"], "border_warning": {**border, "message": border["message"].render(lang)}}
    if lang == "en":
        return body
    area = body["area"]
    several = {k: area[f"{k}_possible"] for k in ("municipality", "district", "stadsdel")
               if len(area.get(f"{k}_possible") or ()) > 1}
    if several:
        body["area"] = {**area, **{k: either(v, lang) for k, v in several.items()}}
    return body

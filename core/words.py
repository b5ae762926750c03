"""Words at one edge: typed notes in the domain, one catalogue of sentences and labels, one renderer.

Domain code never writes a sentence a user reads. It emits a :class:`Note` — a ``code`` (what happened, for
programs), a ``severity`` and ``params`` (the facts: numbers, names) — and names the catalogue text that says it
(``text``, default the code). The catalogue ``core/words.yaml`` holds every such sentence and every label (verdicts,
profiles, base precision, region kinds) in Swedish and English; :func:`render` turns a text key and params into a
sentence in one language at the edge (API, CLI, page, maps, exports, PDF).

Adding a warning is one catalogue entry plus the code that emits it.

Placeholders are Python format fields with a few conversions for what differs by language:

- ``{x!w}``: ``x`` is a word key in the catalogue's ``words`` (``{w!w}`` with ``w="the_postal_town"``);
- ``{x!o}``: ``x`` is a list of word keys, joined as alternatives ("a house number or the street address");
- ``{x!l}``: ``x`` is a list of names, joined as alternatives ("A, B or C" / "A, B eller C");
- ``{x!p}``: ``x`` is a share 0..1, shown as whole percent floored ("98%", "<1%"; Swedish "98 %", "< 1 %");
- ``{x!t}``: ``x`` is a drive time in seconds, or a ``{"min", "max"}`` range, in whole minutes rounded up
  ("12 min", "12–41 min", "from 12 min, partly unreachable", "unreachable");
- numbers with a format spec (``{d:,.0f}``) get the language's separators (Swedish: decimal comma, space between
  thousands).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.datafile import load_yaml

CATALOGUE_FILE = Path(__file__).with_name("words.yaml")
LANGS = ("en", "sv")
SEVERITIES = ("decisive", "caution", "info")
"""Most important first: ``decisive`` changes the answer, ``caution`` asks to check it, ``info`` is routine."""


@dataclass(frozen=True)
class Note:
    """A caveat as data: ``code`` (machine-readable), ``severity`` (:data:`SEVERITIES`), ``params`` (the facts it
    states; JSON values) and ``text``, the catalogue key of its sentence (default: ``code``). Never quotes the
    query."""

    code: str
    severity: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    text: str | None = None

    @property
    def key(self) -> str:
        """The catalogue text that says this note."""
        return self.text or self.code

    def render(self, lang: str = "en") -> str:
        """The note as a sentence in ``lang``."""
        return render(self.key, self.params, lang)

    @property
    def message(self) -> str:
        """The note in English (for logs of the service's own state and for tests; users get :meth:`render`)."""
        return self.render("en")

    def __str__(self) -> str:
        return self.message


class Refusal(ValueError):
    """Input the service cannot answer, as data: the catalogue ``text`` that says why and its ``params``.

    ``str()`` and :attr:`user_message` are English (safe to log: never the query); :meth:`render` words it for a user.
    """

    default_text = "error_not_geocoded"

    def __init__(self, text: str | None = None, **params: Any):
        self.text = text or self.default_text
        self.params = params
        super().__init__(render(self.text, params, "en"))

    @property
    def user_message(self) -> str:
        """The refusal in English."""
        return render(self.text, self.params, "en")

    def render(self, lang: str = "en") -> str:
        """The refusal as a sentence in ``lang``."""
        return render(self.text, self.params, lang)


class CatalogueError(ValueError):
    """The catalogue lacks a text or a language, or a text's placeholders do not fit its params."""


@lru_cache(maxsize=1)
def catalogue() -> dict:
    """The catalogue (``texts``, ``words``, ``labels``, ``deciders``, ``page``, ``planning_page``), read once."""
    doc = load_yaml(CATALOGUE_FILE.read_text(encoding="utf-8"))  # libyaml: the catalogue is read at every start
    for section in ("texts", "words", "labels", "page", "planning_page"):
        doc.setdefault(section, {})
    doc.setdefault("deciders", [])
    return doc


@lru_cache(maxsize=len(LANGS))
def page_texts(lang: str) -> dict[str, str]:
    """Every text the pages show, in ``lang``, key → text: the catalogue's ``page`` section plus what the pages
    derive from the rest of it — ``precision_<kind>`` (``labels.region_kind``), ``base_<precision>``
    (``labels.precision``) and ``decide_<what>`` (``words``, for each of ``deciders``) — so a label has one home."""
    doc = catalogue()
    lang = _verify_lang(lang)
    out = {k: e[lang] for k, e in doc["page"].items()}
    out |= {f"precision_{k}": v for k, v in labels("region_kind", lang).items()}
    out |= {f"base_{k}": v for k, v in labels("precision", lang).items()}
    out |= {f"decide_{k}": word(k, lang) for k in doc["deciders"]}
    return out


def planning_texts(lang: str, params: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Every text of the planning page (``/planering``) in ``lang``, key → text: the catalogue's ``planning_page``
    section with ``params`` (what the server knows: the limit, the most changes …) filled in. A placeholder that
    ``params`` lacks stays as written (``{n}``), for the page's script to fill; such a placeholder takes no conversion
    or format spec."""
    formatter, known = _Formatter(_verify_lang(lang)), _Kept(params or {})
    out = {}
    for key, entry in catalogue()["planning_page"].items():
        try:
            out[key] = formatter.vformat(entry[lang], (), known)
        except (KeyError, IndexError, ValueError) as exc:
            raise CatalogueError(f"Planning text '{key}' ({lang}) does not fit {sorted(known)}: {exc}") from None
    return out


def render(key: str, params: Mapping[str, Any] | None = None, lang: str = "en") -> str:
    """The catalogue text ``key`` in ``lang`` with ``params`` filled in. Raises :class:`CatalogueError` for an
    unknown key or language, or a missing param."""
    entry = catalogue()["texts"].get(key)
    if entry is None:
        raise CatalogueError(f"No text '{key}' in {CATALOGUE_FILE.name}.")
    template = entry.get(_verify_lang(lang))
    if template is None:
        raise CatalogueError(f"Text '{key}' has no '{lang}' version in {CATALOGUE_FILE.name}.")
    try:
        return _Formatter(lang).vformat(template, (), dict(params or {}))
    except (KeyError, IndexError, ValueError) as exc:
        raise CatalogueError(f"Text '{key}' ({lang}) does not fit its params {sorted(params or {})}: {exc}") from None


def word(key: str, lang: str = "en") -> str:
    """A word or phrase of the catalogue's ``words`` in ``lang`` (the key itself when unknown)."""
    entry = catalogue()["words"].get(key)
    return key if entry is None else entry[_verify_lang(lang)]


def label(kind: str, value: str | None, lang: str = "sv") -> str | None:
    """The label of ``value`` of one kind (``verdict``, ``profile``, ``precision``, ``region_kind`` …) in ``lang``;
    the value itself when the catalogue has none, None for None."""
    if value is None:
        return None
    entry = catalogue()["labels"].get(kind, {}).get(value)
    return value if entry is None else entry[_verify_lang(lang)]


def labels(kind: str, lang: str = "sv") -> dict[str, str]:
    """Every label of one kind in ``lang`` (value → label)."""
    return {v: e[_verify_lang(lang)] for v, e in catalogue()["labels"].get(kind, {}).items()}


def either(names, lang: str = "en") -> str | None:
    """Names joined as alternatives in ``lang``: "A", "A or B", "A, B or C" ("A, B eller C"); None for none."""
    names = [str(n) for n in names]
    if len(names) <= 1:
        return names[0] if names else None
    return f"{', '.join(names[:-1])} {word('or', lang)} {names[-1]}"


def percent_text(share: float, lang: str = "en") -> str:
    """A share 0..1 as whole percent, floored ("98%" for 0.989; "<1%" above 0 and below 0.01); Swedish "98 %"."""
    pct = math.floor(float(share) * 100 + 1e-9)
    text = "<1%" if share > 0 and pct == 0 else f"{pct}%"
    return text.replace("<", "< ").replace("%", " %") if lang == "sv" else text


def minutes_text(value, lang: str = "en") -> str:
    """A drive time (s) or a ``{"min", "max"}`` range in whole minutes, each end rounded up (an end within the
    limit prints within it)."""
    if isinstance(value, Mapping):
        low, high = value.get("min"), value.get("max")
        if low is None:
            return word("unreachable", lang)
        lo = math.ceil(low / 60)
        if high is None:
            return render("time_from_partly_unreachable", {"min": lo}, lang)
        hi = math.ceil(high / 60)
        return f"{lo} min" if hi == lo else f"{lo}–{hi} min"
    return word("unreachable", lang) if value is None else f"{math.ceil(float(value) / 60):.0f} min"


def _verify_lang(lang: str) -> str:
    if lang not in LANGS:
        raise CatalogueError(f"Language must be one of {', '.join(LANGS)}, not '{lang}'.")
    return lang


class _Kept(dict):
    """Params that give a missing placeholder back as written (``{n}``)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _Formatter(string.Formatter):
    """str.format with the catalogue's conversions and the language's number separators."""

    def __init__(self, lang: str):
        self.lang = lang

    def convert_field(self, value, conversion):
        if conversion == "w":
            return word(str(value), self.lang)
        if conversion == "o":
            return either([word(str(v), self.lang) for v in value], self.lang)
        if conversion == "l":
            return either(value, self.lang)
        if conversion == "j":
            return ", ".join(str(v) for v in value)
        if conversion == "p":
            return percent_text(value, self.lang)
        if conversion == "t":
            return minutes_text(value, self.lang)
        return super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        text = super().format_field(value, format_spec)
        if self.lang == "sv" and format_spec and isinstance(value, (int, float)):
            text = text.replace(",", "\u00a0").replace(".", ",")
        return text

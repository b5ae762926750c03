"""Text normalisation shared by the index builder and the query parser.

Two forms of every name are kept: ``lower`` (NFC, case-folded, punctuation as spaces) to reward an exact spelling,
and ``fold`` (``lower`` with diacritics removed: å/ä → a, ö → o, é → e) so that "Fjallgatan" finds
"Fjällgatan".
"""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
# "S:t Eriksgatan", "St. Eriksgatan", "St Eriksgatan" and "Sankt Eriksgatan" are the same street; OSM spells out
# "Sankt". "St" counts only as a word of its own ("Storgatan" is not "Sanktorgatan").
_SANKT = re.compile(r"(?<![\w:])(?:s:t\.?|st\.|st(?=\s))\s*", re.IGNORECASE)
# "Botvids v. 28": a lone "v" or "v." after a name is "väg" (the parser drops the dot before a house number).
_VAG = re.compile(r"(?<=\w)\s+v(?:\.|$)(?=\s|$)", re.IGNORECASE)
_HOUSE = re.compile(r"^(\d{1,5})\s*([a-z])?$", re.IGNORECASE)
_RANGE = re.compile(r"^(\d{1,5})\s*-\s*(\d{1,5})$")

MAX_RANGE_EXPANSION = 20
"""A house-number range such as "6-10" in OSM is expanded to its same-parity numbers when it spans at most this."""


def lower(text: str) -> str:
    """NFC, case-folded, 'S:t'/'St'/'St.' → 'sankt', a lone 'v.' → 'väg', punctuation replaced by spaces,
    whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).strip()
    text = _VAG.sub(" väg", _SANKT.sub("sankt ", text))
    text = _PUNCT.sub(" ", text.casefold()).replace("_", " ")
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """:func:`lower` without diacritics ('Fjällgatan' → 'fjallgatan', 'Tegnérgatan' → 'tegnergatan')."""
    decomposed = unicodedata.normalize("NFD", lower(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


def normalize_housenumber(value: str) -> str | None:
    """'44' → '44', '44 b' → '44B'; None when ``value`` is not a single number with an optional letter."""
    match = _HOUSE.match(value.strip())
    if not match:
        return None
    number, letter = match.groups()
    return str(int(number)) + (letter or "").upper()


def expand_housenumbers(value: str) -> list[str]:
    """House numbers an OSM ``addr:housenumber`` stands for: '12;14' → ['12', '14'], '6-10' → ['6', '8', '10']."""
    out: list[str] = []
    for part in re.split(r"[;,]", value):
        part = part.strip()
        single = normalize_housenumber(part)
        if single:
            out.append(single)
            continue
        match = _RANGE.match(part)
        if match:
            start, end = int(match.group(1)), int(match.group(2))
            if start < end and end - start <= MAX_RANGE_EXPANSION:
                out.extend(str(n) for n in range(start, end + 1, 2))
            else:
                out.append(str(start))
    return out


def postcode_key(value: str) -> str | None:
    """'116 28', '11628', 'SE-116 28' → '11628'; None when not a five-digit Swedish postcode."""
    digits = re.sub(r"^(?:se)?[\s-]*", "", value.strip(), flags=re.IGNORECASE).replace(" ", "")
    return digits if len(digits) == 5 and digits.isascii() and digits.isdigit() else None


def postcode_label(key: str) -> str:
    """'11628' → '116 28' (the way Swedish postcodes are written)."""
    return f"{key[:3]} {key[3:]}"


def title_case(name: str) -> str:
    """'HÄSSELBY GÅRD' → 'Hässelby Gård', 'SÖDRA HAMMARBYHAMNEN' → 'Södra Hammarbyhamnen'."""
    return "-".join(" ".join(w.capitalize() for w in part.split(" ")) for part in name.strip().split("-"))

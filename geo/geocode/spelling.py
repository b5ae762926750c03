"""How far a typed street name may be corrected: a misspelling is corrected by a few letters only, judged on the
distinctive part of the name (the part before "gatan", "vägen", …), so that a short or common name is never turned
into another street.

Privacy: nothing here logs, stores or echoes a query.
"""

from __future__ import annotations

MAX_EDITS = 2
"""Most letters any correction may change (see :func:`max_edits`)."""
MIN_FUZZY_CHARS = 5
"""Shorter queries are matched exactly only."""

GENERIC_SUFFIXES = (
    "vagen", "gatan", "grand", "backe", "backen", "stigen", "slingan", "torg", "torget", "plan", "alle", "leden",
    "gangen", "kaj", "kajen", "strand", "stranden", "hojden", "vag", "gata", "parken", "platsen", "sparet", "bron",
)
"""Folded endings that say what kind of street a name is; a correction is judged on the part before them."""


def max_edits(name: str) -> int:
    """Letters (Levenshtein) a query may differ from the street ``name`` (folded) by, from the length of the name's
    distinctive part (without :data:`GENERIC_SUFFIXES`): none under 4 letters, 1 up to 9, else 2.
    "Fjalgatan" → Fjällgatan (1 edit on "fjall") and "Mariebergsgtan" → Mariebergsgatan (1 edit on "mariebergs") are
    corrected; "Skärholmsvägen" → Kanholmsvägen (2 edits on "kanholms") and "Västerlånggatan" → Västeråsgatan are
    not."""
    compact = name.replace(" ", "")
    stem = compact
    for suffix in sorted(GENERIC_SUFFIXES, key=len, reverse=True):
        if compact.endswith(suffix) and len(compact) > len(suffix):
            stem = compact[: -len(suffix)]
            break
    n = len(stem)
    return 0 if n < 4 else 1 if n < 10 else 2


__all__ = ["GENERIC_SUFFIXES", "MAX_EDITS", "MIN_FUZZY_CHARS", "max_edits"]

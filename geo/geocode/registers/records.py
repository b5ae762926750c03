"""The records every address register yields, whatever its format, and the error its readers raise.

Coordinates are SWEREF 99 TM (EPSG:3006) metres: each reader reprojects on the way in, so the geocoder never knows
which register a record came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.geocode.normalize import postcode_key


class SourceError(RuntimeError):
    """A geocoder source file is missing, of an unknown kind, or unreadable."""


@dataclass(frozen=True, slots=True)
class StreetLine:
    """A named street piece: ``coords`` is an (n, 2) array of EPSG:3006 x/y in metres."""

    name: str
    coords: np.ndarray


@dataclass(frozen=True, slots=True)
class AddressPoint:
    """One address of a register.

    Attributes
    ----------
    street : str
        Street name, or the village name for addresses without a street (Lantmäteriet "Byadressplats", OSM
        ``addr:place``).
    housenumber : str
        The number as the register writes it: "44", "44B", or a range/list the register uses ("3-5", "31A-D",
        "12;14"); :func:`geo.geocode.normalize.expand_housenumbers` turns it into single numbers.
    postcode : str or None
        Five digits ("11628"), or None when the register has none or an invalid one.
    city : str or None
        The postal town ("postort", ``addr:city``), not the municipality.
    x, y : float
        The address point in EPSG:3006, metres.
    municipality_code : str or None
        Four-digit municipality code ("0180") when the register says which municipality the address is in.
    source : str
        Which register the record comes from: "lantmateriet", "osm", "csv" or the CSV's own ``source`` value.
    source_id : str or None
        The record's identity in that register (Lantmäteriet object UUID, OSM "n123"/"w456", a CSV's
        ``source_id``); used to hold benchmark rows out of the register.
    """

    street: str
    housenumber: str
    postcode: str | None
    city: str | None
    x: float
    y: float
    municipality_code: str | None = None
    source: str = ""
    source_id: str | None = None


def clean_text(value: object) -> str:
    """``value`` as stripped text with inner whitespace collapsed; "" for None/NaN; 12.0 → "12"."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN: a null in a pandas column
            return ""
        if value.is_integer():
            return str(int(value))
    return " ".join(str(value).split())


def clean_postcode(value: object) -> str | None:
    """'116 28', 11628, 'SE-116 28' → '11628'; None when not a five-digit postcode."""
    return postcode_key(clean_text(value))


def clean_municipality_code(value: object) -> str | None:
    """'180', 180, '0180' → '0180'; None unless the value is a municipality code of at most four digits."""
    text = clean_text(value)
    return text.zfill(4) if text.isdigit() and len(text) <= 4 else None

"""Lantmäteriet's address register, "Belägenhetsadress Nedladdning, vektor".

Reads the GeoPackage layer ``belagenhetsadress`` (points, EPSG:3006; another CRS is reprojected to EPSG:3006), as
delivered per municipality in ``belagenhetsadresser_kn{kommunkod}.zip`` (the GeoPackage inside is read through
GDAL's ``/vsizip/``, nothing is unpacked) or as a bare ``.gpkg``.

- street: ``adressomrade_faststalltnamn`` (a street, or a village for a "Byadressplats"); a farm address
  ("Gardsadressplats") is written "village farm": ``adressomrade_faststalltnamn gardsadressomrade_faststalltnamn``.
- number: ``adressplatsnummer`` + ``bokstavstillagg`` ("44" + "B" → "44B"), or
  ``avvikandeadressplatsbeteckning`` when ``avvikerfranstandarden`` is true. ``lagestillagg`` ("UH", "U1") places
  an entrance of the same number and is not part of it.
- postcode ``postnummer`` (five digits), city ``postort``; municipality code from a ``kommunkod`` field when the
  delivery has one, else from the file name (``..._kn0180...``); source_id the object's UUID
  (``objektidentitet``) when the delivery has it.

Skipped: rows whose ``statusforbelagenhetsadress`` is not "Gällande" (planned, retired), rows without a street
name or number, rows without a point. A file without the layer or one of :data:`REQUIRED_FIELDS` raises
:class:`SourceError` naming what is missing.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections import Counter
from pathlib import Path

import pyogrio
import shapely

from geo.geocode.normalize import fold
from geo.geocode.registers.records import (
    AddressPoint,
    SourceError,
    clean_municipality_code,
    clean_postcode,
    clean_text,
)
from core.settings import METRIC_CRS

log = logging.getLogger(__name__)

SOURCE = "lantmateriet"
LAYER = "belagenhetsadress"
REQUIRED_FIELDS = (
    "adressomrade_faststalltnamn", "adressplatsnummer", "bokstavstillagg", "statusforbelagenhetsadress",
    "postnummer", "postort",
)  # fmt: skip
"""Fields without which the layer cannot give street, number, status, postcode and town."""
OPTIONAL_FIELDS = {
    "farm": ("gardsadressomrade_faststalltnamn",),
    "deviates": ("avvikerfranstandarden",),
    "designation": ("avvikandeadressplatsbeteckning",),
    "municipality": ("kommunkod",),
    "uuid": ("objektidentitet", "belagenhetsadress_objektidentitet"),
}
"""Fields read when present, by role; the first name a delivery has is used."""
CURRENT_STATUS = "gallande"
"""``statusforbelagenhetsadress`` of addresses in use ("Gällande"), folded: some exports write it without "ä"."""
_TRUE = {"1", "true", "t", "ja", "j", "yes", "y"}
_MUNICIPALITY_IN_NAME = re.compile(r"_kn(\d{4})(?!\d)", re.IGNORECASE)


def read_lantmateriet(path: Path) -> list[AddressPoint]:
    """Addresses in use of a Lantmäteriet belägenhetsadress GeoPackage (``.gpkg``, or the ``.zip`` holding it).

    Parameters
    ----------
    path : Path
        ``belagenhetsadresser_kn0180.zip`` as delivered, or a ``.gpkg`` with the layer ``belagenhetsadress``.

    Returns
    -------
    list of AddressPoint
        ``x``/``y`` in EPSG:3006 metres, ``source`` "lantmateriet"; in file order.

    Raises
    ------
    SourceError
        When the file is missing or unreadable, has no ``belagenhetsadress`` layer, or lacks a required field.
    """
    if not path.exists():
        raise SourceError(f"Address register file not found: {path}.")
    out: list[AddressPoint] = []
    for uri, name in _datasets(path):
        code = _municipality_from_name(name) or _municipality_from_name(path.name)
        out += _read_layer(uri, name, code)
    return out


def _datasets(path: Path) -> list[tuple[str, str]]:
    """(GDAL path, file name) of each GeoPackage: the file itself, or every ``.gpkg`` inside a zip."""
    if not path.name.lower().endswith(".zip"):
        return [(str(path), path.name)]
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".gpkg")]
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{path.name} is not a readable zip file: {exc}") from exc
    if not members:
        raise SourceError(f"{path.name} holds no GeoPackage (.gpkg); expected Lantmäteriet's belägenhetsadresser.")
    return [(f"/vsizip/{path}/{member}", Path(member).name) for member in members]


def _read_layer(uri: str, name: str, file_code: str | None) -> list[AddressPoint]:
    fields = _verify_layer(uri, name)
    optional = {role: next((f for f in names if f in fields), None) for role, names in OPTIONAL_FIELDS.items()}
    columns = list(REQUIRED_FIELDS) + [f for f in optional.values() if f]
    try:
        df = pyogrio.read_dataframe(uri, layer=LAYER, columns=columns)
    except Exception as exc:  # pyogrio raises several types for broken files
        raise SourceError(f"Cannot read the layer {LAYER} of {name}: {exc}") from exc
    if df.crs is None:
        log.warning("%s: layer %s has no CRS; taken as %s as Lantmäteriet delivers it", name, LAYER, METRIC_CRS)
    elif df.crs.to_epsg() != 3006:
        df = df.to_crs(METRIC_CRS)
    skipped: Counter[str] = Counter()
    has_point = df.geometry.notna().to_numpy() & ~df.geometry.is_empty.to_numpy()
    skipped["no point"] = int((~has_point).sum())
    df = df[has_point]
    xy = shapely.get_coordinates(shapely.centroid(df.geometry.values))

    def column(role: str) -> list:
        field = optional[role]
        return df[field].tolist() if field else [None] * len(df)

    out = []
    rows = zip(
        df["adressomrade_faststalltnamn"], column("farm"), df["adressplatsnummer"], df["bokstavstillagg"],
        column("deviates"), column("designation"), df["statusforbelagenhetsadress"], df["postnummer"],
        df["postort"], column("municipality"), column("uuid"), xy,
    )  # fmt: skip
    for area, farm, number, letter, deviates, designation, status, postcode, town, code, uuid, (x, y) in rows:
        if fold(clean_text(status)) != CURRENT_STATUS:
            skipped["not Gällande"] += 1
            continue
        street = " ".join(t for t in (clean_text(area), clean_text(farm)) if t)
        housenumber = _housenumber(number, letter, deviates, designation)
        if not street or not housenumber:
            skipped["no street name or number"] += 1
            continue
        out.append(
            AddressPoint(
                street, housenumber, clean_postcode(postcode), clean_text(town) or None, float(x), float(y),
                municipality_code=clean_municipality_code(code) or file_code, source=SOURCE,
                source_id=clean_text(uuid) or None,
            )
        )  # fmt: skip
    log.info("%s: %d addresses read; skipped %s", name, len(out), dict(skipped) or "none")
    return out


def _verify_layer(uri: str, name: str) -> set[str]:
    """The layer's field names; raise :class:`SourceError` when the layer or a required field is missing."""
    try:
        layers = [str(layer) for layer in pyogrio.list_layers(uri)[:, 0]]
    except Exception as exc:
        raise SourceError(f"Cannot open {name} as a GeoPackage: {exc}") from exc
    if LAYER not in layers:
        raise SourceError(
            f"{name} has no layer {LAYER!r} (it has {', '.join(layers) or 'none'}); "
            "expected Lantmäteriet's Belägenhetsadress Nedladdning, vektor."
        )
    fields = {str(f) for f in pyogrio.read_info(uri, layer=LAYER)["fields"]}
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise SourceError(f"The layer {LAYER} of {name} lacks the field(s) {', '.join(missing)}.")
    return fields


def _housenumber(number: object, letter: object, deviates: object, designation: object) -> str:
    """'44' + 'B' → '44B'; the deviating designation when the register marks the number as non-standard."""
    if clean_text(deviates).lower() in _TRUE:
        text = clean_text(designation)
        if text:
            return text
    text = clean_text(number)
    return text + clean_text(letter).upper() if text else ""


def _municipality_from_name(name: str) -> str | None:
    """'belagenhetsadresser_kn0180.zip' → '0180'."""
    match = _MUNICIPALITY_IN_NAME.search(name)
    return match.group(1) if match else None

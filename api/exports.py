"""Tables for spreadsheets and audit snapshots: CSV that Swedish Excel opens as columns, real .xlsx, and JSON
snapshots of an audit to compare against later.

- **CSV**, Swedish (default): ``;`` between fields, UTF-8 with a BOM (so Excel reads å/ä/ö), decimal comma.
  English (``lang="en"``): ``,`` and decimal point, also with a BOM.
- **XLSX** (openpyxl): a bold, frozen header row with auto-filter, number formats (thousands, percentages),
  column widths, and a second sheet with what the figures rest on (limit, profiles, data versions, caveats).
- Headers are Swedish by default, English with ``lang="en"``.
- Population shares are floored, never rounded up (94.997 % is written 94.99 %): a share just below a verdict
  threshold never shows on the other side of it.
- What an audit rests on and its snapshots are in :mod:`api.snapshots`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.words import labels
from routing.audit import floor_share as audit_floor_share

Lang = Literal["sv", "en"]
Kind = Literal["text", "int", "share", "number", "minutes"]
FORMATS = (".csv", ".xlsx")

SHARE_DECIMALS = 2
"""Decimals of a percentage in exports (floored)."""

# Labels come from the one catalogue (core/words.yaml); these are views of it by language.
VERDICTS_SV = labels("verdict", "sv")
PROFILES_SV = labels("profile", "sv")
PROFILES_EN = labels("profile", "en")
PRECISION_SV = labels("precision", "sv")


@dataclass(frozen=True)
class Column:
    """One exported column: the row key, its Swedish and English headers, its kind and width (characters)."""

    key: str
    sv: str
    en: str
    kind: Kind = "text"
    width: int = 12

    def header(self, lang: Lang) -> str:
        """The header in ``lang``."""
        return self.sv if lang == "sv" else self.en


def write_table(path: str | Path, columns: list[Column], rows: list[dict], lang: Lang = "sv",
                title: str = "", about: list[tuple[str, str]] | None = None) -> Path:
    """Write rows as ``.csv`` or ``.xlsx`` (by the file's extension).

    Parameters
    ----------
    path : the output file.
    columns : what to write, in order.
    rows : dicts with the columns' keys; shares are fractions 0..1, ``None`` is an empty cell.
    lang : ``"sv"`` (Swedish headers, ``;``, decimal comma) or ``"en"``.
    title : the sheet name (XLSX; at most 31 characters).
    about : (label, text) pairs for the XLSX sheet on what the figures rest on (ignored for CSV).

    Returns
    -------
    Path
    """
    path = Path(path)
    _verify_lang(lang)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"Write a table as {' or '.join(FORMATS)}, not '{path.suffix or 'no extension'}'.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        _write_csv(path, columns, rows, lang)
    else:
        _write_xlsx(path, columns, rows, lang, title, about or [])
    return path


def floor_share(share: float | None, decimals: int = SHARE_DECIMALS) -> float | None:
    """A share (0..1) as a percentage floored to ``decimals`` (:func:`routing.audit.floor_share`)."""
    return audit_floor_share(share, decimals)


def _verify_lang(lang: str) -> None:
    if lang not in ("sv", "en"):
        raise ValueError(f"The language must be 'sv' or 'en', not {lang!r}.")


def _csv_value(value: Any, kind: Kind, lang: Lang) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind == "share":
        text = f"{floor_share(value):.{SHARE_DECIMALS}f}"
    elif kind == "int":
        text = str(int(round(float(value))))
    elif kind in ("number", "minutes"):
        text = f"{float(value):.1f}" if kind == "minutes" else f"{float(value):.6g}"
    else:
        return str(value)
    return text.replace(".", ",") if lang == "sv" else text


def _write_csv(path: Path, columns: list[Column], rows: list[dict], lang: Lang) -> None:
    delimiter = ";" if lang == "sv" else ","
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
        writer.writerow([_share_header(c, lang) for c in columns])
        for row in rows:
            writer.writerow([_csv_value(row.get(c.key), c.kind, lang) for c in columns])


def _share_header(column: Column, lang: Lang) -> str:
    """CSV writes shares as percentages, so their header says so."""
    return column.header(lang) + (" (%)" if column.kind == "share" else "")


_XLSX_FORMATS = {"int": "#,##0", "share": "0.00%", "number": "0.0###", "minutes": "0.0"}


def _write_xlsx(path: Path, columns: list[Column], rows: list[dict], lang: Lang, title: str,
                about: list[tuple[str, str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_name(title or ("Tabell" if lang == "sv" else "Table"))
    ws.append([c.header(lang) for c in columns])
    for row in rows:
        ws.append([_xlsx_value(row.get(c.key), c.kind) for c in columns])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, c in enumerate(columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(c.width, min(len(c.header(lang)) + 2, 40))
        fmt = _XLSX_FORMATS.get(c.kind)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    if about:
        info = wb.create_sheet("Om underlaget" if lang == "sv" else "About the figures")
        for label, text in about:
            info.append([label, text])
        for cell in info["A"]:
            cell.font = bold
        info.column_dimensions["A"].width = 28
        info.column_dimensions["B"].width = 110
        for (cell,) in info.iter_rows(min_col=2, max_col=2):
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(path)


def _xlsx_value(value: Any, kind: Kind) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "share":
        return floor_share(value) / 100  # stored floored, so Excel's 0.00 % display never rounds it up
    if kind == "int":
        return int(round(float(value)))
    if kind in ("number", "minutes"):
        return float(value)
    return str(value)


def _sheet_name(text: str) -> str:
    for bad in "[]:*?/\\":
        text = text.replace(bad, "-")
    return text[:31]


# -- what the rows of each table are ---------------------------------------------------------------------------


def audit_columns(profiles: list[str], lang: Lang = "sv") -> list[Column]:
    """Columns of an audit export: the unit and area, then share, verdict and people not reached per profile."""
    names = PROFILES_SV if lang == "sv" else PROFILES_EN
    cols = [
        Column("unit", "Enhet", "Unit", width=26),
        Column("unit_id", "Enhets-id", "Unit id", width=22),
        Column("area_id", "Område", "Area", "int", 8),
        Column("area_name", "Områdesnamn", "Area name", width=26),
        Column("approved", "Godkänd", "Approved", width=9),
        Column("population", "Befolkning", "Population", "int", 11),
    ]
    for p in profiles:
        n = names.get(p, p)
        cols += [
            Column(f"{p}.population_share", f"Andel befolkning nådd, {n}", f"Population reached, {n}", "share", 14),
            Column(f"{p}.verdict", f"Bedömning, {n}", f"Verdict, {n}", width=16),
            Column(f"{p}.gap_population", f"Ej nådda personer, {n}", f"People not reached, {n}", "int", 14),
            Column(f"{p}.p50_min", f"Restid för halva befolkningen, {n} (min)", f"Drive time, median person, {n} "
                   "(min)", "minutes", 14),
            Column(f"{p}.p90_min", f"Restid för 90 % av befolkningen, {n} (min)", f"Drive time, 90th percentile "
                   f"person, {n} (min)", "minutes", 14),
            Column(f"{p}.margin_min", f"Marginal till gränsen vid 90 %, {n} (min)", f"Margin to the limit at the "
                   f"90th percentile, {n} (min)", "minutes", 14),
        ]
    first = profiles[0]
    cols += [
        Column(f"{first}.land_share", f"Andel land nådd, {names.get(first, first)}",
               f"Land reached, {names.get(first, first)}", "share", 14),
        Column(f"{first}.road_share", f"Andel vägnät nått, {names.get(first, first)}",
               f"Roads reached, {names.get(first, first)}", "share", 14),
        Column("summary", "Sammanfattning", "Summary", width=50),
        Column("gaps", f"Största luckor ({names.get(profiles[-1], profiles[-1])})",
               f"Biggest gaps ({names.get(profiles[-1], profiles[-1])})", width=60),
        Column("base_precision", "Basens precision", "Base precision", width=16),
    ]
    return cols


def audit_table_rows(rows: list[dict], lang: Lang = "sv") -> list[dict]:
    """Flatten ``ProfileRow.to_dict`` rows (or flat single-profile rows) for :func:`audit_columns`."""
    out = []
    for r in rows:
        per = r.get("profiles") or {r.get("profile", "free_flow"): r}
        flat = {k: r.get(k) for k in ("unit", "unit_id", "area_id", "area_name", "population")}
        flat["approved"] = ("ja" if r.get("approved") else "nej") if lang == "sv" else ("yes" if r.get("approved") else "no")
        flat["base_precision"] = PRECISION_SV.get(r.get("base_precision"), r.get("base_precision")) if lang == "sv" \
            else r.get("base_precision")
        for p, v in per.items():
            for k, value in v.items():
                if k == "verdict" and lang == "sv":
                    value = VERDICTS_SV.get(value, value)
                flat[f"{p}.{k}"] = value
            for k, name in (("drive_time_p50_s", "p50_min"), ("drive_time_p90_s", "p90_min"), ("margin_s", "margin_min")):
                flat[f"{p}.{name}"] = None if v.get(k) is None else v[k] / 60
        last = list(per.values())[-1]
        flat["gaps"] = ", ".join(f"{g['where']} {g['population']}" for g in (last.get("gaps") or [])[:5])
        flat["summary"] = summary_sv(r) if lang == "sv" else r.get("summary", "")
        out.append(flat)
    return out


def summary_sv(row: dict) -> str:
    """The Swedish summary of a row's verdicts across profiles (``stöds vid fritt flöde, i riskzonen vid rusning``)."""
    per = row.get("profiles") or {row.get("profile", "free_flow"): row}
    at = labels("profile_at", "sv")
    groups: dict[str, list[str]] = {}
    for p, v in per.items():
        groups.setdefault(VERDICTS_SV.get(v["verdict"], v["verdict"]), []).append(at.get(p, p))
    if len(groups) == 1:
        return f"{next(iter(groups))} i alla trafiklägen"
    return ", ".join(f"{v} " + " och ".join(ps) for v, ps in groups.items())


def what_if_columns(lang: Lang = "sv") -> list[Column]:
    """Columns of a what-if export (one row per unit × area × profile)."""
    return [
        Column("unit", "Enhet", "Unit", width=26),
        Column("area_id", "Område", "Area", "int", 8),
        Column("area_name", "Områdesnamn", "Area name", width=26),
        Column("approved", "Godkänd", "Approved", width=9),
        Column("profile", "Trafikläge", "Profile", width=14),
        Column("population_share_before", "Andel nådd före", "Reached before", "share", 14),
        Column("population_share_after", "Andel nådd efter", "Reached after", "share", 14),
        Column("verdict_before", "Bedömning före", "Verdict before", width=16),
        Column("verdict_after", "Bedömning efter", "Verdict after", width=16),
        Column("gap_population_before", "Ej nådda före", "Not reached before", "int", 13),
        Column("gap_population_after", "Ej nådda efter", "Not reached after", "int", 13),
        Column("bases_after", "Baser efter ändringen", "Bases after the change", width=60),
    ]


def what_if_table_rows(rows: list[dict], lang: Lang = "sv") -> list[dict]:
    """Localise what-if rows for :func:`what_if_columns`."""
    out = []
    for r in rows:
        flat = dict(r)
        flat["bases_after"] = "; ".join(r.get("bases_after") or [])
        if lang == "sv":
            flat["approved"] = "ja" if r.get("approved") else "nej"
            flat["profile"] = PROFILES_SV.get(r.get("profile"), r.get("profile"))
            for k in ("verdict_before", "verdict_after"):
                flat[k] = VERDICTS_SV.get(r.get(k), r.get(k))
        else:
            flat["approved"] = "yes" if r.get("approved") else "no"
            flat["profile"] = PROFILES_EN.get(r.get("profile"), r.get("profile"))
        out.append(flat)
    return out


def choice_columns(lang: Lang = "sv") -> list[Column]:
    """Columns of a choice export (one row per area, then the county)."""
    return [
        Column("area_id", "Område", "Area", width=8),
        Column("area_name", "Områdesnamn", "Area name", width=26),
        Column("population", "Befolkning", "Population", "int", 12),
        Column("pop_0", "Ingen godkänd enhet når", "No approved unit reaches", "int", 14),
        Column("pop_1", "1 enhet når", "1 unit reaches", "int", 12),
        Column("pop_2", "2 enheter når", "2 units reach", "int", 12),
        Column("pop_3plus", "3 eller fler når", "3 or more reach", "int", 12),
        Column("share_0", "Andel utan val", "Share with no choice", "share", 14),
    ]


def choice_table_rows(summary: dict, lang: Lang = "sv") -> list[dict]:
    """Rows of :func:`choice_columns` from ``routing.choice.choice_summary`` (areas, then the county)."""
    county = {"area_id": "län" if lang == "sv" else "county",
              "area_name": "Stockholms län" if lang == "sv" else "Stockholm County", **summary["county"]}
    rows = [*summary["by_area"], county]
    return [{**r, "share_0": r["pop_0"] / r["population"] if r["population"] else None} for r in rows]


def about_rows(meta: dict, lang: Lang = "sv") -> list[tuple[str, str]]:
    """The XLSX 'about' sheet from :func:`metadata`."""
    sv = lang == "sv"
    names = PROFILES_SV if sv else PROFILES_EN
    rows = [
        ("Godkännanden per" if sv else "Approvals as of",
         f"{meta['date']} ({'registret' if sv else 'the registry'})" if meta.get("date") else
         ("leverantörsfilen" if sv else "the providers file")),
        ("Skapad" if sv else "Created", meta["created"]),
        ("Tidsgräns" if sv else "Limit", f"{meta['limit_minutes']:g} min"),
        ("Trafikläge (rubrik)" if sv else "Profile (headline)",
         names.get(meta.get("profile") or meta["profiles"][0], meta.get("profile") or meta["profiles"][0])),
        ("Trafiklägen" if sv else "Profiles", ", ".join(names.get(p, p) for p in meta["profiles"])),
        ("Bedömning" if sv else "Verdicts",
         (f"stöds ≥ {meta['supported_share']:.0%} av befolkningen, i riskzonen ≥ {meta['at_risk_share']:.0%}, "
          "annars stöds inte; andelar avrundas nedåt") if sv else
         (f"supported ≥ {meta['supported_share']:.0%} of the population, at risk ≥ {meta['at_risk_share']:.0%}, "
          "else unsupported; shares are floored")),
        ("Vägnät" if sv else "Network", f"{meta['network']['source']} (checksum {meta['network']['checksum'][:12]})"),
        ("Versioner" if sv else "Versions",
         f"areas {meta['versions']['areas']}, providers {meta['versions']['providers']}, "
         f"speeds {meta['versions']['speeds']}, asih {meta['versions']['asih']}"),
        ("Befolkning" if sv else "Population", meta["population_source"]),
    ]
    rows += [("Förbehåll" if sv else "Caveat", c) for c in caveats(meta, lang)]
    return rows


def caveats(meta: dict, lang: Lang = "sv") -> list[str]:
    """The sentences every audit export carries (network and profiles, hypothesis areas, base precision)."""
    t = meta.get("targets") or {}
    typ, peak = (f"{t.get(p, 0) * 100:.1f}".rstrip("0").rstrip(".") for p in ("typical", "peak"))
    n = meta.get("bases") or {}
    if lang == "sv":
        return [
            "Restider är modellerade på ett vägnät från OpenStreetMap (≈2013, MATSim 2014) med skyltad hastighet vid "
            f"fritt flöde; normal trafik och rusning är kalibrerade mot TomToms uppmätta genomsnitt för hela staden "
            f"(+{typ.replace('.', ',')} % resp. +{peak.replace('.', ',')} % restid), räknade från uppmätt fritt "
            "flöde: verkliga tider kan vara längre.",
            "Områdena 2–8 är vår hypotes (bara område 1 är bekräftat).",
            f"Av {sum(n.values())} baser är {n.get('address', 0)} kända på adress, {n.get('place', 0)} på ort och "
            f"{n.get('unknown', 0)} gissade; kolumnen Basens precision säger vilket.",
        ]
    return [
        "Drive times are modelled on an OpenStreetMap road network (≈2013, MATSim 2014) at posted free-flow speeds; "
        f"typical and peak traffic are calibrated to TomTom's measured city-wide averages (+{typ} % and +{peak} % "
        "travel time), which are relative to measured free flow: real times may be longer.",
        "Areas 2–8 are our hypothesis (only area 1 is confirmed).",
        f"Of {sum(n.values())} bases, {n.get('address', 0)} are known by address, {n.get('place', 0)} by place and "
        f"{n.get('unknown', 0)} are guesses; the base precision column says which.",
    ]

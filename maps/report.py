"""One-page PDF coverage reports for planning meetings: one per unit, one for the county (Swedish).

A report is an A4 page: a title with the date and the limit; the map (the unit's reach with its approved areas and
the people out of reach, or the county's choice map: how many approved units reach each DeSO); a table with the
figures under free flow, typical and peak traffic side by side; and what the figures rest on (network, data
versions, thresholds, how sure the bases are, the caveats). The map is drawn by :mod:`maps.static` and placed on
the page as an image of :data:`MAP_PPI` pixels per inch of paper, its text enlarged so that none is under
:data:`MIN_TEXT_PT` as printed (:func:`print_ready`); the text and tables are vector text, none under 7 pt either.

Inputs are auditors per profile (:func:`routing.audit.profile_auditors`) of one state and limit; the map shows
``map_profile`` (default ``typical``: all-day traffic, what the 30-minute rule is about), the tables every profile.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import shapely  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from core.words import labels  # noqa: E402
from routing.audit import floor_share  # noqa: E402

PROFILES_SV, VERDICTS_SV, PRECISION_SV = labels("profile", "sv"), labels("verdict", "sv"), labels("precision", "sv")
from routing.basis import metadata  # noqa: E402
from maps import style  # noqa: E402
from maps.drawing import CAVEATS_GID  # noqa: E402
from maps.geography import declutter_names  # noqa: E402
from maps.layers import flatten_bases  # noqa: E402

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PAGE_IN = (8.27, 11.69)
"""A4 portrait (inches)."""
MAP_PPI = 300
"""Resolution of the map image as printed on the page (pixels per inch of paper)."""
MIN_TEXT_PT = 7.0
"""The smallest text on a report page, the map's included (points as printed): legible on paper (issue 23)."""
TABLE_FONT_PT = 7.0
ROW_HEIGHT = 0.013
"""Height of a table row (fraction of the page); a header row is 1.7 times it (two lines)."""
HEADER_ROWS = 1.7
LEAD_CHARS = 118
"""Characters per line of the lead paragraph (8.5 pt across the text width)."""
MAP_PROFILE = "typical"
"""The profile the map shows by default: all-day traffic."""
VERDICT_FILL = {"supported": "#e8f1fa", "at risk": "#fff1c7", "unsupported": "#f6d5cf",
                 "reaches, not approved": "#eeeeee", "not approved": "#ffffff"}
"""Table cell fills by verdict: light blue / yellow / light vermilion (Okabe–Ito hues, distinguishable with the
common colour-vision deficiencies); the verdict is always written in the cell too, never shown by colour alone."""


class ReportError(ValueError):
    """A report cannot be made (unknown unit, no such profile); the message says why."""


def unit_report(auditors: Mapping[str, object], unit_id: str, out: str | Path, *,
                map_profile: str = MAP_PROFILE, land=None) -> Path:
    """Write one unit's coverage report (``.pdf``, or ``.png`` to look at it) and return the path.

    Parameters
    ----------
    auditors : profile → :class:`routing.audit.CoverageAuditor` (same limit), e.g. from ``profile_auditors``.
    unit_id : the unit (id or name).
    out : the output file.
    map_profile : the profile whose reach the map draws (one of ``auditors``).
    land : optional land polygons for the map background (default: the prepared ones).
    """
    from maps.static import unit_figure
    from routing.audit_table import audit_profiles

    chosen = _map_auditor(auditors, map_profile)
    unit = chosen.registry.get(unit_id)
    minutes = chosen.limit_s / 60
    rows = audit_profiles(dict(auditors), [unit.id])
    figure = unit_figure(unit.to_dict(), unit_reach(chosen, unit.id), chosen.model.areas,
                         unreached=chosen.unreached_by_deso(unit.id), minutes=minutes, profile=map_profile,
                         land=land, settings=chosen.settings)
    profiles = list(auditors)
    header = ["Område", "Invånare"] + [PROFILES_SV.get(p, p) for p in profiles] + \
             [f"Restid median / 90 % ({PROFILES_SV.get(map_profile, map_profile)})",
              f"Ej nådda ({PROFILES_SV.get(map_profile, map_profile)})"]
    table, fills = [], []
    for row in rows:
        first = row.first
        name = f"{first.area_id} {row.area_name}" + ("" if first.approved else " (ej godkänd)")
        cells = [name, int_text(first.population)]
        cells += [share_cell(r.population_share, r.verdict) for r in row.rows.values()]
        shown = row.rows.get(map_profile, first)
        cells += [times_text(shown), int_text(shown.gap_population)]
        table.append(cells)
        fills.append(["#ffffff"] * 2 + [VERDICT_FILL.get(r.verdict, "#ffffff") for r in row.rows.values()] +
                     ["#ffffff"] * 2)
    approved = [r for r in rows if r.first.approved]
    lead = _unit_lead(unit, approved, map_profile)
    widths = [0.22, 0.08] + [0.45 / len(profiles)] * len(profiles) + [0.13, 0.12]
    return one_page(out, f"Täckningsrapport: {unit.unit}", lead, figure,
                 [("Godkända områden, och andra som enheten når", header, table, fills, widths)],
                 auditors, chosen, map_profile, max_map_height=0.5)


def county_report(auditors: Mapping[str, object], out: str | Path, *, map_profile: str = MAP_PROFILE,
                  land=None) -> Path:
    """Write the county's coverage report: the choice map, each area's people by how many approved units reach
    them (per profile), and each unit's verdicts (per profile). Returns the path."""
    from maps.static import choice_figure
    from routing.audit_table import audit_profiles
    from routing.choice import choice_layer, choice_summary

    chosen = _map_auditor(auditors, map_profile)
    minutes = chosen.limit_s / 60
    bases = flatten_bases([u.to_dict() for u in chosen.registry.units])
    figure = choice_figure(choice_layer(chosen), chosen.model.areas, minutes, profile=map_profile, bases=bases,
                           land=land, settings=chosen.settings)
    profiles = list(auditors)
    summaries = {p: choice_summary(a) for p, a in auditors.items()}
    approved_count = {a: sum(1 for u in chosen.registry.units if a in u.areas) for a in chosen.area_ids}
    header = ["Område", "Invånare", "Godkända enheter"] + \
             [f"Minst en når: {PROFILES_SV.get(p, p)}" for p in profiles] + \
             [f"Ingen når ({PROFILES_SV.get(map_profile, map_profile)})"]
    areas, area_fills = [], []
    for i, row in enumerate(summaries[profiles[0]]["by_area"]):
        cells = [f"{row['area_id']} {row['area_name']}", int_text(row["population"]),
                 str(approved_count.get(row["area_id"], 0))]
        for p in profiles:
            r = summaries[p]["by_area"][i]
            cells.append(_pct((r["population"] - r["pop_0"]) / r["population"] if r["population"] else 0.0))
        cells.append(int_text(summaries[map_profile]["by_area"][i]["pop_0"]))
        areas.append(cells)
        area_fills.append(["#ffffff"] * len(cells))
    county = {p: summaries[p]["county"] for p in profiles}
    areas.append(["Hela länet", int_text(county[profiles[0]]["population"]), ""] +
                 [_pct(1 - c["pop_0"] / c["population"]) for c in county.values()] +
                 [int_text(county[map_profile]["pop_0"])])
    area_fills.append(["#f2f2f2"] * len(areas[-1]))

    unit_header = ["Enhet", "Godkända områden"] + [PROFILES_SV.get(p, p) for p in profiles]
    units, unit_fills = [], []
    by_unit: dict[str, list] = {}
    for row in audit_profiles(dict(auditors)):
        if row.first.approved:
            by_unit.setdefault(row.first.unit_id, []).append(row)
    for u in chosen.registry.units:
        rows = by_unit.get(u.id, [])
        cells = [u.unit, ", ".join(str(a) for a in sorted(u.areas))]
        fills = ["#ffffff", "#ffffff"]
        for p in profiles:
            verdicts = [r.rows[p].verdict for r in rows]
            cells.append(_verdict_counts(verdicts))
            worst = next((v for v in ("unsupported", "at risk", "supported") if v in verdicts), "not approved")
            fills.append(VERDICT_FILL.get(worst, "#ffffff"))
        units.append(cells)
        unit_fills.append(fills)
    c = county[map_profile]
    lead = (f"I länet når minst en godkänd enhet {_pct(1 - c['pop_0'] / c['population'])} av invånarna inom "
            f"{minutes:g} minuter vid {PROFILES_SV.get(map_profile, map_profile)}; {int_text(c['pop_0'])} invånare har "
            "ingen godkänd enhet inom gränsen.")
    tables = [("Områden: andel invånare som minst en godkänd enhet når inom gränsen", header, areas, area_fills,
               [0.25, 0.09, 0.09] + [0.44 / len(profiles)] * len(profiles) + [0.13]),
              ("Enheter: antal godkända områden per bedömning (risk = i riskzonen, inte = stöds inte)", unit_header,
               units, unit_fills, [0.22, 0.14] + [0.64 / len(profiles)] * len(profiles))]
    return one_page(out, "Täckningsrapport: hela länet", lead, figure, tables, auditors, chosen, map_profile,
                 max_map_height=0.34)


def times_text(row) -> str:
    """Why a verdict is what it is: the people-weighted drive times of an audit row, median and 90th percentile,
    in whole minutes rounded up ("26 / 29 min"; "–" for a time not reached)."""
    def minutes(s):
        return "–" if s is None else f"{math.ceil(s / 60):.0f}"

    return f"{minutes(row.drive_time_p50_s)} / {minutes(row.drive_time_p90_s)} min"


def unit_reach(auditor, unit_id: str):
    """The union of a unit's per-base isochrones under the auditor's network and limit (EPSG:3006)."""
    from routing.isochrones import isochrone

    trees = auditor.trees
    return shapely.union_all([isochrone(auditor.net, trees.times[r], auditor.limit_s, origin=trees.snaps[int(r)])
                              for r in trees.rows_of(unit_id)])


# -- the page ----------------------------------------------------------------------------------------------------


def one_page(out, title: str, lead: str, map_figure, tables, auditors, chosen, map_profile: str,
          max_map_height: float) -> Path:
    """Lay the page out top-down: title, lead, the map (at most ``max_map_height`` of the page, aspect kept), the
    tables, what the figures rest on, the footer; write it."""
    out = Path(out)
    if out.suffix.lower() not in (".pdf", ".png"):
        plt.close(map_figure)
        raise ReportError(f"Write a report as .pdf (or .png to look at it), not '{out.suffix or 'no extension'}'.")
    image = io.BytesIO()
    try:
        scale = print_ready(map_figure, max_map_height)
        # Pixels for MAP_PPI on paper: the figure is printed at `scale` of its size.
        map_figure.savefig(image, format="png", dpi=math.ceil(MAP_PPI * scale), bbox_inches="tight", pad_inches=0.05)
    finally:
        plt.close(map_figure)
    image.seek(0)
    picture = mpimg.imread(image, format="png")
    meta = metadata(chosen, list(auditors))
    fig = plt.figure(figsize=PAGE_IN)
    try:
        created = datetime.fromisoformat(meta["created"]).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
        fig.text(0.05, 0.965, title, fontsize=15, fontweight="bold", va="top")
        day = f"Godkännanden per {meta['date']} (registret) · " if meta.get("date") else ""
        head_lines = textwrap.wrap(f"{day}skapad {created} · gräns "
                                   f"{meta['limit_minutes']:g} min · kartan och rubriken: "
                                   f"{PROFILES_SV.get(map_profile, map_profile)} · tabellerna: "
                                   + ", ".join(PROFILES_SV.get(p, p) for p in meta["profiles"]), LEAD_CHARS)
        fig.text(0.05, 0.938, "\n".join(head_lines), fontsize=8.5, va="top", color="#333333")
        lead_top = 0.918 - 0.0155 * (len(head_lines) - 1)  # a header too long for one line wraps, not overflows
        lead_lines = textwrap.wrap(lead, LEAD_CHARS)
        fig.text(0.05, lead_top, "\n".join(lead_lines), fontsize=8.5, va="top")
        map_top = lead_top - 0.0155 * len(lead_lines) - 0.012
        height = 0.9 * PAGE_IN[0] * picture.shape[0] / picture.shape[1] / PAGE_IN[1]  # the image keeps its aspect
        width = 0.9 * min(1.0, max_map_height / height)
        height = min(height, max_map_height)
        ax = fig.add_axes((0.5 - width / 2, map_top - height, width, height))
        ax.imshow(picture, interpolation="none")  # embedded as is: a PDF viewer or printer scales it, never resampled
        ax.set_axis_off()
        top = map_top - height - 0.015
        for caption, header, rows, fills, widths in tables:
            top = _table(fig, top, caption, header, rows, fills, widths) - 0.012
        fig.text(0.05, top, _basis(meta, chosen), fontsize=MIN_TEXT_PT, va="top", color="#333333",
                 linespacing=1.35)
        fig.text(0.05, 0.02, "ASIH täckning och restider · " + style.ATTRIBUTION_PREFIX + style.ATTRIBUTION,
                 fontsize=MIN_TEXT_PT, color="#555555")
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=MAP_PPI if out.suffix.lower() == ".png" else None,
                    metadata={"Title": title, "Subject": "ASIH coverage report"} if out.suffix.lower() == ".pdf"
                    else {"Title": title})
    finally:
        plt.close(fig)
    return out


def map_size_on_page(width_in: float, height_in: float, max_map_height: float) -> tuple[float, float]:
    """Width and height (inches on paper) of a map image ``width_in`` × ``height_in`` placed by :func:`one_page`:
    the text width (0.9 of the page), or less to keep within ``max_map_height`` (fraction of the page)."""
    height = 0.9 * PAGE_IN[0] * height_in / width_in / PAGE_IN[1]
    width = 0.9 * min(1.0, max_map_height / height)
    return width * PAGE_IN[0], min(height, max_map_height) * PAGE_IN[1]


def print_ready(map_figure, max_map_height: float, rounds: int = 4) -> float:
    """Make the map figure's text legible as printed on the page: its caveat box goes (the page states the caveats
    in its own text), every other text is enlarged to at least :data:`MIN_TEXT_PT` as printed, and place names that
    then overlap give way. Returns the scale at which the figure will be printed (paper inches per figure inch)."""
    for text in [t for t in map_figure.texts if t.get_gid() == CAVEATS_GID]:
        text.remove()
    scale = 1.0
    for _ in range(rounds):  # enlarged text widens the figure's tight box, which shrinks it on the page: again
        renderer = map_figure.canvas.get_renderer()
        box = map_figure.get_tightbbox(renderer)
        scale = map_size_on_page(box.width, box.height, max_map_height)[0] / box.width
        small = [t for t in map_figure.findobj(Text)
                 if t.get_visible() and t.get_text().strip() and t.get_fontsize() * scale < MIN_TEXT_PT - 0.01]
        if not small:
            break
        for text in small:
            text.set_fontsize(MIN_TEXT_PT / scale * 1.03)
        for ax in map_figure.axes:
            declutter_names(ax)
    return scale


def _table(fig, top: float, caption: str, header: list[str], rows: list[list[str]], fills,
           widths: list[float]) -> float:
    """A table under ``top`` (figure fraction), columns ``widths`` (fractions of the text width); returns where it
    ends."""
    row_h = ROW_HEIGHT
    fig.text(0.05, top, caption, fontsize=9, fontweight="bold", va="top")
    top -= 0.018
    chars = [max(8, int(w * 0.9 * PAGE_IN[0] * 72 / (MIN_TEXT_PT * 0.62))) for w in widths]  # header chars per line
    labels = [textwrap.fill(h, c) for h, c in zip(header, chars)]
    header_rows = max(HEADER_ROWS, 0.85 * max(label.count("\n") + 1 for label in labels))
    height = row_h * (len(rows) + header_rows)
    ax = fig.add_axes((0.05, top - height, 0.9, height))
    ax.set_axis_off()
    t = ax.table(cellText=rows, colLabels=labels, cellColours=fills,
                 colWidths=widths, loc="upper left", bbox=(0, 0, 1, 1), cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(TABLE_FONT_PT)
    for (r, _), cell in t.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        cell.set_linewidth(0.4)
        cell.set_height(header_rows if r == 0 else 1.0)  # relative: the bbox scales them to the table's height
        if r == 0:
            cell.set_facecolor("#e6e6e6")
            cell.get_text().set_fontweight("bold")
            cell.get_text().set_fontsize(MIN_TEXT_PT)
    return top - height


def _basis(meta: dict, chosen) -> str:
    bases = ", ".join(f"{n} {PRECISION_SV.get(k, k)}" for k, n in sorted(meta["bases"].items()))
    v = meta["versions"]
    lines = [
        "Underlag och förbehåll",
        f"Bedömning: stöds vid minst {floor_share(meta['supported_share']):g} % av invånarna inom gränsen, i "
        f"riskzonen vid minst {floor_share(meta['at_risk_share']):g} %, annars stöds inte; andelarna är avrundade "
        "nedåt.",
        *style.caveat_lines(profile=None),
        "Restider: vägnät från ≈2013 (OSM, MATSim); normal trafik och rusning är kalibrerade mot uppmätt trängsel i "
        "Stockholm (data/speeds.yaml); verkliga tider kan vara längre.",
        f"Alla enheters baser, hur väl de är kända: {bases}. Befolkning: {meta['population_source']}.",
        f"Vägnät {meta['network']['source']} (kontrollsumma {str(meta['network']['checksum'])[:12]}); områden "
        f"v{v['areas']}, vårdgivare v{v['providers']}, hastigheter v{v['speeds']}, programvara {v['asih']}.",
    ]
    return "\n".join(textwrap.fill(line, 140) for line in lines)  # 7 pt across the text width


def _map_auditor(auditors: Mapping[str, object], map_profile: str):
    if not auditors:
        raise ReportError("A report needs at least one profile's audit.")
    if map_profile not in auditors:
        raise ReportError(f"The map profile '{map_profile}' is not among the audited ones ({', '.join(auditors)}).")
    return auditors[map_profile]


def _unit_lead(unit, approved: list, map_profile: str) -> str:
    if not approved:
        return f"{unit.unit} är inte godkänd för något område."
    parts = []
    for row in approved:
        r = row.rows.get(map_profile, row.first)
        parts.append(f"område {r.area_id} {row.area_name} {_pct(r.population_share)} "
                     f"({VERDICTS_SV.get(r.verdict, r.verdict)})")
    return (f"Andel av invånarna som {unit.unit} når inom gränsen vid {PROFILES_SV.get(map_profile, map_profile)}: " +
            "; ".join(parts) + ". Kartan visar räckvidden, de godkända områdena (fet kant) och var de som inte nås "
            "bor.")


def share_cell(share: float, verdict: str) -> str:
    """``86,7 % i riskzonen``; for an area the unit is not approved for, ``100,0 % når`` or the share alone."""
    word = {"reaches, not approved": "når", "not approved": ""}.get(verdict, VERDICTS_SV.get(verdict, verdict))
    return f"{_pct(share)} {word}".rstrip()


def _verdict_counts(verdicts: list[str]) -> str:
    if not verdicts:
        return "–"
    short = {"supported": "stöds", "at risk": "risk", "unsupported": "inte"}
    return " · ".join(f"{verdicts.count(v)} {word}" for v, word in short.items() if verdicts.count(v))


def _pct(share: float) -> str:
    """A share as a Swedish percentage, floored to one decimal (94,99 % → 94,9 %)."""
    return f"{floor_share(share, 1):.1f} %".replace(".", ",")


def int_text(value: float) -> str:
    """A whole number with a thin space between thousands (Swedish)."""
    return f"{int(round(float(value))):,}".replace(",", "\u202f")

"""Build the labelled geocoding quality benchmark: ``bench/data/geocode_benchmark.csv`` and its README.

Run from the repository root::

    .venv/bin/python bench/make_geocode_benchmark.py [--out bench/data]

Deterministic: the same raw files and ``data/areas.yaml`` give the same bytes (no randomness, no clock; every
choice is made by the SHA-1 of a stable key). The rows, and where each label comes from, are described in the
README written beside the CSV (``bench/data/README.md``).

Groups (column ``group``):

- ``register_holdout`` — rows held out of the Skolverket address register
  (``stockholm-county-address-points-2025.csv``), typed as referrers type them. Their ``source_id`` is what the
  register reader excludes (``Settings.address_exclude_file``), so the geocoder never sees these points.
- ``osm_in_register`` — real OSM addresses with their own points from the Södermalm ``.osm.pbf`` (which is part of
  the register: these measure the lookup of registered addresses).
- ``postcode`` / ``town`` — postcode-only and town-only queries, labelled with the set of areas they truly span.
- ``outside`` — addresses, towns and postcodes outside Stockholm County.
- ``issue`` — the queries quoted in issue 10, verbatim.

The area of a labelled point comes from ``data/areas.yaml`` (members by municipality code and, for Stockholm city,
by stadsdelsområde name); nothing here hard-codes the area table.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import sys
import unicodedata
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import PROJECT_ROOT, STOCKHOLM_CODE, get_settings  # noqa: E402

COMMAND = ".venv/bin/python bench/make_geocode_benchmark.py"
REGISTER_FILE = "stockholm-county-address-points-2025.csv"
OSM_FILE = "stockholm-sodermalm-sample-2020.osm.pbf"
OSM_FILES_IN_REGISTER = ("stockholm-ostermalm-sample-2020.osm", OSM_FILE)
POSTCODES_FILE = "geonames-postcodes-SE.txt"
BOROUGHS_FILE = "stockholm-stadsdelsomraden-2020.shp"
DISTRICT_TABLE_FILE = "stockholm-stadsdel-to-stadsdelsomrade-derived.csv"
STREET_NETWORK_FILE = "stockholm-inner-osmnx-drive-2020.tar.gz"

COLUMNS = [
    "query", "group", "truth_areas", "truth_lat", "truth_lon", "municipality_code", "stadsdelsomrade",
    "source", "source_id", "label_source", "variant",
]  # fmt: skip
GROUPS = ("register_holdout", "osm_in_register", "postcode", "town", "outside", "issue")
VARIANTS = (
    "full",  # Street N, 123 45 Town
    "no_postcode",  # Street N, Town
    "no_town",  # Street N, 12345
    "street_only",  # Street N
    "lowercase",  # one of the above in lower case
    "no_diacritics",  # one of the above without å/ä/ö/é
    "typo",  # one letter swapped or dropped in the street name (names of >= 8 letters)
    "postcode_only",
    "town_only",
    "out_of_county",
    "issue",
)
OUTSIDE = "outside"

HOLDOUT_SHARE = 0.25
MIN_PER_GROUP = 4
OSM_ROWS = 30
POSTCODES_PER_AREA = 4
SPREAD_KM = 4.0
SAME_STREET_KM = 4.0
NETWORK_STREET_M = 1000.0
ADMIN_SPREAD_KM = 2.0

# --------------------------------------------------------------------------------------------------------------
# Hand-written labels. Members are municipality codes or Stockholm stadsdelsområde names, never area ids: the
# area ids come from data/areas.yaml. Each entry: query -> (members, note).
# --------------------------------------------------------------------------------------------------------------

# Issue 10's queries, copied verbatim, with where each lies.
ISSUE_QUERIES: list[tuple[str, list[str], str]] = [
    ("Riddarplatsen 7, 177 30 Järfälla", ["0123"], "Jakobsberg, Järfälla municipality"),
    ("Hässelby torg 10, 165 55 Hässelby", ["Hässelby-Vällingby"], "Hässelby centrum (Hässelby-Vällingby)"),
    ("Drottningholmsvägen 200, 168 73 Bromma", ["Bromma"], "postal town Bromma, stadsdelsområde Bromma"),
    ("Sickla kaj 5, 120 67 Stockholm", ["Södermalm"], "Hammarby sjöstad (Södra Hammarbyhamnen), Södermalm"),
    ("118 20", ["Södermalm"], "a Södermalm postcode (118 xx)"),
    ("Johanneshov", ["Enskede-Årsta-Vantör", "Skarpnäck"],
     "stadsdel Johanneshov (Enskede-Årsta-Vantör); the postal town 121 xx Johanneshov also covers Hammarbyhöjden, "
     "Björkhagen, Kärrtorp (Skarpnäck)"),
    ("Västerlånggatan 50", ["Södermalm"], "Gamla stan (stadsdelsområde Södermalm since 2007); pedestrian street"),
    ("Stora Nygatan", ["Södermalm"], "Gamla stan, stadsdelsområde Södermalm"),
    ("Skärholmsvägen 2", ["Skärholmen"], "Skärholmen"),
    ("Storgatan 10, 151 72 Södertälje", ["0181"], "central Södertälje"),
    ("Allévägen 10, 186 30 Vallentuna", ["0115"], "Vallentuna"),
    ("Sjödalsvägen 4, 141 47 Huddinge", ["0126"], "Huddinge centrum"),
    ("Jakobsberg", ["0123"], "Jakobsberg, Järfälla municipality"),
    ("Kungsgatan 5, 753 21 Uppsala", [OUTSIDE], "Uppsala, Uppsala County"),
]  # fmt: skip

# Towns, postal towns and district names as typed alone. Municipality names are added from the register.
TOWN_KNOWLEDGE: dict[str, tuple[list[str], str]] = {
    "Stockholm": (["Norrmalm", "Östermalm", "Kungsholmen", "Södermalm", "Bromma", "Hässelby-Vällingby",
                   "Spånga-Tensta", "Rinkeby-Kista", "Enskede-Årsta-Vantör", "Farsta", "Skarpnäck",
                   "Hägersten-Älvsjö", "Skärholmen"], "Stockholm city: all 13 stadsdelsområden"),
    "Hässelby": (["Hässelby-Vällingby"], "Hässelby gård/strand/villastad, postal town 165 xx"),
    "Vällingby": (["Hässelby-Vällingby"], "postal town 162 xx"),
    "Bromma": (["Bromma"], "postal town 161-168 xx, stadsdelsområde Bromma"),
    "Spånga": (["Spånga-Tensta", "Rinkeby-Kista"], "postal town 163 xx (Spånga, Tensta, Hjulsta, parts of Rinkeby)"),
    "Kista": (["Rinkeby-Kista"], "postal town 164 xx (Kista, Husby, Akalla)"),
    "Johanneshov": (["Enskede-Årsta-Vantör", "Skarpnäck"], "stadsdel Johanneshov; 121 xx also Skarpnäck"),
    "Enskede": (["Enskede-Årsta-Vantör", "Farsta"], "postal town 122 xx"),
    "Årsta": (["Enskede-Årsta-Vantör"], "stadsdel Årsta"),
    "Bandhagen": (["Enskede-Årsta-Vantör"], "postal town 124 xx"),
    "Farsta": (["Farsta"], "postal town 123 xx"),
    "Skarpnäck": (["Skarpnäck"], "postal town 128 xx"),
    "Bagarmossen": (["Skarpnäck"], "stadsdel Bagarmossen"),
    "Älvsjö": (["Hägersten-Älvsjö", "Enskede-Årsta-Vantör"], "postal town 125 xx"),
    "Hägersten": (["Hägersten-Älvsjö"], "postal town 126/129 xx"),
    "Liljeholmen": (["Hägersten-Älvsjö"], "stadsdel Liljeholmen"),
    "Skärholmen": (["Skärholmen"], "postal town 127 xx"),
    "Södermalm": (["Södermalm"], "stadsdelsområde Södermalm"),
    "Gamla stan": (["Södermalm"], "stadsdel Gamla stan, in stadsdelsområde Södermalm since 2007"),
    "Östermalm": (["Östermalm"], "stadsdelsområde Östermalm"),
    "Kungsholmen": (["Kungsholmen"], "stadsdelsområde Kungsholmen"),
    "Norrmalm": (["Norrmalm"], "stadsdelsområde Norrmalm"),
    "Vasastan": (["Norrmalm"], "Vasastaden, stadsdelsområde Norrmalm"),
    "Jakobsberg": (["0123"], "Järfälla"),
    "Åkersberga": (["0117"], "Österåker"),
    "Märsta": (["0191"], "Sigtuna"),
    "Tumba": (["0127"], "Botkyrka"),
    "Tullinge": (["0127"], "Botkyrka"),
    "Norsborg": (["0127"], "Botkyrka"),
    "Handen": (["0136"], "Haninge"),
    "Västerhaninge": (["0136"], "Haninge"),
    "Skogås": (["0126"], "Huddinge"),
    "Segeltorp": (["0126"], "Huddinge"),
    "Rönninge": (["0128"], "Salem"),
    "Järna": (["0181"], "Södertälje"),
    "Kungsängen": (["0139"], "Upplands-Bro"),
    "Upplands Väsby": (["0114"], "postal town of Upplands Väsby (municipality spelt Upplands-Väsby in the data)"),
    "Rimbo": (["0188"], "Norrtälje"),
    "Hallstavik": (["0188"], "Norrtälje"),
    "Gustavsberg": (["0120"], "Värmdö"),
    "Saltsjöbaden": (["0182"], "Nacka"),
    "Saltsjö-Boo": (["0182"], "Nacka"),
    "Djursholm": (["0162"], "Danderyd"),
    "Bergshamra": (["0184", "0188"], "two places: Bergshamra in Solna and Bergshamra (postal town) in Norrtälje"),
}  # fmt: skip

# Outside the county: (query, GeoNames place that must exist outside Stockholm County, variant)
OUTSIDE_QUERIES: list[tuple[str, str]] = [
    ("Storgatan 1, Enköping", "Enköping"),
    ("Drottninggatan 10, Norrköping", "Norrköping"),
    ("Kungsgatan 10, 632 20 Eskilstuna", "Eskilstuna"),
    ("Vasagatan 10, 722 15 Västerås", "Västerås"),
    ("Stora Torget 1, Uppsala", "Uppsala"),
    ("Västra Storgatan 5, 611 30 Nyköping", "Nyköping"),
    ("Drottninggatan 5, Gävle", "Gävle"),
    ("Kungsgatan 10, 411 19 Göteborg", "Göteborg"),
    ("Södergatan 5, 211 22 Malmö", "Malmö"),
    ("Västerås", "Västerås"),
    ("Knivsta", "Knivsta"),
    ("Strängnäs", "Strängnäs"),
    ("Uppsala", "Uppsala"),
    ("Enköping", "Enköping"),
    ("Bålsta", "Bålsta"),
    ("Gnesta", "Gnesta"),
    ("Trosa", "Trosa"),
    ("Östhammar", "Östhammar"),
    ("753 20", "Uppsala"),
    ("74630", "Bålsta"),
    ("741 30", "Knivsta"),
]


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


def sha_int(key: str) -> int:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16)


def strip_diacritics(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


STREET_RE = re.compile(r"^(?P<name>\D*?[^\W\d_][^\d,]*?)\s+(?P<num>\d{1,4})(?:\s*(?P<letter>[A-Za-z])(?=\s*(?:$|,)))?")


def parse_street(street: str) -> tuple[str, str] | None:
    """'Drabantgatan 3-5' -> ('Drabantgatan', '3'); 'Skolvägen 20 E' -> ('Skolvägen', '20 E'); None when no number."""
    m = STREET_RE.match(street.strip())
    if not m:
        return None
    name = " ".join(m["name"].split())
    if name.endswith(".") or len(name) < 3:  # abbreviated names ('Skärgårdsstadsv.') are not typed that way
        return None
    number = m["num"] + (f" {m['letter'].upper()}" if m["letter"] else "")
    return name, number


def fmt_postcode(pc: str, compact: bool) -> str:
    digits = pc.replace(" ", "")
    return digits if compact else f"{digits[:3]} {digits[3:]}"


def typo(name: str, key: str) -> str | None:
    """One letter swapped with its neighbour or dropped, deterministic; None for names under 8 letters."""
    if sum(c.isalpha() for c in name) < 8:
        return None
    h = sha_int("typo|" + key)
    positions = [i for i in range(1, len(name) - 1) if name[i].isalpha() and name[i + 1].isalpha()]
    for k in range(len(positions)):
        i = positions[(h + k) % len(positions)]
        if (h >> 8) % 2 == 0:
            if name[i] == name[i + 1]:
                continue
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        return name[:i] + name[i + 1 :]
    return None


@dataclass
class AreaTable:
    by_municipality: dict[str, int]
    by_borough: dict[str, int]
    ids: list[int]

    @classmethod
    def read(cls, path: Path) -> AreaTable:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        muni, boro = {}, {}
        for area in doc["areas"]:
            for code in area.get("municipalities") or []:
                muni[str(code)] = int(area["id"])
            for name in area.get("districts") or []:
                boro[str(name)] = int(area["id"])
        return cls(muni, boro, sorted(int(a["id"]) for a in doc["areas"]))

    def of_member(self, member: str) -> int:
        if member in self.by_municipality:
            return self.by_municipality[member]
        if member in self.by_borough:
            return self.by_borough[member]
        raise KeyError(f"{member!r} is neither a municipality code nor a stadsdelsområde of areas.yaml")

    def of_row(self, code: str, borough: str) -> int:
        return self.by_borough[borough] if code == STOCKHOLM_CODE else self.by_municipality[code]


def join_areas(ids) -> str:
    return ";".join(str(i) for i in sorted(set(ids)))


@dataclass
class Row:
    query: str
    group: str
    truth_areas: str
    variant: str
    label_source: str
    truth_lat: str = ""
    truth_lon: str = ""
    municipality_code: str = ""
    stadsdelsomrade: str = ""
    source: str = ""
    source_id: str = ""

    def as_list(self) -> list[str]:
        return [getattr(self, c) for c in COLUMNS]


# --------------------------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------------------------


def read_register(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_geonames(path: Path) -> tuple[dict[str, dict], dict[str, set[str]], dict[str, set[str]]]:
    """(postcode '12345' -> row, place -> municipality codes, place -> admin1 names)."""
    by_pc: dict[str, dict] = {}
    place_codes: dict[str, set[str]] = defaultdict(set)
    place_admin1: dict[str, set[str]] = defaultdict(set)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if len(f) < 7:
                continue
            row = {"postcode": f[1], "place": f[2], "admin1": f[3], "admin2code": f[6]}
            by_pc.setdefault(f[1].replace(" ", ""), row)
            if f[6]:
                place_codes[f[2]].add(f[6])
            place_admin1[f[2]].add(f[3])
    return by_pc, place_codes, place_admin1


def read_osm_addresses(path: Path) -> list[tuple[str, str, str | None, float, float]]:
    """(street, housenumber, postcode, lat, lon) of addr:street+addr:housenumber nodes and ways (way -> centroid)."""
    import osmium
    import shapely

    out = []
    processor = (
        osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("addr:housenumber"))
    )
    for obj in processor:
        tags = dict(obj.tags)
        if not tags.get("addr:street"):
            continue
        if obj.is_node():
            if not obj.location.valid():
                continue
            lon, lat = obj.location.lon, obj.location.lat
        elif obj.is_way():
            coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if not coords:
                continue
            poly = shapely.Polygon(coords) if obj.is_closed() and len(coords) >= 4 else None
            if poly is not None and poly.is_valid and poly.area > 0:
                lon, lat = poly.centroid.x, poly.centroid.y
            else:
                lon = sum(c[0] for c in coords) / len(coords)
                lat = sum(c[1] for c in coords) / len(coords)
        else:
            continue
        out.append((tags["addr:street"].strip(), tags["addr:housenumber"].strip(), tags.get("addr:postcode"), lat, lon))
    return out


def borough_of_points(path: Path, points: list[tuple[float, float]]) -> list[str | None]:
    """Stockholm stadsdelsområde (field Sdn_omarde) of each (lat, lon), None outside."""
    import pyogrio
    import shapely

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Measured (M) geometry types are not supported"
        gdf = pyogrio.read_dataframe(path).to_crs("EPSG:4326")
    geoms = [shapely.force_2d(g) for g in gdf.geometry.values]
    names = list(gdf["Sdn_omarde"])
    out = []
    for lat, lon in points:
        p = shapely.Point(lon, lat)
        out.append(next((n for g, n in zip(geoms, names) if g.contains(p)), None))
    return out


# --------------------------------------------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------------------------------------------


def suspect_postcodes(rows: list[dict], geonames: dict[str, dict], place_codes: dict[str, set[str]]) -> set[str]:
    """source_ids of register rows whose postcode is not the postcode of their point.

    Skolverket's preschool records often carry the organisation's mailing postcode (a municipality's or a
    company's box/large-receiver code such as 151 89, 136 81, 111 61) instead of the street's. Flagged:

    - a Stockholm box/large-receiver postcode (100 00-109 99), never a street's;
    - the postcode is unknown to GeoNames, or GeoNames puts it in another municipality (its row's municipality
      code, else the codes of its place name, else the register's own postal towns);
    - the row lies more than SPREAD_KM from the median point of the other rows with the same postcode;
    - the postcode has >= 5 rows whose median distance from the others' median exceeds ADMIN_SPREAD_KM
      (an administrative postcode used all over a municipality): all its rows.
    """
    town_codes: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r["postal_town"]:
            town_codes[r["postal_town"]].add(r["municipality_code"])
    out = set()
    for r in rows:
        g = geonames.get(r["postcode"].replace(" ", ""))
        if g is None or r["postcode"][:2] == "10":
            out.add(r["source_id"])
            continue
        codes = {g["admin2code"]} if g["admin2code"] else place_codes.get(g["place"]) or town_codes.get(g["place"])
        if codes and r["municipality_code"] not in codes:
            out.add(r["source_id"])
    by_pc: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_pc[r["postcode"]].append(r)
    for members in by_pc.values():
        if len(members) < 2:
            continue
        xy = [_km(r) for r in members]
        dists = []
        for i, r in enumerate(members):
            others = xy[:i] + xy[i + 1 :]
            mx = _median([p[0] for p in others])
            my = _median([p[1] for p in others])
            dist = ((xy[i][0] - mx) ** 2 + (xy[i][1] - my) ** 2) ** 0.5
            dists.append(dist)
            if dist > SPREAD_KM:
                out.add(r["source_id"])
        if len(members) >= 5 and _median(dists) > ADMIN_SPREAD_KM:
            out |= {r["source_id"] for r in members}
    return out


def _km(r: dict) -> tuple[float, float]:
    """Equirectangular km at the county's latitude (good to ~1 % over the county)."""
    return float(r["lon"]) * 111.32 * 0.5105, float(r["lat"]) * 110.57


def _median(values: list[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def street_point_mismatch(rows: list[dict], raw: Path) -> set[str]:
    """source_ids of register rows whose street is not where their point is (the label would be wrong).

    Some preschool records give the organisation's office address with the preschool's point (e.g.
    "Observatoriegatan 21" at a point in Enskede, "Igeldammsgatan 22" at a point on Södermalm). Flagged:

    - the same street name in the same municipality has another register row, and the nearest such row is more than
      SAME_STREET_KM away (a pair far apart: both, as neither can be trusted);
    - the point lies inside the inner-city OSMnx network's extent, the street name is in that network, and the
      nearest piece of that street is more than NETWORK_STREET_M from the point.
    """
    import ast

    import pyogrio
    import shapely
    from pyproj import Transformer

    parsed = {r["source_id"]: parse_street(r["street"]) for r in rows}
    out = set()
    same: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if parsed[r["source_id"]]:
            same[(parsed[r["source_id"]][0].lower(), r["municipality_code"])].append(r)
    for members in same.values():
        xy = [_km(r) for r in members]
        for i, r in enumerate(members):
            others = [((x - xy[i][0]) ** 2 + (y - xy[i][1]) ** 2) ** 0.5 for j, (x, y) in enumerate(xy) if j != i]
            if others and min(others) > SAME_STREET_KM:
                out.add(r["source_id"])

    path = raw / STREET_NETWORK_FILE
    if not path.exists():
        return out
    edges = pyogrio.read_dataframe(f"/vsitar/{path}/edges.shp", columns=["name"]).to_crs("EPSG:3006")
    pieces: dict[str, list] = defaultdict(list)
    for value, geom in zip(edges["name"], edges.geometry.values):
        if isinstance(value, str) and geom is not None:
            for name in ast.literal_eval(value) if value.startswith("[") else [value]:
                pieces[name.lower()].append(geom)
    minx, miny, maxx, maxy = edges.total_bounds
    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    for r in rows:
        p = parsed[r["source_id"]]
        if not p or p[0].lower() not in pieces:
            continue
        x, y = to_metric.transform(float(r["lon"]), float(r["lat"]))
        if not (minx + 500 < x < maxx - 500 and miny + 500 < y < maxy - 500):
            continue
        street = shapely.union_all(pieces[p[0].lower()])
        if street.distance(shapely.Point(x, y)) > NETWORK_STREET_M:
            out.add(r["source_id"])
    return out


def _address_key(r: dict) -> tuple[str, str]:
    """Street name and house number folded for twin detection: case, diacritics, spaces and the letter ignored."""
    name, number = parse_street(r["street"])
    return strip_diacritics(name).lower().replace(" ", ""), number.split()[0]


def holdout(rows: list[dict], eligible: set[str]) -> list[dict]:
    """~25 % of all rows by SHA-1(source_id) order, topped up to >= 4 per municipality and per stadsdelsområde."""
    order = sorted(
        (r for r in rows if r["source_id"] in eligible), key=lambda r: hashlib.sha1(r["source_id"].encode()).hexdigest()
    )
    target = round(HOLDOUT_SHARE * len(rows))
    chosen = {r["source_id"] for r in order[:target]}
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in order:
        groups[("m", r["municipality_code"])].append(r)
        if r["stadsdelsomrade"]:
            groups[("s", r["stadsdelsomrade"])].append(r)
    for key in sorted(groups):
        members = groups[key]
        have = sum(r["source_id"] in chosen for r in members)
        for r in members:
            if have >= MIN_PER_GROUP:
                break
            if r["source_id"] not in chosen:
                chosen.add(r["source_id"])
                have += 1
    return [r for r in order if r["source_id"] in chosen]


def register_rows(held: list[dict], areas: AreaTable, suspect: set[str]) -> list[Row]:
    out: list[Row] = []
    formats = ("full", "no_postcode", "street_only", "no_town")
    for r in held:
        name, number = parse_street(r["street"])
        town = r["postal_town"] or r["municipality"]
        pc_ok = r["source_id"] not in suspect
        h = sha_int("variants|" + r["source_id"])

        def render(fmt: str) -> tuple[str, str]:
            if not pc_ok and fmt == "full":
                fmt = "no_postcode"
            if not pc_ok and fmt == "no_town":
                fmt = "street_only"
            base = f"{name} {number}"
            text = {
                "full": f"{base}, {fmt_postcode(r['postcode'], False)} {town}",
                "no_postcode": f"{base}, {town}",
                "no_town": f"{base}, {fmt_postcode(r['postcode'], True)}",
                "street_only": base,
            }[fmt]
            return fmt, text

        primary = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3][h % 10]
        queries: list[tuple[str, str]] = [render(formats[primary])]
        if (h // 10) % 100 < 30:  # a second form, lower case or without diacritics
            fmt, text = render(formats[(primary + 1 + (h // 1000) % 3) % 4])
            plain = strip_diacritics(text)
            if plain != text and (h // 10_000) % 2:
                queries.append(("no_diacritics", plain))
            else:
                queries.append(("lowercase", text.lower()))
        if (h // 100_000) % 10 == 0:  # ~10 %: a typo in the street name
            wrong = typo(name, r["source_id"])
            if wrong:
                fmt, text = render("full" if (h // 1_000_000) % 2 else "no_postcode")
                queries.append(("typo", text.replace(name, wrong, 1)))
        seen = set()
        area = areas.of_row(r["municipality_code"], r["stadsdelsomrade"])
        for variant, text in queries:
            if text in seen:
                continue
            seen.add(text)
            out.append(
                Row(
                    query=text, group="register_holdout", truth_areas=str(area), variant=variant,
                    label_source="register point (Skolverket); area of its municipality/stadsdelsområde label",
                    truth_lat=r["lat"], truth_lon=r["lon"], municipality_code=r["municipality_code"],
                    stadsdelsomrade=r["stadsdelsomrade"], source=r["source"], source_id=r["source_id"],
                )
            )  # fmt: skip
    return out


def osm_rows(raw: Path, areas: AreaTable) -> list[Row]:
    addresses = read_osm_addresses(raw / OSM_FILE)
    unique = {}
    for street, number, postcode, lat, lon in addresses:
        unique.setdefault((street, number), (postcode, lat, lon))
    keys = sorted(unique, key=lambda k: hashlib.sha1(f"{k[0]}|{k[1]}".encode()).hexdigest())
    boroughs = borough_of_points(raw / BOROUGHS_FILE, [(unique[k][1], unique[k][2]) for k in keys])
    out = []
    for (street, number), borough in zip(keys, boroughs):
        if borough is None or borough not in areas.by_borough or len(out) >= OSM_ROWS:
            continue
        postcode, lat, lon = unique[(street, number)]
        h = sha_int(f"osm|{street}|{number}")
        if postcode and re.fullmatch(r"\d{3} ?\d{2}", postcode) and h % 3 == 0:
            variant, query = "full", f"{street} {number}, {fmt_postcode(postcode, False)} Stockholm"
        elif h % 3 == 1:
            variant, query = "street_only", f"{street} {number}"
        else:
            variant, query = "no_postcode", f"{street} {number}, Stockholm"
        out.append(
            Row(
                query=query, group="osm_in_register", truth_areas=str(areas.of_member(borough)), variant=variant,
                label_source=f"OSM addr:* point; area of the stadsdelsområde polygon it lies in ({borough})",
                truth_lat=f"{lat:.7f}", truth_lon=f"{lon:.7f}", municipality_code=STOCKHOLM_CODE,
                stadsdelsomrade=borough, source=f"osm:{OSM_FILE}",
            )
        )  # fmt: skip
    return out


def postcode_rows(rows: list[dict], areas: AreaTable, suspect: set[str]) -> list[Row]:
    by_pc: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["source_id"] not in suspect:
            by_pc[r["postcode"]].append(r)
    info = {}
    for pc, members in by_pc.items():
        ids = {areas.of_row(m["municipality_code"], m["stadsdelsomrade"]) for m in members}
        info[pc] = (ids, members)
    chosen: list[str] = sorted(pc for pc, (ids, _) in info.items() if len(ids) > 1)
    per_area: dict[int, list[str]] = defaultdict(list)
    for pc in sorted(info, key=lambda p: hashlib.sha1(p.encode()).hexdigest()):
        ids, members = info[pc]
        if len(ids) == 1 and len(members) >= 2:
            per_area[next(iter(ids))].append(pc)
    for area in areas.ids:
        chosen += per_area[area][:POSTCODES_PER_AREA]
    if "177 30" in info and "177 30" not in chosen:
        chosen.append("177 30")
    out = []
    for pc in chosen:
        ids, members = info[pc]
        compact = sha_int("pc|" + pc) % 2 == 1
        out.append(
            Row(
                query=fmt_postcode(pc, compact), group="postcode", truth_areas=join_areas(ids), variant="postcode_only",
                label_source=f"areas of the {len(members)} register rows with this postcode (may miss parts of it)",
                municipality_code=";".join(sorted({m["municipality_code"] for m in members})),
                stadsdelsomrade=";".join(sorted({m["stadsdelsomrade"] for m in members if m["stadsdelsomrade"]})),
                source=REGISTER_FILE,
            )
        )  # fmt: skip
    return out


def town_rows(rows: list[dict], areas: AreaTable, district_table: dict[str, str]) -> list[Row]:
    knowledge: dict[str, tuple[list[str], str]] = {}
    for r in sorted(rows, key=lambda r: r["municipality_code"]):
        knowledge.setdefault(r["municipality"], ([r["municipality_code"]], "municipality name"))
    for town, value in TOWN_KNOWLEDGE.items():
        if town in knowledge and town != "Stockholm":
            continue  # a municipality name: the municipality is the label
        knowledge[town] = value
    out = []
    for town in sorted(knowledge, key=lambda t: (strip_diacritics(t).lower(), t)):
        members, note = knowledge[town]
        members = list(members)
        sources = [f"knowledge: {note}"]
        evidence = [r for r in rows if (r["postal_town"] or "").lower() == town.lower()]
        if evidence and not (town == "Stockholm"):
            extra = sorted({r["stadsdelsomrade"] or r["municipality_code"] for r in evidence} - set(members))
            members += extra
            added = f" (added {', '.join(extra)})" if extra else ""
            sources.append(f"{len(evidence)} register row(s) with this postal town{added}")
        borough = district_table.get(town.upper())
        if borough and borough not in members and town != "Stockholm":
            members.append(borough)
            sources.append(f"stadsdel {town} -> {borough} (derived table)")
        ids = {areas.of_member(m) for m in members}
        codes = {m for m in members if m in areas.by_municipality}
        if any(m in areas.by_borough for m in members):
            codes.add(STOCKHOLM_CODE)
        out.append(
            Row(
                query=town, group="town", truth_areas=join_areas(ids), variant="town_only",
                label_source="; ".join(sources), municipality_code=";".join(sorted(codes)),
                stadsdelsomrade=";".join(sorted(m for m in members if m in areas.by_borough)),
            )
        )  # fmt: skip
    return out


def outside_rows(geonames: dict[str, dict], place_admin1: dict[str, set[str]]) -> list[Row]:
    out = []
    for query, place in OUTSIDE_QUERIES:
        admin1 = place_admin1.get(place, set())
        if not admin1 or "Stockholm" in admin1:
            raise SystemExit(f"{place}: not a GeoNames place outside Stockholm County")
        for pc in re.findall(r"\b(\d{3}) ?(\d{2})\b", query):
            g = geonames.get("".join(pc))
            if g is None or g["admin1"] == "Stockholm" or g["place"] != place:
                raise SystemExit(f"{query}: postcode not a GeoNames postcode of {place}")
        out.append(
            Row(
                query=query, group="outside", truth_areas=OUTSIDE, variant="out_of_county",
                label_source=f"GeoNames: {place} lies in {', '.join(sorted(admin1))} county (län), not Stockholm",
                source=POSTCODES_FILE,
            )
        )  # fmt: skip
    return out


def issue_rows(areas: AreaTable, register_points: dict[tuple[str, str], tuple[str, str]]) -> list[Row]:
    out = []
    for query, members, note in ISSUE_QUERIES:
        if members == [OUTSIDE]:
            truth, codes, boroughs = OUTSIDE, "", ""
        else:
            truth = join_areas(areas.of_member(m) for m in members)
            boroughs = ";".join(m for m in members if m in areas.by_borough)
            codes = ";".join(sorted({m for m in members if m in areas.by_municipality}
                                    | ({STOCKHOLM_CODE} if boroughs else set())))  # fmt: skip
        parsed = parse_street(query.split(",")[0])
        lat, lon = register_points.get(parsed, ("", "")) if parsed else ("", "")
        out.append(
            Row(
                query=query, group="issue", truth_areas=truth, variant="issue",
                label_source=f"issue 10 text; {note}" + ("; point from the register" if lat else ""),
                truth_lat=lat, truth_lon=lon, municipality_code=codes, stadsdelsomrade=boroughs,
            )
        )  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------------------------


def build(raw: Path, areas_file: Path) -> tuple[list[Row], dict]:
    areas = AreaTable.read(areas_file)
    rows = read_register(raw / REGISTER_FILE)
    geonames, place_codes, place_admin1 = read_geonames(raw / POSTCODES_FILE)
    suspect = suspect_postcodes(rows, geonames, place_codes)

    # Addresses the OSM files of the register also hold: holding them out would measure nothing.
    osm_keys = set()
    for name in OSM_FILES_IN_REGISTER:
        path = raw / name
        if path.exists():
            for street, number, *_ in read_osm_addresses(path):
                osm_keys.add((strip_diacritics(street).lower(), number.lower().replace(" ", "")))
    mismatch = street_point_mismatch(rows, raw)
    # Street + number shared by several register rows (other postcode, "43" and "43 A", "Tors väg"/"Torsväg"):
    # holding one out would leave its twin in the register.
    twins = Counter(_address_key(r) for r in rows if parse_street(r["street"]))
    eligible = set()
    for r in rows:
        parsed = parse_street(r["street"])
        if parsed and r["source_id"] not in mismatch and twins[_address_key(r)] == 1 and (strip_diacritics(parsed[0]).lower(), parsed[1].lower().replace(" ", "")) not in osm_keys:
            eligible.add(r["source_id"])

    with open(raw / DISTRICT_TABLE_FILE, newline="", encoding="utf-8") as fh:
        district_table = {d["stadsdel"]: d["stadsdelsomrade"] for d in csv.DictReader(fh)}
    register_points = {}
    for r in rows:
        parsed = parse_street(r["street"])
        if parsed:
            register_points.setdefault(parsed, (r["lat"], r["lon"]))

    held = holdout(rows, eligible)
    out = register_rows(held, areas, suspect)
    out += osm_rows(raw, areas)
    out += postcode_rows(rows, areas, suspect | mismatch)
    out += town_rows(rows, areas, district_table)
    out += outside_rows(geonames, place_admin1)
    out += issue_rows(areas, register_points)
    stats = {
        "register_rows": len(rows),
        "eligible": len(eligible),
        "held_out": len(held),
        "postcode_suspect": len(suspect),
        "mismatch": len(mismatch),
        "target": round(HOLDOUT_SHARE * len(rows)),
        "osm_boroughs": ", ".join(
            f"{b}: {n} rows, area {areas.of_member(b)}"
            for b, n in sorted(counts([r for r in out if r.group == "osm_in_register"], "stadsdelsomrade").items())
        ),
    }
    return out, stats


def to_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(r.as_list())
    return buf.getvalue()


def counts(rows: list[Row], key: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        out[getattr(r, key)] += 1
    return dict(out)


def readme(rows: list[Row], stats: dict) -> str:
    by_group = counts(rows, "group")
    by_variant = counts(rows, "variant")
    group_table = "\n".join(f"| `{g}` | {by_group.get(g, 0)} |" for g in GROUPS)
    variant_table = "\n".join(f"| `{v}` | {by_variant.get(v, 0)} |" for v in VARIANTS if by_variant.get(v))
    return README_TEMPLATE.format(
        n=len(rows), group_table=group_table, variant_table=variant_table, command=COMMAND,
        share=int(HOLDOUT_SHARE * 100), min_per=MIN_PER_GROUP, osm_rows=OSM_ROWS, per_area=POSTCODES_PER_AREA,
        spread_km=SPREAD_KM, admin_km=ADMIN_SPREAD_KM, same_km=SAME_STREET_KM, network_m=NETWORK_STREET_M,
        **stats,
    )  # fmt: skip


README_TEMPLATE = """\
# Geocoding quality benchmark (issue 10)

`geocode_benchmark.csv`: {n} labelled queries, written by `{command}`. Deterministic: the same raw
files and `data/areas.yaml` give the same bytes (`tests/bench/test_geocode_benchmark_data.py` checks it). Do not edit
by hand; change the script and regenerate. Measured by `.venv/bin/python bench/bench_geocode_quality.py`.

**The `source_id` column is read by the geocoder's register reader** (`Settings.address_exclude_file`): register
rows whose `source_id` is listed here are left out of the register, so the held-out points are never in the data the
geocoder searches. It is filled only for `register_holdout` rows and stays empty for every other row.

## Columns

| column | meaning |
|---|---|
| `query` | the text as a referrer would type it |
| `group` | where the row comes from (below) |
| `truth_areas` | the true ASIH area id(s), `;`-joined, or `outside` (outside Stockholm County). Several ids: the query spans several areas; a correct answer is *uncertain* and lists at least those areas |
| `truth_lat`, `truth_lon` | the true point (WGS84) when the truth is a point, else empty |
| `municipality_code`, `stadsdelsomrade` | the labels behind `truth_areas` (`;`-joined sets for postcodes and towns) |
| `source`, `source_id` | the raw record (`source_id` only for held-out register rows) |
| `label_source` | where the label comes from |
| `variant` | how the query is written (below) |

Area ids come from `data/areas.yaml` (members by municipality code and by Stockholm stadsdelsområde). The script
hard-codes no area table: a new area file means regenerating this CSV, and the labels follow it.

## Groups

| group | rows |
|---|---|
{group_table}

- **`register_holdout`**: rows of the Skolverket address register `stockholm-county-address-points-2025.csv`
  ({register_rows} rows, read-only in `../shared/data/raw/`). Eligible: the `street` field has a street name and a
  house number, and the same street + number is not also in one of the OSM address files of the register (it would be
  found anyway), no other register row has the same street and number (e.g. with another postcode, or "43" and
  "43 A": the twin would stay in the register), and the street is where the point is: {eligible} rows. Rows like "Muskö Skola", "Brunnsgatan" (no
  number) or abbreviated names are not eligible, nor the {mismatch} rows whose street is not at their point (some
  preschool records give the organisation's office address with the preschool's point, e.g. "Observatoriegatan 21"
  at a point in Enskede): flagged by `street_point_mismatch` when the nearest other register row with the same
  street name in the same municipality is more than {same_km:g} km away (both rows of a pair), or when the point
  is inside the inner-city OSMnx network's extent and that network's street of that name is more than
  {network_m:g} m away. Labels can still be wrong where neither check reaches: look at the row before blaming
  the geocoder for a confidently wrong answer. Eligible rows are ordered by the SHA-1 of `source_id`; the first {target} ({share} % of the whole
  register) are held out, then each of the 26 municipalities and each of Stockholm's 13 stadsdelsområden is topped
  up to at least {min_per} rows, again in SHA-1 order: {held_out} rows held out.
  The label is the row's own point and its `municipality_code`/`stadsdelsomrade`, derived by the data's publisher from
  the point with the Lantmäteriet and Stockholms stad polygons (every row lies ≥ 250 m from a border), mapped to an
  area with `areas.yaml`.
  Each row gives one to three queries. Street ranges "3-5" are typed as "3", letters as "20 E"; the town is
  `postal_town` when given, else the municipality name. The first form is one of `full` / `no_postcode` /
  `street_only` / `no_town`, chosen by the SHA-1 of the id (40/20/20/20 %); ~30 % get a second form in lower case
  or without diacritics, and ~10 % a street-name typo.
  The postcode is left out of the queries of the {postcode_suspect} register rows whose postcode is not their point's:
  Skolverket's postcodes are "nearly always right, not always", and many preschool records carry the organisation's
  mailing postcode (a municipality's or a company's large-receiver code such as 151 89 Södertälje, 136 81 Haninge or
  111 61 Stockholm, used by dozens of preschools all over the municipality or city). Flagged (`suspect_postcodes`):
  a Stockholm box/large-receiver postcode (100 00–109 99); a postcode unknown to GeoNames or that GeoNames puts in
  another municipality; a row more than {spread_km:g} km from the median point of the other rows with its postcode;
  every row of a postcode with ≥ 5 rows spread more than {admin_km:g} km (median).
- **`osm_in_register`**: {osm_rows} addresses (`addr:street` + `addr:housenumber`; a node's point, or a way's polygon
  centroid as the register reader computes it) from `stockholm-sodermalm-sample-2020.osm.pbf`: the first in SHA-1
  order of "street|number" that lie in a stadsdelsområde polygon of `stockholm-stadsdelsomraden-2020.shp`
  ({osm_boroughs}). This file is part of the geocoder's register by default, so these rows measure the lookup of
  registered addresses (no `source_id`).
- **`postcode`**: postcode-only queries (`177 30` or `17730`, by SHA-1). Label: the set of areas of all register
  rows carrying that postcode (rows with a flagged postcode or street excluded). Chosen: every postcode whose rows span several
  areas, then the first {per_area} postcodes per area in SHA-1 order with ≥ 2 rows, and `177 30`. A postcode region is
  larger than the points sampled from it, so a label may miss an area the postcode also reaches.
- **`town`**: town-only queries. The 26 municipality names of the register (label: that municipality's area); postal
  towns, localities and Stockholm district names labelled from knowledge (`TOWN_KNOWLEDGE` in the script, written
  as municipality codes and stadsdelsområden), united with the areas of the register rows that carry that
  `postal_town`, and with the stadsdel → stadsdelsområde table when the name is a stadsdel. "Stockholm" is the city:
  all its stadsdelsområden. "Bergshamra" names places in Solna and in Norrtälje.
- **`outside`**: real towns, streets and postcodes outside the county (Enköping, Norrköping, Västerås, Knivsta,
  Bålsta, Strängnäs, Uppsala, …). Every place is checked in GeoNames to lie in another county, every postcode to be
  that place's. Several of the streets also exist in Stockholm (Kungsgatan, Drottninggatan, Vasagatan, Storgatan):
  a geocoder that drops the town answers confidently wrong.
- **`issue`**: the queries quoted in issue 10, verbatim, labelled by where they lie (`ISSUE_QUERIES` in the script
  has a note on each). Västerlånggatan and Stora Nygatan are in Gamla stan, part of stadsdelsområde Södermalm since
  2007 (Västerlånggatan is a pedestrian street, absent from the drive network); Johanneshov's postal town reaches
  Skarpnäck (both area 3).

## Variants

| variant | rows |
|---|---|
{variant_table}

`full` = "Street N, 123 45 Town"; `no_postcode` = "Street N, Town"; `no_town` = "Street N, 12345"; `street_only` =
"Street N"; `lowercase` / `no_diacritics` = one of those forms in lower case / without å ä ö é; `typo` = one letter
swapped with its neighbour or dropped in a street name of ≥ 8 letters (in a `full` or `no_postcode` form);
`postcode_only`, `town_only`, `out_of_county`, `issue` as the groups.

## Licences

- Skolverket open data (skolenhetsregistret, planned-educations API), via public caches of those API answers: the
  held-out register rows (the unit names are not copied; only street, postcode, town, point and labels).
- © OpenStreetMap contributors, ODbL 1.0: the `osm_in_register` rows are a derived database; attribute
  OpenStreetMap, and share changes to these rows under the ODbL.
- GeoNames postal codes, CC BY 4.0: used to check postcodes and out-of-county places.
- Lantmäteriet (municipality polygons, open data) and Stockholms stad (stadsdelsområden and stadsdelar, CC0): behind
  the municipality and stadsdelsområde labels.
- The derived labels, the query strings and this README: the project's own work.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "data", help="Output directory.")
    parser.add_argument("--raw", type=Path, default=None, help="Raw data directory (default: the settings').")
    parser.add_argument("--areas", type=Path, default=None, help="Area file (default: the settings').")
    args = parser.parse_args(argv)
    settings = get_settings()
    raw = args.raw or settings.data_dir
    rows, stats = build(raw, args.areas or settings.areas_file)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "geocode_benchmark.csv").write_text(to_csv(rows), encoding="utf-8")
    (args.out / "README.md").write_text(readme(rows, stats), encoding="utf-8")
    print(f"{len(rows)} queries -> {args.out / 'geocode_benchmark.csv'}; {stats}")
    print("groups:", counts(rows, "group"))
    print("variants:", counts(rows, "variant"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

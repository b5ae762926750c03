"""The geocoder's index (:mod:`geo.geocode.index`) built once at prepare time from the raw sources.

:func:`build_index` reads the raw sources (see :mod:`geo.geocode.sources`) and writes one cache entry under
``settings.cache_dir / "geocoder"``; :func:`geo.geocode.index_io.load_index` reads it back (:mod:`core.cache`: the
entry is rebuilt, or refused, when its inputs — the raw files and this builder's own code — have changed). Streets
are grouped by name and clustered in space, postcodes placed at their addresses, places taken from GeoNames, the
municipalities and Stockholm's districts and boroughs; all distances in EPSG:3006 metres.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import shapely
from scipy.cluster.hierarchy import DisjointSet
from scipy.spatial import cKDTree

from geo import boundaries
from core.crs import to_metric, to_wgs84
from geo.geocode.index import GeocoderIndex, Place, Postcode, Street
from geo.geocode.index_io import ENTRY_NAME, load_or_build_index
from geo.geocode.normalize import (
    expand_housenumbers,
    fold,
    postcode_key,
    postcode_label,
)
from geo.geocode.postal_towns import load_postal_towns
from geo.geocode.sources import (
    address_files,
    load_exclude_ids,
    read_addresses,
    read_postcode_municipalities,
    read_postcodes,
    read_street_network,
)
from core.settings import COUNTY_CODE, STOCKHOLM_CODE, Settings

STREET_CLUSTER_M = 1000.0
"""Pieces of same-named streets closer than this (m, between piece midpoints) are one street."""
STREET_POSTCODE_RADIUS_M = 1500.0
"""A street records the postcodes whose GeoNames centroid lies within this distance (m) of its point."""
MAX_STREET_POSTCODES = 8
PLACE_KIND_PRIORITY = {"locality": 0, "district": 1, "borough": 2, "municipality": 3}
"""When a name is several kinds of place in one municipality, the first kind here gives the point."""


def build_index(settings: Settings, progress: bool = True) -> Path:
    """Build the geocoder index from the raw sources and save it; return the cache entry directory.

    Skips the work when an entry built from identical inputs exists. Reads ``postcodes_file``,
    ``street_network_file``, the address files (:func:`geo.geocode.sources.address_files`), ``municipalities_file``,
    ``districts_file`` and ``boroughs_file``.
    """
    entry = settings.cache_dir / ENTRY_NAME
    built = []
    load_or_build_index(settings, rebuild=True, build=lambda: built.append(1) or build_index_data(settings, progress))
    if not built:
        _say(progress, f"geocoder index is up to date: {entry}")
    return entry


def build_index_data(settings: Settings, progress: bool = True) -> GeocoderIndex:
    """The index built from the raw sources, not saved (:func:`build_index` saves it)."""
    start = time.perf_counter()
    municipalities = boundaries.load_all_municipalities(settings).dissolve(by="code", aggfunc="first", as_index=False)
    postcode_df = read_postcodes(settings.raw(settings.postcodes_file))
    postcode_df = _fill_municipality_codes(postcode_df, municipalities)
    lines = read_street_network(settings.raw(settings.street_network_file))
    exclude = load_exclude_ids(settings.address_exclude_file)
    more_lines, addresses = read_addresses(address_files(settings), exclude_ids=exclude)
    addresses, dropped = _check_postcodes(addresses, postcode_df, settings, municipalities)
    _say(progress, f"register postcodes that disagree with their own point (not used): {dropped}")
    postcodes = _postcodes(postcode_df, addresses)
    _say(progress, f"postcodes: {len(postcodes)}")
    _say(progress, f"street pieces: {len(lines)} + {len(more_lines)}, addresses: {len(addresses)}")
    districts = boundaries.load_districts(settings)
    streets = _streets(lines + more_lines, addresses, postcodes, municipalities, districts)
    _say(progress, f"streets: {len(streets)}")
    places = _places(postcode_df, municipalities, districts, boundaries.load_boroughs(settings))
    _say(progress, f"places: {len(places)}")
    table = (read_postcode_municipalities(settings.raw(settings.postcode_municipality_file))
             if settings.postcode_municipality_file else {})
    _say(progress, f"postcode table: {len(table)} postcodes ({sum(c[:2] == COUNTY_CODE for c, _ in table.values())} "
                   "in the county)")
    index = GeocoderIndex(streets=streets, places=places, postcodes=postcodes, postcode_table=table)
    _say(progress, f"geocoder index built in {time.perf_counter() - start:.1f} s")
    return index


def _fill_municipality_codes(df, municipalities):
    """GeoNames leaves ``admin2code`` empty on some rows; take it from the municipality polygon under the point."""
    df = df.copy()
    df["admin2code"] = df["admin2code"].str.strip().str.zfill(4).where(df["admin2code"].str.strip() != "", "")
    missing = df.index[df["admin2code"] == ""]
    if len(missing):
        x, y = to_metric(df.loc[missing, "lat"].to_numpy(), df.loc[missing, "lon"].to_numpy())
        tree = shapely.STRtree(municipalities.geometry.values)
        codes = []
        for px, py in zip(x, y):
            hit = _containing(tree, shapely.Point(px, py), municipalities.geometry.values)
            codes.append(municipalities["code"].iloc[hit] if hit is not None else "")
        df.loc[missing, "admin2code"] = codes
    return df


def _check_postcodes(addresses, postcode_df, settings: Settings, municipalities):
    """Registers carry wrong postcodes too (an organisation's office postcode on all its sites): a postcode whose
    postal town (``settings.postal_towns_file``) does not cover the address's own point is dropped from that address,
    so it can neither define the postcode's area nor pick a street. Returns the addresses and the count dropped."""
    towns = load_postal_towns(settings.postal_towns_file)
    town_of = dict(zip(postcode_df["key"], postcode_df["place"]))
    keyed = [(i, postcode_key(a.postcode or "")) for i, a in enumerate(addresses)]
    keyed = [(i, k) for i, k in keyed if k]
    if not keyed:
        return addresses, 0
    pts = shapely.points([(addresses[i].x, addresses[i].y) for i, _ in keyed])
    mun_tree = shapely.STRtree(municipalities.geometry.values)
    src, dst = mun_tree.query(pts, predicate="intersects")
    mun = dict(zip(src.tolist(), municipalities["code"].to_numpy()[dst]))
    boroughs = boundaries.load_boroughs(settings)
    b_src, b_dst = shapely.STRtree(boroughs.geometry.values).query(pts, predicate="intersects")
    borough = dict(zip(b_src.tolist(), boroughs["name"].to_numpy()[b_dst]))
    out, dropped = list(addresses), 0
    for j, (i, key) in enumerate(keyed):
        town = towns.get(town_of.get(key) or addresses[i].city or "")
        code = mun.get(j)
        if town is None or code is None:
            continue
        ok = code in town.municipality_codes and (
            code != STOCKHOLM_CODE or not town.boroughs or borough.get(j) in town.boroughs)
        if not ok:
            out[i] = replace(out[i], postcode=None, city=None)
            dropped += 1
    return out, dropped


def _postcodes(df, addresses) -> dict[str, Postcode]:
    x, y = to_metric(df["lat"].to_numpy(), df["lon"].to_numpy())
    shared = df.groupby(["lat", "lon"])["key"].transform("size").to_numpy()
    from_addresses: dict[str, list[tuple[float, float]]] = defaultdict(list)
    towns: dict[str, str] = {}
    for address in addresses:
        key = postcode_key(address.postcode or "")
        if key and address.city:
            towns.setdefault(key, address.city)
        if key:
            from_addresses[key].append((address.x, address.y))
    out = {}
    for row, px, py, n in zip(df.itertuples(index=False), x, y, shared):
        label = f"{postcode_label(row.key)} {row.place}".strip()
        code = row.admin2code
        lat, lon, points = row.lat, row.lon, from_addresses.get(row.key, [])
        if points:
            px, py = np.mean(points, axis=0)
            lat, lon = to_wgs84(px, py)
        out[row.key] = Postcode(row.key, label, float(lat), float(lon), float(px), float(py), code,
                                code[:2] == COUNTY_CODE, int(n), len(points), str(row.place),
                                np.asarray(points, dtype=float).reshape(-1, 2))
    # Postcodes the register knows but GeoNames does not.
    for key, points in from_addresses.items():
        if key in out:
            continue
        xy = np.asarray(points, dtype=float).reshape(-1, 2)
        px, py = xy.mean(axis=0)
        lat, lon = to_wgs84(px, py)
        town = towns.get(key, "")
        out[key] = Postcode(key, f"{postcode_label(key)} {town}".strip(), float(lat), float(lon), float(px), float(py),
                            "", key[:3].isdigit() and _county_prefix(key), 1, len(xy), town, xy)
    return out


def _county_prefix(key: str) -> bool:
    """Stockholm County's postcodes start with 100–199 or 760–764."""
    head = int(key[:3])
    return 100 <= head <= 199 or 760 <= head <= 764


def _streets(lines, addresses, postcodes, municipalities, districts) -> list[Street]:
    """Group pieces by folded name, cluster them in space, and give each cluster a point and context."""
    # (name, x, y, address or None, half the piece's length in m: how far the piece reaches from its midpoint)
    pieces: dict[str, list[tuple[str, float, float, object, float]]] = defaultdict(list)
    for line in lines:
        geom = shapely.LineString(line.coords) if len(line.coords) > 1 else None
        mid = geom.interpolate(0.5, normalized=True) if geom is not None else None
        x, y = (mid.x, mid.y) if mid is not None else tuple(line.coords[0])
        pieces[fold(line.name)].append((line.name, x, y, None, geom.length / 2 if geom is not None else 0.0))
    for address in addresses:
        pieces[fold(address.street)].append((address.street, address.x, address.y, address, 0.0))
    pieces.pop("", None)

    pc_keys = [k for k, p in postcodes.items() if not p.coarse]
    pc_tree = cKDTree(np.array([(postcodes[k].x, postcodes[k].y) for k in pc_keys]))
    mun_tree = shapely.STRtree(municipalities.geometry.values)
    dist_tree = shapely.STRtree(districts.geometry.values)
    raw: list[dict] = []
    for group in pieces.values():
        xy = np.array([(p[1], p[2]) for p in group])
        sets = DisjointSet(range(len(group)))
        for i, j in cKDTree(xy).query_pairs(STREET_CLUSTER_M):
            sets.merge(i, j)
        for members in sets.subsets():
            members = sorted(members)
            sub = xy[members]
            rep = members[int(np.argmin(((sub - sub.mean(axis=0)) ** 2).sum(axis=1)))]
            x, y = xy[rep]
            point = shapely.Point(x, y)
            mun = _containing(mun_tree, point, municipalities.geometry.values)
            code = municipalities["code"].iloc[mun] if mun is not None else ""
            mun_name = municipalities["name"].iloc[mun] if mun is not None else ""
            dis = _containing(dist_tree, point, districts.geometry.values) if code == STOCKHOLM_CODE else None
            district = districts["name"].iloc[dis] if dis is not None else None
            near = sorted(pc_tree.query_ball_point((x, y), STREET_POSTCODE_RADIUS_M),
                          key=lambda k: (postcodes[pc_keys[k]].x - x) ** 2 + (postcodes[pc_keys[k]].y - y) ** 2)
            codes = [pc_keys[k] for k in near[:MAX_STREET_POSTCODES]]
            houses: dict[str, tuple[float, float]] = {}
            context = {fold(mun_name), fold(district or "")}
            for i in members:
                address = group[i][3]
                if address is None:
                    continue
                lat, lon = to_wgs84(address.x, address.y)
                for number in expand_housenumbers(address.housenumber):
                    houses.setdefault(number, (float(lat), float(lon)))
                key = postcode_key(address.postcode or "")
                if key and key not in codes:
                    codes.append(key)
                context.add(fold(address.city or ""))
            context |= {fold(postcodes[k].label[7:]) for k in codes if k in postcodes}
            name = Counter(group[i][0] for i in members).most_common(1)[0][0]
            lat, lon = to_wgs84(x, y)
            raw.append(dict(name=name, lat=float(lat), lon=float(lon), x=float(x), y=float(y), municipality_code=code,
                            municipality=mun_name, district=district, postcodes=tuple(codes),
                            context=frozenset(c for c in context if c), houses=houses, xy=sub.copy(),
                            reach=np.array([round(float(group[i][4]), 1) for i in members])))
    return _label_streets(raw)


def _label_streets(raw: list[dict]) -> list[Street]:
    """'Fjällgatan, Stockholm'; same-named streets get their district or first postcode to tell them apart."""
    by_label: dict[str, list[dict]] = defaultdict(list)
    for r in raw:
        by_label[f"{r['name']}, {r['municipality'] or 'okänd kommun'}"].append(r)
    out = []
    for label, group in by_label.items():
        for r in group:
            if len(group) > 1:
                detail = r["district"] or (postcode_label(r["postcodes"][0]) if r["postcodes"] else "")
                if detail:
                    label_r = f"{r['name']}, {detail}, {r['municipality']}"
                else:
                    label_r = label
            else:
                label_r = label
            out.append(Street(label=label_r, **r))
    return out


def _places(postcode_df, municipalities, districts, boroughs) -> list[Place]:
    candidates = []
    df = postcode_df.assign(code=postcode_df["admin2code"], folded=postcode_df["place"].map(fold))
    for (_, code), group in df[df["code"] != ""].groupby(["folded", "code"]):
        name = group["place"].value_counts().index[0]  # the usual spelling ("Stockholm", not "STOCKHOLM")
        candidates.append((name, "locality", group["lat"].mean(), group["lon"].mean(), code, len(group)))
    by_code = df.groupby("code")[["lat", "lon"]].mean()
    counts = df["code"].value_counts()
    for row in municipalities.itertuples(index=False):
        if row.code in by_code.index:
            lat, lon = by_code.loc[row.code, "lat"], by_code.loc[row.code, "lon"]
        else:
            point = row.geometry.representative_point()
            lat, lon = to_wgs84(point.x, point.y)
        candidates.append((row.name, "municipality", lat, lon, row.code, int(counts.get(row.code, 0))))
    for kind, gdf in (("district", districts), ("borough", boroughs)):
        for name, geom in zip(gdf["name"], gdf.geometry.values):
            point = geom.representative_point()
            lat, lon = to_wgs84(point.x, point.y)
            candidates.append((str(name), kind, lat, lon, STOCKHOLM_CODE, 0))
    municipality_names = dict(zip(municipalities["code"], municipalities["name"]))
    best: dict[tuple[str, str], tuple] = {}
    for cand in candidates:
        key = (fold(cand[0]), cand[4])
        if key[0] and (key not in best or PLACE_KIND_PRIORITY[cand[1]] < PLACE_KIND_PRIORITY[best[key][1]]):
            best[key] = cand
    out = []
    for name, kind, lat, lon, code, size in best.values():
        municipality = municipality_names.get(code, "")
        if kind == "municipality":
            label = f"{name} kommun"
        elif fold(name) == fold(municipality) or not municipality:
            label = name
        else:
            label = f"{name}, {municipality}"
        x, y = to_metric(lat, lon)
        out.append(Place(name, label, kind, float(lat), float(lon), float(x), float(y), code,
                         code[:2] == COUNTY_CODE, int(size)))
    return out


def _containing(tree: shapely.STRtree, point: shapely.Point, geoms) -> int | None:
    hits = tree.query(point, predicate="within")
    if len(hits):
        return int(hits[0])
    nearest = tree.nearest(point)
    return int(nearest) if nearest is not None and geoms[nearest].distance(point) < 500 else None


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, flush=True)


__all__ = ["build_index", "build_index_data"]

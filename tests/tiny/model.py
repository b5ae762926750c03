"""A tiny real model for unit tests: Riddarfjärden's shores, cut at test time from the real raw files.

The box ``BOX_WGS84`` holds Södermalm's north shore with Gamla stan (stadsdelsområde Södermalm, area 4) and
southern Norrmalm with Skeppsholmen and a corner of Östermalm (area 5): two ASIH areas with a real border between
them across Strömmen. Nothing is copied into the repository: ``cut_raw``
reads the county's raw files from ``settings.data_dir`` and writes their part inside the box into a temporary raw
folder, in the same formats and under the same names, so the model is then built by the project's own loaders
(``routing.prepare.prepare_network`` with the MATSim reader, ``geo.areas.model.load_area_model``,
``geo.providers.read_registry``, ``routing.basetrees.load_base_trees``) into a temporary cache, as ``asih prepare``
builds the county's.

What the cut changes, and why:

- **Roads**: the MATSim nodes inside the box and the links with both ends inside, kept to their largest strongly
  connected part (the county network is one strongly connected part; a cut road leaving the box would otherwise be
  a dead end). A few hundred nodes.
- **Polygons** (municipalities, stadsdelsområden, stadsdelar, DeSO): clipped to the box. A clipped DeSO keeps the
  share of its population equal to the share of its area kept (rounded), so population stays plausible.
- **Areas** (``data/areas.yaml``): each area keeps the municipalities and stadsdelsområden found inside the box;
  areas with none left are dropped.
- **Providers** (``data/providers.yaml``): the units of ``UNITS``, each with the one base it has inside the box and
  its approvals among the areas kept: Ersta Diakoni (areas 4 and 5) and Rehabhotellet (area 5 only).
- **Geocoder** (for ``tiny_service``): the named streets of the OSMnx inner-city network meeting the box (as a
  GeoPackage), and the CSV register's addresses and the GeoNames postcodes whose point lies in it.

``build_tiny_model`` takes ≈ 2 s on an idle 2-core machine (5–6 s under load), most of it reading the county's
MATSim file; ``Service.load`` of its settings then ≈ 1 s.

Everything is EPSG:3006 (metres) once loaded; the box and the bases are given in WGS84 degrees.
"""

from __future__ import annotations

import gzip
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import scipy.sparse as sp
import shapely
import yaml
from scipy.sparse.csgraph import connected_components

from core.crs import to_metric
from core.settings import METRIC_CRS, Settings
from geo.areas.locate import AreaLocator
from geo.areas.model import AreaModel, load_area_model
from geo.providers import Registry, read_registry
from routing.basetrees import BaseTrees, load_base_trees
from routing.loaders import DEFAULT_MATSIM_FILE, network_path
from routing.loaders.matsim import read_matsim
from routing.network import RoadNetwork
from routing.prepare import load_network, prepare_network

BOX_WGS84 = (59.3120, 18.0580, 59.3370, 18.0920)
"""(south lat, west lon, north lat, east lon) in degrees: Riddarfjärden's shores, ≈ 1.9 × 2.8 km."""

UNITS = ("ersta-diakoni", "rehabhotellet")
"""The two provider units of the tiny model (each has exactly one base inside the box)."""

ADDRESS_CSV = "stockholm-county-address-points-2025.csv"
"""The address register the tiny geocoder indexes (the county's real CSV register, cut to the box)."""

PROFILE = "free_flow"
"""The tiny model's speed profile: the posted speeds, so a time can be checked against length / speed."""

_POPULATION_COLUMN = "pop_2023"


def box_metric(box_wgs84: tuple[float, float, float, float] = BOX_WGS84) -> shapely.Polygon:
    """The box as an EPSG:3006 rectangle (metres)."""
    s, w, n, e = box_wgs84
    x0, y0 = to_metric(s, w)
    x1, y1 = to_metric(n, e)
    return shapely.box(float(min(x0, x1)), float(min(y0, y1)), float(max(x0, x1)), float(max(y0, y1)))


@dataclass
class TinyModel:
    """The tiny model, loaded as the service loads the county's (all EPSG:3006).

    Attributes
    ----------
    settings : Settings
        Pointing at the cut raw folder, the cut areas and providers files and a private cache.
    box : shapely.Polygon
        The cut box (EPSG:3006).
    network : RoadNetwork
        In :data:`PROFILE`, with its snap index.
    areas : AreaModel
    locator : AreaLocator
    registry : Registry
        The two units of :data:`UNITS`.
    trees : BaseTrees
        One drive-time tree per base (two rows).
    cut : (int, int)
        Nodes and links written to the cut MATSim file.
    """

    settings: Settings
    box: shapely.Polygon
    network: RoadNetwork
    areas: AreaModel
    locator: AreaLocator
    registry: Registry
    trees: BaseTrees
    cut: tuple[int, int]

    def env(self, cache_dir: Path | None = None, **changes) -> dict[str, str]:
        """``ASIH_`` environment variables that make a subprocess (``asih prepare``, ``asih serve``) load this model:
        every setting that differs from the defaults, ``cache_dir`` (default the model's own) and ``changes``
        (setting name → value) on top."""
        settings = self.settings.model_copy(update={"cache_dir": cache_dir or self.settings.cache_dir, **changes})
        defaults = Settings()
        return {f"ASIH_{name.upper()}": str(value) for name, value in settings.model_dump().items()
                if value is not None and value != getattr(defaults, name)}


def build_tiny_model(folder: Path, county: Settings | None = None) -> TinyModel:
    """Cut the raw files into ``folder / "raw"`` and build the tiny model into ``folder / "cache"``.

    Parameters
    ----------
    folder : Path
        An empty, writable folder (a pytest ``tmp_path_factory`` folder).
    county : Settings, optional
        Where the real raw files and the project's areas, providers and speeds files are; default ``Settings()``.

    Returns
    -------
    TinyModel
    """
    county = county or Settings()
    raw, box = folder / "raw", box_metric()
    raw.mkdir(parents=True, exist_ok=True)
    cut = cut_raw(county, raw, box)
    settings = county.model_copy(update={
        "data_dir": raw, "cache_dir": folder / "cache", "network_source": "matsim", "network_file": None,
        "areas_file": folder / "areas.yaml", "providers_file": folder / "providers.yaml", "profile": PROFILE,
        **cut_geocoder_raw(county, raw, box),
        # A live registry of its own: it imports its providers file only into an empty database.
        "registry_url": f"sqlite:///{folder / 'registry.sqlite3'}", "registry_secret_file": folder / "registry.secret",
    })
    areas_kept = cut_areas_file(county.areas_file, settings.areas_file, raw, county)
    cut_providers_file(county.providers_file, settings.providers_file, box, areas_kept)
    prepare_network(settings, progress=False)
    network = load_network(settings, rebuild=False)  # as the service loads it: verified, with its snap index
    areas = load_area_model(settings)
    registry = read_registry(settings.providers_file)
    trees = load_base_trees(settings, network, registry)
    return TinyModel(settings, box, network, areas, AreaLocator(areas, settings.border_warning_m), registry, trees,
                     cut)


# -- the raw files ------------------------------------------------------------------------------------------------


def cut_raw(county: Settings, raw: Path, box: shapely.Polygon) -> tuple[int, int]:
    """Write the part inside ``box`` (EPSG:3006) of the county's raw files into ``raw``, under the same names;
    returns the nodes and links of the cut road network."""
    cut = cut_matsim(network_path(county, "matsim"), raw / DEFAULT_MATSIM_FILE, box)
    for name in (county.municipalities_file, county.boroughs_file, county.districts_file, county.deso_file):
        _cut_polygons(county.raw(name), raw / name, box, scale=_POPULATION_COLUMN if name == county.deso_file else None)
    table = county.raw(county.district_table_file)
    if table.exists():
        shutil.copyfile(table, raw / county.district_table_file)
    return cut


def cut_matsim(src: Path, dst: Path, box: shapely.Polygon) -> tuple[int, int]:
    """Write the MATSim network inside ``box`` (its largest strongly connected part) to ``dst`` (gzipped XML).

    Returns
    -------
    (n_nodes, n_links) written.
    """
    nodes, links = read_matsim(src)
    x0, y0, x1, y1 = box.bounds
    inside = nodes.index[(nodes["x"] >= x0) & (nodes["x"] <= x1) & (nodes["y"] >= y0) & (nodes["y"] <= y1)]
    links = links[links["u"].isin(inside) & links["v"].isin(inside)]
    ids = pd.Index(pd.unique(np.r_[links["u"].to_numpy(), links["v"].to_numpy()]))
    u, v = ids.get_indexer(links["u"]), ids.get_indexer(links["v"])
    graph = sp.csr_matrix((np.ones(len(u)), (u, v)), shape=(len(ids), len(ids)))
    _, label = connected_components(graph, directed=True, connection="strong")
    largest = np.bincount(label).argmax()
    keep = ids[label == largest]
    links = links[links["u"].isin(keep) & links["v"].isin(keep)]
    nodes = nodes.loc[keep]
    with gzip.open(dst, "wt", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="utf-8"?>\n<network>\n<nodes>\n')
        fh.writelines(f'<node id="{i}" x="{x!r}" y="{y!r}"/>\n' for i, x, y in zip(
            nodes.index, nodes["x"].astype(float), nodes["y"].astype(float), strict=True))
        fh.write("</nodes>\n<links>\n")
        for r in links.itertuples(index=False):
            fh.write(f'<link id={quoteattr(str(r.id))} from="{r.u}" to="{r.v}" length="{r.length!r}" '
                     f'freespeed="{r.freespeed!r}" capacity="{r.capacity!r}" permlanes="{r.permlanes!r}" '
                     f'modes="car" origid={quoteattr(str(r.origid))}/>\n')
        fh.write("</links>\n</network>\n")
    return len(nodes), len(links)


def _cut_polygons(src: Path, dst: Path, box: shapely.Polygon, scale: str | None = None) -> None:
    """The features of ``src`` meeting ``box``, clipped to it, written to ``dst`` in ``src``'s format and CRS.
    ``scale``: a count column multiplied by the share of each feature's area kept."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Measured \\(M\\) geometry types")  # the boroughs' Z/M
        gdf = gpd.read_file(src, engine="pyogrio", bbox=_bbox_in(src, box))
    crs = gdf.crs
    metric = gdf.set_geometry(shapely.make_valid(shapely.force_2d(gdf.to_crs(METRIC_CRS).geometry.values)))
    clipped = shapely.intersection(metric.geometry.values, box)
    kept = ~shapely.is_empty(clipped) & (shapely.area(clipped) > 1.0)
    out = metric[kept].copy()
    if scale is not None:
        share = shapely.area(clipped[kept]) / shapely.area(metric.geometry.values[kept])
        out[scale] = np.round(pd.to_numeric(out[scale], errors="coerce").fillna(0).to_numpy() * share).astype("int64")
    out = out.set_geometry(gpd.GeoSeries(shapely.make_valid(clipped[kept]), index=out.index, crs=METRIC_CRS))
    out = out[out.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        dst.with_suffix(suffix).unlink(missing_ok=True)
    out.to_crs(crs).to_file(dst, engine="pyogrio")


def cut_geocoder_raw(county: Settings, raw: Path, box: shapely.Polygon) -> dict:
    """Write the geocoder's raw inputs inside ``box`` into ``raw``: the named streets of the OSMnx network (as a
    GeoPackage ``edges`` layer), the register addresses and GeoNames postcodes whose point lies in the box, and the
    postcode table's rows of the municipalities kept. Returns the settings that name them."""
    src = county.raw(county.street_network_file)
    uri = f"/vsitar/{src}/edges.shp"
    edges = gpd.read_file(uri, engine="pyogrio", columns=["name"], bbox=_bbox_in(uri, box)).to_crs(METRIC_CRS)
    edges = edges[edges["name"].notna() & edges.intersects(box)]
    streets = "tiny-streets.gpkg"
    edges.to_file(raw / streets, layer="edges", engine="pyogrio")
    addresses = pd.read_csv(county.raw(ADDRESS_CSV), dtype=str, keep_default_na=False)
    addresses[_in_box(box, addresses["lat"], addresses["lon"])].to_csv(raw / ADDRESS_CSV, index=False)
    postcodes = pd.read_csv(county.raw(county.postcodes_file), sep="\t", header=None, dtype=str,
                            keep_default_na=False)
    postcodes[_in_box(box, postcodes[9], postcodes[10])].to_csv(raw / county.postcodes_file, sep="\t",
                                                                header=False, index=False)
    update = {"street_network_file": streets, "address_files": ADDRESS_CSV}
    if county.postcode_municipality_file:
        table = pd.read_csv(county.raw(county.postcode_municipality_file), dtype=str)
        codes = set(gpd.read_file(raw / county.municipalities_file, engine="pyogrio")["KOM_KOD"].astype(str).str.zfill(4))
        table[table["municipality_code"].isin(codes)].to_csv(raw / county.postcode_municipality_file, index=False)
    return update


def _bbox_in(src: Path | str, box: shapely.Polygon) -> tuple[float, float, float, float]:
    """``box`` (EPSG:3006) as (xmin, ymin, xmax, ymax) in the CRS of the file ``src``, for a read of its part only."""
    crs = pyogrio.read_info(src)["crs"]
    return tuple(float(v) for v in gpd.GeoSeries([box], crs=METRIC_CRS).to_crs(crs).total_bounds)


def _in_box(box: shapely.Polygon, lat: pd.Series, lon: pd.Series) -> np.ndarray:
    x, y = to_metric(pd.to_numeric(lat, errors="coerce").to_numpy(), pd.to_numeric(lon, errors="coerce").to_numpy())
    return shapely.contains_xy(box, np.asarray(x), np.asarray(y))


# -- the domain files ---------------------------------------------------------------------------------------------


def cut_areas_file(src: Path, dst: Path, raw: Path, county: Settings) -> list[int]:
    """Write ``src``'s areas with only the members present in the cut raw files to ``dst``; the ids kept."""
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    munis = gpd.read_file(raw / county.municipalities_file, engine="pyogrio")
    codes = set(munis["KOM_KOD"].astype(str).str.zfill(4))
    boroughs = set(gpd.read_file(raw / county.boroughs_file, engine="pyogrio")["Sdn_omarde"].astype(str).str.strip())
    areas = []
    for area in doc["areas"]:
        area = {**area, "municipalities": [c for c in area["municipalities"] if c in codes],
                "districts": [d for d in area["districts"] if d in boroughs]}
        if area["municipalities"] or area["districts"]:
            areas.append(area)
    dst.write_text(yaml.safe_dump({**doc, "areas": areas}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [a["id"] for a in areas]


def cut_providers_file(src: Path, dst: Path, box: shapely.Polygon, area_ids: list[int]) -> None:
    """Write the units of :data:`UNITS` to ``dst``, each with its bases inside ``box`` and its approvals among
    ``area_ids``."""
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    units = []
    for unit in doc["units"]:
        if unit["id"] not in UNITS:
            continue
        bases = [b for b in unit["bases"] if shapely.contains_xy(box, *map(float, to_metric(b["lat"], b["lon"])))]
        units.append({**unit, "bases": bases, "areas": [a for a in unit["areas"] if a in area_ids]})
    dst.write_text(yaml.safe_dump({**doc, "units": units}, allow_unicode=True, sort_keys=False), encoding="utf-8")

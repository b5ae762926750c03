"""Broken data gives a clear error or a documented recovery, never a silently wrong answer.

Each test builds its broken input in a temporary directory from the real raw files or the real prepared cache;
the project cache and ``data/`` are never touched. (Overlapping/gapped areas files and broken provider files
are covered in ``tests/geo``; here: the network, a provider base at sea, and the cache.)
"""

from __future__ import annotations

import gzip
import shutil

import pytest
import yaml

from lookup.service import Service
from geo.boundaries import DataFileError
from core.cache import CacheError, manifest_checksum
from core.crs import to_metric
from geo.providers import ProviderDataError, read_registry, validate_registry
from core.settings import Settings
from routing.loaders import DEFAULT_MATSIM_FILE
from routing.prepare import StaleNetworkError, prepare_network
from tests.tiny.model import UNITS

FJALLGATAN = (59.3148, 18.0843)  # area 4, next to Ersta sjukhus (an Ersta Diakoni base)
NORRMALM = (59.3310, 18.0710)  # Kungsträdgården, area 5 of the tiny model (both of its units are approved there)


# --- road network ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["gzip stream cut", "xml cut"])
def test_truncated_network_file_is_a_clear_error(settings, tmp_path, how):
    raw = settings.raw(DEFAULT_MATSIM_FILE).read_bytes()
    data = tmp_path / "raw"
    data.mkdir()
    if how == "gzip stream cut":
        broken = raw[: len(raw) // 3]
    else:  # a valid gzip file whose XML stops half-way (a truncated export, re-compressed)
        xml = gzip.decompress(raw)
        broken = gzip.compress(xml[: len(xml) // 2])
    (data / DEFAULT_MATSIM_FILE).write_bytes(broken)
    truncated = Settings(data_dir=data, cache_dir=tmp_path / "cache", network_source="matsim")
    with pytest.raises(DataFileError, match=rf"Cannot read the MATSim network {DEFAULT_MATSIM_FILE}.*truncated"):
        prepare_network(truncated, progress=False)
    assert not (tmp_path / "cache" / "network").exists()  # nothing half-built is left to be loaded later


def _matsim(nodes: dict[str, tuple[float, float]], links: list[tuple[str, str]]) -> str:
    """A MATSim network XML (EPSG:3006) with two-way residential links (30 km/h, 600 veh/h)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<network name="synthetic">', "<nodes>"]
    out += [f'<node id="{n}" x="{x:.1f}" y="{y:.1f}"/>' for n, (x, y) in nodes.items()]
    out.append("</nodes>\n<links>")
    k = 0
    for u, v in links:
        (ux, uy), (vx, vy) = nodes[u], nodes[v]
        length = ((ux - vx) ** 2 + (uy - vy) ** 2) ** 0.5
        for a, b in ((u, v), (v, u)):
            k += 1
            out.append(
                f'<link id="{k}" from="{a}" to="{b}" length="{length:.1f}" freespeed="8.33" capacity="600" '
                f'permlanes="1" modes="car" origid="{k}"/>'
            )
    out.append("</links>\n</network>")
    return "\n".join(out)


def test_point_on_an_unreachable_island_is_not_within_the_limit(tiny, tiny_service, tmp_path):
    """A road network with two components: a star of roads from Södermalm to every provider base, and one road
    in Norrmalm that connects to nothing. A point whose nearest road is that island must get "unreachable" (no drive
    time, not within the limit) from every unit, never a number or a crash. On the tiny real model (its areas,
    units and population; the county's loaders and rebuild path, in a second rather than ten)."""
    registry = tiny.registry
    cx, cy = to_metric(*FJALLGATAN)
    nodes = {"hub": (cx, cy)}
    for k, (_, base) in enumerate(registry.bases()):
        nodes[f"b{k}"] = tuple(float(v) for v in to_metric(base.lat, base.lon))
    star = [("hub", f"b{k}") for k in range(len(registry.bases()))]
    ix, iy = to_metric(*NORRMALM)
    nodes |= {"i0": (ix - 100.0, iy), "i1": (ix + 100.0, iy)}
    network = tmp_path / "island.xml"
    network.write_text(_matsim(nodes, star + [("i0", "i1")]), encoding="utf-8")
    cache = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, cache, ignore=shutil.ignore_patterns("network", "trees"))
    island = tiny.settings.model_copy(update={"cache_dir": cache, "network_file": str(network)})

    svc = Service.load(island)
    assert svc.network.n_nodes == len(nodes)
    assert max(svc.eligibility.trees.snaps.distance_m) < 1.0  # every base is on the star, none on the island

    on_island = svc.lookup_point(*NORRMALM)
    assert on_island["area"]["id"] == 5
    assert {e["id"] for e in on_island["eligible"]} == set(UNITS), "approved units are still listed, with no drive time"
    assert all(e["drive_time_s"] is None and not e["within_limit"] for e in on_island["eligible"])
    assert on_island["reachable_not_approved"] == []
    assert "No approved unit reaches this point within 30 minutes." in [w["message"] for w in on_island["warnings"]]

    on_star = svc.lookup_point(*FJALLGATAN)
    ersta = next(e for e in on_star["eligible"] if e["id"] == "ersta-diakoni")
    assert ersta["within_limit"] and ersta["drive_time_s"] < 60


# --- providers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "where"),
    [
        (59.00, 19.50, "not in any Swedish municipality"),  # the Baltic, beyond the territorial sea
        (59.20, 19.60, "not in any Swedish municipality"),
        (59.40, 16.50, "in Eskilstuna municipality (county 04)"),  # on land, another county
    ],
)
def test_base_at_sea_or_outside_the_county_is_rejected(settings, area_model, locator, tmp_path, lat, lon, where):
    doc = yaml.safe_load(settings.providers_file.read_text(encoding="utf-8"))
    doc["units"][0]["bases"][0].update(lat=lat, lon=lon)
    path = tmp_path / "providers.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProviderDataError) as err:
        validate_registry(read_registry(path), [a.id for a in area_model.defs.areas], locator.locate)
    problem = next(p for p in err.value.problems if "outside the county" in p)
    assert doc["units"][0]["id"] in problem and where in problem


def test_base_in_territorial_waters_is_rejected_as_at_sea(settings, service, area_model, locator):
    """Municipality polygons (1:1M) include the territorial sea, so a base 30 km out in Norrtälje's waters is
    "inside the county"; the land check (DeSO land) rejects it, naming the unit and the distance."""
    from geo.providers import Base, Registry, Unit

    base = Base("Open sea off Norrtälje", 59.35, 19.60, "place", "test")
    unit = Unit("sea", "ASIH Sea", "Test", (2,), (base,))
    ids = [a.id for a in area_model.defs.areas]
    validate_registry(Registry((unit,)), ids, locator.locate)  # without the land check it passes
    with pytest.raises(ProviderDataError, match="Unit sea, base 'Open sea off Norrtälje' .* is at sea"):
        validate_registry(Registry((unit,)), ids, locator.locate, locator.distance_to_land_m,
                          settings.base_max_from_land_m)


# --- the prepared cache ---------------------------------------------------------------------------------------


def test_missing_cache_is_a_clear_error_without_rebuild(tmp_path):
    empty = Settings(cache_dir=tmp_path / "empty")
    with pytest.raises(CacheError, match=r"missing .*run `asih prepare`"):
        Service.load(empty, rebuild=False)


def test_missing_network_entry_is_named(cache_copy):
    shutil.rmtree(cache_copy / "network")
    with pytest.raises(StaleNetworkError, match=r"is missing .*; run `asih prepare"):
        Service.load(Settings(cache_dir=cache_copy), rebuild=False)


def test_missing_cache_is_rebuilt(tiny, tiny_service, tmp_path):
    """An empty cache directory is rebuilt in full from the raw files, and answers as the prepared one (on the tiny
    real model: the same loaders and rebuild path as the county's, in seconds)."""
    rebuilt = Service.load(tiny.settings.model_copy(update={"cache_dir": tmp_path / "fresh"}))
    for entry in ("areas", "network", f"trees/{tiny.settings.profile}", "geocoder"):
        assert (tmp_path / "fresh" / entry).is_dir(), entry
    assert rebuilt.lookup_point(*FJALLGATAN) == tiny_service.lookup_point(*FJALLGATAN)
    assert rebuilt.lookup_text("Fjällgatan 44")["query"] == tiny_service.lookup_text("Fjällgatan 44")["query"]


def test_cache_built_from_other_providers_is_rebuilt(settings, service, cache_copy, tmp_path):
    """Moving Ersta's base to Norrtälje changes the providers file's checksum: the trees are rebuilt."""
    doc = yaml.safe_load(settings.providers_file.read_text(encoding="utf-8"))
    ersta = next(u for u in doc["units"] if u["id"] == "ersta-diakoni")
    ersta["bases"][0].update(name="Moved to Norrtälje", lat=59.7580, lon=18.7040)
    providers = tmp_path / "providers.yaml"
    providers.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    moved = Settings(cache_dir=cache_copy, providers_file=providers)
    before = manifest_checksum(cache_copy / "trees" / "free_flow")

    with pytest.raises(CacheError, match="stale"):
        Service.load(moved, rebuild=False)
    svc = Service.load(moved)
    assert manifest_checksum(cache_copy / "trees" / "free_flow") != before

    def ersta_at(s: Service) -> dict:
        return next(e for e in s.lookup_point(*FJALLGATAN)["eligible"] if e["id"] == "ersta-diakoni")

    assert ersta_at(service)["within_limit"] and ersta_at(service)["drive_time_s"] < 300
    now = ersta_at(svc)
    assert now["base"] == "Moved to Norrtälje" and now["drive_time_s"] > 1800 and not now["within_limit"]


def test_cache_built_from_other_areas_is_rebuilt(tiny, tiny_service, tmp_path):
    """Swapping Södermalm (area 4) with a district of area 5 changes the areas file's checksum: the area model is
    rebuilt (on the tiny real model, whose cut areas file has Södermalm alone in area 4)."""
    doc = yaml.safe_load(tiny.settings.areas_file.read_text(encoding="utf-8"))
    by_id = {a["id"]: a for a in doc["areas"]}
    other = by_id[5]["districts"][0]
    by_id[4]["districts"] = [other]
    by_id[5]["districts"] = [d for d in by_id[5]["districts"] if d != other] + ["Södermalm"]
    areas = tmp_path / "areas.yaml"
    areas.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    cache = tmp_path / "cache"
    shutil.copytree(tiny.settings.cache_dir, cache)
    moved = tiny.settings.model_copy(update={"cache_dir": cache, "areas_file": areas})
    before = manifest_checksum(cache / "areas")

    with pytest.raises(CacheError, match="built from other data"):
        Service.load(moved, rebuild=False)
    svc = Service.load(moved)
    assert manifest_checksum(cache / "areas") != before
    assert tiny_service.lookup_point(*FJALLGATAN)["area"]["id"] == 4
    assert svc.lookup_point(*FJALLGATAN)["area"]["id"] == 5

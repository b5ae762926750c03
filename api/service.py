"""The loaded service state and the lookup use case (geocode → locate → eligibility), shared by API and CLI.

Everything is read from the prepared cache once, at start; a lookup then costs a geocode, a point-in-polygon
and a snap. Nothing here logs or stores the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import shapely

from geo.areas.locate import AreaLocator
from geo.areas.model import AreaModel, load_area_model
from geo.geocode import Geocoder, GeocodeResult, get_geocoder
from geo.providers import Registry, read_registry
from geo.settings import Settings
from routing.basetrees import load_base_trees
from routing.eligibility import Eligibility, PointAnswer, UnitAnswer
from routing.network import RoadNetwork
from routing.prepare import load_network


@dataclass
class Service:
    """Prepared state for one speed profile and limit."""

    settings: Settings
    areas: AreaModel
    locator: AreaLocator
    registry: Registry
    network: RoadNetwork
    eligibility: Eligibility

    @classmethod
    def load(cls, settings: Settings, profile: str | None = None, rebuild: bool = True) -> Service:
        """Load the prepared cache (rebuilding stale parts unless ``rebuild`` is False)."""
        areas = load_area_model(settings, rebuild=rebuild)
        locator = AreaLocator(areas, settings.border_warning_m)
        registry = read_registry(settings.providers_file)
        network = load_network(settings, profile=profile or settings.profile, rebuild=rebuild)
        trees = load_base_trees(settings, network, registry, rebuild=rebuild)
        eligibility = Eligibility(network, registry, locator, trees, settings.limit_s, settings.snap_warning_m)
        svc = cls(settings, areas, locator, registry, network, eligibility)
        # Load the index now, not on the first referrer's request.
        svc.__dict__["geocoder"] = get_geocoder(settings, build_if_missing=rebuild)
        return svc

    @cached_property
    def geocoder(self) -> Geocoder:
        """The configured geocoder (offline by default), loaded on first use."""
        return get_geocoder(self.settings)

    def auditor(self, limit_s: float | None = None):
        """A coverage auditor over this state (sample points read from the cache; built on first use)."""
        from routing.audit import CoverageAuditor
        from routing.population import load_samples

        key = float(limit_s or self.settings.limit_s)
        cache = self.__dict__.setdefault("_auditors", {})
        if key not in cache:
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            samples = load_samples(self.settings, self.network, self.areas)
            cache[key] = CoverageAuditor(
                self.settings, self.network, self.areas, self.registry, self.eligibility.trees, samples, key
            )
        return cache[key]

    def isochrone(self, unit_id: str, limit_s: float):
        """The union of a unit's per-base isochrones (EPSG:3006), memoised per (unit, limit)."""
        from routing.isochrones import isochrone

        cache = self.__dict__.setdefault("_isochrones", {})
        key = (unit_id, float(limit_s))
        if key not in cache:
            trees = self.eligibility.trees
            rows = trees.rows_of(unit_id)
            if len(cache) >= 64:
                cache.pop(next(iter(cache)))
            cache[key] = shapely.union_all(
                [isochrone(self.network, trees.times[r], limit_s, origin=trees.snaps[int(r)]) for r in rows]
            )
        return cache[key]

    def lookup_point(self, lat: float, lon: float) -> dict:
        """Eligibility at WGS84 coordinates, as the lookup JSON contract."""
        match = GeocodeResult(lat=lat, lon=lon, precision="coordinates", matched="coordinates", score=100.0, note=None)
        return self._contract(match, self.eligibility.at(lat, lon))

    def lookup_text(self, text: str) -> dict:
        """Geocode free text (address, postcode, place or 'lat, lon'), then eligibility there.

        Raises the geocoder's ``GeocodeError`` subclasses for empty, malformed, unknown or ambiguous input.
        """
        match = self.geocoder.geocode(text)
        answer = self.eligibility.at(match.lat, match.lon)
        return self._contract(match, answer)

    def _contract(self, match: GeocodeResult, answer: PointAnswer) -> dict:
        loc = answer.location
        warnings = list(answer.warnings)
        if match.note:
            warnings.insert(0, match.note)
        elif match.precision in ("postcode", "place"):
            warnings.insert(0, f"Located by {match.precision} only ({match.matched}); give the street address.")
        bw = loc.border_warning
        return {
            "query": {"precision": match.precision, "matched": match.matched, "lat": match.lat, "lon": match.lon},
            "area": {
                "id": loc.area_id,
                "name": loc.area_name,
                "provenance": loc.area_provenance,
                "municipality": loc.municipality_name,
                "district": loc.district,
                "stadsdel": loc.stadsdel,
                "border_warning": None if bw is None else {
                    "distance_m": bw.distance_m,
                    "neighbour_area_id": bw.neighbour_area_id,
                    "neighbour_area_name": bw.neighbour_area_name,
                    "message": bw.message,
                },
            },
            "eligible": [_option(a) for a in answer.eligible],
            "reachable_not_approved": [_option(a) for a in answer.reachable_not_approved],
            "warnings": warnings,
            "limit_s": self.settings.limit_s,
            "profile": self.network.profile,
        }


def _option(a: UnitAnswer) -> dict:
    return {
        "id": a.unit.id,
        "unit": a.unit.unit,
        "organisation": a.unit.organisation,
        "drive_time_s": a.drive_time_s,
        "within_limit": a.within_limit,
        "base": a.base.name,
        "base_precision": a.base.precision,
        "capacity_note": a.unit.capacity_note,
    }

"""Which municipalities, boroughs and districts a region may lie in (labels by the area's rule), on the real
polygons. Points are EPSG:3006 metres unless named lat/lon.
"""

from __future__ import annotations

import numpy as np

from geo.areas.region import Places, _sorted
from geo.geocode.result import Region
from tests.conftest import metric_xy

KUNGSHOLMEN = (59.3323, 18.0237)  # Mariebergsgatan 22 (stadsdel Stadshagen in the city's polygons)
VASASTADEN = (59.3430, 18.0490)  # Odenplan, Norrmalm
SOLNA = (59.3600, 18.0000)
BROMMA = (59.3380, 17.9400)  # Åkeslund




def _street(*places) -> Region:
    return Region("street", "test street", points=tuple(metric_xy(*p) for p in places), width_m=2000.0)


def test_a_street_in_two_boroughs_names_both(resolver):
    assert resolver.places(_street(KUNGSHOLMEN, VASASTADEN)) == Places(
        ("Stockholm",), ("Kungsholmen", "Norrmalm"), ("Stadshagen", "Vasastaden"))


def test_one_borough_is_named_alone(resolver):
    assert resolver.places(_street(VASASTADEN, VASASTADEN)) == Places(("Stockholm",), ("Norrmalm",), ("Vasastaden",))


def test_a_region_across_a_municipal_border_names_both_municipalities(resolver):
    # The borough speaks of the part in Stockholm city; Solna has none.
    assert resolver.places(_street(SOLNA, BROMMA)) == Places(("Solna", "Stockholm"), ("Bromma",), ("Åkeslund",))


def test_a_region_of_units_lists_every_unit_inside(resolver, units):
    bromma = resolver.places(Region("postal_town", "Bromma", units=("borough:Bromma",)))
    assert bromma.municipalities == ("Stockholm",) and bromma.boroughs == ("Bromma",)
    assert set(bromma.districts) == {d.name for d in units.districts_of("Bromma")}
    assert {"Alvik", "Ulvsunda", "Äppelviken"} <= set(bromma.districts) and "Vasastaden" not in bromma.districts
    haninge = resolver.places(Region("municipality", "Haninge kommun", units=("municipality:0136",)))
    assert haninge == Places(("Haninge",), (), ())
    city = resolver.places(Region("municipality", "Stockholms kommun", units=("municipality:0180",)))
    assert len(city.boroughs) == 13 and city.boroughs[-1] == "Östermalm"
    vasastaden = resolver.places(Region("district", "Vasastaden", units=("district:Vasastaden",)))
    assert vasastaden == Places(("Stockholm",), ("Norrmalm",), ("Vasastaden",))


def test_names_are_in_swedish_order():
    assert _sorted(["Östermalm", "Älvsjö", "Årsta", "Zinkensdamm", "alvik", "Älvsjö"]) == (
        "alvik", "Zinkensdamm", "Årsta", "Älvsjö", "Östermalm")


def test_districts_at_many_points_is_district_at_each(units):
    pts = np.array([metric_xy(*p) for p in (KUNGSHOLMEN, VASASTADEN, BROMMA, SOLNA)])
    many = units.districts_at(pts[:, 0], pts[:, 1])
    assert list(many) == [units.district_at(x, y) for x, y in pts]
    assert list(many[:3]) == ["Stadshagen", "Vasastaden", "Åkeslund"]

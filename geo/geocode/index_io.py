"""Where the geocoder's index is kept and how it is read back (the builder is :mod:`geo.geocode.prepare`).

The index is one :mod:`core.cache` entry under ``settings.cache_dir / "geocoder"``, checked against the checksum of
its inputs: the raw files and the builder's own code. Reading it needs neither the builder nor what the builder
imports (scipy's spatial and cluster modules, ≈ 0.2 s): every ``asih lookup`` reads the index, only ``asih
prepare`` builds it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.cache import inputs_checksum, load_or_build
from core.settings import Settings
from geo.geocode.index import INDEX_JSON, INDEX_NPZ, INDEX_VERSION, GeocoderIndex, index_files, index_from_files
from geo.geocode.sources import address_files

ENTRY_NAME = "geocoder"
BUILDER_CODE = ("prepare.py", "index.py", "sources.py", "normalize.py", "postal_towns.py")
"""The builder's modules (in this package, with ``registers/*.py``): inputs of the index like the raw files."""


def load_index(settings: Settings, build: Callable[[], GeocoderIndex] | None = None) -> GeocoderIndex:
    """Load the index saved by :func:`geo.geocode.prepare.build_index`; raise :class:`~core.cache.CacheError` when
    missing, stale or damaged, unless ``build`` is given (:func:`geo.geocode.load_geocoder` passes the builder's
    ``build_index_data``): then ``build()`` is saved and returned."""
    return load_or_build_index(settings, rebuild=build is not None, build=build or _not_building)


def _not_building() -> GeocoderIndex:
    raise AssertionError("load_or_build never builds with rebuild=False")


def load_or_build_index(settings: Settings, rebuild: bool, build: Callable[[], GeocoderIndex]) -> GeocoderIndex:
    """The index entry read (verified against :func:`index_checksum`), or ``build()`` saved when ``rebuild`` and the
    entry is missing, stale or damaged."""
    entry = settings.cache_dir / ENTRY_NAME
    return load_or_build(
        entry, index_checksum(settings), what="The geocoder index", names=[INDEX_JSON, INDEX_NPZ],
        decode=lambda files: index_from_files(files, entry), build=build, encode=index_files,
        info=lambda i: {"streets": len(i.streets), "places": len(i.places), "postcodes": len(i.postcodes),
                        "version": INDEX_VERSION},
        rebuild=rebuild,
    )


def index_checksum(settings: Settings) -> str:
    """The checksum of the index's inputs: the raw files it is built from and the builder's code."""
    paths = [
        settings.raw(settings.postcodes_file),
        settings.raw(settings.street_network_file),
        settings.raw(settings.municipalities_file),
        settings.raw(settings.districts_file),
        settings.raw(settings.boroughs_file),
        settings.postal_towns_file,
        *address_files(settings),
    ]
    if settings.address_exclude_file is not None:
        paths.append(settings.address_exclude_file)
    if settings.postcode_municipality_file:
        paths.append(settings.raw(settings.postcode_municipality_file))
    # The builder's own source is an input too (the builder, the index layout and the readers it uses): a code
    # change must not leave an index built the old way. This loader is not: reading does not shape the index.
    here: Path = Path(__file__).parent
    code = [*(here / name for name in BUILDER_CODE), *sorted((here / "registers").glob("*.py"))]
    return inputs_checksum(paths + code, {"index_version": INDEX_VERSION, "files": [p.name for p in paths]})


__all__ = ["ENTRY_NAME", "index_checksum", "load_index", "load_or_build_index"]

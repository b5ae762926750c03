"""One home for configuration and for the numbers that matter.

Every value can be overridden by an environment variable with the prefix ``ASIH_`` (for example
``ASIH_DATA_DIR=/srv/asih/raw`` or ``ASIH_LIMIT_MINUTES=45``) or a ``.env`` file in the working directory. An
``ASIH_`` variable that is not a setting (a typo such as ``ASIH_DATABASE_URL``) stops ``asih serve``, ``asih
prepare`` and the service's start (:func:`verify_environment`) instead of being ignored.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository root (where ``data/`` and ``pyproject.toml`` live)."""

METRIC_CRS = "EPSG:3006"
"""SWEREF 99 TM: every distance and area computation happens in this CRS (metres)."""

WGS84 = "EPSG:4326"
"""Input and output only (lat/lon in degrees)."""

COUNTY_CODE = "01"
"""Lantmäteriet/SCB county code (länskod) of Stockholm County."""

STOCKHOLM_CODE = "0180"
"""SCB municipality code of Stockholm city, the only municipality split by districts."""

NetworkSource = Literal["matsim", "osmnx-files", "osm-xml", "pbf", "overpass"]
Profile = Literal["free_flow", "typical", "peak", "rush_hour"]


def _default_data_dir() -> Path:
    shared = PROJECT_ROOT.parent / "shared" / "data" / "raw"
    return shared if shared.exists() else PROJECT_ROOT / "data" / "raw"


class Settings(BaseSettings):
    """Configuration of the service. Paths may be absolute or relative to the project root."""

    model_config = SettingsConfigDict(env_prefix="ASIH_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="Raw data directory (read-only).")
    cache_dir: Path = Field(default=PROJECT_ROOT / "data" / "cache", description="Prepared artifacts (ignored by git).")
    areas_file: Path = PROJECT_ROOT / "data" / "areas.yaml"
    providers_file: Path = PROJECT_ROOT / "data" / "providers.yaml"
    speeds_file: Path = PROJECT_ROOT / "data" / "speeds.yaml"

    # Raw file names inside data_dir; replace them to use newer data with no code change.
    municipalities_file: str = "lm-ak_riks-kommuner-1m.shp"
    boroughs_file: str = "stockholm-stadsdelsomraden-2020.shp"
    districts_file: str = "stockholm-stadsdelar-2021.geojson"
    district_table_file: str = "stockholm-stadsdel-to-stadsdelsomrade-derived.csv"
    deso_file: str = "scb-deso2018-stockholm-county-simplified-pop.geojson"
    postcodes_file: str = "geonames-postcodes-SE.txt"
    street_network_file: str = "stockholm-inner-osmnx-drive-2020.tar.gz"
    address_osm_file: str = "stockholm-ostermalm-sample-2020.osm"
    # The address register: ';'-separated files in data_dir, each read by its suffix (.gpkg/.zip Lantmäteriet
    # belägenhetsadresser, .osm/.osm.pbf OSM addr:*, .csv plain or Skolverket-style CSV); see geo/geocode/registers.
    address_files: str = (
        "stockholm-ostermalm-sample-2020.osm;stockholm-sodermalm-sample-2020.osm.pbf;"
        "stockholm-county-address-points-2025.csv"
    )
    address_exclude_file: Path | None = Field(
        default=PROJECT_ROOT / "bench" / "data" / "geocode_benchmark.csv",
        description="Register rows whose source_id is listed in this CSV's source_id column are left out "
        "(the geocoding benchmark's labelled rows must not be in the register it measures).",
    )
    postal_towns_file: Path = PROJECT_ROOT / "data" / "postal_towns.yaml"
    street_names_complete: bool = Field(
        default=False,
        description="True when the address register lists every street of the county (e.g. Lantmäteriet's files "
        "for all 26 municipalities). Only then is a street typed without town or postcode answered without asking "
        "the user to confirm it: with partial data a same-named street may exist elsewhere.",
    )

    # Road network used for routing.
    network_source: NetworkSource = "matsim"
    network_file: str | None = Field(
        default=None, description="File for the network source; default depends on the source (see routing.loaders)."
    )
    profile: Profile = Field(
        default="typical",
        description="The one traffic profile every output uses unless a request names another (ASIH_PROFILE): "
        "typical (the time a unit usually needs), peak (shown beside every verdict) or free_flow (posted speeds).",
    )

    # Numbers that matter.
    limit_minutes: float = Field(default=30.0, gt=0, le=240, description="Drive-time limit of the ASIH rule (minutes).")
    border_warning_m: float = Field(default=200.0, ge=0, description="Warn when a point is this close to another area (m).")
    snap_warning_m: float = Field(default=500.0, ge=0, description="Flag a point this far from any drivable road (m).")
    base_max_from_land_m: float = Field(default=200.0, ge=0, description="A provider base farther from land is at sea (m).")
    area_overlap_tolerance_km2: float = 0.01
    area_min_land_coverage: float = 0.999

    # Coverage audit verdicts: share of an area's population a unit reaches within the limit.
    audit_supported_share: float = Field(default=0.95, ge=0, le=1, description="'supported' at or above this share.")
    audit_at_risk_share: float = Field(default=0.80, ge=0, le=1, description="'at risk' at or above; else 'unsupported'.")
    siting_min_gain_share: float = Field(
        default=0.01, ge=0, le=1,
        description="A suggested base site is offered only when it adds at least this share of the unit's approved "
        "areas' people (0.01 = 1 %) within the limit; smaller gains are not worth a base.",
    )
    audit_land_cell_m: float = Field(default=250.0, gt=0, description="Side of the land grid cells for land share (m).")
    audit_land_reach_m: float = Field(
        default=1000.0, gt=0, description="A land cell farther than this from a drivable road counts as not reached (m)."
    )

    # Geocoding: offline by default; patient addresses are never sent anywhere unless configured.
    geocoder: Literal["offline", "nominatim"] = "offline"
    nominatim_url: str | None = None

    # API hardening.
    batch_max_rows: int = 500
    request_max_bytes: int = 1_000_000
    query_max_chars: int = 300
    cors_origins: list[str] = []

    # Maps.
    tile_url: str | None = Field(default=None, description="XYZ tile URL template; none = local background only.")
    tile_attribution: str | None = None
    basemap_water_file: str | None = Field(
        default=None,
        description="Inland water (lakes, rivers, bays) drawn on the offline base map beside the open sea: an "
        "OpenStreetMap .osm.pbf or .osm file (natural=water/bay/strait, waterway=riverbank, "
        "landuse=reservoir/basin; wetland never) or any vector file GDAL reads, e.g. Geofabrik's "
        "gis_osm_water_a_free_1.shp (fclass water, reservoir, river, dock); a file with neither OSM tags nor fclass "
        "is all water. Any declared CRS. A relative name is taken inside data_dir. Read by `asih prepare` "
        "(maps/water.py); none = only the open sea, as the raw sources do not leave lakes out.",
    )
    basemap_water_layer: str | None = Field(
        default=None,
        description="Layer of basemap_water_file to read; none = multipolygons for an OSM file, else the file's "
        "only layer (or, in a file of several, the one named like Geofabrik's *water_a*).",
    )

    @field_validator(
        "data_dir", "cache_dir", "areas_file", "providers_file", "speeds_file", "postal_towns_file",
        "address_exclude_file", mode="after",
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        return value if value.is_absolute() else (PROJECT_ROOT / value)

    @property
    def limit_s(self) -> float:
        """The drive-time limit in seconds."""
        return self.limit_minutes * 60.0

    def raw(self, name: str) -> Path:
        """Path of a raw data file inside ``data_dir``."""
        return self.data_dir / name

    # --- Heavy work (batch, isochrone, audit, what-if, siting: api/executor.py) -----------------------------------
    heavy_workers: int | None = Field(
        default=None, ge=1, le=64,
        description="Heavy computations running at once, each in its own worker process; none = "
        "api.executor.HEAVY_WORKERS (half the cores, 1 to 4, so lookups keep a core).",
    )
    heavy_queue: int | None = Field(
        default=None, ge=0, le=1000,
        description="Distinct heavy computations that may wait for a worker; more are answered 503 with "
        "Retry-After. None = api.executor.HEAVY_QUEUE.",
    )
    heavy_retry_after_s: int | None = Field(
        default=None, ge=1, le=600, description="The Retry-After of a 503 for heavy work (seconds); none = api.executor.RETRY_AFTER_S."
    )

    # --- Live registry (registry/: free places, dated approvals, users, tokens, change log) -----------------------
    registry_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the registry database, e.g. postgresql://asih@db/asih; "
        "none = SQLite at data/registry.sqlite3.",
    )
    availability_stale_hours: float = Field(
        default=24.0, gt=0, description="A free-places report older than this is shown as stale (hours)."
    )
    registry_read_cache_s: float = Field(
        default=2.0, ge=0,
        description="Seconds the server keeps the registry reads every lookup needs (approvals today, latest free "
        "places) before asking the database again; a change made through another process (a second worker, the "
        "CLI) shows within this time, one through the same process at once. 0 = ask the database on every lookup.",
    )
    registry_stale_read_s: float = Field(
        default=300.0, ge=0,
        description="When the registry database cannot be read, lookups answer from the last good read of the "
        "approvals; a read older than this (seconds) is named in a caution (approvals_stale) with its time.",
    )
    registry_secret_file: Path | None = Field(
        default=None,
        description="File with the server secret that keys token hashes (created at first start, mode 0600); "
        "none = data/registry.secret. Every process serving one database must share it.",
    )
    auth_failures_per_ip: int = Field(
        default=20, ge=1, description="Failed token checks naming no known prefix per client address per window "
        "(registry/throttle.py; a valid token is never refused).")
    auth_failures_per_token: int = Field(
        default=5, ge=1, description="Failed checks per token prefix per window (guesses at one user's token)."
    )
    auth_failure_window_s: float = Field(
        default=300.0, gt=0, description="Window of the failure counts; past the limit: 429 with Retry-After (s)."
    )
    serve_connections_per_address: int = Field(
        default=512, ge=0,
        description="Open connections one client address may hold in one `asih serve` worker (a count, per worker "
        "process); one more is answered 429 and closed at once. The address is the TCP peer, never a forwarded "
        "header; trusted proxies (--forwarded-allow-ips) are exempt. 0 = no limit.",
    )

    # --- Geocoder data and border margins by source (issue 23) ------------------------------------------------------
    postcode_municipality_file: str | None = Field(
        default="sweden-postcode-municipality-2024.csv",
        description="Postcode → municipality table in data_dir (CSV: postal_code, locality, municipality_code; "
        "read by geo.geocode.sources.read_postcode_municipalities at prepare time): decides a postcode's "
        "municipality where GeoNames points cannot. None = not used.",
    )
    borough_border_margin_m: float = Field(
        default=50.0, ge=0,
        description="Margin (m) of the area borders drawn by Stockholm city's own borough map (boroughs_file, "
        "property-level) where they lie farther than border_warning_m from any municipality border; the "
        "municipality borders (1:1M, off by ~100 m) keep border_warning_m. A street's own reach is added.",
    )


ENV_PREFIX = "ASIH_"
OTHER_VARIABLES = frozenset({"ASIH_SERVE_HEADER_TIMEOUT_S", "ASIH_SERVE_BODY_TIMEOUT_S", "ASIH_LIVE_APP",
                             "ASIH_REQUIRE_ALL"})
"""``ASIH_`` variables that are not settings but are read elsewhere (``asih serve`` hands its read deadlines to its
workers; the tests read the others); ``ASIH_TEST_*`` are the tests' own too."""


_SYNONYMS = {"DATABASE": "REGISTRY", "DB": "REGISTRY", "POSTGRES": "REGISTRY", "SQLITE": "REGISTRY"}
"""Words an operator may use for the registry's database, so the hint names the registry's settings."""


class UnknownSetting(ValueError):
    """An ``ASIH_`` environment variable that is no setting; the message names it and the closest setting."""


def verify_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse ``ASIH_`` environment variables that are not settings, naming the closest one.

    A typo (``ASIH_DATABASE_URL`` for ``ASIH_REGISTRY_URL``) would otherwise be ignored, and the service would run
    on a default (a local SQLite file instead of the PostgreSQL server meant). ``environ`` defaults to the process
    environment and the ``.env`` file the settings read. Raises :class:`UnknownSetting`.
    """
    if environ is None:
        environ = {**_env_file_keys(), **os.environ}
    known = [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    for name in sorted(environ):
        upper = name.upper()
        if (not upper.startswith(ENV_PREFIX) or upper in known or upper in OTHER_VARIABLES
                or upper.startswith(ENV_PREFIX + "TEST_")):
            continue
        words = "_".join(_SYNONYMS.get(w, w) for w in upper.split("_"))
        close = difflib.get_close_matches(words, known, n=1, cutoff=0.0)
        hint = f"; did you mean {close[0]}?" if close else "."
        raise UnknownSetting(f"{name} is not a setting{hint} Rename or remove it (the settings are listed in "
                             "core/settings.py).")


def _env_file_keys() -> dict[str, str]:
    path = Path(Settings.model_config.get("env_file") or ".env")
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v or "" for k, v in dotenv_values(path).items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()

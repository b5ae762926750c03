"""Speed model: posted speeds, Swedish defaults per road class, and drive-time profiles.

All numbers come from ``data/speeds.yaml`` (see its provenance note). Speeds are km/h, lengths metres,
times seconds.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.datafile import load_yaml

if TYPE_CHECKING:
    import networkx as nx  # annotations only: loading the speed model for a lookup never needs networkx

_MPH = 1.609344
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SpeedModel:
    """The speed model read from ``speeds.yaml``.

    Attributes
    ----------
    default_kph : dict
        Free-flow speed (km/h) per highway class when maxspeed is missing.
    fallback_kph : float
        Speed (km/h) of a class not in ``default_kph``.
    zones : dict
        Speeds (km/h) of the ``SE:<zone>`` maxspeed tokens.
    list_rule : str
        ``"min"`` or ``"max"``: which value of a multi-valued maxspeed to keep.
    profiles : dict
        Profile name → (default factor, {class: factor}).
    ferry_speed_kph, ferry_wait_s : float
        Ferry crossing speed (km/h) and fixed boarding time (s).
    aliases : dict
        Old profile name → the profile it now stands for (its factors are also under the old name in ``profiles``).
    """

    default_kph: dict[str, float]
    fallback_kph: float
    zones: dict[str, float]
    list_rule: str
    profiles: dict[str, tuple[float, dict[str, float]]]
    ferry_speed_kph: float
    ferry_wait_s: float
    snap_exclude: tuple[str, ...]
    drivable: tuple[str, ...]
    service_exclude: tuple[str, ...]
    isochrone: dict[str, float] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def canonical(self, profile: str) -> str:
        """The profile a name stands for (``rush_hour`` → ``peak``); other names unchanged."""
        return self.aliases.get(profile, profile)

    def speed_kph(self, highway: str, maxspeed: Any = None) -> float:
        """Free-flow speed of an edge (km/h): its parsed maxspeed, else the class default."""
        parsed = parse_maxspeed(maxspeed, zones=self.zones, rule=self.list_rule)
        if parsed is not None:
            return parsed
        return float(self.default_kph.get(highway, self.fallback_kph))

    def factors(self, classes: np.ndarray, profile: str) -> np.ndarray:
        """Speed factor per edge (same shape as ``classes``) for a named profile."""
        _verify_profile(self, profile)
        default, table = self.profiles[profile]
        uniq, inverse = np.unique(np.asarray(classes, dtype=str), return_inverse=True)
        per_class = np.array([table.get(c, default) for c in uniq], dtype=np.float64)
        return per_class[inverse].reshape(np.shape(classes))

    def ferry_time_s(self, length_m: float, duration: Any = None) -> float:
        """Crossing time (s) of a ferry edge: its OSM ``duration`` or length at ferry speed, plus wait."""
        seconds = parse_duration(duration)
        if seconds is None:
            seconds = length_m / (self.ferry_speed_kph / 3.6)
        return seconds + self.ferry_wait_s


def _verify_profile(model: SpeedModel, profile: str) -> None:
    if profile not in model.profiles:
        raise ValueError(f"Unknown speed profile {profile!r}; speeds.yaml defines {sorted(model.profiles)}.")


def load_speed_model(path: str | Path) -> SpeedModel:
    """Read a speed model from a YAML file (see ``data/speeds.yaml``).

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    SpeedModel
    """
    return _load_cached(str(Path(path).resolve()), Path(path).stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _load_cached(path: str, _mtime: int) -> SpeedModel:
    raw = load_yaml(Path(path).read_text(encoding="utf-8"))
    profiles = {
        name: (float(p.get("default_factor", 1.0)), {k: float(v) for k, v in (p.get("factor") or {}).items()})
        for name, p in raw["profiles"].items() if "alias_of" not in p
    }
    aliases = {name: str(p["alias_of"]) for name, p in raw["profiles"].items() if "alias_of" in p}
    for name, target in aliases.items():
        if target not in profiles:
            raise ValueError(f"Profile {name!r} in {path} is an alias of {target!r}, which is not defined there.")
        profiles[name] = profiles[target]  # old configurations keep working under the old name
    for name, (default, table) in profiles.items():
        if not all(0 < f <= 2 for f in [default, *table.values()]):
            raise ValueError(f"Profile {name!r} in {path} has a factor outside (0, 2].")
    return SpeedModel(
        default_kph={k: float(v) for k, v in raw["default_kph"].items()},
        fallback_kph=float(raw["fallback_kph"]),
        zones={k: float(v) for k, v in raw["maxspeed_zones"].items()},
        list_rule=str(raw.get("maxspeed_list_rule", "min")),
        profiles=profiles,
        ferry_speed_kph=float(raw["ferry"]["speed_kph"]),
        ferry_wait_s=float(raw["ferry"]["wait_s"]),
        snap_exclude=tuple(raw["snap_exclude"]),
        drivable=tuple(raw["drivable"]),
        service_exclude=tuple(raw.get("service_exclude", ())),
        isochrone={k: float(v) for k, v in (raw.get("isochrone") or {}).items()},
        aliases=aliases,
    )


def parse_maxspeed(value: Any, zones: dict[str, float] | None = None, rule: str = "min") -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h.

    Parameters
    ----------
    value : Any
        A number, ``"50"``, ``"50 mph"``, ``"50;70"``, a list such as ``['50', '70']`` (or its string form
        as written by OSMnx shapefiles), ``"SE:urban"``, ``"none"``…
    zones : dict, optional
        Speeds of ``XX:<zone>`` tokens; defaults to the Swedish ones (urban 50, rural 70, motorway 110).
    rule : str
        ``"min"`` (default) or ``"max"`` for multi-valued tags.

    Returns
    -------
    float or None
        Speed in km/h, or None when the value gives no usable speed (missing, "none", "signals", junk).
    """
    zones = zones if zones is not None else {"urban": 50.0, "rural": 70.0, "motorway": 110.0}
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, (list, tuple, set)):
        parts = [parse_maxspeed(v, zones, rule) for v in value]
    elif isinstance(value, (int, float)):
        parts = [float(value)]
    else:
        parts = [_parse_one(p, zones) for p in re.split(r"[;|,]", str(value))]
    speeds = [p for p in parts if p is not None and p > 0]
    if not speeds:
        return None
    return min(speeds) if rule == "min" else max(speeds)


def _parse_one(token: str, zones: dict[str, float]) -> float | None:
    token = token.strip()
    match = _NUMBER.match(token)
    if match:
        speed = float(match.group(1))
        return speed * _MPH if (match.group(2) or "").lower() == "mph" else speed
    if ":" in token:
        return zones.get(token.split(":", 1)[1].strip().lower())
    return None


def parse_duration(value: Any) -> float | None:
    """Parse an OSM ``duration`` (``"HH:MM"``, ``"HH:MM:SS"``, minutes as a number) to seconds."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float)):
        return float(value) * 60.0
    parts = str(value).strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) == 1:
        return numbers[0] * 60.0
    if len(numbers) == 2:
        return numbers[0] * 3600.0 + numbers[1] * 60.0
    if len(numbers) == 3:
        return numbers[0] * 3600.0 + numbers[1] * 60.0 + numbers[2]
    return None


def road_class(highway: Any) -> str:
    """One highway class string from an OSM/OSMnx value (lists keep their first class)."""
    if isinstance(highway, str) and highway.startswith("["):
        try:
            highway = ast.literal_eval(highway)
        except (ValueError, SyntaxError):
            return highway
    if isinstance(highway, (list, tuple)):
        return str(highway[0]) if highway else "road"
    if highway is None or (isinstance(highway, float) and math.isnan(highway)):
        return "road"
    return str(highway)


def add_speeds(G: nx.MultiDiGraph, model: SpeedModel, profile: str = "free_flow") -> nx.MultiDiGraph:
    """Set ``speed_kph`` (km/h, free flow) and ``travel_time`` (s, for ``profile``) on every edge, in place.

    Edges need ``length`` (m) and ``highway``; ``maxspeed`` is used when present. Ferry edges
    (``ferry=True``) get a fixed crossing time from :meth:`SpeedModel.ferry_time_s`.

    Parameters
    ----------
    G : nx.MultiDiGraph
        The graph, any CRS (only ``length`` in metres is used).
    model : SpeedModel
    profile : str
        Profile of the ``travel_time`` attribute.

    Returns
    -------
    nx.MultiDiGraph
        The same graph.
    """
    _verify_profile(model, profile)
    default, table = model.profiles[profile]
    for _, _, data in G.edges(data=True):
        length = float(data["length"])
        if data.get("ferry", False):
            seconds = model.ferry_time_s(length, data.get("duration"))
            data["speed_kph"] = length / seconds * 3.6 if seconds > 0 else model.ferry_speed_kph
            data["travel_time"] = seconds
            continue
        data["speed_kph"] = model.speed_kph(data["highway"], data.get("maxspeed"))
        factor = table.get(data["highway"], default)
        data["travel_time"] = length / (data["speed_kph"] * factor / 3.6)
    return G

"""MATSim network XML → OSMnx-style graph (EPSG:3006).

MATSim links carry no road class, only ``freespeed`` (m/s), ``capacity`` (veh/h) and ``permlanes``. The
network was built by MATSim's ``OsmNetworkReader``, whose per-class defaults give a recognisable capacity
per lane, so the class is inferred (documented rule, see :func:`infer_highway`):

============================  =====================================================
capacity / lane (veh/h)       inferred ``highway``
============================  =====================================================
≥ 2000, ≥ 2 lanes, ≥ 70 km/h  ``motorway`` (motorways and motorway-like trunks, e.g. Essingeleden)
≥ 2000 otherwise              ``trunk``
1500                          ``primary``; ``motorway_link`` when the OSM way (``origid``) touches a
                              motorway node and is ≤ 2 km long (ramps)
1000                          ``secondary``
600, > 35 km/h                ``tertiary`` (MATSim's 45 km/h tertiary/unclassified default)
600, ≤ 35 km/h                ``residential``
< 600                         ``living_street``
============================  =====================================================

``freespeed`` becomes the edge's ``maxspeed`` (km/h): it is MATSim's posted or per-class speed.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from geo.boundaries import DataFileError
from core.settings import METRIC_CRS

MOTORWAY_LANE_CAPACITY = 2000.0
"""MATSim OsmNetworkReader capacity per lane (veh/h) of motorway and trunk."""
PRIMARY_LANE_CAPACITY = 1500.0
SECONDARY_LANE_CAPACITY = 1000.0
MINOR_LANE_CAPACITY = 600.0
MOTORWAY_MIN_KPH = 70.0
RESIDENTIAL_MAX_KPH = 35.0
RAMP_MAX_WAY_M = 2000.0


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_matsim(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse a MATSim network file into node and link tables.

    Parameters
    ----------
    path : str or Path
        ``network.xml`` or ``network.xml.gz``; coordinates are assumed to be EPSG:3006.

    Returns
    -------
    nodes, links : pandas.DataFrame
        ``nodes`` (index ``osmid``; ``x``, ``y`` in metres) and ``links`` (``id``, ``u``, ``v``, ``length``
        in metres, ``freespeed`` in m/s, ``capacity``, ``permlanes``, ``origid``).
    """
    node_rows: list[tuple[str, str, str]] = []
    link_rows: list[tuple] = []
    try:
        _parse(Path(path), node_rows, link_rows)
    except (EOFError, OSError, ET.ParseError, KeyError) as exc:
        # A truncated download or a non-MATSim file must stop `prepare` with a sentence, not a parser traceback.
        raise DataFileError(
            f"Cannot read the MATSim network {Path(path).name} (truncated or not MATSim XML: {exc!r}); "
            "replace the file or set ASIH_NETWORK_FILE."
        ) from exc
    nodes = pd.DataFrame(node_rows, columns=["osmid", "x", "y"])
    nodes["x"] = nodes["x"].astype(np.float64)
    nodes["y"] = nodes["y"].astype(np.float64)
    links = pd.DataFrame(
        link_rows, columns=["id", "u", "v", "length", "freespeed", "capacity", "permlanes", "origid"]
    )
    for col in ("length", "freespeed", "capacity", "permlanes"):
        links[col] = links[col].astype(np.float64)
    nodes["osmid"] = _int_ids(nodes["osmid"])
    links["u"] = _int_ids(links["u"])
    links["v"] = _int_ids(links["v"])
    return nodes.set_index("osmid"), links


def _parse(path: Path, node_rows: list, link_rows: list) -> None:
    with _open(path) as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            tag = el.tag
            if tag == "node":
                a = el.attrib
                node_rows.append((a["id"], a["x"], a["y"]))
                el.clear()
            elif tag == "link":
                a = el.attrib
                if "car" in a.get("modes", "car"):
                    link_rows.append(
                        (a["id"], a["from"], a["to"], a["length"], a["freespeed"], a["capacity"],
                         a.get("permlanes", "1"), a.get("origid", ""))
                    )
                el.clear()


def _int_ids(ids: pd.Series) -> pd.Series:
    try:
        return ids.astype(np.int64)
    except ValueError:
        return ids


def infer_highway(links: pd.DataFrame) -> np.ndarray:
    """Infer an OSM ``highway`` class for MATSim links (rule in the module docstring).

    Parameters
    ----------
    links : pandas.DataFrame
        From :func:`read_matsim`.

    Returns
    -------
    numpy.ndarray of str
    """
    kph = links["freespeed"].to_numpy() * 3.6
    lanes = np.maximum(links["permlanes"].to_numpy(), 1.0)
    per_lane = links["capacity"].to_numpy() / lanes
    cls = np.full(len(links), "living_street", dtype=object)
    cls[per_lane >= MINOR_LANE_CAPACITY - 1] = "tertiary"
    cls[(per_lane >= MINOR_LANE_CAPACITY - 1) & (kph <= RESIDENTIAL_MAX_KPH)] = "residential"
    cls[per_lane >= SECONDARY_LANE_CAPACITY - 1] = "secondary"
    cls[per_lane >= PRIMARY_LANE_CAPACITY - 1] = "primary"
    cls[per_lane >= MOTORWAY_LANE_CAPACITY - 1] = "trunk"
    motorway = (per_lane >= MOTORWAY_LANE_CAPACITY - 1) & (lanes >= 2) & (kph >= MOTORWAY_MIN_KPH)
    cls[motorway] = "motorway"

    # Ramps: short 1500/lane OSM ways that touch a motorway node.
    motorway_nodes = np.union1d(links["u"].to_numpy()[motorway], links["v"].to_numpy()[motorway])
    candidate = cls == "primary"
    touches = np.isin(links["u"].to_numpy(), motorway_nodes) | np.isin(links["v"].to_numpy(), motorway_nodes)
    frame = pd.DataFrame({"origid": links["origid"].to_numpy(), "len": links["length"].to_numpy(),
                          "touch": touches & candidate, "cand": candidate})
    frame = frame[frame["cand"]]
    by_way = frame.groupby("origid").agg(touch=("touch", "any"), length=("len", "sum"))
    # Both directions of a two-way way are listed: halve the summed length.
    ramps = by_way.index[by_way["touch"] & (by_way["length"] <= 2 * RAMP_MAX_WAY_M)]
    cls[candidate & np.isin(links["origid"].to_numpy(), ramps.to_numpy())] = "motorway_link"
    return cls.astype(str)


def graph_from_matsim(path: str | Path) -> nx.MultiDiGraph:
    """Load a MATSim network as an OSMnx-style ``MultiDiGraph`` in EPSG:3006.

    Parameters
    ----------
    path : str or Path
        MATSim network XML (optionally gzipped), coordinates in EPSG:3006.

    Returns
    -------
    nx.MultiDiGraph
        Node attributes ``x``, ``y`` (m); edge attributes ``length`` (m), ``highway`` (inferred),
        ``maxspeed`` (km/h, from ``freespeed``), ``lanes``, ``capacity``, ``osmid``, ``matsim_id``,
        ``ferry`` (False). No ``speed_kph``/``travel_time`` yet (see :func:`routing.speeds.add_speeds`).
    """
    nodes, links = read_matsim(path)
    highway = infer_highway(links)
    G = nx.MultiDiGraph(crs=METRIC_CRS, source="matsim")
    G.add_nodes_from(
        (osmid, {"x": x, "y": y}) for osmid, x, y in zip(nodes.index, nodes["x"], nodes["y"], strict=True)
    )
    kph = np.round(links["freespeed"].to_numpy() * 3.6, 3)
    G.add_edges_from(
        (u, v, {"length": length, "highway": hw, "maxspeed": s, "lanes": lanes, "capacity": cap,
                "osmid": origid, "matsim_id": lid, "ferry": False})
        for u, v, length, hw, s, lanes, cap, origid, lid in zip(
            links["u"], links["v"], links["length"], highway, kph, links["permlanes"], links["capacity"],
            links["origid"], links["id"], strict=True)
    )
    return G

"""networkx references for the drive-time engine: the same graph searched by networkx's Dijkstra."""

from __future__ import annotations

import networkx as nx

from routing.network import RoadNetwork
from routing.snapping import Snap


def with_point(G: nx.MultiDiGraph, net: RoadNetwork, s: Snap, name: str) -> nx.MultiDiGraph:
    """A copy of ``G`` (``net.to_networkx()``) with the snapped point as a real node named ``name`` splitting its
    edge and, on a two-way road, the opposite edge (``travel_time`` in s, split by the snap's ``fraction``)."""
    H = G.copy()
    e, f, rev = s.edge, s.fraction, net.edge_rev[s.edge]
    u, v = int(net.edge_u[e]), int(net.edge_v[e])
    H.add_edge(name, v, travel_time=(1 - f) * net.edge_time_s[e])
    H.add_edge(u, name, travel_time=f * net.edge_time_s[e])
    if rev >= 0:
        H.add_edge(name, u, travel_time=f * net.edge_time_s[rev])
        H.add_edge(v, name, travel_time=(1 - f) * net.edge_time_s[rev])
    return H

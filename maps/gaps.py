"""What a map shows as a gap: the people out of reach, never land nobody lives on (shared by the interactive and
the static maps)."""

from __future__ import annotations

import geopandas as gpd


def people_gaps(unreached: gpd.GeoDataFrame | None, gaps: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Polygons with the people out of reach in each (column ``unreached``, persons; ``area_id`` when known).

    ``unreached`` is the DeSO frame of :meth:`routing.audit.CoverageAuditor.unreached_by_deso` and is used as it is;
    without it, the ``gaps`` polygons that hold at least one person (their ``population``). None when neither has any.
    """
    if unreached is not None:
        return unreached
    if gaps is None or not len(gaps) or "population" not in gaps:
        return None
    held = gaps[gaps["population"] >= 1]
    columns = {"unreached": held["population"].to_numpy()}
    if "area_id" in held:
        columns = {"area_id": held["area_id"].to_numpy(), **columns}
    return gpd.GeoDataFrame(columns, geometry=held.geometry.values, crs=gaps.crs)

"""Incident counts on H3 cells over a whole study area (cells with no incident included).

The cells of a study area are every H3 cell at the resolution that *overlaps* it
(``h3.h3shape_to_cells_experimental(..., contain="overlap")``), so every incident inside the
area falls in a listed cell. Points count their weight in their cell; a LineString (a stretch
of bus route) is sampled every half cell edge and its weight split between the samples, as
for kernel density. Records whose ``precision_m`` exceeds the cell's average edge length are
excluded by default (``precision="exclude"``) and counted in ``attrs["excluded_precision"]``.

Neighbours (:func:`h3_neighbours`) are the H3 k-rings (``h3.grid_disk``) restricted to the
cells of the study area; for k = 1 these are the six hexagons sharing an edge, i.e. the rook
(and queen) contiguity of the cell polygons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from ..incident import CRS_BNG, CRS_WGS84
from .kde import point_set

__all__ = [
    "cell_polygons",
    "cells_for_area",
    "cells_of_points",
    "h3_counts",
    "h3_neighbours",
]

_TO_WGS = Transformer.from_crs(CRS_BNG, CRS_WGS84, always_xy=True)


def _check_resolution(resolution: int) -> int:
    if not isinstance(resolution, int | np.integer) or not 0 <= int(resolution) <= 15:
        msg = f"`resolution` {resolution!r} must be an H3 resolution 0..15, e.g. 9 (~0.1 km²)."
        raise ValidationError(msg)
    return int(resolution)


def cells_for_area(study_area: BaseGeometry, *, resolution: int) -> list[str]:
    """Every H3 cell at ``resolution`` overlapping ``study_area`` (EPSG:27700), sorted."""
    res = _check_resolution(resolution)
    wgs = shapely.transform(
        study_area, lambda xy: np.column_stack(_TO_WGS.transform(xy[:, 0], xy[:, 1]))
    )
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(wgs))
    return sorted(h3.h3shape_to_cells_experimental(shape, res, contain="overlap"))


def cells_of_points(x: np.ndarray, y: np.ndarray, *, resolution: int) -> np.ndarray:
    """H3 cells (object array of strings) of BNG points."""
    res = _check_resolution(resolution)
    lon, lat = _TO_WGS.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.array(
        [h3.latlng_to_cell(b, a, res) for a, b in zip(lon, lat, strict=True)], dtype=object
    )


def cell_polygons(cells: Iterable[str]) -> gpd.GeoSeries:
    """The cells as polygons in EPSG:27700."""
    polys = []
    for c in cells:
        ring = h3.cell_to_boundary(c)  # (lat, lng) pairs
        polys.append(Polygon([(lng, lat) for lat, lng in ring]))
    return gpd.GeoSeries(polys, crs=CRS_WGS84).to_crs(CRS_BNG)


def h3_neighbours(cells: Sequence[str], *, k: int = 1) -> dict[str, list[str]]:
    """Neighbours of each cell within ``k`` rings, restricted to ``cells`` (self excluded)."""
    if k < 1:
        msg = f"`k` {k!r} must be at least 1 (the six adjacent hexagons)."
        raise ValidationError(msg)
    present = set(cells)
    return {c: sorted(n for n in h3.grid_disk(c, k) if n != c and n in present) for c in cells}


def h3_counts(
    gdf: gpd.GeoDataFrame,
    *,
    resolution: int,
    study_area: BaseGeometry | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    precision: Literal["exclude", "ignore"] = "exclude",
) -> gpd.GeoDataFrame:
    """Weighted incident counts per H3 cell, zero cells included.

    Parameters
    ----------
    gdf
        Incident frame (EPSG:27700).
    resolution
        H3 resolution (9: ~0.1 km² hexagons, edge ~200 m).
    study_area
        Polygon (EPSG:27700) whose overlapping cells are all listed. Default: the cells that
        hold at least one incident.
    weights
        Column name, values, or None (the ``weight`` column, else 1).
    precision
        ``exclude`` records coarser than the cell edge, or ``ignore`` precision.

    Returns
    -------
    geopandas.GeoDataFrame
        ``h3_cell``, ``count`` (weighted incidents), ``area_km2``; EPSG:27700 polygons; sorted
        by cell. ``attrs`` holds the counts of records used, excluded and outside the area.
    """
    res = _check_resolution(resolution)
    edge = float(h3.average_hexagon_edge_length(res, unit="m"))
    ps = point_set(
        gdf,
        weights=weights,
        bandwidth=edge if precision == "exclude" else None,
        precision="exclude" if precision == "exclude" else "ignore",
        line_step=edge / 2,
    )
    pcells = (
        cells_of_points(ps.x, ps.y, resolution=res) if len(ps.x) else np.array([], dtype=object)
    )
    sums = pd.Series(ps.w).groupby(pcells).sum() if len(ps.x) else pd.Series(dtype=float)
    if study_area is not None:
        cells = cells_for_area(study_area, resolution=res)
    else:
        cells = sorted(sums.index)
    counts = sums.reindex(cells, fill_value=0.0).to_numpy(dtype=float)
    out = gpd.GeoDataFrame(
        {"h3_cell": cells, "count": counts},
        geometry=cell_polygons(cells).values,
        crs=CRS_BNG,
    )
    out["area_km2"] = [h3.cell_area(c, unit="km^2") for c in cells]
    out.attrs.update(ps.counts)
    out.attrs["outside_area"] = float(sums.sum() - counts.sum()) if len(sums) else 0.0
    out.attrs["resolution"] = res
    return out

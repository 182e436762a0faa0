"""Rasters and hotspot polygons from density surfaces.

- :func:`write_cog` writes a :class:`~geosafe.hotspots.kde.KdeResult` as a Cloud-Optimised
  GeoTIFF (GDAL ``COG`` driver via rasterio): EPSG:27700, float32, incidents per km², nodata
  (-9999) outside the study area, DEFLATE, internal overviews.
- :func:`hotspot_polygons` turns the cells above a threshold into polygons (without GDAL:
  :mod:`geosafe.hotspots.pixels`), either the top
  ``top_percent`` % of the study area by density, or every cell at or above a density value,
  and reports each polygon's area (m², km²), the incidents inside it and its peak/mean
  density. Output is WGS84 (EPSG:4326) for GeoJSON (RFC 7946).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from .._errors import ValidationError
from ..incident import CRS_BNG, CRS_WGS84
from .kde import KdeResult
from .pixels import region_polygons

__all__ = ["NODATA", "hotspot_polygons", "threshold_for_share", "write_cog", "write_geojson"]

NODATA = -9999.0


def write_cog(result: KdeResult, path: Path | str, *, per_year: bool = False) -> Path:
    """Write the surface as a Cloud-Optimised GeoTIFF (EPSG:27700, incidents per km²).

    Parameters
    ----------
    result
        The surface.
    path
        Output ``.tif``.
    per_year
        Write incidents per km² per year (needs ``result.period_years``).
    """
    import rasterio  # GDAL: only a GeoTIFF needs it (hotspot polygons are drawn without it)

    path = Path(path)
    values = result.per_year if per_year else result.grid
    if values is None:
        msg = "`per_year=True` needs a surface computed with `period_years`; pass one."
        raise ValidationError(msg)
    data = np.where(np.isfinite(values), values, NODATA).astype("float32")
    nrows, ncols = data.shape
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": ncols,
        "height": nrows,
        "count": 1,
        "dtype": "float32",
        "crs": CRS_BNG,
        "transform": result.transform,
        "nodata": NODATA,
        "compress": "DEFLATE",
        "predictor": 3,
        "blocksize": 256,
        "overview_resampling": "average",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(
            units="incidents per km2 per year" if per_year else "incidents per km2",
            kernel=result.kernel,
            bandwidth_m=str(result.bandwidth_m),
            bandwidth_method=result.bandwidth_method,
            cell_m=str(result.cell_m),
            incidents_used=str(result.counts.get("used", 0)),
            incidents_excluded_precision=str(result.counts.get("excluded_precision", 0)),
            incidents_spread_precision=str(result.counts.get("spread_precision", 0)),
        )
        dst.set_band_description(1, "density")
    return path


def threshold_for_share(values: np.ndarray, share: float) -> float:
    """The density at which the top ``share`` (0-1) of the study-area cells begins."""
    if not 0 < share <= 1:
        msg = f"`share` {share!r} must be in (0, 1]; e.g. 0.05 for the top 5 %."
        raise ValidationError(msg)
    v = np.sort(values[np.isfinite(values)])[::-1]
    if v.size == 0:
        return float("inf")
    k = max(1, int(np.floor(share * v.size)))
    return float(v[k - 1])


def hotspot_polygons(
    result: KdeResult,
    *,
    top_percent: float | None = None,
    threshold: float | None = None,
    points: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Polygons of the cells at or above a density threshold, in WGS84.

    Parameters
    ----------
    result
        The surface.
    top_percent
        Keep the densest ``top_percent`` % of the study area (e.g. 5).
    threshold
        Or keep cells with density at least this (incidents per km²).
    points
        Incidents (EPSG:27700) to count inside each polygon.

    Returns
    -------
    geopandas.GeoDataFrame
        ``hotspot_id``, ``area_m2``, ``area_km2``, ``incidents``, ``peak_density``,
        ``mean_density`` (incidents per km²), ``threshold``; EPSG:4326, densest first.
    """
    if (top_percent is None) == (threshold is None):
        msg = "pass exactly one of `top_percent` (e.g. 5) or `threshold` (incidents per km²)."
        raise ValidationError(msg)
    grid = result.grid
    if top_percent is not None:
        if not 0 < top_percent <= 100:
            msg = f"`top_percent` {top_percent!r} must be in (0, 100]."
            raise ValidationError(msg)
        thr = threshold_for_share(grid, top_percent / 100)
    else:
        thr = float(threshold)  # type: ignore[arg-type]
    hot = np.isfinite(grid) & (grid >= thr) & (grid > 0)
    cols = ["hotspot_id", "area_m2", "area_km2", "incidents", "peak_density", "mean_density"]
    if not hot.any():
        empty = gpd.GeoDataFrame({c: [] for c in [*cols, "threshold"]}, geometry=[], crs=CRS_BNG)
        return empty.to_crs(CRS_WGS84)
    from scipy import ndimage

    labels, count = ndimage.label(hot, structure=np.ones((3, 3)))
    ids = list(range(1, count + 1))
    # each 8-connected group of cells as one (Multi)Polygon, as GDAL's polygonizer and
    # shapely.union_all drew it (geosafe.hotspots.pixels; tested against rasterio)
    geoms = region_polygons(labels.astype("int32"), result.transform, ids)
    peak = ndimage.maximum(np.nan_to_num(grid), labels, ids)
    mean = ndimage.mean(np.nan_to_num(grid), labels, ids)
    gdf = gpd.GeoDataFrame(
        {
            "area_m2": [g.area for g in geoms],
            "peak_density": np.asarray(peak, dtype=float),
            "mean_density": np.asarray(mean, dtype=float),
        },
        geometry=geoms,
        crs=CRS_BNG,
    )
    gdf["area_km2"] = gdf["area_m2"] / 1e6
    if points is not None and len(points):
        pts = points.to_crs(CRS_BNG) if points.crs != CRS_BNG else points
        located = pts[~(pts.geometry.is_empty | pts.geometry.isna())]
        reps = located.geometry.representative_point()
        joined = gpd.sjoin(
            gpd.GeoDataFrame(geometry=reps, crs=CRS_BNG), gdf[["geometry"]], predicate="within"
        )
        counts = joined.groupby("index_right").size()
        gdf["incidents"] = counts.reindex(gdf.index, fill_value=0).astype(int)
    else:
        gdf["incidents"] = 0
    gdf["threshold"] = thr
    gdf = gdf.sort_values("peak_density", ascending=False).reset_index(drop=True)
    gdf["hotspot_id"] = np.arange(1, len(gdf) + 1)
    out = gdf[[*cols, "threshold", "geometry"]].to_crs(CRS_WGS84)
    out["geometry"] = shapely.set_precision(out.geometry.values, 1e-6)
    out["geometry"] = (
        out.geometry.orient_polygons() if hasattr(out.geometry, "orient_polygons") else out.geometry
    )
    return out


def write_geojson(gdf: gpd.GeoDataFrame, path: Path | str) -> Path:
    """Write a WGS84 frame as RFC 7946 GeoJSON (no ``crs`` member, 6 decimals)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    out = gdf.to_crs(CRS_WGS84) if gdf.crs is not None and gdf.crs != CRS_WGS84 else gdf
    out.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})
    return path

"""The hotspot layers the service publishes: kernel density hotspot polygons (and their COG),
H3 cell counts with Getis-Ord Gi*, DBSCAN clusters and emerging hotspots, computed by
:mod:`geosafe.hotspots` from the filtered incidents of the store over the demo area."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import datasets
from ..incident import CRS_BNG
from . import disclosure, places
from .catalogue import FILTER_PARAMS, KDE_PARAMS, AnalysisParams
from .layer import Layer, LayerSource, is_synthetic, make_layer

__all__ = [
    "GI_PERMUTATIONS",
    "cluster_layer",
    "emerging_layer",
    "h3_layer",
    "kde_cog",
    "kde_layer",
    "kde_result",
]

#: Permutations of the Gi* test behind ``h3-cells`` (seeded: the layer is reproducible).
GI_PERMUTATIONS: Final = 0  # analytic Gi* p-values (hotspots helper, issue 11)


def _period_label(svc: LayerSource, params: AnalysisParams) -> str:
    start, end = svc.period(params)
    return f"{start}/{end}" if start and end else ""


def _period_years(svc: LayerSource, params: AnalysisParams) -> float | None:
    start, end = svc.period(params)
    if start is None or end is None:
        return None
    return max(1, (end - start).days + 1) / 365.25


def kde_result(svc: LayerSource, params: AnalysisParams, *, public: bool = False) -> Any:
    """The kernel density surface (:class:`geosafe.hotspots.kde.KdeResult`, incidents per km²)
    of the filtered incidents over the demo area; ``public``: smoothed from the published
    H3 resolution-8 cell counts at the cell centres with a kernel wider than the cell
    spacing (:func:`geosafe.publish.disclosure.public_kde_settings`), so it carries nothing
    the published counts do not."""
    params = params.only(FILTER_PARAMS + KDE_PARAMS)
    state = svc.public_state() if public else svc.store_state()
    key = ("kde", params.key(), state, public)

    def build() -> Any:
        from ..hotspots.kde import kde_surface

        bandwidth, cell, kernel = params.bandwidth_m, params.cell_m, params.kernel
        years: float | None
        if public:  # the published counts only (public_layers reads them)
            from .published_counts import density_points

            pts, years = density_points(svc, params)
            bandwidth, cell, _ = disclosure.public_kde_settings(bandwidth, cell)
            kernel = "quartic"
        else:
            pts, years = svc.incidents(params), _period_years(svc, params)
        return kde_surface(
            pts,
            bandwidth=bandwidth,
            cell=cell,
            kernel="gaussian" if kernel == "gaussian" else "quartic",
            study_area=datasets.demo_area(svc.data_dir),
            period_years=years,
        )

    return svc.memo(key, build)


def kde_cog(
    svc: LayerSource,
    params: AnalysisParams,
    out_dir: Path,
    *,
    public: bool = False,
    area: Any = None,
) -> Path:
    """The density surface of ``params`` as a Cloud-Optimised GeoTIFF under ``out_dir``
    (written once per parameters and store state); ``area`` (EPSG:27700): cells outside it
    are nodata (a neighbourhood token's scope)."""
    from ..hotspots.surfaces import write_cog

    p = params.only(FILTER_PARAMS + KDE_PARAMS)
    scope = None if area is None else hashlib.sha256(area.wkb).hexdigest()
    key = (p.key(), svc.public_state() if public else svc.store_state(), public, scope)
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
    path = Path(out_dir) / f"kde-{digest}.tif"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".tif", dir=path.parent)
        os.close(fd)
        result = kde_result(svc, p, public=public)
        if area is not None:
            grid = disclosure.mask_to_area(result.grid, result.transform, area)
            result = replace(result, grid=grid)
        write_cog(result, tmp)
        os.replace(tmp, path)
    return path


def kde_layer(svc: LayerSource, params: AnalysisParams, *, public: bool = False) -> Layer:
    """Hotspot polygons: the densest ``top_pct`` % of the surface (incidents per km²)."""
    from ..hotspots.surfaces import hotspot_polygons

    result = kde_result(svc, params, public=public)
    if public:  # the published counts under the polygon (the surface's integral), not points
        from .published_counts import public_period

        gdf = hotspot_polygons(result, top_percent=params.top_pct, points=None).to_crs(CRS_BNG)
        counts = (gdf["mean_density"] * gdf["area_km2"]).to_numpy(dtype=float)
        method = disclosure.public_kde_settings(params.bandwidth_m, params.cell_m)[2]
        period = public_period(svc, params)
        label, synthetic = (period.label if period else ""), False
    else:
        pts = svc.incidents(params)
        gdf = hotspot_polygons(result, top_percent=params.top_pct, points=pts).to_crs(CRS_BNG)
        label, synthetic = _period_label(svc, params), is_synthetic(pts)
        counts = gdf["incidents"].to_numpy(dtype=float)
        method = (
            f"{params.kernel} kernel of bandwidth {params.bandwidth_m:g} m on a "
            f"{params.cell_m:g} m grid over the incidents"
        )
    frame = gpd.GeoDataFrame(
        {
            "rank": gdf["hotspot_id"].astype(int).to_numpy(),
            "density": gdf["peak_density"].to_numpy(dtype=float),
            "mean_density": gdf["mean_density"].to_numpy(dtype=float),
            "count": np.round(counts).astype(int),
            "area_km2": gdf["area_km2"].to_numpy(dtype=float),
            "threshold": gdf["threshold"].to_numpy(dtype=float),
            "place_name": places.place_names(gdf.geometry.to_numpy(), svc.data_dir),
            "units": "incidents per km²",
            "method": method,
            "period": label,
            "preset": params.preset or "all-day",
        },
        geometry=gdf.geometry.to_numpy(),
        crs=CRS_BNG,
    )
    frame.index = pd.Index([f"kde-{r}" for r in frame["rank"]], name="id")
    return make_layer("hotspots-kde", frame, params, synthetic=synthetic)


def h3_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """Counts per H3 cell over the demo area with Gi* z, p (permutations) and class."""
    from ..hotspots.gistar import gi_star
    from ..hotspots.h3grid import h3_counts

    pts = svc.incidents(params)
    counts = h3_counts(
        pts, resolution=params.resolution, study_area=datasets.demo_area(svc.data_dir)
    )
    gi = gi_star(counts, permutations=GI_PERMUTATIONS, seed=0)
    frame = gpd.GeoDataFrame(
        {
            "cell": gi["h3_cell"].astype(str).to_numpy(),
            "resolution": params.resolution,
            "count": gi["count"].to_numpy(dtype=float),
            "density": (gi["count"] / gi["area_km2"]).to_numpy(dtype=float),
            "gi_z": gi["gi_z"].to_numpy(dtype=float),
            "gi_p": gi["gi_p"].to_numpy(dtype=float),
            "hotspot": gi["gi_class"].astype(str).to_numpy(),
            # named from the cell itself (public geometry): the page shows these names
            "place_name": places.place_names(gi.geometry.to_numpy(), svc.data_dir),
            "period": _period_label(svc, params),
            "preset": params.preset or "all-day",
        },
        geometry=gi.geometry.to_numpy(),
        crs=CRS_BNG,
    )
    frame.index = pd.Index(frame["cell"], name="id")
    from .exports import integer_counts  # counts as integers where they are whole

    frame = integer_counts(frame, "h3-cells")
    return make_layer("h3-cells", frame, params, synthetic=is_synthetic(pts))


def cluster_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """DBSCAN clusters of the filtered incidents as hulls."""
    from ..hotspots import dbscan

    pts = svc.incidents(params)
    gdf = dbscan.clusters(pts, eps=params.eps_m, min_samples=params.min_samples)
    gdf = gdf.to_crs(CRS_BNG)
    n_col = next((c for c in ("n_incidents", "count", "size") if c in gdf.columns), None)
    id_col = next((c for c in ("cluster_id", "cluster", "label") if c in gdf.columns), None)
    ids = gdf[id_col].to_numpy() if id_col else np.arange(1, len(gdf) + 1)
    frame = gpd.GeoDataFrame(
        {
            "cluster_id": ids.astype(int),
            "n_incidents": gdf[n_col].to_numpy(dtype=float) if n_col else np.nan,
            "density": gdf["density_per_km2"].to_numpy(dtype=float)
            if "density_per_km2" in gdf.columns
            else np.nan,
            "place_name": places.place_names(gdf.geometry.to_numpy(), svc.data_dir),
            "period": _period_label(svc, params),
            "preset": params.preset or "all-day",
        },
        geometry=gdf.geometry.to_numpy(),
        crs=CRS_BNG,
    )
    frame.index = pd.Index([f"cluster-{i}" for i in frame["cluster_id"]], name="id")
    from .exports import integer_counts  # counts as integers where they are whole

    frame = integer_counts(frame, "clusters")
    return make_layer("clusters", frame, params, synthetic=is_synthetic(pts))


def emerging_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """H3 cells classed by the trend of their hot-spot status."""
    from ..hotspots import emerging

    pts = svc.incidents(params)
    gdf = emerging.emerging_hotspots(
        pts, resolution=params.resolution, study_area=datasets.demo_area(svc.data_dir)
    ).to_crs(CRS_BNG)
    cell_col = "h3_cell" if "h3_cell" in gdf.columns else "cell"
    trend_col = next((c for c in ("category", "trend", "pattern") if c in gdf.columns), None)
    frame = gpd.GeoDataFrame(
        {
            "cell": gdf[cell_col].astype(str).to_numpy(),
            "resolution": params.resolution,
            "trend": gdf[trend_col].astype(str).to_numpy() if trend_col else "",
            "count": gdf["count"].to_numpy(dtype=float) if "count" in gdf.columns else np.nan,
            "place_name": places.place_names(gdf.geometry.to_numpy(), svc.data_dir),
            "period": _period_label(svc, params),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=CRS_BNG,
    )
    frame.index = pd.Index(frame["cell"], name="id")
    from .exports import integer_counts  # counts as integers where they are whole

    frame = integer_counts(frame, "emerging-cells")
    return make_layer("emerging-cells", frame, params, synthetic=is_synthetic(pts))

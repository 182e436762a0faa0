"""Emerging hotspots: Gi* per time slice and a Mann-Kendall trend per H3 cell.

For each slice (month by default) the incidents are counted on the study area's H3 cells
(zeros included) and Gi* computed (:func:`geosafe.hotspots.gistar.gi_star`, FDR-controlled
classes). A cell is *hot in a slice* when its class there is ``hot_90`` or stronger
(significant at 90 % after FDR). The trend is the Mann-Kendall test (``pymannkendall``
``original_test``, α = ``alpha``) of the cell's Gi* z-scores over the slices.

Categories (assigned in this order; a cell gets the first that applies)
-----------------------------------------------------------------------
``new``
    Hot in the final slice and in no earlier slice.
``intensifying``
    Hot in at least 90 % of the slices, the final one included, and the z-scores trend up.
``persistent``
    Hot in at least 90 % of the slices, the final one included, with no significant trend.
``diminishing``
    Hot in at least 90 % of the slices, the final one included, and the z-scores trend down.
``sporadic``
    Hot in the final slice and in some earlier ones, but in fewer than 90 % of the slices.
``none``
    Everything else (including cells that were hot but are not in the final slice).

These follow ArcGIS Pro's *Emerging Hot Spot Analysis* definitions of the same names, with
the final slice as the "current" one; cold-spot categories are not produced (safeguarding asks
where harm concentrates).
"""

from __future__ import annotations

import warnings
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from .gistar import gi_star
from .h3grid import h3_counts

__all__ = ["CATEGORIES", "categorise", "emerging_hotspots"]

CATEGORIES = ("new", "intensifying", "persistent", "diminishing", "sporadic", "none")

_FREQ = {"week": "W-MON", "month": "MS", "quarter": "QS"}


def categorise(hot: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Categories from a ``(cells, slices)`` boolean hot matrix and a per-cell trend
    (+1 significant increase, -1 decrease, 0 none)."""
    hot = np.asarray(hot, dtype=bool)
    n_slices = hot.shape[1]
    final = hot[:, -1]
    earlier = hot[:, :-1].sum(axis=1)
    share = hot.sum(axis=1) / n_slices
    out = np.full(hot.shape[0], "none", dtype=object)
    mostly = final & (share >= 0.9)
    out[final & (earlier > 0) & ~mostly] = "sporadic"
    out[mostly & (trend < 0)] = "diminishing"
    out[mostly & (trend == 0)] = "persistent"
    out[mostly & (trend > 0)] = "intensifying"
    out[final & (earlier == 0)] = "new"
    return out


def _mk(series: np.ndarray, alpha: float) -> tuple[int, float, float]:
    import pymannkendall as mk

    if np.allclose(series, series[0]):
        return 0, 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = mk.original_test(series, alpha=alpha)
    sign = 1 if res.trend == "increasing" else -1 if res.trend == "decreasing" else 0
    return sign, float(res.Tau), float(res.p)


def emerging_hotspots(
    gdf: gpd.GeoDataFrame,
    *,
    resolution: int = 9,
    study_area: BaseGeometry | None = None,
    slice: Literal["week", "month", "quarter"] = "month",
    k: int = 1,
    permutations: int = 0,
    seed: int | None = 0,
    alpha: float = 0.05,
) -> gpd.GeoDataFrame:
    """Emerging hotspot categories of H3 cells.

    Parameters
    ----------
    gdf
        Incident frame (EPSG:27700). Each incident belongs to the slice of its
        ``occurred_from`` (local time).
    resolution, study_area, k
        H3 cells and neighbourhood as for :func:`~geosafe.hotspots.gistar.gi_star`.
    slice
        Slice length.
    permutations, seed
        Gi* inference per slice: 0 analytic p-values (default), else at least 999
        permutations (:func:`~geosafe.hotspots.gistar.gi_star`).
    alpha
        Mann-Kendall significance level.

    Returns
    -------
    geopandas.GeoDataFrame
        ``h3_cell``, ``count`` (all slices), ``hot_slices``, ``hot_final``, ``gi_z_final``,
        ``mk_tau``, ``mk_p``, ``trend`` (-1/0/+1), ``category``; ``attrs["slices"]``.
    """
    if slice not in _FREQ:
        msg = f"`slice` {slice!r} is not supported; pass 'week', 'month' or 'quarter'."
        raise ValidationError(msg)
    times = pd.DatetimeIndex(pd.to_datetime(gdf["occurred_from"]))
    if times.tz is not None:
        times = times.tz_convert("Europe/London").tz_localize(None)
    if len(times) == 0:
        msg = "no incidents to analyse; widen the filters."
        raise ValidationError(msg)
    periods = times.to_period({"week": "W-SUN", "month": "M", "quarter": "Q"}[slice])
    labels = pd.period_range(periods.min(), periods.max(), freq=periods.freq)
    if len(labels) < 3:
        msg = f"emerging hotspots need at least 3 {slice}s of data, got {len(labels)}; widen the dates."
        raise ValidationError(msg)
    base = h3_counts(gdf.iloc[:0], resolution=resolution, study_area=study_area)
    if study_area is None:
        base = h3_counts(gdf, resolution=resolution)
    cells = list(base["h3_cell"])
    z = np.zeros((len(cells), len(labels)))
    hot = np.zeros((len(cells), len(labels)), dtype=bool)
    total = np.zeros(len(cells))
    for j, lab in enumerate(labels):
        sub = gdf[np.asarray(periods == lab)]
        counts = h3_counts(sub, resolution=resolution, study_area=study_area)
        per_cell = counts.set_index("h3_cell")["count"].reindex(cells, fill_value=0.0)
        counts = base.copy()
        counts["count"] = per_cell.to_numpy(dtype=float)
        total += counts["count"].to_numpy()
        g = gi_star(counts, k=k, permutations=permutations, seed=None if seed is None else seed + j)
        z[:, j] = g["gi_z"].to_numpy()
        hot[:, j] = g["gi_class"].astype(str).str.startswith("hot").to_numpy()
    trend = np.zeros(len(cells), dtype=int)
    tau = np.zeros(len(cells))
    pval = np.ones(len(cells))
    for i in range(len(cells)):
        if hot[i].any():
            trend[i], tau[i], pval[i] = _mk(z[i], alpha)
    out = base[["h3_cell", "geometry"]].copy()
    out["count"] = total
    out["hot_slices"] = hot.sum(axis=1)
    out["hot_final"] = hot[:, -1]
    out["gi_z_final"] = z[:, -1]
    out["mk_tau"] = tau
    out["mk_p"] = pval
    out["trend"] = trend
    out["category"] = categorise(hot, trend)
    out.attrs = {
        "slices": [str(p) for p in labels],
        "resolution": resolution,
        "k": k,
        "permutations": permutations,
        "seed": seed,
        "incidents": len(gdf),
    }
    return out

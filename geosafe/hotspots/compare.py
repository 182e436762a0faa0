"""Two periods or two sources side by side.

- a **difference surface**: kernel density of B minus A on the same grid (incidents per km²,
  or per km² per year when both periods' lengths are given, so that periods of different
  lengths compare fairly);
- the **change in hotspot membership** on H3 cells: Gi* (FDR, 95 %) in A and in B, and each
  cell labelled ``became_hot`` (hot in B only), ``stayed_hot`` (both), ``stopped_hot`` (A only)
  or ``not_hot``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from .gistar import gi_star
from .h3grid import h3_counts
from .kde import KdeResult, kde_surface

__all__ = ["Comparison", "compare"]

_HOT95 = ("hot_95", "hot_99")


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`."""

    a: KdeResult
    b: KdeResult
    difference: KdeResult
    cells: gpd.GeoDataFrame
    change_counts: dict[str, int]


def compare(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    *,
    study_area: BaseGeometry,
    bandwidth: float = 250.0,
    cell: float = 50.0,
    kernel: Literal["quartic", "gaussian"] = "quartic",
    resolution: int = 9,
    k: int = 1,
    permutations: int = 0,
    seed: int = 0,
    years_a: float | None = None,
    years_b: float | None = None,
) -> Comparison:
    """Compare incidents ``a`` (before, or source A) with ``b`` (after, or source B).

    Parameters
    ----------
    a, b
        Incident frames (EPSG:27700).
    study_area
        Polygon (EPSG:27700) shared by both surfaces and the H3 cells.
    bandwidth, cell, kernel
        Kernel density settings (metres).
    resolution, k, permutations, seed
        Gi* settings.
    years_a, years_b
        Period lengths (years); when both are given the surfaces are per km² per year.
    """
    if (years_a is None) != (years_b is None):
        msg = "pass both `years_a` and `years_b`, or neither."
        raise ValidationError(msg)
    sb = study_area.bounds
    bounds = (sb[0], sb[1], sb[2], sb[3])
    ka, kb = (
        kde_surface(
            frame,
            bandwidth=bandwidth,
            cell=cell,
            kernel=kernel,
            study_area=study_area,
            period_years=years,
            bounds=bounds,
        )
        for frame, years in ((a, years_a), (b, years_b))
    )
    ga = ka.per_year if ka.per_year is not None else ka.grid
    gb = kb.per_year if kb.per_year is not None else kb.grid
    diff = replace(
        kb,
        grid=np.asarray(gb - ga),
        period_years=None,
        params=kb.params | {"difference": "b - a", "per_year": years_a is not None},
    )
    ca = gi_star(
        h3_counts(a, resolution=resolution, study_area=study_area),
        k=k,
        permutations=permutations,
        seed=seed,
    )
    cb = gi_star(
        h3_counts(b, resolution=resolution, study_area=study_area),
        k=k,
        permutations=permutations,
        seed=seed,
    )
    hot_a = ca["gi_class"].isin(_HOT95).to_numpy()
    hot_b = cb["gi_class"].isin(_HOT95).to_numpy()
    change = np.select(
        [hot_a & hot_b, hot_b & ~hot_a, hot_a & ~hot_b],
        ["stayed_hot", "became_hot", "stopped_hot"],
        "not_hot",
    )
    cells = cb[["h3_cell", "geometry"]].copy()
    cells["count_a"] = ca["count"].to_numpy()
    cells["count_b"] = cb["count"].to_numpy()
    cells["gi_z_a"] = ca["gi_z"].to_numpy()
    cells["gi_z_b"] = cb["gi_z"].to_numpy()
    cells["gi_class_a"] = ca["gi_class"].to_numpy()
    cells["gi_class_b"] = cb["gi_class"].to_numpy()
    cells["change"] = change
    counts = {
        c: int((change == c).sum()) for c in ("became_hot", "stayed_hot", "stopped_hot", "not_hot")
    }
    return Comparison(ka, kb, diff, cells, counts)

"""Predictive accuracy of hotspot methods: PAI, PEI, RRI and a rolling backtest.

Every method forecasts a later period from training incidents by *scoring the cells of its own
tessellation* (``kde``: density at 50 m cell centres; ``grid``: counts in square cells;
``gistar``: Gi* z on H3 cells; ``dbscan``: the density of the cluster a cell lies in). The
cells are ranked by score (ties broken at random with the seed) and taken while their total
area stays within ``area`` x the study area. A method with fewer scoring cells than that
area is topped up with random zero-score cells, so every method is judged on the same share
of the area (otherwise a fine grid with few non-empty cells flags less area and its PAI is
inflated by the smaller denominator).

Measures, for ``n`` test incidents in the chosen cells out of ``N`` test incidents in the
study area, chosen area ``a`` out of study area ``A``:

- **PAI** (Chainey et al. 2008) = (n / N) / (a / A): hit rate per unit of area share.
- **PEI** (Hunt 2016) = n / n*, where n* is the most test incidents any choice of the same
  method's cells with the same number of cells could hold (the best possible forecast
  on that tessellation): 1 is perfect.
- **RRI** (Levine 2008, recapture rate index) = (n / n_train) / (N / N_train), with n_train
  the *training* incidents in the chosen cells: above 1 when the chosen cells take a larger
  share of the test period than of the training period.

The study area ``A`` is the area of the tessellation's cells that touch the study area (square
cells, all-touched; H3 cells overlapping), so every incident inside it is in some cell.

``auto``
--------
Chooses the method, its cell size, bandwidth and training window from the training months
only: the last ``min(3, N // 4)`` training months are validation months, each forecast from the
windows of months before it (all inside the training period), and the candidate with the best
mean validation hit rate at the same area share wins (ties: the coarser candidate). The
candidates are the tuned ``kde`` and ``grid`` settings over the windows of
``windows_months``, plus every fixed method (``kde``, ``grid``, ``gistar``, ``dbscan`` at their
defaults) on all the training months, so on the held-out months ``auto`` is never behind a
fixed method. The longest window the validation allows stands for "all training months" and is
refitted with ``train_months`` for the test month. ``settings["chosen"]`` reports, per test
month, the choice and the whole table it chose from (``candidates``, best first).

police.uk map points
--------------------
police.uk moves every crime to the nearest of a fixed set of anonymous map points (street
centres and places, each covering several addresses), so the same coordinates recur month
after month. Fine methods (small cells, small bandwidths) learn that set of points: a 25 m
cell that held a past crime is likely to hold the map point of a future one. On the Met
burglary data (six boroughs, test months 2023-01..2024-02, 5 % of the area, 12 training
months) a 25-50 m grid or a 50 m kernel reaches PAI ~14 against ~7 for 100 m cells, ~5 for a
250 m kernel and ~4 for Gi* on H3 resolution 9: the gain is the predictability of the *map
points*, not of where burglaries happen, and it would shrink on true locations. Coarse methods
smear the points and lose it. Longer training windows help fine methods (more of the map
points are seen) and hurt coarse ones less. ``auto`` is free to exploit this, since it is a
forecast of police.uk data, but it decides on held-out training months only, so any gain it
reports is one a forecaster could have had at the time. When the flagged area exceeds the
area of every non-empty cell (fine grids, one test month), PEI and RRI both equal the hit
rate.

Precision is not applied here: the incidents are scored where the source put them (for
police.uk the map points, which are the thing being forecast).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from rasterio.features import geometry_mask
from scipy.signal import fftconvolve
from shapely.geometry.base import BaseGeometry

from .. import periods
from .._errors import ValidationError
from ..incident import CRS_BNG
from . import dbscan as _dbscan
from . import gistar as _gistar
from . import h3grid
from .kde import Grid, _bin_linear, _kernel_grid, grid_for

__all__ = [
    "DEFAULTS",
    "METHODS",
    "Backtest",
    "MonthScore",
    "Tessellation",
    "backtest",
    "forecast_scores",
    "pai",
    "pei",
    "rri",
    "select_cells",
    "study_area_from_data",
]

log = logging.getLogger(__name__)

METHODS = ("kde", "grid", "gistar", "dbscan", "auto")

#: Default settings of each method (metres, H3 resolution, incidents).
DEFAULTS: dict[str, dict[str, Any]] = {
    "kde": {"kernel": "quartic", "bandwidth_m": 250.0, "cell_m": 50.0},
    "grid": {"cell_m": 100.0},
    "gistar": {"resolution": 9, "k": 1},
    "dbscan": {"eps_m": 100.0, "min_samples": 5, "cell_m": 50.0},
    "auto": {
        "kde_bandwidths_cells_m": [[50.0, 25.0], [100.0, 25.0], [200.0, 50.0], [400.0, 50.0]],
        "grid_cells_m": [25.0, 50.0, 100.0, 200.0],
        "windows_months": [3, 6, 12, 24],
        "fixed_methods": ["kde", "grid", "gistar", "dbscan"],
    },
}


# ---------------------------------------------------------------------------- measures


def pai(hits: float, total: float, area_selected: float, area_total: float) -> float:
    """Predictive Accuracy Index: (hits / total) / (area_selected / area_total)."""
    if total <= 0 or area_selected <= 0 or area_total <= 0:
        return float("nan")
    return (hits / total) / (area_selected / area_total)


def pei(hits: float, best_hits: float) -> float:
    """Predictive Efficiency Index: hits / the most hits possible with the same cells."""
    if best_hits <= 0:
        return float("nan")
    return hits / best_hits


def rri(test_hits: float, test_total: float, train_hits: float, train_total: float) -> float:
    """Recapture Rate Index: (test_hits / train_hits) / (test_total / train_total)."""
    if train_hits <= 0 or test_total <= 0 or train_total <= 0:
        return float("nan")
    return (test_hits / train_hits) / (test_total / train_total)


def select_cells(
    scores: np.ndarray, areas: np.ndarray, *, share: float, seed: int = 0
) -> np.ndarray:
    """Indices of the top-scoring cells whose total area stays within ``share`` of the total.

    Ties (including the zero-score cells that top up a sparse forecast) are broken at random
    (``seed``).
    """
    if not 0 < share <= 1:
        msg = f"`area` {share!r} must be a fraction in (0, 1], e.g. 0.05."
        raise ValidationError(msg)
    scores = np.asarray(scores, dtype=float)
    areas = np.asarray(areas, dtype=float)
    tie = np.random.default_rng(seed).random(scores.size)
    order = np.lexsort((tie, -scores))
    cum = np.cumsum(areas[order])
    limit = share * areas.sum() * (1 + 1e-9)
    return np.asarray(order[cum <= limit])


# ---------------------------------------------------------------------------- tessellations


@dataclass(frozen=True)
class Tessellation:
    """The cells a method scores: square grid cells or H3 cells, with their areas (m²)."""

    kind: str
    areas: np.ndarray
    grid: Grid | None = None
    cell_ids: np.ndarray | None = None  # flat grid index per cell, or H3 strings
    resolution: int | None = None
    lookup: dict[Any, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of cells."""
        return int(self.areas.size)

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell index of each point, -1 outside the tessellation."""
        if len(x) == 0:
            return np.zeros(0, dtype=np.int64)
        if self.grid is not None:
            row, col, inside = self.grid.cell_index(x, y)
            flat = np.where(inside, row * self.grid.ncols + col, -1)
            pos = self.lookup.get("pos")
            if pos is None:
                pos = np.full(self.grid.nrows * self.grid.ncols, -1, dtype=np.int64)
                pos[np.asarray(self.cell_ids, dtype=np.int64)] = np.arange(self.size)
                self.lookup["pos"] = pos  # cached: the dict is mutable inside the frozen object
            return np.asarray(np.where(flat >= 0, pos[np.clip(flat, 0, None)], -1))
        cells = h3grid.cells_of_points(x, y, resolution=int(self.resolution or 9))
        return np.array([self.lookup.get(c, -1) for c in cells], dtype=np.int64)

    def counts(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Incidents per cell."""
        idx = self.cell_of(x, y)
        return np.bincount(idx[idx >= 0], minlength=self.size).astype(float)


def square_tessellation(study_area: BaseGeometry, cell: float) -> Tessellation:
    """Square cells of ``cell`` metres touching the study area."""
    grid = grid_for(study_area.bounds, cell=cell)
    mask = geometry_mask(
        [study_area],
        out_shape=(grid.nrows, grid.ncols),
        transform=grid.transform,
        invert=True,
        all_touched=True,
    )
    ids = np.flatnonzero(mask.ravel())
    return Tessellation("square", np.full(ids.size, cell * cell), grid=grid, cell_ids=ids)


def h3_tessellation(study_area: BaseGeometry, resolution: int) -> Tessellation:
    """H3 cells overlapping the study area."""
    cells = np.array(h3grid.cells_for_area(study_area, resolution=resolution), dtype=object)
    areas = np.array([h3.cell_area(c, unit="m^2") for c in cells])
    return Tessellation(
        "h3",
        areas,
        cell_ids=cells,
        resolution=resolution,
        lookup={c: i for i, c in enumerate(cells)},
    )


# ---------------------------------------------------------------------------- forecasters


def _kde_scores(
    tess: Tessellation, x: np.ndarray, y: np.ndarray, *, bandwidth: float, kernel: str
) -> np.ndarray:
    grid = tess.grid
    if grid is None:  # pragma: no cover - programming error
        raise ValidationError("kde needs a square tessellation")
    binned, _ = _bin_linear(grid, x, y, np.ones(len(x)))
    if not binned.any():
        return np.zeros(tess.size)
    dens = np.clip(
        fftconvolve(binned, _kernel_grid(grid.cell, bandwidth, kernel), mode="same"), 0, None
    )
    return np.asarray(dens.ravel()[np.asarray(tess.cell_ids, dtype=np.int64)])


def _dbscan_scores(
    tess: Tessellation, x: np.ndarray, y: np.ndarray, *, eps: float, min_samples: int
) -> np.ndarray:
    grid = tess.grid
    if grid is None or len(x) == 0:
        return np.zeros(tess.size)
    labels = _dbscan.dbscan_labels(np.column_stack([x, y]), eps=eps, min_samples=min_samples)
    score = np.zeros(grid.nrows * grid.ncols)
    for lab in np.unique(labels[labels >= 0]):
        sel = labels == lab
        hull = shapely.concave_hull(
            shapely.multipoints(np.column_stack([x[sel], y[sel]])), ratio=0.3
        )
        hull = hull.buffer(max(10.0, eps / 2))
        density = sel.sum() / (hull.area / 1e6)
        m = geometry_mask(
            [hull], out_shape=(grid.nrows, grid.ncols), transform=grid.transform, invert=True
        ).ravel()
        score = np.where(m, np.maximum(score, density), score)
    return np.asarray(score[np.asarray(tess.cell_ids, dtype=np.int64)])


def forecast_scores(
    method: str,
    tess: Tessellation,
    x: np.ndarray,
    y: np.ndarray,
    settings: dict[str, Any],
    *,
    seed: int = 0,
) -> np.ndarray:
    """Scores of the tessellation's cells from training points (BNG metres)."""
    if method == "kde":
        return _kde_scores(
            tess, x, y, bandwidth=float(settings["bandwidth_m"]), kernel=str(settings["kernel"])
        )
    if method == "grid":
        return tess.counts(x, y)
    if method == "gistar":
        counts = tess.counts(x, y)
        if counts.sum() <= 0:
            return np.zeros(tess.size)
        w = _gistar.neighbour_matrix(
            list(tess.cell_ids if tess.cell_ids is not None else []), k=int(settings["k"])
        )
        z = _gistar.gi_star_z(counts, w)
        return np.asarray(z)
    if method == "dbscan":
        return _dbscan_scores(
            tess, x, y, eps=float(settings["eps_m"]), min_samples=int(settings["min_samples"])
        )
    msg = f"`method` {method!r} is not supported; use one of {', '.join(METHODS)}."
    raise ValidationError(msg)


def _tessellation_for(
    method: str, settings: dict[str, Any], study_area: BaseGeometry, cache: dict[Any, Tessellation]
) -> Tessellation:
    key: tuple[Any, ...]
    if method == "gistar":
        key = ("h3", int(settings["resolution"]))
        if key not in cache:
            cache[key] = h3_tessellation(study_area, int(settings["resolution"]))
    else:
        key = ("square", float(settings["cell_m"]))
        if key not in cache:
            cache[key] = square_tessellation(study_area, float(settings["cell_m"]))
    return cache[key]


# ---------------------------------------------------------------------------- backtest


@dataclass(frozen=True)
class MonthScore:
    """One method on one test period."""

    method: str
    test_month: str
    pai: float
    pei: float
    rri: float
    hits: float
    test_total: float
    train_total: float
    area_share: float
    settings: dict[str, Any]


@dataclass(frozen=True)
class Backtest:
    """A rolling backtest: per-month scores and their summary per method."""

    test_months: tuple[str, ...]
    area: float
    train_months: int
    scores: tuple[MonthScore, ...]
    settings: dict[str, dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        """The ``geosafe evaluate --format json`` object."""
        methods: dict[str, Any] = {}
        for m in self.settings:
            rows = [s for s in self.scores if s.method == m]
            entry: dict[str, Any] = {}
            for measure in ("pai", "pei", "rri"):
                vals = np.array([getattr(s, measure) for s in rows], dtype=float)
                ok = vals[np.isfinite(vals)]
                entry[measure] = {
                    "mean": _r(ok.mean()) if ok.size else None,
                    "min": _r(ok.min()) if ok.size else None,
                    "max": _r(ok.max()) if ok.size else None,
                }
            entry["settings"] = dict(self.settings[m])
            if m == "auto":
                entry["settings"]["chosen"] = {s.test_month: s.settings for s in rows}
            entry["monthly"] = [
                {
                    "month": s.test_month,
                    "pai": _r(s.pai),
                    "pei": _r(s.pei),
                    "rri": _r(s.rri),
                    "hits": s.hits,
                    "test_incidents": s.test_total,
                    "area_share": _r(s.area_share),
                }
                for s in rows
            ]
            methods[m] = entry
        return {"test_months": list(self.test_months), "area": self.area, "methods": methods}


def _r(v: float) -> float | None:
    return None if not math.isfinite(v) else round(float(v), 4)


def _month_index(gdf: gpd.GeoDataFrame) -> np.ndarray:
    local = pd.DatetimeIndex(pd.to_datetime(gdf["occurred_from"]))
    if local.tz is not None:
        local = local.tz_convert("Europe/London")
    return np.asarray(local.year * 12 + (local.month - 1))


def _month_label(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def _parse_month(text: str) -> int:
    d = periods.parse_month(text, name="month").start
    return d.year * 12 + d.month - 1


def _score_one(
    method: str,
    settings: dict[str, Any],
    tess: Tessellation,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    area: float,
    seed: int,
) -> tuple[float, float, float, float, float, float, float]:
    scores = forecast_scores(method, tess, train[0], train[1], settings, seed=seed)
    chosen = select_cells(scores, tess.areas, share=area, seed=seed)
    test_counts = tess.counts(*test)
    train_counts = tess.counts(*train)
    n = float(test_counts[chosen].sum())
    total = float(test_counts.sum())
    a_sel = float(tess.areas[chosen].sum())
    a_tot = float(tess.areas.sum())
    best = np.sort(test_counts)[::-1][: chosen.size].sum() if chosen.size else 0.0
    return (
        pai(n, total, a_sel, a_tot),
        pei(n, float(best)),
        rri(n, total, float(train_counts[chosen].sum()), float(train_counts.sum())),
        n,
        total,
        float(train_counts.sum()),
        a_sel / a_tot if a_tot else float("nan"),
    )


def _coarseness(method: str, st: dict[str, Any]) -> float:
    """A length (metres) for breaking ties towards the smoother candidate."""
    if method == "gistar":
        return float(h3.average_hexagon_edge_length(int(st["resolution"]), unit="m"))
    if method == "dbscan":
        return float(st["eps_m"])
    return float(st.get("bandwidth_m", st["cell_m"]))


def _auto_candidates(options: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """``(method, settings, fixed)``: the tuned kde and grid settings, then every fixed
    method at its default settings (so ``auto`` can never trail a fixed method on the held-out
    months)."""
    cands: list[tuple[str, dict[str, Any], bool]] = []
    for bw, cell in options["kde_bandwidths_cells_m"]:
        st = {"kernel": "quartic", "bandwidth_m": float(bw), "cell_m": float(cell)}
        cands.append(("kde", st, False))
    for c in options["grid_cells_m"]:
        cands.append(("grid", {"cell_m": float(c)}, False))
    for m in options.get("fixed_methods", ()):
        st = dict(DEFAULTS[m])
        if not any(cm == m and cst == st for cm, cst, _ in cands):
            cands.append((m, st, True))
    return cands


def _auto_choose(
    months: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    test_start: int,
    train_months: int,
    *,
    area: float,
    study_area: BaseGeometry,
    cache: dict[Any, Tessellation],
    options: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """The best candidate on the held-out training months, with the table it chose from.

    A window as long as the validation allows (``train_months - n_val``) stands for "all the
    training months" and is refitted with ``train_months`` for the test month, as a fixed
    method is.
    """
    n_val = max(1, min(3, train_months // 4))
    first_train = test_start - train_months
    val_months = list(range(test_start - n_val, test_start))
    full = train_months - n_val
    windows = sorted({w for w in options["windows_months"] if w < full} | {full})
    windows = [w for w in windows if w >= 1]
    table: list[dict[str, Any]] = []
    best: tuple[float, float, dict[str, Any]] | None = None
    for method, st, fixed in _auto_candidates(options):
        tess = _tessellation_for(method, st, study_area, cache)
        for w in [full] if fixed else windows:
            rates = []
            for v in val_months:
                lo = max(first_train, v - w)
                tr = (months >= lo) & (months < v)
                te = months == v
                test_counts = tess.counts(x[te], y[te])
                if test_counts.sum() <= 0 or not tr.any():
                    continue
                scores = forecast_scores(method, tess, x[tr], y[tr], st, seed=seed)
                chosen = select_cells(scores, tess.areas, share=area, seed=seed)
                rates.append(test_counts[chosen].sum() / test_counts.sum())
            if not rates:
                continue
            rate = float(np.mean(rates))
            row = {
                "method": method,
                **st,
                "window_months": train_months if w == full else w,
                "validation_hit_rate": round(rate, 4),
            }
            table.append(row)
            key = (rate, _coarseness(method, st) + w)
            if best is None or key > (best[0], best[1]):
                best = (key[0], key[1], row)
    if best is None:
        return {
            "method": "grid",
            "cell_m": 100.0,
            "window_months": train_months,
            "validation_hit_rate": None,
            "validation_months": [_month_label(v) for v in val_months],
            "candidates": table,
        }
    table.sort(key=lambda r: -r["validation_hit_rate"])
    return dict(best[2]) | {
        "validation_months": [_month_label(v) for v in val_months],
        "candidates": table,
    }


def study_area_from_data(
    gdf: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame, *, min_share: float = 0.01
) -> tuple[BaseGeometry, dict[str, Any]]:
    """The default study area: the boroughs the incidents fall in.

    A borough counts when it holds at least ``min_share`` of the located incidents (police.uk
    force data carries a few crimes just over the border; they do not make a borough part of
    the study). Returns the union (EPSG:27700) and a description: ``source``, ``boroughs``,
    ``area_km2``, ``incidents_outside``.
    """
    pts = gdf if gdf.crs is None or gdf.crs == CRS_BNG else gdf.to_crs(CRS_BNG)
    geoms = pts.geometry.values
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0:
        msg = (
            "no located incidents to choose a study area from; pass `--boroughs` or `--study-area`."
        )
        raise ValidationError(msg)
    reps = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
    b = boroughs.to_crs(CRS_BNG) if boroughs.crs != CRS_BNG else boroughs
    hits = np.array(
        [shapely.contains_xy(g, shapely.get_x(reps), shapely.get_y(reps)).sum() for g in b.geometry]
    )
    keep = hits >= max(1.0, min_share * len(reps))
    if not keep.any():
        msg = (
            "none of the incidents fall in a bundled borough; pass `--study-area FILE` "
            "(any vector file) instead."
        )
        raise ValidationError(msg)
    names = [str(n) for n in b.loc[keep, "name"]]
    area = b[keep].geometry.union_all()
    info = {
        "source": "boroughs the incidents fall in (at least "
        f"{min_share:.0%} of them each); pass `--boroughs` or `--study-area` to choose",
        "boroughs": sorted(names),
        "area_km2": round(float(area.area) / 1e6, 2),
        "incidents_outside": int(len(reps) - hits[keep].sum()),
    }
    return area, info


def backtest(
    gdf: gpd.GeoDataFrame,
    *,
    methods: Sequence[str],
    train_months: int,
    test_months: int = 1,
    area: float = 0.05,
    first_test: str | None = None,
    last_test: str | None = None,
    study_area: BaseGeometry,
    settings: dict[str, dict[str, Any]] | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Backtest:
    """Rolling backtest: each test period is forecast from the ``train_months`` before it.

    Parameters
    ----------
    gdf
        Incident frame (EPSG:27700); incidents outside ``study_area`` or without a location
        are dropped. Each incident's month is that of ``occurred_from`` (local time).
    methods
        Any of :data:`METHODS`.
    train_months, test_months
        Lengths of the training window and of each test period (months).
    area
        Share of the study area flagged as hot, e.g. 0.05.
    first_test, last_test
        ``YYYY-MM`` bounds of the test periods' first months (default: every month with
        ``train_months`` of history).
    study_area
        Polygon, EPSG:27700.
    settings
        Per-method overrides of :data:`DEFAULTS`.
    """
    cfg = resolve_settings(methods, settings, train_months=train_months, test_months=test_months)
    pts = gdf if gdf.crs is None or gdf.crs == CRS_BNG else gdf.to_crs(CRS_BNG)
    _, x, y, months = study_points(pts, study_area)
    if months.size == 0:
        raise ValidationError(_NO_POINTS)
    first, last = int(months.min()), int(months.max())
    starts = period_starts(first, last, first_test, last_test, train_months, test_months)
    check_training(months, starts, train_months)
    cache: dict[Any, Tessellation] = {}
    out: list[MonthScore] = []
    for start in starts:
        out.extend(
            score_month(
                start,
                (x, y, months),
                cfg,
                train_months=train_months,
                test_months=test_months,
                area=area,
                study_area=study_area,
                seed=seed,
                cache=cache,
                progress=progress,
            )
        )
    return Backtest(tuple(_month_label(s) for s in starts), area, train_months, tuple(out), cfg)


_NO_POINTS: Final = (
    "no located incidents inside the study area; check the input files and `--study-area`."
)


def resolve_settings(
    methods: Sequence[str],
    settings: dict[str, dict[str, Any]] | None,
    *,
    train_months: int,
    test_months: int,
) -> dict[str, dict[str, Any]]:
    """Each method's settings (:data:`DEFAULTS` with the overrides), after checking the
    methods and the window lengths."""
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        msg = f"`method` {bad or methods!r} is not supported; use any of {', '.join(METHODS)}."
        raise ValidationError(msg)
    if train_months < 1 or test_months < 1:
        msg = f"`train_months` {train_months!r} and `test_months` {test_months!r} must be >= 1."
        raise ValidationError(msg)
    return {
        m: dict(DEFAULTS[m]) | dict((settings or {}).get(m, {})) for m in dict.fromkeys(methods)
    }


def study_points(
    pts: gpd.GeoDataFrame, study_area: BaseGeometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The located incidents inside the study area (``pts`` in EPSG:27700): their positions
    in ``pts``, the x and y of their points (a line's or polygon's point on its surface) and
    their month index."""
    geoms = pts.geometry.values
    ok = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    reps = geoms[ok]
    reps = np.where(shapely.get_type_id(reps) == 0, reps, shapely.point_on_surface(reps))
    inside = (
        np.asarray(shapely.contains_xy(study_area, shapely.get_x(reps), shapely.get_y(reps)))
        if len(ok)
        else np.zeros(0, bool)
    )
    keep = ok[inside]
    months = _month_index(pts.iloc[keep]) if len(keep) else np.zeros(0, dtype=np.int64)
    return keep, shapely.get_x(reps)[inside], shapely.get_y(reps)[inside], months


def period_starts(
    first: int,
    last: int,
    first_test: str | None,
    last_test: str | None,
    train_months: int,
    test_months: int,
) -> list[int]:
    """The test periods' first months (month indexes) for data from month ``first`` to
    ``last``: ``first_test`` .. ``last_test``, by default every month with ``train_months``
    of history."""
    lo = _parse_month(first_test) if first_test else first + train_months
    hi = _parse_month(last_test) if last_test else last - test_months + 1
    if lo - train_months < first:
        log.warning(
            "test month %s has fewer than %d months of data before it",
            _month_label(lo),
            train_months,
        )
    starts = list(range(lo, hi + 1, test_months))
    if not starts:
        msg = f"no test months between {_month_label(lo)!r} and {_month_label(hi)!r}; widen `--from`/`--to`."
        raise ValidationError(msg)
    return starts


def check_training(months: np.ndarray, starts: Sequence[int], train_months: int) -> None:
    """Refuse test months with no incidents in the training window before them."""
    if months.size == 0:
        raise ValidationError(_NO_POINTS)
    empty = [
        _month_label(s0)
        for s0 in starts
        if not ((months >= s0 - train_months) & (months < s0)).any()
    ]
    if empty:
        first_data = _month_label(int(months.min()))
        msg = (
            f"test month(s) {', '.join(empty)} have no incidents in the {train_months} training "
            f"months before them (the data start in {first_data}), so there is nothing to "
            f"forecast from; pass `--from` {_month_label(int(months.min()) + train_months)!r} or "
            "later, or fewer `--train-months`."
        )
        raise ValidationError(msg)


def score_month(
    start: int,
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
    cfg: dict[str, dict[str, Any]],
    *,
    train_months: int,
    test_months: int,
    area: float,
    study_area: BaseGeometry,
    seed: int,
    cache: dict[Any, Tessellation],
    progress: Callable[[str], None] | None = None,
) -> list[MonthScore]:
    """Every method's scores for the test period starting at month index ``start``, from the
    points ``(x, y, month index)`` (those of the training window and the period suffice):
    the one month step of :func:`backtest` and of the Dask engine's tasks."""
    x, y, months = points
    label = _month_label(start)
    te = (months >= start) & (months < start + test_months)
    out = []
    for m in cfg:
        if progress:
            progress(f"{label} {m}")
        st = cfg[m]
        method = m
        if m == "auto":
            st = _auto_choose(
                months,
                x,
                y,
                start,
                train_months,
                area=area,
                study_area=study_area,
                cache=cache,
                options=cfg[m],
                seed=seed,
            )
            method = str(st["method"])
            window = int(st["window_months"])
        else:
            window = train_months
        tr = (months >= start - window) & (months < start)
        tess = _tessellation_for(method, st, study_area, cache)
        p, e, r, n, total, ntrain, share = _score_one(
            method, st, tess, (x[tr], y[tr]), (x[te], y[te]), area=area, seed=seed
        )
        out.append(MonthScore(m, label, p, e, r, n, total, ntrain, share, dict(st)))
    return out

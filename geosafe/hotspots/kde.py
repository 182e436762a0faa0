"""Kernel density surfaces by linear binning and FFT convolution.

Method
------
1. Incidents are placed on a regular grid of cell centres in EPSG:27700 (metres) by *linear
   binning*: each point's weight is shared between the four surrounding cell centres in
   proportion to the bilinear overlap (Wand & Jones 1995, ch. 4), which keeps the first
   moment exact and the binning error O(cell²).
2. The binned grid is convolved (:func:`fftconvolve_same`, ``scipy.signal.fftconvolve``'s
   algorithm) with the kernel sampled at the
   cell offsets and normalised so that its discrete sum times the cell area is exactly 1:
   mass is conserved away from the edges of the grid. The kernel is narrowed by the variance
   that linear binning adds (cell²/6 per axis), which keeps the error O(cell⁴) instead of
   O(cell²): about 0.3 % at a Gaussian σ of three cells.

Kernels
-------
``quartic``
    K(r) = 3 / (π h²) (1 - r²/h²)² for r < h: the bandwidth ``h`` is the *support radius*
    (QGIS heatmap, ArcGIS Kernel Density). Its per-axis standard deviation is h/√8.
``gaussian``
    K(r) = exp(-r²/2σ²) / (2π σ²): the bandwidth is σ. Evaluated out to 4σ.

Values are incidents per km² (weight per km² when weights are given); with a ``period``
also per km² per year.

Automatic bandwidth (``bandwidth="auto"``)
------------------------------------------
``rule``
    Scott's rule for a 2-D Gaussian, σ = s · n^(-1/6), with s the robust spread
    ``min(sd, IQR/1.349)`` averaged over x and y; the quartic support radius is the
    equivalent h = √8 · σ.
``cv`` (default)
    Likelihood cross-validation over a log-spaced set of candidates: maximise
    Σ log f₋(xᵢ), where f₋ leaves out every incident **at the same location** as xᵢ, not just
    xᵢ itself. police.uk snaps each crime to an anonymous map point, so many crimes share
    exact coordinates; the usual leave-one-out likelihood then rewards ever smaller bandwidths
    (the other crimes at the same point stay in) and degenerates. Leaving out the whole
    location asks instead how well the rest of the map predicts each map point. Log-densities
    are floored at 10⁻³ of the uniform density so that an isolated point does not make the
    quartic's likelihood -∞. The result records the method and the chosen value.

Location precision
------------------
A record whose ``precision_m`` is coarser than the bandwidth is either excluded
(``precision="exclude"``, the default) or spread uniformly over a disc of radius
``precision_m`` before smoothing (``precision="spread"``); :class:`KdeResult` counts both.
LineStrings (an incident known only along a stretch of bus route) are sampled every
``min(cell, bandwidth)/2`` metres along the line and the weight is split equally between the
samples; the line already carries its uncertainty, so ``precision_m`` is not applied to it.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from ..incident import CRS_BNG

__all__ = [
    "Grid",
    "KdeResult",
    "PointSet",
    "auto_bandwidth",
    "grid_for",
    "kde_surface",
    "kernel_values",
    "point_set",
    "study_area_mask",
]

log = logging.getLogger(__name__)

Kernel = Literal["quartic", "gaussian"]
_KERNELS = ("quartic", "gaussian")
_GAUSS_TRUNC = 4.0
_M2_PER_KM2 = 1e6


@dataclass(frozen=True)
class Grid:
    """A regular grid in EPSG:27700: ``ncols`` x ``nrows`` cells of ``cell`` metres.

    Row 0 is the north edge; ``(xmin, ymax)`` is the top-left corner.
    """

    xmin: float
    ymax: float
    cell: float
    nrows: int
    ncols: int

    @property
    def transform(self) -> Affine:
        """The affine transform (pixel corner to BNG)."""
        return Affine(self.cell, 0.0, self.xmin, 0.0, -self.cell, self.ymax)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` in metres."""
        return (
            self.xmin,
            self.ymax - self.nrows * self.cell,
            self.xmin + self.ncols * self.cell,
            self.ymax,
        )

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre x (per column) and y (per row), metres."""
        xs = self.xmin + (np.arange(self.ncols) + 0.5) * self.cell
        ys = self.ymax - (np.arange(self.nrows) + 0.5) * self.cell
        return xs, ys

    def cell_index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and an inside-the-grid mask of points."""
        col = np.floor((np.asarray(x) - self.xmin) / self.cell).astype(np.int64)
        row = np.floor((self.ymax - np.asarray(y)) / self.cell).astype(np.int64)
        inside = (col >= 0) & (col < self.ncols) & (row >= 0) & (row < self.nrows)
        return row, col, inside


def grid_for(bounds: tuple[float, float, float, float], *, cell: float, pad: float = 0.0) -> Grid:
    """The grid of ``cell``-metre cells covering ``bounds`` plus ``pad`` metres, snapped to
    multiples of the cell size."""
    if not cell > 0:
        msg = f"`cell` {cell!r} must be a positive number of metres, e.g. 50."
        raise ValidationError(msg)
    xmin, ymin, xmax, ymax = bounds
    xmin = math.floor((xmin - pad) / cell) * cell
    ymin = math.floor((ymin - pad) / cell) * cell
    xmax = math.ceil((xmax + pad) / cell) * cell
    ymax = math.ceil((ymax + pad) / cell) * cell
    ncols = max(1, round((xmax - xmin) / cell))
    nrows = max(1, round((ymax - ymin) / cell))
    if ncols * nrows > 400_000_000:
        msg = (
            f"a grid of {ncols} x {nrows} cells of {cell!r} m is too large; pass a larger "
            "`cell` or a smaller study area."
        )
        raise ValidationError(msg)
    return Grid(xmin=xmin, ymax=ymax, cell=cell, nrows=nrows, ncols=ncols)


def study_area_mask(grid: Grid, study_area: BaseGeometry | None) -> np.ndarray:
    """Boolean ``(nrows, ncols)`` array: cell centres inside ``study_area`` (all if None)."""
    if study_area is None:
        return np.ones((grid.nrows, grid.ncols), dtype=bool)
    from .pixels import cells_inside  # GDAL's rule without GDAL (rasterio's geometry_mask)

    return cells_inside(study_area, (grid.nrows, grid.ncols), grid.transform)


@dataclass(frozen=True)
class PointSet:
    """Weighted points ready for binning (EPSG:27700 metres) and what was done to get them."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    #: Per-point spread radius (metres, 0 = none) for records spread by their precision.
    spread: np.ndarray
    counts: dict[str, int]


def point_set(
    points: gpd.GeoDataFrame | np.ndarray,
    *,
    weights: str | Sequence[float] | np.ndarray | None = None,
    bandwidth: float | None = None,
    precision: Literal["exclude", "spread", "ignore"] = "exclude",
    line_step: float = 10.0,
) -> PointSet:
    """Turn an incident frame (or an ``(n, 2)`` array of x, y metres) into weighted points.

    Records with no geometry are counted as ``no_location``; LineStrings are sampled every
    ``line_step`` metres with their weight split; points whose ``precision_m`` exceeds
    ``bandwidth`` are excluded or marked for spreading (see the module notes).
    """
    if isinstance(points, np.ndarray):
        xy = np.asarray(points, dtype=float).reshape(-1, 2)
        w = _weights(weights, len(xy), None)
        counts = {"input": len(xy), "used": len(xy), "no_location": 0, "lines": 0}
        counts |= {"excluded_precision": 0, "spread_precision": 0}
        return PointSet(xy[:, 0], xy[:, 1], w, np.zeros(len(xy)), counts)
    if points.crs is not None and points.crs != CRS_BNG:
        points = points.to_crs(CRS_BNG)
    n = len(points)
    w_all = _weights(weights, n, points)
    geoms = np.asarray(points.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    gtype = shapely.get_type_id(geoms)
    is_point = (gtype == 0) & ~missing
    is_line = np.isin(gtype, (1, 5)) & ~missing
    other = ~(is_point | is_line | missing)
    if other.any():  # polygons etc.: use their centroid
        geoms = geoms.copy()
        geoms[other] = shapely.centroid(geoms[other])
        is_point |= other
    if "precision_m" in points.columns:
        prec = np.nan_to_num(points["precision_m"].to_numpy(dtype=float, na_value=np.nan), nan=0.0)
    else:
        prec = np.zeros(n)
    coarse = is_point & (prec > bandwidth) if bandwidth is not None else np.zeros(n, dtype=bool)
    n_excl = n_spread = 0
    spread_r = np.zeros(n)
    if precision == "exclude":
        n_excl = int(coarse.sum())
        is_point &= ~coarse
    elif precision == "spread":
        n_spread = int(coarse.sum())
        spread_r[coarse] = prec[coarse]
    xs = [shapely.get_x(geoms[is_point])]
    ys = [shapely.get_y(geoms[is_point])]
    ws = [w_all[is_point]]
    rs = [spread_r[is_point]]
    if is_line.any():
        lines = geoms[is_line]
        lengths = shapely.length(lines)
        nsamp = np.maximum(2, np.ceil(lengths / line_step).astype(np.int64) + 1)
        which = np.repeat(np.arange(len(lines)), nsamp)
        offs = np.concatenate([(np.arange(k) + 0.5) / k for k in nsamp])
        pts = shapely.line_interpolate_point(lines[which], offs, normalized=True)
        xs.append(shapely.get_x(pts))
        ys.append(shapely.get_y(pts))
        ws.append((w_all[is_line] / nsamp)[which])
        rs.append(np.zeros(len(which)))
    counts = {
        "input": n,
        "used": int(is_point.sum() + is_line.sum()),
        "no_location": int(missing.sum()),
        "lines": int(is_line.sum()),
        "excluded_precision": n_excl,
        "spread_precision": n_spread,
    }
    return PointSet(
        np.concatenate(xs), np.concatenate(ys), np.concatenate(ws), np.concatenate(rs), counts
    )


def _weights(
    weights: str | Sequence[float] | np.ndarray | None, n: int, frame: gpd.GeoDataFrame | None
) -> np.ndarray:
    if weights is None:
        if frame is not None and "weight" in frame.columns:
            w = frame["weight"].to_numpy(dtype=float, na_value=1.0)
        else:
            return np.ones(n)
    elif isinstance(weights, str):
        if frame is None or weights not in frame.columns:
            msg = f"`weights` column {weights!r} is not in the incident frame; pass a column name."
            raise ValidationError(msg)
        w = frame[weights].to_numpy(dtype=float, na_value=np.nan)
    else:
        w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        msg = (
            f"`weights` has {w.shape[0] if w.ndim else 0} values for {n} incidents; give one each."
        )
        raise ValidationError(msg)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        msg = "`weights` must be finite and non-negative; fix or drop the offending rows."
        raise ValidationError(msg)
    return w


def _bin_linear(
    grid: Grid, x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, float]:
    """Linear binning onto cell centres; returns the grid and the weight that fell off it.

    Bins into a grid padded by one cell on every side with ``bincount``, folds the ring back
    into the edge cells and crops; points more than half a cell outside are lost.
    """
    fx = (x - grid.xmin) / grid.cell - 0.5
    fy = (grid.ymax - y) / grid.cell - 0.5
    c0 = np.floor(fx)
    r0 = np.floor(fy)
    dx = fx - c0
    dy = fy - r0
    total = float(w.sum())
    ok = (c0 >= -1) & (c0 < grid.ncols) & (r0 >= -1) & (r0 < grid.nrows)
    if not ok.all():
        c0, r0, dx, dy, w = c0[ok], r0[ok], dx[ok], dy[ok], w[ok]
    width = grid.ncols + 2
    size = (grid.nrows + 2) * width
    idx = (r0.astype(np.int64) + 1) * width + (c0.astype(np.int64) + 1)
    wx1 = w * dx
    wx0 = w - wx1
    # float even with no points (bincount of an empty array is int64 whatever its weights)
    padded = np.bincount(idx, weights=wx0 * (1 - dy), minlength=size).astype(float, copy=False)
    padded += np.bincount(idx + 1, weights=wx1 * (1 - dy), minlength=size)
    padded += np.bincount(idx + width, weights=wx0 * dy, minlength=size)
    padded += np.bincount(idx + width + 1, weights=wx1 * dy, minlength=size)
    full = padded.reshape(grid.nrows + 2, width)
    # shares that fell in the one-cell ring (points within half a cell of the edge) fold back
    # into the edge cells, so every point on the grid keeps its whole weight
    full[1, :] += full[0, :]
    full[-2, :] += full[-1, :]
    full[:, 1] += full[:, 0]
    full[:, -2] += full[:, -1]
    out = full[1:-1, 1:-1]
    return np.ascontiguousarray(out), max(total - float(out.sum()), 0.0)


def kernel_values(r: np.ndarray, *, bandwidth: float, kernel: str) -> np.ndarray:
    """The continuous kernel at distances ``r`` (metres), per m² (integrates to 1)."""
    r = np.asarray(r, dtype=float)
    if kernel == "quartic":
        u = (r / bandwidth) ** 2
        return np.where(u < 1, 3.0 / (math.pi * bandwidth**2) * (1 - u) ** 2, 0.0)
    return np.exp(-0.5 * (r / bandwidth) ** 2) / (2 * math.pi * bandwidth**2)


def _kernel_grid(cell: float, bandwidth: float, kernel: str) -> np.ndarray:
    """The kernel sampled at cell offsets, summing to 1 / cell².

    Linear binning spreads each point over a triangle of per-axis variance cell²/6, so the
    kernel is narrowed by that variance (σ² - cell²/6; quartic h² - 4 cell²/3, its per-axis
    variance being h²/8) to keep the second moment of the result exact.
    """
    extra = cell * cell / 6 * (8 if kernel == "quartic" else 1)
    if bandwidth**2 > 2 * extra:
        bandwidth = math.sqrt(bandwidth**2 - extra)
    reach = bandwidth if kernel == "quartic" else _GAUSS_TRUNC * bandwidth
    k = max(1, math.ceil(reach / cell))
    offs = np.arange(-k, k + 1) * cell
    r = np.hypot(offs[None, :], offs[:, None])
    vals = kernel_values(r, bandwidth=bandwidth, kernel=kernel)
    total = vals.sum() * cell * cell
    if total <= 0:  # bandwidth far below the cell: all mass in the centre cell
        vals = np.zeros_like(vals)
        vals[k, k] = 1.0 / (cell * cell)
        return vals
    return np.asarray(vals / total)


def _disc(cell: float, radius: float) -> np.ndarray:
    k = max(0, math.ceil(radius / cell))
    offs = np.arange(-k, k + 1) * cell
    d = (np.hypot(offs[None, :], offs[:, None]) <= radius).astype(float)
    return np.asarray(d / d.sum())


def fftconvolve_same(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``scipy.signal.fftconvolve(a, kernel, mode="same")`` of 2-D real arrays, bit for bit
    (the same real transforms of the same fast lengths, the same centred crop), with
    :mod:`scipy.fft` alone: importing :mod:`scipy.signal` loads scipy.stats and
    scipy.optimize, ~50 MB of a server's memory."""
    from scipy import fft

    # an axis of length 1 is broadcast, not transformed (as scipy does)
    axes = [i for i in range(2) if a.shape[i] != 1 and kernel.shape[i] != 1]
    full = [
        a.shape[i] + kernel.shape[i] - 1 if i in axes else max(a.shape[i], kernel.shape[i])
        for i in range(2)
    ]
    if axes:
        fast = [fft.next_fast_len(full[i], True) for i in axes]
        spectra = fft.rfftn(a, fast, axes=axes) * fft.rfftn(kernel, fast, axes=axes)
        out = fft.irfftn(spectra, fast, axes=axes)[: full[0], : full[1]]
    else:
        out = a * kernel
    r0, c0 = ((full[i] - a.shape[i]) // 2 for i in range(2))
    return np.asarray(out[r0 : r0 + a.shape[0], c0 : c0 + a.shape[1]])


def _smooth(binned: np.ndarray, kern: np.ndarray) -> np.ndarray:
    if not binned.any():
        return np.zeros_like(binned)
    out = fftconvolve_same(binned, kern)
    return np.asarray(np.clip(out, 0.0, None))


def spread_groups(radii: np.ndarray) -> np.ndarray:
    """Group spread radii into 5 % steps (one disc convolution per group); the single-process
    and the Dask engines share this rule so their surfaces agree."""
    return np.round(np.log(radii) / math.log(1.05)).astype(np.int64)


def spread_parts(
    ps: Any,
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The spread (coarse) records of ``ps`` (a :class:`PointSet`, or the Dask engine's
    partition points: anything with ``x``, ``y``, ``w`` and ``spread`` arrays) by
    :func:`spread_groups`: ``(group, x, y, w,
    radii)`` per group; both engines bin each part and convolve it with one disc."""
    coarse = ps.spread > 0
    if not coarse.any():
        return
    radii = ps.spread[coarse]
    gid = spread_groups(radii)
    xs, ys, ws = ps.x[coarse], ps.y[coarse], ps.w[coarse]
    for g in np.unique(gid):
        sel = gid == g
        yield int(g), xs[sel], ys[sel], ws[sel], radii[sel]


def _density_grid(
    grid: Grid, ps: PointSet, *, bandwidth: float, kernel: str
) -> tuple[np.ndarray, float]:
    """Density per m² on the grid, and the weight that fell outside it."""
    sharp = ps.spread <= 0
    binned, lost = _bin_linear(grid, ps.x[sharp], ps.y[sharp], ps.w[sharp])
    # spread coarse records over a disc of their precision radius (grouped to 5 % steps)
    for _, x, y, w, radii in spread_parts(ps):
        b, lo = _bin_linear(grid, x, y, w)
        lost += lo
        binned += fftconvolve_same(b, _disc(grid.cell, float(radii.mean())))
    kern = _kernel_grid(grid.cell, bandwidth, kernel)
    return _smooth(binned, kern), lost


def _bilinear(grid: Grid, values: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation between cell centres; NaN outside the grid."""
    fx = (np.asarray(x, dtype=float) - grid.xmin) / grid.cell - 0.5
    fy = (grid.ymax - np.asarray(y, dtype=float)) / grid.cell - 0.5
    fx = np.clip(fx, 0, grid.ncols - 1)
    fy = np.clip(fy, 0, grid.nrows - 1)
    c0 = np.minimum(np.floor(fx).astype(np.int64), max(grid.ncols - 2, 0))
    r0 = np.minimum(np.floor(fy).astype(np.int64), max(grid.nrows - 2, 0))
    c1 = np.minimum(c0 + 1, grid.ncols - 1)
    r1 = np.minimum(r0 + 1, grid.nrows - 1)
    dx = fx - c0
    dy = fy - r0
    v = (
        values[r0, c0] * (1 - dx) * (1 - dy)
        + values[r0, c1] * dx * (1 - dy)
        + values[r1, c0] * (1 - dx) * dy
        + values[r1, c1] * dx * dy
    )
    xmin, ymin, xmax, ymax = grid.bounds
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    outside = (xa < xmin) | (xa > xmax) | (ya < ymin) | (ya > ymax)
    return np.where(outside, np.nan, v)


@dataclass(frozen=True)
class KdeResult:
    """A kernel density surface.

    Attributes
    ----------
    grid
        ``(nrows, ncols)`` incidents per km² at cell centres, row 0 = north; NaN outside the
        study area.
    transform
        Affine transform of the grid (EPSG:27700 metres).
    crs
        ``"EPSG:27700"``.
    bandwidth_m
        Bandwidth used (quartic: support radius; Gaussian: σ), metres.
    kernel, cell_m
        Kernel name and cell size (metres).
    bandwidth_method
        ``"fixed"``, ``"rule"`` or ``"cv"``.
    counts
        ``input``, ``used``, ``no_location``, ``lines``, ``excluded_precision``,
        ``spread_precision``, ``outside_grid``.
    total_weight
        Weighted count of the incidents used (incidents).
    period_years
        Length of the period for per-year values, or None.
    params
        Everything needed to reproduce the surface (JSON-serialisable).
    """

    grid: np.ndarray
    transform: Affine
    crs: str
    bandwidth_m: float
    kernel: str
    cell_m: float
    bandwidth_method: str
    counts: dict[str, int]
    total_weight: float
    period_years: float | None
    params: dict[str, Any] = field(default_factory=dict)
    cv_scores: tuple[tuple[float, float], ...] = ()

    @property
    def grid_spec(self) -> Grid:
        """The :class:`Grid` of the surface."""
        nrows, ncols = self.grid.shape
        return Grid(self.transform.c, self.transform.f, self.cell_m, nrows, ncols)

    @property
    def per_year(self) -> np.ndarray | None:
        """Incidents per km² per year, when a period was given."""
        if not self.period_years:
            return None
        return np.asarray(self.grid / self.period_years)

    @property
    def mask(self) -> np.ndarray:
        """Cells inside the study area."""
        return np.asarray(np.isfinite(self.grid))

    def value_at(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Density (incidents per km²) at BNG points, bilinear between cell centres; NaN
        outside the grid or the study area."""
        return _bilinear(self.grid_spec, self.grid, np.atleast_1d(x), np.atleast_1d(y))

    def integral(self) -> float:
        """Σ density × cell area over the study area: incidents."""
        return float(np.nansum(self.grid) * self.cell_m**2 / _M2_PER_KM2)


def _robust_sd(v: np.ndarray) -> float:
    sd = float(np.std(v))
    q75, q25 = np.percentile(v, [75, 25])
    iqr = float(q75 - q25) / 1.349
    return min(sd, iqr) if iqr > 0 else sd


def _self_contribution(grid: Grid, x: np.ndarray, y: np.ndarray, kern: np.ndarray) -> np.ndarray:
    """What a unit weight at (x, y) adds to the interpolated density at (x, y) itself, through
    linear binning, the discrete kernel and bilinear interpolation (per m²)."""
    fx = (x - grid.xmin) / grid.cell - 0.5
    fy = (grid.ymax - y) / grid.cell - 0.5
    dx = fx - np.floor(fx)
    dy = fy - np.floor(fy)
    k = kern.shape[0] // 2
    k1 = kern[k, k + 1] if kern.shape[0] > 1 else 0.0
    k11 = kern[k + 1, k + 1] if kern.shape[0] > 1 else 0.0
    wx0, wx1 = (1 - dx) ** 2 + dx**2, 2 * dx * (1 - dx)
    wy0, wy1 = (1 - dy) ** 2 + dy**2, 2 * dy * (1 - dy)
    return np.asarray(wx0 * wy0 * kern[k, k] + (wx0 * wy1 + wx1 * wy0) * k1 + wx1 * wy1 * k11)


def auto_bandwidth(
    ps: PointSet,
    *,
    kernel: str,
    cell: float,
    method: Literal["cv", "rule"] = "cv",
    candidates: Sequence[float] | None = None,
) -> tuple[float, tuple[tuple[float, float], ...]]:
    """Choose a bandwidth (metres) by Scott's rule or location-grouped likelihood CV.

    Returns the bandwidth and, for ``cv``, the ``(bandwidth, mean log-likelihood)`` scores.
    """
    n = len(ps.x)
    if n < 2:
        msg = f"`bandwidth='auto'` needs at least 2 located incidents, got {n}; pass metres."
        raise ValidationError(msg)
    sigma = 0.5 * (_robust_sd(ps.x) + _robust_sd(ps.y)) * n ** (-1 / 6)
    sigma = max(sigma, cell)
    rule = sigma * math.sqrt(8) if kernel == "quartic" else sigma
    if method == "rule":
        return float(rule), ()
    cand: np.ndarray
    if candidates is not None:
        cand = np.asarray(candidates, dtype=float)
    else:
        lo = max(cell * (1.5 if kernel == "quartic" else 0.75), rule / 8)
        hi = max(rule * 3, lo * 2)
        cand = np.geomspace(lo, hi, 12)
    keys = np.round(ps.x, 1) * 1e7 + np.round(ps.y, 1)
    _, inv = np.unique(keys, return_inverse=True)
    gw = np.bincount(inv, weights=ps.w)[inv]  # weight at the same location as each point
    total = float(ps.w.sum())
    xmin, xmax = ps.x.min(), ps.x.max()
    ymin, ymax = ps.y.min(), ps.y.max()
    area = max((xmax - xmin) * (ymax - ymin), cell * cell)
    floor = 1e-3 / area
    scores: list[tuple[float, float]] = []
    best = (float(cand[0]), -math.inf)
    for h in cand:
        pad = h * (1 if kernel == "quartic" else _GAUSS_TRUNC)
        g = grid_for((xmin, ymin, xmax, ymax), cell=cell, pad=pad)
        dens, _ = _density_grid(g, ps, bandwidth=float(h), kernel=kernel)
        f_all = _bilinear(g, dens, ps.x, ps.y)
        own = gw * _self_contribution(g, ps.x, ps.y, _kernel_grid(cell, float(h), kernel))
        f_loo = np.clip(f_all - own, 0, None) / np.maximum(total - gw, 1e-12)
        ll = float(np.average(np.log(np.maximum(f_loo, floor)), weights=ps.w))
        scores.append((float(h), ll))
        if ll > best[1]:
            best = (float(h), ll)
    return best[0], tuple(scores)


def kde_surface(
    points: gpd.GeoDataFrame | np.ndarray,
    *,
    bandwidth: float | Literal["auto"],
    cell: float,
    kernel: Kernel = "quartic",
    study_area: BaseGeometry | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    precision: Literal["exclude", "spread", "ignore"] = "exclude",
    bandwidth_method: Literal["cv", "rule"] = "cv",
    period_years: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> KdeResult:
    """Kernel density of incidents on a regular EPSG:27700 grid.

    Parameters
    ----------
    points
        Incident frame (``FRAME_COLUMNS``; Point or LineString geometry) or an ``(n, 2)``
        array of BNG coordinates (metres).
    bandwidth
        Metres (quartic: support radius; Gaussian: σ), or ``"auto"`` (see module notes).
    cell
        Cell size, metres.
    kernel
        ``"quartic"`` or ``"gaussian"``.
    study_area
        Polygon (EPSG:27700): the grid covers its bounds and cells outside it are NaN. Default:
        the extent of the points plus one bandwidth.
    weights
        A column name, one value per incident, or None (the ``weight`` column, else 1).
    precision
        What to do with records coarser than the bandwidth: ``exclude``, ``spread`` or
        ``ignore`` (use them as exact).
    bandwidth_method
        For ``bandwidth="auto"``: ``cv`` or ``rule``.
    period_years
        Length of the period covered, years, for per-year values.
    bounds
        Explicit grid bounds (overrides the study area's and the points' extent).

    Returns
    -------
    KdeResult
        Incidents per km² at cell centres.
    """
    if kernel not in _KERNELS:
        msg = f"`kernel` {kernel!r} is not supported; pass 'quartic' or 'gaussian'."
        raise ValidationError(msg)
    if precision not in ("exclude", "spread", "ignore"):
        msg = f"`precision` {precision!r} is not supported; pass 'exclude', 'spread' or 'ignore'."
        raise ValidationError(msg)
    if period_years is not None and not period_years > 0:
        msg = f"`period_years` {period_years!r} must be positive."
        raise ValidationError(msg)
    auto = isinstance(bandwidth, str)
    if auto and bandwidth != "auto":
        msg = f"`bandwidth` {bandwidth!r} is not understood; pass metres or 'auto'."
        raise ValidationError(msg)
    if not auto and not float(bandwidth) > 0:
        msg = f"`bandwidth` {bandwidth!r} must be a positive number of metres or 'auto'."
        raise ValidationError(msg)
    cv_scores: tuple[tuple[float, float], ...] = ()
    if auto:
        ps0 = point_set(points, weights=weights, precision="ignore", line_step=cell / 2)
        h, cv_scores = auto_bandwidth(ps0, kernel=kernel, cell=cell, method=bandwidth_method)
        method_used: str = bandwidth_method
    else:
        h = float(bandwidth)
        method_used = "fixed"
    ps = point_set(
        points, weights=weights, bandwidth=h, precision=precision, line_step=min(cell, h) / 2
    )
    if ps.counts["excluded_precision"] and not ps.counts["used"]:
        coarsest = (
            float(np.nanmin(points["precision_m"])) if isinstance(points, gpd.GeoDataFrame) else h
        )
        warnings.warn(
            f"all {ps.counts['excluded_precision']} located incidents are less precise than the "
            f"bandwidth {h!r} m, so the surface is empty; pass a bandwidth of at least "
            f"{coarsest:g} m or `precision='spread'`.",
            stacklevel=2,
        )
    pad = 0.0
    if bounds is not None:
        box = bounds
    elif study_area is not None:
        sb = study_area.bounds
        box = (sb[0], sb[1], sb[2], sb[3])
    elif len(ps.x):
        box = (ps.x.min(), ps.y.min(), ps.x.max(), ps.y.max())
        pad = h
    elif ps.counts["excluded_precision"]:
        coarsest = (
            float(np.nanmin(points["precision_m"])) if isinstance(points, gpd.GeoDataFrame) else h
        )
        msg = (
            f"no located incidents to smooth: all {ps.counts['excluded_precision']} are located "
            f"less precisely than the bandwidth {h:g} m; pass a bandwidth of at least "
            f"{coarsest:g} m, `precision='spread'` (CLI `--precision spread`) or a `study_area`."
        )
        raise ValidationError(msg)
    else:
        msg = (
            f"no located incidents to smooth ({ps.counts['no_location']} of "
            f"{ps.counts['input']} without a location) and no `study_area`; pass one or more "
            "located points."
        )
        raise ValidationError(msg)
    grid = grid_for(box, cell=cell, pad=pad)
    dens, lost = _density_grid(grid, ps, bandwidth=h, kernel=kernel)
    values = dens * _M2_PER_KM2
    inside = study_area_mask(grid, study_area)
    values = np.where(inside, values, np.nan)
    counts = dict(ps.counts)
    _, _, on_grid = grid.cell_index(ps.x, ps.y)
    counts["outside_grid"] = int((~on_grid).sum())
    total_w = float(ps.w.sum())
    if lost > 0:
        log.debug("%.1f incidents' weight fell outside the grid", lost)
    params: dict[str, Any] = {
        "kernel": kernel,
        "bandwidth_m": h,
        "bandwidth_method": method_used,
        "cell_m": cell,
        "precision": precision,
        "units": "incidents per km²",
        "period_years": period_years,
        "crs": CRS_BNG,
        "binning": "linear",
    }
    return KdeResult(
        grid=values,
        transform=grid.transform,
        crs=CRS_BNG,
        bandwidth_m=h,
        kernel=kernel,
        cell_m=cell,
        bandwidth_method=method_used,
        counts=counts,
        total_weight=total_w,
        period_years=period_years,
        params=params,
        cv_scores=cv_scores,
    )

"""The hotspot analyses on a dask.distributed cluster, equal to the single-process engine.

Data arrive as *partitions*: pandas/geopandas incident frames (:data:`FRAME_COLUMNS`), given
either as frames (:func:`frame_partitions` splits one; they are scattered to the workers) or
as loaders that a worker calls to read its own part (:class:`StoreMonth`: one month of a
store), so the client never holds the whole data set. Each analysis maps a function of
:mod:`geosafe.hotspots` over the partitions and reduces what is additive:

- **KDE** (:func:`kde_surface`): every partition is linearly binned onto the *same* grid
  (:func:`geosafe.hotspots.kde.grid_for`, binned tile by tile with the single-process
  ``_bin_linear`` so that a partition's result is sparse), the bins are summed, and one FFT
  convolution with the single-process kernel (``_kernel_grid``, ``_smooth``) gives the
  surface. Binning is linear in the weights, so the sum of the partitions' bins is the bins
  of the whole: the surface equals :func:`geosafe.hotspots.kde.kde_surface` up to the order
  of floating additions.
- **H3 counts** (:func:`h3_counts`): per-partition sums per cell, summed; **Gi\\*** is then
  :func:`geosafe.hotspots.gistar.gi_star` on the summed counts (:func:`gi_star`).
- **DBSCAN** (:func:`dbscan_labels`, in :mod:`geosafe.engines._tiles`): square tiles with a
  halo of ``eps``; clusters meeting across tile borders are merged.
- **Backtests** (:func:`backtest`): one task per test month, each given only the months of
  its training window and test period.

A bandwidth chosen from all the data at once (``bandwidth="auto"``) is not available here:
pass metres (the local engine's ``auto`` gives a value to pass).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from scipy.signal import fftconvolve
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from ..hotspots import evaluate as _evaluate
from ..hotspots import gistar as _gistar
from ..hotspots import h3grid as _h3grid
from ..hotspots.kde import (
    Grid,
    KdeResult,
    _bin_linear,
    _disc,
    _kernel_grid,
    _smooth,
    grid_for,
    point_set,
    spread_parts,
    study_area_mask,
)
from ..incident import CRS_BNG
from ._tiles import dbscan_labels

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "FilesPart",
    "Partition",
    "StoreMonth",
    "backtest",
    "connect",
    "dbscan_labels",
    "frame_partitions",
    "gi_star",
    "h3_counts",
    "kde_surface",
    "persist",
    "store_months",
]

log = logging.getLogger(__name__)

#: A partition: an incident frame, or a picklable callable a worker calls to load one.
Partition: TypeAlias = gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame]

_M2_PER_KM2 = 1e6
#: Cells per side of the tiles a partition is binned in (bounds a task's memory).
_BIN_TILE = 512


# ------------------------------------------------------------------------------ cluster


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    *,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = "auto",
) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a local cluster started (and stopped
    on exit) with ``n_workers`` workers.

    Parameters
    ----------
    scheduler
        ``tcp://HOST:PORT`` of a running ``dask scheduler``; None starts a
        :class:`distributed.LocalCluster`.
    processes
        Local cluster only: workers in processes (the default) or threads of this process
        (fast to start; for tests).
    memory_limit
        Local cluster only: per worker (``"3GB"``), ``"auto"`` (the machine's share).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            msg = (
                f"`--scheduler` {scheduler!r} cannot be reached ({exc}); start one with "
                "`dask scheduler` and `dask worker ADDRESS`, or leave `--scheduler` out to run "
                "a local cluster."
            )
            raise ValidationError(msg) from exc
        try:
            yield client
        finally:
            client.close()
        return
    # distributed logs every worker's start and stop at INFO: keep it to warnings
    logging.getLogger("distributed").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        memory_limit=memory_limit,
        dashboard_address=None,
        # no dashboard; the scheduler's own HTTP server (health checks) on a free loopback
        # port, never 8787 on every interface (and no warning when 8787 is taken)
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        **({"host": "127.0.0.1"} if processes else {}),  # threads talk in-process
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ---------------------------------------------------------------------------- partitions


def frame_partitions(gdf: gpd.GeoDataFrame, n: int) -> list[gpd.GeoDataFrame]:
    """``gdf`` cut into ``n`` consecutive partitions (about equal row counts)."""
    if n < 1:
        msg = f"`n` {n!r} must be at least 1 partition."
        raise ValidationError(msg)
    edges = np.linspace(0, len(gdf), n + 1).astype(int)
    return [gdf.iloc[a:b] for a, b in itertools.pairwise(edges) if b > a] or [gdf]


@dataclass(frozen=True)
class StoreMonth:
    """A loader of one month of current, located incidents from a store (called in a worker).

    ``db`` is a SQLite path (or whatever :func:`geosafe.store.open_store` accepts, when present).
    """

    db: str
    month: str
    sources: tuple[str, ...] | None = None

    def __call__(self) -> gpd.GeoDataFrame:
        start = pd.Timestamp(f"{self.month}-01", tz="Europe/London")
        end = start + pd.offsets.MonthBegin(1)
        with contextlib.closing(_open_store(self.db)) as store:
            return store.incidents(sources=self.sources, start=start, end=end)


@dataclass(frozen=True)
class FilesPart:
    """A loader of import files read without a store (:func:`geosafe.ingest.read_incidents`:
    the same checks; quarantined rows dropped), e.g. one month of police.uk's archive.
    ``aoi`` is a vector file of the area of interest (default Greater London)."""

    source: str
    paths: tuple[str, ...]
    aoi: str | None = None

    def __call__(self) -> gpd.GeoDataFrame:
        from ..ingest import load_aoi, read_incidents

        area = load_aoi(self.aoi) if self.aoi else None
        return read_incidents(self.source, list(self.paths), aoi=area)


def _open_store(db: str) -> Any:
    from .. import store as store_pkg

    opener = getattr(store_pkg, "open_store", None)
    if opener is not None:
        return opener(db)
    return store_pkg.Store(Path(db))


def store_months(
    db: str | Path, months: Sequence[str], *, sources: Sequence[str] | None = None
) -> list[StoreMonth]:
    """One :class:`StoreMonth` loader per ``YYYY-MM`` month."""
    src = tuple(sources) if sources is not None else None
    return [StoreMonth(str(db), m, src) for m in months]


def _load(part: Partition) -> gpd.GeoDataFrame:
    return part() if callable(part) and not isinstance(part, pd.DataFrame) else part


def _submit_parts(client: Client, parts: Sequence[Any]) -> list[Any]:
    """Frames are scattered (sent once); loaders are submitted as tasks; futures of frames
    already on the cluster (e.g. :func:`persist`) are used as they are."""
    from distributed import Future

    if not parts:
        msg = "no partitions to analyse; pass at least one frame or loader."
        raise ValidationError(msg)
    frames = [p for p in parts if isinstance(p, pd.DataFrame)]
    scattered = iter(client.scatter(frames) if frames else [])
    out = []
    for p in parts:
        if isinstance(p, Future):
            out.append(p)
        elif isinstance(p, pd.DataFrame):
            out.append(next(scattered))
        else:
            out.append(client.submit(_load, p))
    return out


def persist(client: Client, parts: Sequence[Partition]) -> list[Any]:
    """Load the partitions on the workers once and keep them there: the futures can be
    passed to every analysis here in place of the partitions (no second read)."""
    return _submit_parts(client, parts)


def _sum_counts(items: Sequence[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in items:
        for k, v in c.items():
            total[k] = total.get(k, 0) + int(v)
    return total


# ------------------------------------------------------------------------------------ KDE


@dataclass(frozen=True)
class _Points:
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    spread: np.ndarray
    counts: dict[str, int]


def _points(part: Partition, weights: str | None, h: float, precision: str, step: float) -> _Points:
    ps = point_set(_load(part), weights=weights, bandwidth=h, precision=precision, line_step=step)  # type: ignore[arg-type]
    return _Points(ps.x, ps.y, ps.w, ps.spread, ps.counts)


def _extent(ps: _Points) -> tuple[float, float, float, float] | None:
    if not len(ps.x):
        return None
    return (float(ps.x.min()), float(ps.y.min()), float(ps.x.max()), float(ps.y.max()))


def _bin_sparse(
    grid: Grid, x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Linear binning of points onto ``grid`` as (flat cell index, weight) pairs.

    The points are grouped by the :data:`_BIN_TILE`-cell tile of their lower-left cell
    centre and each group is binned by :func:`~geosafe.hotspots.kde._bin_linear` on its tile
    grown by one cell (the most a point's weight reaches) and clipped to ``grid``: at the
    grid's edges the clipped tile's edges are the grid's, so the weight folded back there is
    what binning the whole grid folds back.
    """
    if not len(x):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    c0 = np.floor((x - grid.xmin) / grid.cell - 0.5)
    r0 = np.floor((grid.ymax - y) / grid.cell - 0.5)
    ok = (c0 >= -1) & (c0 < grid.ncols) & (r0 >= -1) & (r0 < grid.nrows)
    x, y, w, c0, r0 = x[ok], y[ok], w[ok], c0[ok], r0[ok]
    tc = np.clip(c0, 0, grid.ncols - 1).astype(np.int64) // _BIN_TILE
    tr = np.clip(r0, 0, grid.nrows - 1).astype(np.int64) // _BIN_TILE
    key = tr * (grid.ncols // _BIN_TILE + 1) + tc
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    idx: list[np.ndarray] = []
    val: list[np.ndarray] = []
    for a, b in zip(starts, ends, strict=True):
        sel = order[a:b]
        trow, tcol = int(tr[sel[0]]), int(tc[sel[0]])
        rs = max(0, trow * _BIN_TILE - 1)
        re_ = min(grid.nrows, (trow + 1) * _BIN_TILE + 1)
        cs = max(0, tcol * _BIN_TILE - 1)
        ce = min(grid.ncols, (tcol + 1) * _BIN_TILE + 1)
        sub = Grid(
            xmin=grid.xmin + cs * grid.cell,
            ymax=grid.ymax - rs * grid.cell,
            cell=grid.cell,
            nrows=re_ - rs,
            ncols=ce - cs,
        )
        binned, _ = _bin_linear(sub, x[sel], y[sel], w[sel])
        rr, cc = np.nonzero(binned)
        idx.append((rr + rs).astype(np.int64) * grid.ncols + (cc + cs))
        val.append(binned[rr, cc])
    return np.concatenate(idx), np.concatenate(val)


def _bin_part(ps: _Points, grid: Grid) -> dict[str, Any]:
    """A partition's sparse bins: the exact points, and the spread ones per radius group."""
    sharp = ps.spread <= 0
    out: dict[str, Any] = {"sharp": _bin_sparse(grid, ps.x[sharp], ps.y[sharp], ps.w[sharp])}
    groups: dict[int, tuple[np.ndarray, np.ndarray, float, int]] = {}
    for g, x, y, w, radii in spread_parts(ps):
        i, v = _bin_sparse(grid, x, y, w)
        groups[g] = (i, v, float(radii.sum()), len(radii))
    out["spread"] = groups
    _, _, on_grid = grid.cell_index(ps.x, ps.y)
    out["outside_grid"] = int((~on_grid).sum())
    out["weight"] = float(ps.w.sum())
    out["counts"] = ps.counts
    return out


def _add_sparse(dense: np.ndarray, idx: np.ndarray, val: np.ndarray) -> None:
    """``dense[idx] += val`` with repeated indices summed (tiles share their edge cells)."""
    if len(idx):
        cells, inv = np.unique(idx, return_inverse=True)
        dense[cells] += np.bincount(inv.ravel(), weights=val)


def kde_surface(
    client: Client,
    parts: Sequence[Partition],
    *,
    bandwidth: float,
    cell: float,
    kernel: Literal["quartic", "gaussian"] = "quartic",
    study_area: BaseGeometry | None = None,
    weights: str | None = None,
    precision: Literal["exclude", "spread", "ignore"] = "exclude",
    period_years: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> KdeResult:
    """:func:`geosafe.hotspots.kde.kde_surface` over partitions on a cluster.

    Parameters are those of the single-process function, except that ``bandwidth`` must be
    metres (``"auto"`` needs every point at once) and ``weights`` a column name or None.
    """
    if isinstance(bandwidth, str) or not float(bandwidth) > 0:
        msg = (
            f"`bandwidth` {bandwidth!r} must be a positive number of metres with the dask "
            "engine (an automatic bandwidth needs every point in one process: run "
            "`--engine local` once and pass the bandwidth it reports)."
        )
        raise ValidationError(msg)
    if kernel not in ("quartic", "gaussian"):
        msg = f"`kernel` {kernel!r} is not supported; pass 'quartic' or 'gaussian'."
        raise ValidationError(msg)
    if precision not in ("exclude", "spread", "ignore"):
        msg = f"`precision` {precision!r} is not supported; pass 'exclude', 'spread' or 'ignore'."
        raise ValidationError(msg)
    h = float(bandwidth)
    loaded = _submit_parts(client, parts)
    pts = [client.submit(_points, p, weights, h, precision, min(cell, h) / 2) for p in loaded]
    del loaded
    pad = 0.0
    if bounds is not None:
        box = bounds
    elif study_area is not None:
        sb = study_area.bounds
        box = (sb[0], sb[1], sb[2], sb[3])
    else:
        extents = [e for e in client.gather(client.map(_extent, pts)) if e is not None]
        if not extents:
            msg = (
                "no located incidents to smooth in any partition and no `study_area`; pass "
                "one or more located points, a study area, or a larger bandwidth."
            )
            raise ValidationError(msg)
        arr = np.array(extents)
        box = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
        pad = h
    grid = grid_for(box, cell=cell, pad=pad)
    size = grid.nrows * grid.ncols
    binned = np.zeros(size)
    spread: dict[int, list[Any]] = {}
    counts: list[dict[str, int]] = []
    outside = 0
    total_w = 0.0
    from distributed import as_completed

    for fut in as_completed([client.submit(_bin_part, p, grid) for p in pts]):
        res = fut.result()
        fut.release()
        _add_sparse(binned, *res["sharp"])
        for g, (gi, gv, rsum, n) in res["spread"].items():
            acc = spread.setdefault(g, [np.zeros(size), 0.0, 0])
            _add_sparse(acc[0], gi, gv)
            acc[1] += rsum
            acc[2] += n
        counts.append(res["counts"])
        outside += res["outside_grid"]
        total_w += res["weight"]
    del pts
    grid2d = binned.reshape(grid.nrows, grid.ncols)
    for acc in spread.values():
        disc = _disc(grid.cell, acc[1] / acc[2])
        grid2d += fftconvolve(acc[0].reshape(grid.nrows, grid.ncols), disc, mode="same")
    dens = _smooth(grid2d, _kernel_grid(grid.cell, h, kernel))
    values = np.where(study_area_mask(grid, study_area), dens * _M2_PER_KM2, np.nan)
    total = _sum_counts(counts)
    total["outside_grid"] = outside
    params: dict[str, Any] = {
        "kernel": kernel,
        "bandwidth_m": h,
        "bandwidth_method": "fixed",
        "cell_m": cell,
        "precision": precision,
        "units": "incidents per km²",
        "period_years": period_years,
        "crs": CRS_BNG,
        "binning": "linear",
        "engine": "dask",
        "partitions": len(counts),
    }
    return KdeResult(
        grid=values,
        transform=grid.transform,
        crs=CRS_BNG,
        bandwidth_m=h,
        kernel=kernel,
        cell_m=cell,
        bandwidth_method="fixed",
        counts=total,
        total_weight=total_w,
        period_years=period_years,
        params=params,
    )


# ------------------------------------------------------------------------ H3 counts, Gi*


def _cell_sums(
    part: Partition, resolution: int, weights: str | None, precision: str
) -> tuple[pd.Series, dict[str, int]]:
    edge = float(h3.average_hexagon_edge_length(resolution, unit="m"))
    ps = point_set(
        _load(part),  # type: ignore[arg-type]
        weights=weights,
        bandwidth=edge if precision == "exclude" else None,
        precision="exclude" if precision == "exclude" else "ignore",
        line_step=edge / 2,
    )
    if not len(ps.x):
        return pd.Series(dtype=float), ps.counts
    cells = _h3grid.cells_of_points(ps.x, ps.y, resolution=resolution)
    return pd.Series(ps.w).groupby(cells).sum(), ps.counts


def h3_counts(
    client: Client,
    parts: Sequence[Partition],
    *,
    resolution: int,
    study_area: BaseGeometry | None = None,
    weights: str | None = None,
    precision: Literal["exclude", "ignore"] = "exclude",
) -> gpd.GeoDataFrame:
    """:func:`geosafe.hotspots.h3grid.h3_counts` over partitions: per-cell sums, summed."""
    res = _h3grid._check_resolution(resolution)
    loaded = _submit_parts(client, parts)
    futs = [client.submit(_cell_sums, p, res, weights, precision) for p in loaded]
    sums_list: list[pd.Series] = []
    counts: list[dict[str, int]] = []
    for s, c in client.gather(futs):
        if len(s):
            sums_list.append(s)
        counts.append(c)
    sums = pd.concat(sums_list).groupby(level=0).sum() if sums_list else pd.Series(dtype=float)
    cells = (
        _h3grid.cells_for_area(study_area, resolution=res)
        if study_area is not None
        else sorted(sums.index)
    )
    values = sums.reindex(cells, fill_value=0.0).to_numpy(dtype=float)
    out = gpd.GeoDataFrame(
        {"h3_cell": cells, "count": values},
        geometry=_h3grid.cell_polygons(cells).values,
        crs=CRS_BNG,
    )
    out["area_km2"] = [h3.cell_area(c, unit="km^2") for c in cells]
    out.attrs.update(_sum_counts(counts))
    out.attrs["outside_area"] = float(sums.sum() - values.sum()) if len(sums) else 0.0
    out.attrs["resolution"] = res
    out.attrs["engine"] = "dask"
    return out


def gi_star(
    client: Client,
    parts: Sequence[Partition],
    *,
    resolution: int,
    study_area: BaseGeometry | None = None,
    weights: str | None = None,
    precision: Literal["exclude", "ignore"] = "exclude",
    k: int = 1,
    permutations: int = 0,
    seed: int | None = 0,
) -> gpd.GeoDataFrame:
    """H3 counts summed over partitions (:func:`h3_counts`), then
    :func:`geosafe.hotspots.gistar.gi_star` on them."""
    counts = h3_counts(
        client,
        parts,
        resolution=resolution,
        study_area=study_area,
        weights=weights,
        precision=precision,
    )
    return _gistar.gi_star(counts, k=k, permutations=permutations, seed=seed)


# ------------------------------------------------------------------------------ backtests


def _backtest_month(
    start: int, window: Sequence[Any], cfg: dict[str, dict[str, Any]], kwargs: dict[str, Any]
) -> list[_evaluate.MonthScore]:
    """One test period, from the partitions of its training window and period: the month
    step of the single-process backtest (:func:`geosafe.hotspots.evaluate.score_month`)."""
    frames = [f for f in (_load(p) for p in window) if len(f)]
    gdf = pd.concat(frames) if len(frames) > 1 else frames[0]
    if "_order" in gdf.columns:  # the frame's original row order (ties are broken by it)
        gdf = gdf.sort_values("_order", kind="stable").drop(columns="_order")
    if gdf.crs is not None and gdf.crs != CRS_BNG:
        gdf = gdf.to_crs(CRS_BNG)
    _, x, y, months = _evaluate.study_points(gdf, kwargs["study_area"])
    _evaluate.check_training(months, [start], kwargs["train_months"])
    return _evaluate.score_month(start, (x, y, months), cfg, cache={}, **kwargs)


def backtest(
    client: Client,
    data: gpd.GeoDataFrame | Mapping[str, Partition],
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
) -> _evaluate.Backtest:
    """:func:`geosafe.hotspots.evaluate.backtest` with one task per test period.

    ``data`` is an incident frame (split by month here, each task sent only the months of
    its training window and test period) or a mapping ``YYYY-MM`` -> partition of that month
    (e.g. :func:`store_months`), each loaded by the tasks that need it.
    """
    cfg = _evaluate.resolve_settings(
        methods, settings, train_months=train_months, test_months=test_months
    )
    kwargs = {
        "train_months": train_months,
        "test_months": test_months,
        "area": area,
        "study_area": study_area,
        "seed": seed,
    }
    if isinstance(data, pd.DataFrame):
        # the rows the single-process backtest keeps (located, inside the study area), so
        # that the default test months are the same
        frame = gpd.GeoDataFrame(data.assign(_order=np.arange(len(data))))
        if frame.crs is not None and frame.crs != CRS_BNG:
            frame = frame.to_crs(CRS_BNG)
        keep, _, _, months = _evaluate.study_points(frame, study_area)
        frame = frame.iloc[keep]
        by_month: dict[int, Any] = {int(m): frame[months == m] for m in np.unique(months)}
        futures = dict(zip(by_month, client.scatter(list(by_month.values())), strict=True))
    else:
        keys = [_evaluate._parse_month(k) for k in data]
        futures = dict(zip(keys, _submit_parts(client, list(data.values())), strict=True))
    if not futures:
        msg = "no incidents to evaluate; check the input files and the filters."
        raise ValidationError(msg)
    have = sorted(futures)
    starts = _evaluate.period_starts(
        have[0], have[-1], first_test, last_test, train_months, test_months
    )
    tasks = []
    for s in starts:
        window = [futures[m] for m in range(s - train_months, s + test_months) if m in futures]
        if not window:
            window = [futures[have[0]]]  # lets the single-process checks explain the problem
        tasks.append(client.submit(_backtest_month, s, window, cfg, kwargs, pure=False))
    scores = [score for part in client.gather(tasks) for score in part]
    labels = tuple(_evaluate._month_label(s) for s in starts)
    return _evaluate.Backtest(labels, area, train_months, tuple(scores), cfg)

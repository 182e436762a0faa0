"""Density clusters (DBSCAN, HDBSCAN) with bounded memory, and their hull polygons.

DBSCAN (:func:`dbscan_labels`)
------------------------------
scikit-learn's DBSCAN materialises every point's neighbour list at once, O(n·k) memory, which
on a million incidents in a dense city is many gigabytes. This implementation gives the same
clusters (core points partitioned identically, the same noise; a border point joins the
cluster of its nearest core point, one of the clusters scikit-learn may give it) with memory
O(n + cells):

1. core points: ``scipy.spatial.cKDTree.query_ball_point(..., return_length=True)`` counts
   (weighted: summed ``sample_weight``) neighbours within ``eps`` without storing them;
2. cores are bucketed in square cells of side ``eps/√2`` (every pair in a cell is within
   ``eps``, so a cell's cores are one component); core-core pairs within ``eps`` are made in
   C (``cKDTree.query_pairs``) strip by strip along x, reduced to unique *cell* pairs, and the
   connected components (``scipy.sparse.csgraph``) of the cell graph are the clusters;
3. border points: the nearest core within ``eps`` (``cKDTree.query``).

Exactly duplicated coordinates (police.uk map points) are collapsed first and carried as
weights, which changes nothing in the result and makes police.uk data far cheaper.

HDBSCAN (:func:`hdbscan_labels`)
--------------------------------
``fast_hdbscan`` (exact Boruvka minimum spanning tree of the mutual reachability graph,
numba, O(n log n)) when installed, else the ``hdbscan`` package with an exact tree, else
scikit-learn's ``HDBSCAN``. Parameters mean what scikit-learn's mean: ``min_samples`` counts
the point itself (the two packages count without it and are given ``min_samples - 1``).
Earlier versions passed ``min_samples`` unchanged to ``hdbscan`` and kept its approximate
tree; both changed the labels (ARI ~0.95 against scikit-learn at 20k points), not the
distance units (metres everywhere). Duplicated points are kept (they matter to densities).

Cluster polygons (:func:`clusters`)
-----------------------------------
Each cluster is the concave hull of its points (``shapely.concave_hull``, ratio 0.3) buffered
by ``min_buffer`` metres (default ``eps/2``, and at least 10 m) so that one-point-wide
clusters have an area; each carries its count, the mix of sources, first and last date, and
the peak hour (local, minute-precision incidents only). Noise is counted in ``attrs``.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .._errors import ValidationError
from ..incident import CRS_BNG, CRS_WGS84
from .kde import point_set

__all__ = ["clusters", "dbscan_labels", "hdbscan_labels"]

log = logging.getLogger(__name__)


def _check(eps: float, min_samples: int) -> None:
    if not eps > 0:
        msg = f"`eps` {eps!r} must be a positive distance in metres, e.g. 100."
        raise ValidationError(msg)
    if int(min_samples) < 1:
        msg = f"`min_samples` {min_samples!r} must be at least 1."
        raise ValidationError(msg)


def _strip_pairs(
    pts: np.ndarray, eps: float, *, step: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every pair of points within ``eps`` exactly once, strip by strip, as index arrays.

    Points are sorted by x and cut into strips of ``step`` points; each strip is searched
    (``cKDTree.query_pairs``, pairs made in C) together with the points up to ``eps`` beyond
    its right edge, and a pair is kept in the strip holding its left point. Memory is bounded
    by one strip's pairs.
    """
    order = np.argsort(pts[:, 0], kind="stable")
    xs = pts[order, 0]
    n = len(pts)
    start = 0
    while start < n:
        end = min(start + step, n)
        hi = int(np.searchsorted(xs, xs[end - 1] + eps, side="right"))
        sub = order[start:hi]
        pairs = cKDTree(pts[sub]).query_pairs(eps, output_type="ndarray")
        if len(pairs):
            proper = pairs.min(axis=1) < end - start
            pairs = pairs[proper]
            yield sub[pairs[:, 0]], sub[pairs[:, 1]]
        start = end


def dbscan_labels(
    xy: np.ndarray,
    *,
    eps: float,
    min_samples: int,
    sample_weight: np.ndarray | None = None,
    chunk: int = 20_000,
) -> np.ndarray:
    """DBSCAN cluster labels (0, 1, ...; -1 noise) of ``(n, 2)`` points in metres.

    Same definition as :class:`sklearn.cluster.DBSCAN` (a point is core when the weight
    within ``eps``, itself included, is at least ``min_samples``), in bounded memory.
    """
    _check(eps, min_samples)
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    # collapse exact duplicates
    keys, inv = np.unique(xy[:, 0] + 1j * xy[:, 1], return_inverse=True)  # 1-D sort: fast
    uniq = np.column_stack([keys.real, keys.imag])
    inv = inv.ravel()
    uw = np.bincount(inv, weights=w, minlength=len(uniq))
    tree = cKDTree(uniq)
    counts = tree.query_ball_point(uniq, eps, return_length=True).astype(float)
    # strips of about 4 million pairs (~100 MB of indices)
    step = max(1000, min(chunk * 10, int(4e6 / max(1.0, float(counts.mean())))))
    if np.allclose(uw, 1.0):
        nb_weight = counts
    else:
        nb_weight = uw.copy()  # itself
        for a, b in _strip_pairs(uniq, eps, step=step):
            nb_weight += np.bincount(a, weights=uw[b], minlength=len(uniq))
            nb_weight += np.bincount(b, weights=uw[a], minlength=len(uniq))
    core = nb_weight >= min_samples - 1e-9
    labels_u = np.full(len(uniq), -1, dtype=np.int64)
    if core.any():
        cxy = uniq[core]
        side = eps / math.sqrt(2)
        cx = np.floor(cxy[:, 0] / side).astype(np.int64)
        cy = np.floor(cxy[:, 1] / side).astype(np.int64)
        cx -= cx.min()
        cy -= cy.min()
        _, cell = np.unique(cx * (int(cy.max()) + 1) + cy, return_inverse=True)
        cell = cell.ravel()
        ncell = int(cell.max()) + 1
        ctree = cKDTree(cxy)
        # cores in one cell are connected; reduce core pairs to unique cell pairs
        found: list[np.ndarray] = []
        for i, j in _strip_pairs(cxy, eps, step=step):
            a = cell[i]
            b = cell[j]
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            keep = lo != hi
            if keep.any():
                found.append(np.unique(lo[keep] * ncell + hi[keep]))
        if found:
            allp = np.unique(np.concatenate(found))
            a, b = np.divmod(allp, ncell)
        else:
            a = b = np.zeros(0, dtype=np.int64)
        graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(ncell, ncell))
        _, comp = connected_components(graph, directed=False)
        core_labels = comp[cell]
        # relabel in order of first appearance (stable output)
        _, first = np.unique(core_labels, return_index=True)
        order = np.argsort(first)
        remap = np.empty(len(order), dtype=np.int64)
        remap[np.unique(core_labels)[order]] = np.arange(len(order))
        labels_u[core] = remap[core_labels]
        # border points: nearest core within eps
        non = np.flatnonzero(~core)
        if len(non):
            d, j = ctree.query(uniq[non], k=1, distance_upper_bound=eps * (1 + 1e-12))
            ok = np.isfinite(d)
            labels_u[non[ok]] = labels_u[np.flatnonzero(core)[j[ok]]]
    return labels_u[inv]


def hdbscan_labels(
    xy: np.ndarray,
    *,
    min_cluster_size: int = 10,
    min_samples: int | None = None,
    engine: Literal["auto", "fast_hdbscan", "hdbscan", "sklearn"] = "auto",
) -> np.ndarray:
    """HDBSCAN labels (-1 noise) of ``(n, 2)`` points in metres.

    ``min_samples`` follows scikit-learn (and this module's DBSCAN): the point itself counts,
    so a point's core distance is the distance to its ``min_samples - 1``-th nearest other
    point; ``None`` means ``min_cluster_size``. The ``fast_hdbscan`` and ``hdbscan`` packages
    count neighbours without the point, so they are given ``min_samples - 1``. Cluster
    selection is excess of mass with no epsilon and no single cluster, as all three default.

    ``engine="auto"`` uses ``fast_hdbscan`` (exact Boruvka MST in numba, on one thread so that
    the labels are the same on every run) when installed, else
    the ``hdbscan`` package with an exact MST (its default ``approx_min_span_tree=True``
    changes the labels), else scikit-learn.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if min_cluster_size < 2:
        msg = f"`min_cluster_size` {min_cluster_size!r} must be at least 2."
        raise ValidationError(msg)
    ms = int(min_cluster_size if min_samples is None else min_samples)
    if ms < 1:
        msg = f"`min_samples` {min_samples!r} must be at least 1 (the point itself counts)."
        raise ValidationError(msg)
    if engine not in ("auto", "fast_hdbscan", "hdbscan", "sklearn"):
        msg = (
            f"`engine` {engine!r} is unknown; pass 'auto', 'fast_hdbscan', 'hdbscan' or 'sklearn'."
        )
        raise ValidationError(msg)
    if len(xy) < max(min_cluster_size, ms, 2):
        return np.full(len(xy), -1, dtype=np.int64)
    order = ["fast_hdbscan", "hdbscan", "sklearn"] if engine == "auto" else [engine]
    if ms == 1:  # no neighbour at all: only scikit-learn takes it as given
        order = ["sklearn"]
    for name in order:
        try:
            labels = _HDBSCAN_ENGINES[name](xy, min_cluster_size, ms)
        except ImportError:
            if engine != "auto":
                raise
            continue
        log.debug("HDBSCAN by %s on %d points", name, len(xy))
        return np.asarray(labels, dtype=np.int64)
    raise AssertionError("unreachable: scikit-learn is a dependency")  # pragma: no cover


def _fast_hdbscan(xy: np.ndarray, mcs: int, ms: int) -> np.ndarray:
    """fast_hdbscan on one numba thread: its parallel Boruvka breaks ties between equal
    mutual reachability distances in thread order, so labels moved between runs; one thread
    is deterministic at the same CPU time (2.1 s at 100k), while its ``reproducible=True``
    mode took 15x the CPU."""
    import fast_hdbscan  # type: ignore[import-untyped]
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # this thread only (numba's setting is thread-local)
    try:
        model = fast_hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms - 1)
        return np.asarray(model.fit_predict(xy))
    finally:
        numba.set_num_threads(previous)


def _hdbscan_pkg(xy: np.ndarray, mcs: int, ms: int) -> np.ndarray:
    import hdbscan as hdb  # type: ignore[import-untyped]

    model = hdb.HDBSCAN(
        min_cluster_size=mcs,
        min_samples=ms - 1,
        algorithm="boruvka_kdtree",
        approx_min_span_tree=False,
        core_dist_n_jobs=1,
    )
    return np.asarray(model.fit_predict(xy))


def _sklearn_hdbscan(xy: np.ndarray, mcs: int, ms: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return np.asarray(HDBSCAN(min_cluster_size=mcs, min_samples=ms, copy=True).fit_predict(xy))


_HDBSCAN_ENGINES = {
    "fast_hdbscan": _fast_hdbscan,
    "hdbscan": _hdbscan_pkg,
    "sklearn": _sklearn_hdbscan,
}


def clusters(
    gdf: gpd.GeoDataFrame,
    *,
    method: Literal["dbscan", "hdbscan"] = "dbscan",
    eps: float = 100.0,
    min_samples: int = 5,
    min_cluster_size: int = 10,
    min_buffer: float | None = None,
    concave_ratio: float = 0.3,
    weights: str | Sequence[float] | np.ndarray | None = None,
    precision: Literal["exclude", "ignore"] = "exclude",
    dbscan: Callable[..., np.ndarray] | None = None,
) -> gpd.GeoDataFrame:
    """Clusters of incidents as polygons.

    Parameters
    ----------
    gdf
        Incident frame (EPSG:27700). LineStrings count at their midpoint.
    method
        ``dbscan`` (``eps`` metres, ``min_samples`` weighted incidents) or ``hdbscan``
        (``min_cluster_size``, ``min_samples``).
    min_buffer
        Buffer around each hull, metres (default ``eps/2``, at least 10 m).
    precision
        ``exclude`` records whose ``precision_m`` exceeds ``eps`` (DBSCAN) or 100 m
        (HDBSCAN), or ``ignore``.
    dbscan
        The DBSCAN labeller (default :func:`dbscan_labels`; the dask engine passes its tiled
        one, :func:`geosafe.engines.dask.dbscan_labels` bound to a client).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cluster: ``cluster_id``, ``count``, ``weight``, ``sources`` (JSON
        ``{source: n}``), ``first_date``, ``last_date``, ``peak_hour`` (0-23 or None),
        ``area_m2``, ``density_per_km2``; EPSG:4326 polygons. ``attrs``: ``noise``,
        ``clustered``, ``excluded_precision``, ``no_location``, parameters.
    """
    if method not in ("dbscan", "hdbscan"):
        msg = f"`method` {method!r} is not supported; pass 'dbscan' or 'hdbscan'."
        raise ValidationError(msg)
    if method == "dbscan":
        _check(eps, min_samples)
    if gdf.crs is not None and gdf.crs != CRS_BNG:
        gdf = gdf.to_crs(CRS_BNG)
    geoms = gdf.geometry.values
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    limit = eps if method == "dbscan" else 100.0
    if precision == "exclude" and "precision_m" in gdf.columns:
        prec = gdf["precision_m"].to_numpy(dtype=float, na_value=0.0)
        is_line = np.isin(shapely.get_type_id(geoms), (1, 5))
        coarse = located & ~is_line & (prec > limit)
    else:
        coarse = np.zeros(len(gdf), dtype=bool)
    use = located & ~coarse
    if coarse.any() and not use.any():
        warnings.warn(
            f"all {int(coarse.sum())} located incidents are less precise than {limit!r} m, so "
            "there is nothing to cluster; pass a larger `eps` or `precision='ignore'`.",
            stacklevel=2,
        )
    sub = gdf[use]
    reps = np.asarray(sub.geometry.values, dtype=object).copy()
    not_point = shapely.get_type_id(reps) != 0
    lines = not_point & np.isin(shapely.get_type_id(reps), (1, 5))
    reps[lines] = shapely.line_interpolate_point(reps[lines], 0.5, normalized=True)
    reps[not_point & ~lines] = shapely.point_on_surface(reps[not_point & ~lines])
    xy = (
        np.column_stack([shapely.get_x(reps), shapely.get_y(reps)])
        if len(sub)
        else np.zeros((0, 2))
    )
    ps = point_set(sub, weights=weights) if weights is not None else None
    w = ps.w if ps is not None and len(ps.w) == len(sub) else None
    if method == "dbscan":
        labeller = dbscan_labels if dbscan is None else dbscan
        labels = labeller(xy, eps=eps, min_samples=min_samples, sample_weight=w)
    else:
        labels = hdbscan_labels(xy, min_cluster_size=min_cluster_size, min_samples=min_samples)
    buf = max(10.0, eps / 2 if min_buffer is None else min_buffer)
    rows = []
    if len(sub) and (labels >= 0).any():
        local = pd.DatetimeIndex(pd.to_datetime(sub["occurred_from"])).tz_convert("Europe/London")
        minute = sub["time_precision"].astype(str).to_numpy() == "minute"
        srcs = sub["source"].astype(str).to_numpy()
        ww = w if w is not None else sub["weight"].to_numpy(dtype=float, na_value=1.0)
        for lab in np.unique(labels[labels >= 0]):
            sel = labels == lab
            pts = shapely.multipoints(xy[sel])
            hull = shapely.concave_hull(pts, ratio=concave_ratio).buffer(buf)
            hours = local[sel & minute].hour
            peak = int(np.bincount(hours, minlength=24).argmax()) if len(hours) else None
            src_counts = pd.Series(srcs[sel]).value_counts().sort_index()
            days = local[sel]
            rows.append(
                {
                    "count": int(sel.sum()),
                    "weight": float(ww[sel].sum()),
                    "sources": json.dumps({str(k): int(v) for k, v in src_counts.items()}),
                    "first_date": days.min().date().isoformat(),
                    "last_date": days.max().date().isoformat(),
                    "peak_hour": peak,
                    "area_m2": float(hull.area),
                    "geometry": hull,
                }
            )
    cols = ["count", "weight", "sources", "first_date", "last_date", "peak_hour", "area_m2"]
    out = gpd.GeoDataFrame(
        rows or {c: [] for c in cols}, geometry="geometry" if rows else [], crs=CRS_BNG
    )
    out["density_per_km2"] = out["weight"] / (out["area_m2"] / 1e6) if len(out) else []
    out = out.sort_values("count", ascending=False).reset_index(drop=True)
    out.insert(0, "cluster_id", np.arange(1, len(out) + 1))
    out = out.to_crs(CRS_WGS84)
    out.attrs.update(
        {
            "method": method,
            "eps_m": eps,
            "min_samples": min_samples,
            "min_cluster_size": min_cluster_size,
            "buffer_m": buf,
            "noise": int((labels < 0).sum()),
            "clustered": int((labels >= 0).sum()),
            "excluded_precision": int(coarse.sum()),
            "no_location": int((~located).sum()),
        }
    )
    return out

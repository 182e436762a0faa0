"""One incident's published H3 cell (light: h3 and numpy only, so the store's commit, which
publishes aggregates, does not load the disclosure module's geopandas)."""

from __future__ import annotations

import math

import h3
import numpy as np

__all__ = ["published_cell", "published_cell_codes"]


def published_cell(own: object, lon: float, lat: float, resolution: int) -> str | None:
    """One incident's published H3 cell: its own cell when that is ``resolution`` or coarser
    (an imprecise location), else the cell of its point at ``resolution``, else its own cell's
    parent; ``None`` without a location. (The PostGIS store's published counts use it too.)"""
    if isinstance(own, str) and own and h3.get_resolution(own) <= resolution:
        return own
    if np.isfinite(lon) and np.isfinite(lat):
        return str(h3.latlng_to_cell(float(lat), float(lon), resolution))
    if isinstance(own, str) and own:
        return str(h3.cell_to_parent(own, resolution))
    return None


def published_cell_codes(
    own: np.ndarray, lon: np.ndarray, lat: np.ndarray, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's published cell (:func:`published_cell`) for many rows (their own cells, a
    ``str`` or missing, and points as float arrays, NaN missing), computed once per distinct
    point (rows sorted by their coordinates' bits; a point met with two cells
    is computed per row): the distinct cells, sorted, and each row's index into them (-1:
    not published)."""
    n = len(own)
    if not n:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    own = np.asarray(own, dtype=object)
    x = np.where(np.isnan(lon), np.nan, lon)  # one NaN
    y = np.where(np.isnan(lat), np.nan, lat)
    order = np.lexsort((y.view(np.int64), x.view(np.int64)))
    xs, ys, cs = x[order], y[order], own[order]
    # NaN != NaN: rows without a point each start a group (they are few)
    new = np.r_[True, (xs[1:] != xs[1:]) | (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])]
    group = np.cumsum(new) - 1
    heads = np.flatnonzero(new)
    # the same own value on every row of a point (a point in two cells, or a missing own
    # cell written two ways, is not police.uk: then each row on its own)
    if not bool(np.all(cs[heads][group] == cs)):
        heads, group = np.arange(n), np.arange(n)
    own_heads = [c if isinstance(c, str) and c else None for c in cs[heads].tolist()]
    lon_heads, lat_heads = xs[heads].tolist(), ys[heads].tolist()
    # a located point whose own cell is finer than the published resolution (every police.uk
    # point) publishes the cell of its point: h3 directly, not the general rule per point
    fine = {
        c for c in set(own_heads) if isinstance(c, str) and c and h3.get_resolution(c) > resolution
    }
    cells = [
        h3.latlng_to_cell(b, a, resolution)
        if c in fine and math.isfinite(a) and math.isfinite(b)
        else published_cell(c if isinstance(c, str) else None, float(a), float(b), resolution)
        for c, a, b in zip(own_heads, lon_heads, lat_heads, strict=True)
    ]
    distinct = sorted({c for c in cells if c is not None})
    index = {c: k for k, c in enumerate(distinct)}
    names = np.asarray(distinct, dtype=object)
    head_code = np.asarray([-1 if c is None else index[c] for c in cells], dtype=np.int64)
    code = np.empty(n, dtype=np.int64)
    code[order] = head_code[group]
    return names, code

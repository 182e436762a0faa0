"""Polygons from a grid's cells and a grid mask from a polygon, with numpy and shapely.

A server that draws density hotspots needs two raster operations, and GDAL (rasterio, 20 MB
of libraries and ~50 MB resident once used) only for them. This module does both without it
and gives GDAL's answers:

- :func:`cells_inside`: the cells of a north-up grid whose centre lies inside a geometry, by
  GDAL's scanline rule (``rasterio.features.geometry_mask(..., invert=True)``,
  ``all_touched=False``): on each row of cell centres the crossings of every ring's edges
  are sorted and paired, a crossing at ``x`` starts or ends the span at the cell whose
  centre is at or right of ``x`` (``floor(x + 0.5)`` in cell units); an edge counts on a row
  when the row's centre line is at or above its lower end and below its upper end; a
  horizontal edge exactly on a centre line fills its cells when drawn right to left. The
  pixel coordinates are computed as GDAL computes them (the inverted geotransform), so ties
  on cell centres fall the same way.
- :func:`region_polygons`: for each label of a labelled grid, the union of its cells, in the
  form ``rasterio.features.shapes`` (4-connected) followed by ``shapely.union_all`` of the
  label's polygons gives it. A 4-connected piece is one polygon whose rings carry only the
  turning vertices, each starting at its top-left vertex, the exterior counter-clockwise
  and the holes clockwise in the order of their top-left cell; a hole that touches the
  exterior or another hole at a corner is its own ring. A label made of pieces that touch
  only at corners is their union, a MultiPolygon.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError

__all__ = ["cells_inside", "region_polygons"]


def _north_up(transform: Any) -> tuple[float, float, float, float]:
    """``(a, c, e, f)`` of a north-up transform ``x = c + col·a``, ``y = f + row·e``."""
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    if b != 0 or d != 0 or a <= 0 or e >= 0:
        msg = (
            f"`transform` {tuple(transform)[:6]!r} is not a north-up grid (rotation terms 0, "
            "cell width > 0, cell height < 0); pass the grid's affine transform."
        )
        raise ValidationError(msg)
    return a, c, e, f


def _parts(geometry: BaseGeometry) -> list[list[np.ndarray]]:
    """Each polygon part's rings, every ring clockwise on the map, as GDAL collects them
    (``GDALCollectRingsFromGeometry`` reverses a ring that is not clockwise)."""
    out: list[list[np.ndarray]] = []
    for part in shapely.get_parts(geometry):
        if shapely.get_type_id(part) != 3 or part.is_empty:  # GDAL burns polygons only
            continue
        rings = []
        for ring in (part.exterior, *part.interiors):
            xy = np.asarray(ring.coords, dtype=float)[:, :2]
            x, y = xy[:, 0], xy[:, 1]
            if float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1])) > 0:  # counter-clockwise
                xy = xy[::-1]
            rings.append(xy)
        out.append(rings)
    return out


def cells_inside(geometry: BaseGeometry, shape: tuple[int, int], transform: Any) -> np.ndarray:
    """Boolean ``shape`` array: cells whose centre is inside ``geometry`` (GDAL's rule).

    Parameters
    ----------
    geometry
        A Polygon or MultiPolygon (other parts are ignored, as GDAL ignores them), in the
        grid's coordinates.
    shape
        ``(nrows, ncols)``.
    transform
        The grid's north-up affine transform (cell corner to coordinates).

    Returns
    -------
    numpy.ndarray
        What ``rasterio.features.geometry_mask([geometry], out_shape=shape,
        transform=transform, invert=True)`` returns: each polygon of a MultiPolygon is
        burnt on its own (GDAL's default merge), every ring clockwise.
    """
    nrows, ncols = (int(n) for n in shape)
    a, c, e, f = _north_up(transform)
    inside = np.zeros((nrows, ncols), dtype=bool)
    parts = _parts(geometry)
    if not parts or nrows == 0 or ncols == 0:
        return inside
    # GDAL's inverse geotransform (no rotation): pixel = -c/a + x·(1/a), line = -f/e + y·(1/e)
    x0, xs, y0, ys = -c / a, 1.0 / a, -f / e, 1.0 / e
    rings = [(k, r) for k, part in enumerate(parts) for r in part]
    px = [x0 + r[:, 0] * xs for _, r in rings]
    py = [y0 + r[:, 1] * ys for _, r in rings]
    pid = np.concatenate([np.full(len(r) - 1, k) for k, r in rings])
    xa = np.concatenate([p[:-1] for p in px])
    xb = np.concatenate([p[1:] for p in px])
    ya = np.concatenate([p[:-1] for p in py])
    yb = np.concatenate([p[1:] for p in py])
    # a span [start, end) of columns per row, summed: +1 at start, -1 at end
    edges = np.zeros((nrows, ncols + 1), dtype=np.int32)

    def add_spans(row: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> None:
        keep = (x2 > 0) & (x1 <= ncols - 1) & (x1 < x2)
        row, x1, x2 = row[keep], np.maximum(x1[keep], 0), np.minimum(x2[keep], ncols)
        np.add.at(edges, (row, x1), 1)
        np.add.at(edges, (row, x2), -1)

    # a horizontal edge on a row's centre line drawn right to left (a bottom edge of a
    # clockwise ring): GDAL fills it
    flat = (ya == yb) & (xa > xb) & (np.floor(ya) + 0.5 == ya)
    hrow = (ya[flat] - 0.5).astype(np.int64)
    on = (hrow >= 0) & (hrow < nrows)
    add_spans(
        hrow[on],
        np.floor(xb[flat][on] + 0.5).astype(np.int64),
        np.floor(xa[flat][on] + 0.5).astype(np.int64),
    )
    # every other edge crosses the rows whose centre y + 0.5 is in [lower end, upper end)
    slope = ya != yb
    lo_y, hi_y = np.minimum(ya, yb)[slope], np.maximum(ya, yb)[slope]
    up = ya[slope] < yb[slope]
    lo_x = np.where(up, xa[slope], xb[slope])
    hi_x = np.where(up, xb[slope], xa[slope])
    part = pid[slope]
    first = np.clip(np.ceil(lo_y - 0.5).astype(np.int64) - 1, 0, nrows)
    last = np.clip(np.ceil(hi_y - 0.5).astype(np.int64) + 1, 0, nrows)
    n = np.maximum(last - first, 0)
    edge = np.repeat(np.arange(n.size), n)
    row = np.repeat(first, n) + (np.arange(edge.size) - np.repeat(np.cumsum(n) - n, n))
    dy = row + 0.5
    hit = (dy >= lo_y[edge]) & (dy < hi_y[edge])
    edge, row, dy = edge[hit], row[hit], dy[hit]
    x = (dy - lo_y[edge]) * (hi_x[edge] - lo_x[edge]) / (hi_y[edge] - lo_y[edge]) + lo_x[edge]
    # GDAL rounds each crossing to the first cell at or right of it, then sorts and pairs
    # the crossings of a row of one polygon: (0, 1), (2, 3), ...
    col = np.floor(x + 0.5).astype(np.int64)
    key = part[edge] * nrows + row
    order = np.lexsort((col, key))
    key, row, col = key[order], row[order], col[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    count = np.diff(np.r_[starts, key.size])
    rank = np.arange(key.size) - np.repeat(starts, count)
    left = np.flatnonzero((rank % 2 == 0) & (rank + 1 < np.repeat(count, count)))
    add_spans(row[left], col[left], col[left + 1])
    inside[:] = np.cumsum(edges[:, :ncols], axis=1) > 0
    return inside


def _canonical_ring(ring: np.ndarray, *, ccw: bool) -> np.ndarray:
    """A closed ring of pixel-corner coordinates (col, row) with only its turning vertices,
    starting at its top-left vertex, turning as asked on the map (row axis points south)."""
    v = ring[:-1]
    prev, nxt = np.roll(v, 1, axis=0), np.roll(v, -1, axis=0)
    straight = ((prev[:, 0] == v[:, 0]) & (v[:, 0] == nxt[:, 0])) | (
        (prev[:, 1] == v[:, 1]) & (v[:, 1] == nxt[:, 1])
    )
    v = v[~straight]
    start = int(np.lexsort((v[:, 0], v[:, 1]))[0])
    v = np.roll(v, -start, axis=0)
    # shoelace on the map: y = -row, so the map's signed area is minus the pixel one
    area = -0.5 * float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))
    if (area > 0) != ccw:
        v = np.concatenate([v[:1], v[:0:-1]])
    return np.concatenate([v, v[:1]])


def _to_map(ring: np.ndarray, a: float, c: float, e: float, f: float) -> np.ndarray:
    # as GDALPolygonize applies the geotransform: x = c + col·a + row·0, y = f + col·0 + row·e
    return np.column_stack(
        [c + ring[:, 0] * a + ring[:, 1] * 0.0, f + ring[:, 0] * 0.0 + ring[:, 1] * e]
    )


def _piece(poly: BaseGeometry, a: float, c: float, e: float, f: float) -> BaseGeometry:
    shell = _canonical_ring(np.asarray(poly.exterior.coords), ccw=True)
    holes = [_canonical_ring(np.asarray(r.coords), ccw=False) for r in poly.interiors]
    holes.sort(key=lambda h: (h[0, 1], h[0, 0]))
    return shapely.Polygon(_to_map(shell, a, c, e, f), [_to_map(h, a, c, e, f) for h in holes])


def _piece_runs(lab: np.ndarray) -> tuple[np.ndarray, ...]:
    """The runs of equal value above 0 along the rows of a grid and the 4-connected piece
    each belongs to, named as GDAL's polygonizer names it: ``(row, first column, end
    column (exclusive), value, root id)`` per run.

    GDAL (``GDALRasterPolygonEnumerator``) scans rows left to right: a run of equal values
    takes the id of the run above its first cell when that one has the same value, else a
    new id, and each other run above with the same value is merged into it (its chain then
    points at this run's root). Its polygonizer writes a piece once the scan has passed its
    last row, pieces finished on the same row in the order of their root ids: the order in
    which ``shapely.union_all`` meets them, which can change how it writes their union.
    """
    nrows, ncols = lab.shape
    starts = np.ones(lab.shape, dtype=bool)
    starts[:, 1:] = lab[:, 1:] != lab[:, :-1]
    rr, cc = np.nonzero(starts)
    flat = rr * ncols + cc
    end = np.r_[flat[1:], nrows * ncols] - rr * ncols  # exclusive end column of each run
    end = np.minimum(end, ncols)
    value = lab[rr, cc]
    parent: list[int] = []

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    def merge(src: int, dst: int) -> None:
        final = root(dst)
        cur = dst
        while parent[cur] != cur:
            parent[cur], cur = final, parent[cur]
        while parent[src] != src:
            parent[src], src = final, parent[src]
        parent[src] = final

    run_id = np.full(rr.size, -1, dtype=np.int64)
    row_first = np.searchsorted(rr, np.arange(nrows + 1))
    for r in range(nrows):
        lo, hi = int(row_first[r]), int(row_first[r + 1])
        if r > 0:
            alo, ahi = int(row_first[r - 1]), int(row_first[r])
            above_start = cc[alo:ahi]
        for k in range(lo, hi):
            v = value[k]
            if v <= 0:
                continue
            s, e = int(cc[k]), int(end[k])
            rid = -1
            if r > 0:
                a = alo + int(np.searchsorted(above_start, s, side="right")) - 1
                if value[a] == v:
                    rid = int(run_id[a])
                    a += 1
                if rid < 0:
                    rid = len(parent)
                    parent.append(rid)
                while a < ahi and cc[a] < e:
                    if value[a] == v and root(int(run_id[a])) != root(rid):
                        merge(int(run_id[a]), rid)
                    a += 1
            else:
                rid = len(parent)
                parent.append(rid)
            run_id[k] = rid
    hot = run_id >= 0
    roots = np.array([root(int(i)) for i in run_id[hot]], dtype=np.int64)
    return rr[hot], cc[hot], end[hot], value[hot], roots


def region_polygons(
    labels: np.ndarray, transform: Any, ids: np.ndarray | list[int] | None = None
) -> list[BaseGeometry]:
    """The union of the cells of each label, as GDAL's polygonizer and shapely write it.

    Parameters
    ----------
    labels
        ``(nrows, ncols)`` integer labels; 0 and below are background.
    transform
        The grid's north-up affine transform.
    ids
        The labels to draw, in the order wanted; default: every label above 0, ascending.

    Returns
    -------
    list of shapely geometries
        One per id: what ``shapely.union_all`` of the polygons
        ``rasterio.features.shapes(labels, mask=labels > 0, transform=transform)`` yields
        for that value returns (a Polygon, or a MultiPolygon of pieces touching only at
        corners); an empty Polygon for an id with no cell.
    """
    lab = np.asarray(labels)
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        msg = f"`labels` must be a 2-D integer grid; got {lab.dtype} of shape {lab.shape!r}."
        raise ValidationError(msg)
    a, c, e, f = _north_up(transform)
    wanted = np.unique(lab[lab > 0]) if ids is None else np.asarray(ids)
    out: list[BaseGeometry] = [shapely.Polygon() for _ in range(len(wanted))]
    if not (lab > 0).any():
        return out
    rows, first_col, end_col, values, root = _piece_runs(lab)
    order = np.lexsort((first_col, rows, root))
    rows, first_col, end_col, values, root = (
        v[order] for v in (rows, first_col, end_col, values, root)
    )
    starts = np.flatnonzero(np.r_[True, root[1:] != root[:-1]])
    bounds = np.r_[starts, root.size]
    boxes = shapely.box(first_col, rows, end_col, rows + 1)  # pixel-corner space: exact
    pieces: dict[int, list[tuple[int, int, BaseGeometry]]] = {}
    for i, j in itertools.pairwise(bounds):
        (poly,) = shapely.get_parts(shapely.union_all(boxes[i:j]))  # 4-connected: one polygon
        value = int(values[i])
        key = (int(rows[i:j].max()), int(root[i]))  # GDAL writes it once past its last row
        pieces.setdefault(value, []).append((*key, _piece(poly, a, c, e, f)))
    for n, v in enumerate(wanted):
        got = sorted(pieces.get(int(v), []), key=lambda p: (p[0], p[1]))
        if len(got) == 1:
            out[n] = got[0][2]
        elif got:
            out[n] = shapely.union_all([p[2] for p in got])
    return out

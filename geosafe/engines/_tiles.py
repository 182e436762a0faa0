"""DBSCAN by spatial tiles on a dask.distributed cluster, equal to the single-process DBSCAN.

The plane is cut into square tiles of ``tile`` metres; each tile's task gets the points it
*owns* plus a halo of every point within ``eps`` of the tile (a square ring ``eps`` wide).
Exact duplicates are collapsed into weighted points first (as
:func:`geosafe.hotspots.dbscan.dbscan_labels` does), so a point is one id everywhere.

1. **Core points.** Every neighbour within ``eps`` of an owned point lies in its tile or the
   halo, so each tile decides exactly which of its own points are core (summed weight within
   ``eps``, itself included, at least ``min_samples``).
2. **Components.** With every point's core flag known, each tile links the cores of tile +
   halo that lie within ``eps`` of each other (``cKDTree.query_pairs``) and labels the
   connected components. A core-core link between two tiles joins points that sit in each
   other's halo, so both tiles see it; components of different tiles that share a core point
   are merged (union-find on the client). This is the single-process partition of the cores.
3. **Border points.** A non-core point takes the cluster of its nearest core within ``eps``
   (found in its tile + halo, where all such cores are), as the single-process DBSCAN does;
   the rest is noise.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .._errors import ValidationError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["dbscan_labels", "tile_index"]


def tile_index(
    xy: np.ndarray, tile: float, *, halo: float = 0.0
) -> dict[tuple[int, int], np.ndarray]:
    """Indices of the points of each ``tile``-metre square tile, with ``halo`` metres around.

    Without a halo every point is in exactly one tile (its owner); with one, also in every
    tile whose square grown by ``halo`` contains it.
    """
    out: dict[tuple[int, int], list[np.ndarray]] = {}
    x0 = np.floor((xy[:, 0] - halo) / tile).astype(np.int64)
    x1 = np.floor((xy[:, 0] + halo) / tile).astype(np.int64)
    y0 = np.floor((xy[:, 1] - halo) / tile).astype(np.int64)
    y1 = np.floor((xy[:, 1] + halo) / tile).astype(np.int64)
    for dx in range(int((x1 - x0).max(initial=0)) + 1):
        for dy in range(int((y1 - y0).max(initial=0)) + 1):
            sel = np.flatnonzero((x0 + dx <= x1) & (y0 + dy <= y1))
            if not len(sel):
                continue
            pairs = np.column_stack([x0[sel] + dx, y0[sel] + dy])
            keys, inv = np.unique(pairs, axis=0, return_inverse=True)
            inv = inv.ravel()
            order = np.argsort(inv, kind="stable")
            cut = np.searchsorted(inv[order], np.arange(len(keys) + 1))
            for t, (a, b) in enumerate(itertools.pairwise(cut)):
                key = (int(keys[t, 0]), int(keys[t, 1]))
                out.setdefault(key, []).append(sel[order[a:b]])
    return {k: np.unique(np.concatenate(v)) for k, v in out.items()}


def _core_flags(
    ids: np.ndarray,
    xy: np.ndarray,
    w: np.ndarray,
    owned: np.ndarray,
    eps: float,
    min_samples: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Core flags of a tile's owned points (ids, flags)."""
    tree = cKDTree(xy)
    own = np.flatnonzero(owned)
    if not len(own):
        return ids[own], np.zeros(0, dtype=bool)
    if np.allclose(w, 1.0):
        nb = tree.query_ball_point(xy[own], eps, return_length=True).astype(float)
    else:
        lists = tree.query_ball_point(xy[own], eps)
        nb = np.array([w[np.asarray(lst, dtype=np.int64)].sum() for lst in lists])
    return ids[own], nb >= min_samples - 1e-9


def _components(
    ids: np.ndarray, xy: np.ndarray, core: np.ndarray, owned: np.ndarray, eps: float
) -> dict[str, np.ndarray]:
    """Components of the tile's cores (core ids, local component) and, for owned non-core
    points, the id of their nearest core within ``eps`` (-1 none)."""
    cidx = np.flatnonzero(core)
    comp = np.zeros(0, dtype=np.int64)
    if len(cidx):
        cxy = xy[cidx]
        pairs = cKDTree(cxy).query_pairs(eps, output_type="ndarray")
        n = len(cidx)
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
    border = np.flatnonzero(owned & ~core)
    nearest = np.full(len(border), -1, dtype=np.int64)
    if len(border) and len(cidx):
        d, j = cKDTree(xy[cidx]).query(xy[border], k=1, distance_upper_bound=eps * (1 + 1e-12))
        ok = np.isfinite(d)
        nearest[ok] = ids[cidx[j[ok]]]
    return {
        "core_ids": ids[cidx],
        "comp": np.asarray(comp, dtype=np.int64),
        "border_ids": ids[border],
        "nearest": nearest,
    }


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = int(parent[root])
    while parent[i] != root:
        parent[i], i = root, int(parent[i])
    return root


def dbscan_labels(
    client: Client,
    xy: np.ndarray,
    *,
    eps: float,
    min_samples: int,
    sample_weight: np.ndarray | None = None,
    tile: float | None = None,
) -> np.ndarray:
    """DBSCAN labels (0, 1, ...; -1 noise) of ``(n, 2)`` points
    in metres, computed tile by tile on the cluster.

    Same clusters and noise as :func:`geosafe.hotspots.dbscan.dbscan_labels` (and the cores
    of :class:`sklearn.cluster.DBSCAN`). ``tile`` is the side of the tiles, metres (default:
    about 16 tiles over the points' extent, and at least ``4 * eps``).
    """
    from ..hotspots.dbscan import _check

    _check(eps, min_samples)
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        msg = f"`sample_weight` has {w.shape} values for {n} points; give one each."
        raise ValidationError(msg)
    keys, inv = np.unique(xy[:, 0] + 1j * xy[:, 1], return_inverse=True)
    uniq = np.column_stack([keys.real, keys.imag])
    inv = inv.ravel()
    uw = np.bincount(inv, weights=w, minlength=len(uniq))
    if tile is None:
        span = float(max(np.ptp(uniq[:, 0]), np.ptp(uniq[:, 1]), eps))
        tile = max(4 * eps, span / 4)
    if not tile > 0:
        msg = f"`tile` {tile!r} must be a positive number of metres."
        raise ValidationError(msg)
    owners = tile_index(uniq, tile)
    halos = tile_index(uniq, tile, halo=eps)
    tasks = []
    for key, members in halos.items():
        if key not in owners:
            continue
        owned = np.isin(members, owners[key])
        tasks.append((key, members, owned))
    # 1. core flags of owned points
    futs = [
        client.submit(_core_flags, m, uniq[m], uw[m], o, eps, float(min_samples), pure=False)
        for _, m, o in tasks
    ]
    core = np.zeros(len(uniq), dtype=bool)
    for ids, flags in client.gather(futs):
        core[ids] = flags
    # 2. components per tile (cores of tile + halo) and border points' nearest core
    comps = [
        client.submit(_components, m, uniq[m], core[m], o, eps, pure=False) for _, m, o in tasks
    ]
    results = client.gather(comps)
    # union-find over (tile, component): a core point seen by several tiles joins them
    offsets = np.cumsum([0] + [int(r["comp"].max(initial=-1)) + 1 for r in results])
    parent = np.arange(int(offsets[-1]))
    first_node = np.full(len(uniq), -1, dtype=np.int64)
    for r, off in zip(results, offsets[:-1], strict=True):
        nodes = r["comp"] + off
        for cid, node in zip(r["core_ids"], nodes, strict=True):
            seen = first_node[cid]
            if seen < 0:
                first_node[cid] = node
            else:
                a, b = _find(parent, int(seen)), _find(parent, int(node))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    labels_u = np.full(len(uniq), -1, dtype=np.int64)
    cores = np.flatnonzero(core)
    if len(cores):
        roots = np.array([_find(parent, int(first_node[c])) for c in cores])
        # number the clusters as the single-process function does: in order of their first
        # core point among the sorted unique coordinates
        _, first = np.unique(roots, return_index=True)
        vals = np.unique(roots)
        rank = np.empty(len(vals), dtype=np.int64)
        rank[np.argsort(first)] = np.arange(len(vals))
        labels_u[cores] = rank[np.searchsorted(vals, roots)]
        for r in results:
            ok = r["nearest"] >= 0
            labels_u[r["border_ids"][ok]] = labels_u[r["nearest"][ok]]
    return labels_u[inv]

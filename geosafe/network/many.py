"""Many-to-many walking distances at borough and London scale.

Preprocessing (:meth:`WalkMatrix.build`, cached with the area): an OSM walking graph is mostly
*shape* nodes of degree 2 along a street (about half of London's). They are contracted into
chains: the *core* keeps the junctions (degree other than 2), each chain becomes one core
edge of its total length, and every shape node keeps its chain and its offset along it. The
core is stored as a CSR graph.

Queries: one Dijkstra per target (a school) over the core, compiled with numba, seeded at the
two ends of the chain the target is snapped onto, and stopped as soon as every core node its
origins need is settled (or the distance limit is reached). A shape node's distance is then
``min(d[start] + offset, d[end] + length - offset)`` (or the direct distance along the
target's own chain). Results are exact: the same door-to-door distances as
:meth:`WalkNetwork.routes_to <geosafe.network.walk.WalkNetwork.routes_to>` (tests compare
with networkx).

Contraction hierarchies were measured and not used: on a London-like pedestrian grid (no road
hierarchy, since every street has the same walking speed) pandana's CH took 140 s to
preprocess 145,000 nodes on 2 threads and 215 µs per pair query (see ``docs/notes/area.md``).
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from numba import njit

from .._errors import RoutingError, ValidationError
from ._csr import csr_arrays, load_arrays, save_arrays
from .walk import WalkNetwork

__all__ = ["MATRIX_VERSION", "WalkMatrix"]

log = logging.getLogger(__name__)

#: Part of cache keys: bump when the preprocessing changes.
MATRIX_VERSION: Final = "walk-matrix-2"
#: The array fields of :class:`WalkMatrix`, as cached (the network is cached on its own).
_ARRAY_FIELDS: Final = (
    "core_of",
    "node_chain",
    "node_off",
    "chain_start",
    "chain_end",
    "chain_len",
    "ptr",
    "nbr",
    "wgt",
)


def _meta_of(net: WalkNetwork) -> dict[str, str]:
    """The cache header tying a matrix to its network and to :data:`MATRIX_VERSION`."""
    return {
        "version": MATRIX_VERSION,
        "source_sha256": net.source_sha256,
        "n_nodes": str(net.n_nodes),
    }


@njit(cache=True, nogil=True)
def _chains(
    n: int,
    ptr: npt.NDArray[np.int64],
    nbr: npt.NDArray[np.int64],
    wgt: npt.NDArray[np.float64],
    core: npt.NDArray[np.bool_],
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
]:
    """Walk every chain from a core node: per node its chain and offset; per chain its ends
    and length. Each chain is found from both ends; the one started from the lower
    ``(start, first edge)`` is kept."""
    node_chain = np.full(n, -1, dtype=np.int64)
    node_off = np.zeros(n, dtype=np.float64)
    cs = np.empty(16, dtype=np.int64)
    ce = np.empty(16, dtype=np.int64)
    cl = np.empty(16, dtype=np.float64)
    m = 0
    for c in range(n):
        if not core[c]:
            continue
        for e in range(ptr[c], ptr[c + 1]):
            prev = c
            x = nbr[e]
            length = wgt[e]
            if not core[x] and node_chain[x] >= 0:
                continue  # this chain was walked from its other end
            if core[x] and x < c:
                continue  # a direct core edge, kept from its lower end
            if m >= len(cs):
                cs2 = np.empty(2 * len(cs), dtype=np.int64)
                ce2 = np.empty(2 * len(cs), dtype=np.int64)
                cl2 = np.empty(2 * len(cs), dtype=np.float64)
                cs2[:m] = cs[:m]
                ce2[:m] = ce[:m]
                cl2[:m] = cl[:m]
                cs, ce, cl = cs2, ce2, cl2
            while not core[x]:
                node_chain[x] = m
                node_off[x] = length
                a = ptr[x]
                nxt = nbr[a] if nbr[a] != prev else nbr[a + 1]
                wx = wgt[a] if nbr[a] != prev else wgt[a + 1]
                prev = x
                x = nxt
                length += wx
            cs[m] = c
            ce[m] = x
            cl[m] = length
            m += 1
    return node_chain, node_off, cs[:m].copy(), ce[:m].copy(), cl[:m].copy()


@njit(cache=True, nogil=True)
def _touch(touched: npt.NDArray[np.int64], nt: int, x: int) -> tuple[npt.NDArray[np.int64], int]:
    """Append ``x`` to the list of nodes to reset (grown by doubling)."""
    if nt >= len(touched):
        grown = np.empty(2 * len(touched), dtype=np.int64)
        grown[:nt] = touched[:nt]
        touched = grown
    touched[nt] = x
    return touched, nt + 1


@njit(cache=True, nogil=True)
def _dijkstra_many(
    ptr: npt.NDArray[np.int64],
    nbr: npt.NDArray[np.int64],
    wgt: npt.NDArray[np.float64],
    seed_ptr: npt.NDArray[np.int64],
    seed_node: npt.NDArray[np.int64],
    seed_dist: npt.NDArray[np.float64],
    need_ptr: npt.NDArray[np.int64],
    need_node: npt.NDArray[np.int64],
    limit: float,
) -> npt.NDArray[np.float64]:
    """Per source, distances to its needed core nodes; stops once all are settled."""
    n = len(ptr) - 1
    dist = np.full(n, np.inf)
    done = np.zeros(n, dtype=np.bool_)
    wanted = np.zeros(n, dtype=np.bool_)
    touched = np.empty(1024, dtype=np.int64)
    out = np.empty(len(need_node), dtype=np.float64)
    for s in range(len(seed_ptr) - 1):
        nt = 0
        remaining = 0
        for i in range(need_ptr[s], need_ptr[s + 1]):
            x = need_node[i]
            if not wanted[x]:
                wanted[x] = True
                remaining += 1
        heap = [(0.0, np.int64(0))]
        heap.pop()
        for i in range(seed_ptr[s], seed_ptr[s + 1]):
            x = seed_node[i]
            if seed_dist[i] < dist[x]:
                if dist[x] == np.inf:
                    touched, nt = _touch(touched, nt, x)
                dist[x] = seed_dist[i]
                heapq.heappush(heap, (seed_dist[i], x))
        while heap and remaining > 0:
            d, x = heapq.heappop(heap)
            if done[x]:
                continue
            if d > limit:
                break
            done[x] = True
            if wanted[x]:
                remaining -= 1
            for e in range(ptr[x], ptr[x + 1]):
                y = nbr[e]
                nd = d + wgt[e]
                if nd < dist[y]:
                    if dist[y] == np.inf:
                        touched, nt = _touch(touched, nt, y)
                    dist[y] = nd
                    heapq.heappush(heap, (nd, y))
        for i in range(need_ptr[s], need_ptr[s + 1]):
            x = need_node[i]
            out[i] = dist[x] if done[x] else np.inf
            wanted[x] = False
        for i in range(nt):
            x = touched[i]
            dist[x] = np.inf
            done[x] = False
    return out


@njit(cache=True, nogil=True)
def _snap_points(
    px: npt.NDArray[np.float64],
    py: npt.NDArray[np.float64],
    ax: npt.NDArray[np.float64],
    ay: npt.NDArray[np.float64],
    bx: npt.NDArray[np.float64],
    by: npt.NDArray[np.float64],
    cell_ptr: npt.NDArray[np.int64],
    cell_edge: npt.NDArray[np.int64],
    x0: float,
    y0: float,
    size: float,
    nx: int,
    ny: int,
    max_d: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Nearest edge of each point within ``max_d`` (exact), by rings of grid cells."""
    n = len(px)
    edge = np.full(n, -1, dtype=np.int64)
    tt = np.zeros(n)
    dist = np.full(n, np.nan)
    rings = int(np.ceil(max_d / size)) + 1
    for i in range(n):
        x, y = px[i], py[i]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        ci = int(np.floor((x - x0) / size))
        cj = int(np.floor((y - y0) / size))
        best = np.inf
        be = -1
        bt = 0.0
        for r in range(rings + 1):
            if best <= (r - 1) * size:
                break
            for i2 in range(ci - r, ci + r + 1):
                if i2 < 0 or i2 >= nx:
                    continue
                step = 1 if (i2 == ci - r or i2 == ci + r) else 2 * r
                j2 = cj - r
                while j2 <= cj + r:
                    if 0 <= j2 < ny:
                        c = i2 * ny + j2
                        for k in range(cell_ptr[c], cell_ptr[c + 1]):
                            e = cell_edge[k]
                            dx = bx[e] - ax[e]
                            dy = by[e] - ay[e]
                            l2 = dx * dx + dy * dy
                            t = ((x - ax[e]) * dx + (y - ay[e]) * dy) / l2 if l2 > 0 else 0.0
                            t = min(max(t, 0.0), 1.0)
                            d = np.hypot(x - (ax[e] + t * dx), y - (ay[e] + t * dy))
                            if d < best or (d == best and e < be):
                                best = d
                                be = e
                                bt = t
                    j2 += step if r > 0 else 1
        if be >= 0 and best <= max_d:
            edge[i] = be
            tt[i] = bt
            dist[i] = best
    return edge, tt, dist


@dataclass(frozen=True)
class WalkMatrix:
    """A walking network prepared for many-to-many distances (see the module notes).

    Build with :meth:`build` (or :meth:`load` a saved one). ``net`` is the
    :class:`~geosafe.network.walk.WalkNetwork` it was built from (snapping uses it).

    Attributes
    ----------
    core_of
        Core index of each network node (``-1`` for a shape node inside a chain).
    node_chain, node_off
        Chain of each shape node (``-1`` for core nodes) and its offset from the chain's
        start, metres.
    chain_start, chain_end, chain_len
        Core indices of each chain's ends and its length, metres.
    ptr, nbr, wgt
        The core graph in CSR (both directions), metres.
    """

    net: WalkNetwork
    core_of: npt.NDArray[np.int64]
    node_chain: npt.NDArray[np.int64]
    node_off: npt.NDArray[np.float64]
    chain_start: npt.NDArray[np.int64]
    chain_end: npt.NDArray[np.int64]
    chain_len: npt.NDArray[np.float64]
    ptr: npt.NDArray[np.int64]
    nbr: npt.NDArray[np.int64]
    wgt: npt.NDArray[np.float64]
    _grid: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_core(self) -> int:
        """Number of core nodes (junctions and dead ends)."""
        return len(self.ptr) - 1

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, net: WalkNetwork) -> WalkMatrix:
        """Contract the degree-2 chains of ``net`` (seconds for a million nodes)."""
        n = net.n_nodes
        ptr, nbr, wgt = csr_arrays(n, net.edge_u, net.edge_v, net.edge_length_m)
        deg = np.diff(ptr)
        core = deg != 2
        # a self-contained ring of degree-2 nodes has no junction: make one node core
        if not core.any() and n:
            core[0] = True
        node_chain, node_off, cs, ce, cl = _chains(n, ptr, nbr, wgt, core)
        unvisited = ~core & (node_chain < 0)
        if unvisited.any():  # rings hanging off nothing (other components): make them core
            core |= unvisited
            node_chain, node_off, cs, ce, cl = _chains(n, ptr, nbr, wgt, core)
        core_of = np.full(n, -1, dtype=np.int64)
        core_of[core] = np.arange(int(core.sum()))
        cptr, cnbr, cwgt = csr_arrays(int(core.sum()), core_of[cs], core_of[ce], cl)
        node_chain[core] = -1
        m = cls(
            net=net,
            core_of=core_of,
            node_chain=node_chain,
            node_off=node_off,
            chain_start=core_of[cs],
            chain_end=core_of[ce],
            chain_len=cl,
            ptr=cptr,
            nbr=cnbr,
            wgt=cwgt,
        )
        log.info("walk matrix: %d nodes, %d in the core, %d chains", n, m.n_core, len(cs))
        return m

    def save(self, path: str | Path) -> Path:
        """Write the preprocessing (not the network) to an ``.npz`` file, atomically."""
        return save_arrays(
            Path(path), {k: getattr(self, k) for k in _ARRAY_FIELDS}, _meta_of(self.net)
        )

    @classmethod
    def load(cls, path: str | Path, net: WalkNetwork) -> WalkMatrix:
        """Read :meth:`save`'s file for ``net``; ``ValueError`` if it belongs elsewhere."""
        arrays, meta = load_arrays(Path(path))
        if meta != _meta_of(net):
            msg = f"walk matrix {str(path)!r} was built for another network or version; rebuild it."
            raise ValueError(msg)
        return cls(net=net, **{k: arrays[k] for k in _ARRAY_FIELDS})

    @classmethod
    def for_network(cls, net: WalkNetwork, *, cache_dir: str | Path | None = None) -> WalkMatrix:
        """Load the cached preprocessing of ``net``, or build and cache it."""
        cdir = Path(cache_dir) if cache_dir is not None else net.settings.cache_dir
        key = net.source_sha256[:32] or f"n{net.n_nodes}-e{net.n_edges}"
        path = cdir / f"{MATRIX_VERSION}-{key}.npz"
        if path.exists():
            try:
                return cls.load(path, net)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unusable walk matrix %s: %s", path, exc)
        m = cls.build(net)
        if net.source_sha256:
            m.save(path)
        return m

    # ------------------------------------------------------------------ queries
    def _seeds(self, edge: int, t: float) -> tuple[list[int], list[float], int, float]:
        """Core seeds of a point on ``edge`` at fraction ``t``; and its chain and offset
        (``-1`` when the edge joins two core nodes)."""
        net = self.net
        a, b = int(net.edge_u[edge]), int(net.edge_v[edge])
        w = float(net.edge_length_m[edge])
        ca, cb = self.core_of[a], self.core_of[b]
        if ca >= 0 and cb >= 0:
            return [int(ca), int(cb)], [t * w, (1.0 - t) * w], -1, 0.0
        chain = int(self.node_chain[a] if ca < 0 else self.node_chain[b])
        length = float(self.chain_len[chain])
        # a core end sits at offset 0 (the chain's start) or ``length`` (its end): the one
        # a single edge away from the interior end
        if ca >= 0:
            off_b = float(self.node_off[b])
            off_a = 0.0 if abs(off_b - w) <= abs(off_b - (length - w)) else length
        elif cb >= 0:
            off_a = float(self.node_off[a])
            off_b = 0.0 if abs(off_a - w) <= abs(off_a - (length - w)) else length
        else:
            off_a, off_b = float(self.node_off[a]), float(self.node_off[b])
        p = off_a + t * (off_b - off_a)
        s, e = int(self.chain_start[chain]), int(self.chain_end[chain])
        return [s, e], [p, length - p], chain, p

    def node_distances(
        self,
        sources: list[tuple[int, float]],
        nodes: list[npt.NDArray[np.int64]],
        *,
        max_m: float = np.inf,
    ) -> list[npt.NDArray[np.float64]]:
        """Exact network distances from points on edges to network nodes.

        Parameters
        ----------
        sources
            Per source, ``(edge, t)``: a point at fraction ``t`` along edge ``edge`` (from
            ``edge_u`` to ``edge_v``).
        nodes
            Per source, the network nodes whose distance is wanted.
        max_m
            Search limit, metres (further nodes get ``inf``).

        Returns
        -------
        list of numpy.ndarray
            Metres, per source.
        """
        if len(sources) != len(nodes):
            msg = f"`sources` has {len(sources)} items and `nodes` {len(nodes)}; pass one each."
            raise ValidationError(msg)
        seed_nodes: list[list[int]] = []
        seed_d: list[list[float]] = []
        needs: list[npt.NDArray[np.int64]] = []
        info = []
        for (edge, t), nd in zip(sources, nodes, strict=True):
            sn, sd, chain, p = self._seeds(int(edge), float(t))
            seed_nodes.append(sn)
            seed_d.append(sd)
            nd = np.asarray(nd, dtype=np.int64)
            c = self.core_of[nd]
            ch = self.node_chain[nd]
            interior = c < 0
            need = np.concatenate(
                [c[~interior], self.chain_start[ch[interior]], self.chain_end[ch[interior]]]
            )
            needs.append(need)
            info.append((nd, c, ch, interior, chain, p))
        seed_ptr = np.concatenate([[0], np.cumsum([len(s) for s in seed_nodes])]).astype(np.int64)
        need_ptr = np.concatenate([[0], np.cumsum([len(x) for x in needs])]).astype(np.int64)
        flat = _dijkstra_many(
            self.ptr,
            self.nbr,
            self.wgt,
            seed_ptr,
            np.array([x for s in seed_nodes for x in s], dtype=np.int64),
            np.array([x for s in seed_d for x in s], dtype=np.float64),
            need_ptr,
            np.concatenate(needs).astype(np.int64) if needs else np.zeros(0, dtype=np.int64),
            float(max_m),
        )
        out = []
        for i, (nd, _c, ch, interior, chain, p) in enumerate(info):
            got = flat[need_ptr[i] : need_ptr[i + 1]]
            k = int((~interior).sum())
            m = int(interior.sum())
            d = np.empty(len(nd))
            d[~interior] = got[:k]
            off = self.node_off[nd[interior]]
            cl = self.chain_len[ch[interior]]
            via = np.minimum(got[k : k + m] + off, got[k + m :] + (cl - off))
            if chain >= 0:
                direct = np.where(ch[interior] == chain, np.abs(off - p), np.inf)
                via = np.minimum(via, direct)
            d[interior] = via
            d[d > max_m] = np.inf
            out.append(d)
        return out

    def snap(
        self, xy: npt.ArrayLike, *, max_snap_m: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Nearest edge of each point (EPSG:27700) within ``max_snap_m``: ``(edge, t,
        distance)``, edge ``-1`` and distance ``nan`` beyond it. Exact, like
        :meth:`WalkNetwork.snap <geosafe.network.walk.WalkNetwork.snap>`, on a grid of
        100 m cells."""
        net = self.net
        if "cells" not in self._grid:
            size = 100.0
            ax, ay = net.node_x[net.edge_u], net.node_y[net.edge_u]
            bx, by = net.node_x[net.edge_v], net.node_y[net.edge_v]
            x0, y0 = float(min(ax.min(), bx.min())), float(min(ay.min(), by.min()))
            i0 = np.floor((np.minimum(ax, bx) - x0) / size).astype(np.int64)
            i1 = np.floor((np.maximum(ax, bx) - x0) / size).astype(np.int64)
            j0 = np.floor((np.minimum(ay, by) - y0) / size).astype(np.int64)
            j1 = np.floor((np.maximum(ay, by) - y0) / size).astype(np.int64)
            nx, ny = int(i1.max()) + 1, int(j1.max()) + 1
            wi, wj = i1 - i0 + 1, j1 - j0 + 1
            k = wi * wj
            e = np.repeat(np.arange(net.n_edges), k)
            r = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
            cell = (
                (np.repeat(i0, k) + r // np.repeat(wj, k)) * ny
                + np.repeat(j0, k)
                + r % np.repeat(wj, k)
            )
            order = np.argsort(cell, kind="stable")
            ptr = np.zeros(nx * ny + 1, dtype=np.int64)
            np.cumsum(np.bincount(cell, minlength=nx * ny), out=ptr[1:])
            self._grid.update(
                cells=(ptr, e[order].astype(np.int64)),
                origin=(x0, y0, size, nx, ny),
                seg=(ax, ay, bx, by),
            )
        ptr, cell_edge = self._grid["cells"]
        x0, y0, size, nx, ny = self._grid["origin"]
        ax, ay, bx, by = self._grid["seg"]
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return _snap_points(
            np.ascontiguousarray(pts[:, 0]),
            np.ascontiguousarray(pts[:, 1]),
            ax,
            ay,
            bx,
            by,
            ptr,
            cell_edge,
            x0,
            y0,
            size,
            nx,
            ny,
            float(max_snap_m),
        )

    def distances_to(
        self,
        targets_xy: npt.ArrayLike,
        origins_xy: npt.ArrayLike,
        target_of: npt.ArrayLike,
        *,
        max_m: float = 10_000.0,
        max_snap_m: float | None = None,
        max_target_snap_m: float | None = None,
    ) -> npt.NDArray[np.float64]:
        """Door-to-door walking distance from each origin to its own target, metres.

        The figures equal :meth:`WalkNetwork.routes_to
        <geosafe.network.walk.WalkNetwork.routes_to>` ``distance_m`` for the same origins
        and target (snap legs at both ends included), one search per target.

        Parameters
        ----------
        targets_xy
            Targets (schools), shape ``(k, 2)``, EPSG:27700.
        origins_xy
            Origins (pupils' homes), shape ``(n, 2)``, EPSG:27700.
        target_of
            Index into ``targets_xy`` of each origin's target, shape ``(n,)``.
        max_m
            Longest walk along the network, metres (further: ``nan``).
        max_snap_m, max_target_snap_m
            Snap limits as in ``routes_to`` (defaults from :class:`WalkSettings`).

        Returns
        -------
        numpy.ndarray
            Metres; ``nan`` where unroutable (origin off the network, target off the
            network, or further than ``max_m``).
        """
        settings = self.net.settings
        lim_o = settings.max_snap_m if max_snap_m is None else max_snap_m
        lim_t = settings.max_target_snap_m if max_target_snap_m is None else max_target_snap_m
        tg = np.asarray(targets_xy, dtype=np.float64).reshape(-1, 2)
        og = np.asarray(origins_xy, dtype=np.float64).reshape(-1, 2)
        which = np.asarray(target_of, dtype=np.int64).ravel()
        if which.shape != (len(og),) or (
            len(which) and (which.min() < 0 or which.max() >= len(tg))
        ):
            msg = (
                f"`target_of` must give a target index 0..{len(tg) - 1} for each of the "
                f"{len(og)} origins."
            )
            raise ValidationError(msg)
        return self._assigned(
            self.snap(tg, max_snap_m=lim_t), self.snap(og, max_snap_m=lim_o), which, max_m
        )

    def _assigned(
        self,
        ts: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
        os_: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
        which: npt.NDArray[np.int64],
        max_m: float,
    ) -> npt.NDArray[np.float64]:
        net = self.net
        t_edge, t_t, t_dist = ts
        o_edge, o_t, o_dist = os_
        out = np.full(len(which), np.nan)
        order = np.argsort(which, kind="stable")
        order = order[o_edge[order] >= 0]
        bounds = np.searchsorted(which[order], np.arange(len(t_edge) + 1))
        live = [j for j in range(len(t_edge)) if t_edge[j] >= 0 and bounds[j + 1] > bounds[j]]
        groups = {j: order[bounds[j] : bounds[j + 1]] for j in live}
        sources = [(int(t_edge[j]), float(t_t[j])) for j in live]
        node_sets = [
            np.concatenate([net.edge_u[o_edge[groups[j]]], net.edge_v[o_edge[groups[j]]]])
            for j in live
        ]
        dists = self.node_distances(sources, node_sets, max_m=max_m)
        w = net.edge_length_m
        for j, d in zip(live, dists, strict=True):
            idx = groups[j]
            k = len(idx)
            e = o_edge[idx]
            t = o_t[idx]
            cost = np.minimum(d[:k] + t * w[e], d[k:] + (1.0 - t) * w[e])
            same = e == t_edge[j]
            cost = np.where(same, np.minimum(cost, np.abs(t - t_t[j]) * w[e]), cost)
            total = cost + o_dist[idx] + t_dist[j]
            total[~(cost <= max_m)] = np.nan
            out[idx] = total
        return out

    def matrix(
        self,
        origins_xy: npt.ArrayLike,
        targets_xy: npt.ArrayLike,
        *,
        max_m: float = 10_000.0,
        max_snap_m: float | None = None,
        max_target_snap_m: float | None = None,
    ) -> npt.NDArray[np.float64]:
        """Door-to-door walking distances from every origin to every target, metres,
        shape ``(n_origins, n_targets)`` (``nan`` where unroutable); see :meth:`distances_to`."""
        settings = self.net.settings
        lim_o = settings.max_snap_m if max_snap_m is None else max_snap_m
        lim_t = settings.max_target_snap_m if max_target_snap_m is None else max_target_snap_m
        og = np.asarray(origins_xy, dtype=np.float64).reshape(-1, 2)
        tg = np.asarray(targets_xy, dtype=np.float64).reshape(-1, 2)
        if not len(tg):
            raise RoutingError("`targets_xy` is empty; pass at least one target.")
        n, k = len(og), len(tg)
        oe, ot, od = self.snap(og, max_snap_m=lim_o)
        which = np.repeat(np.arange(k), n)
        snaps = (np.tile(oe, k), np.tile(ot, k), np.tile(od, k))
        d = self._assigned(self.snap(tg, max_snap_m=lim_t), snaps, which, max_m)
        return d.reshape(k, n).T

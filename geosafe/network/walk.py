"""The walking network: OSM XML to a pedestrian scipy sparse graph, one-to-many routing.

Built once from a local OSM XML file (``.osm``, ``.osm.bz2`` or ``.osm.gz``) with osmnx
:func:`osmnx.graph_from_xml`, filtered to the ways a pedestrian may use
(:func:`pedestrian_reason`), turned into a symmetric :class:`scipy.sparse.csr_array` of edge
lengths in metres (EPSG:27700 grid distances between consecutive way nodes) and cached on disk
under the SHA-256 of the input file.

Routing is one-to-many: a school's pupils share the destination, and the graph is symmetric,
so one :func:`scipy.sparse.csgraph.dijkstra` from the school (with a distance limit) gives the
walking distance from every origin (:meth:`WalkNetwork.routes_to`). Points are snapped to the
nearest edge (not the nearest node), and the snap distance is reported; a point further than
``max_snap_m`` (default 250 m) from every walkable way is unroutable, with a reason, rather
than silently snapped kilometres away.

Transit routing uses :meth:`WalkNetwork.distances` (one origin, many points: access, egress)
and :meth:`WalkNetwork.distance_matrix` (stop-to-stop transfers).

Walking speed: :data:`WALK_SPEED_MPS` = 1.3 m/s (secondary-school pupils; about 4.7 km/h).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from scipy import sparse
from scipy.sparse import csgraph
from shapely.geometry.base import BaseGeometry

from .._errors import RoutingError, ValidationError
from ._csr import csr_matrix, load_arrays, save_arrays
from .osm_pbf import network_fields
from .pedestrian import OSM_TAGS, pedestrian_reason, way_tag

__all__ = [
    "FILTER_VERSION",
    "WALK_SPEED_MPS",
    "WalkNetwork",
    "WalkRoutes",
    "WalkSettings",
    "pedestrian_reason",
]

log = logging.getLogger(__name__)

#: Walking speed of a secondary-school pupil, metres per second (about 4.7 km/h).
WALK_SPEED_MPS: Final = 1.3
#: Bumped whenever :func:`pedestrian_reason` or the graph build changes (part of the cache key).
FILTER_VERSION: Final = "walk-filter-1"
#: The array fields of :class:`WalkNetwork`, as cached.
_ARRAY_FIELDS: Final = (
    "node_x",
    "node_y",
    "node_osmid",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_steps",
    "edge_highway",
    "edge_name",
)


class WalkSettings(BaseSettings):
    """Walking-network options (``GEOSAFE_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: Where built graphs are cached (``GEOSAFE_CACHE_DIR``).
    cache_dir: Path = Field(default=Path(".cache") / "geosafe")
    #: Walking speed, metres per second.
    walk_speed_mps: float = Field(default=WALK_SPEED_MPS, gt=0.3, le=3.0)
    #: Furthest a point may be from a walkable way and still be routed, metres.
    max_snap_m: float = Field(default=250.0, gt=0.0, le=5000.0)
    #: Furthest a routing *target* (a school) may be from a walkable way, metres. Larger than
    #: ``max_snap_m`` because a school's point is the centre of its site, which often sits
    #: on private access roads the pedestrian filter drops.
    max_target_snap_m: float = Field(default=500.0, gt=0.0, le=5000.0)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class WalkRoutes:
    """Walking routes from many origins to one target (a school).

    Attributes
    ----------
    distance_m
        Door-to-door walking distance, metres: origin to its snap point, along the network,
        snap point to the target (``nan`` where unroutable).
    network_m
        The part along the network, metres.
    origin_snap_m, target_snap_m
        Straight-line distance from the origin (target) to the nearest walkable way, metres.
    reason
        ``None`` for a routed origin, else ``"origin_off_network"`` (snap beyond
        ``max_snap_m``), ``"beyond_max_distance"`` (further than ``max_m`` along the network)
        or ``"not_finite"`` (missing coordinates).
    geometry
        Route LineStrings (EPSG:27700) from origin to target, ``None`` where unroutable, or
        all ``None`` when geometries were not asked for.
    path_nodes, path_offsets
        The network nodes of every route (origin end first) as one flat array of node
        indices; route ``i`` is ``path_nodes[path_offsets[i]:path_offsets[i + 1]]``.
    target_xy
        The target (EPSG:27700).
    """

    distance_m: npt.NDArray[np.float64]
    network_m: npt.NDArray[np.float64]
    origin_snap_m: npt.NDArray[np.float64]
    target_snap_m: float
    reason: npt.NDArray[np.object_]
    geometry: npt.NDArray[np.object_]
    path_nodes: npt.NDArray[np.int64]
    path_offsets: npt.NDArray[np.int64]
    target_xy: tuple[float, float]

    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        """Which origins were routed."""
        return np.array([r is None for r in self.reason], dtype=bool)

    def duration_s(self, *, speed_mps: float = WALK_SPEED_MPS) -> npt.NDArray[np.float64]:
        """Walking time, seconds, at ``speed_mps`` metres per second."""
        return self.distance_m / speed_mps


@dataclass(frozen=True)
class _Snap:
    edge: npt.NDArray[np.int64]
    t: npt.NDArray[np.float64]
    dist: npt.NDArray[np.float64]
    xy: npt.NDArray[np.float64]


@dataclass(frozen=True)
class WalkNetwork:
    """A pedestrian network as arrays (EPSG:27700, metres).

    Build with :meth:`from_osm`. Nodes are indexed ``0..n-1``; ``edge_u``/``edge_v`` are one
    row per undirected edge (a straight segment between two consecutive way nodes).

    Attributes
    ----------
    node_x, node_y
        Node coordinates, EPSG:27700 metres.
    node_osmid
        OSM node ids.
    edge_u, edge_v, edge_length_m
        Undirected edges and their lengths in metres.
    edge_steps
        Whether the edge is ``highway=steps``.
    edge_highway, edge_name
        The way's ``highway`` and ``name`` tags ("" when absent).
    source_sha256
        SHA-256 of the OSM file the network was built from.
    dropped
        Ways (directed osmnx edges) dropped by the pedestrian filter, by reason.
    """

    node_x: npt.NDArray[np.float64]
    node_y: npt.NDArray[np.float64]
    node_osmid: npt.NDArray[np.int64]
    edge_u: npt.NDArray[np.int64]
    edge_v: npt.NDArray[np.int64]
    edge_length_m: npt.NDArray[np.float64]
    edge_steps: npt.NDArray[np.bool_]
    edge_highway: npt.NDArray[np.str_]
    edge_name: npt.NDArray[np.str_]
    source_sha256: str = ""
    dropped: dict[str, int] = field(default_factory=dict)
    settings: WalkSettings = field(
        default_factory=WalkSettings.model_construct, repr=False, compare=False
    )
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_osm(
        cls,
        path: str | Path,
        *,
        settings: WalkSettings | None = None,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
    ) -> WalkNetwork:
        """Build (or load from the cache) the walking network of an OSM XML file.

        Parameters
        ----------
        path
            OSM XML file (``.osm``, ``.osm.bz2``, ``.osm.gz``), e.g.
            :func:`geosafe.datasets.osm_path`.
        settings
            Snap limits and the cache directory, made by the caller (the CLI or the app
            reads them from ``GEOSAFE_`` variables: ``WalkSettings()``); default: the
            documented defaults of :class:`WalkSettings`, no environment read.
        cache_dir
            Cache directory; default ``settings.cache_dir`` (``.cache/geosafe``).
        use_cache
            Read and write the cache (keyed by the file's SHA-256 and :data:`FILTER_VERSION`).

        Returns
        -------
        WalkNetwork
            The largest connected component of the walkable ways.
        """
        path = Path(path)
        if not path.is_file():
            msg = f"`path` {str(path)!r} is not a file; pass an OSM XML file (.osm, .osm.bz2)."
            raise ValidationError(msg)
        sha = _file_sha256(path)
        settings = settings if settings is not None else WalkSettings.model_construct()
        cdir = Path(cache_dir) if cache_dir is not None else settings.cache_dir
        cfile = cdir / f"walk-{FILTER_VERSION}-{sha[:32]}.npz"
        if (path.parent / cfile.name).exists():  # an area folder's graph, built beside it
            cfile = path.parent / cfile.name
        if use_cache and cfile.exists():
            try:
                net = cls._load(cfile)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable walk cache %s: %s", cfile, exc)
            else:
                if net.source_sha256 == sha:
                    log.info("walk network loaded from cache %s", cfile)
                    return dataclasses.replace(net, settings=settings)
        if path.name.lower().endswith(".pbf"):  # OSM PBF: pyosmium
            from .osm_pbf import read_highways, walk_arrays

            built = cls(**walk_arrays(read_highways(path), source_sha256=sha))
        else:
            built = cls._build(path, sha)
        net = dataclasses.replace(built, settings=settings)
        if use_cache:
            cdir.mkdir(parents=True, exist_ok=True)
            net._save(cfile)
        return net

    @classmethod
    def _build(cls, path: Path, sha: str) -> WalkNetwork:
        import osmnx as ox
        from pyproj import Transformer

        saved = list(ox.settings.useful_tags_way)
        try:
            ox.settings.useful_tags_way = sorted({*saved, *OSM_TAGS, "highway", "name"})
            graph = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
        finally:
            ox.settings.useful_tags_way = saved
        dropped: dict[str, int] = {}
        rows: list[tuple[int, int, str, str]] = []
        for u, v, data in graph.edges(data=True):
            reason = pedestrian_reason(data)
            if reason is not None:
                dropped[reason] = dropped.get(reason, 0) + 1
                continue
            name = data.get("name")
            rows.append(
                (u, v, way_tag(data, "highway") or "", name if isinstance(name, str) else "")
            )
        if not rows:
            msg = f"OSM file {str(path)!r} has no walkable ways; pass an extract with highways."
            raise RoutingError(msg)
        osmids = np.array(list(graph.nodes), dtype=np.int64)
        lon = np.array([graph.nodes[n]["x"] for n in osmids], dtype=np.float64)
        lat = np.array([graph.nodes[n]["y"] for n in osmids], dtype=np.float64)
        x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
        order = np.argsort(osmids)
        osmids, x, y = osmids[order], np.asarray(x)[order], np.asarray(y)[order]
        u = np.searchsorted(osmids, np.array([r[0] for r in rows], dtype=np.int64))
        v = np.searchsorted(osmids, np.array([r[1] for r in rows], dtype=np.int64))
        hw = np.array([r[2] for r in rows], dtype=np.str_)
        nm = np.array([r[3] for r in rows], dtype=np.str_)
        net = cls(**network_fields(u, v, x, y, osmids, hw, nm, dropped=dropped, source_sha256=sha))
        log.info(
            "walk network from %s: %d nodes, %d edges, dropped %s",
            path,
            net.n_nodes,
            net.n_edges,
            dropped,
        )
        return net

    def _save(self, path: Path) -> None:
        save_arrays(
            path,
            {k: getattr(self, k) for k in _ARRAY_FIELDS},
            {"source_sha256": self.source_sha256, "dropped": self.dropped},
        )

    @classmethod
    def _load(cls, path: Path) -> WalkNetwork:
        arrays, meta = load_arrays(path)
        return cls(
            **{k: arrays[k] for k in _ARRAY_FIELDS},
            source_sha256=meta["source_sha256"],
            dropped={str(k): int(v) for k, v in meta["dropped"].items()},
        )

    # ------------------------------------------------------------------ structure
    @property
    def max_snap_m(self) -> float:
        """Furthest a point may be from a walkable way and still be routed, metres."""
        return float(self.settings.max_snap_m)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_x)

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return len(self.edge_u)

    def csr(self, weights: npt.ArrayLike | None = None) -> sparse.csr_array:
        """The symmetric adjacency matrix (edge lengths in metres, or ``weights`` per edge)."""
        w = self.edge_length_m if weights is None else np.asarray(weights, dtype=np.float64)
        return self._csr(w, extra=None)

    def _csr(
        self,
        w: npt.NDArray[np.float64],
        extra: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]] | None,
    ) -> sparse.csr_array:
        u, v = self.edge_u, self.edge_v
        n = self.n_nodes
        if extra is not None:
            eu, ev, ew = extra
            u, v, w = np.concatenate([u, eu]), np.concatenate([v, ev]), np.concatenate([w, ew])
            n += 1
        return csr_matrix(n, u, v, w)

    def edge_geometries(self) -> npt.NDArray[np.object_]:
        """Every edge as a 2-point LineString (EPSG:27700)."""
        if "edge_geoms" not in self._cache:
            coords = np.stack(
                [
                    np.column_stack([self.node_x[self.edge_u], self.node_y[self.edge_u]]),
                    np.column_stack([self.node_x[self.edge_v], self.node_y[self.edge_v]]),
                ],
                axis=1,
            )
            self._cache["edge_geoms"] = shapely.linestrings(coords)
        geoms: npt.NDArray[np.object_] = self._cache["edge_geoms"]
        return geoms

    def _tree(self) -> shapely.STRtree:
        if "tree" not in self._cache:
            self._cache["tree"] = shapely.STRtree(self.edge_geometries())
        tree: shapely.STRtree = self._cache["tree"]
        return tree

    # ------------------------------------------------------------------ snapping
    def snap(self, xy: npt.ArrayLike) -> _Snap:
        """Snap points (EPSG:27700, shape ``(n, 2)``) to their nearest edge."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        n = len(pts)
        edge = np.full(n, -1, dtype=np.int64)
        good = np.isfinite(pts).all(axis=1)
        if good.any():
            geoms = shapely.points(pts[good])
            idx = self._tree().query_nearest(geoms, all_matches=False)
            edge[np.flatnonzero(good)[idx[0]]] = idx[1]
        e = np.where(edge >= 0, edge, 0)
        ax, ay = self.node_x[self.edge_u[e]], self.node_y[self.edge_u[e]]
        bx, by = self.node_x[self.edge_v[e]], self.node_y[self.edge_v[e]]
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(l2 > 0, ((pts[:, 0] - ax) * dx + (pts[:, 1] - ay) * dy) / l2, 0.0)
        t = np.clip(np.nan_to_num(t), 0.0, 1.0)
        sx, sy = ax + t * dx, ay + t * dy
        dist = np.hypot(pts[:, 0] - sx, pts[:, 1] - sy)
        dist[edge < 0] = np.nan
        return _Snap(edge=edge, t=t, dist=dist, xy=np.column_stack([sx, sy]))

    # ------------------------------------------------------------------ routing
    def _dijkstra_from(
        self,
        xy: tuple[float, float],
        *,
        max_m: float,
        weights: npt.NDArray[np.float64] | None = None,
        predecessors: bool = False,
        max_snap_m: float | None = None,
    ) -> tuple[_Snap, npt.NDArray[np.float64], npt.NDArray[np.int32] | None]:
        """One Dijkstra from a point: a virtual node ``n`` on its snapped edge."""
        snap = self.snap([xy])
        limit_snap = self.settings.max_snap_m if max_snap_m is None else max_snap_m
        if snap.edge[0] < 0 or not snap.dist[0] <= limit_snap:
            msg = (
                f"point {tuple(float(c) for c in xy)!r} is {snap.dist[0]:.0f} m from the "
                f"nearest walkable way (limit {limit_snap:.0f} m); pass a point inside the "
                "network's extent (EPSG:27700) or raise the snap limit (`max_snap_m`, or "
                "`max_target_snap_m` for a target)."
            )
            raise RoutingError(msg)
        w = self.edge_length_m if weights is None else weights
        e, t = int(snap.edge[0]), float(snap.t[0])
        virtual = self.n_nodes
        extra = (
            np.array([virtual, virtual], dtype=np.int64),
            np.array([self.edge_u[e], self.edge_v[e]], dtype=np.int64),
            np.array([t * w[e], (1.0 - t) * w[e]], dtype=np.float64),
        )
        graph = self._csr(w, extra)
        limit = np.inf if not np.isfinite(max_m) else float(max_m)
        if predecessors:
            dist, pred = csgraph.dijkstra(
                graph, directed=False, indices=virtual, limit=limit, return_predecessors=True
            )
            return snap, dist, pred
        dist = csgraph.dijkstra(graph, directed=False, indices=virtual, limit=limit)
        return snap, dist, None

    def distances(
        self,
        from_xy: tuple[float, float],
        to_xy: npt.ArrayLike,
        *,
        max_m: float = np.inf,
        include_snap: bool = True,
        max_snap_m: float | None = None,
    ) -> npt.NDArray[np.float64]:
        """Walking distances from one point to many points, metres (one Dijkstra).

        Used by the transit router for access, egress and transfers (the graph is symmetric,
        so "from" and "to" may be swapped).

        Parameters
        ----------
        from_xy
            The point (EPSG:27700).
        to_xy
            Points, shape ``(n, 2)`` (EPSG:27700), e.g. bus stops.
        max_m
            Longest walk searched, metres; further points get ``inf``.
        include_snap
            Add the straight-line legs from each point to its snapped position on the network.
        max_snap_m
            Points further than this from the network get ``inf`` (default
            :class:`WalkSettings` ``max_snap_m``, 250 m). ``from_xy`` beyond it raises.

        Returns
        -------
        numpy.ndarray
            Metres, ``inf`` where unreachable within ``max_m``.

        Raises
        ------
        RoutingError
            When ``from_xy`` is further than ``max_snap_m`` from any walkable way.
        """
        limit_snap = self.settings.max_snap_m if max_snap_m is None else max_snap_m
        src, dist, _ = self._dijkstra_from(from_xy, max_m=max_m, max_snap_m=limit_snap)
        snap = self.snap(to_xy)
        d = self._via_snap(dist, snap, src)
        if include_snap:
            d = d + snap.dist + src.dist[0]
        d[~(snap.dist <= limit_snap)] = np.inf
        d[d > max_m] = np.inf
        return np.asarray(d, dtype=np.float64)

    def distance_matrix(
        self,
        from_xy: npt.ArrayLike,
        to_xy: npt.ArrayLike,
        *,
        max_m: float = 1000.0,
        include_snap: bool = True,
    ) -> npt.NDArray[np.float64]:
        """Walking distances between two sets of points, metres (one Dijkstra per row).

        Rows whose point is off the network are all ``inf``. See :meth:`distances`.
        """
        a = np.asarray(from_xy, dtype=np.float64).reshape(-1, 2)
        b = np.asarray(to_xy, dtype=np.float64).reshape(-1, 2)
        out = np.full((len(a), len(b)), np.inf)
        for i, p in enumerate(a):
            try:
                out[i] = self.distances(
                    (float(p[0]), float(p[1])), b, max_m=max_m, include_snap=include_snap
                )
            except RoutingError:
                continue
        return out

    def _via_snap(
        self, dist: npt.NDArray[np.float64], snap: _Snap, src: _Snap
    ) -> npt.NDArray[np.float64]:
        """Network distance from the Dijkstra source to snapped points (both ends on edges)."""
        e = np.where(snap.edge >= 0, snap.edge, 0)
        w = self.edge_length_m[e]
        du = dist[self.edge_u[e]] + snap.t * w
        dv = dist[self.edge_v[e]] + (1.0 - snap.t) * w
        d = np.minimum(du, dv)
        same = snap.edge == src.edge[0]
        d[same] = np.minimum(d[same], np.abs(snap.t[same] - src.t[0]) * w[same])
        d[snap.edge < 0] = np.inf
        return d

    def routes_to(
        self,
        target_xy: tuple[float, float],
        origins_xy: npt.ArrayLike,
        *,
        max_m: float = 10_000.0,
        max_snap_m: float | None = None,
        max_target_snap_m: float | None = None,
        geometry: bool = True,
        weights: npt.ArrayLike | None = None,
    ) -> WalkRoutes:
        """Walking routes from many origins to one target with a single Dijkstra.

        Parameters
        ----------
        target_xy
            The destination (a school), EPSG:27700.
        origins_xy
            Origins, shape ``(n, 2)``, EPSG:27700 (non-finite rows are unroutable).
        max_m
            Distance limit of the search, metres along the network.
        max_snap_m
            Origins further than this from any walkable way are unroutable
            (default 250 m, :class:`WalkSettings`).
        max_target_snap_m
            The target may be this far from a walkable way (default 500 m: a school's point
            is the centre of its site).
        geometry
            Build route LineStrings (vectorised from the predecessor array).
        weights
            Cost per edge to minimise instead of length (e.g. length + λ·exposure for a safer
            alternative); distances reported are still metres along the chosen route.
            ``max_m`` then bounds the cost.

        Returns
        -------
        WalkRoutes

        Raises
        ------
        RoutingError
            When the target itself is off the network.
        """
        settings = self.settings
        limit_snap = settings.max_snap_m if max_snap_m is None else max_snap_m
        limit_target = (
            settings.max_target_snap_m if max_target_snap_m is None else max_target_snap_m
        )
        pts = np.asarray(origins_xy, dtype=np.float64).reshape(-1, 2)
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        if w is not None and w.shape != self.edge_length_m.shape:
            msg = f"`weights` has shape {w.shape!r}; pass one cost per edge ({self.n_edges},)."
            raise ValidationError(msg)
        tgt, dist, pred = self._dijkstra_from(
            target_xy, max_m=max_m, weights=w, predecessors=True, max_snap_m=limit_target
        )
        if pred is None:  # pragma: no cover - asked for above
            raise RoutingError("walk routing: no predecessors returned")
        snap = self.snap(pts)
        ww = self.edge_length_m if w is None else w
        e = np.where(snap.edge >= 0, snap.edge, 0)
        cu = dist[self.edge_u[e]] + snap.t * ww[e]
        cv = dist[self.edge_v[e]] + (1.0 - snap.t) * ww[e]
        entry = np.where(cu <= cv, self.edge_u[e], self.edge_v[e])
        cost = np.minimum(cu, cv)
        same = (snap.edge == tgt.edge[0]) & (snap.edge >= 0)
        direct = np.abs(snap.t - tgt.t[0]) * ww[e]
        use_direct = same & (direct <= cost)
        cost = np.where(use_direct, direct, cost)
        n = len(pts)
        reason = np.full(n, None, dtype=object)
        finite = np.isfinite(pts).all(axis=1)
        reason[~finite] = "not_finite"
        reason[finite & ~(snap.dist <= limit_snap)] = "origin_off_network"
        reason[(reason == None) & ~(cost <= max_m)] = "beyond_max_distance"  # noqa: E711
        ok = np.array([r is None for r in reason], dtype=bool)

        # ---- node paths by pointer jumping over all origins at once
        virtual = self.n_nodes
        node_x = np.append(self.node_x, tgt.xy[0, 0])
        node_y = np.append(self.node_y, tgt.xy[0, 1])
        walkers = np.flatnonzero(ok & ~use_direct)
        steps = [entry[walkers]]
        cur = steps[0]
        while True:
            active = cur != virtual
            if not active.any():
                break
            nxt = np.where(active, pred[np.where(active, cur, 0)], virtual)
            if (nxt[active] < 0).any():  # unreachable despite finite cost: defensive
                msg = "walk routing: broken predecessor chain; report this as a bug."
                raise RoutingError(msg)
            steps.append(nxt)
            cur = nxt
        hops = np.stack(steps, axis=1) if walkers.size else np.zeros((0, 1), dtype=np.int64)
        # count nodes before the virtual target (the target snap point is appended below)
        n_hops = (hops != virtual).sum(axis=1)
        counts = np.zeros(n, dtype=np.int64)
        counts[walkers] = n_hops
        offsets = np.concatenate([[0], np.cumsum(counts)])
        mask = np.arange(hops.shape[1])[None, :] < n_hops[:, None]
        path_nodes = hops[mask].astype(np.int64)

        # ---- door-to-door length along the actual route
        seg_len = np.zeros(n)
        if path_nodes.size:
            px, py = self.node_x[path_nodes], self.node_y[path_nodes]
            d = np.hypot(np.diff(px), np.diff(py))
            csum = np.concatenate([[0.0], np.cumsum(d)])
            start, stop = offsets[:-1], offsets[1:] - 1
            has = counts > 0
            seg_len[has] = csum[stop[has]] - csum[start[has]]
        if path_nodes.size:
            fi = path_nodes[np.minimum(offsets[:-1], len(path_nodes) - 1)]
            la = path_nodes[np.maximum(offsets[1:] - 1, 0)]
        else:
            fi = la = np.zeros(n, dtype=np.int64)
        first_node = np.where(counts > 0, fi, 0)
        last_node = np.where(counts > 0, la, 0)
        lead = np.hypot(snap.xy[:, 0] - node_x[first_node], snap.xy[:, 1] - node_y[first_node])
        tail = np.hypot(tgt.xy[0, 0] - node_x[last_node], tgt.xy[0, 1] - node_y[last_node])
        network_m = np.where(
            use_direct,
            np.hypot(snap.xy[:, 0] - tgt.xy[0, 0], snap.xy[:, 1] - tgt.xy[0, 1]),
            lead + seg_len + tail,
        )
        network_m[~ok] = np.nan
        total = network_m + snap.dist + tgt.dist[0]

        geoms = np.full(n, None, dtype=object)
        if geometry and ok.any():
            geoms[ok] = self._route_lines(
                np.flatnonzero(ok), pts, snap, tgt, target_xy, counts, offsets, path_nodes
            )
        return WalkRoutes(
            distance_m=total,
            network_m=network_m,
            origin_snap_m=snap.dist,
            target_snap_m=float(tgt.dist[0]),
            reason=reason,
            geometry=geoms,
            path_nodes=path_nodes,
            path_offsets=offsets,
            target_xy=(float(target_xy[0]), float(target_xy[1])),
        )

    def _route_lines(
        self,
        rows: npt.NDArray[np.int64],
        pts: npt.NDArray[np.float64],
        snap: _Snap,
        tgt: _Snap,
        target_xy: tuple[float, float],
        counts: npt.NDArray[np.int64],
        offsets: npt.NDArray[np.int64],
        path_nodes: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.object_]:
        """LineStrings origin → snap → nodes → target snap → target, built in one call."""
        k = counts[rows]
        per = k + 4
        line_id = np.repeat(np.arange(len(rows)), per)
        starts = np.concatenate([[0], np.cumsum(per)[:-1]])
        xy = np.empty((int(per.sum()), 2))
        xy[starts] = pts[rows]
        xy[starts + 1] = snap.xy[rows]
        xy[starts + per - 2] = tgt.xy[0]
        xy[starts + per - 1] = target_xy
        # node coordinates: positions starts+2 .. starts+2+k-1
        node_pos = np.repeat(starts + 2, k) + (
            np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        )
        # ``rows`` ascend and only they have nodes, so ``path_nodes`` is already in line order
        nodes = path_nodes
        xy[node_pos, 0] = self.node_x[nodes]
        xy[node_pos, 1] = self.node_y[nodes]
        out: npt.NDArray[np.object_] = shapely.linestrings(xy, indices=line_id)
        return out

    def path_line(
        self, a_xy: tuple[float, float], b_xy: tuple[float, float], *, max_m: float = 10_000.0
    ) -> BaseGeometry:
        """The walking route from ``a_xy`` to ``b_xy`` as a LineString (EPSG:27700).

        Suits the transit router's ``walk_path`` (walk-leg geometry); falls back to the
        straight line when either end is off the network or the walk is longer than ``max_m``.
        """
        try:
            r = self.routes_to(b_xy, [a_xy], max_m=max_m)
        except RoutingError:
            r = None
        if r is not None and r.geometry[0] is not None:
            line: BaseGeometry = r.geometry[0]
            return line
        return shapely.LineString([a_xy, b_xy])

    def shortest_path(
        self, a: int, b: int, *, weights: npt.ArrayLike | None = None
    ) -> tuple[float, list[int]]:
        """Node-to-node shortest path on the network.

        Parameters
        ----------
        a, b
            Node indices (``0..n_nodes-1``).
        weights
            Cost per edge (default: length in metres).

        Returns
        -------
        tuple
            ``(cost, nodes)``: metres (or cost) and the node indices from ``a`` to ``b``
            (``(inf, [])`` when unreachable).
        """
        for name, node in (("a", a), ("b", b)):
            if not 0 <= int(node) < self.n_nodes:
                msg = f"`{name}` {node!r} is not a node index; pass 0..{self.n_nodes - 1}."
                raise ValidationError(msg)
        dist, pred = csgraph.dijkstra(
            self.csr(weights), directed=False, indices=int(a), return_predecessors=True
        )
        if not np.isfinite(dist[b]):
            return float("inf"), []
        nodes = [int(b)]
        while nodes[-1] != a:
            nodes.append(int(pred[nodes[-1]]))
        return float(dist[b]), nodes[::-1]

    def nearest_node(self, xy: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Index of the nearest node to each point (EPSG:27700)."""
        from scipy.spatial import cKDTree

        if "kdtree" not in self._cache:
            self._cache["kdtree"] = cKDTree(np.column_stack([self.node_x, self.node_y]))
        _, idx = self._cache["kdtree"].query(np.asarray(xy, dtype=np.float64).reshape(-1, 2))
        return np.asarray(idx, dtype=np.int64)

"""A built RAPTOR router kept on disk, keyed by the SHA-256 of its feed.

Loading a London-size feed is slow: reading and validating 5.7 million stop times takes
minutes and building the router's patterns, trip instances and footpaths more. The cleaned
feed is already kept by :func:`geosafe.network.gtfs.read_feed` (``cache_dir``); this module
keeps the router's static tables beside it, so a second load is the two unpickles::

    <cache_dir>/gtfs-<feed key>.pkl      the validated feed (read_feed)
    <cache_dir>/router-<key>.pkl         the router's tables without the feed

The router key hashes the feed key (SHA-256 of the reader version and the feed's files), the
walk network's identity (its source SHA-256), the router options, and the source of the
modules that build the tables, so a change to any of them builds anew. An area folder keeps
both in ``gtfs/cache/`` (:func:`router_cache_dir`); ``geosafe area build`` fills it.

The cache holds pickles: point it only at a directory this program owns.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

from . import _raptor
from .gtfs import feed_key, load_pickle, read_feed, save_pickle
from .transit import RaptorRouter, TransitSettings

__all__ = [
    "AREA_CACHE",
    "ROUTER_CACHE_VERSION",
    "cached_router",
    "matrix_walk",
    "router_cache_dir",
    "walk_key",
]

log = logging.getLogger(__name__)

#: An area folder's cache of cleaned feeds and routers.
AREA_CACHE: Final = Path("gtfs") / "cache"
#: Part of the router key: bump when the saved state changes shape.
ROUTER_CACHE_VERSION: Final = "router-cache-1"
#: Attributes not saved: the feed (its own cache), the walk network and its path function
#: (given again at load), per-day tables and shape lines (rebuilt on use).
_NOT_SAVED: Final = frozenset({"feed", "walk", "walk_path", "_days", "_shapes"})
#: Modules whose code builds the saved tables (their source is part of the key).
_BUILDERS: Final = ("transit.py", "_raptor.py", "gtfs.py", "gtfs_tables.py", "frequency.py")


def router_cache_dir(data_dir: str | Path | None) -> Path:
    """Where routers and cleaned feeds are kept: an area folder's ``gtfs/cache`` (a folder
    with ``area.json``), else ``GEOSAFE_CACHE_DIR`` (:class:`TransitSettings`)."""
    if data_dir is not None and (Path(data_dir) / "area.json").is_file():
        return Path(data_dir) / AREA_CACHE
    return TransitSettings().cache_dir


def matrix_walk(net: Any, data_dir: str | Path | None) -> Any:
    """The walk distances the service's router uses: :class:`~geosafe.network.many.MatrixWalk`
    over ``net``'s many-to-many preprocessing (an area's ``osm/walk-matrix-*.npz``, built by
    ``geosafe area build``; else built once into ``GEOSAFE_CACHE_DIR``)."""
    from .many import MatrixWalk, WalkMatrix

    cache = None
    if data_dir is not None and (Path(data_dir) / "area.json").is_file():
        cache = Path(data_dir) / "osm"
    return MatrixWalk(WalkMatrix.for_network(net, cache_dir=cache))


def walk_key(walk: Any) -> str:
    """The identity of a walk network for the router key: its class and source SHA-256
    (``FallbackWalk`` and the plain network give different footpaths)."""
    if walk is None:
        return "straight-line"
    kinds = [type(walk).__name__]
    net = walk
    while hasattr(net, "network"):  # FallbackWalk(MatrixWalk(WalkMatrix(net))), ...
        net = net.network
        kinds.append(type(net).__name__)
    sha = getattr(net, "source_sha256", "") or id(net)
    return f"{'>'.join(kinds)}:{sha}:{getattr(walk, 'max_snap_m', '')}"


def _code_key() -> str:
    h = hashlib.sha256(ROUTER_CACHE_VERSION.encode())
    here = Path(__file__).resolve().parent
    for name in _BUILDERS:
        path = here / name
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def cached_router(
    feed: str | Path,
    *,
    cache_dir: str | Path,
    walk: Any = None,
    walk_path: Any = None,
    warn: bool = True,
    **options: Any,
) -> RaptorRouter:
    """A :class:`~geosafe.network.transit.RaptorRouter` over ``feed``, loaded from
    ``cache_dir`` when it was built before with the same feed, walk network and ``options``
    (the keyword arguments of ``RaptorRouter``), else built and saved there.

    Parameters
    ----------
    feed
        A GTFS folder or zip.
    cache_dir
        The cache folder (created if needed); see :func:`router_cache_dir`.
    walk, walk_path
        As for ``RaptorRouter``; the router is keyed by :func:`walk_key` of ``walk``.
    warn
        Emit the feed's validation warnings (as :func:`~geosafe.network.gtfs.read_feed`).
    """
    cdir = Path(cache_dir)
    fkey = feed_key(Path(feed))
    parts = {
        "feed": fkey,
        "walk": walk_key(walk),
        "code": _code_key(),
        "options": {k: options[k] for k in sorted(options)},
    }
    key = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    path = cdir / f"router-{key[:40]}.pkl"
    feed_obj = read_feed(feed, warn=warn, cache_dir=cdir)
    state = load_pickle(path)
    if state is not None:
        router = RaptorRouter.__new__(RaptorRouter)
        router.__dict__.update(state)
        router.feed = feed_obj
        router.walk = walk
        router.walk_path = walk_path
        router._days = OrderedDict()
        router._shapes = _raptor.ShapeLines(feed_obj.trips, feed_obj.shapes, router.crs)
        log.info("router for %s loaded from %s", feed, path)
        return router
    router = RaptorRouter(feed_obj, walk=walk, walk_path=walk_path, **options)
    save_pickle({k: v for k, v in router.__dict__.items() if k not in _NOT_SAVED}, path)
    log.info("router for %s saved to %s", feed, path)
    return router

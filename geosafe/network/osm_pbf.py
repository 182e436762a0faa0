"""OpenStreetMap PBF or XML read with pyosmium (``osmium``) for the walking network.

:func:`read_highways` streams an extract (a regional ``.osm.pbf`` download such as
``greater-london-latest.osm.pbf``, or OSM XML ``.osm``/``.osm.bz2``/``.osm.gz``), keeps the
ways with a ``highway`` tag, and optionally clips them to a polygon (EPSG:27700): a way is
kept whole when any of its nodes lies inside. :func:`walk_arrays` turns the ways into the
fields of the same :class:`~geosafe.network.walk.WalkNetwork` as
:meth:`WalkNetwork.from_osm <geosafe.network.walk.WalkNetwork.from_osm>` builds from XML with
osmnx: the same pedestrian filter (:func:`~geosafe.network.pedestrian.pedestrian_reason`),
the same node positions, one row per undirected segment (the shortest of duplicates), the
largest connected component, and the same ``dropped`` counts (per directed segment, as osmnx
counts them). It returns arrays, not the class, so that :mod:`geosafe.network.walk` can read
PBF without an import cycle (moved here from :mod:`geosafe.area.osm`, which re-exports it).

Reading a ~1M-node extract takes seconds to a minute and a few hundred MB: node locations
are held in pyosmium's ``flex_mem`` index, the ways as flat numpy arrays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.geometry.base import BaseGeometry

from .._errors import RoutingError, ValidationError
from .pedestrian import OSM_TAGS, pedestrian_reason

__all__ = ["OSM_SUFFIXES", "Highways", "network_fields", "read_highways", "walk_arrays"]

log = logging.getLogger(__name__)

#: The tags :func:`pedestrian_reason` reads.
_FILTER_TAGS = ("highway", *OSM_TAGS)
#: Suffixes pyosmium reads.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml")


@dataclass(frozen=True)
class Highways:
    """The ``highway=*`` ways of an extract as flat arrays.

    Attributes
    ----------
    way_id
        OSM way ids, one per way.
    way_tags
        Every tag of each way (dicts).
    node_offsets
        Way ``i``'s nodes are ``node_id[node_offsets[i]:node_offsets[i + 1]]`` (consecutive
        repeats removed, as osmnx does).
    node_id, lon, lat
        Node ids and WGS84 positions along the ways.
    """

    way_id: npt.NDArray[np.int64]
    way_tags: list[dict[str, str]]
    node_offsets: npt.NDArray[np.int64]
    node_id: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]

    @property
    def n_ways(self) -> int:
        """Number of ways."""
        return len(self.way_id)


def _check_path(path: Path) -> None:
    if not path.is_file():
        msg = f"`osm` {str(path)!r} is not a file; pass an OSM PBF or XML extract."
        raise ValidationError(msg)
    if not path.name.lower().endswith(OSM_SUFFIXES):
        msg = (
            f"`osm` {str(path)!r} is not an OSM file by its name; pass a .osm.pbf, .osm, "
            ".osm.bz2 or .osm.gz extract."
        )
        raise ValidationError(msg)


def read_highways(path: str | Path, *, clip: BaseGeometry | None = None) -> Highways:
    """Read the ``highway=*`` ways of an OSM PBF or XML file.

    Parameters
    ----------
    path
        ``.osm.pbf`` or OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``).
    clip
        Keep only ways with at least one node inside this polygon (EPSG:27700). ``None``
        keeps every way.

    Returns
    -------
    Highways
    """
    import osmium
    from osmium.filter import KeyFilter

    path = Path(path)
    _check_path(path)
    way_ids: list[int] = []
    tags: list[dict[str, str]] = []
    counts: list[int] = []
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    missing = 0
    proc = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
    proc = proc.with_locations().with_filter(KeyFilter("highway"))
    for obj in proc:
        if not isinstance(obj, osmium.osm.Way):
            continue
        prev = None
        k = 0
        for nd in obj.nodes:
            if nd.ref == prev:
                continue
            loc = nd.location
            if not loc.valid():
                missing += 1
                continue
            prev = nd.ref
            refs.append(nd.ref)
            lons.append(loc.lon)
            lats.append(loc.lat)
            k += 1
        way_ids.append(obj.id)
        tags.append(dict(obj.tags))
        counts.append(k)
    if missing:
        log.warning(
            "%s: %d way nodes have no location (outside the extract); skipped", path, missing
        )
    ways = Highways(
        way_id=np.asarray(way_ids, dtype=np.int64),
        way_tags=tags,
        node_offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64),
        node_id=np.asarray(refs, dtype=np.int64),
        lon=np.asarray(lons, dtype=np.float64),
        lat=np.asarray(lats, dtype=np.float64),
    )
    if clip is not None:
        ways = _clip(ways, clip)
    log.info("%s: %d highway ways, %d way nodes", path, ways.n_ways, len(ways.node_id))
    return ways


def _bng(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> tuple[Any, Any]:
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _clip(ways: Highways, clip: BaseGeometry) -> Highways:
    x, y = _bng(ways.lon, ways.lat)
    shapely.prepare(clip)
    inside = shapely.contains_xy(clip, x, y) if len(x) else np.zeros(0, dtype=bool)
    counts = np.diff(ways.node_offsets)
    way_of = np.repeat(np.arange(ways.n_ways), counts)
    keep_way = np.zeros(ways.n_ways, dtype=bool)
    keep_way[way_of[inside]] = True
    keep_node = keep_way[way_of]
    kept = np.flatnonzero(keep_way)
    return Highways(
        way_id=ways.way_id[kept],
        way_tags=[ways.way_tags[i] for i in kept],
        node_offsets=np.concatenate([[0], np.cumsum(counts[kept])]).astype(np.int64),
        node_id=ways.node_id[keep_node],
        lon=ways.lon[keep_node],
        lat=ways.lat[keep_node],
    )


def walk_arrays(ways: Highways, *, source_sha256: str = "") -> dict[str, Any]:
    """The pedestrian network of the ways as the fields of a
    :class:`~geosafe.network.walk.WalkNetwork`, as :meth:`WalkNetwork.from_osm` builds it.

    Parameters
    ----------
    ways
        From :func:`read_highways`.
    source_sha256
        Recorded as the network's ``source_sha256``.

    Returns
    -------
    dict
        ``WalkNetwork`` fields: the largest connected component of the walkable segments.
    """
    counts = np.diff(ways.node_offsets)
    segments = np.maximum(counts - 1, 0)
    dropped: dict[str, int] = {}
    walkable = np.zeros(ways.n_ways, dtype=bool)
    highway = np.empty(ways.n_ways, dtype=object)
    name = np.empty(ways.n_ways, dtype=object)
    memo: dict[tuple[str | None, ...], str | None] = {}  # few distinct tag combinations
    for i, tags in enumerate(ways.way_tags):
        key = tuple(tags.get(k) for k in _FILTER_TAGS)
        if key not in memo:
            memo[key] = pedestrian_reason(tags)
        reason = memo[key]
        if reason is not None:
            if segments[i]:  # osmnx counts directed edges: two per segment
                dropped[reason] = dropped.get(reason, 0) + 2 * int(segments[i])
            continue
        walkable[i] = True
        highway[i] = (tags.get("highway") or "").strip().lower()
        name[i] = tags.get("name") or ""
    # segments of walkable ways: node k -> k + 1 within a way
    way_of = np.repeat(np.arange(ways.n_ways), counts)
    pos = np.arange(len(ways.node_id))
    is_seg = np.zeros(len(pos), dtype=bool)
    if len(pos) > 1:
        is_seg[:-1] = way_of[:-1] == way_of[1:]
    is_seg &= walkable[way_of]
    first = pos[is_seg]
    if not first.size:
        msg = "the OSM extract has no walkable ways; pass an extract with highways."
        raise RoutingError(msg)
    seg_way = way_of[first]
    osmids, inverse = np.unique(ways.node_id, return_inverse=True)
    # one position per node id (the first seen); ids are unique to a location in OSM
    node_pos = np.full(len(osmids), -1, dtype=np.int64)
    node_pos[inverse[::-1]] = pos[::-1]
    x, y = _bng(ways.lon[node_pos], ways.lat[node_pos])
    u, v = inverse[first], inverse[first + 1]
    hw = highway[seg_way].astype(np.str_)
    nm = name[seg_way].astype(np.str_)
    return network_fields(u, v, x, y, osmids, hw, nm, dropped=dropped, source_sha256=source_sha256)


def network_fields(
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    osmids: npt.NDArray[np.int64],
    hw: npt.NDArray[np.str_],
    nm: npt.NDArray[np.str_],
    *,
    dropped: dict[str, int],
    source_sha256: str,
) -> dict[str, Any]:
    """The fields of a :class:`~geosafe.network.walk.WalkNetwork` from directed segments
    ``u -> v`` (indices into ``osmids``, ``x``, ``y``; EPSG:27700) with their ``highway`` and
    ``name``: one row per undirected edge (self loops dropped, the shortest of duplicates
    kept), the largest connected component (``dropped["not_largest_component"]`` counts the
    rest). Shared by the XML (osmnx) and PBF (pyosmium) readers."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    keep = a != b
    a, b, hw, nm = a[keep], b[keep], hw[keep], nm[keep]
    length = np.hypot(x[a] - x[b], y[a] - y[b])
    order = np.lexsort((length, b, a))
    a, b, hw, nm, length = a[order], b[order], hw[order], nm[order], length[order]
    uniq = np.ones(len(a), dtype=bool)
    uniq[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, hw, nm, length = a[uniq], b[uniq], hw[uniq], nm[uniq], length[uniq]
    n = len(osmids)
    adj = sparse.coo_array((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
    ncomp, labels = csgraph.connected_components(adj, directed=False)
    sizes = np.bincount(labels[np.unique(np.concatenate([a, b]))], minlength=ncomp)
    in_main = labels == int(np.argmax(sizes))
    ekeep = in_main[a]
    dropped["not_largest_component"] = int((~ekeep).sum())
    node_keep = np.zeros(n, dtype=bool)
    node_keep[a[ekeep]] = True
    node_keep[b[ekeep]] = True
    new_index = np.cumsum(node_keep) - 1
    return dict(
        node_x=x[node_keep],
        node_y=y[node_keep],
        node_osmid=osmids[node_keep],
        edge_u=new_index[a[ekeep]].astype(np.int64),
        edge_v=new_index[b[ekeep]].astype(np.int64),
        edge_length_m=length[ekeep],
        edge_steps=hw[ekeep] == "steps",
        edge_highway=hw[ekeep],
        edge_name=nm[ekeep],
        source_sha256=source_sha256,
        dropped=dropped,
    )

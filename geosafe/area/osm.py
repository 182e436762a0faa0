"""Streets of an area from OpenStreetMap PBF or XML, read with pyosmium (``osmium``).

:func:`read_highways` streams an extract (a regional ``.osm.pbf`` download such as
``greater-london-latest.osm.pbf``, or OSM XML ``.osm``/``.osm.bz2``/``.osm.gz``), keeps the
ways with a ``highway`` tag, and optionally clips them to a polygon (EPSG:27700): a way is
kept whole when any of its nodes lies inside. :func:`walk_network_from_ways` turns the ways
into the same :class:`~geosafe.network.walk.WalkNetwork` as
:meth:`WalkNetwork.from_osm <geosafe.network.walk.WalkNetwork.from_osm>` builds from XML with
osmnx: the same pedestrian filter (:func:`~geosafe.network.walk.pedestrian_reason`), the
same node positions, one row per undirected segment (the shortest of duplicates), the
largest connected component, and the same ``dropped`` counts (per directed segment, as osmnx
counts them). :func:`write_highways` writes the clipped ways back out (XML or PBF).

Reading a ~1M-node extract takes seconds to a minute and a few hundred MB: node locations
are held in pyosmium's ``flex_mem`` index, the ways as flat numpy arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..network.osm_pbf import OSM_SUFFIXES, Highways, read_highways, walk_arrays
from ..network.walk import WalkNetwork

__all__ = [
    "OSM_SUFFIXES",
    "Highways",
    "read_highways",
    "walk_network_from_ways",
    "write_highways",
]


def walk_network_from_ways(ways: Highways, *, source_sha256: str = "") -> WalkNetwork:
    """The pedestrian network of the ways, as :meth:`WalkNetwork.from_osm` builds it
    (:func:`geosafe.network.osm_pbf.walk_arrays`); ``source_sha256`` is recorded on it."""
    return WalkNetwork(**walk_arrays(ways, source_sha256=source_sha256))


def write_highways(ways: Highways, path: str | Path) -> Path:
    """Write the ways and their nodes as OSM (format from the name: ``.osm.pbf``, ``.osm``,
    ``.osm.bz2``, ``.osm.gz``), nodes then ways, each sorted by id.

    Returns
    -------
    pathlib.Path
        The file written (replaced if it existed).
    """
    import osmium
    from osmium.osm.mutable import Node, Way

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    ids, first = np.unique(ways.node_id, return_index=True)
    writer = osmium.SimpleWriter(str(path))
    try:
        for nid, i in zip(ids.tolist(), first.tolist(), strict=True):
            writer.add_node(
                Node(id=nid, version=1, location=osmium.osm.Location(ways.lon[i], ways.lat[i]))
            )
        order = np.argsort(ways.way_id, kind="stable")
        offs = ways.node_offsets
        for i in order.tolist():
            refs = ways.node_id[offs[i] : offs[i + 1]].tolist()
            writer.add_way(
                Way(id=int(ways.way_id[i]), version=1, nodes=refs, tags=ways.way_tags[i])
            )
    finally:
        writer.close()
    return path

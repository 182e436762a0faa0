"""Which OpenStreetMap ways a pedestrian may use: the documented filter of the walking network
(:func:`pedestrian_reason`), applied by :meth:`geosafe.network.walk.WalkNetwork.from_osm`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["OSM_TAGS", "pedestrian_reason", "walkable_network_arrays", "way_tag"]

#: ``highway=*`` values never usable on foot.
_NO_WALK_HIGHWAY: Final = frozenset(
    {
        "motorway",
        "motorway_link",
        "bus_guideway",
        "busway",
        "raceway",
        "construction",
        "proposed",
        "abandoned",
        "disused",
        "razed",
        "planned",
    }
)
#: ``foot=*`` values that forbid walking. ``use_sidepath``: a separately mapped footway must be
#: used instead (and is in the graph).
_FOOT_NO: Final = frozenset({"no", "private", "use_sidepath"})
#: ``foot=*`` values that grant walking whatever ``access=*`` says.
_FOOT_YES: Final = frozenset({"yes", "designated", "permissive", "destination", "official"})
_ACCESS_NO: Final = frozenset({"no", "private"})
_SIDEWALK_NONE: Final = frozenset({"no", "none", "separate"})
#: Way tags the filter reads (osmnx drops them unless asked for).
OSM_TAGS: Final = ("foot", "access", "sidewalk")


def way_tag(tags: Mapping[str, Any], key: str) -> str | None:
    value = tags.get(key)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list):  # a simplified osmnx edge merges ways: any value decides
        value = ";".join(str(v) for v in value)
    return str(value).strip().lower()


def pedestrian_reason(tags: Mapping[str, Any]) -> str | None:
    """Why a way may not be walked, or ``None`` when a pedestrian may use it.

    The rules, in order (values compared in lower case; ``a;b`` lists match on any part):

    1. no ``highway`` tag: ``"not_highway"``;
    2. ``highway`` in motorway, motorway_link, bus_guideway, busway, raceway, construction,
       proposed, abandoned, disused, razed, planned: ``"highway_<value>"``;
    3. ``foot`` in no, private, use_sidepath: ``"foot_<value>"``;
    4. ``access`` in no, private and ``foot`` not in yes, designated, permissive,
       destination, official: ``"access_<value>"``;
    5. ``highway`` trunk or trunk_link with ``sidewalk`` no/none/separate and no explicit foot
       access: ``"trunk_without_sidewalk"`` (walking is lawful on English trunk roads, but
       where the carriageway has no pavement of its own a pedestrian uses the separately
       mapped footway).

    Everything else is walkable, including ``highway=steps`` (kept, and marked on the
    edge so reports can flag them), ``service`` roads without access restrictions,
    cycleways (shared use in London unless ``foot=no``), tracks and bridleways.

    Parameters
    ----------
    tags
        The way's OSM tags (an osmnx edge attribute dict will do).

    Returns
    -------
    str or None
        A reason code, or ``None`` when walkable.
    """
    highway = way_tag(tags, "highway")
    if not highway:
        return "not_highway"
    parts = set(highway.split(";"))
    bad = parts & _NO_WALK_HIGHWAY
    if bad:
        return f"highway_{sorted(bad)[0]}"
    foot = way_tag(tags, "foot")
    foot_parts = set(foot.split(";")) if foot else set()
    if foot_parts & _FOOT_NO and not foot_parts & _FOOT_YES:
        return f"foot_{sorted(foot_parts & _FOOT_NO)[0]}"
    access = way_tag(tags, "access")
    access_parts = set(access.split(";")) if access else set()
    if access_parts & _ACCESS_NO and not foot_parts & _FOOT_YES:
        return f"access_{sorted(access_parts & _ACCESS_NO)[0]}"
    sidewalk = way_tag(tags, "sidewalk")
    if (
        parts & {"trunk", "trunk_link"}
        and sidewalk in _SIDEWALK_NONE
        and not foot_parts & _FOOT_YES
    ):
        return "trunk_without_sidewalk"
    return None


def walkable_network_arrays(
    osmids: npt.NDArray[np.int64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    hw: npt.NDArray[np.str_],
    nm: npt.NDArray[np.str_],
    *,
    dropped: dict[str, int],
) -> dict[str, Any]:
    """The arrays of a :class:`~geosafe.network.walk.WalkNetwork` from its walkable way
    segments (shared by the osmnx build and :mod:`geosafe.area.osm`): one row per undirected
    edge (the shortest of duplicates, no self loops), in the largest connected component;
    ``dropped`` gains ``not_largest_component``.

    Parameters
    ----------
    osmids, x, y
        Node ids and EPSG:27700 positions; ``u`` and ``v`` index them.
    u, v, hw, nm
        One row per walkable segment: its end nodes, ``highway`` and ``name``.
    """
    from scipy import sparse
    from scipy.sparse import csgraph

    # one row per undirected edge: (min, max), drop self loops, keep the shortest duplicate
    a, b = np.minimum(u, v), np.maximum(u, v)
    keep = a != b
    a, b, hw, nm = a[keep], b[keep], hw[keep], nm[keep]
    length = np.hypot(x[a] - x[b], y[a] - y[b])
    order = np.lexsort((length, b, a))
    a, b, hw, nm, length = a[order], b[order], hw[order], nm[order], length[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, hw, nm, length = a[first], b[first], hw[first], nm[first], length[first]
    # largest connected component
    n = len(osmids)
    adj = sparse.coo_array((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
    ncomp, labels = csgraph.connected_components(adj, directed=False)
    sizes = np.bincount(labels[np.unique(np.concatenate([a, b]))], minlength=ncomp)
    main = int(np.argmax(sizes))
    in_main = labels == main
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
    )

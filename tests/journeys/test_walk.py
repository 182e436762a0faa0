"""The walking network: pedestrian filter, cache, and distances against networkx."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from pyproj import Transformer

from geosafe import datasets
from geosafe._errors import RoutingError, ValidationError
from geosafe.network.walk import WalkNetwork, pedestrian_reason


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, None),
        ({"highway": "steps"}, None),
        ({"highway": "footway", "foot": "designated"}, None),
        ({"highway": "motorway"}, "highway_motorway"),
        ({"highway": "motorway_link", "foot": "yes"}, "highway_motorway_link"),
        ({"highway": "footway", "foot": "no"}, "foot_no"),
        ({"highway": "path", "foot": "private"}, "foot_private"),
        ({"highway": "service", "access": "private"}, "access_private"),
        ({"highway": "service", "access": "no", "foot": "yes"}, None),
        ({"highway": "service", "access": "private", "foot": "permissive"}, None),
        ({"highway": "trunk", "sidewalk": "no"}, "trunk_without_sidewalk"),
        ({"highway": "trunk", "sidewalk": "both"}, None),
        ({"highway": "trunk"}, None),
        ({"highway": "construction"}, "highway_construction"),
        ({"highway": "proposed"}, "highway_proposed"),
        ({"highway": "bus_guideway"}, "highway_bus_guideway"),
        ({"highway": "raceway"}, "highway_raceway"),
        ({"name": "no highway"}, "not_highway"),
        ({"highway": ["residential", "motorway"]}, "highway_motorway"),
        ({"highway": "FOOTWAY", "foot": "No"}, "foot_no"),
    ],
)
def test_pedestrian_reason(tags: dict[str, object], expected: str | None) -> None:
    assert pedestrian_reason(tags) == expected


def test_filter_on_hand_made_osm(osm_fixture: Path, tmp_path: Path) -> None:
    net = WalkNetwork.from_osm(osm_fixture, cache_dir=tmp_path)
    osm = net.node_osmid
    pairs = {
        tuple(sorted((int(osm[u]), int(osm[v]))))
        for u, v in zip(net.edge_u, net.edge_v, strict=True)
    }
    # walkable: residential, steps, private service with foot=yes, trunk with sidewalks,
    # one-way cycleway (walkable both ways)
    assert pairs == {(1, 2), (1, 5), (2, 7), (5, 9), (7, 9)}
    steps = {
        tuple(sorted((int(osm[u]), int(osm[v]))))
        for u, v, s in zip(net.edge_u, net.edge_v, net.edge_steps, strict=True)
        if s
    }
    assert steps == {(1, 5)}
    # every dropped way is counted in both directions (bidirectional=True)
    assert net.dropped["highway_motorway"] == 2
    assert net.dropped["foot_no"] == 2
    assert net.dropped["access_private"] == 2
    assert net.dropped["trunk_without_sidewalk"] == 2
    assert net.dropped["highway_construction"] == 2
    assert net.dropped["highway_motorway_link"] == 2
    # the one-way trunk with sidewalks is walked against its direction too
    a = int(np.flatnonzero(osm == 9)[0])
    b = int(np.flatnonzero(osm == 5)[0])
    cost, nodes = net.shortest_path(a, b)
    assert nodes == [a, b]
    # lengths are EPSG:27700 grid distances
    tr = Transformer.from_crs(4326, 27700, always_xy=True)
    x1, y1 = tr.transform(-0.1210, 51.6090)
    x2, y2 = tr.transform(-0.1210, 51.6100)
    assert cost == pytest.approx(np.hypot(x1 - x2, y1 - y2), abs=1e-6)


def test_cache_round_trip(osm_fixture: Path, tmp_path: Path) -> None:
    built = WalkNetwork.from_osm(osm_fixture, cache_dir=tmp_path)
    files = list(tmp_path.glob("walk-*.npz"))
    assert len(files) == 1
    assert len(built.source_sha256) == 64
    loaded = WalkNetwork.from_osm(osm_fixture, cache_dir=tmp_path)
    np.testing.assert_array_equal(loaded.edge_u, built.edge_u)
    np.testing.assert_array_equal(loaded.edge_length_m, built.edge_length_m)
    np.testing.assert_array_equal(loaded.edge_name, built.edge_name)
    assert loaded.dropped == built.dropped
    # another file content -> another cache key
    other = tmp_path / "other.osm"
    other.write_text(osm_fixture.read_text().replace("Test Road", "Other Road"))
    WalkNetwork.from_osm(other, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("walk-*.npz"))) == 2


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"nope\.osm"):
        WalkNetwork.from_osm(tmp_path / "nope.osm", cache_dir=tmp_path)


@pytest.fixture(scope="module")
def reference_graph() -> nx.Graph:
    """The bundled OSM filtered by the same rule, built independently with networkx."""
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = [*saved, "foot", "access", "sidewalk"]
    try:
        g = ox.graph_from_xml(
            datasets.osm_path(), bidirectional=True, simplify=False, retain_all=True
        )
    finally:
        ox.settings.useful_tags_way = saved
    tr = Transformer.from_crs(4326, 27700, always_xy=True)
    xy = {n: tr.transform(d["x"], d["y"]) for n, d in g.nodes(data=True)}
    ref = nx.Graph()
    for u, v, d in g.edges(data=True):
        if u == v or pedestrian_reason(d) is not None:
            continue
        length = float(np.hypot(xy[u][0] - xy[v][0], xy[u][1] - xy[v][1]))
        if not ref.has_edge(u, v) or ref[u][v]["length"] > length:
            ref.add_edge(u, v, length=length)
    return ref


def test_distances_equal_networkx(bundled_net: WalkNetwork, reference_graph: nx.Graph) -> None:
    """1,000 random node pairs: routes_to (from node positions) equals networkx Dijkstra."""
    rng = np.random.default_rng(20261128)
    net = bundled_net
    xy = np.column_stack([net.node_x, net.node_y])
    targets = rng.choice(net.n_nodes, 20, replace=False)
    compared = 0
    for t in targets:
        origins = rng.choice(net.n_nodes, 50, replace=False)
        routes = net.routes_to(tuple(xy[t]), xy[origins], max_m=np.inf, geometry=False)
        ref = nx.single_source_dijkstra_path_length(
            reference_graph, int(net.node_osmid[t]), weight="length"
        )
        expected = np.array([ref[int(net.node_osmid[o])] for o in origins])
        np.testing.assert_allclose(routes.distance_m, expected, rtol=0, atol=0.01)
        compared += len(origins)
    assert compared == 1000


def test_routes_geometry_and_unroutable(bundled_net: WalkNetwork) -> None:
    net = bundled_net
    school = datasets.schools(demo_only=True).set_index("urn").loc["137531"].geometry
    target = (school.x, school.y)
    origins = np.array(
        [
            [net.node_x[10], net.node_y[10]],
            [school.x + 300.0, school.y - 200.0],
            [400000.0, 100000.0],  # far outside the network
            [np.nan, np.nan],
        ]
    )
    routes = net.routes_to(target, origins, max_m=20_000)
    assert list(routes.reason[2:]) == ["origin_off_network", "not_finite"]
    assert routes.geometry[2] is None and np.isnan(routes.distance_m[2])
    for i in (0, 1):
        line = routes.geometry[i]
        assert line.coords[0] == pytest.approx(tuple(origins[i]))
        assert line.coords[-1] == pytest.approx(target)
        assert line.length == pytest.approx(routes.distance_m[i], abs=1e-6)
        # a walk is never shorter than the straight line
        assert routes.distance_m[i] >= np.hypot(*(origins[i] - np.array(target)))
    # a tight limit makes the far origin unroutable, with its reason
    near = net.routes_to(target, origins[:2], max_m=1.0)
    assert set(near.reason) == {"beyond_max_distance"}


def test_target_off_network_raises(bundled_net: WalkNetwork) -> None:
    with pytest.raises(RoutingError, match="nearest walkable way"):
        bundled_net.routes_to((400000.0, 100000.0), np.zeros((1, 2)))


def test_distances_for_transit_match_routes(bundled_net: WalkNetwork) -> None:
    net = bundled_net
    rng = np.random.default_rng(1)
    pts = np.column_stack([net.node_x, net.node_y])[rng.choice(net.n_nodes, 30, replace=False)]
    src = (float(pts[0, 0]) + 7.0, float(pts[0, 1]) - 3.0)
    d = net.distances(src, pts[1:], max_m=np.inf)
    r = net.routes_to(src, pts[1:], max_m=np.inf, geometry=False)
    np.testing.assert_allclose(d, r.distance_m, atol=1e-6)
    m = net.distance_matrix(pts[:3], pts[:3], max_m=np.inf)
    np.testing.assert_allclose(np.diag(m), 0.0, atol=1e-6)
    np.testing.assert_allclose(m, m.T, atol=1e-6)


def test_target_snap_limit_is_separate(bundled_net: WalkNetwork) -> None:
    net = bundled_net
    east = int(np.argmax(net.node_x))
    node = (float(net.node_x[east]), float(net.node_y[east]))
    # 350 m east of the easternmost node: exactly 350 m from the network
    probe = (node[0] + 350.0, node[1])
    assert net.snap([probe]).dist[0] == pytest.approx(350.0)
    # a target 250-500 m away is routed (a school's site centre), an origin is not
    r = net.routes_to(probe, np.array([node, probe]))
    assert r.target_snap_m == pytest.approx(350.0)
    assert list(r.reason) == [None, "origin_off_network"]
    assert r.distance_m[0] == pytest.approx(350.0)
    with pytest.raises(RoutingError):
        net.routes_to(probe, np.array([node]), max_target_snap_m=200.0)


def test_fallback_walk_off_network(bundled_net: WalkNetwork) -> None:
    from geosafe.network.journeys import FallbackWalk

    fw = FallbackWalk(bundled_net)
    far = (400000.0, 100000.0)
    pts = np.array([[400300.0, 100400.0], [409000.0, 100000.0]])
    d = fw.distances(far, pts, max_m=5000.0)
    assert d[0] == pytest.approx(500.0 * 1.3) and d[1] == np.inf
    on = (float(bundled_net.node_x[5]), float(bundled_net.node_y[5]))
    np.testing.assert_allclose(
        fw.distances(on, pts[:1] * 0 + on), bundled_net.distances(on, pts[:1] * 0 + on)
    )

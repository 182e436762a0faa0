"""Many-to-many walking distances (geosafe.network.many) against networkx and routes_to."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from geosafe import datasets
from geosafe.network.many import WalkMatrix
from geosafe.network.walk import WalkNetwork


def _nx_graph(net: WalkNetwork) -> nx.Graph:
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length_m.tolist(), strict=True)
    )
    return g


@pytest.fixture(scope="module")
def matrix(bundled_net: WalkNetwork) -> WalkMatrix:
    return WalkMatrix.build(bundled_net)


def test_chains_cover_every_node(matrix: WalkMatrix, bundled_net: WalkNetwork) -> None:
    core = matrix.core_of >= 0
    assert ((matrix.node_chain >= 0) ^ core).all()
    deg = np.bincount(np.r_[bundled_net.edge_u, bundled_net.edge_v], minlength=bundled_net.n_nodes)
    assert (deg[~core] == 2).all()
    assert matrix.n_core < bundled_net.n_nodes / 2


def test_node_distances_equal_networkx(matrix: WalkMatrix, bundled_net: WalkNetwork) -> None:
    g = _nx_graph(bundled_net)
    rng = np.random.default_rng(7)
    for e in rng.integers(0, bundled_net.n_edges, 6):
        t = float(rng.random())
        a, b = int(bundled_net.edge_u[e]), int(bundled_net.edge_v[e])
        w = float(bundled_net.edge_length_m[e])
        da = nx.single_source_dijkstra_path_length(g, a)
        db = nx.single_source_dijkstra_path_length(g, b)
        nodes = rng.integers(0, bundled_net.n_nodes, 500)
        got = matrix.node_distances([(int(e), t)], [nodes])[0]
        ref = np.array([min(da[int(x)] + t * w, db[int(x)] + (1 - t) * w) for x in nodes])
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)


def test_distances_equal_routes_to(matrix: WalkMatrix, bundled_net: WalkNetwork) -> None:
    schools = datasets.schools(demo_only=True)
    targets = np.column_stack([schools.geometry.x, schools.geometry.y])
    pcs = datasets.postcodes()[["easting", "northing"]].to_numpy(float)
    near = (
        (pcs[:, 0] > bundled_net.node_x.min())
        & (pcs[:, 0] < bundled_net.node_x.max())
        & (pcs[:, 1] > bundled_net.node_y.min())
        & (pcs[:, 1] < bundled_net.node_y.max())
    )
    rng = np.random.default_rng(3)
    origins = rng.permutation(pcs[near])[:600]
    got = matrix.matrix(origins, targets, max_m=6000.0)
    for j, xy in enumerate(targets):
        try:
            ref = bundled_net.routes_to(tuple(xy), origins, max_m=6000.0, geometry=False)
        except Exception:  # a school off the network: every origin unroutable
            assert np.isnan(got[:, j]).all()
            continue
        np.testing.assert_allclose(got[:, j], ref.distance_m, rtol=0, atol=1e-5)
    assert np.isfinite(got).sum() > 1000


def test_assigned_targets_and_chain_edge_cases() -> None:
    # a ring hanging off a junction, a dead end and a direct junction-junction edge
    x = np.array([0.0, 100, 200, 200, 100, 300, 0])
    y = np.array([0.0, 0, 0, 100, 100, 0, -50])
    u = np.array([0, 1, 2, 3, 4, 2, 0])
    v = np.array([1, 2, 3, 4, 1, 5, 6])
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    net = WalkNetwork(
        node_x=x,
        node_y=y,
        node_osmid=np.arange(7),
        edge_u=u,
        edge_v=v,
        edge_length_m=length,
        edge_steps=np.zeros(7, bool),
        edge_highway=np.array(["footway"] * 7),
        edge_name=np.array([""] * 7),
    )
    m = WalkMatrix.build(net)
    g = _nx_graph(net)
    for e in range(net.n_edges):
        for t in (0.0, 0.3, 1.0):
            a, b, w = int(u[e]), int(v[e]), float(length[e])
            da = nx.single_source_dijkstra_path_length(g, a)
            db = nx.single_source_dijkstra_path_length(g, b)
            got = m.node_distances([(e, t)], [np.arange(7)])[0]
            ref = [min(da[k] + t * w, db[k] + (1 - t) * w) for k in range(7)]
            np.testing.assert_allclose(got, ref, atol=1e-9)
    origins = np.array([[50.0, 5], [250, 3], [150, 101], [5000, 5000]])
    targets = np.array([[0.0, -40], [200, 60]])
    d = m.distances_to(targets, origins, [0, 1, 0, 1])
    assert np.isnan(d[3])  # off the network
    ref = [
        net.routes_to(tuple(targets[k]), origins[[i]], geometry=False).distance_m[0]
        for i, k in enumerate([0, 1, 0])
    ]
    np.testing.assert_allclose(d[:3], ref, atol=1e-9)

"""The router kept on disk (``geosafe.network.gtfs_cache``): a loaded router answers as a
freshly built one, and any change of feed, walk network or option builds anew."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from geosafe import datasets
from geosafe.network import gtfs_cache
from geosafe.network.gtfs import read_feed
from geosafe.network.transit import RaptorRouter
from geosafe.network.walk import WalkNetwork

DATE = dt.date(2025, 3, 4)


@pytest.fixture(scope="module")
def demo_feed(data_dir: Path) -> Path:
    return datasets.gtfs_dir(data_dir)


def _queries(router: RaptorRouter, n: int = 60) -> list[tuple[str, str, int]]:
    rng = random.Random(3)
    stops = sorted(set(router.feed.stop_times["stop_id"]))
    return [(*rng.sample(stops, 2), rng.randrange(7 * 3600, 18 * 3600, 60)) for _ in range(n)]


def _legs(j) -> list[tuple]:  # type: ignore[no-untyped-def]
    if j is None:
        return []
    return [(leg.mode, leg.from_stop, leg.to_stop, leg.depart_s, leg.arrive_s) for leg in j.legs]


def test_loaded_router_answers_as_a_fresh_one(
    demo_feed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = gtfs_cache.cached_router(demo_feed, cache_dir=tmp_path, warn=False)
        saved = sorted(p.name for p in tmp_path.glob("router-*.pkl"))
        assert len(saved) == 1 and list(tmp_path.glob("gtfs-*.pkl"))
        fresh = RaptorRouter(read_feed(demo_feed, warn=False))

        # the second load must not build: fail if the router's constructor runs
        def no_build(*a: object, **k: object) -> None:
            raise AssertionError("the router was built again instead of loaded")

        monkeypatch.setattr(RaptorRouter, "__init__", no_build)
        loaded = gtfs_cache.cached_router(demo_feed, cache_dir=tmp_path, warn=False)
    assert loaded is not built
    for name in ("stop_ids", "inst_trip", "inst_offset", "_inst_last"):
        assert np.array_equal(getattr(loaded, name), getattr(fresh, name)), name
    for a, b in zip(loaded._footpaths, fresh._footpaths, strict=True):
        assert np.array_equal(a, b)
    for a, b, t in _queries(fresh):
        assert loaded.earliest_arrival_s(a, b, depart_s=t, date=DATE) == (
            fresh.earliest_arrival_s(a, b, depart_s=t, date=DATE)
        )
        assert _legs(loaded.arrive_by(a, b, arrive_s=t + 3600, date=DATE)) == _legs(
            fresh.arrive_by(a, b, arrive_s=t + 3600, date=DATE)
        )


def test_walk_network_feed_and_options_are_part_of_the_key(
    demo_feed: Path, data_dir: Path, tmp_path: Path
) -> None:
    net = WalkNetwork.from_osm(datasets.osm_path(data_dir))
    cache = tmp_path / "cache"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walked = gtfs_cache.cached_router(
            demo_feed, cache_dir=cache, walk=net, walk_path=net.path_line, warn=False
        )
        straight = gtfs_cache.cached_router(demo_feed, cache_dir=cache, warn=False)
        fewer = gtfs_cache.cached_router(demo_feed, cache_dir=cache, transfer_walk_m=0, warn=False)
        assert len(list(cache.glob("router-*.pkl"))) == 3
        # street footpaths differ from straight-line ones; no walking transfers at all with 0
        assert len(fewer._footpaths[0]) < len(straight._footpaths[0])
        assert not all(
            np.array_equal(a, b)
            for a, b in zip(walked._footpaths, straight._footpaths, strict=True)
        )
        again = gtfs_cache.cached_router(
            demo_feed, cache_dir=cache, walk=net, walk_path=net.path_line, warn=False
        )
        assert again.walk is net and again.walk_path == net.path_line
        # one changed stop time: another feed key, so a router built anew
        changed = tmp_path / "feed"
        shutil.copytree(demo_feed, changed)
        st = changed / "stop_times.txt"
        lines = st.read_text().splitlines()
        head, row = lines[0].split(","), lines[1].split(",")
        i = head.index("arrival_time")
        hh, mm, ss = (int(x) for x in row[i].split(":"))
        row[i] = f"{hh:02d}:{mm:02d}:{max(0, ss - 1):02d}" if ss else f"{hh:02d}:{mm:02d}:01"
        st.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
        gtfs_cache.cached_router(changed, cache_dir=cache, warn=False)
    assert len(list(cache.glob("router-*.pkl"))) == 4
    assert len(list(cache.glob("gtfs-*.pkl"))) == 2


def test_router_cache_dir_of_an_area_and_of_the_bundled_data(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert gtfs_cache.router_cache_dir(data_dir) == tmp_path / "elsewhere"
    (tmp_path / "area").mkdir()
    (tmp_path / "area" / "area.json").write_text("{}")
    assert gtfs_cache.router_cache_dir(tmp_path / "area") == tmp_path / "area" / "gtfs" / "cache"


def test_matrix_walk_gives_the_networks_distances_footpaths_and_journeys(
    demo_feed: Path, data_dir: Path
) -> None:
    """The router's fast walks (``MatrixWalk``) against the network's own Dijkstra
    (``WalkNetwork.distances``, itself checked against networkx in tests/journeys)."""
    from geosafe._errors import RoutingError
    from geosafe.network.many import MatrixWalk, WalkMatrix

    net = WalkNetwork.from_osm(datasets.osm_path(data_dir))
    fast = MatrixWalk(WalkMatrix.build(net))
    rng = np.random.default_rng(4)
    x0, x1 = float(net.node_x.min()), float(net.node_x.max())
    y0, y1 = float(net.node_y.min()), float(net.node_y.max())
    pts = np.column_stack([rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)])
    pts = np.vstack([pts, [[x1 + 2000.0, y1 + 2000.0]]])  # one far off the network
    checked = 0
    for a in pts[:40]:
        try:
            want = net.distances(tuple(a), pts, max_m=800.0)
        except RoutingError:
            with pytest.raises(RoutingError, match="walkable way"):
                fast.distances(tuple(a), pts, max_m=800.0)
            continue
        got = fast.distances(tuple(a), pts, max_m=800.0)
        assert np.array_equal(np.isinf(got), np.isinf(want))
        ok = np.isfinite(want)
        assert np.allclose(got[ok], want[ok], rtol=0, atol=1e-6)
        checked += 1
    assert checked >= 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = read_feed(demo_feed, warn=False)
    slow_router = RaptorRouter(feed, walk=net, walk_path=net.path_line)
    fast_router = RaptorRouter(feed, walk=fast, walk_path=net.path_line)
    for a, b in zip(slow_router._footpaths, fast_router._footpaths, strict=True):
        assert a.shape == b.shape and np.allclose(a, b, rtol=0, atol=1e-6)
    school = datasets.schools(data_dir, demo_only=True).to_crs(27700).geometry.iloc[0]
    homes = pts[40:80]
    for h in homes:
        for t in (8 * 3600 + 40 * 60, 15 * 3600):
            want_j = slow_router.arrive_by(tuple(h), (school.x, school.y), arrive_s=t, date=DATE)
            got_j = fast_router.arrive_by(tuple(h), (school.x, school.y), arrive_s=t, date=DATE)
            assert _legs(got_j) == _legs(want_j)

"""The RAPTOR router (geosafe.network.transit) on a hand-made feed with known answers and on
the three real feeds (arrive-by checked by forward searches)."""

from __future__ import annotations

import datetime as dt
import random
import warnings
from pathlib import Path

import numpy as np
import pyproj
import pytest

from geosafe.network.gtfs import read_feed
from geosafe.network.transit import Journey, RaptorRouter, TransitRouter

from .conftest import REAL_FEEDS

TUE = dt.date(2026, 3, 10)
WED = dt.date(2026, 3, 11)  # WK removed, EXTRA added by calendar_dates


def hms(text: str) -> int:
    h, m, *s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + (s[0] if s else 0)


@pytest.fixture(scope="module")
def router(hand_feed: Path) -> RaptorRouter:
    return RaptorRouter(hand_feed, transfer_walk_m=0)


def test_router_implements_the_protocol(router: RaptorRouter) -> None:
    assert isinstance(router, TransitRouter)


def test_transfer_with_minimum_transfer_time(router: RaptorRouter) -> None:
    # R1 08:00 A -> C 08:20; the 08:21 R2 is too soon (2-minute change), the 08:25 gets to D 08:35
    j = router.earliest_arrival("A", "D", depart_s=hms("07:55"), date=TUE)
    assert isinstance(j, Journey)
    assert (j.departure_s, j.arrival_s, j.transfers) == (hms("07:55"), hms("08:35"), 1)
    assert [leg.mode for leg in j.legs] == ["wait", "bus", "wait", "bus"]
    wait_a, r1, wait_c, r2 = j.legs
    assert (wait_a.depart_s, wait_a.arrive_s) == (hms("07:55"), hms("08:00"))
    assert (r1.route, r1.trip_id, r1.stops) == ("1", "r1_0800", ("A", "B", "C"))
    assert (r1.depart_s, r1.arrive_s, r1.wait_s) == (hms("08:00"), hms("08:20"), 300)
    assert (wait_c.from_stop, wait_c.depart_s, wait_c.arrive_s) == ("C", hms("08:20"), hms("08:25"))
    assert (r2.route, r2.trip_id, r2.from_stop, r2.to_stop) == ("2", "r2_0825", "C", "D")
    assert r2.wait_s == 300 and r2.arrive_s == hms("08:35")
    assert r1.geometry.geom_type == "LineString" and len(r1.geometry.coords) == 3


def test_min_transfer_time_is_configurable(hand_feed: Path) -> None:
    fast = RaptorRouter(hand_feed, transfer_walk_m=0, min_transfer_s=60)
    j = fast.earliest_arrival("A", "D", depart_s=hms("07:55"), date=TUE)
    assert j is not None and j.arrival_s == hms("08:31")  # now the 08:21 is caught


def test_transfers_txt_min_transfer_time(router: RaptorRouter) -> None:
    # C -> E takes 180 s (transfers.txt): the 08:22 R3 from E is missed, the 08:24 caught
    j = router.earliest_arrival("A", "F", depart_s=hms("07:55"), date=TUE)
    assert j is not None and j.arrival_s == hms("08:30")
    walk = next(leg for leg in j.legs if leg.mode == "walk")
    assert (walk.from_stop, walk.to_stop, walk.duration_s) == ("C", "E", 180)


def test_forbidden_transfer_and_generated_walks(write_feed) -> None:
    no_tx = write_feed(transfers=None)
    # with walking transfers: C -> E is ~69 m straight, x1.3 detour at 1.3 m/s = ~69 s
    walker = RaptorRouter(no_tx, transfer_walk_m=300)
    j = walker.earliest_arrival("A", "F", depart_s=hms("07:55"), date=TUE)
    assert j is not None and j.arrival_s == hms("08:28")
    forbidden = write_feed(transfers="from_stop_id,to_stop_id,transfer_type\nC,E,3\n")
    j = RaptorRouter(forbidden, transfer_walk_m=300).earliest_arrival(
        "A", "F", depart_s=hms("07:55"), date=TUE
    )
    assert j is None


def test_calendar_exception_day(router: RaptorRouter) -> None:
    # Wednesday 11 March: WK removed, only the EXTRA 09:00 from A runs; no R2 at all
    j = router.earliest_arrival("A", "C", depart_s=hms("07:55"), date=WED)
    assert j is not None and j.arrival_s == hms("09:20")
    # no R2 on Wednesday: the journey finishes on Thursday's first R2 (08:21 from C)
    j = router.earliest_arrival("A", "D", depart_s=hms("07:55"), date=WED)
    assert j is not None and j.arrival_s == 86400 + hms("08:31")
    # the interpolated time at B (09:10, halfway between 09:00 and 09:20)
    b = router.earliest_arrival("A", "B", depart_s=hms("07:55"), date=WED)
    assert b is not None and b.arrival_s == hms("09:10")


def test_no_journey_cases(router: RaptorRouter, hand_feed: Path) -> None:
    assert router.earliest_arrival("A", "D", depart_s=hms("23:00"), date=TUE) is None
    assert router.earliest_arrival("A", "G", depart_s=hms("07:00"), date=TUE) is None
    no_change = RaptorRouter(hand_feed, transfer_walk_m=0, max_transfers=0)
    assert no_change.earliest_arrival("A", "D", depart_s=hms("07:55"), date=TUE) is None
    assert (
        router.earliest_arrival("A", "C", depart_s=hms("07:55"), date=dt.date(2026, 3, 14)) is None
    )


def test_arrive_by_is_the_latest_departure(router: RaptorRouter) -> None:
    j = router.arrive_by("A", "D", arrive_s=hms("08:40"), date=TUE)
    assert j is not None
    assert (j.departure_s, j.arrival_s) == (hms("08:00"), hms("08:35"))
    later = router.earliest_arrival_s("A", "D", depart_s=j.departure_s + 1, date=TUE)
    assert later is not None and later > hms("08:40")
    assert router.arrive_by("A", "D", arrive_s=hms("08:34"), date=TUE) is None


def test_point_origin_walks_to_the_stop(router: RaptorRouter) -> None:
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    ax, ay = tr.transform(-0.12, 51.60)
    origin = (ax, ay - 100.0)  # 100 m south of A: 130 m walk at 1.3 m/s = 100 s
    j = router.earliest_arrival(origin, "D", depart_s=hms("07:58"), date=TUE)
    assert j is not None and j.arrival_s == hms("08:35")
    assert j.legs[0].mode == "walk" and j.legs[0].duration_s == 100
    j = router.earliest_arrival(origin, "D", depart_s=hms("07:58:30"), date=TUE)
    assert j is not None and j.arrival_s == hms("09:10")  # missed the 08:00


def test_departure_window_spread(router: RaptorRouter) -> None:
    w = router.departure_window("A", "D", start_s=hms("07:50"), end_s=hms("08:10"), date=TUE)
    deps = np.arange(hms("07:50"), hms("08:10"), 60)
    expected = np.where(deps <= hms("08:00"), hms("08:35"), hms("09:10")) - deps
    assert np.array_equal(w.durations_s, expected.astype(float))
    assert w.median_s == pytest.approx(float(np.median(expected)))
    assert w.p90_s == pytest.approx(float(np.percentile(expected, 90)))
    assert w.n_without_journey == 0


@pytest.mark.parametrize("name", REAL_FEEDS)
def test_arrive_by_on_real_feeds_checked_by_forward_search(gtfs_root: Path, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = read_feed(gtfs_root / name, warn=False)
    router = RaptorRouter(feed)
    rng = random.Random(7)
    stops = sorted(set(feed.stop_times["stop_id"]))
    first, last = feed.date_range()  # type: ignore[misc]
    used = set(feed.trips["service_id"])
    days = [first + dt.timedelta(days=i) for i in range(min(300, (last - first).days))]
    days = [d for d in days if feed.services_on(d) & used]
    checked = 0
    for _ in range(200):
        a, b = rng.sample(stops, 2)
        day = rng.choice(days)
        arrive = rng.randrange(7 * 3600, 22 * 3600)
        j = router.arrive_by(a, b, arrive_s=arrive, date=day)
        if j is None:
            continue
        checked += 1
        assert j.arrival_s <= arrive
        fwd = router.earliest_arrival_s(a, b, depart_s=j.departure_s, date=day)
        assert fwd is not None and fwd <= arrive
        later = router.earliest_arrival_s(a, b, depart_s=j.departure_s + 1, date=day)
        assert later is None or later > arrive
        # legs are contiguous in time and ride real trips
        t = j.departure_s
        for leg in j.legs:
            assert leg.depart_s >= t
            t = leg.arrive_s
        assert t == j.arrival_s
        if checked >= 40:
            break
    assert checked >= 20


class _DoubleWalk:
    """A stand-in walk network: every walk is twice the straight line."""

    def __init__(self) -> None:
        self.calls = 0

    def distances(self, from_xy, to_xy, *, max_m=np.inf):  # type: ignore[no-untyped-def]
        self.calls += 1
        to = np.asarray(to_xy, dtype=float).reshape(-1, 2)
        d = 2.0 * np.hypot(to[:, 0] - from_xy[0], to[:, 1] - from_xy[1])
        return np.where(d <= max_m, d, np.inf)


def test_walk_network_distances_are_used(hand_feed: Path) -> None:
    walk = _DoubleWalk()
    router = RaptorRouter(hand_feed, walk=walk, transfer_walk_m=0)
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    ax, ay = tr.transform(-0.12, 51.60)
    dx, dy = tr.transform(-0.12, 51.615)
    origin, dest = (ax, ay - 100.0), (dx, dy + 65.0)
    j = router.earliest_arrival(origin, dest, depart_s=hms("07:55"), date=TUE)
    assert walk.calls >= 2
    assert j is not None
    access, egress = j.legs[0], j.legs[-1]
    # 200 m and 130 m of walking at 1.3 m/s
    assert (access.mode, access.to_stop, access.duration_s) == ("walk", "A", round(200 / 1.3))
    assert (egress.mode, egress.from_stop, egress.duration_s) == ("walk", "D", 100)
    assert j.arrival_s == hms("08:35") + 100
    assert egress.geometry.coords[-1] == pytest.approx(dest)


def test_points_within_walking_distance_walk_all_the_way(router: RaptorRouter) -> None:
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    ax, ay = tr.transform(-0.12, 51.60)
    j = router.earliest_arrival((ax, ay), (ax + 300.0, ay), depart_s=hms("07:55"), date=TUE)
    assert j is not None and [leg.mode for leg in j.legs] == ["walk"]
    assert j.duration_s == 300  # 300 m x 1.3 detour at 1.3 m/s


def test_bus_leg_follows_the_feed_shape(gtfs_root: Path) -> None:
    import shapely

    router = RaptorRouter(gtfs_root / "caltrain_2017")
    j = router.earliest_arrival("70012", "70262", depart_s=hms("08:00"), date=dt.date(2017, 9, 5))
    assert j is not None
    bus = next(leg for leg in j.legs if leg.mode == "bus")
    stops_line = shapely.LineString([router.xy[router.stop_index[s]] for s in bus.stops])
    # the shape has many more vertices than the stops, starts and ends at the stops
    # (within 150 m: stops sit beside the track), and is no shorter than the stops line
    assert len(bus.geometry.coords) > 3 * len(bus.stops)
    for end, stop in ((0, bus.from_stop), (-1, bus.to_stop)):
        x, y = bus.geometry.coords[end]
        sx, sy = router.xy[router.stop_index[stop]]
        assert np.hypot(x - sx, y - sy) < 150
    assert bus.geometry.length >= stops_line.length
    assert bus.distance_m == pytest.approx(bus.geometry.length)


def test_shape_cut_matches_shapely_substring(gtfs_root: Path) -> None:
    import shapely
    import shapely.ops

    router = RaptorRouter(gtfs_root / "trimet_vermont_2018")
    trips = router.feed.trips
    st = router.feed.stop_times
    checked = 0
    for trip in trips["trip_id"].iloc[:10]:
        ids = st.loc[st["trip_id"] == trip, "stop_id"].tolist()
        line = router._shapes.line(router._shapes.shape_of[trip])
        for i, j in ((0, len(ids) - 1), (2, len(ids) // 2), (len(ids) // 3, len(ids) - 2)):
            a, b = router.stop_index[ids[i]], router.stop_index[ids[j]]
            got = router._shapes.ride(trip, (a, router.xy[a]), (b, router.xy[b]))
            d0 = line.project(shapely.Point(router.xy[a]))
            d1 = line.project(shapely.Point(router.xy[b]))
            if not d1 > d0:
                assert got is None
                continue
            ref = shapely.ops.substring(line, d0, d1)
            assert got.length == pytest.approx(ref.length, rel=1e-9)
            assert shapely.hausdorff_distance(got, ref) < 1e-6
            checked += 1
    assert checked >= 20

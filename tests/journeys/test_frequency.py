"""Riding exposure uses the route's scheduled buses per hour from the GTFS timetable."""

from __future__ import annotations

import datetime as dt
import logging
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import shapely

from geosafe.network.frequency import BusFrequency
from geosafe.network.gtfs import read_feed
from geosafe.risk.exposure import ExposureModel
from geosafe.risk.journeys import score_transit

from .test_risk import _flat, _incidents

# Route 7 (R7) leaves stop S for U. On Tuesday 10 March 2026 (service WK), in 07:30-09:30:
#   fixed trips at 07:35, 07:50, 08:05, 08:20                          -> 4
#   frequency trip f7: 08:30..09:30 every 600 s, end exclusive: 08:30, 08:40, 08:50, 09:00,
#     09:10, 09:20                                                      -> 6
#   Monday's WK trip at 31:40:00 = Tuesday 07:40                        -> 1
#   not counted: 07:25 and 09:30 (outside, end exclusive), the Saturday-only trip at 08:00,
#     the 08:10 trip that does not pick up at S, Tuesday's own 31:40 (Wednesday 07:40).
# 11 departures in 2 hours -> 5.5 buses an hour. Route 9 only runs at 06:50, 07:00, 07:10 and
# 07:45 from S.
FEED = {
    "agency": """
        agency_id,agency_name,agency_url,agency_timezone
        T,Test Buses,https://example.org,Europe/London
        """,
    "stops": """
        stop_id,stop_name,stop_lat,stop_lon
        S,Stop S,51.6000,-0.1200
        U,Stop U,51.6050,-0.1200
        """,
    "routes": """
        route_id,route_short_name,route_type
        R7,7,3
        R9,9,3
        """,
    "trips": """
        route_id,service_id,trip_id
        R7,WK,t0725
        R7,WK,t0735
        R7,WK,t0750
        R7,WK,t0805
        R7,WK,t0810np
        R7,WK,t0820
        R7,WK,t0930
        R7,SAT,t0800sat
        R7,WK,t3140
        R7,WK,f7
        R9,WK,n0650
        R9,WK,n0700
        R9,WK,n0710
        R9,WK,n0745
        """,
    "stop_times": """
        trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type
        t0725,07:25:00,07:25:00,S,1,0
        t0725,07:30:00,07:30:00,U,2,0
        t0735,07:35:00,07:35:00,S,1,0
        t0735,07:40:00,07:40:00,U,2,0
        t0750,07:50:00,07:50:00,S,1,0
        t0750,07:55:00,07:55:00,U,2,0
        t0805,08:05:00,08:05:00,S,1,0
        t0805,08:10:00,08:10:00,U,2,0
        t0810np,08:10:00,08:10:00,S,1,1
        t0810np,08:15:00,08:15:00,U,2,0
        t0820,08:20:00,08:20:00,S,1,0
        t0820,08:25:00,08:25:00,U,2,0
        t0930,09:30:00,09:30:00,S,1,0
        t0930,09:35:00,09:35:00,U,2,0
        t0800sat,08:00:00,08:00:00,S,1,0
        t0800sat,08:05:00,08:05:00,U,2,0
        t3140,31:40:00,31:40:00,S,1,0
        t3140,31:45:00,31:45:00,U,2,0
        f7,08:30:00,08:30:00,S,1,0
        f7,08:35:00,08:35:00,U,2,0
        n0650,06:50:00,06:50:00,S,1,0
        n0650,06:55:00,06:55:00,U,2,0
        n0700,07:00:00,07:00:00,S,1,0
        n0700,07:05:00,07:05:00,U,2,0
        n0710,07:10:00,07:10:00,S,1,0
        n0710,07:15:00,07:15:00,U,2,0
        n0745,07:45:00,07:45:00,S,1,0
        n0745,07:50:00,07:50:00,U,2,0
        """,
    "frequencies": """
        trip_id,start_time,end_time,headway_secs,exact_times
        f7,08:30:00,09:30:00,600,1
        """,
    "calendar": """
        service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
        WK,1,1,1,1,1,0,0,20260301,20260331
        SAT,0,0,0,0,0,1,0,20260301,20260331
        """,
}
TUESDAY = dt.date(2026, 3, 10)
MORNING = ((dt.time(7, 30), dt.time(9, 30)),)


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    d: Path = tmp_path_factory.mktemp("freq-gtfs")
    for name, text in FEED.items():
        (d / f"{name}.txt").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return read_feed(d, warn=False)


def test_frequency_counted_by_hand(feed) -> None:  # type: ignore[no-untyped-def]
    freq = BusFrequency(feed, TUESDAY, MORNING)
    assert freq.per_hour("7", "S") == pytest.approx(11 / 2.0)
    assert freq.per_hour("r7", "S") == pytest.approx(11 / 2.0)  # route_id, any case
    # both school-run windows (2 h + 3.25 h): nothing of route 7 in the afternoon
    both = ((dt.time(7, 30), dt.time(9, 30)), (dt.time(14, 45), dt.time(18, 0)))
    assert BusFrequency(feed, TUESDAY, both).per_hour("7", "S") == pytest.approx(11 / 5.25)
    # Saturday 14 March: only the Saturday trip at 08:00 (Friday's 31:40 also runs in)
    sat = BusFrequency(feed, dt.date(2026, 3, 14), MORNING)
    assert sat.per_hour("7", "S") == pytest.approx(2 / 2.0)
    # route 9: one departure (07:45) in the window
    assert freq.per_hour("9", "S", board_s=7 * 3600) == pytest.approx(1 / 2.0)


def test_boarding_outside_window_counts_the_hour_around_it(feed) -> None:  # type: ignore[no-untyped-def]
    early = ((dt.time(8, 0), dt.time(9, 0)),)
    freq = BusFrequency(feed, TUESDAY, early)
    # route 9 never leaves S in 08:00-09:00; boarding 07:00: 06:50, 07:00, 07:10 within 30 min
    assert freq.per_hour("9", "S", board_s=7 * 3600) == pytest.approx(3.0)


def test_route_missing_from_feed_falls_back_with_warning(feed, caplog) -> None:  # type: ignore[no-untyped-def]
    freq = BusFrequency(feed, TUESDAY, MORNING)
    with caplog.at_level(logging.WARNING, logger="geosafe.network.frequency"):
        assert freq.per_hour("W3", "S") == 7.5
    assert "'W3' is not in the GTFS feed" in caplog.text


def test_ride_exposure_uses_scheduled_frequency(feed) -> None:  # type: ignore[no-untyped-def]
    stretch = shapely.LineString([(530000, 192000), (531000, 192000)])
    inc = _incidents(
        [],
        geoms=[shapely.Point(530200, 192010), shapely.Point(530800, 191990)],
        route=["7", "7"],
    )
    model = ExposureModel(_flat(0.0), 100.0, inc, radius_m=50.0)
    leg = {
        "mode": "bus",
        "route": "7",
        "from_stop": "S",
        "to_stop": "U",
        "depart_s": 8 * 3600 + 5 * 60,
        "arrive_s": 8 * 3600 + 10 * 60,
        "geometry": stretch,
    }
    journey = SimpleNamespace(legs=[leg])
    freq = BusFrequency(feed, TUESDAY, MORNING)
    ex, legs, _, _ = score_transit(journey, model, None, freq)
    # 2 incidents on route 7 over 100 h of window, 5.5 buses an hour, per 1,000 journeys
    assert ex == pytest.approx(2 / (100.0 * 5.5) * 1000.0)
    assert legs[0]["buses_per_hour"] == 5.5
    # without the timetable the documented 7.5 an hour
    ex_default, legs_default, _, _ = score_transit(journey, model, None, None)
    assert ex_default == pytest.approx(2 / (100.0 * 7.5) * 1000.0)
    assert "buses_per_hour" not in legs_default[0]

"""Waiting at a stop beside a safe place counts as passing it (issue 13 leftover).

A hand-made journey: a 500 m walk east from (0, 0) leaving 08:00, a bus to (2000, 0)
arriving 08:20, a wait there until 08:32 for the second bus (a change at the same stop), and
the second bus on to (4000, 0). The places and times are worked by hand below."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import shapely

from geosafe.protect.safe_places import journey_safe_places, passes

from .test_safe_places import _places

T0 = 8 * 3600
TUESDAY = dt.date(2025, 2, 11)


def _journey() -> SimpleNamespace:
    legs = [
        ({"mode": "walk", "depart_s": T0, "arrive_s": T0 + 385}, [(0, 0), (500, 0)]),
        ({"mode": "bus", "depart_s": T0 + 600, "arrive_s": T0 + 1200}, [(500, 0), (2000, 0)]),
        ({"mode": "wait", "depart_s": T0 + 1200, "arrive_s": T0 + 1920}, None),
        ({"mode": "bus", "depart_s": T0 + 1920, "arrive_s": T0 + 2400}, [(2000, 0), (4000, 0)]),
    ]
    geoms = [shapely.LineString(c) if c else shapely.Point(2000, 0) for _, c in legs]
    return SimpleNamespace(
        origin_id="home",
        count=3,
        error=None,
        mode="bus",
        geometry=None,
        depart_s=T0,
        arrive_s=T0 + 2400,
        legs=[leg for leg, _ in legs],
        leg_geometries=geoms,
    )


PLACES = _places(
    # 36 m from the change stop, opens at 08:30: open by the end of the wait (08:32)
    ("haven", 2020, 30, "Mo-Fr 08:30-17:00"),
    # 41 m from the stop, opens at 09:00: closed for the whole wait
    ("shut", 1990, -40, "Mo-Fr 09:00-17:00"),
    # 45 m from the stop, hours unknown
    ("unknown", 2000, 45, None),
    # 60 m from the stop: too far
    ("too far", 2000, 60, "24/7"),
    # beside the first bus's line: aboard, not passed
    ("on the bus", 1000, 10, "24/7"),
    # on the walk, at x=250: 08:03:12.5
    ("on the walk", 250, 20, "Mo-Fr 08:00-09:00"),
)


def test_waiting_at_a_stop_counts_as_passing() -> None:
    got = passes([_journey()], PLACES, day=TUESDAY).set_index("place_id")
    assert set(got.index) == {"haven", "shut", "unknown", "on the walk"}
    assert got.loc["haven", "open"] is True
    assert got.loc["haven", "time_s"] == pytest.approx(T0 + 1920)  # 08:32, when it is open
    assert got.loc["shut", "open"] is False
    assert got.loc["shut", "time_s"] == pytest.approx(T0 + 1200)  # 08:20, the wait begins
    assert got.loc["unknown", "open"] is None
    assert got.loc["on the walk", "time_s"] == pytest.approx(T0 + 192.5)
    assert (got["pupils"] == 3).all()
    report = journey_safe_places(_journey(), PLACES, day=TUESDAY)
    assert report["passes_safe_places"] == 2  # the haven and the place on the walk
    assert [(i["name"], i["at"], i["open"]) for i in report["safe_places"]] == [
        ("on the walk", "08:03", True),
        ("shut", "08:20", False),
        ("unknown", "08:20", None),
        ("haven", "08:32", True),
    ]


def test_a_short_wait_before_the_place_opens_is_closed() -> None:
    # the same journey on a Saturday: every weekday place is closed, the wait included
    sat = passes([_journey()], PLACES, day=dt.date(2025, 2, 15)).set_index("place_id")
    assert sat.loc["haven", "open"] is False and sat.loc["haven", "time_s"] == T0 + 1200

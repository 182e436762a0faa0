"""Bus-route profiling on hand-made routes and incidents (rates worked out by hand)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geosafe.geocode.routes import RouteIndex
from geosafe.risk.bus_routes import RouteRun, profile_routes
from geosafe.risk.place_lookup import route_incidents

LINE = shapely.LineString([(530000, 190000), (531000, 190000), (532000, 190000)])  # 2 km


def _runs() -> list[RouteRun]:
    return [
        RouteRun("X1", 1, LINE),
        RouteRun("X1", 2, shapely.reverse(LINE)),
        RouteRun("Y", 1, shapely.LineString([(530000, 191000), (531000, 191000)])),  # 1 km
    ]


def _on_route() -> pd.DataFrame:
    rows = [("X1", 1)] * 6 + [("X1", 2)] * 2 + [("X1", "unknown")] + [("Y", 1)] * 5
    return pd.DataFrame(
        {"route": [r for r, _ in rows], "direction": [d for _, d in rows], "weight": 1.0}
    )


def test_rate_per_km_per_hour_and_rank() -> None:
    got = profile_routes(_runs(), _on_route(), window_hours=100.0, riders={("X1", 1): ["102053"]})
    by = {(r["route"], r["direction"]): r for r in got}
    assert by[("X1", 1)]["per_km_per_hour"] == pytest.approx(6 / 2 / 100)
    assert by[("X1", 2)]["per_km_per_hour"] == pytest.approx(2 / 2 / 100)
    assert by[("Y", 1)]["per_km_per_hour"] == pytest.approx(5 / 1 / 100)
    assert [(r["route"], r["direction"]) for r in got] == [("Y", 1), ("X1", 1), ("X1", 2)]
    assert [r["rank"] for r in got] == [1, 2, 3]
    assert by[("X1", 1)]["schools"] == ["102053"] and by[("Y", 1)]["schools"] == []
    assert by[("X1", 1)]["length_km"] == pytest.approx(2.0)


def test_located_incidents_within_the_buffer() -> None:
    pts = gpd.GeoDataFrame(
        {"weight": [1.0, 1.0, 1.0, 1.0]},
        geometry=shapely.points(
            [(530500, 190040), (531500, 189960), (531000, 190000), (531000, 190200)]
        ),
        crs="EPSG:27700",
    )
    got = profile_routes(_runs(), _on_route(), window_hours=100.0, located=pts, buffer_m=50.0)
    by = {(r["route"], r["direction"]): r for r in got}
    assert by[("X1", 1)]["nearby"] == 3 and by[("X1", 2)]["nearby"] == 3  # no direction
    assert by[("X1", 1)]["per_km_per_hour"] == pytest.approx((6 + 3) / 2 / 100)
    assert by[("Y", 1)]["nearby"] == 0


def test_window_hours_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window_hours"):
        profile_routes(_runs(), _on_route(), window_hours=0.0)


def test_direction_from_the_stop_sequence() -> None:
    idx = RouteIndex.load()
    route = next(r for r in idx.routes if (r, 1) in idx.runs and (r, 2) in idx.runs)
    s1 = set(idx.stops_of(route, 1)["Naptan_Atco"].str.upper())
    s2 = set(idx.stops_of(route, 2)["Naptan_Atco"].str.upper())
    only1 = sorted(s1 - s2)[0]
    only2 = sorted(s2 - s1)[0]
    t = pd.Timestamp("2025-03-04 08:15", tz="Europe/London")
    inc = gpd.GeoDataFrame(
        {
            "source": ["dir", "asif", "dir", "cris"],
            "route": [route, route, "NOT-A-ROUTE", route],
            "stop_code": [only1, only2, only1, only1],
            "occurred_from": [t] * 4,
            "time_precision": ["minute", "day", "minute", "minute"],
            "weight": 1.0,
        },
        geometry=[None] * 4,
        crs="EPSG:27700",
    )
    got = route_incidents(inc, route)
    assert list(got["direction"]) == [1, 2]  # the other route and the CRIS row are left out
    assert got["hour"].iloc[0] == 8 and pd.isna(got["hour"].iloc[1])

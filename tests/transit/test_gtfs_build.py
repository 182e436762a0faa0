"""The estimated demo-area feed (geosafe.network.gtfs_build) against the TfL sequences."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from geosafe import datasets
from geosafe.network.gtfs import read_feed
from geosafe.network.gtfs_build import build_demo_feed


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_feed(tmp_path_factory.mktemp("demo") / "feed")


def test_built_feed_is_clean_and_labelled_estimated(built: Path) -> None:
    feed = read_feed(built)
    assert feed.report.issues == ()
    assert feed.is_estimated
    assert "ESTIMATED" in (built / "README.md").read_text()
    assert feed.routes["route_desc"].str.contains("ESTIMATED").all()


def test_routes_follow_the_tfl_stop_sequences(built: Path) -> None:
    feed = read_feed(built)
    seq = datasets.bus_sequences()
    seq = seq[(seq["Virtual_Bus_Stop"] != "1") & ~seq["Route"].str.startswith("UL")]
    assert set(feed.routes["route_id"]) == set(seq["Route"])
    st = feed.stop_times.merge(feed.trips[["trip_id", "route_id", "direction_id"]], on="trip_id")
    for (route, run), grp in seq.groupby(["Route", "Run"]):
        expected = [
            s or f"LBSL:{c}"
            for s, c in zip(
                grp.sort_values("Sequence")["Naptan_Atco"],
                grp.sort_values("Sequence")["Stop_Code_LBSL"],
                strict=True,
            )
        ]
        trip = st[(st["route_id"] == route) & (st["direction_id"] == str(int(run) - 1))]
        one = trip[trip["trip_id"] == trip["trip_id"].iloc[0]].sort_values("stop_sequence")
        assert one["stop_id"].tolist() == expected, (route, run)


def test_bank_holiday_runs_the_sunday_service(built: Path) -> None:
    feed = read_feed(built)
    assert feed.services_on(dt.date(2025, 12, 25)) == {"SUNDAY"}  # Christmas, a Thursday
    assert feed.services_on(dt.date(2026, 3, 10)) >= {"WEEKDAY"}
    assert "SCHOOL" not in feed.services_on(dt.date(2026, 8, 4))  # summer holidays


def test_committed_feed_matches_a_fresh_build(built: Path) -> None:
    committed = datasets.gtfs_dir()
    for name in ("stops", "routes", "trips", "stop_times", "frequencies", "calendar_dates"):
        assert (committed / f"{name}.txt").read_bytes() == (built / f"{name}.txt").read_bytes()

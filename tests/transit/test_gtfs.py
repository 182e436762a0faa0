"""GTFS reading and validation (geosafe.network.gtfs)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from geosafe._errors import GtfsError
from geosafe.network.gtfs import GtfsWarning, expand_frequencies, parse_gtfs_time, read_feed


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_parse_gtfs_time_handles_after_midnight_and_blanks() -> None:
    out = parse_gtfs_time(["00:00:00", "08:05:30", "25:10:00", "", "8:61:00"])
    assert out[:3].tolist() == [0.0, 8 * 3600 + 5 * 60 + 30, 25 * 3600 + 600]
    assert np.isnan(out[3]) and np.isnan(out[4])


def test_route_403_missing_stop_is_reported_and_dropped(gtfs_root: Path) -> None:
    path = gtfs_root / "london_route_403"
    raw = _rows(path / "stop_times.txt")
    missing = [r for r in raw if r["stop_id"] == "490006706C13"]
    assert missing, "the shared feed should still have its defect"
    with pytest.warns(GtfsWarning, match="490006706C13"):
        feed = read_feed(path)
    report = feed.report
    assert report.ok
    assert report.rows_read["stop_times"] == len(raw)
    assert report.rows_dropped["stop_times"] == len(missing)
    issue = next(i for i in report.issues if i.code == "unknown_stop")
    assert issue.count == len(missing) and "490006706C13" in issue.examples
    assert len(feed.stop_times) == len(raw) - len(missing)
    # the trips carry on without the stop
    assert set(feed.trips["trip_id"]) == {r["trip_id"] for r in _rows(path / "trips.txt")}


def test_route_403_frequencies_expand_on_the_headway_grid(gtfs_root: Path) -> None:
    path = gtfs_root / "london_route_403"
    with pytest.warns(GtfsWarning):
        feed = read_feed(path)
    expected = 0
    for r in _rows(path / "frequencies.txt"):
        start, end = (
            int(t[:2]) * 3600 + int(t[3:5]) * 60 for t in (r["start_time"], r["end_time"])
        )
        expected += len(range(start, end, int(r["headway_secs"])))
    gen = expand_frequencies(feed)
    assert len(gen) == expected
    first = gen.groupby("trip_id")["start_s"].min()
    for r in _rows(path / "frequencies.txt"):
        assert (
            first[r["trip_id"]] == int(r["start_time"][:2]) * 3600 + int(r["start_time"][3:5]) * 60
        )


def test_caltrain_calendar_exceptions(gtfs_root: Path) -> None:
    path = gtfs_root / "caltrain_2017"
    feed = read_feed(path)
    for r in _rows(path / "calendar_dates.txt")[:200]:
        day = dt.datetime.strptime(r["date"], "%Y%m%d").date()
        on = feed.services_on(day)
        assert (r["service_id"] in on) == (r["exception_type"] == "1"), r


def test_calendar_weekdays_and_ranges(hand_feed: Path) -> None:
    feed = read_feed(hand_feed)
    assert feed.services_on(dt.date(2026, 3, 10)) == {"WK"}  # Tuesday
    assert feed.services_on(dt.date(2026, 3, 11)) == {"EXTRA"}  # WK removed, EXTRA added
    assert feed.services_on(dt.date(2026, 3, 14)) == set()  # Saturday
    assert feed.services_on(dt.date(2026, 4, 1)) == set()  # after end_date
    assert feed.date_range() == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_missing_intermediate_times_are_interpolated(hand_feed: Path) -> None:
    st = read_feed(hand_feed).stop_times
    row = st[(st["trip_id"] == "r1_0900x") & (st["stop_id"] == "B")].iloc[0]
    assert row["arrival_s"] == row["departure_s"] == 9 * 3600 + 10 * 60


def test_missing_file_and_column_raise(write_feed) -> None:
    with pytest.raises(GtfsError, match=r"no stops\.txt"):
        read_feed(write_feed(stops=None))
    with pytest.raises(GtfsError, match=r"stop_id"):
        read_feed(write_feed(stops="name,stop_lat,stop_lon\nA,51.6,-0.12\n"))
    with pytest.raises(GtfsError, match="calendar"):
        read_feed(write_feed(calendar=None, calendar_dates=None))
    with pytest.raises(GtfsError, match="neither a directory"):
        read_feed("/nonexistent/feed.txt")


def test_broken_rows_are_dropped_and_counted(write_feed) -> None:
    bad_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "r1_0800,08:00:00,08:00:00,A,1\n"
        "r1_0800,08:10:00,08:10:00,B,2\n"
        "r1_0800,08:20:00,08:20:00,C,3\n"
        "ghost,08:00:00,08:00:00,A,1\n"  # unknown trip
        "r2_0825,08:25:00,08:25:00,C,1\n"
        "r2_0825,8h35,8h35,D,2\n"  # unparseable time
        "r2_0840,08:40:00,08:40:00,C,1\n"
        "r2_0840,08:30:00,08:30:00,D,2\n"  # goes backwards
    )
    with pytest.warns(GtfsWarning) as caught:
        feed = read_feed(write_feed(stop_times=bad_times))
    codes = {i.code for i in feed.report.issues}
    assert {"unknown_trip", "bad_time", "time_travel", "single_stop_trip"} <= codes
    assert len(caught) == len(feed.report.warnings)
    assert set(feed.stop_times["trip_id"]) == {"r1_0800"}
    assert feed.report.rows_dropped["stop_times"] == 5


def test_zip_feed_reads_like_the_directory(hand_feed: Path, tmp_path: Path) -> None:
    import zipfile

    z = tmp_path / "feed.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in hand_feed.glob("*.txt"):
            zf.write(f, f"inner/{f.name}")
    a, b = read_feed(hand_feed), read_feed(z)
    assert a.stop_times[["trip_id", "stop_id", "arrival_s"]].equals(
        b.stop_times[["trip_id", "stop_id", "arrival_s"]]
    )


def test_cache_is_keyed_by_the_feed_files(write_feed, tmp_path: Path) -> None:
    feed_dir = write_feed()
    cache = tmp_path / "cache"
    first = read_feed(feed_dir, cache_dir=cache)
    files = list(cache.glob("gtfs-*.pkl"))
    assert len(files) == 1
    again = read_feed(feed_dir, cache_dir=cache)
    assert again.stop_times.equals(first.stop_times)
    assert again.services_on(dt.date(2026, 3, 11)) == {"EXTRA"}
    # an edited file is a new key, and the edit is seen
    (feed_dir / "calendar_dates.txt").write_text("service_id,date,exception_type\n")
    with pytest.warns(GtfsWarning) as caught:  # the EXTRA trip lost its only service
        edited = read_feed(feed_dir, cache_dir=cache)
    assert any("EXTRA" in str(w.message) for w in caught)
    assert len(list(cache.glob("gtfs-*.pkl"))) == 2
    assert edited.services_on(dt.date(2026, 3, 11)) == {"WK"}


def test_cached_feed_still_warns(gtfs_root: Path, tmp_path: Path) -> None:
    path = gtfs_root / "london_route_403"
    with pytest.warns(GtfsWarning):
        read_feed(path, cache_dir=tmp_path)
    with pytest.warns(GtfsWarning, match="490006706C13"):
        feed = read_feed(path, cache_dir=tmp_path)
    assert feed.report.rows_dropped["stop_times"] > 0

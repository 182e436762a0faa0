"""Fixtures for the transit tests: the real feeds and a hand-made feed with known answers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REAL_FEEDS = ("caltrain_2017", "trimet_vermont_2018", "london_route_403")


@pytest.fixture(scope="session")
def gtfs_root(shared_data: Path) -> Path:
    return shared_data / "gtfs"


def _write(d: Path, files: dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / f"{name}.txt").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return d


HAND_MADE = {
    "agency": """
        agency_id,agency_name,agency_url,agency_timezone
        T,Test Buses,https://example.org,Europe/London
        """,
    # A-B-C on route R1; C-D on R2; E is 70 m from C (transfers.txt: 180 s); E-F on R3;
    # G is a stop nobody serves. Coordinates around Bounds Green.
    "stops": """
        stop_id,stop_name,stop_lat,stop_lon
        A,Stop A,51.6000,-0.1200
        B,Stop B,51.6050,-0.1200
        C,Stop C,51.6100,-0.1200
        D,Stop D,51.6150,-0.1200
        E,Stop E,51.6100,-0.1190
        F,Stop F,51.6100,-0.1100
        G,Stop G,51.6300,-0.1500
        """,
    "routes": """
        route_id,route_short_name,route_type
        R1,1,3
        R2,2,3
        R3,3,3
        """,
    "trips": """
        route_id,service_id,trip_id
        R1,WK,r1_0800
        R1,WK,r1_0830
        R1,EXTRA,r1_0900x
        R2,WK,r2_0821
        R2,WK,r2_0825
        R2,WK,r2_0840
        R2,WK,r2_0900
        R2,WK,r2_0930
        R3,WK,r3_0822
        R3,WK,r3_0824
        """,
    "stop_times": """
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        r1_0800,08:00:00,08:00:00,A,1
        r1_0800,08:10:00,08:10:00,B,2
        r1_0800,08:20:00,08:20:00,C,3
        r1_0830,08:30:00,08:30:00,A,1
        r1_0830,08:40:00,08:40:00,B,2
        r1_0830,08:50:00,08:50:00,C,3
        r1_0900x,09:00:00,09:00:00,A,1
        r1_0900x,,,B,2
        r1_0900x,09:20:00,09:20:00,C,3
        r2_0821,08:21:00,08:21:00,C,1
        r2_0821,08:31:00,08:31:00,D,2
        r2_0825,08:25:00,08:25:00,C,1
        r2_0825,08:35:00,08:35:00,D,2
        r2_0840,08:40:00,08:40:00,C,1
        r2_0840,08:50:00,08:50:00,D,2
        r2_0900,09:00:00,09:00:00,C,1
        r2_0900,09:10:00,09:10:00,D,2
        r2_0930,09:30:00,09:30:00,C,1
        r2_0930,09:40:00,09:40:00,D,2
        r3_0822,08:22:00,08:22:00,E,1
        r3_0822,08:28:00,08:28:00,F,2
        r3_0824,08:24:00,08:24:00,E,1
        r3_0824,08:30:00,08:30:00,F,2
        """,
    # WK runs Monday-Friday in March 2026 except Wednesday 11 March (removed); EXTRA runs
    # only on 11 March.
    "calendar": """
        service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
        WK,1,1,1,1,1,0,0,20260301,20260331
        """,
    "calendar_dates": """
        service_id,date,exception_type
        WK,20260311,2
        EXTRA,20260311,1
        """,
    "transfers": """
        from_stop_id,to_stop_id,transfer_type,min_transfer_time
        C,E,2,180
        """,
}


@pytest.fixture(scope="session")
def hand_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made feed (see ``HAND_MADE``)."""
    return _write(tmp_path_factory.mktemp("gtfs") / "hand", HAND_MADE)


@pytest.fixture()
def write_feed(tmp_path: Path):
    """Write a variant of the hand-made feed: ``write_feed(**{file: text or None})``."""

    count = iter(range(1000))

    def make(**changes: str | None) -> Path:
        files = {k: v for k, v in {**HAND_MADE, **changes}.items() if v is not None}
        return _write(tmp_path / f"feed{next(count)}", files)

    return make


@pytest.fixture(autouse=True)
def _cache_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the CLI's GTFS cache out of the working directory."""
    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))

"""The analyst's CSV download gives each time's Europe/London clock time beside it (helper
`polish`, eighth wave). Seen by `walk`: `2024-09-04T06:38:00+0000` for an incident at 07:38
in London, correct and labelled UTC but not what a spreadsheet user reads.

Hand-written incidents either side of both clock changes of 2024 (31 March, 27 October),
imported as a user would and downloaded through the service; the reference is the clock
time written in the file, and :mod:`zoneinfo` applied to the UTC column."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api import create_app
from geosafe.ingest import import_file
from geosafe.publish.catalogue import INCIDENT_SCHEMA
from geosafe.store import Store
from tests.api.conftest import make_settings, make_tokens

DATA = Path(__file__).parent / "data"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, str]]]:
    """The analyst's ``incidents.csv`` of 2024 (all day) on a store holding the two files."""
    folder = tmp_path_factory.mktemp("dst")
    db = folder / "dst.db"
    store = Store(db)
    assert import_file(store, "dir", DATA / "dir_either_side_of_dst.csv").accepted == 7
    police = import_file(store, "police_uk", DATA / "police_months_either_side_of_dst.csv")
    assert police.accepted == 3
    store.close()
    token = make_tokens(db).analyst
    with TestClient(create_app(make_settings(db, folder))) as client:
        r = client.get(
            "/downloads/incidents.csv?preset=all-day&start=2024-01-01&end=2024-12-31",
            headers={"Authorization": f"Bearer {token}", "X-Purpose": "clock time check"},
        )
    assert r.status_code == 200, r.text
    yield list(csv.DictReader(io.StringIO(r.text, newline="")))


def _by_ref(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["source_ref"] or r["id"]: r for r in rows}


def test_local_clock_time_is_the_time_written_in_the_file(rows: list[dict[str, str]]) -> None:
    with (DATA / "dir_either_side_of_dst.csv").open(newline="") as fh:
        written = {r["dir_ref"]: r["reported_at"] for r in csv.DictReader(fh)}
    got = _by_ref(rows)
    assert {ref: got[ref]["occurred_from_local"] for ref in written} == {
        ref: f"{t}:00" for ref, t in written.items()
    }
    # by hand: 07:38 on 4 September 2024 is 06:38 UTC (summer time), as `walk` saw it
    assert got["DST-04"]["occurred_from"] == "2024-09-04T06:38:00+0000"
    assert got["DST-04"]["occurred_from_local"] == "2024-09-04 07:38:00"


def test_local_columns_agree_with_zoneinfo(rows: list[dict[str, str]]) -> None:
    assert len(rows) == 10
    for r in rows:
        for col in ("occurred_from", "occurred_to"):
            if not r[col]:
                assert r[f"{col}_local"] == ""
                continue
            instant = dt.datetime.strptime(r[col], "%Y-%m-%dT%H:%M:%S%z")
            want = instant.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S")
            assert r[f"{col}_local"] == want, (r["id"], col)


def test_police_uk_months_start_at_local_midnight(rows: list[dict[str, str]]) -> None:
    """A police.uk month is its local calendar month: June's first instant is 23:00 UTC on
    31 May, which the UTC column alone shows as the wrong day."""
    months = sorted(
        (r["occurred_from_local"], r["occurred_to_local"])
        for r in rows
        if r["source"] == "police_uk"
    )
    assert months == [
        ("2024-03-01 00:00:00", "2024-04-01 00:00:00"),
        ("2024-04-01 00:00:00", "2024-05-01 00:00:00"),
        ("2024-10-01 00:00:00", "2024-11-01 00:00:00"),
    ]
    april = next(r for r in rows if r["occurred_from_local"].startswith("2024-04-01"))
    assert april["occurred_from"] == "2024-03-31T23:00:00+0000"


def test_existing_columns_keep_their_names_and_places(rows: list[dict[str, str]]) -> None:
    header = list(rows[0])
    before = ["id", *(name for name, _ in INCIDENT_SCHEMA), "wkt", "crs"]
    assert header[: len(before)] == before
    assert header[len(before) :] == ["occurred_from_local", "occurred_to_local"]

"""The analyst's default period of month-dated data is twelve whole months (helper `polish`,
eighth wave). Seen by `walk`: "2 Mar 2017 to 1 Mar 2018" for City of London data up to
March 2018 (the 365 days up to the latest record's date, the 1st of its month).

Real police.uk months (``../shared/data``) and hand-written files; the reference is the
calendar, written out by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from geosafe.ingest import import_file
from geosafe.periods import default_year
from geosafe.store import Store
from tests.api.conftest import make_settings, make_tokens

DATA = Path(__file__).parent / "data"
CITY = ("2017-12-city-of-london-street.csv", "2018-03-city-of-london-street.csv")


@pytest.mark.parametrize(
    ("latest", "whole", "want"),
    [
        # police.uk: every record on the 1st of its month
        (dt.date(2018, 3, 1), True, (dt.date(2017, 4, 1), dt.date(2018, 3, 31))),
        (dt.date(2024, 2, 1), True, (dt.date(2023, 3, 1), dt.date(2024, 2, 29))),  # leap
        (dt.date(2024, 1, 1), True, (dt.date(2023, 2, 1), dt.date(2024, 1, 31))),
        (dt.date(2024, 12, 1), True, (dt.date(2024, 1, 1), dt.date(2024, 12, 31))),
        # minute-dated data keep their 365 days
        (dt.date(2025, 7, 31), False, (dt.date(2024, 8, 1), dt.date(2025, 7, 31))),
        (dt.date(2018, 3, 1), False, (dt.date(2017, 3, 2), dt.date(2018, 3, 1))),
    ],
)
def test_default_year(latest: dt.date, whole: bool, want: tuple[dt.date, dt.date]) -> None:
    assert default_year(latest, whole_months=whole) == want


def _serve(folder: Path, files: list[tuple[str, Path]]) -> tuple[Any, str]:
    db = folder / "geosafe.db"
    store = Store(db)
    for source, path in files:
        assert import_file(store, source, path).accepted > 0
    store.close()
    return create_app(make_settings(db, folder)), make_tokens(db).analyst


def _default_view(app: Any, token: str) -> tuple[str, int]:
    """The period label of the analyst's default map and the incidents it holds."""
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "default period check"}
    with TestClient(app) as client:
        cells = client.get(
            "/ogc/collections/h3-cells/items?preset=all-day&limit=1", headers=headers
        )
        points = client.get(
            "/ogc/collections/incidents/items?preset=all-day&limit=1", headers=headers
        )
    assert cells.status_code == points.status_code == 200, cells.text + points.text
    return cells.json()["features"][0]["properties"]["period"], points.json()["numberMatched"]


@pytest.fixture(scope="module")
def city(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    folder = tmp_path_factory.mktemp("city-months")
    files = [("police_uk", shared_data / "police" / "city_of_london" / f) for f in CITY]
    yield _serve(folder, files)


def test_city_months_default_to_twelve_whole_months(city: tuple[Any, str]) -> None:
    app, token = city
    label, n = _default_view(app, token)
    assert label == "2017-04-01/2018-03-31"
    # both months lie inside: as many incidents as asking for the whole of 2017-2018
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "default period check"}
    with TestClient(app) as client:
        r = client.get(
            "/ogc/collections/incidents/items?preset=all-day&start=2017-01-01&end=2018-12-31"
            "&limit=1",
            headers=headers,
        )
    assert n == r.json()["numberMatched"] > 1200  # by hand: 1,298 rows in the two files


def test_minute_dated_latest_month_keeps_365_days(tmp_path: Path) -> None:
    app, token = _serve(tmp_path, [("dir", DATA / "dir_either_side_of_dst.csv")])
    label, _ = _default_view(app, token)
    assert label == "2023-10-30/2024-10-28"  # the latest record: 28 October 2024 08:15


def test_a_police_month_in_the_latest_month_makes_it_whole(tmp_path: Path) -> None:
    """DIR records up to 28 October 2024 and a police.uk record of October 2024: the
    month is counted whole, so the period is November 2023 to October 2024."""
    files = [
        ("dir", DATA / "dir_either_side_of_dst.csv"),
        ("police_uk", DATA / "police_months_either_side_of_dst.csv"),
    ]
    app, token = _serve(tmp_path, files)
    label, n = _default_view(app, token)
    assert label == "2023-11-01/2024-10-31"
    assert n == 7 + 3

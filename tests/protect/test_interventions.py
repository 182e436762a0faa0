"""The intervention log on SQLite and on PostgreSQL (a throwaway cluster), and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely

from geosafe._errors import NotFoundError, ValidationError
from geosafe.protect.interventions import (
    add_intervention,
    end_intervention,
    get_intervention,
    list_interventions,
    resolve_where,
)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if shutil.which("initdb") is None and not list(
        Path("/usr/lib/postgresql").glob("*/bin/initdb")
    ):
        pytest.skip("PostgreSQL is not installed (scripts/setup.sh --test installs it)")
    pytest.importorskip("psycopg")
    from geosafe.store import throwaway

    cluster = throwaway.start()
    try:
        yield cluster.create_database("interventions_test")
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "sqlite":
        return tmp_path / "geosafe.db"
    return request.getfixturevalue("postgres_url")


def test_add_list_end_round_trip(db: object) -> None:
    assert list_interventions(db) == []  # a read on a new store creates nothing
    ref, geom = resolve_where("ward", "Bounds Green")
    a = add_intervention(
        db,
        what="detached youth work",
        where_kind="ward",
        where_ref=ref,
        geometry=geom,
        started_on="2024-06-01",
        notes="Friday evenings",
    )
    ref2, geom2 = resolve_where("place", "Broomfield Park", radius_m=200)
    b = add_intervention(
        db,
        what="park patrols",
        where_kind="place",
        where_ref=ref2,
        geometry=geom2,
        started_on=dt.date(2024, 9, 1),
    )
    assert (a.id, b.id) == (1, 2)
    assert [i.id for i in list_interventions(db)] == [1, 2]
    assert [i.id for i in list_interventions(db, active_on="2024-07-01")] == [1]
    got = get_intervention(db, 1)
    # WKT kept to the centimetre: a 1 cm band along the ward outline at most
    assert got.geometry.symmetric_difference(geom).area < 0.01 * geom.length
    assert got.where_ref == "Bounds Green" and got.notes == "Friday evenings"
    ended = end_intervention(db, 2, ended_on="2025-01-31")
    assert ended.ended_on == dt.date(2025, 1, 31)
    with pytest.raises(ValidationError, match="already ended"):
        end_intervention(db, 2, ended_on="2025-02-28")
    with pytest.raises(ValidationError, match="before the intervention's start"):
        end_intervention(db, 1, ended_on="2020-01-01")
    with pytest.raises(NotFoundError, match=r"known ids: \[1, 2\]"):
        get_intervention(db, 9)


def test_where_is_checked_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not a 2018 London ward"):
        resolve_where("ward", "Atlantis")
    with pytest.raises(ValidationError, match="looks like lon/lat"):
        resolve_where("polygon", "POLYGON((0 51, 0.1 51, 0.1 51.1, 0 51))")
    with pytest.raises(ValidationError, match="`what` is empty"):
        add_intervention(
            tmp_path / "s.db",
            what=" ",
            where_kind="ward",
            where_ref="x",
            geometry=shapely.box(0, 0, 1, 1),
            started_on="2024-01-01",
        )
    with pytest.raises(ValidationError, match="before `start`"):
        add_intervention(
            tmp_path / "s.db",
            what="x",
            where_kind="ward",
            where_ref="x",
            geometry=shapely.box(0, 0, 1, 1),
            started_on="2024-01-01",
            ended_on="2023-01-01",
        )
    ref, geom = resolve_where("route", "121", direction=1)
    assert ref.startswith("route 121 direction 1") and geom.area > 0


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from geosafe.cli import main
    from geosafe.store import Store

    db = tmp_path / "geosafe.db"
    Store(db).close()
    assert (
        main(
            [
                "intervention",
                "add",
                "--db",
                str(db),
                "--what",
                "safe haven scheme",
                "--place",
                "Wood Green Station",
                "--start",
                "2024-09-01",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["id"] == 1 and doc["where_kind"] == "place" and "geometry_wkt" not in doc
    assert main(["intervention", "list", "--db", str(db), "--format", "json"]) == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == [1]
    assert main(["intervention", "end", "1", "--db", str(db), "--on", "2024-12-31"]) == 0
    assert json.loads(capsys.readouterr().out)["ended_on"] == "2024-12-31"
    # an empty store: the evaluation says why it cannot run
    assert main(["intervention", "evaluate", "1", "--db", str(db)]) == 2
    assert "no located incidents" in capsys.readouterr().err

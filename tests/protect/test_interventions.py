"""The intervention log on SQLite and on PostgreSQL (the session's PostGIS cluster), the CLI,
and an evaluation end to end through the CLI on both backends."""

from __future__ import annotations

import datetime as dt
import json
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


@pytest.fixture()
def db(store_target: str) -> str:
    """A new store of each backend (SQLite file, PostGIS database of the session cluster)."""
    return store_target


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


def test_cli_evaluation_recovers_a_drop_on_both_backends(
    store_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """police.uk-shaped rows drawn in the demo area's real wards, 40% fewer in Bounds Green
    after 15 January 2024, imported with `geosafe import`; the evaluation's interval holds
    the drop."""
    import numpy as np
    import pandas as pd
    from pyproj import Transformer

    from geosafe.cli import main

    from .test_evaluate import _incidents

    treated = resolve_where("ward", "Bounds Green")[1]
    inc = _incidents(11, treated, drop=0.6)
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
        inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
    )
    month = pd.DatetimeIndex(inc["occurred_from"]).strftime("%Y-%m")
    n = len(inc)
    csv = tmp_path / "police.csv"
    pd.DataFrame(
        {
            "Crime ID": [f"{i:064x}" for i in range(n)],
            "Month": month,
            "Reported by": "Metropolitan Police Service",
            "Falls within": "Metropolitan Police Service",
            "Longitude": np.round(lon, 6),
            "Latitude": np.round(lat, 6),
            "Location": "On or near test street",
            "LSOA code": "E01000001",
            "LSOA name": "Test 001A",
            "Crime type": "Burglary",
            "Last outcome category": "",
            "Context": "",
        }
    ).to_csv(csv, index=False)
    assert main(["import", "police-uk", str(csv), "--db", store_target]) == 0
    imported = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert imported["accepted"] == n, imported
    assert (
        main(
            [
                "intervention",
                "add",
                "--db",
                store_target,
                "--what",
                "detached youth work",
                "--ward",
                "Bounds Green",
                "--start",
                "2024-01-15",
            ]
        )
        == 0
    )
    iv = json.loads(capsys.readouterr().out)
    assert (
        main(["intervention", "evaluate", str(iv["id"]), "--db", store_target, "--format", "json"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    est = doc["estimate"]
    assert est["ci_low"] <= np.log(0.6) <= est["ci_high"] < 0
    assert doc["months"]["after"][0] == "2024-02"

"""What non-analyst requests read besides the published counts, read over the reader
connection on both backends: the safe places (public places, no notes), the interventions'
where and when (never what was done, where_ref, the notes or who recorded them) and the
period a collection document shows. On PostGIS the reader is a ``geosafe_reader`` login
(migration 0008 grants it those columns and nothing more: it is still refused incidents,
exact counts, the rows a safe-place import refused and the analyst's columns); on SQLite the
store file opened read-only."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import shapely

from geosafe.protect.interventions import add_intervention, list_interventions, list_public
from geosafe.protect.public_evaluation import published_interventions
from geosafe.protect.safe_places import import_safe_places, load_safe_places, public_safe_places
from geosafe.protect.safe_places import read_csv as read_safe_places
from geosafe.publish.catalogue import AnalysisParams
from geosafe.publish.published_counts import document_period
from geosafe.publish.service import LayerService
from geosafe.store import open_store
from geosafe.store.published_read import PublishedReader
from tests.api.conftest import _fill
from tests.store.test_published_service import NoRows, Viewer

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "protect" / "data"


def _reader_target(target: str, request: pytest.FixtureRequest) -> str:
    """The reader connection's target: the SQLite file, or a new ``geosafe_reader`` login."""
    if not target.startswith("postgresql"):
        return target
    cluster = request.getfixturevalue("pg_cluster")
    cluster.psql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ref_reader') THEN "
        "CREATE ROLE ref_reader LOGIN IN ROLE geosafe_reader; END IF; END $$"
    )
    return target.replace("postgres@", "ref_reader@", 1)


@pytest.fixture()
def filled(store_target: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A store with incidents, the bundled test list of safe places and one intervention, and
    its reader connection's target."""
    _fill(open_store(store_target))
    places, rejected = read_safe_places(DATA / "safe_places.csv")
    assert places and rejected  # the list has bad rows: they are quarantined
    import_safe_places(store_target, places, rejected, source="local", file_name="list.csv")
    add_intervention(
        store_target,
        what="detached youth work, named worker",
        where_kind="point",
        where_ref="530000,190000",
        geometry=shapely.Point(530000, 190000).buffer(200),
        started_on=dt.date(2024, 2, 1),
        notes="a name that must not leave the log",
        recorded_by="analyst A",
    )
    yield store_target, _reader_target(store_target, request)


def test_the_reader_gets_places_and_interventions_and_nothing_more(
    filled: tuple[str, str],
) -> None:
    target, reader_target = filled
    reader = PublishedReader(reader_target)
    try:
        got = public_safe_places(reader)
        want = load_safe_places(target)
        assert len(got) == len(want) > 0
        same = ["place_id", "name", "kind", "opening_hours", "source", "lon", "lat"]
        assert got[same].equals(want[same])
        assert got.geometry.geom_equals(want.geometry).all()
        assert got["file_name"].isna().all()

        (iv,) = list_public(reader)
        (full,) = list_interventions(target)
        assert (iv.id, iv.where_kind, iv.started_on, iv.ended_on) == (
            full.id,
            full.where_kind,
            full.started_on,
            full.ended_on,
        )
        assert iv.geometry.equals(full.geometry)
        assert (iv.what, iv.where_ref, iv.notes, iv.recorded_by) == ("", "", None, None)
        fc = published_interventions(reader, data_dir=ROOT / "data")
        assert [f["id"] for f in fc["features"]] == [full.id]
        assert "named worker" not in str(fc) and "must not leave" not in str(fc)

        # refused: incident rows, exact counts, pupils' postcodes, refused rows, the analyst's
        # columns and evaluations (SQLite: the file is read-only, and nothing can be written)
        if reader.pg:
            for sql in (
                "SELECT * FROM incidents LIMIT 1",
                "SELECT * FROM published_exact LIMIT 1",
                "SELECT * FROM school_rolls LIMIT 1",
                "SELECT * FROM safe_places_quarantine LIMIT 1",
                "SELECT notes FROM safe_places LIMIT 1",
                "SELECT file_name FROM safe_places LIMIT 1",
                "SELECT what FROM interventions LIMIT 1",
                "SELECT where_ref FROM interventions LIMIT 1",
                "SELECT notes FROM interventions LIMIT 1",
                "SELECT recorded_by FROM interventions LIMIT 1",
                "SELECT * FROM intervention_evaluations LIMIT 1",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    reader.query(sql)
        else:
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                reader.query("DELETE FROM safe_places")
    finally:
        reader.close()


def test_a_collection_document_shows_the_published_period(filled: tuple[str, str]) -> None:
    """The period of a non-analyst's collection document comes from the published counts
    over the reader connection (the store refuses every incident read): the twelve months
    ending with the latest published month, or the whole month asked for."""
    target, reader_target = filled
    reader = PublishedReader(reader_target)
    with open_store(target) as store:
        svc = LayerService(ROOT / "data", NoRows(store), store_path=target, reader=reader)
        try:
            school = Viewer("school", school_urn="100000")
            start, end, synthetic = document_period(svc, AnalysisParams(), school)
            # _fill's incidents are of January-March 2024
            assert (start, end) == (dt.date(2023, 4, 1), dt.date(2024, 3, 31))
            analyst = LayerService(ROOT / "data", store, store_path=target, reader=reader)
            assert synthetic is document_period(analyst, AnalysisParams(), Viewer("analyst"))[2]
            asked = AnalysisParams(start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))
            assert document_period(svc, asked, school)[:2] == (
                dt.date(2024, 2, 1),
                dt.date(2024, 2, 29),
            )
        finally:
            reader.close()


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_the_service_serves_them_to_a_school_as_geosafe_reader(
    filled: tuple[str, str], tmp_path: Path
) -> None:
    """End to end over the API, the service's non-analyst connection being a
    ``geosafe_reader`` login: the published interventions, the safe places, a collection
    document's period and the school's corridors (its referrals' published homes) all answer."""
    from fastapi.testclient import TestClient

    from api import create_app
    from api.settings import ServiceSettings
    from geosafe import datasets
    from tests.api.conftest import token_store

    target, reader_url = filled
    settings = ServiceSettings(
        db=target, reader_db=reader_url, data_dir=ROOT / "data", work_dir=tmp_path / "work"
    )
    app = create_app(settings)
    assert app.state.services.layers.published.target == reader_url
    urn = str(datasets.schools(demo_only=True).sort_values("urn")["urn"].iloc[0])
    token = token_store(target).create("school", school_urn=urn, label="s").token
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        ivs = client.get("/interventions/published", headers=auth)
        assert ivs.status_code == 200, ivs.text[:300]
        assert len(ivs.json()["features"]) == 1 and "named worker" not in ivs.text
        places = client.get("/ogc/collections/safe-places/items", headers=auth)
        assert places.status_code == 200, places.text[:300]
        assert len(places.json()["features"]) == len(load_safe_places(target))
        doc = client.get("/ogc/collections/hotspots-kde", headers=auth)
        assert doc.status_code == 200, doc.text[:300]
        interval = doc.json()["extent"]["temporal"]["interval"][0]
        assert interval[0].startswith("2023-03-31T23:00") and interval[1].startswith(
            "2024-03-31T23:00"
        )
        corridors = client.get(
            "/ogc/collections/journey-corridors/items", params={"school": urn}, headers=auth
        )
        assert corridors.status_code == 200, corridors.text[:300]
        assert corridors.json()["features"]  # 30 referrals' journeys: cells of >= 10 pupils
    app.state.services.layers.published.close()

"""The intervention log's part of a map's cache key, as each role's map draws it.

The analyst's maps draw the log (what, where, the last evaluations) read over the store's
connection; a school's or neighbourhood's draw the published view, read over the reader
connection (on PostGIS a ``geosafe_reader`` login, on SQLite the file read-only). Their cache
key must come from the same place: these tests serve the maps of both roles from a store
whose own (analyst's) connection refuses every read, and check that the key still moves with
every change the log can make (a new intervention, an end date, even one before the latest).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from api import create_app
from geosafe._errors import StoreError
from geosafe.protect.interventions import (
    add_intervention,
    end_intervention,
    log_state,
    public_log_state,
    viewer_log_state,
)
from geosafe.publish.service import LayerService
from geosafe.store import open_store
from geosafe.store.published_read import PublishedReader
from tests.api.conftest import _fill, auth, make_settings, make_tokens
from tests.store.test_published_service import NoRows
from tests.store.test_reader_reference import _reader_target

ROOT = Path(__file__).resolve().parents[2]


def _log(target: str, start: dt.date, x: float = 530000.0) -> int:
    return add_intervention(
        target,
        what="detached youth work, named worker",
        where_kind="point",
        where_ref=f"{x:.0f},190000",
        geometry=shapely.Point(x, 190000).buffer(200),
        started_on=start,
        notes="a name that must not leave the log",
    ).id


@pytest.fixture()
def stores(store_target: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A store with incidents (no intervention yet) and its reader connection's target."""
    _fill(open_store(store_target))
    yield store_target, _reader_target(store_target, request)


def test_the_public_key_is_read_over_the_reader_and_moves_with_the_log(
    stores: tuple[str, str],
) -> None:
    """``public_log_state`` over the reader login (PostGIS: the columns migration 0008
    grants are enough) and ``log_state`` over the analyst's each move with a new
    intervention and with every end date, also one before the latest end; the service's
    non-analyst key needs nothing of the store's connection."""
    target, reader_target = stores
    reader = PublishedReader(reader_target)
    try:
        seen_public = [public_log_state(reader)]
        seen_analyst = [log_state(target)]
        first = _log(target, dt.date(2024, 1, 1))
        second = _log(target, dt.date(2024, 1, 15), x=531000)
        for change in (
            lambda: None,
            lambda: end_intervention(target, second, ended_on=dt.date(2024, 3, 1)),
            # ends before the latest end: the latest end date does not move
            lambda: end_intervention(target, first, ended_on=dt.date(2024, 2, 1)),
        ):
            change()
            seen_public.append(public_log_state(reader))
            seen_analyst.append(log_state(target))
        assert len(set(seen_public)) == len(seen_public), seen_public
        assert len(set(seen_analyst)) == len(seen_analyst), seen_analyst

        with open_store(target) as store:
            svc = LayerService(ROOT / "data", NoRows(store), store_path=target, reader=reader)
            for role in ("school", "neighbourhood"):
                key = viewer_log_state(svc, SimpleNamespace(role=role))
                assert key == seen_public[-1]
            with pytest.raises(StoreError, match="neither"):  # the analyst's reads the store
                viewer_log_state(svc, SimpleNamespace(role="analyst"))
    finally:
        reader.close()


def _etag(client: TestClient, path: str, token: str) -> str:
    r = client.get(path, headers=auth(token))
    assert r.status_code == 200, r.text[:500]
    assert "named worker" not in r.text and "must not leave" not in r.text
    return str(r.headers["etag"])


def test_school_and_neighbourhood_maps_are_served_by_a_store_refusing_reads(
    stores: tuple[str, str], tmp_path: Path
) -> None:
    """The school's and the neighbourhood's maps over a store whose own connection refuses
    every read (the reader connection serves them); a new intervention and its end date
    change the school's page (on PostGIS the store's change counter does not move for the
    log: only the log's key can tell)."""
    target, reader_target = stores
    pg = target.startswith("postgresql")
    settings = make_settings(target, tmp_path, reader_db=reader_target if pg else None)
    tokens = make_tokens(target)
    school, nbh, urn = tokens.school, tokens.neighbourhood, tokens.school_urn
    with open_store(target) as store:
        app: Any = create_app(settings, store=NoRows(store))
        with TestClient(app, base_url="http://testserver") as client:
            tags = [_etag(client, "/maps/hotspots", school)]
            assert _etag(client, "/maps/hotspots", nbh)
            assert _etag(client, f"/maps/schools/{urn}", school)
            iid = _log(target, dt.date(2024, 1, 1))
            tags.append(_etag(client, "/maps/hotspots", school))
            end_intervention(target, iid, ended_on=dt.date(2024, 2, 1))
            tags.append(_etag(client, "/maps/hotspots", school))
            # the page draws the intervention with its months (the day is the analyst's)
            page = client.get("/maps/hotspots", headers=auth(school)).text
            assert "2024-01 to 2024-02" in page, "the intervention's months are not on the page"
        app.state.services.layers.published.close()
    assert len(set(tags)) == 3, tags

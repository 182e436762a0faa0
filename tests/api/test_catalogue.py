"""The catalogue as clients see it (issues 11 and 16): one geometry type per collection, a
declared schema even when empty, numbers as numbers, a reason on empty answers, and the
catalogue documents answered from a cache that follows the store."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from .conftest import Tokens, auth

PURPOSE = {"X-Purpose": "service tests"}
PERIOD = "preset=none&start=2024-01-01&end=2024-12-31"


def test_incidents_are_split_by_geometry_type(client: TestClient, tokens: Tokens) -> None:
    kinds = {}
    for cid in ("incidents", "incident-routes"):
        r = client.get(
            f"/ogc/collections/{cid}/items?{PERIOD}&limit=50",
            headers=auth(tokens.analyst, **PURPOSE),
        )
        assert r.status_code == 200
        kinds[cid] = {f["geometry"]["type"] for f in r.json()["features"]}
        doc = client.get(f"/ogc/collections/{cid}", headers=auth(tokens.analyst)).json()
        assert doc["geosafe:geometryType"] in ("Point", "LineString")
    assert kinds["incidents"] == {"Point"}
    assert kinds["incident-routes"] <= {"LineString", "MultiLineString"}


def test_schools_pupils_is_a_number(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/ogc/collections/schools/items?limit=50", headers=auth(tokens.analyst))
    pupils = [f["properties"].get("pupils") for f in r.json()["features"]]
    assert any(isinstance(p, int) for p in pupils)
    assert all(p is None or isinstance(p, int) for p in pupils)


def test_every_collection_declares_its_schema(client: TestClient, tokens: Tokens) -> None:
    for token, role in ((tokens.analyst, "analyst"), (tokens.neighbourhood, "neighbourhood")):
        docs = client.get("/ogc/collections", headers=auth(token)).json()["collections"]
        for doc in docs:
            link = next(x for x in doc["links"] if x["rel"] == "describedby")
            r = client.get(link["href"].removeprefix("http://testserver"), headers=auth(token))
            assert r.status_code == 200, (role, doc["id"])
            schema = r.json()
            props = schema["properties"]
            assert props["geometry"]["x-ogc-role"] == "primary-geometry"
            assert len(props) > 1, (role, doc["id"])
            if role != "analyst":
                assert "source_ref" not in props and "location_text" not in props
    school = client.get("/ogc/collections/schools/schema", headers=auth(tokens.analyst)).json()
    assert school["properties"]["pupils"]["type"] == "integer"


def test_an_empty_layer_says_why(client: TestClient, tokens: Tokens) -> None:
    # a period without incidents: the answer is empty and says so, with counts by reason
    url = "/ogc/collections/clusters/items?preset=none&start=2019-01-01&end=2019-01-31"
    body = client.get(url, headers=auth(tokens.analyst)).json()
    assert body["numberMatched"] == 0
    assert "period" in body["geosafe:reason"]
    assert body["geosafe:excluded"]["outside_period_or_filters"] > 0
    # a neighbourhood: the same, counts rounded like every published count
    url = "/ogc/collections/clusters/items?datetime=2019-01"
    body = client.get(url, headers=auth(tokens.neighbourhood)).json()
    assert body["numberMatched"] == 0 and body["geosafe:reason"]
    assert all(v is None or v % 5 == 0 for v in body["geosafe:excluded"].values())
    # a layer with features carries no reason
    full = client.get(f"/ogc/collections/clusters/items?{PERIOD}", headers=auth(tokens.analyst))
    assert "geosafe:reason" not in full.json()


def test_an_empty_safe_places_layer_names_the_import(client: TestClient, tokens: Tokens) -> None:
    # the test store imports no safe places: the empty layer says so, for every role
    for token in (tokens.analyst, tokens.school, tokens.neighbourhood):
        body = client.get("/ogc/collections/safe-places/items", headers=auth(token)).json()
        assert body["numberMatched"] == 0
        assert "geosafe safe-places import" in body["geosafe:reason"]


def test_collections_come_from_a_cache_that_follows_the_store(
    client: TestClient, tokens: Tokens, service_db: Path | str, monkeypatch
) -> None:
    import api.ogc as ogc

    calls = []
    real = ogc._collection_doc

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[2].id)
        return real(*args, **kwargs)

    monkeypatch.setattr(ogc, "_collection_doc", counting)
    h = auth(tokens.neighbourhood)
    first = client.get("/ogc/collections", headers=h)
    n = len(calls)
    again = client.get("/ogc/collections", headers=h)
    assert again.status_code == 200 and again.content == first.content
    assert len(calls) == n  # answered from the cache
    one = client.get("/ogc/collections/h3-cells", headers=h)
    one_again = client.get("/ogc/collections/h3-cells", headers=h)
    assert one.content == one_again.content
    # another role or another URL is another entry
    other = client.get("/ogc/collections", headers=auth(tokens.analyst))
    assert {c["id"] for c in other.json()["collections"]} > {
        c["id"] for c in first.json()["collections"]
    }
    # a change to the store invalidates the entry: a commit by another connection (another
    # worker, the command line) to the SQLite file, or PostGIS's change counter; merely
    # touching the SQLite file does not (its state is read from the database)
    import contextlib
    import os
    import sqlite3

    from geosafe.store import is_url
    from tests._stores import sql

    before = len(calls)
    if is_url(service_db):
        sql(service_db, "UPDATE store_state SET generation = generation + 1")
    else:
        st = Path(service_db).stat()
        os.utime(service_db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        client.get("/ogc/collections", headers=h)
        assert len(calls) == before
        with contextlib.closing(sqlite3.connect(service_db)) as con, con:
            con.execute("INSERT INTO quarantine (batch_id, reason_code) VALUES (-1, 'test')")
        with contextlib.closing(sqlite3.connect(service_db)) as con, con:
            con.execute("DELETE FROM quarantine WHERE batch_id = -1")
    client.get("/ogc/collections", headers=h)
    assert len(calls) > before
    assert json.loads(first.content)["collections"]


def test_hotspots_and_clusters_carry_place_names(client: TestClient, tokens: Tokens) -> None:
    for cid in ("hotspots-kde", "clusters"):
        for token in (tokens.analyst, tokens.school):
            q = f"?{PERIOD}" if token == tokens.analyst else ""
            feats = client.get(f"/ogc/collections/{cid}/items{q}", headers=auth(token)).json()[
                "features"
            ]
            for f in feats:
                name = f["properties"].get("place_name")
                assert name and not name.startswith("HS"), (cid, f["properties"])


def test_school_views_are_kept_once_for_every_school(app) -> None:  # type: ignore[no-untyped-def]
    """Memory: a school's view of a layer that does not depend on the school (all but its
    corridors) is built and cached once, not once per school token."""
    from geosafe.access.tokens import Principal

    svc = app.state.services.layers
    a = Principal("t1", "a", "school", school_urn="102053")
    b = Principal("t2", "b", "school", school_urn="137531")
    for cid in ("h3-cells", "hotspots-kde", "clusters"):
        assert svc.layer(cid, principal=a) is svc.layer(cid, principal=b), cid

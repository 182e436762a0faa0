"""The ``referral-places`` collection: places named in referrals' notes, as a layer of their
own beside the hotspots (issue 12 item 4), analyst only.

The reference is the store's ``referral_places`` table counted directly with SQL."""

from __future__ import annotations

import sqlite3

from fastapi.testclient import TestClient

PURPOSE = {"X-Purpose": "test: places named in referrals"}


def _expected(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Referrals (distinct FAP rows) naming each place, counted straight from the store."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT p.place, COUNT(DISTINCT i.source_ref) FROM referral_places p "
            "JOIN incidents i ON i.batch_id = p.batch_id AND i.row_no = p.row_no "
            "WHERE p.place IS NOT NULL AND p.x IS NOT NULL GROUP BY p.place"
        ).fetchall()
    return dict(rows)


def test_analyst_sees_every_named_place_with_its_referrals(service, demo_db) -> None:  # type: ignore[no-untyped-def]
    app, toks = service
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {toks['analyst']}"}
    doc = client.get("/ogc/collections/referral-places", headers=headers)
    assert doc.status_code == 200, doc.text
    expected = _expected(demo_db)
    assert expected, "the demo store's referrals name no place: the test would prove nothing"
    r = client.get(
        "/ogc/collections/referral-places/items?limit=1000&start=2000-01-01&end=2030-12-31",
        headers=headers,
    )
    assert r.status_code == 200, r.text
    got = {f["properties"]["place"]: f["properties"]["referrals"] for f in r.json()["features"]}
    assert got == expected
    for f in r.json()["features"]:
        assert f["geometry"]["type"] == "Point"
        p = f["properties"]
        by_note = (
            p["named_in_peer_group_notes"]
            + p["named_in_school_notes"]
            + p["named_in_neighbourhood_notes"]
        )
        assert by_note >= p["referrals"]  # a referral may name a place in two notes


def test_other_roles_cannot_read_referral_places(service) -> None:  # type: ignore[no-untyped-def]
    app, toks = service
    client = TestClient(app)
    for role in ("school", "neighbourhood"):
        headers = {"Authorization": f"Bearer {toks[role]}"}
        listed = client.get("/ogc/collections", headers=headers).json()["collections"]
        assert "referral-places" not in {c["id"] for c in listed}
        r = client.get("/ogc/collections/referral-places/items", headers=headers)
        assert r.status_code in (403, 404), (role, r.status_code)

"""``GET /places/report`` and ``GET /places/bus-routes`` by role (issue 13 items 1 and 5).

The test store's 30 FAP referrals to the first demo school come from three home postcodes
(ten each), so every walk to that school crosses the school's own cell."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pyproj import Transformer

from geosafe.network.origins import school_location

from .conftest import Tokens, auth


def _at_school(urn: str, radius: int) -> dict[str, str]:
    x, y = school_location(urn)[0]
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(x, y)
    return {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "radius": str(radius)}


def test_analyst_gets_exact_pupils(client: TestClient, tokens: Tokens) -> None:
    r = client.get(
        "/places/report", params=_at_school(tokens.school_urn, 100), headers=auth(tokens.analyst)
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    (school,) = [s for s in doc["schools"] if s["school_urn"] == tokens.school_urn]
    assert school["pupils"] == 30
    morning = next(b for b in school["by"] if b["window"] == "morning")
    assert morning["mode"] == "walk" and morning["last"] <= "08:40"


def test_school_and_neighbourhood_see_published_cells_only(
    client: TestClient, tokens: Tokens
) -> None:
    seen = {}
    for role, token in (("school", tokens.school), ("neighbourhood", tokens.neighbourhood)):
        for radius in (100, 1500):
            r = client.get(
                "/places/report", params=_at_school(tokens.school_urn, radius), headers=auth(token)
            )
            assert r.status_code == 200, r.text
            doc = r.json()
            assert doc["role"] == role and "by" not in str(doc["schools"])
            rows = doc["published"]["cell_counts"] + doc["published"]["times"]
            assert rows
            for row in rows:
                assert row["pupils"] is None or (row["pupils"] >= 10 and row["pupils"] % 5 == 0)
                if role == "school":
                    assert row["school_urn"] == tokens.school_urn
                else:
                    assert row["school_urn"] == "all"
            seen[(role, radius)] = {
                (c["window"], c["cell"]): c["pupils"] for c in doc["published"]["cell_counts"]
            }
        small, large = seen[(role, 100)], seen[(role, 1500)]
        # differencing the two circles: shared cells keep their counts, new cells are
        # published counts themselves (never a group below 10)
        assert all(large[k] == v for k, v in small.items())
        assert all(v is None or v >= 10 for k, v in large.items() if k not in small)


def test_bad_queries_and_roles(client: TestClient, tokens: Tokens) -> None:
    h = auth(tokens.analyst)
    r = client.get("/places/report", params={"lon": "-0.11"}, headers=h)
    assert r.status_code == 400 and "lat" in r.json()["detail"]
    r = client.get("/places/report", params={"hotspot": "HS99"}, headers=h)
    assert r.status_code == 404 and "HS99" in r.json()["detail"]
    r = client.get("/places/report", params={"place": "Nowhere Such Place Xyzzy"}, headers=h)
    assert r.status_code == 404
    assert client.get("/places/bus-routes", headers=auth(tokens.school)).status_code == 403
    assert (
        client.get("/places/report", params=_at_school(tokens.school_urn, 100)).status_code == 401
    )


def test_no_place_lists_what_to_ask(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/places/report", headers=auth(tokens.school))
    assert r.status_code == 200
    assert "121" in r.json()["routes"] and "usage" in r.json()

"""``POST /journeys/placement``: analyst only, needs a purpose, audited once, says it does
not recommend, and serves a candidate's printable page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Tokens, auth

BODY = {"school": ["102053", "102056"], "origins": ["N13 4QH"], "arrive_by": "08:45"}


def test_placement_over_http(client: TestClient, tokens: Tokens) -> None:
    purpose = {"X-Purpose": "panel 2025-03"}
    r = client.post("/journeys/placement", json=BODY, headers=auth(tokens.school))
    assert r.status_code in (403, 404)  # not for schools, whichever URN
    r = client.post("/journeys/placement", json=BODY, headers=auth(tokens.neighbourhood))
    assert r.status_code == 403
    r = client.post("/journeys/placement", json=BODY, headers=auth(tokens.analyst))
    assert r.status_code == 400 and "X-Purpose" in r.json()["detail"]
    r = client.post("/journeys/placement", json=BODY, headers={**auth(tokens.analyst), **purpose})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert "does not recommend one" in doc["statement"]
    assert [c["school_urn"] for c in doc["candidates"]] == ["102053", "102056"]
    for c in doc["candidates"]:
        assert c["journeys"]["walk to school"]["error"] is None
        assert c["journeys"]["walk home"]["direction"] == "from-school"
    page = client.post(
        "/journeys/placement",
        json={**BODY, "page": "102056"},
        headers={**auth(tokens.analyst), **purpose},
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Laurel Park School" in page.text and "does not recommend one" in page.text

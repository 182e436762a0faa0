"""``GET /places/bus-routes`` answers analysts with ranked routes on the first call."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Tokens, auth


def test_bus_routes_first_call(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/places/bus-routes", headers=auth(tokens.analyst))
    assert r.status_code == 200, r.text
    routes = r.json()["routes"]
    assert [x["rank"] for x in routes] == list(range(1, len(routes) + 1))

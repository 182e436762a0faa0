"""The one table from domain errors to HTTP status codes, and the JSON error body."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.errors import status_for
from geosafe import _errors as e

from .conftest import Tokens, auth


def test_status_table() -> None:
    assert status_for(e.ValidationError("x")) == 400
    assert status_for(e.NotFoundError("x")) == 404
    assert status_for(e.AccessDeniedError("x")) == 403
    assert status_for(e.AuthenticationError("x")) == 401
    assert status_for(e.LimitExceededError("x")) == 429
    assert status_for(e.RequestTooLargeError("x")) == 413
    assert status_for(e.RequestCostError("x")) == 400
    assert status_for(e.RequestTimeoutError("x")) == 408
    assert status_for(e.DisclosureError("x")) == 400
    assert status_for(e.ConfigurationError("x")) == 503

    class Deeper(e.NotFoundError):
        pass

    assert status_for(Deeper("x")) == 404  # looked up along the MRO
    assert status_for(e.GeosafeError("x")) == 500


def test_error_bodies(client: TestClient, tokens: Tokens) -> None:
    for method, url, code in (
        ("get", "/ogc/collections/nope", 404),
        ("get", "/nowhere", 404),
        ("delete", "/ogc/collections", 405),
        ("get", "/jobs/0123", 404),
    ):
        r = getattr(client, method)(url, headers=auth(tokens.analyst))
        assert r.status_code == code, (url, r.text)
        body = r.json()
        assert set(body) == {"code", "detail"} and body["code"] == code and body["detail"]
    r = client.get("/ogc/collections/nope", headers=auth(tokens.analyst))
    assert "'nope'" in r.json()["detail"] and "schools" in r.json()["detail"]  # names value and fix

"""``/interventions``: the log and its evaluation over HTTP, analysts only (issue 13 item 4).

On a copy of the test store (the log is written into the store's database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from geosafe.store import Store

from ._copies import client_on_copy
from .conftest import Tokens, auth


@pytest.fixture(scope="module")
def own(store_path: Path, tokens: Tokens, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with client_on_copy(store_path, tmp_path_factory.mktemp("interventions")) as pair:
        yield pair


def test_log_add_end_and_evaluate(own: Any, tokens: Tokens) -> None:
    client, db = own
    h = auth(tokens.analyst)
    assert client.get("/interventions", headers=h).json() == {"interventions": []}
    with Store(db) as s:
        months = pd.DatetimeIndex(s.incidents()["occurred_from"]).tz_convert(None).to_period("M")
    middle = sorted(set(months))[len(set(months)) // 2]
    body = {
        "what": "detached youth work",
        "where": {"kind": "ward", "ref": "Bounds Green"},
        "start": str(middle.start_time.date()),
        "notes": "Friday evenings",
    }
    r = client.post("/interventions", json=body, headers=h)
    assert r.status_code == 200, r.text
    iv = r.json()
    assert iv["id"] == 1 and iv["where_ref"] == "Bounds Green"
    r = client.get("/interventions/evaluation", params={"id": 1}, headers=h)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        doc = r.json()
        assert {"estimate", "displacement", "comparison", "monthly"} <= set(doc)
    else:  # too few months in the hand-made store: said, naming the months
        assert "month(s) before" in r.json()["detail"]
    r = client.get(
        "/interventions/evaluation", params={"id": 1, "compare_ward": "Atlantis"}, headers=h
    )
    assert r.status_code == 404 and "Atlantis" in r.json()["detail"]
    assert client.get("/interventions/evaluation", headers=h).json()["interventions"] == [1]
    r = client.post("/interventions/end", json={"id": 1, "on": "2030-01-01"}, headers=h)
    assert r.status_code == 200 and r.json()["ended_on"] == "2030-01-01"
    r = client.post("/interventions/end", json={"id": 7, "on": "2030-01-01"}, headers=h)
    assert r.status_code == 404


def test_other_roles_are_refused(own: Any, tokens: Tokens) -> None:
    client, _ = own
    for token in (tokens.school, tokens.neighbourhood):
        for method, url, body in (
            ("GET", "/interventions", None),
            ("GET", "/interventions/evaluation?id=1", None),
            (
                "POST",
                "/interventions",
                {"what": "x", "where": {"kind": "ward", "ref": "Bowes"}, "start": "2024-01-01"},
            ),
            ("POST", "/interventions/end", {"id": 1, "on": "2030-01-01"}),
        ):
            r = client.request(method, url, json=body, headers=auth(token))
            assert r.status_code == 403, (method, url, r.status_code)
            assert "estimate" not in r.text and "Bounds Green" not in r.text
    assert client.get("/interventions").status_code == 401

"""``/reports/profile``: the analyst version behind X-Purpose, the partners' version for the
school and neighbourhood roles, scoped, with no record-level content."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import CANARY, SCHOOLS

Q = "/reports/profile?datetime=2025-Q1"
FREE = "/reports/profile?from=2025-01-01&to=2025-03-31"


@pytest.fixture()
def client(canary_store, data_dir: Path):  # type: ignore[no-untyped-def]
    from api import create_app
    from api.settings import ServiceSettings
    from geosafe.access.tokens import create_demo_tokens

    db, raw = canary_store
    app = create_app(ServiceSettings(db=db, data_dir=data_dir, work_dir=db.parent / "work"))
    toks = create_demo_tokens(
        app.state.access.tokens, school_urn=SCHOOLS[0], area_codes=["E05000267", "E05000266"]
    )
    with TestClient(app) as c:
        yield c, toks, raw


def _h(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_analyst_needs_a_purpose(client) -> None:  # type: ignore[no-untyped-def]
    c, toks, raw = client
    assert c.get(Q, headers=_h(toks["analyst"])).status_code == 400
    r = c.get(FREE + "&format=json", headers=_h(toks["analyst"], **{"X-Purpose": "panel 2025-03"}))
    assert r.status_code == 200
    body = r.json()
    assert body["audience"] == "analyst" and body["headline"]["records"] == 60
    assert body["overlap"]["people"]["distinct"] == 25
    assert not any(x in r.text for x in raw)
    page = c.get(Q, headers=_h(toks["analyst"], **{"X-Purpose": "panel"}))
    assert page.headers["content-type"].startswith("text/html") and "analyst version" in page.text


@pytest.mark.parametrize("role", ["school", "neighbourhood"])
def test_partners_version_for_other_roles(client, role: str) -> None:  # type: ignore[no-untyped-def]
    c, toks, raw = client
    for fmt in ("html", "json"):
        r = c.get(Q + f"&format={fmt}&audience=analyst", headers=_h(toks[role]))
        assert r.status_code == 200
        assert CANARY not in r.text and not any(x in r.text for x in raw)
    body = c.get(Q + "&format=json", headers=_h(toks[role])).json()
    assert body["audience"] == "partners"
    assert "contradictions" not in body["tables"] and "network" not in body["overlap"]
    for table in body["tables"].values():
        for row in table:
            for k in ("records", "people", "referrals", "incidents"):
                v = row.get(k)
                assert v is None or (v == 0 or (v >= 10 and v % 5 == 0)), (k, v)


def test_school_sees_only_its_scope(client) -> None:  # type: ignore[no-untyped-def]
    c, toks, _ = client
    body = c.get(Q + "&format=json", headers=_h(toks["school"])).json()
    schools = {r["school_urn"] for r in body["tables"]["by_school"]}
    # its own referrals; other schools appear only through records naming the same people
    assert SCHOOLS[0] in schools
    assert body["headline"]["records"] is None or body["headline"]["records"] < 60


def test_no_token_no_profile(client) -> None:  # type: ignore[no-untyped-def]
    c, _, _ = client
    assert c.get(Q).status_code == 401


def test_other_roles_may_not_choose_free_dates(client) -> None:  # type: ignore[no-untyped-def]
    """Two free periods a day apart could be differenced: only whole published periods."""
    c, toks, _ = client
    for role in ("school", "neighbourhood"):
        assert c.get(FREE, headers=_h(toks[role])).status_code == 400
        assert (
            c.get(
                "/reports/profile?datetime=2025-02-02/2025-03-31", headers=_h(toks[role])
            ).status_code
            == 400
        )

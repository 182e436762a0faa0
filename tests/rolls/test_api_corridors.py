"""``POST /schools/{urn}/roll`` and the school's corridors built from its roll, checked
against the disclosure rules (1-9 suppressed, others multiples of 5, H3 resolution 8)."""

from __future__ import annotations

from typing import Any

import h3
from fastapi.testclient import TestClient

from geosafe import datasets
from geosafe.access.audit import AuditLog
from geosafe.publish import disclosure as privacy
from geosafe.publish import roles

from .conftest import SCHOOL_A, SCHOOL_B, Tokens, bearer

#: Hand-written roll of school B: 40 pupils at four real postcodes 670-830 m from the school.
ROLL_40 = "postcode,pupils\nN11 1AA,10\nn111ap,10\nN11 1AN,10\nN11 1AQ,10\n"
CORRIDORS = "/ogc/collections/journey-corridors/items?limit=500"


def _upload(client: TestClient, token: str, urn: str, text: str, name: str = "roll.csv") -> Any:
    files = {"file": (name, text.encode(), "text/csv")}
    return client.post(f"/schools/{urn}/roll", files=files, headers=bearer(token))


def test_who_may_upload(roll_client: TestClient, roll_tokens: Tokens) -> None:
    ok = _upload(roll_client, roll_tokens.analyst, SCHOOL_A, "postcode\nN22 7AY\nZZ99 9ZZ\n")
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert (body["school_urn"], body["pupils"], body["postcodes"], body["unknown"]) == (
        SCHOOL_A,
        1,
        1,
        1,
    )
    assert "path" not in body and "N22 7AY" not in ok.text  # counts only
    own = _upload(roll_client, roll_tokens.school_a, SCHOOL_A, "postcode\nN22 7AY\n")
    assert own.status_code == 201, own.text
    other = _upload(roll_client, roll_tokens.school_a, SCHOOL_B, "postcode\nN22 7AY\n")
    assert other.status_code == 404
    nbh = _upload(roll_client, roll_tokens.neighbourhood, SCHOOL_A, "postcode\nN22 7AY\n")
    assert nbh.status_code == 403
    anon = roll_client.post(
        f"/schools/{SCHOOL_A}/roll", files={"file": ("r.csv", b"postcode\nN22 7AY\n")}
    )
    assert anon.status_code == 401
    named = _upload(roll_client, roll_tokens.school_a, SCHOOL_A, "postcode,name\nN22 7AY,Ann\n")
    assert named.status_code == 400 and "'name'" in named.json()["detail"]
    assert _upload(roll_client, roll_tokens.analyst, "12345x", "postcode\n").status_code == 400
    missing = roll_client.post(f"/schools/{SCHOOL_A}/roll", headers=bearer(roll_tokens.analyst))
    assert missing.status_code == 400
    audit = AuditLog(roll_client.app.state.access.audit.path)  # type: ignore[attr-defined]
    rows = [e for e in audit.entries(action="import") if e.params.get("source") == "roll"]
    assert [(r.label, r.endpoint) for r in rows[-2:]] == [
        ("roll analyst", f"/schools/{SCHOOL_A}/roll"),
        ("roll school A", f"/schools/{SCHOOL_A}/roll"),
    ]


def _published(client: TestClient, token: str) -> dict[str, int]:
    r = client.get(CORRIDORS, headers=bearer(token))
    assert r.status_code == 200, r.text
    out = {}
    for f in r.json()["features"]:
        p = f["properties"]
        assert p["school_urn"] == SCHOOL_B  # never another school's pupils
        assert h3.get_resolution(p["cell"]) == privacy.MAX_PUBLIC_H3_RESOLUTION
        assert f["geometry"]["type"] == "Polygon"
        assert not set(p) & roles.PERSONAL_FIELDS
        n = p["pupils"]
        assert n >= 10 and n % 5 == 0, p  # 1-9 suppressed, the rest rounded to 5
        out[p["cell"]] = n
    return out


def test_roll_makes_the_school_view_non_empty(roll_client: TestClient, roll_tokens: Tokens) -> None:
    # school B has no FAP referrals in the store: without a roll it sees nothing
    assert _published(roll_client, roll_tokens.school_b) == {}
    up = _upload(roll_client, roll_tokens.school_b, SCHOOL_B, ROLL_40)
    assert up.status_code == 201 and up.json()["pupils"] == 40
    cells = _published(roll_client, roll_tokens.school_b)
    assert cells, "the roll's 40 pupils published no corridor cell"
    # every routed pupil ends at the school: its own res-8 cell carries all 40
    school = datasets.schools(demo_only=True).set_index("urn").loc[SCHOOL_B]
    home = h3.latlng_to_cell(school["latitude"], school["longitude"], 8)
    assert cells[home] == 40
    # a new upload invalidates the cached corridors: 40 + 23 pupils = 63, published as 65
    more = ROLL_40 + "N11 1AA,23\n"
    assert _upload(roll_client, roll_tokens.analyst, SCHOOL_B, more).json()["pupils"] == 63
    assert _published(roll_client, roll_tokens.school_b)[home] == 65
    # school A's token never sees school B's cells
    r = roll_client.get(CORRIDORS, headers=bearer(roll_tokens.school_a))
    assert {f["properties"]["school_urn"] for f in r.json()["features"]} <= {SCHOOL_A}

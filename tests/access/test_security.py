"""api.security on a small app: status codes, sessions, limits, audited incident reads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from api import security
from geosafe._errors import ConfigurationError
from geosafe.access import limits
from geosafe.access.tokens import AccessSettings, Principal, create_demo_tokens
from geosafe.settings import StoreSettings

from .conftest import SCHOOL_A, SCHOOL_B, WARDS


def _app(tmp_path: Path, **limits: Any) -> tuple[FastAPI, dict[str, str], security.AccessContext]:
    app = FastAPI()
    ctx = security.install(
        app, access=AccessSettings(**limits), store=StoreSettings(db=tmp_path / "g.db")
    )
    school_or_analyst = Depends(security.require("analyst", "school"))

    @app.get("/any")
    def any_role(p: Annotated[Principal, Depends(security.require())]) -> dict[str, str]:
        return {"role": p.role}

    @app.get("/maps/schools/{urn}")
    def school_map(urn: str, p: Principal = school_or_analyst) -> dict[str, str]:
        return {"urn": urn}

    @app.get("/incidents")
    def incidents(read: Annotated[security.AuditedRead, Depends(security.incident_read())]) -> dict:
        read.record(7)
        return {"n": 7}

    @app.get("/incidents-fail")
    def incidents_fail(
        read: Annotated[security.AuditedRead, Depends(security.incident_read())],
    ) -> dict:
        raise ValueError("boom")

    @app.get("/slow")
    def slow(p: Annotated[Principal, Depends(security.require())]) -> dict:
        time.sleep(0.5)
        return {}

    @app.post("/upload")
    async def upload(
        request: Request, p: Annotated[Principal, Depends(security.require())]
    ) -> dict:
        body = await request.body()
        return {"n": len(body)}

    toks = create_demo_tokens(ctx.tokens, school_urn=SCHOOL_A, area_codes=list(WARDS))
    return app, toks, ctx


def _h(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
def app_tokens(tmp_path: Path) -> tuple[FastAPI, dict[str, str], security.AccessContext]:
    return _app(tmp_path)


def test_status_matrix(app_tokens) -> None:
    app, toks, _ = app_tokens
    c = TestClient(app)
    r = c.get("/any")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/any", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/any", headers={"Authorization": f"Basic {toks['analyst']}"}).status_code == 401
    expected = {
        # role: (any, own school, other school, incidents without purpose, with purpose)
        "analyst": (200, 200, 200, 400, 200),
        "school": (200, 200, 404, 403, 403),
        "neighbourhood": (200, 403, 403, 403, 403),
    }
    for role, codes in expected.items():
        h = _h(toks[role])
        got = (
            c.get("/any", headers=h).status_code,
            c.get(f"/maps/schools/{SCHOOL_A}", headers=h).status_code,
            c.get(f"/maps/schools/{SCHOOL_B}", headers=h).status_code,
            c.get("/incidents", headers=h).status_code,
            c.get("/incidents", headers={**h, "X-Purpose": "case review"}).status_code,
        )
        assert got == codes, role


def test_school_urn_in_query_is_checked(app_tokens) -> None:
    app, toks, _ = app_tokens
    c = TestClient(app)
    assert c.get(f"/any?school={SCHOOL_B}", headers=_h(toks["school"])).status_code == 404
    assert c.get(f"/any?school={SCHOOL_A}", headers=_h(toks["school"])).status_code == 200


def test_non_analyst_time_filters(app_tokens) -> None:
    app, toks, _ = app_tokens
    c = TestClient(app)
    for role in ("school", "neighbourhood"):
        h = _h(toks[role])
        assert c.get("/any?datetime=2025-03&preset=school-run", headers=h).status_code == 200
        r = c.get("/any?datetime=2025-03-02/2025-03-31", headers=h)
        assert r.status_code == 400 and "whole published period" in r.json()["detail"]
        assert c.get("/any?hours=08:00-09:00", headers=h).status_code == 400
        assert c.get("/any?preset=tuesday-lunch", headers=h).status_code == 400
    h = _h(toks["analyst"])
    assert c.get("/any?datetime=2025-03-02/2025-03-31&hours=x", headers=h).status_code == 200


def test_every_incident_read_writes_exactly_one_audit_row(app_tokens) -> None:
    app, toks, ctx = app_tokens
    c = TestClient(app, raise_server_exceptions=False)
    h = _h(toks["analyst"], **{"X-Purpose": "case review 2025-031"})
    before = ctx.audit.count()
    for i in range(3):
        assert c.get(f"/incidents?limit={i}", headers=h).status_code == 200
    assert c.get("/incidents-fail", headers=h).status_code == 500
    rows = ctx.audit.entries()[before:]
    assert len(rows) == 4
    assert [r.records for r in rows] == [7, 7, 7, None]
    assert {r.label for r in rows} == {"demo-analyst"} and {r.role for r in rows} == {"analyst"}
    assert rows[1].params == {"limit": "1"} and rows[0].purpose == "case review 2025-031"
    assert rows[3].endpoint == "/incidents-fail"
    # refused reads (no purpose, wrong role) write nothing
    c.get("/incidents", headers=_h(toks["analyst"]))
    c.get("/incidents", headers=_h(toks["school"], **{"X-Purpose": "x"}))
    assert ctx.audit.count() == before + 4


def test_session_cookie(app_tokens) -> None:
    app, toks, _ = app_tokens
    c = TestClient(app)
    assert c.post("/session", json={"token": "nope"}).status_code == 401
    evil = {"Origin": "https://evil.example"}
    assert c.post("/session", json={"token": toks["school"]}, headers=evil).status_code == 403
    r = c.post("/session", json={"token": toks["school"]})
    assert r.status_code == 200 and r.json()["school_urn"] == SCHOOL_A
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert toks["school"] not in r.headers["set-cookie"]
    assert c.get("/any").json() == {"role": "school"}
    assert c.get(f"/maps/schools/{SCHOOL_B}").status_code == 404
    # cross-site write with the cookie is refused; same-site allowed
    assert (
        c.post("/upload", content=b"x", headers={"Origin": "https://evil.example"}).status_code
        == 403
    )
    assert (
        c.post("/upload", content=b"x", headers={"Origin": "http://testserver"}).status_code == 200
    )
    assert c.get("/session").json()["role"] == "school"
    assert c.delete("/session").status_code == 403  # a state change without Origin/Referer
    assert c.delete("/session", headers={"Origin": "http://testserver"}).status_code == 204
    c.cookies.clear()
    assert c.get("/any").status_code == 401


def test_login_page_is_public(app_tokens) -> None:
    app, _, _ = app_tokens
    r = TestClient(app).get("/login")
    assert r.status_code == 200 and "POST" in r.text and "/session" in r.text


def test_rate_limit(tmp_path: Path) -> None:
    app, toks, _ = _app(tmp_path, rate_per_minute=5)
    c = TestClient(app)
    codes = [c.get("/any", headers=_h(toks["school"])).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = c.get("/any", headers=_h(toks["school"]))
    assert int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["detail"]
    # another token has its own bucket
    assert c.get("/any", headers=_h(toks["neighbourhood"])).status_code == 200


def test_upload_size(tmp_path: Path) -> None:
    app, toks, _ = _app(tmp_path, max_upload_bytes=2048)
    c = TestClient(app)
    h = _h(toks["analyst"])
    assert c.post("/upload", content=b"x" * 2048, headers=h).json() == {"n": 2048}
    r = c.post("/upload", content=b"x" * 4096, headers=h)
    assert r.status_code == 413 and "GEOSAFE_ACCESS_MAX_UPLOAD_BYTES" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(4):
            yield b"y" * 1024

    assert c.post("/upload", content=chunks(), headers=h).status_code == 413


def test_bbox_area(tmp_path: Path) -> None:
    app, toks, _ = _app(tmp_path, max_bbox_km2=50)
    c = TestClient(app)
    h = _h(toks["analyst"])
    # ~0.06° × 0.035° at 51.6°N: about 4.2 km × 3.9 km ≈ 16 km²
    assert c.get("/any?bbox=-0.16,51.598,-0.10,51.633", headers=h).status_code == 200
    r = c.get("/any?bbox=-0.5,51.3,0.3,51.7", headers=h)
    assert r.status_code == 400 and "km²" in r.json()["detail"]
    r = c.get(
        "/any?bbox=520000,180000,540000,200000&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/27700",
        headers=h,
    )
    assert r.status_code == 400 and "400 km²" in r.json()["detail"]


def test_bbox_area_reference() -> None:
    from pyproj import Geod

    area = limits.bbox_area_km2("-0.16,51.598,-0.10,51.633")
    geod = Geod(ellps="WGS84")
    w = geod.inv(-0.16, 51.6155, -0.10, 51.6155)[2] / 1000
    hgt = geod.inv(-0.13, 51.598, -0.13, 51.633)[2] / 1000
    assert area == pytest.approx(w * hgt, rel=0.01)
    assert limits.bbox_area_km2("a,b,c,d") is None


def test_request_timeout(tmp_path: Path) -> None:
    app, toks, _ = _app(tmp_path, request_timeout_s=0.1)
    client = TestClient(app)
    r = client.get("/slow", headers=_h(toks["analyst"]))
    assert r.status_code == 408 and "GEOSAFE_ACCESS_REQUEST_TIMEOUT_S" in r.json()["detail"]
    # the abandoned handler's late answer is dropped; the app keeps serving
    assert client.get("/any", headers=_h(toks["analyst"])).json() == {"role": "analyst"}


def test_require_rejects_unknown_role() -> None:
    with pytest.raises(ValueError, match="'admin' is not a role"):
        security.require("admin")


def test_an_app_without_the_access_layer_refuses_to_serve(tmp_path: Path) -> None:
    """Settings are made at the edge: an app that never called install() says so (no
    settings are read from deep inside a request)."""
    app = FastAPI()

    @app.get("/x")
    def x(p: Annotated[Principal, Depends(security.require())]) -> dict:
        return {}

    with pytest.raises(ConfigurationError, match="install"):
        TestClient(app).get("/x", headers=_h("t"))

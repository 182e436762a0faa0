"""Web hardening, request cost and HTTP Basic auth on the real app (issue 9 items 5, 7, 9;
issue 11 item 1, auth side)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from geosafe._errors import LimitExceededError, RequestCostError
from geosafe.access import limits
from geosafe.access.tokens import AccessSettings
from tests._live import serve_app

from .conftest import SCHOOL_A, WARDS

INCIDENTS = "/ogc/collections/incidents/items?limit=5"


def _h(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture(scope="module")
def small_app(demo_db: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real app with small limits (uploads 64 kB, 3 failed logins a minute)."""
    from api import create_app
    from api.settings import ServiceSettings
    from geosafe.access.tokens import create_demo_tokens

    work = tmp_path_factory.mktemp("hardening")
    settings = ServiceSettings(db=demo_db, data_dir=data_dir, work_dir=work / "work")
    access = AccessSettings(
        max_upload_bytes=64 * 1024, login_failures_per_minute=3, token_db=work / "tokens.sqlite"
    )
    app = create_app(settings, access=access)
    toks = create_demo_tokens(app.state.access.tokens, school_urn=SCHOOL_A, area_codes=list(WARDS))
    bound = app.state.access.tokens.create(
        "analyst", label="qgis-desk", purpose="hotspot review 2025-Q1"
    ).token
    return app, {**toks, "bound": bound}


# -- item 7: bbox and body size -------------------------------------------------------------
def test_whole_world_bbox_does_not_pass_the_area_limit(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app
    assert limits.bbox_area_km2("-180,-90,180,90") == pytest.approx(510_065_600, rel=1e-3)
    with TestClient(app) as c:
        for box in ("-180,-90,180,90", "170,-10,-170,10", "-180,51,180,52"):
            r = c.get(f"/ogc/collections/h3-cells/items?bbox={box}", headers=_h(toks["analyst"]))
            assert r.status_code == 400, (box, r.text)
            assert "GEOSAFE_ACCESS_MAX_BBOX_KM2" in r.json()["detail"]


def test_chunked_upload_over_the_limit_is_413(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app

    def chunks() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n\r\n'
        yield b"postcode\n"
        for _ in range(200):
            yield b"N22 7AY\n" * 64

    with TestClient(app) as c:
        r = c.post(
            f"/schools/{SCHOOL_A}/roll",
            content=chunks(),
            headers=_h(toks["analyst"], **{"Content-Type": "multipart/form-data; boundary=b"}),
        )
    assert r.status_code == 413, r.text
    assert "GEOSAFE_ACCESS_MAX_UPLOAD_BYTES" in r.json()["detail"]


# -- item 9: web hardening ------------------------------------------------------------------
def _login(c: TestClient, token: str) -> None:
    r = c.post("/session", json={"token": token})
    assert r.status_code == 200, r.text


def test_cookie_writes_need_this_sites_origin_or_referer(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app
    roll = {"file": ("roll.csv", b"postcode\nN22 7AY\nN22 7AY\n", "text/csv")}
    with TestClient(app) as c:
        _login(c, toks["school"])
        url = f"/schools/{SCHOOL_A}/roll"
        evil_referer = {"Referer": "https://evil.example/page.html"}
        assert c.post(url, files=roll, headers=evil_referer).status_code == 403
        assert c.post(url, files=roll).status_code == 403  # neither Origin nor Referer
        assert (
            c.post(url, files=roll, headers={"Origin": "https://evil.example"}).status_code == 403
        )
        ok = c.post(url, files=roll, headers={"Referer": "http://testserver/"})
        assert ok.status_code == 201, ok.text
        ok = c.post(url, files=roll, headers={"Origin": "http://testserver"})
        assert ok.status_code == 201, ok.text
    # a bearer token is not a cookie: no Origin needed
    with TestClient(app) as c:
        assert c.post(url, files=roll, headers=_h(toks["school"])).status_code == 201


def test_secure_cookie_over_https_or_a_proxy_that_says_so(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post("/session", json={"token": toks["school"]})
        assert "secure" in r.headers["set-cookie"].lower()
    with TestClient(app) as c:
        r = c.post("/session", json={"token": toks["school"]})
        assert "secure" not in r.headers["set-cookie"].lower()
        r = c.post(
            "/session", json={"token": toks["school"]}, headers={"X-Forwarded-Proto": "https"}
        )
        assert "secure" in r.headers["set-cookie"].lower()


def test_security_headers(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app
    purpose = {"X-Purpose": "header test"}
    with TestClient(app) as c:
        for path in ("/login", "/"):
            r = c.get(path, headers={"Accept": "text/html"})
            assert r.status_code in (200, 307), path
            if r.status_code == 200:
                assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
                assert r.headers["x-frame-options"] == "DENY"
        r = c.get(INCIDENTS, headers=_h(toks["analyst"], **purpose))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        r = c.get("/downloads/incidents.csv", headers=_h(toks["analyst"], **purpose))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        r = c.get("/downloads/h3-cells.geojson?resolution=8", headers=_h(toks["school"]))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        r = c.get("/maps/hotspots", headers=_h(toks["analyst"]))
        assert r.status_code == 200 and "content-security-policy" in r.headers


def test_failed_logins_are_throttled_per_address(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app
    transport_a = httpx.ASGITransport(app=app, client=("10.0.0.7", 1234))
    transport_b = httpx.ASGITransport(app=app, client=("10.0.0.8", 1234))

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport_a, base_url="http://testserver") as a:
            codes = [
                (await a.post("/session", json={"token": f"guess-{i}"})).status_code
                for i in range(8)
            ]
            assert codes[:3] == [401, 401, 401] and codes[-1] == 429, codes
            r = await a.post("/session", json={"token": toks["school"]})  # even a good one
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            r = await a.get("/session", headers=_h("bad-bearer"))
            assert r.status_code == 429
        async with httpx.AsyncClient(transport=transport_b, base_url="http://testserver") as b:
            assert (await b.post("/session", json={"token": toks["school"]})).status_code == 200

    import anyio

    anyio.run(run)


# -- item 5: cost bounded before work ---------------------------------------------------------
def test_costly_requests_are_refused_before_work(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app
    heavy = "cell_m=5&bandwidth_m=5000&kernel=gaussian&preset=all-day"
    with TestClient(app) as c:
        r = c.get(f"/rasters/kde.tif?{heavy}", headers=_h(toks["school"]))
        assert r.status_code == 400 and "published settings" in r.json()["detail"]
        r = c.get(f"/rasters/kde.tif?{heavy}", headers=_h(toks["analyst"]))
        assert r.status_code == 400 and "GEOSAFE_ACCESS_MAX_GRID_CELLS" in r.json()["detail"]
        r = c.get(
            "/ogc/collections/hotspots-kde/items?cell_m=5&bandwidth_m=4000",
            headers=_h(toks["analyst"]),
        )
        assert r.status_code == 400 and "cells" in r.json()["detail"]
        r = c.get(
            "/ogc/collections/hotspots-kde/items?bandwidth_m=500&cell_m=50",
            headers=_h(toks["neighbourhood"]),
        )
        assert r.status_code == 200, r.text
        body = {"school": SCHOOL_A, "origins": ["N22 7AY"] * 51, "mode": "walk"}
        r = c.post("/journeys", json=body, headers=_h(toks["school"]))
        assert r.status_code == 400 and "GEOSAFE_ACCESS_MAX_JOURNEYS" in r.json()["detail"]


def test_cost_rules() -> None:
    lim = limits.CostLimits(max_grid_cells=1_000_000, max_kernel_cells=10_000)
    limits.check_cost(
        "analyst", {"cell_m": 25.0, "bandwidth_m": 250.0}, limits=lim, extent_m=(5e3, 4e3)
    )
    with pytest.raises(RequestCostError, match="kernel of"):
        limits.check_cost(
            "analyst", {"cell_m": 10.0, "bandwidth_m": 1000.0}, limits=lim, extent_m=(5e3, 4e3)
        )
    with pytest.raises(RequestCostError, match=r"`top_pct` 3\.0 is not one of"):
        limits.check_cost("school", {"top_pct": 3.0}, limits=lim)
    grid, kern = limits.kde_cells((1000.0, 1000.0), cell_m=10, bandwidth_m=100, kernel="gaussian")
    assert kern == (2 * 40 + 1) ** 2 and grid == (180 + 1) ** 2


def test_heavy_gate_refuses_rather_than_queues() -> None:
    gate = limits.HeavyGate(1, wait_s=0.05)
    gate.acquire()
    with pytest.raises(LimitExceededError, match="GEOSAFE_ACCESS_HEAVY_SLOTS") as info:
        gate.acquire()
    assert info.value.retry_after and info.value.retry_after >= 1
    gate.release()
    with gate.slot():
        assert gate.running == 1
    assert gate.peak == 1


# -- issue 11 item 1: HTTP Basic with the token as the password ------------------------------
def test_basic_auth_and_purposes(small_app) -> None:  # type: ignore[no-untyped-def]
    app, toks = small_app
    audit = app.state.access.audit
    with TestClient(app) as c:
        r = c.get("/ogc/collections", auth=("anything", toks["neighbourhood"]))
        assert r.status_code == 200
        r = c.get("/ogc/collections", auth=("anything", "not-a-token"))
        assert r.status_code == 401
        before = audit.count()
        # the purpose from the Basic user name
        r = c.get(INCIDENTS, auth=("case review 2025-031", toks["analyst"]))
        assert r.status_code == 200, r.text
        row = audit.entries()[-1]
        assert row.purpose == "case review 2025-031" and row.params["purpose_from"] == "basic-user"
        # no user name and no purpose bound: refused with a message saying how to give one
        r = c.get(INCIDENTS, auth=("", toks["analyst"]))
        assert r.status_code == 400 and "--purpose" in r.json()["detail"]
        # a purpose bound to the token at creation
        r = c.get(INCIDENTS, auth=("", toks["bound"]))
        assert r.status_code == 200
        row = audit.entries()[-1]
        assert row.purpose == "hotspot review 2025-Q1" and row.params["purpose_from"] == "token"
        assert row.label == "qgis-desk"
        assert audit.count() == before + 2
        # a school token's Basic login cannot read incidents, purpose or not
        assert c.get(INCIDENTS, auth=("x", toks["school"])).status_code == 403


def test_token_create_binds_a_purpose(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from geosafe.access.tokens import TokenStore
    from geosafe.cli import main

    db = tmp_path / "g.db"
    args = [
        "token",
        "create",
        "--role",
        "analyst",
        "--purpose",
        "QGIS desk review",
        "--db",
        str(db),
    ]
    assert main(args) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    store = TokenStore(Path(str(db) + ".auth.sqlite"))
    assert store.authenticate(token).purpose == "QGIS desk review"
    bad = ["token", "create", "--role", "school", "--school", SCHOOL_A, "--purpose", "x"]
    assert main([*bad, "--db", str(db)]) == 2


@pytest.fixture(scope="module")
def live(small_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    app, _ = small_app
    with serve_app(app) as base:
        yield base


def test_httpx_basic_auth_against_a_live_server(live: str, small_app) -> None:  # type: ignore[no-untyped-def]
    _, toks = small_app
    r = httpx.get(f"{live}{INCIDENTS}", auth=("httpx check", toks["analyst"]), timeout=60)
    assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"


def test_gdal_reads_with_basic_auth(live: str, small_app) -> None:  # type: ignore[no-untyped-def]
    """GDAL's OAPIF driver with GDAL_HTTP_AUTH=BASIC and the token as the password (the way
    QGIS's Basic auth config sends it): lists the collections and reads the incidents."""
    _, toks = small_app
    exe = shutil.which("ogrinfo")
    if exe is None:
        pytest.skip("ogrinfo (Debian gdal-bin) is not installed; run scripts/setup.sh --test")
    env = dict(
        os.environ,
        GDAL_HTTP_AUTH="BASIC",
        GDAL_HTTP_USERPWD=f"GDAL basic check:{toks['analyst']}",
        GDAL_HTTP_TIMEOUT="120",
    )
    env.pop("GDAL_HTTP_HEADERS", None)
    run = [exe, "-ro", "-so", f"OAPIF:{live}/ogc"]
    out = subprocess.run([*run, "incidents"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Feature Count" in out.stdout
    listing = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
    assert listing.returncode == 0 and "h3-cells" in listing.stdout, listing.stderr
    bad = dict(env, GDAL_HTTP_USERPWD="x:not-a-token")
    out = subprocess.run([*run, "incidents"], env=bad, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0

"""Folium maps (local assets only), journeys over HTTP, background jobs, the page and docs."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from .conftest import Tokens, auth, token_store
from .rfc7946 import check_geojson

_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _assets_are_local(html: str) -> list[str]:
    urls = _URL.findall(html)
    remote = [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert not remote, remote
    return urls


def test_hotspot_map_uses_local_leaflet_and_offline_basemap(
    client: TestClient, tokens: Tokens
) -> None:
    r = client.get("/maps/hotspots", headers=auth(tokens.analyst))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-encoding"] == "gzip"  # decoded by httpx
    plain = client.get(
        "/maps/hotspots", headers=auth(tokens.analyst, **{"Accept-Encoding": "identity"})
    )
    assert "content-encoding" not in plain.headers and plain.text == r.text
    urls = _assets_are_local(r.text)
    assert "/static/vendor/leaflet/leaflet.js" in urls
    assert "/static/vendor/leaflet/leaflet.css" in urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "tile.openstreetmap" not in r.text and "L.tileLayer" not in r.text
    assert "Basemap: streets (OpenStreetMap)" in r.text
    assert "incidents per km²" in r.text  # legend with units
    assert "L.control.layers" in r.text
    assert "SYNTHETIC" not in r.text or "synthetic" in r.text.lower()


def test_map_page_revalidates_with_etag_per_role(client: TestClient, tokens: Tokens) -> None:
    """A cached map page is revalidated with ``If-None-Match`` (304, no body); the tag issued
    to one role never validates another role's page, and no token means 401, not 304."""
    first = client.get("/maps/hotspots", headers=auth(tokens.analyst))
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[\x21\x23-\x7e]+"', etag)  # strong entity-tag, RFC 9110 8.8.3
    assert {"private", "no-cache"} <= {v.strip() for v in first.headers["cache-control"].split(",")}
    assert "authorization" in first.headers["vary"].lower()
    again = client.get("/maps/hotspots", headers=auth(tokens.analyst, **{"If-None-Match": etag}))
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    listed = client.get(
        "/maps/hotspots", headers=auth(tokens.analyst, **{"If-None-Match": f'"x", W/{etag}'})
    )
    assert listed.status_code == 304
    other = client.get("/maps/hotspots", headers=auth(tokens.school, **{"If-None-Match": etag}))
    assert other.status_code == 200 and other.headers["etag"] != etag
    assert other.text != first.text
    anon = client.get("/maps/hotspots", headers={"If-None-Match": etag})
    assert anon.status_code == 401
    changed = client.get(
        "/maps/hotspots?top_pct=3", headers=auth(tokens.analyst, **{"If-None-Match": etag})
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_revoked_token_is_refused_at_once_on_cached_pages(
    client: TestClient, service_db: Path | str
) -> None:
    """Principals are cached per token, but a revocation (another connection's commit) ends
    the cached entry before the next request: no cached page for a revoked token."""
    ts = token_store(service_db)
    token = ts.create("analyst", label="revoked soon").token
    for _ in range(2):
        assert client.get("/maps/hotspots", headers=auth(token)).status_code == 200
    ts.revoke("revoked soon")
    r = client.get("/maps/hotspots", headers=auth(token))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_school_map(client: TestClient, tokens: Tokens) -> None:
    r = client.get(f"/maps/schools/{tokens.school_urn}", headers=auth(tokens.school))
    assert r.status_code == 200, r.text
    _assets_are_local(r.text)
    assert "Journey corridors" in r.text
    assert client.get("/maps/schools/100000", headers=auth(tokens.school)).status_code == 404


def test_basemap_json(client: TestClient, tokens: Tokens) -> None:
    doc = client.get("/maps/basemap.json", headers=auth(tokens.neighbourhood)).json()
    for name in ("streets", "parks", "wards", "schools"):
        check_geojson(doc[name])
    assert len(doc["streets"]["features"]) > 1000


def test_journeys_by_postcode(client: TestClient, tokens: Tokens) -> None:
    from geosafe import datasets

    pcs = datasets.postcodes()
    school = datasets.schools(demo_only=True).set_index("urn").loc[tokens.school_urn]
    d = (
        (pcs["easting"] - school.geometry.x) ** 2 + (pcs["northing"] - school.geometry.y) ** 2
    ) ** 0.5
    near = pcs[(d > 500) & (d < 1500)]["postcode"].iloc[:3].tolist()
    body = {"school": tokens.school_urn, "origins": near, "mode": "walk", "arrive_by": "08:40"}
    r = client.post("/journeys", json=body, headers=auth(tokens.school))
    assert r.status_code == 200, r.text
    fc = r.json()
    check_geojson(fc)
    assert len(fc["features"]) == 3
    for f in fc["features"]:
        p = f["properties"]
        assert p["legs"] and p["legs"][0]["mode"] == "walk"
        assert p["distance_m"] >= d.min() * 0.9
        assert p["exposure"] is not None and p["exposure"] >= 0
    other = client.post("/journeys", json={**body, "school": "100000"}, headers=auth(tokens.school))
    assert other.status_code == 404
    bad = client.post("/journeys", json={**body, "origins": []}, headers=auth(tokens.analyst))
    assert bad.status_code == 400 and bad.json()["code"] == 400
    pts = {**body, "origins": [{"lon": -0.115, "lat": 51.605}]}
    r = client.post("/journeys", json=pts, headers=auth(tokens.analyst))
    assert r.status_code == 200, r.text
    check_geojson(r.json())


def test_school_report_job(client: TestClient, tokens: Tokens) -> None:
    r = client.post(
        "/journeys/report", json={"school": tokens.school_urn}, headers=auth(tokens.school)
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] in ("queued", "running", "done")
    url = r.headers["location"].removeprefix("http://testserver")
    for _ in range(600):
        job = client.get(url, headers=auth(tokens.school)).json()
        assert 0 <= job["progress"] <= 1
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    result = job["result"]
    assert result["school_urn"] == tokens.school_urn and result["role"] == "school"
    check_geojson(result["corridors"])
    check_geojson(result["hotspots"])
    assert client.get(url, headers=auth(tokens.analyst)).status_code == 404  # not the owner
    mine = client.get("/jobs", headers=auth(tokens.school)).json()["jobs"]
    assert job["id"] in {j["id"] for j in mine}


def test_page_and_docs_are_local(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for url in _assets_are_local(page.text):
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url
    assert "synthetic" in page.text.lower()
    docs = client.get("/api")
    assert docs.status_code == 200
    for url in _assets_are_local(docs.text):
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url

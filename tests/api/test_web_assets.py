"""The page's assets: Leaflet and the page script compressed and cacheable, the offline
basemap labels guarded like the basemap and naming real streets and stations."""

from __future__ import annotations

import gzip

from fastapi.testclient import TestClient

from .conftest import Tokens, auth


def test_leaflet_is_gzipped_with_cache_headers(client: TestClient) -> None:
    plain = client.get("/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    r = client.get("/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert "max-age=86400" in r.headers["cache-control"]
    assert "accept-encoding" in r.headers.get("vary", "").lower()
    # httpx decodes the body: the bytes on the wire are the gzip stream of the same file
    assert r.content == plain.content
    assert len(gzip.compress(plain.content)) < len(plain.content) / 2
    # revalidation: the ETag answers 304 without a body
    again = client.get(
        "/static/vendor/leaflet/leaflet.js", headers={"If-None-Match": plain.headers["etag"]}
    )
    assert again.status_code == 304 and not again.content


def test_page_script_is_revalidated_every_load(client: TestClient) -> None:
    r = client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert r.headers["content-encoding"] == "gzip"


def test_labels_need_a_token_and_name_real_places(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/maps/labels.json").status_code == 401
    r = client.get(
        "/maps/labels.json", headers={**auth(tokens.neighbourhood), "Accept-Encoding": "gzip"}
    )
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "private, max-age=3600"
    body = r.json()
    streets = {f["properties"]["name"] for f in body["streets"]["features"]}
    places = {
        (f["properties"]["kind"], f["properties"]["name"]) for f in body["places"]["features"]
    }
    # streets and stations of the bundled OSM extract and TfL stop names
    assert {"Bounds Green Road", "Bowes Road", "Green Lanes"} <= streets
    assert ("station", "Bounds Green Station") in places
    assert {k for k, _ in places} >= {"station", "park", "stop", "school"}
    for f in body["streets"]["features"]:
        assert f["geometry"]["type"] in ("LineString", "MultiLineString")
        assert f["properties"]["length_m"] > 0
    lengths = [f["properties"]["length_m"] for f in body["streets"]["features"]]
    assert lengths == sorted(lengths, reverse=True)  # the longest streets are labelled first

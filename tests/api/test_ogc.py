"""OGC API - Features Part 1 Core against the app built by the factory (httpx TestClient)."""

from __future__ import annotations

import csv
import urllib.parse as up
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from .conftest import N_INCIDENTS, Tokens, auth
from .rfc7946 import check_geojson

ROOT = Path(__file__).resolve().parents[2]
PURPOSE = {"X-Purpose": "service tests"}


def _get(client: TestClient, url: str, token: str, **headers: str) -> Any:
    r = client.get(url, headers=auth(token, **headers))
    assert r.status_code == 200, r.text
    return r


def _demo_school_rows() -> list[dict[str, str]]:
    with open(ROOT / "data" / "schools" / "schools.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["in_demo_area"] == "1"]


def test_healthz_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_routes_need_a_token(client: TestClient) -> None:
    for url in ("/ogc", "/ogc/collections", "/ogc/collections/schools/items", "/maps/basemap.json"):
        r = client.get(url)
        assert r.status_code == 401, url
        assert set(r.json()) == {"code", "detail"}


def test_landing_and_conformance(client: TestClient, tokens: Tokens) -> None:
    doc = _get(client, "/ogc", tokens.analyst).json()
    rels = {link["rel"] for link in doc["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    assert all(link["href"].startswith("http://testserver/") for link in doc["links"])
    conf = _get(client, "/ogc/conformance", tokens.analyst).json()["conformsTo"]
    for cls in ("core", "geojson", "oas30", "html"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{cls}" in conf
    api = _get(client, "/api/openapi.json", tokens.analyst).json()
    assert api["openapi"].startswith("3.")
    items = api["paths"]["/ogc/collections/{collection_id}/items"]["get"]
    names = {p["name"] for p in items["parameters"]}
    assert {
        "collection_id",
        "bbox",
        "datetime",
        "limit",
        "offset",
        "preset",
        "bandwidth_m",
    } <= names


def test_html_encoding(client: TestClient, tokens: Tokens) -> None:
    r = _get(client, "/ogc/collections?f=html", tokens.analyst)
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Collections</h1>" in r.text


def test_collections_by_role(client: TestClient, tokens: Tokens) -> None:
    ids = {c["id"] for c in _get(client, "/ogc/collections", tokens.analyst).json()["collections"]}
    assert ids == {
        "incidents",
        "incident-routes",
        "referral-places",
        "hotspots-kde",
        "clusters",
        "h3-cells",
        "emerging-cells",
        "schools",
        "bus-stops",
        "safe-places",
        "journey-corridors",
    }
    ids_n = {
        c["id"]
        for c in _get(client, "/ogc/collections", tokens.neighbourhood).json()["collections"]
    }
    assert "incidents" not in ids_n and "referral-places" not in ids_n and "schools" in ids_n
    r = client.get("/ogc/collections/incidents/items", headers=auth(tokens.school))
    assert r.status_code == 403


def test_schools_match_the_bundled_csv(client: TestClient, tokens: Tokens) -> None:
    rows = _demo_school_rows()
    fc = _get(client, "/ogc/collections/schools/items?limit=1000", tokens.analyst).json()
    check_geojson(fc)
    assert fc["numberMatched"] == len({r["urn"] for r in rows})
    by_id = {f["id"]: f for f in fc["features"]}
    for r in rows:
        lon, lat = by_id[r["urn"]]["geometry"]["coordinates"]
        assert lon == pytest.approx(float(r["longitude"]), abs=2e-6)
        assert lat == pytest.approx(float(r["latitude"]), abs=2e-6)
    one = _get(client, f"/ogc/collections/schools/items/{rows[0]['urn']}", tokens.school).json()
    check_geojson(one)
    assert one["id"] == rows[0]["urn"]
    assert (
        client.get("/ogc/collections/schools/items/nope", headers=auth(tokens.analyst)).status_code
        == 404
    )


def test_collection_extent(client: TestClient, tokens: Tokens) -> None:
    doc = _get(client, "/ogc/collections/schools", tokens.analyst).json()
    (bbox,) = doc["extent"]["spatial"]["bbox"]
    rows = _demo_school_rows()
    lons = [float(r["longitude"]) for r in rows]
    lats = [float(r["latitude"]) for r in rows]
    assert bbox == pytest.approx([min(lons), min(lats), max(lons), max(lats)], abs=2e-6)
    inc = _get(client, "/ogc/collections/incidents", tokens.analyst).json()
    (interval,) = inc["extent"]["temporal"]["interval"]
    assert interval[0] is not None and interval[0].endswith("Z")


def test_paging_links_keep_every_parameter(client: TestClient, tokens: Tokens) -> None:
    url = "/ogc/collections/bus-stops/items?limit=7&bbox=-0.16,51.59,-0.08,51.64"
    seen: list[str] = []
    matched = None
    pages = 0
    while url:
        fc = _get(client, url, tokens.neighbourhood).json()
        check_geojson(fc)
        matched = fc["numberMatched"] if matched is None else matched
        assert fc["numberMatched"] == matched
        assert fc["numberReturned"] == len(fc["features"]) <= 7
        assert fc["timeStamp"].endswith("Z")
        seen += [f["id"] for f in fc["features"]]
        nxt = [link["href"] for link in fc["links"] if link["rel"] == "next"]
        if nxt:
            q = up.parse_qs(up.urlsplit(nxt[0]).query)
            assert nxt[0].startswith("http://testserver/ogc/")
            assert q["bbox"] == ["-0.16,51.59,-0.08,51.64"] and q["limit"] == ["7"]
        url = nxt[0].removeprefix("http://testserver") if nxt else ""
        pages += 1
    assert len(seen) == len(set(seen)) == matched
    assert pages == -(-matched // 7)
    second = _get(
        client, "/ogc/collections/bus-stops/items?limit=7&offset=7&f=json", tokens.analyst
    ).json()
    prev = [link["href"] for link in second["links"] if link["rel"] == "prev"]
    q = up.parse_qs(up.urlsplit(prev[0]).query)
    assert q["offset"] == ["0"] and q["limit"] == ["7"] and q["f"] == ["json"]
    first = _get(client, prev[0].removeprefix("http://testserver"), tokens.analyst).json()
    plain = _get(client, "/ogc/collections/bus-stops/items?limit=7", tokens.analyst).json()
    assert [f["id"] for f in first["features"]] == [f["id"] for f in plain["features"]]


def test_limit_is_clamped_never_an_error(client: TestClient, tokens: Tokens) -> None:
    fc = _get(client, "/ogc/collections/bus-stops/items?limit=100000", tokens.analyst).json()
    assert fc["numberReturned"] == 50  # the test server's max_page_size
    fc = _get(client, "/ogc/collections/bus-stops/items?limit=0", tokens.analyst).json()
    assert fc["numberReturned"] == 1


def test_unknown_and_bad_parameters_answer_400(client: TestClient, tokens: Tokens) -> None:
    for url in (
        "/ogc/collections/schools/items?colour=red",
        "/ogc/collections/schools/items?bbox=1,2,3",
        "/ogc/collections/schools/items?bbox-crs=EPSG:3857",
        "/ogc/collections/schools/items?crs=http://www.opengis.net/def/crs/EPSG/0/3857",
        "/ogc/collections/incidents/items?datetime=yesterday",
        "/ogc/collections/schools/items?limit=ten",
    ):
        r = client.get(url, headers=auth(tokens.analyst, **PURPOSE))
        assert r.status_code == 400, (url, r.text)
        assert r.json()["code"] == 400 and r.json()["detail"]
    ok = "/ogc/collections/schools/items?f=json&crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    r = _get(client, ok, tokens.analyst)
    assert r.headers["content-type"] == "application/geo+json"


def test_head_works(client: TestClient, tokens: Tokens) -> None:
    for url in ("/ogc", "/ogc/collections/schools", "/ogc/collections/schools/items"):
        r = client.head(url, headers=auth(tokens.analyst))
        assert r.status_code == 200 and r.content == b""


def test_bbox_in_crs84_and_bng_agree(client: TestClient, tokens: Tokens) -> None:
    from pyproj import Transformer

    x0, y0, x1, y1 = 528500, 190500, 531000, 192500
    t = Transformer.from_crs(27700, "OGC:CRS84", always_xy=True)
    lons, lats = t.transform([x0, x0, x1, x1], [y0, y1, y0, y1])
    base = "/ogc/collections/bus-stops/items?limit=50"
    a = _get(
        client,
        f"{base}&bbox={x0},{y0},{x1},{y1}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/27700",
        tokens.analyst,
    ).json()
    b = _get(
        client, f"{base}&bbox={min(lons)},{min(lats)},{max(lons)},{max(lats)}", tokens.analyst
    ).json()
    # independent reference: the bundled stop list in BNG, and its lon/lat by pyproj
    stops = pd.read_csv(ROOT / "data" / "tfl" / "bus_stops.csv.gz", dtype=str)
    stops = stops[stops["in_demo_area"] == "1"]
    e = stops["Location_Easting"].astype(float)
    n = stops["Location_Northing"].astype(float)
    inside = stops[(e >= x0) & (e <= x1) & (n >= y0) & (n <= y1)]
    assert a["numberMatched"] == inside["Naptan_Atco"].nunique() > 0
    lon, lat = t.transform(e.to_numpy(), n.to_numpy())
    in_ll = (lon >= min(lons)) & (lon <= max(lons)) & (lat >= min(lats)) & (lat <= max(lats))
    assert b["numberMatched"] == stops[in_ll]["Naptan_Atco"].nunique() > a["numberMatched"]


def test_incidents_datetime_filter(
    client: TestClient, tokens: Tokens, service_db: Path | str
) -> None:
    from tests._stores import sql

    q = "preset=none&start=2024-01-01&end=2024-12-31&limit=50"

    def matched(extra: str = "") -> int:
        # incidents at a point and along bus routes are two collections (one geometry type each)
        n = 0
        for cid in ("incidents", "incident-routes"):
            fc = _get(client, f"/ogc/collections/{cid}/items?{q}{extra}", tokens.analyst, **PURPOSE)
            check_geojson(fc.json())
            n += fc.json()["numberMatched"]
        return n

    rows = sql(service_db, "SELECT t_from, t_to FROM incidents WHERE minx IS NOT NULL")
    t = pd.DataFrame(rows, columns=["t_from", "t_to"])
    assert matched() == len(t) == N_INCIDENTS
    lo = pd.Timestamp("2024-02-01T00:00:00Z").timestamp()
    hi = pd.Timestamp("2024-02-29T23:59:59Z").timestamp()
    expect = int(((t["t_from"] <= hi) & (t["t_to"] >= lo)).sum())
    assert matched("&datetime=2024-02-01T00:00:00Z/2024-02-29T23:59:59Z") == expect
    assert matched("&datetime=2024-02-01T00:00:00Z/..") == int((t["t_to"] >= lo).sum())
    instant = "2024-02-14T12:00:00Z"
    ti = pd.Timestamp(instant).timestamp()
    assert matched(f"&datetime={instant}") == int(((t["t_from"] <= ti) & (t["t_to"] >= ti)).sum())


def test_incidents_need_a_purpose(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/ogc/collections/incidents/items", headers=auth(tokens.analyst))
    assert r.status_code == 400 and "X-Purpose" in r.json()["detail"]


def test_feature_ids_are_stable(client: TestClient, tokens: Tokens) -> None:
    url = "/ogc/collections/incidents/items?preset=none&start=2024-01-01&limit=5"
    a = _get(client, url, tokens.analyst, **PURPOSE).json()
    b = _get(client, url, tokens.analyst, **PURPOSE).json()
    assert [f["id"] for f in a["features"]] == [f["id"] for f in b["features"]]
    fid = a["features"][0]["id"]
    one = _get(
        client,
        f"/ogc/collections/incidents/items/{up.quote(fid)}?preset=none&start=2024-01-01",
        tokens.analyst,
        **PURPOSE,
    ).json()
    assert one["id"] == fid and one["geometry"] == a["features"][0]["geometry"]


def test_items_html_has_a_local_map(client: TestClient, tokens: Tokens) -> None:
    r = _get(client, "/ogc/collections/schools/items?f=html", tokens.analyst)
    assert r.headers["content-type"].startswith("text/html")
    assert '<script src="/static/vendor/leaflet/leaflet.js">' in r.text
    assert "https://" not in r.text.split("<pre>")[0]  # no remote asset before the JSON dump


def test_collections_say_whether_data_is_synthetic(client: TestClient, tokens: Tokens) -> None:
    # the test store holds hand-made 'dir' records: a synthetic source
    kde = _get(client, "/ogc/collections/hotspots-kde", tokens.analyst).json()
    assert kde["geosafe:synthetic"] is True and "synthetic" in kde["description"]
    schools = _get(client, "/ogc/collections/schools", tokens.analyst).json()
    assert schools["geosafe:synthetic"] is False

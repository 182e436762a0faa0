"""Computed layers over HTTP: hotspots, H3 cells with Gi*, corridors, disclosure control."""

from __future__ import annotations

from typing import Any

import h3
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from .conftest import Tokens, auth
from .rfc7946 import check_geojson

PURPOSE = {"X-Purpose": "service tests"}
PERIOD = "preset=none&start=2024-01-01&end=2024-12-31"


def _all(client: TestClient, url: str, token: str, **headers: str) -> dict[str, Any]:
    """Every feature, following ``next`` links."""
    feats: list[dict[str, Any]] = []
    matched = None
    while url:
        r = client.get(url, headers=auth(token, **headers))
        assert r.status_code == 200, r.text
        fc = r.json()
        check_geojson(fc)
        matched = fc["numberMatched"]
        feats += fc["features"]
        nxt = [link["href"] for link in fc["links"] if link["rel"] == "next"]
        url = nxt[0].removeprefix("http://testserver") if nxt else ""
    assert len(feats) == matched
    return {"type": "FeatureCollection", "features": feats}


def test_kde_hotspots_hold_the_incidents_they_count(client: TestClient, tokens: Tokens) -> None:
    hot = _all(client, f"/ogc/collections/hotspots-kde/items?{PERIOD}&top_pct=5", tokens.analyst)
    assert hot["features"], "no hotspot polygons"
    pts = _all(client, f"/ogc/collections/incidents/items?{PERIOD}", tokens.analyst, **PURPOSE)
    lines = _all(
        client, f"/ogc/collections/incident-routes/items?{PERIOD}", tokens.analyst, **PURPOSE
    )
    pts["features"] += lines["features"]
    points = [shape(f["geometry"]) for f in pts["features"]]
    reps = [g if g.geom_type == "Point" else g.representative_point() for g in points]
    for f in hot["features"]:
        poly = shape(f["geometry"])
        inside = sum(poly.covers(p) for p in reps)
        # counted in BNG, checked in WGS84 at 6 decimals: allow a point on the very edge
        assert abs(f["properties"]["count"] - inside) <= 1, f["id"]
        assert f["properties"]["units"] == "incidents per km²"
    ranks = [f["properties"]["rank"] for f in hot["features"]]
    assert ranks == sorted(ranks)
    dens = [f["properties"]["density"] for f in hot["features"]]
    assert dens == sorted(dens, reverse=True)


def test_h3_counts_match_h3_library(client: TestClient, tokens: Tokens) -> None:
    cells = _all(client, f"/ogc/collections/h3-cells/items?{PERIOD}&resolution=9", tokens.analyst)
    pts = _all(client, f"/ogc/collections/incidents/items?{PERIOD}", tokens.analyst, **PURPOSE)
    expected: dict[str, int] = {}
    for f in pts["features"]:
        if f["geometry"]["type"] != "Point":
            continue  # the route incident is spread along its line
        lon, lat = f["geometry"]["coordinates"]
        c = h3.latlng_to_cell(lat, lon, 9)
        expected[c] = expected.get(c, 0) + 1
    got = {f["id"]: f["properties"]["count"] for f in cells["features"]}
    diff = sum(abs(got.get(c, 0.0) - n) for c, n in expected.items())
    extra = sum(v for c, v in got.items() if c not in expected)
    assert diff + extra <= 1.0 + 1e-9  # only the one LineString incident's weight
    for f in cells["features"]:
        assert h3.get_resolution(f["id"]) == 9
        assert f["properties"]["hotspot"].startswith(("hot_", "cold_", "not_significant"))
        ring = f["geometry"]["coordinates"][0]
        ref = shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(f["id"])])
        # the cell is drawn in BNG and published in WGS84: its edges bend by well under 0.1 %
        assert shapely.Polygon(ring).symmetric_difference(ref).area < 1e-3 * ref.area


def test_neighbourhood_view_is_disclosure_controlled(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/ogc/collections/h3-cells/items?limit=50", headers=auth(tokens.neighbourhood))
    assert r.status_code == 200, r.text
    fc = r.json()
    check_geojson(fc)
    for f in fc["features"]:
        assert h3.get_resolution(f["properties"]["cell"]) <= 8
        count = f["properties"].get("count")
        assert count is None or count % 5 == 0
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    r = client.get(
        "/ogc/collections/h3-cells/items?resolution=10", headers=auth(tokens.neighbourhood)
    )
    assert r.status_code == 400
    hot = client.get("/ogc/collections/hotspots-kde/items", headers=auth(tokens.school))
    assert hot.status_code == 200, hot.text
    from geosafe.publish import roles

    allowed = roles.allowed_fields("school") or set()
    for f in hot.json()["features"]:
        assert set(f["properties"]) <= allowed | {"suppressed"}
        assert not set(f["properties"]) & roles.PERSONAL_FIELDS


def test_corridors_of_a_school(client: TestClient, tokens: Tokens) -> None:
    url = f"/ogc/collections/journey-corridors/items?school={tokens.school_urn}&limit=50"
    fc = _all(client, url, tokens.analyst)
    assert fc["features"]
    for f in fc["features"]:
        assert f["properties"]["school_urn"] == tokens.school_urn
        assert f["geometry"]["type"] in ("LineString", "MultiLineString")
    # ten referrals from each of three postcodes: every stretch carries 10, 20 or 30 pupils
    assert {f["properties"]["pupils"] for f in fc["features"]} <= {10.0, 20.0, 30.0}
    # the school sees H3 resolution-8 cells crossed by 10+ of its pupils, never street stretches
    mine = _all(client, url, tokens.school)
    assert mine["features"]
    for f in mine["features"]:
        p = f["properties"]
        assert f["geometry"]["type"] == "Polygon" and h3.get_resolution(p["cell"]) == 8
        assert p["pupils"] >= 10 and p["pupils"] % 5 == 0
        assert "length_m" not in p and "name" not in p
    # the cell holding the school is crossed by every routed pupil (30, from three postcodes)
    from geosafe import datasets

    school = datasets.schools(demo_only=True).set_index("urn").loc[tokens.school_urn]
    home = h3.latlng_to_cell(school["latitude"], school["longitude"], 8)
    assert {f["properties"]["cell"]: f["properties"]["pupils"] for f in mine["features"]}[
        home
    ] == 30
    other = client.get(
        "/ogc/collections/journey-corridors/items?school=999999", headers=auth(tokens.school)
    )
    assert other.status_code == 404


def test_clusters_match_sklearn_dbscan(client: TestClient, tokens: Tokens) -> None:
    import numpy as np
    from pyproj import Transformer
    from sklearn.cluster import DBSCAN

    q = f"{PERIOD}&eps_m=150&min_samples=5"
    fc = _all(client, f"/ogc/collections/clusters/items?{q}&limit=50", tokens.analyst)
    pts = _all(client, f"/ogc/collections/incidents/items?{PERIOD}", tokens.analyst, **PURPOSE)
    lines = _all(
        client, f"/ogc/collections/incident-routes/items?{PERIOD}", tokens.analyst, **PURPOSE
    )
    pts["features"] += lines["features"]
    t = Transformer.from_crs("OGC:CRS84", 27700, always_xy=True)
    xy_list = []
    for f in pts["features"]:
        g = shapely.transform(
            shape(f["geometry"]), lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1]))
        )
        if g.geom_type == "LineString":  # a bus-route stretch counts at its midpoint
            xy_list.append(g.interpolate(0.5, normalized=True).coords[0])
        elif f["properties"]["precision_m"] <= 150:
            xy_list.append(g.coords[0])
    xy = np.array(xy_list)
    labels = DBSCAN(eps=150, min_samples=5).fit_predict(xy)
    n_ref = len(set(labels) - {-1})
    assert len(fc["features"]) == n_ref
    sizes = sorted(int(f["properties"]["n_incidents"]) for f in fc["features"])
    ref_sizes = sorted(int((labels == k).sum()) for k in set(labels) - {-1})
    assert sizes == ref_sizes


def test_emerging_cells(client: TestClient, tokens: Tokens) -> None:
    fc = _all(client, f"/ogc/collections/emerging-cells/items?{PERIOD}&limit=50", tokens.analyst)
    assert fc["features"]
    for f in fc["features"]:
        assert h3.get_resolution(f["id"]) == 9 and f["properties"]["trend"]


def test_datetime_is_the_period_of_a_computed_layer(client: TestClient, tokens: Tokens) -> None:
    """`datetime` (a published month for non-analysts) sets the analysed period."""
    base = "/ogc/collections/h3-cells/items?limit=1&resolution=8"
    for query, token in (
        ("datetime=2024-02-01T00:00:00Z/2024-02-29T23:59:59Z", tokens.analyst),
        ("start=2024-02-01&end=2024-02-29", tokens.analyst),
        ("datetime=2024-02", tokens.analyst),
        ("datetime=2024-02", tokens.neighbourhood),
    ):
        r = client.get(f"{base}&{query}", headers=auth(token))
        assert r.status_code == 200, (query, r.text)
        assert r.json()["features"][0]["properties"]["period"] == "2024-02-01/2024-02-29", query
    q1 = client.get(f"{base}&datetime=2024-Q1", headers=auth(tokens.school)).json()
    assert q1["features"][0]["properties"]["period"] == "2024-01-01/2024-03-31"


def test_one_date_gives_a_year(client: TestClient, tokens: Tokens) -> None:
    base = "/ogc/collections/h3-cells/items?limit=1&resolution=8"
    r = client.get(f"{base}&start=2024-02-01", headers=auth(tokens.analyst)).json()
    assert r["features"][0]["properties"]["period"] == "2024-02-01/2025-01-30"
    r = client.get(f"{base}&end=2024-02-29", headers=auth(tokens.analyst)).json()
    assert r["features"][0]["properties"]["period"] == "2023-03-02/2024-02-29"
    bad = client.get(
        "/ogc/collections/journey-corridors/items?school=../x", headers=auth(tokens.analyst)
    )
    assert bad.status_code == 404 and "'../x'" in bad.json()["detail"]


def test_public_density_does_not_give_back_exact_counts(client: TestClient, tokens: Tokens) -> None:
    from pyproj import Geod

    fc = _all(client, "/ogc/collections/h3-cells/items?limit=50&resolution=8", tokens.neighbourhood)
    geod = Geod(ellps="WGS84")
    for f in fc["features"]:
        p = f["properties"]
        area_km2 = abs(geod.geometry_area_perimeter(shape(f["geometry"]))[0]) / 1e6
        if p.get("count") is None:
            assert p.get("density") is None
        else:
            # the published density is the rounded count over the cell's area
            assert p["density"] * area_km2 == pytest.approx(p["count"], rel=0.01)
    assert any(f["properties"].get("count") for f in fc["features"])  # not all suppressed


def test_public_gi_statistics_are_coarse(client: TestClient, tokens: Tokens) -> None:
    fc = _all(client, "/ogc/collections/h3-cells/items?limit=50&resolution=8", tokens.neighbourhood)
    for f in fc["features"]:
        z = f["properties"].get("gi_z")
        assert z is None or round(z, 1) == z

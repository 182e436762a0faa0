"""The place report's gaps closed (issue 13): both windows in the service, a map of the place,
and the neighbourhood view clipped to its wards (nothing outside them returned)."""

from __future__ import annotations

import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from geosafe import datasets
from geosafe.network.origins import school_location
from geosafe.risk.place_crossings import cell_polygon

from .conftest import Tokens, auth

_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


def _circle(x: float, y: float, radius: int) -> dict[str, str]:
    lon, lat = _TO_WGS.transform(x, y)
    return {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "radius": str(radius)}


def _wards() -> shapely.Geometry:
    """The test neighbourhood token's wards (tests/api/conftest.py: the ward holding the
    demo area's centre)."""
    wards = datasets.wards()
    return wards[wards.intersects(datasets.demo_area().centroid)].geometry.iloc[0]


def test_morning_and_afternoon_in_the_service(client: TestClient, tokens: Tokens) -> None:
    x, y = school_location(tokens.school_urn)[0]
    doc = client.get(
        "/places/report", params=_circle(x, y, 100), headers=auth(tokens.analyst)
    ).json()
    assert doc["windows"] == ["morning", "afternoon"] and "leave at 15:15" in doc["window"]
    (school,) = [s for s in doc["schools"] if s["school_urn"] == tokens.school_urn]
    by = {b["window"]: b for b in school["by"]}
    assert by["morning"]["pupils"] == by["afternoon"]["pupils"] == 30
    assert by["morning"]["last"] <= "08:40" and by["afternoon"]["first"] >= "15:15"
    one = client.get(
        "/places/report",
        params={**_circle(x, y, 100), "window": "afternoon"},
        headers=auth(tokens.analyst),
    ).json()
    assert {b["window"] for s in one["schools"] for b in s["by"]} == {"afternoon"}


def test_neighbourhood_sees_nothing_outside_its_wards(client: TestClient, tokens: Tokens) -> None:
    wards = _wards()
    inside = wards.representative_point()
    # a large circle straddling the wards' edge, and one wholly outside them
    edge = wards.boundary.interpolate(0.0)
    far = shapely.Point(edge.x + (edge.x - inside.x) * 3, edge.y + (edge.y - inside.y) * 3)
    if wards.distance(far) < 1500:
        far = shapely.Point(wards.bounds[2] + 2500, inside.y)
    h = auth(tokens.neighbourhood)
    doc = client.get("/places/report", params=_circle(edge.x, edge.y, 1500), headers=h).json()
    pub = doc["published"]
    assert pub["cells"] and pub["outside_scope"] > 0
    assert all(cell_polygon(c).intersects(wards) for c in pub["cells"])
    assert {r["cell"] for r in pub["cell_counts"] + pub["times"]} <= set(pub["cells"])
    # the analyst's view of the same circle reaches beyond the wards
    out = client.get("/places/report", params=_circle(far.x, far.y, 300), headers=h).json()
    assert out["published"]["cells"] == [] and out["published"]["cell_counts"] == []
    assert out["pupils"] == 0 and "outside your neighbourhood" in out["published"]["note"]


def test_place_page_has_a_map_and_no_routes_for_non_analysts(
    client: TestClient, tokens: Tokens
) -> None:
    x, y = school_location(tokens.school_urn)[0]
    for token, lines in ((tokens.analyst, True), (tokens.school, False)):
        r = client.get(
            "/places/report", params={**_circle(x, y, 150), "f": "html"}, headers=auth(token)
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert "<svg" in page and "OpenStreetMap" in page and " m</text>" in page
        assert ('stroke="#1565c0"' in page) is lines  # journey lines only for analysts
        if not lines:
            assert 'fill="#ff9800"' in page  # the published cells instead

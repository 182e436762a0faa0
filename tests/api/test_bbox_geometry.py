"""``bbox`` selects features whose geometry intersects the box, not their bounding
rectangle (issue 16 item 2), on every collection and in both box CRSs."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import box, shape

from .conftest import Tokens, auth

PURPOSE = {"X-Purpose": "service tests"}
PERIOD = "preset=none&start=2024-01-01&end=2024-12-31"
TO_BNG = Transformer.from_crs("OGC:CRS84", 27700, always_xy=True)


def _items(client: TestClient, url: str, token: str) -> list[dict]:
    """Every feature, following ``next`` links."""
    feats: list[dict] = []
    while url:
        r = client.get(url, headers=auth(token, **PURPOSE))
        assert r.status_code == 200, r.text
        feats += r.json()["features"]
        nxt = [link["href"] for link in r.json()["links"] if link["rel"] == "next"]
        url = nxt[0].removeprefix("http://testserver") if nxt else ""
    return feats


def _corner_box(cell: str, size_deg: float = 0.00005) -> tuple[float, float, float, float]:
    """A small lon/lat box inside the cell's bounding rectangle but outside the hexagon."""
    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
    hexagon = shapely.Polygon(ring)
    x0, y0, x1, y1 = hexagon.bounds
    for cx, cy in ((x0, y0), (x0, y1), (x1, y0), (x1, y1)):
        b = box(
            cx - size_deg if cx == x1 else cx,
            cy - size_deg if cy == y1 else cy,
            cx if cx == x1 else cx + size_deg,
            cy if cy == y1 else cy + size_deg,
        )
        if not b.intersects(hexagon):
            return b.bounds
    raise AssertionError("every corner of the rectangle touches the hexagon")


def test_cell_just_outside_the_box_is_not_returned(client: TestClient, tokens: Tokens) -> None:
    url = f"/ogc/collections/h3-cells/items?{PERIOD}&resolution=9&limit=1000"
    cells = _items(client, url, tokens.analyst)
    assert cells
    cell = cells[0]["id"]
    b = _corner_box(cell)
    hexagon = shape(cells[0]["geometry"])
    assert box(*b).intersects(shapely.box(*hexagon.bounds)) and not box(*b).intersects(hexagon)
    got = _items(client, f"{url}&bbox={','.join(f'{v:.7f}' for v in b)}", tokens.analyst)
    assert cell not in {f["id"] for f in got}
    assert all(shape(f["geometry"]).intersects(box(*b)) for f in got)
    # the same box in British National Grid metres
    xs, ys = TO_BNG.transform([b[0], b[2]], [b[1], b[3]])
    inner = (max(xs[0], xs[0]), ys[0], xs[1], ys[1])
    bng = ",".join(f"{v:.2f}" for v in inner)
    crs = "http://www.opengis.net/def/crs/EPSG/0/27700"
    got = _items(client, f"{url}&bbox={bng}&bbox-crs={crs}", tokens.analyst)
    assert cell not in {f["id"] for f in got}


@pytest.mark.parametrize(
    "collection",
    [
        "incidents",
        "incident-routes",
        "hotspots-kde",
        "clusters",
        "h3-cells",
        "emerging-cells",
        "schools",
        "bus-stops",
    ],
)
def test_every_returned_feature_intersects_the_box(
    client: TestClient, tokens: Tokens, collection: str
) -> None:
    q = "" if collection in ("schools", "bus-stops") else f"{PERIOD}&"
    everything = _items(
        client, f"/ogc/collections/{collection}/items?{q}limit=1000", tokens.analyst
    )
    if not everything:
        pytest.skip(f"{collection} is empty on the test store")
    bounds = np.array([shape(f["geometry"]).bounds for f in everything if f["geometry"]])
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    b = (x0, y0, x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3)
    got = _items(
        client,
        f"/ogc/collections/{collection}/items?{q}limit=1000&bbox={','.join(map(str, b))}",
        tokens.analyst,
    )
    want = {
        f["id"] for f in everything if f["geometry"] and shape(f["geometry"]).intersects(box(*b))
    }
    assert {f["id"] for f in got} == want

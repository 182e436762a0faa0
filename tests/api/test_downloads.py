"""Downloads (GeoPackage read back by GDAL through pyogrio and sqlite3, CSV, GeoJSON) and the
KDE Cloud-Optimised GeoTIFF (read by rasterio) with HTTP Range requests."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pyogrio
import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient

from .conftest import Tokens, auth
from .rfc7946 import check_geojson

PERIOD = "preset=none&start=2024-01-01&end=2024-12-31"


def _count(client: TestClient, collection: str, token: str, query: str = "") -> int:
    r = client.get(f"/ogc/collections/{collection}/items?limit=1&{query}", headers=auth(token))
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


@pytest.mark.parametrize("collection", ["schools", "bus-stops", "hotspots-kde"])
def test_geopackage(client: TestClient, tokens: Tokens, tmp_path: Path, collection: str) -> None:
    query = PERIOD if collection == "hotspots-kde" else ""
    r = client.get(f"/downloads/{collection}.gpkg?{query}", headers=auth(tokens.analyst))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "x.gpkg"
    path.write_bytes(r.content)
    layers = dict(pyogrio.list_layers(path))
    name = collection.replace("-", "_")
    assert name in layers and "layer_styles" in layers
    info = pyogrio.read_info(path, layer=name)
    assert info["crs"] == "EPSG:27700"
    assert info["features"] == _count(client, collection, tokens.analyst, query)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200  # GeoPackage 1.2
        style = con.execute(
            "SELECT f_table_name, useAsDefault, styleQML FROM layer_styles"
        ).fetchone()
    assert style[0] == name and style[1] == 1 and style[2].startswith("<!DOCTYPE qgis")
    # BNG metres, inside the demo area
    gdf = pyogrio.read_dataframe(path, layer=name)
    x0, y0, x1, y1 = gdf.total_bounds
    assert 520_000 < x0 < x1 < 540_000 and 185_000 < y0 < y1 < 200_000


def test_csv_has_wkt_and_crs(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/downloads/schools.csv", headers=auth(tokens.neighbourhood))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == _count(client, "schools", tokens.analyst)
    for row in rows:
        assert row["crs"] == "EPSG:27700"
        p = shapely.from_wkt(row["wkt"])
        assert p.geom_type == "Point" and 520_000 < p.x < 540_000


def test_geojson_download(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/downloads/bus-stops.geojson", headers=auth(tokens.analyst))
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    check_geojson(doc)
    assert len(doc["features"]) == _count(client, "bus-stops", tokens.analyst)


def test_incident_export_is_analyst_only(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/downloads/incidents.csv", headers=auth(tokens.school))
    assert r.status_code == 403
    r = client.get("/downloads/nothing.shp", headers=auth(tokens.analyst))
    assert r.status_code == 404


def test_kde_cog_with_range_requests(client: TestClient, tokens: Tokens, tmp_path: Path) -> None:
    url = f"/rasters/kde.tif?{PERIOD}&bandwidth_m=300&cell_m=25"
    r = client.get(url, headers=auth(tokens.analyst))
    assert r.status_code == 200, r.text
    assert r.headers.get("accept-ranges") == "bytes"
    path = tmp_path / "kde.tif"
    path.write_bytes(r.content)
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 27700
        assert ds.res == (25.0, 25.0)
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.profile["tiled"]
        band = ds.read(1, masked=True)
        assert float(band.max()) > 0
    part = client.get(url, headers=auth(tokens.analyst, Range="bytes=100-611"))
    assert part.status_code == 206
    assert part.content == r.content[100:612]
    assert part.headers["content-range"] == f"bytes 100-611/{len(r.content)}"

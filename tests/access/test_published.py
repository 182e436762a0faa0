"""Every response a school or neighbourhood token gets, checked against disclosure rules.

For each route (enumerated as in ``test_matrix``) a non-analyst may call: no CANARY marker
(every free-text, ref and address field of the demo store carries one), feature properties
inside the role's allow-list, no points outside reference layers (schools, bus stops), counts
never 1-9 and always multiples of 5, no H3 cell finer than resolution 8. And the views are not
empty: suppressing everything is not a pass.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

import h3
import pyogrio
import pytest
from fastapi.testclient import TestClient

from geosafe.publish import roles

from ._demo import CANARY
from .conftest import SCHOOL_A
from .test_matrix import _calls, _request

REFERENCE = ("schools", "bus-stops")
#: Columns a download adds to the properties (feature id, geometry as WKT, its CRS).
DOWNLOAD_COLUMNS = {"id", "fid", "wkt", "geometry", "crs", "geom"}


def _check_properties(role: str, where: str, props: dict[str, Any]) -> list[str]:
    allowed = roles.allowed_fields(role) or frozenset()
    out = []
    extra = set(props) - allowed - DOWNLOAD_COLUMNS
    if extra:
        out.append(f"{where}: fields {sorted(extra)} not in the {role} allow-list")
    for name in roles.COUNT_FIELDS & set(props):
        v = props[name]
        if v in (None, "") or (isinstance(v, float) and math.isnan(v)):
            continue
        n = float(v)
        if 1 <= n <= 9 or n % 5:
            out.append(f"{where}: {name}={v!r} is not a published count")
    cell = props.get("cell")
    if isinstance(cell, str) and h3.is_valid_cell(cell) and h3.get_resolution(cell) > 8:
        out.append(f"{where}: cell {cell} finer than resolution 8")
    return out


def _check_features(
    role: str, where: str, features: list[dict[str, Any]], reference: bool
) -> list[str]:
    out = []
    for f in features:
        geom = f.get("geometry") or {}
        if not reference and geom.get("type") in ("Point", "MultiPoint"):
            out.append(f"{where}: point feature {f.get('id')!r}")
        if not reference:
            out += _check_properties(role, f"{where} #{f.get('id')}", f.get("properties") or {})
    return out


def _collection_of(url: str) -> str | None:
    for marker in ("/collections/", "/downloads/"):
        if marker in url:
            rest = url.split(marker, 1)[1]
            return (
                rest.split("/")[0].split("?")[0].rsplit(".", 1)[0]
                if marker == "/downloads/"
                else rest.split("/")[0].split("?")[0]
            )
    return None


def _home_postcodes(demo_db, data_dir) -> set[bytes]:  # type: ignore[no-untyped-def]
    """The synthetic pupils' home postcodes, minus any that is also a school's (public)."""
    from geosafe import datasets

    homes = set((demo_db.parent / "fap_home_postcodes.txt").read_text().split("\n")) - {""}
    schools = set(datasets.schools(data_dir)["postcode"].astype(str))
    return {p.encode() for p in homes - schools}


COUNT_KEYS = roles.COUNT_FIELDS | {"incidents", "referrals", "origins"}


def _walk_counts(doc: Any, where: str) -> list[str]:
    """Count-like values anywhere in a JSON document that are not published counts."""
    out: list[str] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in COUNT_KEYS and isinstance(v, int | float) and not isinstance(v, bool):
                if 1 <= v <= 9 or v % 5:
                    out.append(f"{where}.{k}={v!r}")
            else:
                out += _walk_counts(v, f"{where}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _walk_counts(v, f"{where}[{i}]")
    return out


@pytest.mark.parametrize("role", ["school", "neighbourhood"])
def test_every_response_obeys_disclosure_rules(
    service, role: str, tmp_path, demo_db, data_dir
) -> None:
    app, toks = service
    postcodes = _home_postcodes(demo_db, data_dir)
    client = TestClient(app, raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {toks[role]}"}
    problems: list[str] = []
    checked = 0
    for call in _calls(app):
        if role not in call.roles or call.method not in ("GET", "POST"):
            continue
        r, url = _request(client, call, headers)
        if r.status_code >= 300:
            continue
        checked += 1
        body = r.content
        if CANARY.encode() in body:
            problems.append(f"{url}: a CANARY field leaked")
        leaked = [p for p in postcodes if p in body]
        if leaked:
            problems.append(f"{url}: pupils' home postcodes leaked: {leaked[:3]}")
        collection = _collection_of(url)
        reference = collection in REFERENCE
        ctype = r.headers.get("content-type", "")
        if "json" in ctype:
            doc = r.json()
            feats = doc.get("features") if isinstance(doc, dict) else None
            if feats is None and isinstance(doc, dict) and doc.get("type") == "Feature":
                feats = [doc]
            problems += _check_features(role, url, feats or [], reference)
        elif "csv" in ctype and not reference:
            rows = list(csv.DictReader(io.StringIO(r.text)))
            for i, row in enumerate(rows):
                problems += _check_properties(role, f"{url} row {i}", row)
        elif "geopackage" in ctype and not reference:
            path = tmp_path / "d.gpkg"
            path.write_bytes(body)
            for name, geom_type in pyogrio.list_layers(path):
                if geom_type is None:  # a non-spatial table (QGIS layer_styles)
                    continue
                df = pyogrio.read_dataframe(path, layer=name)
                for i, row in enumerate(df.drop(columns="geometry").to_dict("records")):
                    problems += _check_properties(role, f"{url} {name} row {i}", row)
                kinds = set(df.geometry.geom_type.dropna())
                if kinds & {"Point", "MultiPoint"}:
                    problems.append(f"{url}: point geometries in {name}")
        elif "html" in ctype:
            text = r.text
            for field in ("description", "home_postcode", "ethnicity", "source_ref", "victim_age"):
                if f'"{field}"' in text:
                    problems.append(f"{url}: HTML carries field {field!r}")
    assert checked > 10
    assert problems == [], "\n".join(problems[:40])


@pytest.mark.parametrize("role", ["school", "neighbourhood"])
def test_aggregated_views_are_not_empty(service, role: str) -> None:
    app, toks = service
    client = TestClient(app)
    r = client.get(
        "/ogc/collections/h3-cells/items?limit=1000",
        headers={"Authorization": f"Bearer {toks[role]}"},
    )
    assert r.status_code == 200, r.text[:300]
    counts = [f["properties"].get("count") for f in r.json()["features"]]
    published = [c for c in counts if c]
    assert published, f"every {role} cell is suppressed or empty: {counts[:20]}"
    assert all(c % 5 == 0 and c >= 10 for c in published)


def test_neighbourhood_sees_only_its_area(service) -> None:
    from shapely.geometry import shape

    app, toks = service
    client = TestClient(app)
    principal = app.state.access.tokens.authenticate(toks["neighbourhood"])
    area = json.loads(json.dumps(principal.area.__geo_interface__))
    import geopandas as gpd

    area_wgs = gpd.GeoSeries([shape(area)], crs=27700).to_crs(4326).iloc[0].buffer(1e-6)
    feats = client.get(
        "/ogc/collections/h3-cells/items?limit=1000",
        headers={"Authorization": f"Bearer {toks['neighbourhood']}"},
    ).json()["features"]
    assert feats
    assert all(shape(f["geometry"]).intersects(area_wgs) for f in feats)


def test_rasters_stop_at_the_neighbourhood_boundary(service) -> None:
    import numpy as np
    import rasterio
    import shapely

    app, toks = service
    client = TestClient(app)
    area = app.state.access.tokens.authenticate(toks["neighbourhood"]).area
    outside = {}
    for role in ("neighbourhood", "analyst"):
        r = client.get("/rasters/kde.tif", headers={"Authorization": f"Bearer {toks[role]}"})
        assert r.status_code == 200
        with rasterio.MemoryFile(r.content) as mem, mem.open() as ds:
            grid = ds.read(1, masked=True).filled(np.nan)
            rows, cols = np.nonzero(np.isfinite(grid) & (grid > 0))
            xs, ys = rasterio.transform.xy(ds.transform, rows, cols)
        pts = shapely.points(np.asarray(xs), np.asarray(ys))
        outside[role] = int((~shapely.contains(area.buffer(1.0), pts)).sum())
        assert len(pts) > 0, f"{role} surface is empty"
    assert outside["neighbourhood"] == 0
    assert outside["analyst"] > 0  # the unclipped surface does reach beyond the area


def _content(r, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if "geopackage" in r.headers.get("content-type", ""):
        path = tmp_path / "x.gpkg"
        path.write_bytes(r.content)
        layer = next(name for name, kind in pyogrio.list_layers(path) if kind is not None)
        df = pyogrio.read_dataframe(path, layer=layer)
        return df.drop(columns="geometry").to_json()
    # drop what legitimately varies between renders: Folium's random element ids, stamps
    return re.sub(r"[0-9a-f]{32}", "ID", r.text.split("timeStamp")[0])


@pytest.mark.parametrize(
    "url",
    [
        "/maps/hotspots",
        f"/maps/schools/{SCHOOL_A}",
        "/ogc/collections/h3-cells/items",
        "/downloads/h3-cells.gpkg",
        "/downloads/h3-cells.csv",
    ],
)
def test_cached_outputs_are_per_role(service, url: str, tmp_path) -> None:
    """An analyst's cached map or layer is never served to another role (and back)."""
    app, toks = service
    client = TestClient(app)
    app.state.services.layers.clear()
    app.state.services.html_cache.clear()
    seen = {}
    for role in ("analyst", "school", "analyst", "school"):
        r = client.get(url, headers={"Authorization": f"Bearer {toks[role]}"})
        assert r.status_code == 200, (role, r.text[:200])
        seen.setdefault(role, set()).add(_content(r, tmp_path))
    assert len(seen["analyst"]) == 1 and len(seen["school"]) == 1
    assert seen["analyst"] != seen["school"]


def test_school_report_job_is_disclosure_controlled(service, demo_db, data_dir) -> None:
    import time

    app, toks = service
    client = TestClient(app)
    h = {"Authorization": f"Bearer {toks['school']}"}
    r = client.post("/journeys/report", json={"school": SCHOOL_A}, headers=h)
    assert r.status_code == 202
    job = r.json()
    deadline = time.monotonic() + 180
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/jobs/{job['id']}", headers=h).json()
    assert job["state"] == "done", job
    body = json.dumps(job).encode()
    assert CANARY.encode() not in body
    assert not [p for p in _home_postcodes(demo_db, data_dir) if p in body]
    assert _walk_counts(job["result"], "result") == []
    for key in ("corridors", "hotspots"):
        fc = job["result"].get(key) or {}
        assert _check_features("school", key, fc.get("features", []), False) == []
    # another token cannot read the job
    other = client.get(f"/jobs/{job['id']}", headers={"Authorization": f"Bearer {toks['analyst']}"})
    assert other.status_code == 404


def test_public_exposure_model_uses_published_cell_counts(service) -> None:
    """Journey exposure and school reports for non-analysts come from a model whose inputs
    are published cell counts at cell centres (never an incident's own point)."""
    from collections import Counter

    from geosafe.publish import corridors
    from geosafe.publish.catalogue import DEFAULT_PARAMS

    app, _ = service
    svc = app.state.services.layers
    public = corridors.exposure_model(svc, DEFAULT_PARAMS, public=True)
    full = corridors.exposure_model(svc, DEFAULT_PARAMS)
    pts = public.incidents.to_crs(4326)
    assert len(pts) > 0
    per_cell = Counter(pts["h3_cell"])
    assert all(n % 5 == 0 and n >= 10 for n in per_cell.values()), per_cell
    for cell, geom in zip(pts["h3_cell"], pts.geometry, strict=True):
        lat, lng = h3.cell_to_latlng(cell)
        assert h3.get_resolution(cell) <= 8
        assert abs(geom.x - lng) < 1e-7 and abs(geom.y - lat) < 1e-7
    assert public.params["incidents"] % 5 == 0
    assert len(full.incidents) != len(public.incidents) or not full.incidents.geometry.equals(
        public.incidents.geometry
    )

"""Issue 14 item 3: the service on an area other than the demo.

A second area (three Enfield wards, a clipped part of the demo streets, a hand-written
school that is not a demo school; see ``tests/area/second_area.py``) is built with
``geosafe area build`` and served by a real ``uvicorn`` with ``GEOSAFE_AREA`` pointing at it.
The checks: the service lists exactly the schools inside the wards (found here from the
input files with shapely), the hand-written school gets corridors (analyst streets and the
school's published cells), a report and a placement check; a demo school outside the area is
refused; maps and reports carry the area's attribution.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pytest
import shapely

from geosafe import datasets
from geosafe.area import build as area_build
from geosafe.network.walk import WalkNetwork
from tests.api.test_browser import browser, wait_js  # noqa: F401  (shared Chromium)

from . import second_area as sa

PURPOSE = {"X-Purpose": "area service test"}
#: A demo school outside the three wards.
OUTSIDE_URN = "137531"


@dataclass(frozen=True)
class AreaServer:
    base: str
    area: Path
    summary: dict[str, Any]
    tokens: dict[str, str]
    roll_pupils: int
    roll: bytes
    inputs: Path

    def get(self, role: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **PURPOSE}
        return httpx.get(f"{self.base}{path}", headers=headers, timeout=300, **kw)

    def post(self, role: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **PURPOSE}
        return httpx.post(f"{self.base}{path}", headers=headers, timeout=300, **kw)


@pytest.fixture(scope="module")
def area_server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[AreaServer]:
    from geosafe.access.tokens import TokenStore, create_demo_tokens
    from geosafe.ingest import import_file
    from geosafe.store import Store
    from tests.access.loadtest import live_server

    folder = tmp_path_factory.mktemp("second-area")
    area, summary = sa.build(data_dir, folder)
    db = folder / "geosafe.db"
    store = Store(db)
    try:
        for f in datasets.police_files(area)[-12:]:
            import_file(store, "police_uk", f)
        import_file(store, "dir", sa.write_dir(area, folder / "dir.csv"))
    finally:
        store.close()
    roll, pupils = sa.roll_csv(area)
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as mp:
            # settings other test modules leave in the environment (a token database, an
            # audit log, rolls, an area) must not reach this server or its token store
            for key in [k for k in os.environ if k.startswith("GEOSAFE_")]:
                if key != "GEOSAFE_PERSON_KEY":
                    mp.delenv(key)
            # read by the token check (the school must be the area's) and the server process
            mp.setenv("GEOSAFE_AREA", str(area))
            tokens = create_demo_tokens(
                TokenStore(Path(str(db) + ".auth.sqlite")),
                school_urn=sa.NEW_URN,
                area_codes=list(sa.WARDS),
            )
            base = stack.enter_context(live_server(db, folder))
        yield AreaServer(base, area, summary, tokens, pupils, roll, folder / "inputs")


def _expected_schools(inputs: Path) -> set[str]:
    """URNs of the GIAS file's open secondaries inside the three wards (from the files)."""
    wards = gpd.read_file(inputs / "Wards_December_2018_Enfield_three.geojson").to_crs(27700)
    gias = pd.read_csv(inputs / "edubasealldata20250301.csv", dtype=str, encoding="cp1252")
    inside = shapely.contains_xy(
        wards.union_all(), gias["Easting"].astype(float), gias["Northing"].astype(float)
    )
    return set(gias.loc[inside, "URN"])


def test_second_area_differs_from_the_demo(area_server: AreaServer, data_dir: Path) -> None:
    s = area_server.summary
    demo = WalkNetwork.from_osm(datasets.osm_path(data_dir))
    net = WalkNetwork.from_osm(datasets.osm_path(area_server.area))
    assert 0 < net.n_nodes < demo.n_nodes and net.n_edges < demo.n_edges
    assert s["nodes"] == net.n_nodes
    expected = _expected_schools(area_server.inputs)
    assert sa.NEW_URN in expected and OUTSIDE_URN not in expected
    assert s["schools"] == len(expected)
    demo_schools = set(datasets.schools(data_dir, demo_only=True)["urn"])
    assert expected != demo_schools and sa.NEW_URN not in demo_schools


def test_service_lists_the_areas_schools(area_server: AreaServer) -> None:
    r = area_server.get("analyst", "/ogc/collections/schools/items?limit=1000")
    assert r.status_code == 200, r.text
    got = {f["id"] for f in r.json()["features"]}
    assert got == _expected_schools(area_server.inputs)


def test_a_demo_school_outside_the_area_is_refused(area_server: AreaServer) -> None:
    r = area_server.get("analyst", f"/ogc/collections/journey-corridors/items?school={OUTSIDE_URN}")
    assert r.status_code == 404
    assert OUTSIDE_URN in r.text and "this area" in r.text


def test_new_school_roll_corridors_and_report(area_server: AreaServer) -> None:
    srv = area_server
    up = srv.post(
        "school",
        f"/schools/{sa.NEW_URN}/roll",
        files={"file": ("roll.csv", srv.roll, "text/csv")},
    )
    assert up.status_code == 201, up.text
    assert up.json()["pupils"] == srv.roll_pupils and up.json()["unknown"] == 0

    # analyst: street stretches of the hand-written school's pupils, on the area's network
    r = srv.get("analyst", f"/ogc/collections/journey-corridors/items?school={sa.NEW_URN}")
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    assert feats and {f["properties"]["school_urn"] for f in feats} == {sa.NEW_URN}
    pupils = np.array([f["properties"]["pupils"] for f in feats], dtype=float)
    assert pupils.max() <= srv.roll_pupils
    lines = gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) for f in feats], crs=4326).to_crs(
        27700
    )
    net = WalkNetwork.from_osm(datasets.osm_path(srv.area))
    tree = shapely.STRtree(shapely.points(net.node_x, net.node_y))
    parts = shapely.get_parts(lines.to_numpy())
    ends = np.concatenate([shapely.get_point(parts, 0), shapely.get_point(parts, -1)])
    # every stretch starts and ends at a node of the second area's network
    _, dist = tree.query_nearest(ends, return_distance=True)
    assert float(np.max(dist)) < 1.0
    # the busiest stretch is the school's doorstep: within 400 m of it
    school = shapely.Point(sa.NEW_EN)
    assert lines.iloc[int(np.argmax(pupils))].distance(school) < 400

    # the school itself: published H3 res-8 cells, 10+ pupils, rounded to 5
    r = srv.get("school", f"/ogc/collections/journey-corridors/items?school={sa.NEW_URN}")
    assert r.status_code == 200, r.text
    cells = [f["properties"] for f in r.json()["features"]]
    assert cells and all(c["pupils"] >= 10 and c["pupils"] % 5 == 0 for c in cells)

    # the whole school's report (background job)
    job = srv.post("analyst", "/journeys/report", json={"school": sa.NEW_URN})
    assert job.status_code == 202, job.text
    url = job.headers["Location"]
    for _ in range(600):
        st = httpx.get(url, headers={"Authorization": f"Bearer {srv.tokens['analyst']}"}).json()
        if st["state"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert st["state"] == "done", st
    rep = st["result"]
    assert rep["school_urn"] == sa.NEW_URN and rep["school_name"] == sa.NEW_NAME
    summary = rep["summary"]
    assert summary["pupils"] == srv.roll_pupils
    assert summary["routed"]["walk"] + summary["unroutable"] == srv.roll_pupils
    # unroutable: exactly the homes over 250 m (the snap limit) from every street segment
    # of the area's network (the bundled extract does not cover all of Palmers Green)
    roll = pd.read_csv(io.BytesIO(srv.roll), dtype={"postcode": str})
    pcs = datasets.postcodes(srv.area)
    pcs = pcs[~pcs.index.duplicated()]
    keys = roll["postcode"].str.replace(" ", "")
    homes = shapely.points(pcs.loc[keys, ["easting", "northing"]].to_numpy())
    segs = shapely.linestrings(
        np.stack(
            [
                np.column_stack([net.node_x[net.edge_u], net.node_y[net.edge_u]]),
                np.column_stack([net.node_x[net.edge_v], net.node_y[net.edge_v]]),
            ],
            axis=1,
        )
    )
    _, off = shapely.STRtree(segs).query_nearest(homes, return_distance=True, all_matches=False)
    assert summary["unroutable"] == int(roll["pupils"][off > 250.0].sum())
    assert summary["unroutable"] < 0.1 * srv.roll_pupils
    assert rep["corridors"]["features"]
    assert any("OpenStreetMap contributors" in a for a in rep.get("attribution", []))


def test_placement_check_on_the_new_school(area_server: AreaServer) -> None:
    srv = area_server
    pcs = datasets.postcodes(srv.area)
    d = np.hypot(pcs["easting"] - sa.NEW_EN[0], pcs["northing"] - sa.NEW_EN[1])
    home = str(pcs.loc[(d > 600) & (d < 900), "postcode"].sort_values().iloc[0])
    body = {"school": [sa.NEW_URN, "102053"], "origins": [home]}
    r = srv.post("analyst", "/journeys/placement", json=body)
    assert r.status_code == 200, r.text
    cands = {c["school_urn"]: c for c in r.json()["candidates"]}
    assert set(cands) == {sa.NEW_URN, "102053"}
    walk = next(j for k, j in cands[sa.NEW_URN]["journeys"].items() if j["mode"] == "walk")
    assert walk["error"] is None
    straight = float(d.loc[pcs["postcode"] == home].iloc[0])
    assert straight <= walk["distance_m"] <= 2.5 * straight + 300
    page = srv.post("analyst", "/journeys/placement", json={**body, "page": sa.NEW_URN})
    assert page.status_code == 200 and sa.NEW_NAME in page.text
    import html

    assert all(html.escape(x) in page.text for x in area_build.attribution(srv.area))


def test_maps_reports_and_collections_carry_the_areas_attribution(
    area_server: AreaServer,
) -> None:
    import html

    srv = area_server
    full = area_build.attribution(srv.area)
    short = area_build.attribution(srv.area, short=True)
    assert any("OpenStreetMap contributors" in x for x in full)
    assert any("Get Information about Schools" in x for x in full)  # the GIAS input
    assert any("Code-Point Open" in x for x in full)
    base = srv.get("analyst", "/maps/basemap.json").json()
    assert base["attribution"] == full and base["attribution_short"] == short
    coll = srv.get("neighbourhood", "/ogc/collections/hotspots-kde").json()
    assert coll["attribution"] == "; ".join(full)
    # boundary, streets, GTFS (its publisher's terms): in input order
    assert coll["license"] == "OGL-UK-3.0 AND ODbL-1.0 AND LicenseRef-GTFS-publisher-terms"
    folium_page = srv.get("analyst", f"/maps/schools/{sa.NEW_URN}").text
    assert "attributionControl.addAttribution" in folium_page
    assert "OpenStreetMap contributors (ODbL)" in folium_page
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(*sa.NEW_EN)
    place = srv.get("analyst", f"/places/report?lon={lon}&lat={lat}&radius=300")
    assert place.status_code == 200, place.text
    assert place.json()["attribution"] == full
    profile = srv.get("neighbourhood", "/reports/profile?datetime=2025")
    assert profile.status_code == 200, profile.text
    assert all(html.escape(x) in profile.text for x in full)


@pytest.mark.browser
def test_page_lists_the_areas_schools_and_routes_the_new_one(
    area_server: AreaServer,
    browser: Any,  # noqa: F811
    out_dir: Path,
) -> None:
    from tests.clients.test_web_roles import Session

    srv = area_server
    expected = _expected_schools(srv.inputs)
    analyst = Session(browser, srv, "analyst")  # type: ignore[arg-type]
    try:
        options = analyst.page.eval_on_selector_all(
            "#school option", "els => els.map(e => e.value).filter(Boolean)"
        )
        assert set(options) == expected
        attribution = analyst.page.inner_text(".leaflet-control-attribution")
        assert "OpenStreetMap contributors (ODbL)" in attribution
        assert "DfE GIAS" in attribution
        analyst.page.select_option("#school", sa.NEW_URN)
        wait_js(analyst.page, "window.geosafeState.schoolLoads >= 1", 240)
        st = analyst.state()
        assert st["corridors"] > 0 and not analyst.errors and not analyst.outside
        analyst.page.screenshot(path=str(out_dir / "web-area-analyst.png"))
    finally:
        analyst.context.close()
    school = Session(browser, srv, "school")  # type: ignore[arg-type]
    try:
        wait_js(school.page, "(window.geosafeState.schoolLoads || 0) >= 1", 240)
        st = school.state()
        assert st["corridors"] > 0 and not school.errors and not school.outside
        assert school.page.input_value("#school") == sa.NEW_URN
        school.page.screenshot(path=str(out_dir / "web-area-school.png"))
    finally:
        school.context.close()


@pytest.fixture(scope="module")
def out_dir() -> Path:
    """``test-output/`` at the repository root (git-ignored): screenshots."""
    out = Path(__file__).resolve().parents[2] / "test-output"
    out.mkdir(parents=True, exist_ok=True)
    return out

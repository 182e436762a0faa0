"""Interventions on maps (issue 13 leftovers): the analyst's GeoJSON of the log with the last
evaluation, and what schools and neighbourhood teams may see, ``/interventions/published``:
published cells, months and an evaluation from published counts, never what was written.

The leak checks: no free text (what, notes, the where as given) in a non-analyst's answer;
its outline is made of H3 resolution-8 cells (every vertex is a vertex of one of the listed
cells, so the exact area cannot be traced back); a neighbourhood sees only interventions whose
cells touch its wards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h3
import numpy as np
import pytest
import shapely

from geosafe import datasets

from ._copies import client_on_copy
from .conftest import Tokens, auth

SECRET_WHAT = "detached youth work with J. Smith"
SECRET_NOTES = "meets at 12 Example Road"


@pytest.fixture(scope="module")
def own(store_path: Path, tokens: Tokens, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with client_on_copy(store_path, tmp_path_factory.mktemp("iv-maps")) as pair:
        yield pair


def _ward_names() -> tuple[str, str]:
    """The neighbourhood token's ward (at the demo area's centre) and a demo-area ward that
    does not touch it."""
    wards = datasets.wards()
    wards = wards[wards.intersects(datasets.demo_area())]
    home = wards[wards.intersects(datasets.demo_area().centroid)].iloc[0]
    far = wards[~wards.intersects(home.geometry.buffer(1500))].iloc[0]
    return str(home["name"]), str(far["name"])


def test_analyst_map_and_published_view(own: Any, tokens: Tokens) -> None:
    client, _ = own
    h = auth(tokens.analyst)
    home, far = _ward_names()
    for ward in (home, far):
        body = {
            "what": SECRET_WHAT,
            "where": {"kind": "ward", "ref": ward},
            "start": "2024-06-10",
            "notes": SECRET_NOTES,
        }
        assert client.post("/interventions", json=body, headers=h).status_code == 200
    fc = client.get("/interventions/map", headers=h).json()
    assert [f["properties"]["where_ref"] for f in fc["features"]] == [home, far]
    first = fc["features"][0]
    assert first["properties"]["what"] == SECRET_WHAT
    assert first["properties"]["evaluation"] is None  # never evaluated
    assert "notes" not in first["properties"]  # free text stays in the log
    outline = shapely.geometry.shape(first["geometry"])
    ward = datasets.wards().to_crs(4326)
    ward = ward[ward["name"] == home].geometry.iloc[0]
    assert outline.symmetric_difference(ward).area < 0.01 * ward.area  # the ward itself
    # after an evaluation, its summary is on the map (or the store is too short to evaluate)
    r = client.get("/interventions/evaluation", params={"id": 1}, headers=h)
    ev = client.get("/interventions/map", headers=h).json()["features"][0]["properties"]
    if r.status_code == 200:
        assert ev["evaluation"]["reading"] == r.json()["reading"]
        assert ev["evaluation"]["percent_change"] == pytest.approx(
            r.json()["estimate"]["percent_change"], abs=0.1
        )
    else:
        assert ev["evaluation"] is None

    for role, token in (("school", tokens.school), ("neighbourhood", tokens.neighbourhood)):
        assert client.get("/interventions/map", headers=auth(token)).status_code == 403
        r = client.get("/interventions/published", headers=auth(token))
        assert r.status_code == 200, r.text
        text = r.text
        for secret in (SECRET_WHAT, "J. Smith", SECRET_NOTES, home, far, '"what"', '"notes"'):
            assert secret not in text, (role, secret)
        feats = r.json()["features"]
        ids = [f["id"] for f in feats]
        assert ids == ([1, 2] if role == "school" else [1]), (role, ids)
        for f in feats:
            p = f["properties"]
            assert p["evaluated"] or p["reason"], p
            if p["evaluated"]:
                assert p["change_pct"] % 10 == 0 and all(v % 10 == 0 for v in p["interval_pct"])
            # every vertex of the outline is a vertex of a listed resolution-8 cell
            corners = np.asarray(
                [(lng, lat) for c in p["cells"] for lat, lng in h3.cell_to_boundary(c)]
            )
            assert all(h3.get_resolution(c) == 8 for c in p["cells"])
            xy = shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))
            gap = np.abs(xy[:, None, :] - corners[None, :, :]).max(axis=2).min(axis=1)
            assert gap.max() < 2e-6, (role, gap.max())
    assert client.get("/interventions/published").status_code == 401


def test_folium_maps_draw_interventions_per_role(own: Any, tokens: Tokens) -> None:
    client, _ = own
    if not client.get("/interventions/map", headers=auth(tokens.analyst)).json()["features"]:
        body = {"what": SECRET_WHAT, "where": {"kind": "ward", "ref": _ward_names()[0]}}
        body["start"] = "2024-06-10"
        client.post("/interventions", json=body, headers=auth(tokens.analyst))
    page = client.get("/maps/hotspots", headers=auth(tokens.analyst)).text
    assert "Intervention 1: " + SECRET_WHAT in page and "#006d2c" in page
    assert "interventions (" in page  # the legend row
    for token in (tokens.school, tokens.neighbourhood):
        page = client.get("/maps/hotspots", headers=auth(token)).text
        assert SECRET_WHAT not in page and SECRET_NOTES not in page
        assert "Intervention 1 (" in page and "published cells" in page
    school = client.get(f"/maps/schools/{tokens.school_urn}", headers=auth(tokens.school)).text
    assert "published cells" in school and SECRET_WHAT not in school

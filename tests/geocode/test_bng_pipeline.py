"""The fixed WGS84 <-> British National Grid pipeline (:data:`BNG_PIPELINE`, built in well
under a millisecond) gives what ``pyproj.Transformer.from_crs`` gives, across Great Britain."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from geosafe.geocode import points


def _gb_points(n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(16)
    return rng.uniform(-5.7, 1.7, n), rng.uniform(49.95, 55.8, n)


@pytest.mark.skipif(points._ostn15_installed(), reason="OSTN15 installed: from_crs is used")
def test_lonlat_to_bng_equals_from_crs_to_the_millimetre() -> None:
    lon, lat = _gb_points()
    ref = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    want_x, want_y = ref.transform(lon, lat)
    x, y = points.lonlat_to_bng(lon, lat)
    assert np.abs(x - want_x).max() < 1e-3
    assert np.abs(y - want_y).max() < 1e-3
    # and not by luck: the projection without the datum shift is ~100 m away everywhere
    tm = pyproj.Transformer.from_pipeline(
        "proj=pipeline step proj=unitconvert xy_in=deg xy_out=rad step proj=tmerc lat_0=49 "
        "lon_0=-2 k=0.9996012717 x_0=400000 y_0=-100000 ellps=airy"
    )
    bx, by = tm.transform(lon, lat)
    assert np.hypot(bx - want_x, by - want_y).min() > 50


@pytest.mark.skipif(points._ostn15_installed(), reason="OSTN15 installed: from_crs is used")
def test_bng_to_lonlat_equals_from_crs() -> None:
    lon, lat = _gb_points()
    ref = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = ref.transform(lon, lat)
    back = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    want_lon, want_lat = back.transform(x, y)
    got_lon, got_lat = points.bng_to_lonlat(x, y)
    # 1e-8 degrees is about 1 mm
    assert np.abs(got_lon - want_lon).max() < 1e-8
    assert np.abs(got_lat - want_lat).max() < 1e-8

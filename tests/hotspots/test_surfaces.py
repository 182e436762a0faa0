from __future__ import annotations

import json
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, shape

from geosafe.hotspots import kde, surfaces

from .conftest import make_frame

X0, Y0 = 530000.0, 180000.0


@pytest.fixture
def surface() -> tuple[kde.KdeResult, np.ndarray]:
    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.normal(0, 150, (800, 2)), rng.normal(1200, 100, (400, 2))]) + np.array(
        [X0, Y0]
    )
    area = Point(X0 + 500, Y0 + 500).buffer(2000)
    return kde.kde_surface(xy, bandwidth=200, cell=20, study_area=area), xy


def test_cog_is_readable_by_gdal(tmp_path, surface) -> None:  # type: ignore[no-untyped-def]
    res, _ = surface
    out = surfaces.write_cog(res, tmp_path / "k.tif")
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 27700
        assert ds.nodata == surfaces.NODATA
        band = ds.read(1, masked=True)
        assert band.mask.sum() == int(np.isnan(res.grid).sum())
        np.testing.assert_allclose(band.filled(np.nan), res.grid.astype("float32"), equal_nan=True)
        assert ds.tags()["units"] == "incidents per km2"
    if shutil.which("gdalinfo"):
        info = json.loads(
            subprocess.run(
                ["gdalinfo", "-json", str(out)], capture_output=True, text=True, check=True
            ).stdout
        )
        assert info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
        assert info["bands"][0]["noDataValue"] == surfaces.NODATA


def test_top_percent_polygons_cover_that_share(tmp_path, surface) -> None:  # type: ignore[no-untyped-def]
    res, xy = surface
    pts = make_frame([Point(x, y) for x, y in xy])
    poly = surfaces.hotspot_polygons(res, top_percent=5, points=pts)
    inside = np.isfinite(res.grid).sum() * res.cell_m**2
    assert poly["area_m2"].sum() == pytest.approx(0.05 * inside, rel=0.02)
    assert len(poly) == 2  # the two blobs
    assert poly.crs.to_epsg() == 4326
    # independent count: points within the polygons by shapely (in BNG)
    bng = poly.to_crs(27700)
    n = sum(int(g.contains(Point(x, y))) for g in bng.geometry for x, y in xy)
    assert poly["incidents"].sum() == n
    path = surfaces.write_geojson(poly, tmp_path / "h.geojson")
    doc = json.loads(path.read_text())
    assert "crs" not in doc
    g0 = shape(doc["features"][0]["geometry"])
    assert g0.is_valid and -1 < g0.centroid.x < 1


def test_threshold_polygons(surface) -> None:  # type: ignore[no-untyped-def]
    res, _ = surface
    thr = float(np.nanmax(res.grid)) * 0.5
    poly = surfaces.hotspot_polygons(res, threshold=thr)
    cells = (np.nan_to_num(res.grid) >= thr).sum()
    assert poly["area_m2"].sum() == pytest.approx(cells * res.cell_m**2)
    assert (poly["peak_density"] >= thr).all()
    assert isinstance(poly, gpd.GeoDataFrame)

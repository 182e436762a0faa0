"""The bundled GeoPackages read with sqlite3 + shapely (no GDAL in a server) equal what GDAL
reads (issue 16 item 1, server memory)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geosafe import datasets

DATA = Path(__file__).resolve().parents[2] / "data"
LAYERS = [
    ("boundaries/boundaries.gpkg", "boroughs"),
    ("boundaries/boundaries.gpkg", "wards_2018"),
    ("boundaries/boundaries.gpkg", "lsoa_2021"),
    ("boundaries/boundaries.gpkg", "demo_area"),
    ("parks/parks.gpkg", "parks"),
]


@pytest.mark.parametrize(("name", "layer"), LAYERS)
def test_bundled_layer_equals_gdal(name: str, layer: str) -> None:
    path = DATA / name
    ours = datasets._gpkg_frame(path, layer)
    gdal = gpd.read_file(path, layer=layer, engine="pyogrio")
    assert ours is not None and len(ours) > 0
    assert_geodataframe_equal(ours, gdal, check_crs=True)
    assert shapely.equals_exact(ours.geometry.values, gdal.geometry.values, 0).all()


def test_other_crs_falls_back_to_gdal(tmp_path: Path) -> None:
    wards = gpd.read_file(DATA / "boundaries/boundaries.gpkg", layer="wards_2018").head(5)
    path = tmp_path / "wgs84.gpkg"
    wards.to_crs(4326).to_file(path, layer="wards", engine="pyogrio")
    assert datasets._gpkg_frame(path, "wards") is None
    back = datasets._read_gpkg(path, "wards")
    assert back.crs.to_epsg() == 27700 and list(back["gss_code"]) == list(wards["gss_code"])
    assert back.geometry.area.sum() == pytest.approx(wards.geometry.area.sum(), rel=1e-3)


def test_server_start_loads_no_gdal() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom api import create_app\ncreate_app()\n"
        "from geosafe import datasets\ndatasets.demo_area(); datasets.wards(); datasets.parks()\n"
        "print(sorted(m for m in ('pyogrio', 'rasterio', 'folium', 'scipy.sparse', 'scipy.stats', 'fiona') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout  # fmt: skip
    assert out.strip() == "[]"

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


def test_stored_greater_london_is_the_union_of_the_boroughs(tmp_path: Path) -> None:
    """The default area of interest comes from the bundled ``greater_london`` layer; it is
    GEOS's union of the 33 boroughs, and a data folder without the layer gets that union."""
    boroughs = gpd.read_file(DATA / "boundaries/boundaries.gpkg", layer="boroughs")
    union = shapely.union_all(boroughs.geometry.to_numpy())
    stored = datasets._gpkg_geometries(
        DATA / "boundaries/boundaries.gpkg", datasets.GREATER_LONDON_LAYER
    )
    assert stored is not None and len(stored) == 1
    assert stored[0].equals(union) and stored[0].symmetric_difference(union).area == 0
    other = tmp_path / "d"
    (other / "boundaries").mkdir(parents=True)
    boroughs.to_file(other / "boundaries/boundaries.gpkg", layer="boroughs", engine="pyogrio")
    assert datasets._gpkg_geometries(other / "boundaries/boundaries.gpkg", "greater_london") is None
    assert datasets.greater_london(other).equals(union)
    assert datasets.greater_london(DATA).equals(union)

from __future__ import annotations

import geopandas as gpd
import h3
import pytest
from libpysal.weights import Queen, Rook
from shapely.geometry import LineString, Point

from geosafe.hotspots import h3grid

from .conftest import make_frame

X0, Y0 = 530000.0, 180000.0


def test_neighbours_match_libpysal_contiguity() -> None:
    area = Point(X0, Y0).buffer(1500)
    cells = h3grid.cells_for_area(area, resolution=9)
    polys = gpd.GeoDataFrame({"cell": cells}, geometry=h3grid.cell_polygons(cells).values)
    nb = h3grid.h3_neighbours(cells, k=1)
    # polygons projected to BNG share edges only approximately: snap them in WGS84 instead
    wgs = polys.to_crs(4326)
    wgs["geometry"] = wgs.geometry.set_precision(1e-9)
    for cls in (Rook, Queen):
        w = cls.from_dataframe(wgs, ids=list(wgs["cell"]), use_index=False, silence_warnings=True)
        for c in cells:
            assert sorted(w.neighbors[c]) == nb[c]


def test_counts_cover_study_area_with_zero_cells() -> None:
    area = Point(X0, Y0).buffer(1000)
    pts = [Point(X0, Y0), Point(X0 + 5, Y0), Point(X0 + 600, Y0 + 100), Point(X0 + 5000, Y0)]
    f = make_frame(pts)
    counts = h3grid.h3_counts(f, resolution=9, study_area=area)
    expected_cells = set(h3grid.cells_for_area(area, resolution=9))
    assert set(counts["h3_cell"]) == expected_cells
    ll = gpd.GeoSeries(pts[:3], crs=27700).to_crs(4326)
    occupied = {h3.latlng_to_cell(p.y, p.x, 9) for p in ll}
    assert set(counts.loc[counts["count"] > 0, "h3_cell"]) == occupied
    assert counts["count"].sum() == 3  # the far point is outside
    lon, lat = gpd.GeoSeries([pts[0]], crs=27700).to_crs(4326).iloc[0].coords[0]
    c0 = h3.latlng_to_cell(lat, lon, 9)
    assert counts.set_index("h3_cell").loc[c0, "count"] >= 2
    assert counts.attrs["outside_area"] == 1


def test_precision_and_lines() -> None:
    f = make_frame(
        [Point(X0, Y0), Point(X0, Y0), LineString([(X0, Y0), (X0 + 3000, Y0)])],
        precision_m=[10.0, 1000.0, 500.0],
    )
    counts = h3grid.h3_counts(f, resolution=9)
    assert counts.attrs["excluded_precision"] == 1
    assert counts["count"].sum() == pytest.approx(2.0)
    assert (counts["count"] > 0).sum() > 5  # the line is spread along its cells
    # 3 km of line over ~400 m hexagons: no cell holds more than a fifth of its weight, + the point
    assert counts["count"].max() <= 1 + 0.2

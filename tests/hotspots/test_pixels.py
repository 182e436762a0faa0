"""Hotspot polygons and study-area masks without GDAL (``geosafe.hotspots.pixels``) against
rasterio/GDAL as the independent reference: the same geometries (vertex for vertex, and so
the same areas and no symmetric difference), the same masks, on hand-written grids (holes,
cells touching only at a corner, grid edges, ties on cell centres) and real ones."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import geometry_mask, shapes
from scipy import ndimage

from geosafe import datasets
from geosafe.hotspots import kde, surfaces
from geosafe.hotspots.pixels import cells_inside, region_polygons

T = Affine(50.0, 0.0, 530000.0, 0.0, -50.0, 181000.0)


def _gdal_regions(labels: np.ndarray, transform: Affine) -> dict[int, shapely.Geometry]:
    """What the service did before: rasterio's 4-connected polygons, unioned per label."""
    polys: dict[int, list[shapely.Geometry]] = {}
    lab = labels.astype("int32")
    for geom, value in shapes(lab, mask=lab > 0, transform=transform):
        polys.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    return {k: shapely.union_all(v) for k, v in polys.items()}


def _assert_same_regions(labels: np.ndarray, transform: Affine = T) -> None:
    ref = _gdal_regions(labels, transform)
    ids = sorted(ref)
    ours = region_polygons(labels, transform, ids)
    for i, got in zip(ids, ours, strict=True):
        want = ref[i]
        assert got.area == pytest.approx(want.area, rel=1e-12)
        assert shapely.symmetric_difference(got, want).area == pytest.approx(0, abs=1e-6)
        # vertex for vertex: ring starts, orientation, hole order and part order
        assert shapely.equals_identical(got, want), (i, got.wkt, want.wkt)


GRIDS = {
    "hole": [[1, 1, 1], [1, 0, 1], [1, 1, 1]],
    "hole touching the exterior at a corner": [[1, 1, 1], [1, 0, 1], [1, 1, 0]],
    "two holes touching at a corner": [[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 1]],
    "three holes": [
        [1, 1, 1, 1, 1],
        [1, 0, 1, 0, 1],
        [1, 1, 1, 1, 1],
        [1, 0, 1, 1, 1],
        [1, 1, 1, 1, 1],
    ],
    # diagonal neighbours: one 8-connected label, two 4-connected pieces (rasterio's default)
    "diagonal pair": [[1, 0], [0, 1]],
    "staircase": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]],
    "piece inside a hole": [
        [1, 1, 1, 1, 1],
        [1, 0, 0, 0, 1],
        [1, 0, 1, 0, 1],
        [1, 0, 0, 0, 1],
        [1, 1, 1, 1, 1],
    ],
    "piece in a hole touching it at a corner": [
        [1, 1, 1, 1],
        [1, 0, 0, 1],
        [1, 0, 1, 0],
        [1, 1, 0, 1],
    ],
    "every edge of the grid": [[1, 1, 1, 1], [1, 0, 0, 1], [1, 1, 1, 1]],
    "one cell": [[1]],
    "checkerboard": [[(r + c) % 2 for c in range(6)] for r in range(5)],
    "U then closed diagonally": [[1, 1, 1], [1, 0, 1], [0, 1, 1]],
}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_hand_written_grids_match_gdal(name: str) -> None:
    hot = np.array(GRIDS[name], dtype=bool)
    labels, _ = ndimage.label(hot, structure=np.ones((3, 3)))
    _assert_same_regions(labels)


def test_diagonal_cells_are_separate_polygons_as_gdal_draws_them() -> None:
    (got,) = region_polygons(np.array([[1, 0], [0, 1]]), T)
    assert got.geom_type == "MultiPolygon" and len(got.geoms) == 2  # 4-connectivity
    assert got.area == pytest.approx(2 * 50 * 50)


def test_several_labels_and_values_match_gdal() -> None:
    labels = np.array([[1, 1, 0, 2], [0, 1, 2, 2], [3, 0, 0, 2], [3, 3, 0, 0]], dtype=np.int32)
    _assert_same_regions(labels)
    ours = region_polygons(labels, T, [3, 9, 1])
    assert ours[1].is_empty and ours[2].area == pytest.approx(3 * 2500)


@pytest.mark.parametrize("seed", range(6))
def test_random_grids_match_gdal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n, m = rng.integers(1, 30, 2)
        hot = rng.random((n, m)) < rng.uniform(0.2, 0.8)
        labels, _ = ndimage.label(hot, structure=np.ones((3, 3)))
        _assert_same_regions(labels, Affine(25.0, 0, 500000.0, 0, -25.0, 200000.0))


def _real_surface(months: int, cell: float, bandwidth: float) -> kde.KdeResult:
    frames = []
    for path in datasets.police_files()[-months:]:
        with gzip.open(path, "rt") as fh:
            frames.append(pd.read_csv(fh).dropna(subset=["Longitude", "Latitude"]))
    df = pd.concat(frames)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        df["Longitude"].to_numpy(), df["Latitude"].to_numpy()
    )
    return kde.kde_surface(
        np.column_stack([x, y]),
        bandwidth=bandwidth,
        cell=cell,
        study_area=datasets.demo_area(),
    )


@pytest.mark.parametrize(
    ("months", "cell", "bandwidth", "top"), [(12, 25, 250, 5), (24, 10, 150, 20)]
)
def test_real_hotspot_polygons_match_gdal(
    months: int, cell: float, bandwidth: float, top: float
) -> None:
    res = _real_surface(months, cell, bandwidth)
    out = surfaces.hotspot_polygons(res, top_percent=top)
    # the reference: the same cells through rasterio
    hot = np.isfinite(res.grid) & (res.grid >= out["threshold"].iloc[0]) & (res.grid > 0)
    labels, _ = ndimage.label(hot, structure=np.ones((3, 3)))
    _assert_same_regions(labels, res.transform)
    assert len(out) == labels.max() > 1
    assert out["area_m2"].sum() == pytest.approx(hot.sum() * cell * cell, rel=1e-12)


# ------------------------------------------------------------------------------- masks


def _assert_same_mask(geom: shapely.Geometry, shape: tuple[int, int], transform: Affine) -> None:
    want = geometry_mask([geom], out_shape=shape, transform=transform, invert=True)
    got = cells_inside(geom, shape, transform)
    assert got.dtype == bool and got.shape == shape
    assert np.array_equal(got, want), np.argwhere(got != want)[:5]


def _px(coords: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Pixel (col, row) positions to map coordinates of ``T``."""
    return [(T.c + c * T.a, T.f + r * T.e) for c, r in coords]


MASKS = {
    # edges exactly on cell-centre lines, each ring orientation (GDAL fills a bottom edge)
    "box on centre lines": shapely.Polygon(_px([(0.7, 1.5), (3.3, 1.5), (3.3, 3.5), (0.7, 3.5)])),
    "same, other orientation": shapely.Polygon(
        _px([(0.7, 1.5), (0.7, 3.5), (3.3, 3.5), (3.3, 1.5)])
    ),
    "vertices on cell centres": shapely.Polygon(_px([(0.5, 0.5), (4.5, 0.5), (2.5, 4.5)])),
    "hole on centre lines": shapely.Polygon(
        _px([(0.7, 1.5), (4.3, 1.5), (4.3, 5.5), (0.7, 5.5)]),
        [_px([(1.2, 2.5), (3.2, 2.5), (3.2, 4.5), (1.2, 4.5)])],
    ),
    "beyond every edge of the grid": shapely.Polygon(
        _px([(-3, -2), (9, -2.5), (9.7, 8), (-1.2, 7.5)]),
        [_px([(2, 2), (3, 2), (3, 3)])],
    ),
    "two parts touching at a corner": shapely.MultiPolygon(
        [
            shapely.Polygon(_px([(0.5, 0.5), (2.5, 0.5), (2.5, 2.5), (0.5, 2.5)])),
            shapely.Polygon(_px([(2.5, 2.5), (4.5, 2.5), (4.5, 4.5), (2.5, 4.5)])),
        ]
    ),
    "outside the grid": shapely.box(0, 0, 10, 10),
}


@pytest.mark.parametrize("name", sorted(MASKS))
def test_hand_written_masks_match_gdal(name: str) -> None:
    _assert_same_mask(MASKS[name], (7, 6), T)


@pytest.mark.parametrize("seed", range(4))
def test_random_masks_match_gdal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for k in range(50):
        n, m = (int(v) for v in rng.integers(1, 60, 2))
        if k % 2:  # vertices on half cells: ties on centre lines and centres
            pts = rng.integers(-4, 2 * max(n, m) + 4, (int(rng.integers(3, 12)), 2)) / 2.0
            geom = shapely.Polygon(pts).buffer(0)
        else:
            discs = [
                shapely.Point(rng.uniform(0, m), rng.uniform(0, n)).buffer(rng.uniform(0.3, 6))
                for _ in range(3)
            ]
            geom = shapely.union_all(discs).difference(
                shapely.Point(rng.uniform(0, m), rng.uniform(0, n)).buffer(rng.uniform(0.3, 3))
            )
        geom = shapely.transform(
            geom, lambda p: np.column_stack([T.c + p[:, 0] * T.a, T.f + p[:, 1] * T.e])
        )
        _assert_same_mask(geom, (n, m), T)


@pytest.mark.parametrize("cell", [10.0, 25.0, 33.3, 100.0])
def test_demo_area_and_wards_masks_match_gdal(cell: float) -> None:
    geoms = [datasets.demo_area(), *list(datasets.wards().geometry)[:12]]
    for geom in geoms:
        grid = kde.grid_for(geom.bounds, cell=cell, pad=2 * cell)
        _assert_same_mask(geom, (grid.nrows, grid.ncols), grid.transform)


def test_an_empty_geometry_covers_no_cell() -> None:
    assert not cells_inside(shapely.Polygon(), (3, 4), T).any()  # rasterio skips it too


def test_a_rotated_transform_is_refused() -> None:
    with pytest.raises(Exception, match="north-up"):
        cells_inside(shapely.box(0, 0, 1, 1), (2, 2), Affine(1, 0.1, 0, 0, -1, 0))

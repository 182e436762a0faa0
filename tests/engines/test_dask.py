"""The dask engine gives the single-process results (densities within floating tolerance,
counts and cluster memberships exactly), and scikit-learn's DBSCAN agrees on the clusters."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box
from sklearn.cluster import DBSCAN

from geosafe import datasets
from geosafe._errors import ValidationError
from geosafe.engines import dask as dask_engine
from geosafe.hotspots import dbscan, evaluate, gistar, h3grid, kde

from ..hotspots.conftest import make_frame

# The in-process test cluster runs tasks in two threads of this process: rasterio suppresses
# NotGeoreferencedWarning inside `warnings.catch_warnings()`, which is not thread-safe, so one
# thread's suppression can end while another's MemoryDataset is being made and the warning
# escapes (an error under pytest). Worker processes (the CLI, deployments) never share them.
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Same clusters up to the numbering, same noise."""
    if not np.array_equal(a < 0, b < 0):
        return False
    pairs = set(zip(a[a >= 0].tolist(), b[b >= 0].tolist(), strict=True))
    return len(pairs) == len(set(a[a >= 0].tolist())) == len(set(b[b >= 0].tolist()))


# ------------------------------------------------------------------------------------ KDE


def test_kde_hand_made_mass_and_single_process(client: Any) -> None:
    # four points, one on the edge of the grid's bounds, one line (bus route) and one coarse
    geoms = [
        Point(1000, 1000),
        Point(1030, 1010),
        Point(1200, 900),
        Point(1400, 1400),
        LineString([(900, 900), (1300, 900)]),
        Point(1100, 1100),
    ]
    gdf = make_frame(geoms, precision_m=[10, 10, 10, 10, 10, 300])
    parts = dask_engine.frame_partitions(gdf, 3)
    assert sum(len(p) for p in parts) == 6
    ours = dask_engine.kde_surface(client, parts, bandwidth=150, cell=20)
    ref = kde.kde_surface(gdf, bandwidth=150, cell=20)
    np.testing.assert_allclose(ours.grid, ref.grid, rtol=1e-9, atol=1e-9)
    assert ours.counts == ref.counts
    # 5 incidents used (the coarse one excluded): the surface integrates to them
    assert ours.integral() == pytest.approx(5.0, rel=1e-6)
    spread = dask_engine.kde_surface(
        client, parts, bandwidth=150, cell=20, precision="spread", kernel="gaussian"
    )
    ref = kde.kde_surface(gdf, bandwidth=150, cell=20, precision="spread", kernel="gaussian")
    np.testing.assert_allclose(spread.grid, ref.grid, rtol=1e-9, atol=1e-9)
    assert spread.counts == ref.counts


def test_kde_against_scipy_gaussian_kde(client: Any, police: gpd.GeoDataFrame) -> None:
    """Independent reference: Gaussians evaluated point by point (scipy) at cell centres."""
    from scipy.stats import multivariate_normal

    area = box(*police.total_bounds).buffer(1500)  # every point's kernel on the grid
    res = dask_engine.kde_surface(
        client,
        dask_engine.frame_partitions(police, 4),
        bandwidth=250,
        cell=50,
        kernel="gaussian",
        bounds=area.bounds,
    )
    xy = np.column_stack([police.geometry.x, police.geometry.y])
    xs, ys = res.grid_spec.centres()
    gx, gy = np.meshgrid(xs[::8], ys[::8])
    # scipy's multivariate normal, sigma 250 m in each axis, summed over the points
    mvn = multivariate_normal(mean=[0.0, 0.0], cov=np.eye(2) * 250.0**2)
    d = np.stack([gx.ravel()[:, None] - xy[:, 0], gy.ravel()[:, None] - xy[:, 1]], axis=-1)
    ref = mvn.pdf(d).sum(axis=1) * 1e6
    ours = res.grid[::8, ::8].ravel()
    inner = ref > ref.max() * 0.05
    np.testing.assert_allclose(ours[inner], ref[inner], rtol=0.02)


def test_kde_real_data_equals_single_process(client: Any, police: gpd.GeoDataFrame) -> None:
    parts = dask_engine.frame_partitions(police, 5)
    ours = dask_engine.kde_surface(client, parts, bandwidth=250, cell=50)
    ref = kde.kde_surface(police, bandwidth=250, cell=50)
    assert ours.grid.shape == ref.grid.shape
    assert ours.transform == ref.transform
    np.testing.assert_allclose(ours.grid, ref.grid, rtol=1e-9, atol=1e-9)
    assert ours.counts == ref.counts
    assert ours.total_weight == ref.total_weight


def test_kde_small_tiles_fold_like_the_whole_grid(
    client: Any, police: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Binned in 7-cell tiles, many points fall near tile edges and the grid's edges."""
    monkeypatch.setattr(dask_engine, "_BIN_TILE", 7)
    area = box(529000, 190500, 531000, 192500)  # crops the data: weight folds at the edges
    parts = dask_engine.frame_partitions(police, 3)
    ours = dask_engine.kde_surface(client, parts, bandwidth=200, cell=25, study_area=area)
    ref = kde.kde_surface(police, bandwidth=200, cell=25, study_area=area)
    np.testing.assert_allclose(ours.grid, ref.grid, rtol=1e-9, atol=1e-9)


def test_kde_auto_bandwidth_is_refused_with_the_fix(client: Any) -> None:
    gdf = make_frame([Point(0, 0), Point(10, 10)])
    with pytest.raises(ValidationError, match=r"`bandwidth` 'auto'.*--engine local"):
        dask_engine.kde_surface(client, [gdf], bandwidth="auto", cell=10)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- H3 counts, Gi*


def test_h3_counts_by_hand(client: Any) -> None:
    # three points in one res-9 cell, one in another; a line sampled into two cells
    gdf = make_frame([Point(530000, 190000)] * 3 + [Point(531000, 190000)])
    out = dask_engine.h3_counts(client, dask_engine.frame_partitions(gdf, 4), resolution=9)
    assert sorted(out["count"].tolist()) == [1.0, 3.0]
    ref = h3grid.h3_counts(gdf, resolution=9)
    assert out["h3_cell"].tolist() == ref["h3_cell"].tolist()


def test_gistar_real_data_equals_single_process_and_esda(
    client: Any, police: gpd.GeoDataFrame
) -> None:
    area = datasets.demo_area()
    parts = dask_engine.frame_partitions(police, 6)
    ours = dask_engine.gi_star(client, parts, resolution=9, study_area=area)
    counts = h3grid.h3_counts(police, resolution=9, study_area=area)
    ref = gistar.gi_star(counts)
    assert ours["h3_cell"].tolist() == ref["h3_cell"].tolist()
    assert np.array_equal(ours["count"].to_numpy(), ref["count"].to_numpy())  # exactly
    np.testing.assert_allclose(ours["gi_z"], ref["gi_z"], rtol=1e-12, atol=1e-12)
    assert ours["gi_class"].tolist() == ref["gi_class"].tolist()
    assert ours.attrs["used"] == ref.attrs["used"] == len(police)
    # independent reference: esda's Gi* z-scores on the same counts and rook contiguity
    import libpysal
    from esda import G_Local

    nb = h3grid.h3_neighbours(list(ours["h3_cell"]))
    w = libpysal.weights.W({c: v for c, v in nb.items()}, silence_warnings=True)
    w.transform = "B"
    y = ours.set_index("h3_cell").loc[w.id_order, "count"].to_numpy()
    g = G_Local(y, w, star=True, permutations=0, transform="B")
    z = ours.set_index("h3_cell").loc[w.id_order, "gi_z"].to_numpy()
    np.testing.assert_allclose(z, g.Zs, rtol=1e-6, atol=1e-9)


# -------------------------------------------------------------------------------- DBSCAN


def test_dbscan_clusters_across_tile_borders(client: Any) -> None:
    # a chain of points 40 m apart crossing the tile border at x = 1000 is one cluster;
    # a pair 200 m beyond it is noise; a dense blob inside one tile is a second cluster
    chain = [(880.0 + 40 * i, 500.0) for i in range(7)]  # 880 .. 1120
    blob = [(300.0 + dx, 300.0 + dy) for dx in (0, 10, 20) for dy in (0, 10)]
    lone = [(1500.0, 500.0), (1500.0, 900.0)]
    xy = np.array(chain + blob + lone)
    labels = dask_engine.dbscan_labels(client, xy, eps=50, min_samples=2, tile=1000)
    assert len(set(labels[:7])) == 1 and labels[0] >= 0
    assert len(set(labels[7:13])) == 1 and labels[7] >= 0 and labels[7] != labels[0]
    assert (labels[13:] == -1).all()
    assert np.array_equal(labels, dbscan.dbscan_labels(xy, eps=50, min_samples=2))


def test_dbscan_border_point_needs_the_halo(client: Any) -> None:
    # the core point's neighbours sit across the border: without a halo it would be noise
    xy = np.array([[995.0, 0.0], [1005.0, 0.0], [1010.0, 5.0], [1030.0, 0.0], [1200.0, 0.0]])
    labels = dask_engine.dbscan_labels(client, xy, eps=30, min_samples=3, tile=1000)
    ref = DBSCAN(eps=30, min_samples=3).fit(xy).labels_
    assert _same_partition(labels, ref)
    assert (labels[:4] >= 0).all() and labels[4] == -1


@pytest.mark.parametrize("tile", [150.0, 400.0, None])
def test_dbscan_random_equals_single_process_and_sklearn(client: Any, tile: float | None) -> None:
    rng = np.random.default_rng(7)
    xy = np.concatenate(
        [
            rng.normal(0, 250, (1500, 2)),
            rng.normal(1200, 60, (300, 2)),
            rng.uniform(-1500, 1500, (600, 2)),
        ]
    )
    xy = np.round(xy / 5) * 5  # police.uk-like shared coordinates
    ours = dask_engine.dbscan_labels(client, xy, eps=40, min_samples=6, tile=tile)
    assert np.array_equal(ours, dbscan.dbscan_labels(xy, eps=40, min_samples=6))
    sk = DBSCAN(eps=40, min_samples=6).fit(xy)
    core = np.zeros(len(xy), dtype=bool)
    core[sk.core_sample_indices_] = True
    # scikit-learn: same cores in the same clusters, same noise
    assert _same_partition(np.where(core, ours, -1), np.where(core, sk.labels_, -1))
    assert np.array_equal(ours < 0, sk.labels_ < 0)


def test_dbscan_weighted_real_data(client: Any, police: gpd.GeoDataFrame) -> None:
    xy = np.column_stack([police.geometry.x, police.geometry.y])
    w = np.where(np.arange(len(xy)) % 3 == 0, 2.0, 1.0)
    ours = dask_engine.dbscan_labels(client, xy, eps=100, min_samples=8, sample_weight=w, tile=800)
    assert np.array_equal(ours, dbscan.dbscan_labels(xy, eps=100, min_samples=8, sample_weight=w))
    sk = DBSCAN(eps=100, min_samples=8).fit(xy, sample_weight=w)
    core = np.zeros(len(xy), dtype=bool)
    core[sk.core_sample_indices_] = True
    assert _same_partition(np.where(core, ours, -1), np.where(core, sk.labels_, -1))
    assert np.array_equal(ours < 0, sk.labels_ < 0)
    assert (ours >= 0).sum() > 100  # the real data do cluster


def test_clusters_with_the_dask_labeller(client: Any, police: gpd.GeoDataFrame) -> None:
    import functools

    ref = dbscan.clusters(police, eps=100, min_samples=8)
    ours = dbscan.clusters(
        police,
        eps=100,
        min_samples=8,
        dbscan=functools.partial(dask_engine.dbscan_labels, client, tile=700),
    )
    assert ours.drop(columns="geometry").equals(ref.drop(columns="geometry"))
    assert ours.geometry.geom_equals_exact(ref.geometry, 1e-9).all()


# ----------------------------------------------------------------------------- backtests


def test_backtest_month_by_month_equals_single_process(
    client: Any, police: gpd.GeoDataFrame
) -> None:
    area, _ = evaluate.study_area_from_data(police, datasets.boroughs())
    kw: dict[str, Any] = {
        "methods": ["kde", "grid", "gistar", "dbscan"],
        "train_months": 6,
        "area": 0.05,
        "study_area": area,
        "first_test": "2023-01",
        "last_test": "2023-06",
    }
    ours = dask_engine.backtest(client, police, **kw)
    ref = evaluate.backtest(police, **kw)
    assert ours.summary() == ref.summary()
    assert ours.test_months == ref.test_months == tuple(f"2023-0{i}" for i in range(1, 7))


def test_backtest_from_store_months(client: Any, police: gpd.GeoDataFrame, tmp_path: Any) -> None:
    """Workers read their months from the store themselves."""
    from geosafe.ingest import import_file
    from geosafe.store import Store

    db = tmp_path / "s.db"
    with Store(db) as store:
        for f in sorted((datasets_dir() / "police").glob("2023-0[1-9]-*.csv.gz")):
            import_file(store, "police_uk", f)
        gdf = store.incidents(sources=["police_uk"])
    months = [f"2023-0{i}" for i in range(1, 10)]
    area = box(*gdf.total_bounds).buffer(100)
    kw: dict[str, Any] = {"methods": ["grid"], "train_months": 3, "study_area": area}
    ours = dask_engine.backtest(
        client, dict(zip(months, dask_engine.store_months(db, months), strict=True)), **kw
    )
    ref = evaluate.backtest(gdf, **kw)
    assert ours.summary() == ref.summary()
    kd = dask_engine.kde_surface(
        client, dask_engine.store_months(db, months), bandwidth=200, cell=50
    )
    np.testing.assert_allclose(
        kd.grid, kde.kde_surface(gdf, bandwidth=200, cell=50).grid, atol=1e-9
    )


def datasets_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "data"


def test_unreachable_scheduler_names_the_option() -> None:
    with (
        pytest.raises(ValidationError, match=r"`--scheduler` 'tcp://127.0.0.1:9'"),
        dask_engine.connect("tcp://127.0.0.1:9"),
    ):
        pass


def test_backtest_default_months_ignore_rows_outside_the_study_area(
    client: Any, police: gpd.GeoDataFrame
) -> None:
    """A stray early row outside the study area does not move the first test month."""
    area, _ = evaluate.study_area_from_data(police, datasets.boroughs())
    stray = make_frame([Point(100000, 100000)], times=["2021-01-05 10:00"])
    data = gpd.GeoDataFrame(pd.concat([stray, police], ignore_index=True), crs=police.crs)
    kw: dict[str, Any] = {"methods": ["grid"], "train_months": 12, "study_area": area}
    ours = dask_engine.backtest(client, data, **kw)
    ref = evaluate.backtest(data, **kw)
    assert ours.test_months == ref.test_months and ours.test_months[0] == "2023-01"
    assert ours.summary() == ref.summary()

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial import cKDTree
from shapely.geometry import Point
from sklearn.cluster import DBSCAN, HDBSCAN
from sklearn.metrics import adjusted_rand_score

from geosafe._errors import ValidationError
from geosafe.hotspots import dbscan

from .conftest import make_frame


def _data(n: int, seed: int = 0, snap: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 8000, (40, 2))
    xy = centres[rng.integers(0, 40, n)] + rng.normal(0, 120, (n, 2))
    xy = np.concatenate([xy, rng.uniform(0, 8000, (n // 4, 2))])
    if snap:
        xy = np.round(xy / snap) * snap  # recurring map points, like police.uk
    return xy + np.array([520000, 180000])


def _same_as_sklearn(xy: np.ndarray, eps: float, ms: int, w: np.ndarray | None = None) -> None:
    ours = dbscan.dbscan_labels(xy, eps=eps, min_samples=ms, sample_weight=w)
    ref = DBSCAN(eps=eps, min_samples=ms).fit(xy, sample_weight=w)
    core = np.zeros(len(xy), dtype=bool)
    core[ref.core_sample_indices_] = True
    assert core.any()
    # identical partition of core points, identical noise
    assert adjusted_rand_score(ours[core], ref.labels_[core]) == 1.0
    np.testing.assert_array_equal(ours < 0, ref.labels_ < 0)
    assert len(set(ours[ours >= 0])) == len(set(ref.labels_[ref.labels_ >= 0]))
    # a border point's cluster is that of some core point within eps
    border = ~core & (ours >= 0)
    tree = cKDTree(xy[core])
    core_labels = ours[core]
    for i in np.flatnonzero(border)[:500]:
        near = tree.query_ball_point(xy[i], eps)
        assert ours[i] in set(core_labels[near])


@pytest.mark.parametrize(("eps", "ms"), [(40.0, 8), (80.0, 20), (25.0, 3)])
def test_dbscan_matches_sklearn(eps: float, ms: int) -> None:
    _same_as_sklearn(_data(6000), eps, ms)


def test_dbscan_matches_sklearn_with_duplicates_and_weights() -> None:
    xy = _data(6000, seed=1, snap=20.0)
    _same_as_sklearn(xy, 50.0, 10)
    w = np.random.default_rng(2).uniform(0.2, 3.0, len(xy))
    _same_as_sklearn(xy, 50.0, 10, w)


@pytest.mark.slow
def test_dbscan_matches_sklearn_100k() -> None:
    _same_as_sklearn(_data(80_000, seed=3), 30.0, 15)


def test_hdbscan_matches_sklearn() -> None:
    xy = _data(3000, seed=4)
    ours = dbscan.hdbscan_labels(xy, min_cluster_size=25)
    ref = HDBSCAN(min_cluster_size=25, copy=True).fit_predict(xy)
    assert adjusted_rand_score(ours, ref) > 0.95


def test_clusters_carry_attributes() -> None:
    pts = [Point(530000 + i, 180000) for i in range(6)] + [Point(540000, 190000)]
    times = [
        "2024-01-08 08:15",
        "2024-01-09 08:40",
        "2024-01-10 15:10",
        "2024-02-01 08:05",
        "2024-02-03 00:00",
        "2024-02-05 08:59",
        "2024-03-01 12:00",
    ]
    prec = ["minute", "minute", "minute", "minute", "day", "minute", "minute"]
    src = ["dir", "dir", "asif", "cris", "cris", "dir", "dir"]
    f = make_frame(pts, times=times, time_precision=prec, source=src)
    out = dbscan.clusters(f, eps=20, min_samples=3)
    assert len(out) == 1
    c = out.iloc[0]
    assert c["count"] == 6
    assert json.loads(c["sources"]) == {"asif": 1, "cris": 2, "dir": 3}
    assert c["first_date"] == "2024-01-08" and c["last_date"] == "2024-02-05"
    assert c["peak_hour"] == 8
    assert c["area_m2"] >= np.pi * 10**2
    assert out.attrs["noise"] == 1
    assert out.crs.to_epsg() == 4326
    with pytest.raises(ValidationError, match="`eps` 0"):
        dbscan.clusters(f, eps=0)

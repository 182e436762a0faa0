"""HDBSCAN labels agree with scikit-learn's ``HDBSCAN`` and with ``fast_hdbscan`` at the same
parameters (issue 16, item 3). The earlier disagreement came from two settings, each tested
here: ``min_samples`` counts the point itself in scikit-learn but not in the ``hdbscan`` and
``fast_hdbscan`` packages, and the ``hdbscan`` package's default approximate spanning tree."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import HDBSCAN
from sklearn.metrics import adjusted_rand_score

from geosafe._errors import ValidationError
from geosafe.hotspots import dbscan


def _blobs(n: int, seed: int) -> np.ndarray:
    """Blobs of several spreads over uniform noise, in metres (BNG-like offsets)."""
    rng = np.random.default_rng(seed)
    k = int(n * 0.6)
    centres = rng.uniform(0, 5000, (25, 2))
    spread = rng.uniform(40, 200, 25)
    which = rng.integers(0, 25, k)
    blobs = centres[which] + rng.normal(0, 1, (k, 2)) * spread[which, None]
    xy = np.concatenate([blobs, rng.uniform(0, 5000, (n - k, 2))])
    return xy + np.array([530000.0, 180000.0])


@pytest.fixture(scope="module")
def xy() -> np.ndarray:
    return _blobs(6000, seed=1)


def test_labels_match_sklearn_at_the_same_parameters(xy: np.ndarray) -> None:
    ours = dbscan.hdbscan_labels(xy, min_cluster_size=40, min_samples=15)
    ref = HDBSCAN(min_cluster_size=40, min_samples=15, copy=True).fit_predict(xy)
    assert adjusted_rand_score(ours, ref) > 0.99
    assert abs(int((ours < 0).sum()) - int((ref < 0).sum())) <= 0.01 * len(xy)


def test_every_engine_gives_the_same_labels(xy: np.ndarray) -> None:
    got = {
        e: dbscan.hdbscan_labels(xy, min_cluster_size=40, min_samples=15, engine=e)
        for e in ("fast_hdbscan", "hdbscan", "sklearn")
    }
    assert adjusted_rand_score(got["fast_hdbscan"], got["sklearn"]) > 0.99
    assert adjusted_rand_score(got["hdbscan"], got["sklearn"]) > 0.99
    np.testing.assert_array_equal(
        dbscan.hdbscan_labels(xy, min_cluster_size=40, min_samples=15), got["fast_hdbscan"]
    )


def test_min_samples_counts_the_point_itself(xy: np.ndarray) -> None:
    """fast_hdbscan with the same number (without the point) is scikit-learn at one more."""
    import fast_hdbscan

    theirs = fast_hdbscan.HDBSCAN(min_cluster_size=40, min_samples=15).fit_predict(xy)
    sk_16 = HDBSCAN(min_cluster_size=40, min_samples=16, copy=True).fit_predict(xy)
    ours_16 = dbscan.hdbscan_labels(xy, min_cluster_size=40, min_samples=16)
    assert adjusted_rand_score(theirs, sk_16) > 0.99
    assert adjusted_rand_score(ours_16, theirs) > 0.999  # theirs may break ties differently


def test_labels_are_the_same_on_every_run(xy: np.ndarray) -> None:
    runs = [dbscan.hdbscan_labels(xy, min_cluster_size=40, min_samples=15) for _ in range(3)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r, runs[0])


def test_duplicated_points_like_police_uk_map_points() -> None:
    """Recurring coordinates (police.uk snaps crimes to map points) keep their weight."""
    rng = np.random.default_rng(4)
    snaps = _blobs(400, seed=9)
    xy = snaps[rng.integers(0, len(snaps), 5000)]
    ours = dbscan.hdbscan_labels(xy, min_cluster_size=30, min_samples=10)
    ref = HDBSCAN(min_cluster_size=30, min_samples=10, copy=True).fit_predict(xy)
    assert adjusted_rand_score(ours, ref) > 0.98


def test_bad_parameters() -> None:
    xy = _blobs(100, seed=2)
    with pytest.raises(ValidationError, match="`min_cluster_size` 1"):
        dbscan.hdbscan_labels(xy, min_cluster_size=1)
    with pytest.raises(ValidationError, match="`min_samples` 0"):
        dbscan.hdbscan_labels(xy, min_cluster_size=5, min_samples=0)
    with pytest.raises(ValidationError, match="`engine` 'x'"):
        dbscan.hdbscan_labels(xy, min_cluster_size=5, engine="x")  # type: ignore[arg-type]
    assert (dbscan.hdbscan_labels(xy[:3], min_cluster_size=5) == -1).all()

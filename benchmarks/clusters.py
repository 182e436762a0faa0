"""Cluster benchmark: DBSCAN and HDBSCAN on 100,000 and 1,000,000 points.

Each case runs in its own subprocess so its peak RSS is its own. Baselines in the same run:
scikit-learn's ``DBSCAN`` (100k only: it keeps every neighbour list, O(n·k) memory, and at
1M the estimated size is printed instead) and scikit-learn's ``HDBSCAN`` (100k).
For DBSCAN the labels are also checked against scikit-learn's at 100k (core partition and
noise identical).

Also DBSCAN on the real police.uk burglary points (219,552 crimes on ~22,500 map points, eps
200 m, min_samples 50) against scikit-learn, when ``../shared/data`` is present.

Run: ``.venv/bin/python benchmarks/clusters.py [--skip-1m-hdbscan]``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

EPS = 50.0
MIN_SAMPLES = 20
MIN_CLUSTER_SIZE = 50


def points(n: int, seed: int = 0) -> np.ndarray:
    """``n`` points: 60 % in 200 Gaussian blobs, 40 % uniform, over 20 km x 20 km."""
    rng = np.random.default_rng(seed)
    k = int(n * 0.6)
    centres = rng.uniform(0, 20_000, (200, 2))
    blobs = centres[rng.integers(0, 200, k)] + rng.normal(0, 150, (k, 2))
    xy = np.concatenate([blobs, rng.uniform(0, 20_000, (n - k, 2))])
    return xy + np.array([520_000.0, 170_000.0])


def _algorithm(
    name: str, *, eps: float = EPS, min_samples: int = MIN_SAMPLES
) -> Callable[[np.ndarray], np.ndarray]:
    """The clustering call of a case, imported before the clock starts."""
    if name == "geosafe-dbscan":
        from geosafe.hotspots.dbscan import dbscan_labels

        return lambda xy: dbscan_labels(xy, eps=eps, min_samples=min_samples)
    if name == "sklearn-dbscan":
        from sklearn.cluster import DBSCAN

        return lambda xy: DBSCAN(eps=eps, min_samples=min_samples).fit_predict(xy)
    if name == "geosafe-hdbscan":
        from geosafe.hotspots.dbscan import hdbscan_labels

        return lambda xy: hdbscan_labels(
            xy, min_cluster_size=MIN_CLUSTER_SIZE, min_samples=MIN_SAMPLES
        )
    if name == "sklearn-hdbscan":
        from sklearn.cluster import HDBSCAN

        return lambda xy: HDBSCAN(
            min_cluster_size=MIN_CLUSTER_SIZE, min_samples=MIN_SAMPLES, copy=True
        ).fit_predict(xy)
    raise SystemExit(f"unknown case {name!r}")


POLICE = "/work/shared/data/police/met_burglary_north_london"


def police_points() -> np.ndarray:
    """Every Met burglary of the six boroughs 2010-12..2024-02 (BNG): 219,552 crimes on
    about 22,500 recurring police.uk map points."""
    import glob

    import pandas as pd
    from pyproj import Transformer

    files = sorted(glob.glob(f"{POLICE}/*-street.csv.gz"))
    df = pd.concat([pd.read_csv(f, usecols=["Longitude", "Latitude"]) for f in files]).dropna()
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        df["Longitude"].to_numpy(), df["Latitude"].to_numpy()
    )
    return np.column_stack([x, y])


def run_case(name: str, n: int) -> dict[str, object]:
    case = name
    if name.endswith("-police"):
        xy = police_points()
        name = name.removesuffix("-police")
        eps, ms = 200.0, 50
    else:
        xy = points(n)
        eps, ms = EPS, MIN_SAMPLES
    n = len(xy)
    algorithm = _algorithm(name, eps=eps, min_samples=ms)
    t = time.perf_counter()
    labels = np.asarray(algorithm(xy))
    dt = time.perf_counter() - t
    np.save(f"/tmp/geosafe_bench_{case}_{n}.npy", labels)
    return {
        "case": case,
        "n": n,
        "seconds": round(dt, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "clusters": int(len(set(labels.tolist())) - (1 if -1 in labels else 0)),
        "noise": int((labels < 0).sum()),
    }


def _sub(name: str, n: int, timeout: float = 1800) -> dict[str, object] | None:
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name, str(n)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        print(f"{name} n={n:,}: did not finish in {timeout:.0f} s")
        return None
    except subprocess.CalledProcessError as exc:
        print(f"{name} n={n:,}: failed: {exc.stderr.strip().splitlines()[-1:]}")
        return None
    res: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"{name:16} n={n:>9,}: {res['seconds']:>8} s, peak RSS {res['peak_rss_mb']:>6} MB, "
        f"{res['clusters']} clusters, {res['noise']:,} noise"
    )
    return res


def main() -> None:
    skip_big_hdb = "--skip-1m-hdbscan" in sys.argv
    results: dict[tuple[str, int], dict[str, object] | None] = {}
    for n in (100_000, 1_000_000):
        for name in ("geosafe-dbscan", "geosafe-hdbscan"):
            if name == "geosafe-hdbscan" and n == 1_000_000 and skip_big_hdb:
                continue
            results[(name, n)] = _sub(name, n)
    for name in ("sklearn-dbscan", "sklearn-hdbscan"):
        results[(name, 100_000)] = _sub(name, 100_000)
    ours, ref = results[("geosafe-dbscan", 100_000)], results[("sklearn-dbscan", 100_000)]
    if ours and ref:
        from sklearn.metrics import adjusted_rand_score

        a = np.load("/tmp/geosafe_bench_geosafe-dbscan_100000.npy")
        b = np.load("/tmp/geosafe_bench_sklearn-dbscan_100000.npy")
        print(
            f"DBSCAN 100k vs scikit-learn: time ratio {float(ref['seconds']) / float(ours['seconds']):.2f}x "  # type: ignore[arg-type]
            f"(sklearn/geosafe), RSS ratio {float(ref['peak_rss_mb']) / float(ours['peak_rss_mb']):.2f}x, "  # type: ignore[arg-type]
            f"same noise: {bool(((a < 0) == (b < 0)).all())}, ARI (all points) {adjusted_rand_score(a, b):.4f}"
        )
    hours, hr = results[("geosafe-hdbscan", 100_000)], results[("sklearn-hdbscan", 100_000)]
    if hours and hr:
        from sklearn.metrics import adjusted_rand_score

        a = np.load("/tmp/geosafe_bench_geosafe-hdbscan_100000.npy")
        b = np.load("/tmp/geosafe_bench_sklearn-hdbscan_100000.npy")
        print(
            f"HDBSCAN 100k (hdbscan package) vs scikit-learn: time ratio "
            f"{float(hr['seconds']) / float(hours['seconds']):.2f}x, ARI {adjusted_rand_score(a, b):.4f}"  # type: ignore[arg-type]
        )
    # real police.uk data: many crimes per map point (eps 200 m, min_samples 50)
    import os

    if os.path.isdir(POLICE):
        rp = [_sub(c, 0) for c in ("geosafe-dbscan-police", "sklearn-dbscan-police")]
        if rp[0] and rp[1]:
            print(
                f"DBSCAN on police.uk burglary: time ratio "
                f"{float(rp[1]['seconds']) / float(rp[0]['seconds']):.1f}x (sklearn/geosafe), "  # type: ignore[arg-type]
                f"RSS ratio {float(rp[1]['peak_rss_mb']) / float(rp[0]['peak_rss_mb']):.2f}x"  # type: ignore[arg-type]
            )
    # what scikit-learn's DBSCAN would hold at 1M: every neighbour list at once
    from scipy.spatial import cKDTree

    xy = points(1_000_000)
    sample = xy[np.random.default_rng(1).choice(len(xy), 20_000, replace=False)]
    mean_k = cKDTree(xy).query_ball_point(sample, EPS, return_length=True).mean()
    print(
        f"scikit-learn DBSCAN at 1M (not run): mean {mean_k:.0f} neighbours within {EPS:g} m -> "
        f"~{mean_k * 1e6 * 8 / 1e9:.1f} GB of int64 neighbour indices alone"
    )


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2], int(sys.argv[3]))))
    else:
        main()

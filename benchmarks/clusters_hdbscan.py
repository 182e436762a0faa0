"""HDBSCAN side by side: geosafe against fast_hdbscan and scikit-learn (issue 16, item 3).

Same points as ``benchmarks/clusters.py`` (60 % in 200 Gaussian blobs, 40 % uniform, over
20 km x 20 km, in metres), ``min_cluster_size=50`` and ``min_samples=20`` in scikit-learn's
meaning (the point itself counts; fast_hdbscan is given 19, its meaning). Each case runs in
its own subprocess (its own peak RSS); the peers are warmed up (numba compilation) on 2,000
points first, inside the same subprocess, and the clock covers only the full run. Cases are
interleaved over ``--runs`` rounds; medians are printed with the ratio geosafe / peer, wall
and CPU seconds (the machine is shared: CPU time is the steadier figure), and the adjusted
Rand index between every pair of labellings.

- ``geosafe``: ``geosafe.hotspots.dbscan.hdbscan_labels`` (fast_hdbscan engine on one numba
  thread, so the labels are the same on every run);
- ``fast_hdbscan``: ``fast_hdbscan.HDBSCAN`` as its README runs it (not reproducible, 2 threads);
- ``sklearn``: ``sklearn.cluster.HDBSCAN`` (100k only: at 1M it takes far too long);
- ``hdbscan-old``: the former engine (``hdbscan`` package, approximate tree, ``min_samples``
  passed unchanged), 100k only, to show where the labels used to differ.

Run: ``.venv/bin/python benchmarks/clusters_hdbscan.py [--runs 3] [--skip-1m]``. A peer
that is not installed is skipped with a message (``pip install fast_hdbscan``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.clusters import points  # noqa: E402

MCS, MS = 50, 20


def _fn(name: str):  # type: ignore[no-untyped-def]
    if name == "geosafe":
        from geosafe.hotspots.dbscan import hdbscan_labels

        return lambda xy: hdbscan_labels(xy, min_cluster_size=MCS, min_samples=MS)
    if name == "fast_hdbscan":
        import fast_hdbscan

        return lambda xy: fast_hdbscan.HDBSCAN(
            min_cluster_size=MCS, min_samples=MS - 1
        ).fit_predict(xy)
    if name == "sklearn":
        from sklearn.cluster import HDBSCAN

        return lambda xy: HDBSCAN(min_cluster_size=MCS, min_samples=MS, copy=True).fit_predict(xy)
    if name == "hdbscan-old":
        import hdbscan

        return lambda xy: hdbscan.HDBSCAN(
            min_cluster_size=MCS, min_samples=MS, algorithm="boruvka_kdtree", core_dist_n_jobs=1
        ).fit_predict(xy)
    raise SystemExit(f"unknown case {name!r}")


def run_case(name: str, n: int) -> dict[str, object]:
    try:
        fn = _fn(name)
    except ImportError as exc:
        return {"case": name, "skipped": str(exc)}
    fn(points(2000, seed=1))  # warm-up: numba compilation
    xy = points(n)
    t, c = time.perf_counter(), time.process_time()
    labels = np.asarray(fn(xy))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    np.save(f"/tmp/geosafe_hdb_{name}_{n}.npy", labels)
    return {
        "case": name,
        "n": n,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "clusters": int(len(set(labels.tolist())) - (1 if -1 in labels else 0)),
        "noise": int((labels < 0).sum()),
    }


def _sub(name: str, n: int) -> dict[str, object] | None:
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name, str(n)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        print(f"{name} n={n:,}: failed ({exc})")
        return None
    res: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    if "skipped" in res:
        print(f"{name}: skipped ({res['skipped']}); pip install it to compare")
        return None
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-1m", action="store_true")
    ap.add_argument("--case", nargs=2)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]))))
        return
    from sklearn.metrics import adjusted_rand_score

    plan = {100_000: ["geosafe", "fast_hdbscan", "sklearn", "hdbscan-old"]}
    if not args.skip_1m:
        plan[1_000_000] = ["geosafe", "fast_hdbscan"]
    for n, cases in plan.items():
        got: dict[str, list[dict[str, object]]] = {c: [] for c in cases}
        for r in range(args.runs):
            for c in cases if r % 2 == 0 else cases[::-1]:
                if c in ("sklearn", "hdbscan-old") and r > 0:
                    continue  # slow references: one run
                res = _sub(c, n)
                if res:
                    got[c].append(res)
        med = {
            c: {
                k: statistics.median(float(x[k]) for x in v)
                for k in ("wall_s", "cpu_s", "peak_rss_mb")
            }
            for c, v in got.items()
            if v
        }
        print(
            f"\nHDBSCAN n={n:,} (min_cluster_size {MCS}, min_samples {MS}), medians of {args.runs}:"
        )
        for c, m in med.items():
            last = got[c][-1]
            print(
                f"  {c:13} wall {m['wall_s']:>7.2f} s  cpu {m['cpu_s']:>7.2f} s  "
                f"peak RSS {m['peak_rss_mb']:>5.0f} MB  {last['clusters']} clusters, "
                f"{last['noise']:,} noise"
            )
        if "geosafe" in med:
            for peer in [c for c in med if c != "geosafe"]:
                print(
                    f"  ratio geosafe / {peer}: wall {med['geosafe']['wall_s'] / med[peer]['wall_s']:.2f}x, "
                    f"cpu {med['geosafe']['cpu_s'] / med[peer]['cpu_s']:.2f}x"
                )
        labels = {c: np.load(f"/tmp/geosafe_hdb_{c}_{n}.npy") for c in med}
        names = list(labels)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                print(f"  ARI {a} / {b}: {adjusted_rand_score(labels[a], labels[b]):.3f}")


if __name__ == "__main__":
    main()

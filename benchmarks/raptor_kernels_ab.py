"""The RAPTOR and rRAPTOR kernels of this checkout against those of an earlier commit, in one
process: same day tables, same queries, interleaved rounds, CPU time (``process_time``).

The earlier kernels (``geosafe/network/_raptor.py`` and ``_raptor_range.py`` at ``--rev``) are
copied out with ``git show`` into a temporary package and compiled by numba beside the
current ones; the tables are built by the current code (their layout did not change). Both
must give the same answers. Printed per feed: new/old CPU ratios (min and median of 7
rounds) for a range query (one hour of departures, 200 stop pairs) and for single RAPTOR
searches (50 pairs x 60 departures).

Run: ``.venv/bin/python benchmarks/raptor_kernels_ab.py [--rev e387767]`` (the commit before the
route scan was shared). Measured figures: ``docs/notes/mend.md``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.transit_range import FEEDS  # noqa: E402
from geosafe.network import _raptor as new_r  # noqa: E402
from geosafe.network import _raptor_range as new_rr  # noqa: E402
from geosafe.network.gtfs import read_feed  # noqa: E402
from geosafe.network.transit import RaptorRouter  # noqa: E402
from tests.transit.nigiri_ref import MAX_TRANSFERS, prepare_feed  # noqa: E402
from tests.transit.test_range import _running_weekday  # noqa: E402


def _old_kernels(rev: str) -> tuple[object, object]:
    pkg = Path(tempfile.mkdtemp(prefix="raptor-ab-")) / "old_raptor"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("_raptor.py", "_raptor_range.py"):
        text = subprocess.run(
            ["git", "show", f"{rev}:geosafe/network/{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (pkg / name).write_text(text)
    sys.path.insert(0, str(pkg.parent))
    from old_raptor import _raptor as old_r  # type: ignore[import-not-found]
    from old_raptor import _raptor_range as old_rr  # type: ignore[import-not-found]

    return old_r, old_rr


def bench(name: str, src: Path, old_r: object, old_rr: object) -> None:
    if not src.is_dir():
        print(f"{name}: skipped ({src} not found)")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = read_feed(prepare_feed(src), warn=False)
    router = RaptorRouter(feed, transfer_walk_m=0, max_transfers=MAX_TRANSFERS)
    tables = router._day(_running_weekday(feed))
    idx = router.stop_index
    rng = random.Random(0)
    stops = sorted(set(feed.stop_times["stop_id"]) & set(idx))
    qs = [tuple(rng.sample(stops, 2)) for _ in range(200)]
    deps = np.arange(7 * 3600, 8 * 3600, 60, dtype=np.int64)
    zero = np.zeros(1, np.int64)
    rounds = np.int64(router.max_transfers + 1)

    def range_queries(mod: object) -> list[np.ndarray]:
        return [
            mod.range_arrivals(  # type: ignore[attr-defined]
                tables,
                min_transfer_s=router.min_transfer_s,
                max_rounds=int(rounds),
                src=np.asarray([idx[a]], np.int64),
                src_walk=zero,
                tgt=np.asarray([idx[b]], np.int64),
                tgt_egress=zero,
                departures=deps,
            )
            for a, b in qs
        ]

    def searches(mod: object) -> list[int]:
        args = tables.kernel_args()
        out = []
        for a, b in qs[:50]:
            s, t = np.asarray([idx[a]], np.int64), np.asarray([idx[b]], np.int64)
            for d in deps:
                res = mod.raptor_kernel(  # type: ignore[attr-defined]
                    *args, np.int64(router.min_transfer_s), rounds, s, d + zero, t, zero
                )
                out.append(int(res[0]))
        return out

    same_range = all(
        np.array_equal(x, y, equal_nan=True)
        for x, y in zip(range_queries(old_rr), range_queries(new_rr), strict=True)
    )
    same_search = searches(old_r) == searches(new_r)
    t: dict[str, list[float]] = {k: [] for k in ("old range", "new range", "old one", "new one")}
    for _ in range(7):
        for key, fn in (
            ("old range", lambda: range_queries(old_rr)),
            ("new range", lambda: range_queries(new_rr)),
            ("old one", lambda: searches(old_r)),
            ("new one", lambda: searches(new_r)),
        ):
            c0 = time.process_time()
            fn()
            t[key].append(time.process_time() - c0)

    def ratio(kind: str) -> str:
        lo = min(t[f"new {kind}"]) / min(t[f"old {kind}"])
        med = statistics.median(t[f"new {kind}"]) / statistics.median(t[f"old {kind}"])
        return f"{lo:.2f}x (median {med:.2f}x)"

    print(
        f"{name:20} range query new/old CPU {ratio('range')}, "
        f"{min(t['old range']) / 200 * 1e3:.3f} -> {min(t['new range']) / 200 * 1e3:.3f} ms; "
        f"single search {ratio('one')}, "
        f"{min(t['old one']) / 3000 * 1e3:.4f} -> {min(t['new one']) / 3000 * 1e3:.4f} ms; "
        f"same answers: range {same_range}, single {same_search}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default="e387767", help="the commit whose kernels are the baseline")
    args = ap.parse_args()
    old_r, old_rr = _old_kernels(args.rev)
    for name, src in FEEDS.items():
        bench(name, src, old_r, old_rr)


if __name__ == "__main__":
    main()

"""Transit range (profile) queries side by side: our rRAPTOR against nigiri's range query.

For each feed (Caltrain and TriMet from ``../shared/data/gtfs``, and the estimated demo feed)
both engines load the same prepared copy (``tests/transit/nigiri_ref.py``) and answer the same
random stop-to-stop queries for every departure minute of one hour (07:00-08:00) on one
service day:

- ``geosafe range``: ``_raptor_range.range_arrivals`` (one rRAPTOR run over the departures of the
  window, labels reused), the answer ``RaptorRouter.departure_window`` now gives;
- ``geosafe per-minute``: 60 separate earliest-arrival searches (the former answer), also the
  equality check: both must give the same arrival for every minute;
- ``nigiri range``: ``pynigiri.route`` with ``Query.start_time`` the hour as a ``(from, to)`` pair of minutes
  (nigiri's own range/profile search; it returns the Pareto set of journeys departing in the
  interval).

Printed per feed: milliseconds per range query (median of three interleaved runs), the ratios
and the equality count. Skips a feed (with a message) when its files or pynigiri are missing.

Run: ``.venv/bin/python benchmarks/transit_range.py [--queries 200]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._shared import shared_data  # noqa: E402
from geosafe.network import _raptor, _raptor_range  # noqa: E402
from geosafe.network.gtfs import read_feed  # noqa: E402
from geosafe.network.transit import RaptorRouter  # noqa: E402
from tests.transit.nigiri_ref import MAX_TRANSFERS, Nigiri, prepare_feed  # noqa: E402
from tests.transit.test_range import _running_weekday  # noqa: E402

FEEDS = {
    "caltrain_2017": shared_data() / "gtfs" / "caltrain_2017",
    "trimet_vermont_2018": shared_data() / "gtfs" / "trimet_vermont_2018",
    "demo_area_estimated": ROOT / "data" / "gtfs" / "demo_area_estimated",
}
START, END = 7 * 3600, 8 * 3600


def bench(name: str, src: Path, n: int, seed: int) -> dict[str, float] | None:
    if not src.is_dir():
        print(f"{name}: skipped ({src} not found)")
        return None
    try:
        import pynigiri  # noqa: F401
    except ImportError:
        print(f"{name}: skipped (pynigiri not installed: pip install pynigiri)")
        return None
    prepared = prepare_feed(src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = read_feed(prepared, warn=False)
    router = RaptorRouter(feed, transfer_walk_m=0, max_transfers=MAX_TRANSFERS)
    day = _running_weekday(feed)
    ng = Nigiri(prepared, day, day + dt.timedelta(days=1), feed.timezone)
    rng = random.Random(seed)
    stops = sorted(set(feed.stop_times["stop_id"]) & set(router.stop_index))
    qs = [tuple(rng.sample(stops, 2)) for _ in range(n)]
    deps = np.arange(START, END, 60, dtype=np.int64)
    tables = router._day(day)
    idx = router.stop_index
    zero = np.zeros(1, np.int64)

    def ours_range() -> list[np.ndarray]:
        return [
            _raptor_range.range_arrivals(
                tables,
                min_transfer_s=router.min_transfer_s,
                max_rounds=router.max_transfers + 1,
                src=np.asarray([idx[a]], np.int64),
                src_walk=zero,
                tgt=np.asarray([idx[b]], np.int64),
                tgt_egress=zero,
                departures=deps,
            )
            for a, b in qs
        ]

    def ours_per_minute() -> list[np.ndarray]:
        out = []
        for a, b in qs:
            s, t = np.asarray([idx[a]], np.int64), np.asarray([idx[b]], np.int64)
            arr = np.full(len(deps), np.nan)
            for i, d in enumerate(deps):
                res = router._search(tables, s, d + zero, t, zero)
                if res[0] < _raptor.INF:
                    arr[i] = float(res[0])
            out.append(arr)
        return out

    base = ng.base_minute(day)
    interval = (base + START // 60, base + END // 60)  # minutes since the epoch, [from, to)

    def nigiri_range() -> int:
        total = 0
        for a, b in qs:
            la, lb = ng.loc(a), ng.loc(b)
            if la is None or lb is None:
                continue
            q = ng.ng.Query()
            q.start_time = interval
            q.start = [ng.ng.Offset(la, 0, 0)]
            q.destination = [ng.ng.Offset(lb, 0, 0)]
            q.max_transfers = MAX_TRANSFERS
            q.use_start_footpaths = True
            total += len(ng.ng.route(ng.tt, q))
        return total

    # warm-up: numba compilation and nigiri's day tables
    ours_range()
    ours_per_minute()
    nigiri_range()
    times: dict[str, list[float]] = {"range": [], "per_minute": [], "nigiri": []}
    for _ in range(3):
        for key, fn in (
            ("range", ours_range),
            ("per_minute", ours_per_minute),
            ("nigiri", nigiri_range),
        ):
            t0 = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - t0) / n * 1000)
    a, b = ours_range(), ours_per_minute()
    same = sum(bool(np.array_equal(x, y, equal_nan=True)) for x, y in zip(a, b, strict=True))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{name:20} range {med['range']:.3f} ms  per-minute {med['per_minute']:.3f} ms  "
        f"nigiri range {med['nigiri']:.3f} ms  ratio range/nigiri {med['range'] / med['nigiri']:.2f}x  "
        f"range/per-minute {med['range'] / med['per_minute']:.2f}x  "
        f"equal {same}/{n}  ({len(stops)} stops, {day})"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"one hour of departures (07:00-08:00, every minute), {args.queries} stop pairs per feed")
    for name, src in FEEDS.items():
        bench(name, src, args.queries, args.seed)


if __name__ == "__main__":
    main()

"""Transit routing speed: RAPTOR router vs MOTIS nigiri (pynigiri) on the same feeds.

Usage::

    .venv/bin/python benchmarks/transit.py [--queries 500] [--seed 0]

For each feed (the three real feeds in ``../shared/data/gtfs`` and the estimated
demo-area feed) both engines load the same prepared copy (matched rules, see
``tests/transit/nigiri_ref.py``) and answer the same random stop-to-stop queries on one
service day. Reported: queries per second for nigiri earliest arrival, our earliest
arrival (with full legs), our arrive-by (reverse search + forward journey with legs), and
the ratios. pynigiri 0.1.5 exposes no backward search (``Query.flip_dir`` plus ``route``
returns no arrive-by journeys), so our arrive-by is compared with nigiri's forward query.
Day tables and numba compilation are warmed up before timing. "found" counts can differ:
nigiri searches days ahead, ours to the end of the next service day (on the demo feed,
stops served only by the school-day 6xx routes are unreachable before term starts).
Timings vary by tens of percent between runs on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geosafe.network.gtfs import read_feed  # noqa: E402
from geosafe.network.transit import RaptorRouter  # noqa: E402
from tests.transit.nigiri_ref import MAX_TRANSFERS, Nigiri, prepare_feed  # noqa: E402

FEEDS = {
    "caltrain_2017": ROOT.parent / "shared" / "data" / "gtfs" / "caltrain_2017",
    "trimet_vermont_2018": ROOT.parent / "shared" / "data" / "gtfs" / "trimet_vermont_2018",
    "london_route_403": ROOT.parent / "shared" / "data" / "gtfs" / "london_route_403",
    "demo_area_estimated": ROOT / "data" / "gtfs" / "demo_area_estimated",
}


def bench(name: str, src: Path, n: int, seed: int) -> None:
    prepared = prepare_feed(src)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feed = read_feed(prepared, warn=False)
        t0 = time.perf_counter()
        router = RaptorRouter(feed, transfer_walk_m=0, max_transfers=MAX_TRANSFERS)
        build_s = time.perf_counter() - t0
        used = set(feed.trips["service_id"])
        first, last = feed.date_range()  # type: ignore[misc]
        candidates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        running = [d for d in candidates if feed.services_on(d) & used]
        # a weekday where there is one (route 403 runs on Sundays only)
        day = next((d for d in running if d.weekday() < 5), running[0])
        t0 = time.perf_counter()
        ng = Nigiri(prepared, day, day + dt.timedelta(days=1), feed.timezone)
        ng_load_s = time.perf_counter() - t0
        rng = random.Random(seed)
        stops = sorted(set(feed.stop_times["stop_id"]))
        qs = [(*rng.sample(stops, 2), rng.randrange(6 * 60, 21 * 60)) for _ in range(n)]
        router.earliest_arrival(qs[0][0], qs[0][1], depart_s=qs[0][2] * 60, date=day)
        router.arrive_by(qs[0][0], qs[0][1], arrive_s=qs[0][2] * 60, date=day)
        t0 = time.perf_counter()
        found_ng = sum(ng.earliest_arrival_min(a, b, day, t) is not None for a, b, t in qs)
        t_ng = time.perf_counter() - t0
        t0 = time.perf_counter()
        found_ea = sum(
            router.earliest_arrival(a, b, depart_s=t * 60, date=day) is not None for a, b, t in qs
        )
        t_ea = time.perf_counter() - t0
        t0 = time.perf_counter()
        found_ab = sum(
            router.arrive_by(a, b, arrive_s=t * 60 + 3600, date=day) is not None for a, b, t in qs
        )
        t_ab = time.perf_counter() - t0
        print(
            f"{name} ({day}, {len(stops)} stops): build ours {build_s:.2f} s, nigiri load "
            f"{ng_load_s:.2f} s; {n} queries: nigiri {n / t_ng:,.0f} q/s ({found_ng} found), "
            f"ours earliest-arrival {n / t_ea:,.0f} q/s ({found_ea} found), ours arrive-by "
            f"{n / t_ab:,.0f} q/s ({found_ab} found); time ratio ours/nigiri: "
            f"earliest {t_ea / t_ng:.2f}x, arrive-by {t_ab / t_ng:.2f}x"
        )
    finally:
        shutil.rmtree(prepared, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, src in FEEDS.items():
        bench(name, src, args.queries, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

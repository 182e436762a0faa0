"""Benchmark: a school's 1,500 pupils' bus journeys on a London-size GTFS feed.

The script writes a synthetic feed the size of London's bus network (documented counts are
printed: stops, routes, trips, stop times): stops on a jittered 270 m lattice over ~40 x
34 km, 675 routes of 30-45 stops laid as direction-persistent walks over the lattice (routes
share stops, so changes are possible), both directions, weekday service 05:30-23:30 every
6-15 minutes, run times from distance at 18 km/h in whole minutes. Then, each phase in its
own process (peak memory per phase):

1. **load**: read and validate the feed, build the RAPTOR router (both kept on disk under the
   feed's SHA-256 by ``geosafe.network.gtfs_cache``, as an area folder keeps them);
1b. **reload**: the same in a new process, from that cache;
2. **school**: 1,500 pupils' homes within 5 km of a school by a busy stop, arrive-by 08:40
   on a weekday (walk access and egress as straight line x 1.3): full journeys with legs,
   and the latest departures alone;
3. **crosscheck**: 1,000 stop-to-stop earliest-arrival queries answered by at least one
   engine, compared to the minute with MOTIS nigiri (pynigiri) on the same prepared copy
   (``tests/transit/nigiri_ref.py``), and the time of both engines on the same queries.

Run::

    .venv/bin/python benchmarks/london_transit.py [--routes 675] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORIGIN_BNG = (512_000.0, 165_000.0)
STOP_SPACING_M = 270.0
DATE = dt.date(2025, 3, 4)  # a Tuesday


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_feed(out: Path, *, routes: int, seed: int) -> dict[str, int]:
    """The synthetic London-size feed; returns its counts."""
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    nx_, ny_ = 150, 127
    gx = ORIGIN_BNG[0] + np.arange(nx_) * STOP_SPACING_M
    gy = ORIGIN_BNG[1] + np.arange(ny_) * STOP_SPACING_M
    moves = np.array([(1, 0), (0, 1), (-1, 0), (0, -1)])
    seqs: list[list[int]] = []
    for _ in range(routes):
        n_stops = int(rng.integers(30, 46))
        i, j = int(rng.integers(0, nx_)), int(rng.integers(0, ny_))
        d = int(rng.integers(0, 4))
        seen = {(i, j)}
        seq = [i * ny_ + j]
        tries = 0
        while len(seq) < n_stops and tries < 400:
            tries += 1
            if rng.random() < 0.25:
                d = (d + (1 if rng.random() < 0.5 else 3)) % 4
            ni, nj = i + moves[d][0], j + moves[d][1]
            if not (0 <= ni < nx_ and 0 <= nj < ny_) or (ni, nj) in seen:
                d = int(rng.integers(0, 4))
                continue
            i, j = ni, nj
            seen.add((i, j))
            seq.append(i * ny_ + j)
        if len(seq) >= 10:
            seqs.append(seq)
    used = np.unique(np.concatenate([np.asarray(s) for s in seqs]))
    jitter = rng.normal(0, 30, (len(used), 2))
    sx = gx[used // ny_] + jitter[:, 0]
    sy = gy[used % ny_] + jitter[:, 1]
    pos = {int(u): k for k, u in enumerate(used)}
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(sx, sy)
    stop_ids = np.array([f"S{u:06d}" for u in used])
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "stop_id": stop_ids,
            "stop_name": [f"Stop {u}" for u in used],
            "stop_lat": np.round(lat, 6),
            "stop_lon": np.round(lon, 6),
        }
    ).to_csv(out / "stops.txt", index=False)
    (out / "agency.txt").write_text(
        "agency_id,agency_name,agency_url,agency_timezone\n"
        "SYN,Synthetic London Buses,http://example.invalid,Europe/London\n"
    )
    (out / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WD,1,1,1,1,1,0,0,20250101,20251231\n"
    )
    route_rows, trip_rows = [], []
    st_trip, st_stop, st_time, st_seq = [], [], [], []
    for r, seq in enumerate(seqs):
        rid = f"R{r}"
        route_rows.append((rid, "SYN", str(r + 1), 3))
        headway = int(rng.choice([6, 8, 10, 12, 15])) * 60
        first = 5 * 3600 + 1800 + int(rng.integers(0, headway // 60)) * 60
        for direction in (0, 1):
            s = seq if direction == 0 else seq[::-1]
            k = np.array([pos[x] for x in s])
            hop = np.hypot(np.diff(sx[k]), np.diff(sy[k]))
            run = np.maximum(60, np.round(hop / 5.0 / 60) * 60).astype(np.int64)
            offs = np.concatenate([[0], np.cumsum(run)])
            starts = np.arange(first, 23 * 3600 + 1800, headway)
            for n, t0 in enumerate(starts):
                tid = f"{rid}_{direction}_{n}"
                trip_rows.append((rid, "WD", tid, direction))
                st_trip.append(np.full(len(k), tid))
                st_stop.append(stop_ids[k])
                st_time.append(t0 + offs)
                st_seq.append(np.arange(1, len(k) + 1))
    pd.DataFrame(
        route_rows, columns=["route_id", "agency_id", "route_short_name", "route_type"]
    ).to_csv(out / "routes.txt", index=False)
    pd.DataFrame(trip_rows, columns=["route_id", "service_id", "trip_id", "direction_id"]).to_csv(
        out / "trips.txt", index=False
    )
    t = np.concatenate(st_time)
    hhmmss = np.char.add(
        np.char.add(np.char.zfill((t // 3600).astype(str), 2), ":"),
        np.char.add(
            np.char.add(np.char.zfill((t % 3600 // 60).astype(str), 2), ":"),
            np.char.zfill((t % 60).astype(str), 2),
        ),
    )
    pd.DataFrame(
        {
            "trip_id": np.concatenate(st_trip),
            "arrival_time": hhmmss,
            "departure_time": hhmmss,
            "stop_id": np.concatenate(st_stop),
            "stop_sequence": np.concatenate(st_seq),
        }
    ).to_csv(out / "stop_times.txt", index=False)
    return {
        "stops": len(used),
        "routes": len(seqs),
        "trips": len(trip_rows),
        "stop_times": len(t),
    }


def _router(feed_dir: Path):
    """The router through the on-disk cache (``geosafe.network.gtfs_cache``), as the
    service and ``geosafe area build`` load it."""
    import warnings

    from geosafe.network.gtfs_cache import cached_router

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cached_router(feed_dir, cache_dir=feed_dir.parent / "cache", warn=False)


def phase_load(work: Path) -> dict[str, object]:
    """First load: validate (the cleaned feed is saved), build the router (saved), build the
    day's forward and reverse tables."""
    import shutil

    from geosafe.network.gtfs import validate_feed

    shutil.rmtree(work / "cache", ignore_errors=True)
    t0 = time.perf_counter()
    report = validate_feed(work / "feed", cache_dir=work / "cache")
    t1 = time.perf_counter()
    router = _router(work / "feed")
    t2 = time.perf_counter()
    router._day(DATE)
    router._day(DATE, reverse=True)
    t3 = time.perf_counter()
    return {
        "phase": "load",
        "validate_s": round(t1 - t0, 1),
        "router_build_s": round(t2 - t1, 1),
        "day_tables_s": round(t3 - t2, 1),
        "validation_ok": bool(getattr(report, "ok", True)),
        "cache_mb": round(sum(p.stat().st_size for p in (work / "cache").iterdir()) / 1e6),
        "peak_rss_mb": round(_rss_mb()),
    }


def phase_reload(work: Path) -> dict[str, object]:
    """Second load, in a new process: the validated feed and the router from the cache."""
    t0 = time.perf_counter()
    router = _router(work / "feed")
    t1 = time.perf_counter()
    router._day(DATE)
    router._day(DATE, reverse=True)
    t2 = time.perf_counter()
    return {
        "phase": "reload",
        "cached_load_s": round(t1 - t0, 1),
        "day_tables_s": round(t2 - t1, 1),
        "stops": len(router.stop_ids),
        "peak_rss_mb": round(_rss_mb()),
    }


def phase_school(work: Path, *, pupils: int, seed: int) -> dict[str, object]:
    router = _router(work / "feed")
    rng = np.random.default_rng(seed)
    # the school: next to the stop served by most trips
    busiest = router.feed.stop_times["stop_id"].value_counts().index[0]
    school = tuple(router.xy[router.stop_index[busiest]] + np.array([60.0, 40.0]))
    ang = rng.uniform(0, 2 * np.pi, pupils)
    rad = 5000 * np.sqrt(rng.uniform(0.04, 1, pupils))
    homes = np.column_stack([school[0] + rad * np.cos(ang), school[1] + rad * np.sin(ang)])
    arrive = 8 * 3600 + 40 * 60
    router.latest_departure_s(tuple(homes[0]), school, arrive_s=arrive, date=DATE)  # warm
    t0 = time.perf_counter()
    deps = [router.latest_departure_s(tuple(h), school, arrive_s=arrive, date=DATE) for h in homes]
    t_dep = time.perf_counter() - t0
    t0 = time.perf_counter()
    journeys = [router.arrive_by(tuple(h), school, arrive_s=arrive, date=DATE) for h in homes]
    t_full = time.perf_counter() - t0
    ok = [j for j in journeys if j is not None]
    return {
        "phase": "school",
        "pupils": pupils,
        "answered": len(ok),
        "by_bus": sum(1 for j in ok if any(leg.mode == "bus" for leg in j.legs)),
        "latest_departures_s": round(t_dep, 1),
        "arrive_by_journeys_with_legs_s": round(t_full, 1),
        "median_door_to_door_min": round(float(np.median([j.duration_s for j in ok])) / 60, 1)
        if ok
        else None,
        "same_departure_both_ways": sum(
            1 for d, j in zip(deps, journeys, strict=True) if (d is None) == (j is None)
        ),
        "peak_rss_mb": round(_rss_mb()),
    }


def phase_crosscheck(work: Path, *, answered: int, seed: int) -> dict[str, object]:
    from tests.transit.nigiri_ref import crosscheck

    t0 = time.perf_counter()
    res = crosscheck(work / "feed", answered=answered, seed=seed, max_days=7)
    t_cc = time.perf_counter() - t0
    # speed of both engines on the same 300 queries
    import random

    from tests.transit.nigiri_ref import Nigiri, prepare_feed

    prepared = prepare_feed(work / "feed")
    import warnings

    from geosafe.network.gtfs import read_feed
    from geosafe.network.transit import RaptorRouter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = read_feed(prepared, warn=False)
    ours = RaptorRouter(feed, transfer_walk_m=0, max_transfers=6)
    ref = Nigiri(prepared, DATE, DATE + dt.timedelta(days=1), feed.timezone)
    rng = random.Random(seed)
    stops = sorted(set(feed.stop_times["stop_id"]))
    qs = [(*rng.sample(stops, 2), rng.randrange(6 * 60, 20 * 60)) for _ in range(300)]
    ours.earliest_arrival_s(qs[0][0], qs[0][1], depart_s=qs[0][2] * 60, date=DATE)
    ref.earliest_arrival_min(qs[0][0], qs[0][1], DATE, qs[0][2])
    t0 = time.perf_counter()
    for a, b, t in qs:
        ours.earliest_arrival_s(a, b, depart_s=t * 60, date=DATE)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a, b, t in qs:
        ref.earliest_arrival_min(a, b, DATE, t)
    t_ref = time.perf_counter() - t0
    return {
        "phase": "crosscheck",
        "queries_drawn": res.queries,
        "answered": res.answered,
        "same_minute": res.agree,
        "agreement": round(res.agreement, 4),
        "differences": len(res.differences),
        "unexplained": len(res.unexplained),
        "crosscheck_s": round(t_cc, 1),
        "ours_ms_per_query": round(1000 * t_ours / len(qs), 2),
        "nigiri_ms_per_query": round(1000 * t_ref / len(qs), 2),
        "ratio_vs_nigiri": round(t_ours / t_ref, 2),
        "peak_rss_mb": round(_rss_mb()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=675)
    ap.add_argument("--pupils", type=int, default=1500)
    ap.add_argument("--answered", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--phase",
        choices=("gen", "load", "reload", "school", "crosscheck"),
        help=argparse.SUPPRESS,
    )
    args = ap.parse_args(argv)
    if args.phase:
        work = args.out
        if args.phase == "gen":
            t0 = time.perf_counter()
            counts = write_feed(work / "feed", routes=args.routes, seed=args.seed)
            res: dict[str, object] = {
                "phase": "gen",
                **counts,
                "s": round(time.perf_counter() - t0, 1),
            }
        elif args.phase == "load":
            res = phase_load(work)
        elif args.phase == "reload":
            res = phase_reload(work)
        elif args.phase == "school":
            res = phase_school(work, pupils=args.pupils, seed=args.seed)
        else:
            res = phase_crosscheck(work, answered=args.answered, seed=args.seed)
        print(json.dumps(res), flush=True)
        return 0
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory()
        args.out = Path(tmp.name)
    args.out.mkdir(parents=True, exist_ok=True)
    for phase in ("gen", "load", "reload", "school", "crosscheck"):
        cmd = [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--out",
            str(args.out),
            "--routes",
            str(args.routes),
            "--pupils",
            str(args.pupils),
            "--answered",
            str(args.answered),
            "--seed",
            str(args.seed),
        ]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

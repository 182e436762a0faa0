"""Benchmark: a London-size area folder, built once, then loaded by the service in seconds.

The synthetic London-size street network of ``london_walk.py`` (a PBF) and the synthetic
London-size bus feed of ``london_transit.py`` (same south-west corner, so the stops lie on
the streets) go through ``geosafe area build`` (boundary: the box of the street grid). Then,
each phase in its own process (peak memory per phase):

1. **build**: ``build_area``: streets read and clipped, the routing graph and its
   preprocessing, the feed validated and the bus router built with walking transfers on the
   area's streets; the validated feed and the router are saved in ``gtfs/cache`` under the
   feed's SHA-256;
2. **service**: what the service does at its first journey request (``publish.corridors``):
   the walking network from the area, the router through the cache, the day's tables;
3. **baseline**: the same without the cache (what the service did before: validate the feed
   and build the router in every new process).

Run::

    .venv/bin/python benchmarks/london_area.py [--nodes 1000000] [--routes 675] [--out DIR]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

DATE = dt.date(2025, 3, 4)  # a Tuesday


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def phase_gen(work: Path, *, nodes: int, routes: int, seed: int) -> dict[str, object]:
    import geopandas as gpd
    import london_transit
    import london_walk

    t0 = time.perf_counter()
    walk = london_walk.write_pbf(work / "london.osm.pbf", nodes, seed)
    (work / "gen.json").write_text(json.dumps({"n_target": nodes}))
    feed = london_transit.write_feed(work / "feed", routes=routes, seed=seed)
    box = london_walk._boundary(work)
    gpd.GeoDataFrame({"name": ["synthetic London"]}, geometry=[box], crs=27700).to_file(
        work / "boundary.geojson", driver="GeoJSON"
    )
    return {
        "phase": "gen",
        **{f"osm_{k}": v for k, v in walk.items()},
        **{f"feed_{k}": v for k, v in feed.items()},
        "s": round(time.perf_counter() - t0, 1),
    }


def phase_build(work: Path) -> dict[str, object]:
    import warnings

    from geosafe.area.build import build_area

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = build_area(
            work / "area",
            osm_file=work / "london.osm.pbf",
            boundary=work / "boundary.geojson",
            margin_m=0.0,
            gtfs=work / "feed",
        )
    cache = work / "area" / "gtfs" / "cache"
    return {
        "phase": "build",
        "build_s": round(time.perf_counter() - t0, 1),
        **{k: v for k, v in summary.to_json().items() if k != "area"},
        "cache_mb": round(sum(p.stat().st_size for p in cache.iterdir()) / 1e6),
        "peak_rss_mb": round(_rss_mb()),
    }


def _service_load(work: Path, *, cached: bool) -> dict[str, object]:
    import warnings

    from geosafe import datasets
    from geosafe.network.gtfs import read_feed
    from geosafe.network.gtfs_cache import cached_router, matrix_walk, router_cache_dir
    from geosafe.network.transit import RaptorRouter
    from geosafe.network.walk import WalkNetwork, WalkSettings

    area = work / "area"
    t0 = time.perf_counter()
    net = WalkNetwork.from_osm(datasets.osm_path(area), settings=WalkSettings())
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk = matrix_walk(net, area)
        if cached:
            router = cached_router(
                datasets.gtfs_dir(area),
                cache_dir=router_cache_dir(area),
                walk=walk,
                walk_path=net.path_line,
            )
        else:
            feed = read_feed(datasets.gtfs_dir(area))
            router = RaptorRouter(feed, walk=walk, walk_path=net.path_line)
    t2 = time.perf_counter()
    router._day(DATE)
    router._day(DATE, reverse=True)
    t3 = time.perf_counter()
    return {
        "phase": "service" if cached else "baseline",
        "walk_network_s": round(t1 - t0, 1),
        "router_s": round(t2 - t1, 1),
        "day_tables_s": round(t3 - t2, 1),
        "total_s": round(t3 - t0, 1),
        "footpaths": len(router._footpaths[0]),
        "peak_rss_mb": round(_rss_mb()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--routes", type=int, default=675)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument(
        "--phase", choices=("gen", "build", "service", "baseline"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.phase:
        work = args.out
        if args.phase == "gen":
            res = phase_gen(work, nodes=args.nodes, routes=args.routes, seed=args.seed)
        elif args.phase == "build":
            res = phase_build(work)
        else:
            res = _service_load(work, cached=args.phase == "service")
        print(json.dumps(res), flush=True)
        return 0
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory()
        args.out = Path(tmp.name)
    args.out.mkdir(parents=True, exist_ok=True)
    phases = ["gen", "build", "service", "service"] + ([] if args.skip_baseline else ["baseline"])
    results = []
    for phase in phases:
        cmd = [sys.executable, __file__, "--phase", phase, "--out", str(args.out)]
        cmd += ["--nodes", str(args.nodes), "--routes", str(args.routes), "--seed", str(args.seed)]
        done = subprocess.run(
            cmd,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        line = done.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        results.append(json.loads(line))
    service = [r for r in results if r["phase"] == "service"][-1]
    base = next((r for r in results if r["phase"] == "baseline"), None)
    if base:
        print(
            json.dumps(
                {
                    "summary": "service load, cached vs not (same run)",
                    "cached_s": service["total_s"],
                    "uncached_s": base["total_s"],
                    "ratio": round(service["total_s"] / base["total_s"], 3),
                }
            )
        )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

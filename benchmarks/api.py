"""Load test of the service on loopback: requests per second and p50/p95 latency of the
``hotspots-kde`` items endpoint and the hotspot map page, cached and uncached, against
``/healthz`` as the baseline measured in the same run.

The server runs in its own process (uvicorn, one worker) so the load generator does not share
its interpreter; the generator is an ``httpx`` client per thread. Counts and time are bounded.

Usage::

    .venv/bin/python benchmarks/api.py                  # a temporary store of 5,000 incidents
    .venv/bin/python benchmarks/api.py --db out/demo/geosafe.db --requests 400 --threads 4

Uncached requests change one method parameter per request (``bandwidth_m`` or ``top_pct``)
so every one recomputes the layer; cached ones repeat one URL after a warm-up request. The
map page is also measured as a browser revalidating its copy: ``If-None-Match`` with the
page's ``ETag``, answered ``304 Not Modified`` without a body.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _synthetic_store(path: Path, n: int, seed: int = 1) -> None:
    """``n`` incidents around the demo-area schools on school-run times of 2024."""
    import h3
    from pyproj import Transformer

    from geosafe import datasets
    from geosafe.store import ROW_COLUMNS, Store

    rng = np.random.default_rng(seed)
    schools = datasets.schools(demo_only=True)
    centres = np.array([(g.x, g.y) for g in schools.geometry])
    xy = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 250, (n, 2))
    days = pd.bdate_range("2024-01-08", "2024-12-13")
    t = pd.DatetimeIndex(days[rng.integers(0, len(days), n)]) + pd.to_timedelta(
        rng.choice([8 * 60 + 10, 8 * 60 + 40, 15 * 60 + 20, 16 * 60 + 30, 20 * 60], n), unit="min"
    )
    t = t.tz_localize("Europe/London")
    secs = np.asarray((t - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1))
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    refs = [f"B{i:06d}" for i in range(n)]
    rows = pd.DataFrame(
        {
            "incident_id": [f"dir:{r}" for r in refs],
            "source": "dir",
            "source_ref": refs,
            "row_no": np.arange(1, n + 1),
            "occurred_from": secs,
            "occurred_to": secs,
            "time_precision": "minute",
            "category": "ASB",
            "flags": "",
            "route": None,
            "stop_code": None,
            "school_urn": None,
            "precision_m": 10.0,
            "geocode_method": "coordinates",
            "location_text": None,
            "h3_cell": [h3.latlng_to_cell(b, a, 11) for a, b in zip(lon, lat, strict=True)],
            "lon": lon,
            "lat": lat,
            "minx": xy[:, 0],
            "miny": xy[:, 1],
            "maxx": xy[:, 0],
            "maxy": xy[:, 1],
            "geom_wkb": None,
            "weight": 1.0,
            "detail": "{}",
            "row_hash": [hashlib.sha256(r.encode()).hexdigest() for r in refs],
            "current": 1,
        }
    )
    store = Store(path)
    batch = store.begin_batch("dir", "b" * 64, file_name="benchmark")
    store.stage(batch, rows[list(ROW_COLUMNS)])
    store.commit_batch(batch, {"rows": n, "accepted": n}, {})
    store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _measure(
    base: str,
    headers: dict[str, str],
    url_for: Callable[[int], str],
    *,
    requests: int,
    threads: int,
    max_s: float,
    ok: tuple[int, ...] = (200,),
) -> dict[str, float]:
    """Send ``requests`` GETs (``url_for(i)``) from ``threads`` clients, at most ``max_s``
    seconds; latencies in ms of the answers with a status in ``ok``."""
    lat: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.perf_counter() + max_s
    failures = [0]

    def worker() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=300) as c:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                r = c.get(url_for(i))
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    if r.status_code in ok:
                        lat.append(dt)
                    else:
                        failures[0] += 1

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    wall = time.perf_counter() - t0
    q = np.percentile(lat, [50, 95]) if lat else [float("nan")] * 2
    return {
        "n": len(lat),
        "failed": failures[0],
        "rps": len(lat) / wall if wall else float("nan"),
        "p50_ms": float(q[0]),
        "p95_ms": float(q[1]),
        "mean_ms": statistics.fmean(lat) if lat else float("nan"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", type=Path, help="an existing store (default: a temporary one)")
    ap.add_argument("--incidents", type=int, default=5000, help="size of the temporary store")
    ap.add_argument("--requests", type=int, default=300, help="requests per cached scenario")
    ap.add_argument("--uncached", type=int, default=12, help="requests per uncached scenario")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--max-seconds", type=float, default=60.0, help="time limit per scenario")
    args = ap.parse_args()

    from geosafe.access.tokens import TokenStore

    work = Path(tempfile.mkdtemp(prefix="geosafe-bench-"))
    db = args.db
    if db is None:
        db = work / "bench.db"
        t0 = time.perf_counter()
        _synthetic_store(db, args.incidents)
        print(f"store: {args.incidents} synthetic incidents in {time.perf_counter() - t0:.1f} s")
    token = (
        TokenStore(db.with_name(db.name + ".auth.sqlite"))
        .create("analyst", label="benchmark")
        .token
    )
    port = _free_port()
    env = dict(
        os.environ,
        GEOSAFE_DB=str(db),
        GEOSAFE_WORK_DIR=str(work / "service"),
        GEOSAFE_ACCESS_RATE_PER_MINUTE="100000000",
        GEOSAFE_ACCESS_REQUEST_TIMEOUT_S="600",
        GEOSAFE_MAX_PAGE_SIZE="1000",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        items = "/ogc/collections/hotspots-kde/items?limit=100"
        page = "/maps/hotspots"
        runs = {}
        kw = {"threads": args.threads, "max_s": args.max_seconds}
        runs["healthz (baseline)"] = _measure(
            base, {}, lambda i: "/healthz", requests=args.requests, **kw
        )
        runs["hotspots-kde items, uncached"] = _measure(
            base,
            headers,
            lambda i: f"{items}&bandwidth_m={200 + i}",
            requests=args.uncached,
            threads=1,
            max_s=args.max_seconds * 5,
        )
        httpx.get(f"{base}{items}", headers=headers, timeout=300)  # warm the cache
        runs["hotspots-kde items, cached"] = _measure(
            base, headers, lambda i: items, requests=args.requests, **kw
        )
        runs["map page, uncached"] = _measure(
            base,
            headers,
            lambda i: f"{page}?top_pct={1 + i % 40}",
            requests=min(args.uncached, 40),
            threads=1,
            max_s=args.max_seconds * 5,
        )
        etag = httpx.get(f"{base}{page}", headers=headers, timeout=300).headers.get("etag")
        runs["map page, cached"] = _measure(
            base, headers, lambda i: page, requests=args.requests, **kw
        )
        if etag:  # a browser revalidating its copy (Cache-Control: no-cache): 304, no body
            runs["map page, cached, 304"] = _measure(
                base,
                {**headers, "If-None-Match": etag},
                lambda i: page,
                requests=args.requests,
                ok=(304,),
                **kw,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)

    base_p50 = runs["healthz (baseline)"]["p50_ms"]
    print(
        f"\n{'scenario':<32}{'n':>5}{'fail':>5}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p50/baseline':>14}"
    )
    for name, r in runs.items():
        print(
            f"{name:<32}{r['n']:>5}{r['failed']:>5}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}"
            f"{r['p95_ms']:>9.1f}{r['p50_ms'] / base_p50:>14.1f}"
        )
    print(json.dumps({"threads": args.threads, "store": str(db), "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

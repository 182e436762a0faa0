"""Issue 15's concurrency acceptance at full size: ``geosafe serve --workers 4`` under 8
threads x 500 mixed requests (collections, items with a bbox, legend, KDE raster, the school's
map, basemap, browser login/logout; all roles) while two ``geosafe import police-uk``
subprocesses add real police.uk months; then a token with a small rate limit hit on new
connections across the workers.

The baseline, in the same run: the same load against ``--workers 1``. Prints throughput,
p50/p99 latency, errors, statuses and peak RSS per worker for both, the ratio of their
throughputs, whether every imported row landed, and the rate-limited token's count.

``--backend postgres`` (the default): the store is a PostGIS database of a throwaway cluster
and the shared state (tokens, sessions, rate buckets, heavy slots, audit) lives in it too;
``sqlite``: a SQLite store with the shared state in files beside it. Each run gets a fresh
copy of the access tests' demo store.

Usage::

    .venv/bin/python benchmarks/service_workers.py [--threads 8] [--requests 500]
        [--backend postgres|sqlite] [--months 3] [--no-baseline]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("GEOSAFE_PERSON_KEY", "geosafe-benchmark-person-key-not-secret")

from geosafe.access.tokens import TokenStore  # noqa: E402
from geosafe.store import open_store, throwaway  # noqa: E402
from tests.scale import workload as wl  # noqa: E402


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    return dst


def one_run(
    source_db: Path,
    folder: Path,
    *,
    workers: int,
    threads: int,
    requests: int,
    months: int,
    store_url: str | None,
) -> dict[str, object]:
    """Serve a fresh demo store with ``workers`` workers; load it while importing."""
    if store_url is None:
        db: Path | str = _copy(source_db, folder / "geosafe.db")
    else:
        db = wl.build_store(folder / "inputs", store_url)
    env = wl.server_env(db, folder)
    tokens_at = store_url or f"{db}.auth.sqlite"
    toks = wl.make_tokens(tokens_at)
    limited = TokenStore(tokens_at).create("analyst", label="limited", rate_per_minute=20).token
    groups = wl.import_files(months=months)
    new_refs = wl.police_refs([f for g in groups for f in g])
    with open_store(db) as store:
        new_refs -= set(store.incidents(sources=["police_uk"])["source_ref"])
    with wl.serve(db, folder, workers=workers, env=env) as server:
        wl.warm(server, toks, rounds=1)
        result = wl.run_load(server, toks, threads=threads, per_thread=requests, imports=groups)
        hammered = wl.hammer(server, limited, requests=70)
    with open_store(db) as store:
        now = set(store.incidents(sources=["police_uk"])["source_ref"])
        quarantined = {
            q.raw.get("Crime ID")
            for b in {int(r["batch_id"]) for r in result.imports}
            for q in store.quarantine(b)
        }
    return {
        "result": result,
        "missing": len(new_refs - now - quarantined),
        "new_rows": len(new_refs),
        "limited_ok": hammered.statuses.count(200),
        "limited_s": hammered.seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--requests", type=int, default=500, help="requests per thread")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--months", type=int, default=3, help="police.uk months per import")
    parser.add_argument("--no-baseline", action="store_true", help="skip the 1-worker run")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="geosafe-workers-"))
    source = Path(wl.build_store(folder / "source")) if args.backend == "sqlite" else folder
    cluster = throwaway.start() if args.backend == "postgres" else None
    try:
        runs = [args.workers] if args.no_baseline else [1, args.workers]
        out = {}
        for n in runs:
            url = cluster.create_database(f"bench_{n}") if cluster else None
            out[n] = one_run(
                source,
                folder / f"run-{n}",
                workers=n,
                threads=args.threads,
                requests=args.requests,
                months=args.months,
                store_url=url,
            )
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"backend of the shared state: {args.backend}; {args.threads} threads x "
          f"{args.requests} requests; imports of 2 x {args.months} police.uk months")  # fmt: skip
    for n, run in out.items():
        r = run["result"]
        assert isinstance(r, wl.LoadResult)
        print(f"{n} worker(s): {r.summary()}")
        print(
            f"    imported rows missing: {run['missing']} of {run['new_rows']}; rate-limited token "
            f"(20/min): {run['limited_ok']} of 70 allowed in {float(run['limited_s']):.1f} s "  # type: ignore[arg-type]
            f"(at most {20 + math.ceil(float(run['limited_s']) * 20 / 60)})"  # type: ignore[arg-type]
        )
        for e in r.errors[:5]:
            print("    error:", e)
    if len(out) == 2:
        base, many = (out[n]["result"] for n in runs)
        assert isinstance(base, wl.LoadResult) and isinstance(many, wl.LoadResult)
        ratio = (many.requests / many.seconds) / (base.requests / base.seconds)
        print(f"throughput {args.workers} workers / 1 worker: {ratio:.2f}")
    ok = all(not run["result"].errors and not run["missing"] for run in out.values())  # type: ignore[attr-defined]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

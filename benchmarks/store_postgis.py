"""Benchmark: importing police.uk rows into the PostGIS store (COPY) against the SQLite store.

Builds a police.uk-format CSV of N rows (default 1,000,000: the real bundled rows replicated
with fresh Crime IDs, :func:`benchmarks.ingest.build_input`), starts a throwaway PostgreSQL +
PostGIS cluster (:mod:`geosafe.store.throwaway`, ``fsync=off``), then imports the file with
``geosafe.ingest.import_file`` into a new SQLite store (the baseline) and a new PostGIS
database, each in its own process, ``--runs`` times interleaved (medians). Reported per
backend: wall seconds, rows/s, the importing process's CPU and peak RSS at the end of the import
(``getrusage``; the whole run's, with the read-back, from GNU time), and for
PostGIS the CPU the server processes spent (``/proc``: the postmaster's children), so the
work moved into the server is counted; then PostGIS / SQLite ratios.

Also a re-import of the same file (a no-op: the duplicate batch is found by its SHA-256) and a
read of every incident back (``store.incidents()``).

Usage::

    .venv/bin/python benchmarks/store_postgis.py                 # 1,000,000 rows, 1 run
    .venv/bin/python benchmarks/store_postgis.py --rows 200000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import build_input, run  # noqa: E402
from geosafe.store import throwaway  # noqa: E402

_IMPORT = """
import json, resource, sys, time
from geosafe.ingest import import_file
from geosafe.store import open_store
t0 = time.perf_counter()
store = open_store(sys.argv[1])
r = import_file(store, "police_uk", sys.argv[2])
t1 = time.perf_counter()
use = resource.getrusage(resource.RUSAGE_SELF)
import_rss, import_cpu = use.ru_maxrss * 1024, use.ru_utime + use.ru_stime
again = import_file(store, "police_uk", sys.argv[2])
t2 = time.perf_counter()
n = len(store.incidents(with_location=False))
t3 = time.perf_counter()
print(json.dumps({"accepted": r.accepted, "rows": r.rows, "import_s": t1 - t0,
                  "import_rss": import_rss, "import_cpu": import_cpu,
                  "reimport_s": t2 - t1, "duplicate": again.duplicate_batch,
                  "read_s": t3 - t2, "read_rows": n}))
"""


def _server_cpu(cluster: throwaway.Cluster) -> float:
    """CPU seconds (user + system) of the cluster's server processes so far."""
    pid_file = cluster.data_dir / "postmaster.pid"
    try:
        master = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    tick = 100.0  # os.sysconf("SC_CLK_TCK") on Linux
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        if pid == master:  # its own time and its reaped children's (ended backends)
            total += sum(int(f) for f in fields[11:15]) / tick
        elif int(fields[1]) == master:  # live backends and workers
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    reason = throwaway.available()
    if reason:
        raise SystemExit(f"cannot start PostgreSQL: {reason}")
    work = Path(tempfile.mkdtemp(prefix="geosafe-bench-pg-"))
    src = build_input(args.rows, work / "police.csv")
    cluster = throwaway.start()
    results: dict[str, list[dict[str, float]]] = {"sqlite": [], "postgis": []}
    try:
        for k in range(args.runs):
            for backend in ("sqlite", "postgis"):
                if backend == "sqlite":
                    target = str(work / f"store-{k}.db")
                else:
                    target = cluster.create_database(f"bench_{k}")
                cpu0 = _server_cpu(cluster)
                wall, cpu, rss, out = run(_IMPORT, target, str(src))
                server = _server_cpu(cluster) - cpu0 if backend == "postgis" else 0.0
                got = json.loads(out.splitlines()[-1])
                assert got["accepted"] == args.rows and got["duplicate"], got
                assert got["read_rows"] == args.rows, got
                results[backend].append(
                    {"wall": wall, "cpu": cpu, "rss": rss, "server_cpu": server, **got}
                )
                print(f"run {k + 1} {backend}: {json.dumps(results[backend][-1])}", flush=True)
    finally:
        cluster.stop()

    def med(backend: str, key: str) -> float:
        return statistics.median(r[key] for r in results[backend])

    print(
        f"\n{args.rows:,} police.uk-like rows, median of {args.runs} run(s), {time.strftime('%Y-%m-%d')}"
    )
    print(f"{'backend':<8} {'import s':>9} {'rows/s':>9} {'CPU s':>7} {'server CPU s':>13} "
          f"{'import RSS MB':>14} {'re-import s':>12} {'read all s':>11} {'run RSS MB':>11}")  # fmt: skip
    for b in ("sqlite", "postgis"):
        print(
            f"{b:<8} {med(b, 'import_s'):>9.1f} {args.rows / med(b, 'import_s'):>9,.0f} "
            f"{med(b, 'import_cpu'):>7.1f} {med(b, 'server_cpu'):>13.1f} "
            f"{med(b, 'import_rss') / 1e6:>14.0f} {med(b, 'reimport_s'):>12.2f} "
            f"{med(b, 'read_s'):>11.1f} {med(b, 'rss') / 1e6:>11.0f}"
        )
    print(
        f"PostGIS / SQLite: import time {med('postgis', 'import_s') / med('sqlite', 'import_s'):.2f}x, "
        f"importer peak RSS {med('postgis', 'import_rss') / med('sqlite', 'import_rss'):.2f}x, "
        f"read-back {med('postgis', 'read_s') / med('sqlite', 'read_s'):.2f}x"
    )


if __name__ == "__main__":
    main()

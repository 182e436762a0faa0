"""Benchmark: rewriting the published counts of every period, numpy against the SQL it replaced.

The last step of every import (:func:`geosafe.store.published._rewrite`) writes the published
counts of each period holding the months it touched. Until the sixth wave that was one
``INSERT ... SELECT ... GROUP BY`` per period (398 for a store of 159 months); now the exact
rows of the whole span are read once, every period is aggregated in numpy
(:mod:`geosafe.store.published_periods`) and the rows go in with one ``executemany`` of
multi-row ``INSERT`` statements. This script times both in one process on the same stores:

- builds a police.uk CSV of ``--rows`` rows (``benchmarks/ingest.py``'s ``build_input``: the
  real months replicated with fresh Crime IDs) and imports it with ``geosafe import
  police-uk`` into a new SQLite store; the same at ``--small-rows``;
- for each store, three cases, each a transaction rolled back after the timing:
  ``import`` (every period of every month into an empty ``published_counts``: what the
  import itself does at its end), ``rewrite all`` (the same over the full table: the deletes
  too) and ``one month`` (the last month's 15 periods in the full table);
- the contenders alternate, ``--runs`` times each; medians of wall and CPU time
  (``time.process_time``: the machine is shared), the ratio new / old (below 1: faster), the
  Python heap's peak per contender (``tracemalloc``: numpy's arrays count; SQLite's own
  memory does not), and the process's peak RSS at the end;
- checks, every case, that both leave the same table (values and ``typeof`` of each column).

Usage::

    .venv/bin/python benchmarks/published_periods.py                  # 1,000,000 and 10,000 rows
    .venv/bin/python benchmarks/published_periods.py --rows 200000 --runs 3
    .venv/bin/python benchmarks/published_periods.py --store S.db       # an existing store
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import build_input, run_command  # noqa: E402

from geosafe.store import published  # noqa: E402
from tests.store.test_published_periods_sql import rewrite_periods_sql  # noqa: E402

Periods = dict[str, tuple[str, str]]
#: The months an import has just written and their exact rows (the new path reads the others).
Known = tuple[list[str], list[Any]] | None
Rewrite = Callable[[published._Sql, Periods, Known], None]
CONTENDERS: dict[str, Rewrite] = {
    "SQL per period (old)": lambda db, periods, known: rewrite_periods_sql(db, periods),
    "numpy, one executemany (new)": lambda db, periods, known: published._write_periods(
        db, periods, known=known
    ),
}
TABLE = (
    "SELECT period, cell, resolution, typeof(resolution), source, time_window, count, "
    "typeof(count), suppressed, typeof(suppressed) FROM published_counts "
    "ORDER BY period, time_window, source, cell"
)


def _store(rows: int, work: Path) -> Path:
    csv = build_input(rows, work / f"police{rows}.csv")
    db = work / f"store{rows}.db"
    wall, cpu, rss, _ = run_command(
        [sys.executable, "-m", "geosafe", "import", "police-uk", str(csv), "--db", str(db)]
    )
    print(f"\n{rows:,} rows imported in {wall:.2f} s ({cpu:.2f} s CPU, {rss / 1e6:.0f} MB)")
    csv.unlink()
    return db


def _empty_copy(db: Path, out: Path) -> Path:
    """``db`` with ``published_counts`` emptied and the file compacted (as a new store's)."""
    shutil.copy(db, out)
    with sqlite3.connect(out) as conn:
        conn.execute("DELETE FROM published_counts")
    conn = sqlite3.connect(out)
    conn.execute("VACUUM")
    conn.close()
    return out


def _time(
    conn: sqlite3.Connection, fn: Rewrite, periods: Periods, known: Known, *, table: bool
) -> Any:
    conn.execute("BEGIN")
    try:
        w0, c0 = time.perf_counter(), time.process_time()
        fn(published._Sql(conn, pg=False), periods, known)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        return wall, cpu, conn.execute(TABLE).fetchall() if table else None
    finally:
        conn.execute("ROLLBACK")


def _heap(conn: sqlite3.Connection, fn: Rewrite, periods: Periods, known: Known) -> int:
    tracemalloc.start()
    try:
        _time(conn, fn, periods, known, table=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bench(db: Path, runs: int, work: Path) -> None:
    with sqlite3.connect(db) as conn:
        months = [m for (m,) in conn.execute("SELECT DISTINCT month FROM published_exact")]
        exact = conn.execute("SELECT * FROM published_exact").fetchall()
    every = published.periods_of(months)
    # the import: every month's exact rows just written (the new path is told them, as in
    # published._rewrite); the others: the rewrite on its own (it reads every month)
    cases: dict[str, tuple[Path, Periods, Known]] = {
        "import": (_empty_copy(db, work / "empty.db"), every, (months, exact)),
        "rewrite all": (db, every, None),
        "one month": (db, published.periods_of([max(months)]), None),
    }
    print(f"{len(months)} months, {len(exact):,} published_exact rows, {len(every)} periods")
    for case, (path, periods, known) in cases.items():
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA cache_size = -65536")  # the store's own setting (64 MB)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in CONTENDERS}
        tables = {}
        for _ in range(runs):
            for name, fn in CONTENDERS.items():
                wall, cpu, tables[name] = _time(conn, fn, periods, known, table=True)
                times[name].append((wall, cpu))
        heaps = {name: _heap(conn, fn, periods, known) for name, fn in CONTENDERS.items()}
        conn.close()
        old, new = (tables[name] for name in CONTENDERS)
        same = "equal" if old == new else "DIFFERENT"
        print(f"  {case} ({len(periods)} periods; {len(new):,} rows in the table after; {same}):")
        med = {}
        for name, values in times.items():
            med[name] = tuple(statistics.median(v[i] for v in values) for i in (0, 1))
            print(
                f"    {name:<30} {med[name][0] * 1e3:8.1f} ms wall {med[name][1] * 1e3:8.1f} ms "
                f"CPU | Python heap peak {heaps[name] / 1e6:6.1f} MB"
            )
        (ow, oc), (nw, nc) = med.values()
        print(f"    ratio new / old: wall {nw / ow:.2f}x, CPU {nc / oc:.2f}x")
        if old != new:
            raise SystemExit(f"{case}: the numpy rewrite left a different table")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="alternated runs per contender")
    parser.add_argument("--store", type=Path, help="time this SQLite store instead (a copy)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.store:
            stores = [shutil.copy(args.store, work / "store.db")]
        else:
            stores = [_store(n, work) for n in (args.rows, args.small_rows) if n]
        for db in stores:
            bench(Path(db), args.runs, work)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()

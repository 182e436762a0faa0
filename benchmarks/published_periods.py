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
  ``rewrite all`` (every period of every month over the full table: the deletes too), ``one
  month`` (the last month's 15 periods in the full table) and ``import`` (every period into
  an emptied ``published_counts``, told the exact rows just written: what the import itself
  does at its end);
- the contenders alternate, ``--runs`` times each; medians of wall and CPU time
  (``time.process_time``: the machine is shared), the ratio new / old (below 1: faster), the
  Python heap's peak per contender (``tracemalloc``: numpy's arrays count; SQLite's own
  memory does not), and the process's peak RSS at the end;
- checks, every case, that both leave the same table (values and ``typeof`` of each column);
- with ``--postgis ROWS``, the same on a throwaway PostGIS store (``geosafe.store.throwaway``;
  skipped with the reason when PostgreSQL is not installed), CPU time of this process plus
  the server process that does the work (``/proc``, clock ticks).

Usage::

    .venv/bin/python benchmarks/published_periods.py                  # 1,000,000 and 10,000 rows
    .venv/bin/python benchmarks/published_periods.py --rows 200000 --runs 3
    .venv/bin/python benchmarks/published_periods.py --store S.db       # an existing store
    .venv/bin/python benchmarks/published_periods.py --rows 0 --small-rows 0 --postgis 200000
"""

from __future__ import annotations

import argparse
import os
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
    "numpy, one write (new)": lambda db, periods, known: published._write_periods(
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


class _Session:
    """One store's connection: transactions rolled back, the table, the CPU time spent."""

    def __init__(self, conn: Any, *, pg: bool) -> None:
        self.conn, self.pg = conn, pg
        self.db = published._Sql(conn, pg=pg)
        # PostgreSQL does the work in its server process: its CPU time counts too
        self.server = conn.execute("SELECT pg_backend_pid()").fetchone()[0] if pg else None

    def cpu(self) -> float:
        seconds = time.process_time()
        if self.server is not None:
            fields = Path(f"/proc/{self.server}/stat").read_text().rsplit(")", 1)[1].split()
            seconds += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return seconds

    def table(self) -> list[Any]:
        query = TABLE if not self.pg else TABLE.replace("typeof", "pg_typeof")
        return self.conn.execute(query).fetchall()

    def time(self, fn: Rewrite, periods: Periods, known: Known, *, table: bool) -> Any:
        self.conn.execute("BEGIN")
        try:
            w0, c0 = time.perf_counter(), self.cpu()
            fn(self.db, periods, known)
            wall, cpu = time.perf_counter() - w0, self.cpu() - c0
            return wall, cpu, self.table() if table else None
        finally:
            self.conn.execute("ROLLBACK")

    def heap(self, fn: Rewrite, periods: Periods, known: Known) -> int:
        tracemalloc.start()
        try:
            self.time(fn, periods, known, table=False)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def empty(self) -> None:
        """Empty ``published_counts`` for good, its pages freed (as a new store's)."""
        self.conn.execute("DELETE FROM published_counts")
        self.conn.execute("VACUUM" if not self.pg else "VACUUM published_counts")


def bench(session: _Session, runs: int) -> None:
    conn = session.conn
    months = [m for (m,) in conn.execute("SELECT DISTINCT month FROM published_exact")]
    exact = conn.execute(
        "SELECT month, cell, resolution, source, time_window, n FROM published_exact"
    ).fetchall()
    every = published.periods_of(months)
    # the rewrite on its own (it reads every month) over the full table; then the import:
    # into an empty table, every month's exact rows just written (the new path is told them,
    # as published._rewrite does)
    cases: dict[str, tuple[Periods, Known]] = {
        "rewrite all": (every, None),
        "one month": (published.periods_of([max(months)]), None),
        "import": (every, (months, exact)),
    }
    cpu = "CPU" if not session.pg else "CPU (client + server)"
    print(f"{len(months)} months, {len(exact):,} published_exact rows, {len(every)} periods")
    for case, (periods, known) in cases.items():
        if case == "import":
            session.empty()
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in CONTENDERS}
        tables = {}
        for _ in range(runs):
            for name, fn in CONTENDERS.items():
                wall, seconds, tables[name] = session.time(fn, periods, known, table=True)
                times[name].append((wall, seconds))
        heaps = {name: session.heap(fn, periods, known) for name, fn in CONTENDERS.items()}
        old, new = (tables[name] for name in CONTENDERS)
        same = "equal" if old == new else "DIFFERENT"
        print(f"  {case} ({len(periods)} periods; {len(new):,} rows in the table after; {same}):")
        med = {}
        for name, values in times.items():
            med[name] = tuple(statistics.median(v[i] for v in values) for i in (0, 1))
            print(
                f"    {name:<30} {med[name][0] * 1e3:8.1f} ms wall {med[name][1] * 1e3:8.1f} ms "
                f"{cpu} | Python heap peak {heaps[name] / 1e6:6.1f} MB"
            )
        (ow, oc), (nw, nc) = med.values()
        print(f"    ratio new / old: wall {nw / ow:.2f}x, {cpu} {nc / oc:.2f}x")
        if old != new:
            raise SystemExit(f"{case}: the numpy rewrite left a different table")


def postgis(rows: int, runs: int, work: Path) -> None:
    """The same on a throwaway PostGIS store of ``rows`` rows (imported in this process)."""
    from geosafe.ingest import import_file
    from geosafe.store import open_store, throwaway

    reason = throwaway.available()
    if reason:
        print(f"\nPostGIS skipped: {reason}")
        return
    for name in ("GEOSAFE_AUDIT_DB", "GEOSAFE_ACCESS_TOKEN_DB"):  # beside, not in the cwd
        os.environ[name] = str(work / f"{name.lower()}.sqlite")
    os.environ["GEOSAFE_ROLLS_DIR"] = str(work / "rolls")
    csv = build_input(rows, work / f"police{rows}.csv")
    with throwaway.start() as cluster:
        store: Any = open_store(cluster.create_database("bench"))
        w0 = time.perf_counter()
        import_file(store, "police_uk", csv)
        print(f"\nPostGIS: {rows:,} rows imported in {time.perf_counter() - w0:.2f} s")
        bench(_Session(store._conn, pg=True), runs)
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="alternated runs per contender")
    parser.add_argument("--store", type=Path, help="time this SQLite store instead (a copy)")
    parser.add_argument(
        "--postgis", type=int, default=0, metavar="ROWS", help="also a PostGIS store of ROWS rows"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.store:
            stores = [shutil.copy(args.store, work / "store.db")]
        else:
            stores = [_store(n, work) for n in (args.rows, args.small_rows) if n]
        for db in stores:
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("PRAGMA cache_size = -65536")  # the store's own setting (64 MB)
            bench(_Session(conn, pg=False), args.runs)
            conn.close()
        if args.postgis:
            postgis(args.postgis, args.runs, work)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()

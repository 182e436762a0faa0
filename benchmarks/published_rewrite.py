"""Benchmark: what the published aggregates cost an import (SQLite store).

Imports the bundled police.uk months (one batch per file) into new SQLite stores twice with
the published-aggregates rewrite and once with it replaced by a no-op in the same process
(the baseline), then times rewriting every month and one month of the finished store.
Prints the ratio with / without, the rewrite times and the published table's size, and the
process's peak RSS.

Usage::

    .venv/bin/python benchmarks/published_rewrite.py
    .venv/bin/python benchmarks/published_rewrite.py --files 40
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geosafe.ingest import import_file  # noqa: E402
from geosafe.store import open_store, published  # noqa: E402


def _import(files: list[Path]) -> tuple[float, object]:
    store = open_store(str(Path(tempfile.mkdtemp()) / "store.db"))
    start = time.perf_counter()
    for f in files:
        import_file(store, "police_uk", f)
    return time.perf_counter() - start, store


def _rewrite(store: object, months: list[str]) -> float:
    conn = store._conn  # type: ignore[attr-defined]
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    published.write_sqlite(conn, months)
    conn.execute("COMMIT")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=0, help="first N files (0: all)")
    args = parser.parse_args()
    files = sorted((ROOT / "data" / "police").glob("*.csv.gz"))
    files = files[: args.files] if args.files else files
    with_a, store = _import(files)
    real = published.write_sqlite
    published.write_sqlite = lambda c, which: None  # type: ignore[assignment]
    without, _ = _import(files)
    published.write_sqlite = real  # type: ignore[assignment]
    with_b, _ = _import(files)
    months = published.months_sqlite(store._conn, "1 = 1")  # type: ignore[attr-defined]
    every = _rewrite(store, months)
    one = min(_rewrite(store, months[-1:]) for _ in range(5))
    rows = store.query("SELECT COUNT(*) FROM published_counts")[0][0]  # type: ignore[attr-defined]
    n = store.query("SELECT COUNT(*) FROM incidents")[0][0]  # type: ignore[attr-defined]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(files)} police.uk files (one batch each), {n} incidents, {len(months)} months")
    print(
        f"import with the rewrite {with_a:.1f} s / {with_b:.1f} s, without {without:.1f} s: "
        f"ratio {min(with_a, with_b) / without:.2f}"
    )
    print(
        f"rewrite every month {every:.2f} s, one month {one * 1000:.0f} ms (best of 5); "
        f"published_counts rows {rows}; peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()

"""Benchmark: one month of the national archive (``benchmarks/national_generate.py``), file
by file, into one SQLite store with the England-and-Wales area: the published periods'
rewrite made in blocks of cells (the code), in one go, or by the per-period SQL (the tests'
reference), each in its own process; prints wall time and peak RSS of each, and the ratios.

Usage::

    python benchmarks/national_generate.py /tmp/national
    python benchmarks/published_national.py /tmp/national --month 2023-03
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import glob, json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
from geosafe.ingest import import_file, load_aoi
from geosafe.store import Store, published
mode = {mode!r}
if mode == "one go":
    published._BLOCK_ROWS = 1 << 62
elif mode == "per-period SQL":
    from tests.store.test_published_periods_sql import rewrite_periods_sql
    published._write_periods = lambda db, periods, cells=None, *, known=None: rewrite_periods_sql(db, periods, cells)
aoi = load_aoi({aoi!r})
files = sorted(glob.glob({pattern!r}))
with tempfile.TemporaryDirectory() as work:
    store = Store(Path(work) / "s.db")
    t = time.perf_counter()
    rows = sum(import_file(store, "police_uk", f, aoi=aoi).rows for f in files)
    seconds = time.perf_counter() - t
    store.close()
print(json.dumps({{"files": len(files), "rows": rows, "seconds": round(seconds, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archive", type=Path)
    ap.add_argument("--month", default="2023-03")
    args = ap.parse_args()
    out = {}
    for mode in ("blocks", "one go", "per-period SQL"):
        code = RUN.format(
            root=str(ROOT),
            mode=mode,
            aoi=str(args.archive / "england_and_wales.geojson"),
            pattern=str(args.archive / args.month / "*.csv"),
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{mode:15s}: {out[mode]}", flush=True)
    for mode in ("one go", "per-period SQL"):
        a, b = out["blocks"], out[mode]
        print(
            f"blocks / {mode}: time {a['seconds'] / b['seconds']:.2f}x, "
            f"peak RSS {a['peak_rss_mb'] - b['peak_rss_mb']:+d} MB"
        )


if __name__ == "__main__":
    main()

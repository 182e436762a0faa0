"""Benchmark: importing police.uk rows with geosafe, side by side with its peers.

Builds a police.uk-format CSV of N rows (default 1,000,000) by replicating the real rows of
the Met burglary files with fresh Crime IDs (so every row is a new crime, none a duplicate),
then runs each contender as its own process, interleaved, ``--runs`` times (medians; CPU from
``os.wait4``, peak RSS from GNU time):

- ``geosafe import (CLI)``: ``python -m geosafe import police-uk FILE --db NEW`` (start-up,
  header checks, coordinate classification, H3 cells, dedupe, staged batch, index build,
  commit, audit record);
- ``sqlite3 .import``: the SQLite shell loading the same CSV as text into one table (no
  checks, no index): the floor for anything that writes the rows to SQLite;
- ``ogr2ogr (GPKG)``: GDAL reading the CSV as points and writing a GeoPackage in EPSG:27700;
- ``pandas+GeoPackage`` (unless ``--skip-baseline``): ``read_csv`` + ``points_from_xy`` +
  ``to_crs(27700)`` + ``to_file``.

Then the same at ``--small-rows`` (default 10,000: start-up bound). Peers not installed are
skipped with a line saying so. Targets (issue 16): >= 150,000 rows/s and within 3x of
``sqlite3 .import`` at 1M rows; under 0.4 s at 10k rows.

Measured 2026-12-05, fifth wave (docs/notes/perf.md, "Fifth wave"): the police.uk path no
longer loads pandas (the ``csv`` module or polars reads, numpy checks), so the figures moved
from 11.7 s wall / 12.2 s CPU at 1M rows (4.2x ``sqlite3 .import``) and 0.79 s at 10k rows
to the ones in that note, each with its peer from the same run and the load average.

Also ``--real DIR``: import every month file of DIR (default the shared 159-month Met set)
into a fresh store and report accepted / no-location / updated / quarantined by reason code.

Usage::

    .venv/bin/python benchmarks/ingest.py                 # 1,000,000 and 10,000 rows, 3 runs
    .venv/bin/python benchmarks/ingest.py --rows 200000 --runs 1
    .venv/bin/python benchmarks/ingest.py --skip-baseline   # geosafe only (repeat runs)
    .venv/bin/python benchmarks/ingest.py --real /work/shared/data/police/met_burglary_north_london
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "police" / "met_burglary_north_london"

_BASELINE = """
import sys
import geopandas as gpd
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype={"Crime ID": str})
gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]), crs=4326)
gdf = gdf.to_crs(27700)
gdf.to_file(sys.argv[2], driver="GPKG", engine="pyogrio")
print(len(gdf))
"""


def build_input(rows: int, out: Path) -> Path:
    """Replicate the real rows to ``rows`` rows with fresh, unique Crime IDs."""
    src = sorted(SHARED.glob("*.csv.gz")) or sorted((ROOT / "data" / "police").glob("*.csv.gz"))
    real = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False) for p in src], ignore_index=True
    )
    reps = -(-rows // len(real))
    df = pd.concat([real] * reps, ignore_index=True).iloc[:rows].copy()
    df["Crime ID"] = [hashlib.sha256(f"bench-{i}".encode()).hexdigest() for i in range(rows)]
    df.to_csv(out, index=False)
    return out


def run(code: str, *args: str) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (bytes) and stdout of
    ``python -c code args``, from that process's own rusage (``os.wait4``)."""
    return run_command([sys.executable, "-c", code, *args])


def run_command(argv: list[str], *, stdin: str | None = None) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (bytes) and stdout of a command,
    from that process's own rusage (``os.wait4``); ``cwd`` is the project root, so
    ``python -m geosafe`` runs this checkout."""
    # GNU time reports the command's own peak RSS: a child forked from this (large) process
    # would inherit its high-water mark in ``ru_maxrss``
    timer = ["/usr/bin/time", "-f", "@maxrss_kb=%M"] if Path("/usr/bin/time").exists() else []
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*timer, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if timer else None,
        stdin=subprocess.PIPE if stdin is not None else None,
        cwd=ROOT,
        text=True,
    )
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stdout is not None
    out = proc.stdout.read()
    err = proc.stderr.read() if proc.stderr is not None else ""
    _, status, usage = os.wait4(proc.pid, 0)  # reaps the child: its own rusage
    seconds = time.perf_counter() - t0
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(argv)}\n{err}")
    rss = usage.ru_maxrss * 1024
    for line in err.splitlines():
        if line.startswith("@maxrss_kb="):
            rss = int(line.split("=", 1)[1]) * 1024
        elif line.strip():
            print(line, file=sys.stderr)
    return seconds, usage.ru_utime + usage.ru_stime, rss, out.strip()


Timing = tuple[float, float, int]  # wall s, CPU s, peak RSS bytes


def _median(runs: list[Timing]) -> Timing:
    def mid(values: list[float]) -> float:
        return float(np.median(values))

    return (mid([r[0] for r in runs]), mid([r[1] for r in runs]), int(mid([r[2] for r in runs])))


def _contenders(csv_path: Path, work: Path, *, baseline: bool) -> dict[str, object]:
    """Each contender as a function of a run number returning a :data:`Timing`."""

    def geosafe(k: int) -> Timing:
        db = work / f"store{k}.db"
        w, c, r, _ = run_command(
            [sys.executable, "-m", "geosafe", "import", "police-uk", str(csv_path), "--db", str(db)]
        )
        return w, c, r

    def sqlite_import(k: int) -> Timing:
        db = work / f"sqlite{k}.db"
        w, c, r, _ = run_command(["sqlite3", str(db)], stdin=f".import --csv {csv_path} t\n")
        return w, c, r

    def ogr2ogr(k: int) -> Timing:
        out = work / f"ogr{k}.gpkg"
        argv = [
            "ogr2ogr", "-f", "GPKG", str(out), str(csv_path), "-oo", "X_POSSIBLE_NAMES=Longitude",
            "-oo", "Y_POSSIBLE_NAMES=Latitude", "-s_srs", "EPSG:4326", "-t_srs", "EPSG:27700",
            "-nln", "police",
        ]  # fmt: skip
        w, c, r, _ = run_command(argv)
        return w, c, r

    def pandas_gpkg(k: int) -> Timing:
        w, c, r, _ = run(_BASELINE, str(csv_path), str(work / f"baseline{k}.gpkg"))
        return w, c, r

    out: dict[str, object] = {"geosafe import (CLI)": geosafe}
    if shutil.which("sqlite3"):
        out["sqlite3 .import"] = sqlite_import
    else:
        print("sqlite3 command-line shell not installed: `sqlite3 .import` skipped")
    if shutil.which("ogr2ogr"):
        out["ogr2ogr (GPKG)"] = ogr2ogr
    else:
        print("ogr2ogr not installed: skipped")
    if baseline:
        out["pandas+GeoPackage"] = pandas_gpkg
    return out


def _compile_bytecode() -> None:
    """Write geosafe's bytecode first, as installing a package does: with
    PYTHONDONTWRITEBYTECODE set and no ``__pycache__``, every run would compile ~35 modules
    (~0.15 s CPU of a 10k-row import)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "geosafe"), str(ROOT / "api")],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def bench(rows: int, *, baseline: bool = True, runs: int = 3) -> dict[str, Timing]:
    """Import ``rows`` police.uk rows with geosafe and its peers, interleaved, ``runs``
    times each; print medians and geosafe's ratio to each peer (below 1: geosafe faster)."""
    _compile_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        t0 = time.perf_counter()
        csv_path = build_input(rows, t / "police.csv")
        print(
            f"\n{rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) built in "
            f"{time.perf_counter() - t0:.1f} s; {runs} interleaved runs each, medians"
        )
        contenders = _contenders(csv_path, t, baseline=baseline)
        timings: dict[str, list[Timing]] = {name: [] for name in contenders}
        for k in range(runs):
            for name, fn in contenders.items():
                timings[name].append(fn(k))  # type: ignore[operator]
                for f in t.glob(f"*{k}.*"):  # keep the disk small between runs
                    f.unlink()
    med = {name: _median(v) for name, v in timings.items()}
    load = os.getloadavg()[0]
    print(f"load average after the runs: {load:.1f} on {os.cpu_count()} CPUs (wall time suffers)")
    for name, (sec, cpu, rss) in med.items():
        print(
            f"{name:<22}: {sec:7.2f} s wall {rows / sec:9,.0f} rows/s | {cpu:7.2f} s CPU "
            f"{rows / cpu:9,.0f} rows/CPU-s | peak RSS {rss / 1e6:6.0f} MB"
        )
    g = med["geosafe import (CLI)"]
    for name, (sec, cpu, rss) in med.items():
        if name != "geosafe import (CLI)":
            print(
                f"ratio geosafe / {name}: wall {g[0] / sec:.2f}x, CPU {g[1] / cpu:.2f}x, "
                f"peak RSS {g[2] / rss:.2f}x"
            )
    return med


def real(directory: Path) -> None:
    from geosafe.ingest import import_file
    from geosafe.store import Store

    files = sorted(directory.glob("*.csv.gz")) + sorted(directory.glob("*.csv"))
    totals: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "real.db")
        t0 = time.perf_counter()
        for p in files:
            r = import_file(store, "police_uk", p)
            totals.update(
                rows=r.rows,
                accepted=r.accepted,
                quarantined=r.quarantined,
                no_location=r.no_location,
                updated=r.updated,
            )
            reasons.update(r.reasons)
        seconds = time.perf_counter() - t0
        current = store.counts().get("police_uk", 0)
        store.close()
    print(f"{len(files)} files, {totals['rows']:,} rows in {seconds:.1f} s")
    print(
        json.dumps(
            {
                **totals,
                "accepted_share": round(totals["accepted"] / totals["rows"], 4),
                "current_incidents": current,
                "quarantined_by_reason": dict(reasons),
            },
            indent=1,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--small-rows", type=int, default=10_000, help="the start-up-bound run (0: skip it)"
    )
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs per contender")
    parser.add_argument(
        "--skip-baseline", action="store_true", help="time geosafe only (ratios then read 1)"
    )
    parser.add_argument(
        "--real", type=Path, nargs="?", const=SHARED, help="import a directory of real months"
    )
    args = parser.parse_args()
    np.seterr(all="ignore")
    if args.real:
        real(args.real)
    else:
        big = bench(args.rows, baseline=not args.skip_baseline, runs=args.runs)
        rate = args.rows / big["geosafe import (CLI)"][0]
        print(f"target >= 150,000 rows/s wall at {args.rows:,} rows: {rate:,.0f} rows/s")
        if "sqlite3 .import" in big:
            ratio = big["geosafe import (CLI)"][0] / big["sqlite3 .import"][0]
            print(f"target within 3x of `sqlite3 .import` (wall): {ratio:.2f}x")
        if args.small_rows:
            small = bench(args.small_rows, baseline=False, runs=args.runs)
            print(
                f"target < 0.4 s for {args.small_rows:,} rows: {small['geosafe import (CLI)'][0]:.2f} s wall"
            )


if __name__ == "__main__":
    main()

"""Benchmark: a 10,000-row police.uk import from a cold command line, beside ogr2ogr.

Issue 16, item 6: ``python -m geosafe import police-uk FILE --db NEW.sqlite`` (a new
process, a new store) under 0.4 s wall for 10,000 rows. Start-up dominates that run, so
it is measured as a user runs it: each run is its own process (interpreter start, imports,
a new store and a new audit log, the import, the WAL checkpoint when the store closes).

Each round runs, one after the other, the geosafe import, then every ``--baseline``
checkout's import (the same command from that directory: another commit exported with
``git archive``, to compare before and after in the same conditions), then ``ogr2ogr``
(GDAL reading the CSV as points and writing a GeoPackage in EPSG:27700) when installed.
Alternating them spreads the machine's load over every contender alike. Prints per
contender the median, min and max wall time, the median CPU time (user + system, from
``os.wait4``) and the median peak RSS (GNU time), then the ratios of the medians to
ogr2ogr and to each baseline (below 1: geosafe faster), and the load average.

Every geosafe run gets bytecode first (as an installed package has: with
``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` each run would compile its modules).

Usage::

    .venv/bin/python benchmarks/ingest_small.py                       # 10,000 rows, 11 rounds
    .venv/bin/python benchmarks/ingest_small.py --runs 21 --input /tmp/ab/10k.csv
    git archive main | tar -x -C /tmp/base
    .venv/bin/python benchmarks/ingest_small.py --baseline /tmp/base  # before vs after

Measured 2026-12-05 (seventh wave): docs/notes/perf.md, "Seventh wave ... helper small".
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import (  # noqa: E402
    _compile_bytecode,
    _contenders,
    build_input,
    run_command,
)

#: The target of issue 16 for this run, seconds of wall time.
TARGET_S = 0.4

Timing = tuple[float, float, int]  # wall s, CPU s, peak RSS bytes


def compile_bytecode(root: Path) -> None:
    """Write ``root``'s geosafe bytecode, as installing a package does (this checkout's with
    :func:`benchmarks.ingest._compile_bytecode`)."""
    if root == ROOT:
        _compile_bytecode()
        return
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "geosafe"], cwd=root, env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def geosafe_import(checkout: Path, csv_path: Path, db: Path) -> Timing:
    """One cold ``python -m geosafe import police-uk`` of ``checkout`` into a new store."""
    # `env -C`: run from the checkout (``-m`` puts the current directory first on sys.path)
    argv = ["env", "-C", str(checkout), sys.executable, "-m", "geosafe", "import", "police-uk"]
    argv += [str(csv_path), "--db", str(db)]
    wall, cpu, rss, out = run_command(argv)
    if '"accepted"' not in out:
        raise SystemExit(f"unexpected output of {' '.join(argv)}: {out!r}")
    return wall, cpu, rss


def _clean(work: Path) -> None:
    for f in work.iterdir():
        if f.is_file() and f.suffix != ".csv":
            f.unlink()


def bench(csv_path: Path, runs: int, baselines: list[Path], work: Path) -> dict[str, list[Timing]]:
    """``runs`` alternated rounds of every contender; their timings by name."""
    contenders: dict[str, object] = {"geosafe (this checkout)": ROOT}
    for b in baselines:
        contenders[f"geosafe ({b})"] = b
    # benchmarks/ingest.py's ogr2ogr run (it says when ogr2ogr is not installed)
    peers = _contenders(csv_path, work, baseline=False)
    if "ogr2ogr (GPKG)" in peers:
        contenders["ogr2ogr (GPKG)"] = peers["ogr2ogr (GPKG)"]
    for checkout in contenders.values():
        if isinstance(checkout, Path):
            compile_bytecode(checkout)
    timings: dict[str, list[Timing]] = {name: [] for name in contenders}
    for k in range(runs):
        for name, checkout in contenders.items():
            if isinstance(checkout, Path):
                timings[name].append(geosafe_import(checkout, csv_path, work / f"store{k}.sqlite"))
            else:
                timings[name].append(checkout(k))  # type: ignore[operator]
            _clean(work)
    return timings


def report(timings: dict[str, list[Timing]], rows: int) -> None:
    """Medians, spreads and ratios."""
    med = {}
    print(f"load average after the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, runs in timings.items():
        walls = sorted(t[0] for t in runs)
        wall = statistics.median(walls)
        cpu = statistics.median(t[1] for t in runs)
        rss = statistics.median(t[2] for t in runs)
        med[name] = (wall, cpu, rss)
        print(
            f"{name:<40}: wall median {wall:.3f} s (min {walls[0]:.3f}, max {walls[-1]:.3f}, "
            f"{len(runs)} runs) | CPU {cpu:.3f} s | peak RSS {rss / 1e6:.0f} MB"
        )
    ours = med["geosafe (this checkout)"]
    for name, (wall, cpu, rss) in med.items():
        if name != "geosafe (this checkout)":
            print(
                f"ratio geosafe / {name}: wall {ours[0] / wall:.2f}x, CPU {ours[1] / cpu:.2f}x, "
                f"peak RSS {ours[2] / rss:.2f}x"
            )
    verdict = "met" if ours[0] < TARGET_S else "NOT met"
    print(f"target < {TARGET_S} s wall for {rows:,} rows: median {ours[0]:.3f} s, {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the built input")
    parser.add_argument("--input", type=Path, help="a police.uk CSV to use instead of building one")
    parser.add_argument("--runs", type=int, default=11, help="alternated rounds (default 11)")
    parser.add_argument(
        "--baseline",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="another checkout to run alternated with this one (repeatable)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.input:
            csv_path = args.input.resolve()
            rows = sum(1 for _ in csv_path.open("rb")) - 1
        else:
            t0 = time.perf_counter()
            csv_path = build_input(args.rows, work / "police.csv")
            rows = args.rows
            print(f"{rows:,} rows built in {time.perf_counter() - t0:.1f} s")
        print(f"{csv_path} ({rows:,} rows): {args.runs} alternated rounds")
        timings = bench(csv_path, args.runs, [b.resolve() for b in args.baseline], work)
    report(timings, rows)


if __name__ == "__main__":
    main()

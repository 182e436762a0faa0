"""Benchmark: import a national police.uk archive (``benchmarks/national_generate.py``) with
``geosafe import-archive`` into SQLite and PostGIS.

Each backend gets a fresh store: a new SQLite file, and a database in a throwaway PostgreSQL
+ PostGIS cluster (``geosafe.store.throwaway``; skipped with the reason when PostGIS or the
PostGIS store is not available). The import runs as its own process
(``python -m geosafe import-archive DIR --db ... --workers N --aoi DIR/england_and_wales.geojson``),
timed from here; printed per backend: wall time, rows, rows/s, CPU of the process tree
(``os.wait4``), the largest worker's peak RSS (reported by the workers) and the command's own
peak RSS.

``--baseline DIR`` imports the same files a second time with the code of another checkout
(e.g. ``git worktree add --detach /tmp/base main``), first, into its own fresh store, and
prints both runs and the ratios (baseline / this tree) under ``compare``.

Usage::

    python benchmarks/national_generate.py /tmp/national
    nice python benchmarks/national_import.py /tmp/national --workers 2 [--backend sqlite]
    nice python benchmarks/national_import.py /tmp/national --backend postgis \
        --months 2023-03,2023-04 --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_import(
    archive: Path, db: str, *, workers: int, extra: list[str], tree: Path = ROOT
) -> dict[str, object]:
    cmd = [
        sys.executable,
        "-m",
        "geosafe",
        "import-archive",
        str(archive),
        "--db",
        db,
        "--workers",
        str(workers),
        "--aoi",
        str(archive / "england_and_wales.geojson"),
        "--quiet",
        *extra,
    ]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, cwd=tree)  # that tree's geosafe is imported
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        raise SystemExit(f"import-archive failed ({status}): {text[-2000:]}")
    res = json.loads(text)
    return {
        "wall_s": round(wall, 1),
        "rows": res["rows"],
        "accepted": res["accepted"],
        "quarantined": res["quarantined"],
        "updated": res["updated"],
        "files": res["files"],
        "forces": res["forces"],
        "rows_per_s": round(res["rows"] / wall),
        "cpu_s_tree": round(usage.ru_utime + usage.ru_stime, 1),
        "worker_peak_rss_mb": res["worker_peak_rss_mb"],
        "max_rss_mb_any_process": round(usage.ru_maxrss / 1024),
        "failed": len(res["failed"]),
        "tree": str(tree),
    }


def compare(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Baseline / this tree for the times, and whether both stored the same counts."""
    same = all(base[k] == new[k] for k in ("rows", "accepted", "quarantined", "updated"))
    return {
        "wall_ratio": round(float(base["wall_s"]) / float(new["wall_s"]), 2),
        "cpu_ratio": round(float(base["cpu_s_tree"]) / max(float(new["cpu_s_tree"]), 0.1), 2),
        "same_counts": same,
    }


def with_baseline(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """This tree's run; with a baseline, also the baseline's and the ratios."""
    out = dict(runs[""])
    if "_baseline" in runs:
        out["baseline"] = runs["_baseline"]
        out["compare"] = compare(runs["_baseline"], runs[""])
    return out


def db_size_gb(cluster: Any, name: str) -> float:
    """The database's size on disk (``pg_database_size``), before the cluster stops."""
    import psycopg

    with psycopg.connect(cluster.url(name), autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return round(int(row[0]) / 1e9, 2) if row else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archive", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "national_import")
    ap.add_argument("--months", help="only these months (YYYY-MM,...)")
    ap.add_argument(
        "--keep", action="store_true", help="keep the SQLite store (for national_dask.py)"
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        help="another checkout whose code imports the same files first (before/after ratios)",
    )
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    extra = ["--months", args.months] if args.months else []
    generated = json.loads((args.archive / "GENERATED.json").read_text())
    report: dict[str, object] = {"archive": generated, "workers": args.workers}
    trees = [("", ROOT)]
    if args.baseline is not None:
        trees.insert(0, ("_baseline", args.baseline.resolve()))
    if args.backend in ("sqlite", "both"):
        runs = {}
        for label, tree in trees:
            db = args.work / f"national{label}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            runs[label] = run_import(
                args.archive, str(db), workers=args.workers, extra=extra, tree=tree
            )
            runs[label]["db_size_gb"] = round(db.stat().st_size / 1e9, 2)
            print(json.dumps({f"sqlite{label}": runs[label]}), flush=True)
            if not args.keep or label:
                db.unlink(missing_ok=True)
        report["sqlite"] = with_baseline(runs)
    if args.backend in ("postgis", "both"):
        from geosafe import store as store_pkg
        from geosafe.store import throwaway

        why = throwaway.available()
        if why is None and not hasattr(store_pkg, "open_store"):
            why = "the PostGIS store (geosafe.store.open_store) is not in this build"
        if why is not None:
            report["postgis"] = {"skipped": why}
        else:
            cluster = throwaway.start(args.work / "pg")
            try:
                runs = {}
                for label, tree in trees:
                    name = f"national{label}"
                    url = cluster.create_database(name)
                    runs[label] = run_import(
                        args.archive, url, workers=args.workers, extra=extra, tree=tree
                    )
                    runs[label]["db_size_gb"] = db_size_gb(cluster, name)
                    print(json.dumps({f"postgis{label}": runs[label]}), flush=True)
                report["postgis"] = with_baseline(runs)
            finally:
                cluster.stop()
        print(json.dumps({"postgis": report["postgis"]}), flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: import a national police.uk archive (``benchmarks/national_generate.py``) with
``geosafe import-archive`` into SQLite and PostGIS.

Each backend gets a fresh store: a new SQLite file, and a database in a throwaway PostgreSQL
+ PostGIS cluster (``geosafe.store.throwaway``; skipped with the reason when PostGIS or the
PostGIS store is not available). The import runs as its own process
(``python -m geosafe import-archive DIR --db ... --workers N --aoi DIR/england_and_wales.geojson``),
timed from here; printed per backend: wall time, rows, rows/s, CPU of the process tree
(``os.wait4``), the largest worker's peak RSS (reported by the workers) and the command's own
peak RSS.

Usage::

    python benchmarks/national_generate.py /tmp/national
    nice python benchmarks/national_import.py /tmp/national --workers 2 [--backend sqlite]
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

ROOT = Path(__file__).resolve().parent.parent


def run_import(archive: Path, db: str, *, workers: int, extra: list[str]) -> dict[str, object]:
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
        proc = subprocess.Popen(cmd, stdout=out, cwd=ROOT)
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
    }


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
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    extra = ["--months", args.months] if args.months else []
    generated = json.loads((args.archive / "GENERATED.json").read_text())
    report: dict[str, object] = {"archive": generated, "workers": args.workers}
    if args.backend in ("sqlite", "both"):
        db = args.work / "national.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        report["sqlite"] = run_import(args.archive, str(db), workers=args.workers, extra=extra)
        report["sqlite"]["db_size_gb"] = round(db.stat().st_size / 1e9, 2)  # type: ignore[index]
        print(json.dumps({"sqlite": report["sqlite"]}), flush=True)
        if not args.keep:
            db.unlink(missing_ok=True)
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
                url = cluster.create_database("national")
                report["postgis"] = run_import(args.archive, url, workers=args.workers, extra=extra)
            finally:
                cluster.stop()
        print(json.dumps({"postgis": report["postgis"]}), flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

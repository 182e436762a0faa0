"""Benchmark: the hotspot analyses at national scale on Dask (2 local workers) against the
single-process engine.

Data: the generated national archive (``benchmarks/national_generate.py``: the real North
London months replicated onto the 43 forces, 20.2 million rows over 159 months), read month
by month, either from a store it was imported into (``--db``, e.g. by
``benchmarks/national_import.py --keep``; current versions only) or straight from the
archive's files (``--archive``; each month's files read with the importer's checks). One
month of all forces is one partition (~127,000 rows).

Steps (each timed; per-worker peak RSS read in the workers):

1. **Subset** (the first months adding up to ``--subset-rows``, default 1,000,000): the
   single-process engine in this process and the Dask engine on the same months; the results
   must be equal: KDE (England and Wales at 100 m cells, quartic 400 m) within 1e-9
   relative, H3 res-9 counts exactly and Gi* classes exactly, the backtest summaries exactly.
2. **Single process, full size, under a memory limit** (below), then
3. **Full** (every month): Dask only: KDE over England and Wales at 100 m, H3 res-9 counts +
   Gi*, and a 12-month ``evaluate`` (methods ``grid`` 100 m and ``gistar`` res 9,
   ``--train-months`` 6, study area: the H3 res-6 cells holding the incidents of the subset).
   The single process: a child process with
   ``resource.setrlimit(RLIMIT_AS, --limit-gb)`` (the memory of one Dask worker) loads every
   month and runs the KDE; it reports how far it got before ``MemoryError``. The limit
   keeps the demonstration from touching the shared machine's memory.

Usage::

    nice python benchmarks/national_dask.py --archive /tmp/national [--db STORE]
        [--subset-rows 1000000] [--worker-memory 4GB] [--limit-gb 4] [--skip-full]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: England and Wales in EPSG:27700 metres (xmin, ymin, xmax, ymax).
EW_BOUNDS = (80_000.0, 0.0, 660_000.0, 660_000.0)
KDE = {"bandwidth": 400.0, "cell": 100.0, "kernel": "quartic"}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_sampler() -> None:
    """Sample this process's RSS every 0.2 s in a thread; :func:`sampled_peak` reads the
    highest. (``ru_maxrss`` cannot be used: a forked worker inherits its parent's.)"""
    import builtins
    import threading

    import psutil

    if getattr(builtins, "_geosafe_peak", None) is not None:
        return
    peak = [0]
    builtins._geosafe_peak = peak  # type: ignore[attr-defined]

    def loop() -> None:
        proc = psutil.Process()
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.2)

    threading.Thread(target=loop, daemon=True).start()


def sampled_peak(reset: bool = False) -> float:
    import builtins

    peak = getattr(builtins, "_geosafe_peak", [0])
    value = peak[0] / 2**20
    if reset:
        import psutil

        peak[0] = psutil.Process().memory_info().rss
    return round(value)


def _worker_rss(client: Any) -> dict[str, float]:
    """Each worker's peak RSS (MB) since the last call."""
    got = client.run(sampled_peak, True)
    return {f"worker{i}": v for i, (_, v) in enumerate(sorted(got.items()))}


def _months(args: argparse.Namespace) -> list[str]:
    if args.db:
        import sqlite3

        con = sqlite3.connect(args.db)
        rows = con.execute(
            "SELECT DISTINCT strftime('%Y-%m', t_from, 'unixepoch') FROM incidents ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]
    return sorted(p.name for p in args.archive.iterdir() if p.is_dir() and p.name[:2] == "20")


#: The columns the analyses read (KDE, H3 counts, backtests); the rest is dropped on load.
SLIM = ["occurred_from", "precision_m", "weight", "geometry"]


class Slim:
    """A month loader keeping only :data:`SLIM` (a worker holds ~100 bytes a row)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self) -> Any:
        return self.inner()[SLIM]


def _loaders(args: argparse.Namespace, months: list[str]) -> dict[str, Any]:
    from geosafe.engines import dask as de

    if args.db:
        inner = de.store_months(args.db, months, sources=["police_uk"])
        return {m: Slim(f) for m, f in zip(months, inner, strict=True)}
    aoi = str(args.archive / "england_and_wales.geojson")
    return {
        m: Slim(
            de.FilesPart(
                "police_uk",
                tuple(str(p) for p in sorted((args.archive / m).glob("*-street.csv"))),
                aoi,
            )
        )
        for m in months
    }


def _rows_per_month(args: argparse.Namespace, months: list[str]) -> dict[str, int]:
    if args.db:
        import sqlite3

        con = sqlite3.connect(args.db)
        rows = con.execute(
            "SELECT strftime('%Y-%m', t_from, 'unixepoch'), COUNT(*) FROM incidents "
            "WHERE current = 1 GROUP BY 1"
        ).fetchall()
        return {m: int(n) for m, n in rows}
    out = {}
    for m in months:
        out[m] = sum(sum(1 for _ in p.open()) - 1 for p in (args.archive / m).glob("*-street.csv"))
    return out


def _study_area(gdf: Any) -> Any:
    import h3
    import shapely

    from geosafe.hotspots import h3grid

    x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    lon, lat = h3grid._TO_WGS.transform(x, y)
    cells = {h3.latlng_to_cell(b, a, 6) for a, b in zip(lon[::50], lat[::50], strict=True)}
    return shapely.union_all(h3grid.cell_polygons(sorted(cells)).values)


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def single_process(parts: list[Any], area: Any, eval_kw: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    from geosafe.hotspots import evaluate, gistar, h3grid, kde

    out: dict[str, Any] = {}
    gdf, out["load_s"] = _timed(lambda: pd.concat([p() for p in parts], ignore_index=True))
    out["rows"] = len(gdf)
    out["kde"], out["kde_s"] = _timed(lambda: kde.kde_surface(gdf, bounds=EW_BOUNDS, **KDE))
    out["gi"], out["gi_s"] = _timed(lambda: gistar.gi_star(h3grid.h3_counts(gdf, resolution=9)))
    if eval_kw:
        out["bt"], out["eval_s"] = _timed(
            lambda: evaluate.backtest(gdf, study_area=area, **eval_kw)
        )
    out["peak_rss_mb"] = round(_rss_mb())
    out["gdf"] = gdf
    return out


def on_dask(
    client: Any, loaders: dict[str, Any], area: Any, eval_kw: dict[str, Any]
) -> dict[str, Any]:
    from distributed import wait

    from geosafe.engines import dask as de

    out: dict[str, Any] = {"partitions": len(loaders)}
    client.run(start_sampler)
    start_sampler()
    sampled_peak(reset=True)
    t0 = time.perf_counter()
    parts = de.persist(client, list(loaders.values()))  # read once, kept on the workers
    wait(parts)
    out["load_s"] = time.perf_counter() - t0
    out["rss_after_load"] = _worker_rss(client)
    loaders = dict(zip(loaders, parts, strict=True))
    out["kde"], out["kde_s"] = _timed(
        lambda: de.kde_surface(client, parts, bounds=EW_BOUNDS, **KDE)  # type: ignore[arg-type]
    )
    out["rss_after_kde"] = _worker_rss(client)
    out["gi"], out["gi_s"] = _timed(lambda: de.gi_star(client, parts, resolution=9))
    out["rss_after_gi"] = _worker_rss(client)
    if eval_kw:
        out["bt"], out["eval_s"] = _timed(
            lambda: de.backtest(client, loaders, study_area=area, **eval_kw)
        )
        out["rss_after_eval"] = _worker_rss(client)
    out["client_peak_rss_mb"] = sampled_peak()
    return out


def _child_single(args: argparse.Namespace) -> None:
    """Child process: single-process KDE over every month under RLIMIT_AS."""
    limit = int(args.limit_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import pandas as pd

    from geosafe.hotspots import kde

    loaders = _loaders(args, _months(args))
    frames = []
    rows = 0
    t0 = time.perf_counter()
    stage = "loading"
    try:
        for m, load in loaders.items():
            frames.append(load())
            rows += len(frames[-1])
            print(
                json.dumps({"month": m, "rows_loaded": rows, "s": round(time.perf_counter() - t0)}),
                flush=True,
            )
        stage = "concat"
        gdf = pd.concat(frames, ignore_index=True)
        frames.clear()
        stage = "kde"
        res = kde.kde_surface(gdf, bounds=EW_BOUNDS, **KDE)
        print(
            json.dumps(
                {
                    "done": True,
                    "rows": rows,
                    "integral": res.integral(),
                    "s": round(time.perf_counter() - t0),
                }
            )
        )
    except MemoryError:
        print(
            json.dumps(
                {
                    "memory_error": True,
                    "stage": stage,
                    "rows_loaded": rows,
                    "limit_gb": args.limit_gb,
                    "s": round(time.perf_counter() - t0),
                }
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", type=Path, required=True)
    ap.add_argument("--db", help="read the months from this SQLite store instead of the files")
    ap.add_argument("--subset-rows", type=int, default=1_000_000)
    ap.add_argument("--worker-memory", default="4GB")
    ap.add_argument("--limit-gb", type=float, default=4.0)
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--skip-subset", action="store_true")
    ap.add_argument("--skip-limited", action="store_true")
    ap.add_argument("--eval-months", type=int, default=12)
    ap.add_argument("--child-single", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_single:
        _child_single(args)
        return
    from geosafe.engines import dask as de
    from geosafe.hotspots import kde as _kde

    months = _months(args)
    per_month = _rows_per_month(args, months)
    subset: list[str] = []
    total = 0
    for m in months:
        if total >= args.subset_rows:
            break
        subset.append(m)
        total += per_month.get(m, 0)
    report: dict[str, Any] = {
        "data": {
            "months": len(months),
            "rows": sum(per_month.values()),
            "source": "store" if args.db else "archive files",
        },
        "subset": {"months": subset, "rows": total},
        "kde": {**KDE, "bounds": EW_BOUNDS},
        "worker_memory": args.worker_memory,
    }
    print(json.dumps(report), flush=True)
    eval_sub = {"methods": ["grid", "gistar"], "train_months": 3, "area": 0.05}
    with de.connect(n_workers=2, memory_limit=args.worker_memory) as client:
        area = None
        if not args.skip_subset:
            loaders = _loaders(args, subset)
            sp = single_process(list(loaders.values()), None, {})
            area = _study_area(sp["gdf"])
            t0 = time.perf_counter()
            from geosafe.hotspots import evaluate

            sp["bt"] = evaluate.backtest(sp["gdf"], study_area=area, **eval_sub)
            sp["eval_s"] = time.perf_counter() - t0
            dk = on_dask(client, loaders, area, eval_sub)
            a, b = dk["kde"].grid, sp["kde"].grid
            equal = {
                "kde_max_rel_diff": float(np.nanmax(np.abs(a - b)) / np.nanmax(b)),
                "kde_counts_equal": dk["kde"].counts == sp["kde"].counts,
                "h3_counts_equal": bool(
                    list(dk["gi"]["h3_cell"]) == list(sp["gi"]["h3_cell"])
                    and np.array_equal(dk["gi"]["count"].to_numpy(), sp["gi"]["count"].to_numpy())
                ),
                "gi_classes_equal": bool(
                    (dk["gi"]["gi_class"].to_numpy() == sp["gi"]["gi_class"].to_numpy()).all()
                ),
                "backtest_equal": dk["bt"].summary() == sp["bt"].summary(),
            }
            report["subset"] |= {
                "equal": equal,
                "single": {
                    k: round(v, 1) if isinstance(v, float) else v
                    for k, v in sp.items()
                    if k.endswith("_s") or k in ("rows", "peak_rss_mb")
                },
                "dask": {
                    k: (round(v, 1) if isinstance(v, float) else v)
                    for k, v in dk.items()
                    if k.endswith("_s")
                    or k.startswith("rss")
                    or k in ("partitions", "client_peak_rss_mb")
                },
                "cells_res9": len(sp["gi"]),
                "area_km2": round(area.area / 1e6),
            }
            del sp, dk
            print(json.dumps({"subset": report["subset"]}), flush=True)
    if not args.skip_limited:
        cmd = [
            sys.executable,
            __file__,
            "--archive",
            str(args.archive),
            "--limit-gb",
            str(args.limit_gb),
            "--child-single",
        ]
        if args.db:
            cmd += ["--db", args.db]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
        report["single_limited"] = {
            "limit_gb": args.limit_gb,
            "last": lines[-1] if lines else None,
            "returncode": proc.returncode,
            "stderr_tail": proc.stderr[-600:],
            "wall_s": round(time.perf_counter() - t0),
        }
        print(json.dumps({"single_limited": report["single_limited"]}), flush=True)
    if not args.skip_full:
        # a fresh cluster: the workers' peak memory is this run's alone
        with de.connect(n_workers=2, memory_limit=args.worker_memory) as client:
            loaders = _loaders(args, months)
            eval_kw = {
                "methods": ["grid", "gistar"],
                "train_months": 6,
                "area": 0.05,
                "first_test": months[-args.eval_months],
                "last_test": months[-1],
            }
            if area is None:
                area = _study_area(next(iter(loaders.values()))())
            full = on_dask(client, loaders, area, eval_kw)
            report["full"] = {
                k: (round(v, 1) if isinstance(v, float) else v)
                for k, v in full.items()
                if k.endswith("_s")
                or k.startswith("rss")
                or k in ("partitions", "client_peak_rss_mb")
            }
            res: _kde.KdeResult = full["kde"]
            report["full"] |= {
                "kde_grid": list(res.grid.shape),
                "kde_used": res.counts["used"],
                "kde_integral": round(res.integral()),
                "h3_cells": len(full["gi"]),
                "gi_significant": full["gi"].attrs["significant"],
                "eval_summary": {m: v["pai"] for m, v in full["bt"].summary()["methods"].items()},
            }
            print(json.dumps({"full": report["full"]}), flush=True)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()

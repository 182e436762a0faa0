"""Predictive accuracy side by side: ``auto`` against the best fixed setting (issue 16, item 7).

The peer is the baseline the issue names: a 25 m grid of the last 12 months (PAI at 1 % of
the area), plus every fixed method at its defaults. Both run in one process on the same real
police.uk burglaries (Met, six north London boroughs), on hidden test months; ``auto`` chooses
on held-out training months only. Printed: PAI/PEI/RRI means per method, the ratio auto /
baseline, and how often ``auto``'s held-out pick was at least as good as each fixed method on
those same held-out months (from the candidate table it reports).

Run: ``.venv/bin/python benchmarks/accuracy.py [--from 2023-01 --to 2024-02] [--area 0.01]``.
Skips (exit 0, a message) when ``../shared/data/police`` is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._shared import shared_data  # noqa: E402

POLICE = shared_data() / "police" / "met_burglary_north_london"
BOROUGHS = ["Barnet", "Camden", "Enfield", "Haringey", "Hackney", "Islington"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="first", default="2023-01")
    ap.add_argument("--to", dest="last", default="2024-02")
    ap.add_argument("--area", type=float, default=0.01)
    ap.add_argument("--train-months", type=int, default=12)
    args = ap.parse_args()
    if not POLICE.is_dir():
        print(f"skipped: {POLICE} not found")
        return
    from geosafe import datasets
    from geosafe.hotspots import evaluate
    from geosafe.ingest import read_incidents

    t0 = time.perf_counter()
    files = sorted(POLICE.glob("*-street.csv.gz"))
    gdf = read_incidents("police_uk", files)
    b = datasets.boroughs()
    area = b[b["name"].isin(BOROUGHS)].geometry.union_all()
    print(f"{len(gdf):,} incidents read in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    bt = evaluate.backtest(
        gdf,
        methods=["grid", "kde", "gistar", "dbscan", "auto"],
        train_months=args.train_months,
        area=args.area,
        first_test=args.first,
        last_test=args.last,
        study_area=area,
        settings={"grid": {"cell_m": 25.0}},
    )
    s = bt.summary()
    print(
        f"backtest {s['test_months'][0]}..{s['test_months'][-1]}, {args.area:.0%} of the area, "
        f"{args.train_months} training months: {time.perf_counter() - t0:.0f} s"
    )
    print(f"{'method':28} {'PAI':>8} {'PEI':>7} {'RRI':>7}")
    labels = {
        "grid": "grid 25 m, last 12 months",
        "kde": "kde 250 m / 50 m",
        "gistar": "gistar H3 res 9",
        "dbscan": "dbscan 100 m / 5",
        "auto": "auto",
    }
    for name, m in s["methods"].items():
        print(
            f"{labels[name]:28} {m['pai']['mean']:>8} {m['pei']['mean']:>7} {m['rri']['mean']:>7}"
        )
    auto, base = s["methods"]["auto"], s["methods"]["grid"]
    print(
        f"PAI auto / baseline (25 m grid, 12 months): {auto['pai']['mean']} / "
        f"{base['pai']['mean']} = {auto['pai']['mean'] / base['pai']['mean']:.3f}"
    )
    chosen = auto["settings"]["chosen"]
    picks: dict[str, int] = {}
    not_behind = 0
    for c in chosen.values():
        key = f"{c['method']} {c.get('cell_m', c.get('resolution'))}"
        key += f" bw {c['bandwidth_m']:g}" if "bandwidth_m" in c else ""
        key += f" {c['window_months']} mo"
        picks[key] = picks.get(key, 0) + 1
        fixed = [r["validation_hit_rate"] for r in c["candidates"] if r["method"] != "auto"]
        not_behind += c["validation_hit_rate"] >= max(fixed) - 1e-9
    print(f"auto's choices: {picks}")
    print(f"held-out months where auto's pick >= every candidate: {not_behind}/{len(chosen)}")
    first = next(iter(chosen.values()))
    print("candidate table of the first test month (top 8):")
    for r in first["candidates"][:8]:
        desc = {k: v for k, v in r.items() if k not in ("validation_hit_rate", "kernel")}
        print(f"  {r['validation_hit_rate']:.4f}  {desc}")


if __name__ == "__main__":
    main()

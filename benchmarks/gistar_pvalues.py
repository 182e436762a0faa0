"""Gi* p-values side by side with esda (issue 11 item 3, issue 16 item 7).

On real police.uk burglaries (Met, six north London boroughs, the 12 months to 2024-02) counted
on H3 resolution-9 cells, and on the demo area's cells (when a demo store is given):

- geosafe ``gi_star`` (analytic p from the z-score, the default) against esda's
  ``G_Local(star=True, permutations=999)`` (warm: numba compiled first), the time of each and
  the ratio;
- saturation: the share of cells whose p-value sits at the smallest value the method can give
  (permutations: ``1/(999+1)`` one-sided, esda's ``p_sim``; analytic: none), and the cells
  significant after FDR (5 %) with each;
- agreement: the hot cells found by both, and the analytic p against ``2 * esda.p_norm``.

Run: ``.venv/bin/python benchmarks/gistar_pvalues.py [--db DEMO_STORE]``. Skips the real data
when ``../shared/data/police`` is absent; esda is a dependency.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._shared import shared_data  # noqa: E402

POLICE = shared_data() / "police" / "met_burglary_north_london"
BOROUGHS = ["Barnet", "Camden", "Enfield", "Haringey", "Hackney", "Islington"]


def compare(label: str, counts) -> None:  # type: ignore[no-untyped-def]
    from esda import fdr
    from esda.getisord import G_Local
    from libpysal.weights import W

    from geosafe.hotspots import gistar, h3grid

    cells = list(counts["h3_cell"])
    y = counts["count"].to_numpy(dtype=float)
    w = W(h3grid.h3_neighbours(cells), silence_warnings=True)
    G_Local(
        y[:50],
        W({i: [j for j in (i - 1, i + 1) if 0 <= j < 50] for i in range(50)}),
        star=True,
        permutations=99,
        seed=0,
    )  # warm-up: esda's numba kernel
    t = time.perf_counter()
    ours = gistar.gi_star(counts)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = G_Local(y, w, transform="B", star=True, permutations=999, seed=0)
    t_esda = time.perf_counter() - t
    n = len(cells)
    p_perm = np.minimum(1, 2 * ref.p_sim)
    floor = 2 / 1000
    sig_perm = p_perm <= fdr(p_perm, 0.05)
    sig_ours = ours["gi_p"].to_numpy() <= fdr(ours["gi_p"].to_numpy(), 0.05)
    z = ours["gi_z"].to_numpy()
    print(f"\n{label}: {n:,} H3 res-9 cells, {y.sum():,.0f} incidents")
    print(
        f"  time: geosafe analytic {t_ours * 1000:.1f} ms, esda G_Local 999 permutations "
        f"{t_esda * 1000:.1f} ms, ratio {t_ours / t_esda:.3f}x"
    )
    print(
        f"  cells at the p floor: permutations {np.mean(p_perm <= floor + 1e-12):.1%} "
        f"(floor {floor}), analytic {np.mean(ours['gi_p'] <= ours.attrs['p_min'] * 1.0001):.1%} "
        f"(floor {ours.attrs['p_min']:.2g})"
    )
    print(
        f"  significant at FDR 5 %: permutations {int(sig_perm.sum())} "
        f"({int((sig_perm & (z > 0)).sum())} hot), analytic {int(sig_ours.sum())} "
        f"({int((sig_ours & (z > 0)).sum())} hot); both {int((sig_perm & sig_ours).sum())}"
    )
    print(
        f"  analytic p vs 2 x esda p_norm: max abs difference "
        f"{np.max(np.abs(ours['gi_p'].to_numpy() - 2 * ref.p_norm)):.2e}; z vs esda Zs max "
        f"{np.max(np.abs(z - ref.Zs)):.2e}; corr(z, esda z_sim) {np.corrcoef(z, ref.z_sim)[0, 1]:.3f}"
    )
    if sig_ours.any():
        print(
            f"  smallest z of a significant hot cell (analytic): {z[sig_ours & (z > 0)].min():.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, help="a demo store (geosafe demo --no-serve --dir DIR)")
    args = ap.parse_args()
    from geosafe import datasets
    from geosafe.hotspots import h3grid

    if POLICE.is_dir():
        from geosafe.ingest import read_incidents

        files = sorted(POLICE.glob("*-street.csv.gz"))[-12:]
        gdf = read_incidents("police_uk", files)
        b = datasets.boroughs()
        area = b[b["name"].isin(BOROUGHS)].geometry.union_all()
        compare(
            "police.uk burglary, 12 months, six boroughs",
            h3grid.h3_counts(gdf, resolution=9, study_area=area),
        )
    else:
        print(f"real data skipped: {POLICE} not found")
    if args.db:
        from geosafe.store import Store

        gdf = Store(args.db).incidents()
        compare(
            f"demo store {args.db} (all sources), demo area",
            h3grid.h3_counts(gdf, resolution=9, study_area=datasets.demo_area()),
        )


if __name__ == "__main__":
    main()

"""`geosafe synth`: write realistic synthetic DIR, ASIF, CRIS and FAP files (SYNTHETIC)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    p = sub.add_parser(
        "synth",
        help="write synthetic DIR/ASIF/CRIS/FAP files for the demo area",
        description=(
            "Write dir.csv, asif.csv, cris.csv, fap.csv (import formats), dirty_rows.csv and "
            "README-SYNTHETIC.md into DIR. The data are SYNTHETIC (refs start with SYN-); "
            "assumptions are documented in the geosafe.synth module."
        ),
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--seed", required=True, type=int, metavar="N", help="random seed")
    p.add_argument(
        "--months", type=int, default=12, metavar="M", help="months covered (default 12)"
    )
    p.add_argument(
        "--end", default=None, metavar="YYYY-MM", help="last month covered (default 2025-07)"
    )
    p.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from .. import synth

    result = synth.write_synthetic(
        args.out,
        seed=args.seed,
        months=args.months,
        end=args.end or synth.DEFAULT_END,
        data_dir=args.data_dir,
    )
    summary = {
        "synthetic": True,
        "out_dir": str(result.out_dir),
        "seed": result.seed,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "rows": result.rows,
        "dirty_rows": result.dirty,
        "files": {k: str(v) for k, v in result.files.items()},
    }
    print(json.dumps(summary, indent=2))
    return 0

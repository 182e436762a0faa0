"""``geosafe import-archive DIR [--db ...] [--workers N] [--months ...] [--forces ...]
[--aoi FILE]``: police.uk's national bulk download (one folder per month, one CSV per force)
imported in parallel partitions (:mod:`geosafe.archive`). Prints one JSON object: the sums,
``rows_per_second``, the files ``skipped`` (outcomes, stop-and-search) and ``failed``, each
with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["register"]


def _list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _import_archive(args: argparse.Namespace) -> int:
    from .. import archive
    from ..settings import StoreSettings

    db = args.db or os.environ.get("GEOSAFE_DB") or str(StoreSettings().db)
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" files", desc="import-archive", file=sys.stderr)
    res = archive.import_archive(
        db,
        args.dir,
        workers=args.workers,
        months=args.months,
        forces=args.forces,
        aoi=args.aoi,
        progress=(lambda _item: bar.update(1)) if bar is not None else None,
    )
    if bar is not None:
        bar.close()
    print(json.dumps(res.to_json(), indent=2))
    return 2 if res.failed else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``import-archive``."""
    p = sub.add_parser(
        "import-archive",
        help="police.uk's national archive (YYYY-MM/ folders, one CSV per force), in parallel",
        allow_abbrev=False,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="the unpacked police.uk download")
    p.add_argument("--db", help="incident store: SQLite path or server URL (default GEOSAFE_DB)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes")
    p.add_argument("--months", type=_list, metavar="YYYY-MM,...", help="only these months")
    p.add_argument("--forces", type=_list, metavar="FORCE,...", help="only these forces")
    p.add_argument(
        "--aoi",
        type=Path,
        metavar="FILE",
        help="area of interest (vector file); default Greater London: pass England and Wales",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_import_archive)

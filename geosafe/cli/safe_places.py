"""`geosafe safe-places import|list|quarantine` (issue 13 item 4): the safe places layer.

- ``geosafe safe-places import --db DB (--osm FILE | --csv FILE)``: OpenStreetMap youth clubs,
  youth services, police stations and staffed stations (``.osm``, ``.osm.bz2``, ``.osm.pbf``),
  or the analyst's list (CSV: name, kind, latitude+longitude / easting+northing / postcode,
  opening_hours); prints the import summary (JSON). A file imported again replaces its rows.
- ``geosafe safe-places list --db DB [--open-at "YYYY-MM-DD HH:MM"] [--format json|table]``.
- ``geosafe safe-places quarantine --db DB``: the rejected rows with their reasons (JSON lines).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .._errors import ValidationError
from .interventions import _db

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``safe-places`` with its actions."""
    p = sub.add_parser("safe-places", help="import and list places that protect young people")
    acts = p.add_subparsers(dest="action", required=True)
    i = acts.add_parser("import", help="import safe places from OSM or the analyst's CSV list")
    i.add_argument("--db", help="incident store (default GEOSAFE_DB)")
    src = i.add_mutually_exclusive_group(required=True)
    src.add_argument("--osm", type=Path, help="an OSM extract (.osm, .osm.bz2, .osm.pbf)")
    src.add_argument("--csv", type=Path, help="the analyst's list (CSV)")
    i.set_defaults(func=_import)
    ls = acts.add_parser("list", help="the safe places")
    ls.add_argument("--db", help="incident store (default GEOSAFE_DB)")
    ls.add_argument("--open-at", help='say which are open at "YYYY-MM-DD HH:MM" (local time)')
    ls.add_argument("--format", choices=("json", "table"), default="table")
    ls.set_defaults(func=_list)
    q = acts.add_parser("quarantine", help="rows of the lists that were not imported, and why")
    q.add_argument("--db", help="incident store (default GEOSAFE_DB)")
    q.set_defaults(func=_quarantine)


def _import(args: argparse.Namespace) -> int:
    from ..protect.safe_places import Rejected, import_safe_places, read_csv, read_osm

    path: Path = args.osm or args.csv
    if not path.exists():
        raise ValidationError(f"`--{'osm' if args.osm else 'csv'}` {str(path)!r} does not exist.")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rejected: list[Rejected]
    if args.osm:
        places, rejected = read_osm(path), []  # an OSM object is a place or not one
    else:
        places, rejected = read_csv(path)
    summary = import_safe_places(
        _db(args),
        places,
        rejected,
        source="osm" if args.osm else "csv",
        file_name=path.name,
        file_sha256=sha,
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..periods import parse_local_datetime
    from ..protect.safe_places import KINDS, is_open, load_safe_places

    gdf = load_safe_places(_db(args))
    at = parse_local_datetime(args.open_at, name="open-at")[0] if args.open_at else None
    rows = []
    for r in gdf.drop(columns="geometry").to_dict("records"):
        if at is not None:
            r["open"] = is_open(r["opening_hours"], at.to_pydatetime())
        rows.append(r)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        return 0
    out = sys.stdout
    for r in rows:
        state = ""
        if at is not None:
            state = {True: " [open]", False: " [closed]", None: " [hours unknown]"}[r["open"]]
        hours = r["opening_hours"] if isinstance(r["opening_hours"], str) else "hours unknown"
        out.write(
            f"{r['place_id']:<22} {KINDS[r['kind']]:<26} {r['name'][:40]:<40} {hours}{state}\n"
        )
    if not rows:
        out.write("(no safe places; import some with `geosafe safe-places import`)\n")
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    from ..protect.safe_places import quarantined_safe_places

    for r in quarantined_safe_places(_db(args)):
        print(json.dumps(r, ensure_ascii=False))
    return 0

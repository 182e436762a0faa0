"""`geosafe` subcommands: rolls (a school's uploaded list of pupils' home postcodes).

- ``geosafe roll upload --school URN FILE [--db PATH]``: validate, aggregate and store the
  roll (postcodes only; any other column is refused); prints a one-line JSON summary and
  audits the upload as an import.
- ``geosafe roll list [--db PATH]``: one JSON line per stored roll.
- ``geosafe roll delete --school URN [--db PATH]`` (audited as an erasure).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    p = sub.add_parser(
        "roll",
        help="school rolls: upload, list or delete a school's home postcodes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rsub = p.add_subparsers(dest="roll_command", metavar="ACTION")
    rsub.required = True
    up = rsub.add_parser("upload", help="store a school's roll (CSV: postcode[,pupils])")
    up.add_argument("--school", required=True, metavar="URN", help="the school's URN")
    up.add_argument("file", type=Path, metavar="FILE", help="CSV with a `postcode` column")
    ls = rsub.add_parser("list", help="list the stored rolls")
    rm = rsub.add_parser("delete", help="delete a school's roll")
    rm.add_argument("--school", required=True, metavar="URN", help="the school's URN")
    for q in (up, ls, rm):
        q.add_argument(
            "--db", help="incident store: SQLite file or postgresql:// URL (default GEOSAFE_DB)"
        )
        q.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    up.set_defaults(func=_upload)
    ls.set_defaults(func=_list)
    rm.set_defaults(func=_delete)


def _db(args: argparse.Namespace) -> Path | str:
    from ..settings import store_target

    return store_target(args.db)


def _upload(args: argparse.Namespace) -> int:
    from ..rolls import audit_roll, save_roll

    db = _db(args)
    summary = save_roll(db, args.school, args.file, data_dir=args.data_dir)
    audit_roll(db, summary.school_urn, summary)
    print(json.dumps(summary.to_json(), sort_keys=True))
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..rolls import list_rolls

    for entry in list_rolls(_db(args)):
        print(json.dumps(entry.to_json(), sort_keys=True))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from ..rolls import audit_roll, delete_roll

    db = _db(args)
    if not delete_roll(db, args.school):
        print(f"geosafe roll: school {args.school!r} has no roll to delete.", file=sys.stderr)
        return 2
    audit_roll(db, args.school)
    print(json.dumps({"school_urn": args.school, "deleted": True}))
    return 0

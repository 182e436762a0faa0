"""`geosafe intervention add|list|end|evaluate` (issue 13 item 4): the intervention log and
the evaluation of change after an intervention.

- ``geosafe intervention add --db DB --what TEXT (--place NAME | --point LON,LAT | --ward NAME
  [--ward NAME ...] | --polygon WKT_OR_GEOJSON | --route R [--direction 1|2]) [--radius M]
  --start DATE [--end DATE] [--notes TEXT] [--by NAME]``: prints the logged intervention (JSON).
- ``geosafe intervention list --db DB [--active-on DATE] [--format json|table]``.
- ``geosafe intervention end ID --db DB --on DATE``.
- ``geosafe intervention evaluate ID --db DB [--compare-ward NAME ...] [--k 3]
  [--pre-months 12] [--post-months 12] [--ring M] [--sources cris,police_uk]
  [--format json|table]``: before/after monthly counts against a comparison area, the
  difference-in-differences estimate and its interval, displacement in a ring (analyst output:
  exact counts).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._errors import ValidationError

__all__ = ["register"]


def _db(args: argparse.Namespace) -> Any:
    """The store named by ``--db`` / GEOSAFE_DB: a SQLite path or a PostgreSQL URL."""
    from ..settings import DB_HINT, store_exists, store_target

    db = store_target(args.db)
    if not store_exists(db):
        raise ValidationError(f"store {str(db)!r} does not exist; {DB_HINT}.")
    return db


def register(sub: Any) -> None:
    """Add ``intervention`` with its four actions."""
    p = sub.add_parser("intervention", help="log interventions and evaluate change after them")
    acts = p.add_subparsers(dest="action", required=True)

    a = acts.add_parser("add", help="log an intervention: what, where, when")
    a.add_argument("--db", help="incident store (default GEOSAFE_DB)")
    a.add_argument("--what", required=True, help="what was done, e.g. 'detached youth work'")
    where = a.add_mutually_exclusive_group(required=True)
    where.add_argument("--place", help="a gazetteer name (park, station, street, stop)")
    where.add_argument("--point", help="LON,LAT (WGS84), with --radius")
    where.add_argument("--ward", action="append", help="a 2018 ward name (repeat for several)")
    where.add_argument("--polygon", help="a WKT polygon (EPSG:27700) or a GeoJSON file")
    where.add_argument("--route", help="a bus route (its run in the area, buffered)")
    a.add_argument("--direction", type=int, choices=(1, 2), help="route run (with --route)")
    a.add_argument("--radius", type=float, help="metres around a place, point or route")
    a.add_argument("--start", required=True, help="first day (YYYY-MM-DD)")
    a.add_argument("--end", help="last day (YYYY-MM-DD), if it has ended")
    a.add_argument("--notes", help="free-text notes (analysts only)")
    a.add_argument("--by", help="who records it")
    a.set_defaults(func=_add)

    ls = acts.add_parser("list", help="the intervention log")
    ls.add_argument("--db", help="incident store (default GEOSAFE_DB)")
    ls.add_argument("--active-on", help="only those running on this day (YYYY-MM-DD)")
    ls.add_argument("--format", choices=("json", "table"), default="table")
    ls.set_defaults(func=_list)

    e = acts.add_parser("end", help="record the end of an intervention")
    e.add_argument("id", type=int)
    e.add_argument("--db", help="incident store (default GEOSAFE_DB)")
    e.add_argument("--on", required=True, help="last day (YYYY-MM-DD)")
    e.set_defaults(func=_end)

    v = acts.add_parser("evaluate", help="change after an intervention (difference in differences)")
    v.add_argument("id", type=int)
    v.add_argument("--db", help="incident store (default GEOSAFE_DB)")
    v.add_argument(
        "--compare-ward", action="append", help="comparison ward (repeat); default: most similar"
    )
    v.add_argument("--k", type=int, default=3, help="how many similar wards by default")
    v.add_argument("--pre-months", type=int, default=12)
    v.add_argument("--post-months", type=int, default=12)
    v.add_argument("--ring", type=float, default=400.0, help="displacement ring width, metres")
    v.add_argument("--sources", help="comma-separated sources (default: all located)")
    v.add_argument("--format", choices=("json", "table"), default="table")
    v.set_defaults(func=_evaluate)


def _add(args: argparse.Namespace) -> int:
    from ..protect.interventions import add_intervention, resolve_where

    kind, ref = next(
        (k, getattr(args, k))
        for k in ("place", "point", "ward", "polygon", "route")
        if getattr(args, k) is not None
    )
    if args.direction is not None and kind != "route":
        raise ValidationError("`--direction` goes with `--route` only.")
    where_ref, geom = resolve_where(kind, ref, radius_m=args.radius, direction=args.direction)
    iv = add_intervention(
        _db(args),
        what=args.what,
        where_kind=kind,
        where_ref=where_ref,
        geometry=geom,
        started_on=args.start,
        ended_on=args.end,
        notes=args.notes,
        recorded_by=args.by,
    )
    print(json.dumps(iv.as_dict(), ensure_ascii=False))
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..protect.interventions import list_interventions

    items = list_interventions(_db(args), active_on=args.active_on)
    if args.format == "json":
        print(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=1))
        return 0
    out = sys.stdout
    out.write(f"{'id':>4} {'start':<10} {'end':<10} {'what':<30} where\n")
    for i in items:
        end = i.ended_on.isoformat() if i.ended_on else "running"
        out.write(
            f"{i.id:>4} {i.started_on.isoformat():<10} {end:<10} {i.what[:30]:<30} {i.where_kind}: {i.where_ref}\n"
        )
    if not items:
        out.write("(no interventions logged; add one with `geosafe intervention add`)\n")
    return 0


def _end(args: argparse.Namespace) -> int:
    from ..protect.interventions import end_intervention

    iv = end_intervention(_db(args), args.id, ended_on=args.on)
    print(json.dumps(iv.as_dict(), ensure_ascii=False))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ..protect.evaluate import evaluate_logged

    doc = evaluate_logged(
        _db(args),
        args.id,
        compare_wards=args.compare_ward,
        k=args.k,
        pre_months=args.pre_months,
        post_months=args.post_months,
        ring_m=args.ring,
        sources=[s.strip() for s in args.sources.split(",")] if args.sources else None,
    )
    if args.format == "json":
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        return 0
    out = sys.stdout
    iv = doc["intervention"]
    out.write(
        f"intervention {iv['id']}: {iv['what']} at {iv['where_kind']} {iv['where_ref']}, from {iv['started_on']}\n"
    )
    out.write(
        f"comparison: {', '.join(doc['comparison']['areas'])} ({doc['comparison']['chosen_by']})\n"
    )
    out.write(f"{doc['reading']}\n")
    out.write(
        f"displacement (ring {doc['displacement']['ring_m']:g} m): {doc['displacement']['reading']}\n"
    )
    if doc["pre_trend"]:
        out.write(f"pre-trend check: {doc['pre_trend']['reading']}\n")
    out.write(f"\n{'month':<8} {'period':<7} {'treated':>7} {'ring':>6} {'comparison':>10}\n")
    for r in doc["monthly"]:
        out.write(
            f"{r['month']:<8} {r['period']:<7} {r['treated']:>7} {r['ring']:>6} {r['comparison']:>10}\n"
        )
    return 0

"""`geosafe` subcommands: reverse lookup from a place and bus-route profiling (issue 13).

- ``geosafe place-report --db DB (--hotspot HS01 | --place NAME | --point LON,LAT
  [--radius M] | --route R [--direction 1|2]) [--role analyst|school|neighbourhood]
  [--school URN] [--format json|table]``: which schools' pupils pass through the place in the
  morning school run, on foot or by bus, when and how many (published cell counts for
  non-analysts); for a route also the hotspots, named places and DIR/ASIF incidents along it.
- ``geosafe bus-routes --db DB [--buffer M] [--format json|table]``: routes and directions
  ranked by school-run incidents per km per hour, with the schools whose pupils ride them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._errors import ValidationError

__all__ = ["register"]


def _point(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        msg = f"`--point` {text!r} is not LON,LAT; e.g. --point -0.1118,51.6215"
        raise ValidationError(msg) from None
    return lon, lat


def _service(args: argparse.Namespace) -> Any:
    from ..publish.service import LayerService
    from ..settings import DB_HINT, default_data_dir, store_exists, store_target
    from ..store import open_store

    db = store_target(args.db)
    if not store_exists(db):
        msg = f"store {str(db)!r} does not exist; {DB_HINT}."
        raise ValidationError(msg)
    store = open_store(db)
    return LayerService(default_data_dir(), store, store_path=db)


def _scope(args: argparse.Namespace) -> Any:
    """The wards a neighbourhood view is limited to (``--ward``, repeatable)."""
    import shapely

    from .. import datasets

    if not args.ward:
        raise ValidationError("`--role neighbourhood` needs its wards: `--ward NAME` (repeat).")
    wards = datasets.wards()
    names = wards["name"].astype(str).str.lower()
    geoms = []
    for w in args.ward:
        hit = wards[(names == w.lower()) & wards.intersects(datasets.demo_area())]
        if hit.empty:
            raise ValidationError(f"`--ward` {w!r} is not a ward of the area.")
        geoms.append(hit.geometry.iloc[0])
    return shapely.union_all(geoms)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db", help="incident store: SQLite file or postgresql:// URL (default GEOSAFE_DB)"
    )
    p.add_argument("--format", choices=("json", "table"), default="table")


def register(sub: Any) -> None:
    """Add ``place-report`` and ``bus-routes``."""
    p = sub.add_parser("place-report", help="which schools' pupils pass a place, and when")
    _common(p)
    p.add_argument("--hotspot", help="a school-run hotspot id (HS01...)")
    p.add_argument("--place", help="a gazetteer name (street, park, station, stop)")
    p.add_argument("--point", type=_point, help="LON,LAT (WGS84), with --radius")
    p.add_argument("--radius", type=float, default=250.0, help="metres around --point")
    p.add_argument("--route", help="a bus route (e.g. 121)")
    p.add_argument("--direction", type=int, choices=(1, 2), help="route run: 1 or 2")
    p.add_argument(
        "--role",
        choices=("analyst", "school", "neighbourhood"),
        default="analyst",
        help="whose view: analysts exact, others published cell counts",
    )
    p.add_argument("--school", help="the school's URN (role school)")
    p.add_argument(
        "--ward", action="append", help="a ward of the neighbourhood (role neighbourhood)"
    )
    p.add_argument(
        "--mode",
        choices=("walk", "bus", "both"),
        default="both",
        help="route the rolls on foot, by bus, or both (default)",
    )
    p.add_argument(
        "--window",
        choices=("morning", "afternoon", "both"),
        default="both",
        help="journeys to school (morning), home (afternoon) or both (default)",
    )
    p.add_argument("--out", type=Path, help="also write place-report.html (with a map) here")
    p.set_defaults(func=_place_report)

    b = sub.add_parser("bus-routes", help="bus routes ranked by school-run incidents per km")
    _common(b)
    b.add_argument(
        "--buffer",
        type=float,
        default=0.0,
        help="also count located CRIS/police.uk incidents within M metres of the route",
    )
    b.add_argument("--top", type=int, default=20, help="rows in the table")
    b.set_defaults(func=_bus_routes)


def _place_report(args: argparse.Namespace) -> int:
    from types import SimpleNamespace

    from ..protect.public_evaluation import for_viewer
    from ..risk.place_lookup import build_place_report

    svc = _service(args)
    scope = _scope(args) if args.role == "neighbourhood" else None
    viewer = SimpleNamespace(role=args.role, area=scope)
    doc = build_place_report(
        svc,
        hotspot=args.hotspot,
        place=args.place,
        point=args.point,
        radius_m=args.radius,
        route=args.route,
        direction=args.direction,
        role=args.role,
        school_urn=args.school,
        modes=("walk", "bus") if args.mode == "both" else (args.mode,),
        windows=("morning", "afternoon") if args.window == "both" else (args.window,),
        scope=scope,
        page=args.out is not None,
        interventions=for_viewer(svc, viewer, svc.data_dir) if args.out is not None else None,
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "place-report.html").write_text(doc.pop("page"))
        (args.out / "place-report.json").write_text(
            json.dumps(doc, ensure_ascii=False, default=str)
        )
        print(f"wrote {args.out / 'place-report.html'}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(doc, ensure_ascii=False, indent=1, default=str))
        return 0
    out = sys.stdout
    out.write(f"place: {json.dumps(doc['place'], default=str)}\n")
    out.write(f"role: {doc['role']}; window: {doc['window']}; pupils: {doc['pupils']}\n\n")
    if doc["role"] == "analyst":
        out.write(
            f"{'school':<8} {'name':<40} {'routed':<6} {'passes':<6} {'pupils':>6} {'first':>6} {'last':>6}\n"
        )
        for s in doc["schools"]:
            for b in s["by"]:
                out.write(
                    f"{s['school_urn']:<8} {s['school_name'][:40]:<40} {b['routing']:<6} "
                    f"{b['mode']:<6} "
                    f"{b['pupils']:>6} {b['first'] or '-':>6} {b['last'] or '-':>6}\n"
                )
    else:
        out.write(f"{'cell':<16} {'school':<8} {'pupils':>6}\n")
        for r in doc["published"]["cell_counts"]:
            v = "<10" if r["pupils"] is None else r["pupils"]
            out.write(f"{r['cell']:<16} {r['school_urn']:<8} {v!s:>6}\n")
    if "hotspots_along" in doc:
        out.write("\nhotspots along the route:\n")
        for h in doc["hotspots_along"]:
            out.write(f"  {h['hotspot_id']} km {h['km_along']}: {h['place']} ({h['active']})\n")
        out.write("named places along the route:\n")
        for q in doc["places_along"]:
            out.write(f"  km {q['km_along']}: {q['name']} ({q['kind']})\n")
        inc = doc["incidents"]
        if inc["school_run_total"] is not None:
            out.write(f"DIR/ASIF incidents in the school run: {inc['school_run_total']}\n")
        else:
            pub = inc["published_along"]
            out.write(
                f"DIR/ASIF incidents in the school run, published cells within 100 m: "
                f"{pub['incidents_in_cells']} in {pub['cells']} cells "
                f"({pub['cells_suppressed']} suppressed), {pub['period']}\n"
            )
    return 0


def _bus_routes(args: argparse.Namespace) -> int:
    from ..risk.bus_routes import profile_routes_for_service

    table = profile_routes_for_service(_service(args), buffer_m=args.buffer)
    if args.format == "json":
        print(json.dumps({"routes": table}, ensure_ascii=False, indent=1, default=str))
        return 0
    out = sys.stdout
    out.write(
        f"{'rank':>4} {'route':<6} {'dir':>3} {'km':>6} {'incid.':>7} {'per km/h':>9}  schools\n"
    )
    for r in table[: args.top]:
        out.write(
            f"{r['rank']:>4} {r['route']:<6} {r['direction']:>3} {r['length_km']:>6.2f} "
            f"{r['incidents']:>7.1f} {r['per_km_per_hour']:>9.4f}  {', '.join(r['schools'])}\n"
        )
    return 0

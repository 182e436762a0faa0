"""`geosafe` subcommands: the contextual profile.

- ``geosafe overlap [--db DB] [filters] [--study-area FILE | --boroughs NAMES]
  [--hotspots FILE] [--with-referral-places] [--audience analyst|partners]
  [--format json|table]``: people across sources. ``--format json`` prints one object with at
  least ``{"people": {"distinct": N, "by_source": {SOURCE: n}, "in_two_or_more_sources": n},
  "intersections": [{"sources": [...], "people": n}, ...]}``, plus peer groups (and, for
  analysts, the network). Partners get counts under the 10-5 rule only.
- ``geosafe flags [--db DB] [filters] [--format json|table]``: per source and flag
  ``{"Y": n, "N": n, "unknown": n}``, completeness by month and by operator/school, flag
  co-occurrence, flag groups (``ProfileSettings.flag_groups``) and contradictions for review.
- ``geosafe profile --db DB --from YYYY-MM-DD --to YYYY-MM-DD --out DIR
  [--audience analyst|partners]``: the problem profile (``profile.html``, ``profile.pdf``,
  CSV tables).
- ``geosafe erase-person --db DB --person-ref REF``: a young person's erasure: every link of
  their (re-keyed) reference is removed; ``geosafe erase`` removes a whole record with its
  links.

They read record-level data from the store: ``--purpose TEXT`` or ``GEOSAFE_PURPOSE`` is
required and each run adds one ``read`` row to the audit log, as the hotspot commands do.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .._errors import ValidationError
from ..filters import add_filter_arguments, filter_from_args
from ._args import date_arg

__all__ = ["register"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db", help="incident store: SQLite file or postgresql:// URL (default GEOSAFE_DB)"
    )
    p.add_argument("--purpose", help="why record-level data is read (audit log; GEOSAFE_PURPOSE)")
    p.add_argument("--label", help="who runs it, for the audit log (default: the OS user)")
    p.add_argument("--study-area", type=Path, metavar="FILE", help="vector file (area filter)")
    p.add_argument("--boroughs", metavar="NAMES", help="bundled borough names, comma-separated")


def _db(args: argparse.Namespace) -> Path | str:
    from ..settings import DB_HINT, store_exists, store_target

    path = store_target(args.db)
    if not store_exists(path):
        msg = f"store {str(path)!r} does not exist; {DB_HINT}."
        raise ValidationError(msg)
    purpose = (args.purpose or os.environ.get("GEOSAFE_PURPOSE") or "").strip()
    if not purpose:
        msg = (
            f"reading record-level data from the store {str(path)!r} needs `--purpose TEXT` or "
            f"GEOSAFE_PURPOSE (got {args.purpose!r}): say why, it is recorded in the audit log."
        )
        raise ValidationError(msg)
    args.purpose = purpose
    return path


def _load(args: argparse.Namespace) -> Any:
    from ..profile.data import load_profile_data
    from .hotspots import _audit_read, _study_area

    db = _db(args)
    data = load_profile_data(db, filt=filter_from_args(args), area=_study_area(args))
    _audit_read(args, db, args.purpose, len(data.incidents))
    return data


def _hotspot_polygons(path: Path | None) -> Any:
    if path is None:
        return None
    import geopandas as gpd

    from ..incident import CRS_BNG

    if not path.exists():
        msg = (
            f"`--hotspots` {str(path)!r} does not exist; pass a file written by `geosafe hotspots`."
        )
        raise ValidationError(msg)
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    gdf = gdf.to_crs(CRS_BNG)
    id_col = next((c for c in ("hotspot_id", "id", "cluster", "name") if c in gdf.columns), None)
    gdf["hotspot_id"] = gdf[id_col].astype(str) if id_col else [str(i + 1) for i in range(len(gdf))]
    return gdf


def _overlap(args: argparse.Namespace) -> int:
    from ..profile.people import overlap

    data = _load(args)
    res = overlap(
        data,
        hotspots=_hotspot_polygons(args.hotspots),
        with_referral_places=args.with_referral_places,
    )
    obj = res.to_json(args.audience)
    obj["filters"] = data.filter.describe()
    if args.format == "json":
        print(json.dumps(obj, indent=2, default=str))
        return 0
    people = obj["people"]
    print(f"distinct people: {_shown(people['distinct'])}")
    for src, n in people["by_source"].items():
        print(f"  {src:<24} {_shown(n)}")
    print(f"in two or more sources: {_shown(people['in_two_or_more_sources'])}")
    print(f"linked to two or more schools: {_shown(people['linked_to_two_or_more_schools'])}")
    print(f"linked to two or more hotspots: {_shown(people['linked_to_two_or_more_hotspots'])}")
    print("intersections (people in exactly these sources):")
    for row in obj["intersections"]:
        print(f"  {' & '.join(row['sources']):<40} {_shown(row['people'])}")
    pg = obj["peer_groups"]
    print(f"peer groups: {_shown(pg['groups'])} ({_shown(pg['people_in_groups'])} people)")
    for g in pg.get("list", []):
        print(
            f"  group {g['group_id']}: {g['size']} people, {len(g['schools'])} schools, "
            f"{len(g['hotspots'])} hotspots, sources {', '.join(g['sources'])}"
        )
    for note in obj["notes"]:
        print(f"note: {note}")
    return 0


def _shown(n: int | None) -> str:
    return "suppressed (1-9)" if n is None else str(n)


def _flags(args: argparse.Namespace) -> int:
    from ..profile import flags as fl
    from ..settings import ProfileSettings

    data = _load(args)
    counts = fl.flag_counts(data)
    groups = fl.flag_groups(data, ProfileSettings().flag_groups)
    obj: dict[str, Any] = {
        "flags": counts,
        "completeness": {
            "by_month": fl.completeness(data, by="month").to_dict(orient="records"),
            "by_operator_or_school": fl.completeness(data, by="who").to_dict(orient="records"),
        },
        "co_occurrence": {
            on: {
                "flags": list(m.columns),
                "counts": m.to_numpy().tolist(),
            }
            for on in ("records", "people")
            for m in [fl.co_occurrence(data, on=on)]
        },
        "groups": [g.to_json() for g in groups],
        "contradictions": fl.contradictions(data).to_dict(orient="records"),
        "filters": data.filter.describe(),
    }
    if args.format == "json":
        print(json.dumps(obj, indent=2, default=str))
        return 0
    for src, per_flag in counts.items():
        print(f"{src}:")
        print(f"  {'flag':<28} {'Y':>6} {'N':>6} {'not recorded':>13}")
        for flag, c in per_flag.items():
            print(f"  {flag:<28} {c['Y']:>6} {c['N']:>6} {c['unknown']:>13}")
    for g in groups:
        print(
            f"group {g.name!r}: {g.records} of {g.of_records} records with any of "
            f"{', '.join(g.flags)} (not recorded on {g.records_not_recorded} more); "
            f"{g.people} of {g.of_people} people"
        )
    print(f"contradictions for review: {len(obj['contradictions'])}")
    for c in obj["contradictions"][:50]:
        print(
            f"  {c['incident_id']}: {c['flag']}={c['state']} but {c['field']} says {c['phrase']!r}"
        )
    return 0


def _profile(args: argparse.Namespace) -> int:
    from ..profile.report import build_profile, write_profile

    db = _db(args)
    from .hotspots import _audit_read, _study_area

    profile = build_profile(
        db,
        from_date=args.from_date,
        to_date=args.to_date,
        audience=args.audience,
        area=_study_area(args),
        with_referral_places=args.with_referral_places,
    )
    _audit_read(args, db, args.purpose, profile.records_read)
    written = write_profile(profile, args.out, pdf=not args.no_pdf)
    print(json.dumps({"audience": args.audience, "out": str(args.out), "files": written}, indent=2))
    return 0


def _erase_person(args: argparse.Namespace) -> int:
    from ..profile.keys import load_person_key, rekey
    from ..store import open_store

    db = _db(args)
    key = rekey(args.person_ref, load_person_key())
    with open_store(db) as store:  # an older store is migrated first
        n = store.erase_person(key)
    from .hotspots import _audit_read

    # the audit keeps a prefix of the re-keyed reference, never the reference itself
    args.person_ref = f"hmac:{key[:10]}"
    _audit_read(args, db, args.purpose, n)
    print(json.dumps({"person": args.person_ref, "links_removed": n}))
    return 0 if n else 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``overlap``, ``flags``, ``profile`` and ``erase-person``."""
    p = sub.add_parser("overlap", help="the same young people across sources; peer groups")
    _common(p)
    add_filter_arguments(p)
    p.add_argument("--hotspots", type=Path, metavar="FILE", help="hotspot polygons (GeoJSON)")
    p.add_argument(
        "--with-referral-places",
        action="store_true",
        help="also link people to hotspots through places named in referrals",
    )
    p.add_argument("--audience", choices=("analyst", "partners"), default="analyst")
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.set_defaults(func=_overlap)

    f = sub.add_parser("flags", help="flag completeness (Y/N/not recorded), groups, contradictions")
    _common(f)
    add_filter_arguments(f)
    f.add_argument("--format", choices=("json", "table"), default="table")
    f.set_defaults(func=_flags)

    r = sub.add_parser("profile", help="the problem profile report (HTML, PDF, CSV)")
    _common(r)
    r.add_argument("--from", dest="from_date", type=date_arg, required=True, metavar="YYYY-MM-DD")
    r.add_argument("--to", dest="to_date", type=date_arg, required=True, metavar="YYYY-MM-DD")
    r.add_argument("--out", type=Path, required=True, metavar="DIR")
    r.add_argument("--audience", choices=("analyst", "partners"), default="analyst")
    r.add_argument(
        "--with-referral-places",
        action="store_true",
        help="include places named in referrals in the incident counts (said in the report)",
    )
    r.add_argument("--no-pdf", action="store_true", help="skip profile.pdf (no Chromium)")
    r.set_defaults(func=_profile)

    e = sub.add_parser(
        "erase-person", help="remove one young person's links (their person_ref) from the store"
    )
    _common(e)
    e.add_argument("--person-ref", required=True, help="the person_ref as the partnership made it")
    e.set_defaults(func=_erase_person)

"""`geosafe` subcommands: ``journeys`` and ``school-report``.

``geosafe journeys --school URN (--origins FILE | --postcodes FILE | --from-store)
--mode walk|bus --arrive-by HH:MM --date YYYY-MM-DD --out FILE.geojson [--db PATH]``
writes one GeoJSON feature per origin (see :func:`geosafe.risk.journeys.journeys_geojson`);
``--direction from-school --depart HH:MM`` routes the journeys home leaving school at the bell.

``geosafe school-report --school URN --out DIR [--db PATH] [--role analyst|school|...]``
writes ``report.html`` (printable), ``corridors.geojson``, ``hotspots.geojson``,
``places.geojson``, ``places.csv`` and ``need_matrix.csv``, covering the morning journeys
(``--arrive-by``) and the journeys home (``--depart``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import shapely

from .. import datasets
from .._errors import ConfigurationError, ValidationError
from ..filters import IncidentFilter, add_filter_arguments, filter_from_args
from ._args import clock_arg, date_arg

log = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--school", required=True, metavar="URN", help="the school's DfE URN")
    p.add_argument("--db", metavar="PATH|URL", help="incident store (default GEOSAFE_DB)")
    p.add_argument(
        "--osm",
        type=Path,
        metavar="FILE",
        help="OSM XML (default: the area's streets, else the bundled extract)",
    )
    p.add_argument(
        "--gtfs",
        type=Path,
        metavar="DIR",
        help="GTFS feed (default: the area's feed, else the bundled demo feed)",
    )
    p.add_argument(
        "--max-detour",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="longest detour for a safer alternative (0.2 = 20%% longer; default 0.2)",
    )
    p.add_argument(
        "--bandwidth", type=float, default=200.0, metavar="M", help="KDE bandwidth, metres"
    )
    p.add_argument("--purpose", metavar="TEXT", help="why the incident data is read (audited)")
    add_filter_arguments(p)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    p = sub.add_parser(
        "journeys",
        help="pupils' journeys to a school (walk or bus) with exposure and safer alternatives",
        description=(
            "Route every origin to the school arriving by the bell and score the exposure "
            "(expected relevant incidents per 1,000 journeys; default time window: the "
            "school run). Walking speed 1.3 m/s."
        ),
    )
    _common(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--origins", type=Path, metavar="FILE", help="CSV: id + lat/lon or E/N")
    src.add_argument("--postcodes", type=Path, metavar="FILE", help="CSV with a postcode column")
    src.add_argument(
        "--from-store", action="store_true", help="the school's FAP referrals' home postcodes"
    )
    p.add_argument("--mode", required=True, choices=("walk", "bus"))
    p.add_argument(
        "--direction",
        choices=("to-school", "from-school"),
        default="to-school",
        help="to-school (arrive by the bell, default) or from-school (leave at the bell)",
    )
    p.add_argument(
        "--arrive-by", type=clock_arg, metavar="HH:MM", help="bell, to-school (required there)"
    )
    p.add_argument(
        "--depart", type=clock_arg, metavar="HH:MM", help="bell, from-school (required there)"
    )
    p.add_argument("--date", required=True, type=date_arg, metavar="YYYY-MM-DD")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.geojson")
    p.set_defaults(func=cmd_journeys)

    r = sub.add_parser(
        "school-report",
        help="one school's journeys as corridors, hotspots along them and the FAP need matrix",
    )
    _common(r)
    r.add_argument("--out", required=True, type=Path, metavar="DIR")
    r.add_argument(
        "--role",
        default="analyst",
        choices=("analyst", "school", "neighbourhood"),
        help="disclosure control: exact counts for analysts only (default analyst)",
    )
    r.add_argument("--arrive-by", type=clock_arg, default=dt.time(8, 45), metavar="HH:MM")
    r.add_argument(
        "--depart",
        type=clock_arg,
        default=dt.time(15, 15),
        metavar="HH:MM",
        help="when pupils leave school for the journeys home (default 15:15)",
    )
    r.add_argument(
        "--date",
        type=date_arg,
        metavar="YYYY-MM-DD",
        help="day of travel (default: a representative term-time school day inside the "
        "incident data's period on which the timetable runs; the report says which)",
    )
    r.add_argument(
        "--walk-max-m",
        type=float,
        default=2000.0,
        metavar="M",
        help="pupils with a longer walk are assumed to take the bus (default 2000)",
    )
    r.set_defaults(func=cmd_school_report)

    pl = sub.add_parser(
        "placement",
        help="placement check: one pupil's journeys to and from each candidate school",
        description=(
            "For a Fair Access Panel decision: the walking and bus journeys between one home "
            "and each candidate school (morning and afternoon), the hotspots and named places "
            "they cross, and the places named in the pupil's referral near each route. One "
            "printable page per candidate. It supports a decision; it does not recommend one."
        ),
    )
    who = pl.add_mutually_exclusive_group(required=True)
    who.add_argument("--referral", metavar="FAP-ID", help="a FAP referral_id in the store")
    who.add_argument("--home-postcode", metavar="POSTCODE", help="the pupil's home postcode")
    pl.add_argument(
        "--school", required=True, action="append", metavar="URN", help="a candidate (repeat)"
    )
    pl.add_argument("--out", required=True, type=Path, metavar="DIR")
    pl.add_argument("--db", metavar="PATH|URL", help="incident store (default GEOSAFE_DB)")
    pl.add_argument(
        "--osm",
        type=Path,
        metavar="FILE",
        help="OSM XML (default: the area's streets, else the bundled extract)",
    )
    pl.add_argument("--gtfs", type=Path, metavar="DIR", help="GTFS feed (default: bundled)")
    pl.add_argument("--arrive-by", type=clock_arg, default=dt.time(8, 45), metavar="HH:MM")
    pl.add_argument("--depart", type=clock_arg, default=dt.time(15, 15), metavar="HH:MM")
    pl.add_argument("--date", type=date_arg, metavar="YYYY-MM-DD", help="as school-report")
    pl.add_argument("--bandwidth", type=float, default=200.0, metavar="M", help="KDE, metres")
    pl.add_argument("--purpose", metavar="TEXT", help="why the referral is read (audited)")
    add_filter_arguments(pl)
    pl.set_defaults(func=cmd_placement)


# ------------------------------------------------------------------------ shared steps
def _store(args: argparse.Namespace, *, required: bool) -> Any:
    from ..settings import DB_HINT, store_exists, store_target
    from ..store import open_store

    path = store_target(args.db)
    if not store_exists(path):
        if required:
            msg = f"store {str(path)!r} does not exist; {DB_HINT}, or import incidents first."
            raise ConfigurationError(msg)
        warnings.warn(f"store {str(path)!r} does not exist: exposure is not computed", stacklevel=2)
        return None
    return open_store(path)


def _safe_places(store: Any, day: Any) -> dict[str, Any]:
    """The store's safe places and the day, to count along journeys (none imported: {})."""
    if store is None:
        return {}
    from ..protect.safe_places import load_safe_places

    places = load_safe_places(store)
    return {"safe_places": places, "day": day} if len(places) else {}


def _network(args: argparse.Namespace) -> Any:
    from ..network.walk import WalkNetwork, WalkSettings

    return WalkNetwork.from_osm(args.osm or datasets.osm_path(), settings=WalkSettings())


def _router(args: argparse.Namespace, net: Any) -> Any | None:
    path = args.gtfs or datasets.gtfs_dir()
    if not Path(path).exists():
        return None
    from ..network.gtfs_cache import cached_router, matrix_walk, router_cache_dir
    from ..network.journeys import FallbackWalk
    from ..network.transit import TransitSettings

    settings = TransitSettings()
    return cached_router(
        path,
        cache_dir=router_cache_dir(datasets.default_data_dir()),
        # street walks through the many-to-many preprocessing (fast on a London network);
        # the area's own when the streets are the area's
        walk=FallbackWalk(matrix_walk(net, None if args.osm else datasets.default_data_dir())),
        walk_path=net.path_line,
        max_walk_m=settings.max_walk_m,
        transfer_walk_m=settings.transfer_walk_m,
        min_transfer_s=settings.min_transfer_s,
        max_transfers=settings.max_transfers,
    )


def _model(
    args: argparse.Namespace,
    store: Any | None,
    clock: dt.time,
    period: tuple[dt.date, dt.date] | None = None,
) -> tuple[Any | None, int]:
    """The exposure model of the journey window holding ``clock`` (the bell) and the number
    of incident records read for it; ``period`` (another window's) makes both windows
    cover the same days."""
    from ..risk.exposure import build_exposure_model, journey_window

    if store is None:
        return None, 0
    filt = filter_from_args(args)
    if filt.preset is None and not filt.hours:
        # default: the journey's own half of the school run (morning for an 08:45 bell)
        filt = IncidentFilter(
            sources=filt.sources or ("dir", "asif", "cris", "police_uk"),
            categories=filt.categories,
            flags=filt.flags,
            from_date=filt.from_date,
            to_date=filt.to_date,
            weekdays=filt.weekdays,
            hours=journey_window(clock),
            preset="school-run",
            calendar=filt.calendar,
        )
    incidents = store.incidents()
    area = None
    if period is not None:  # the same days as another window: an empty window scores 0
        located = incidents[incidents.geometry.notna()]
        if not located.empty:
            area = shapely.box(*located.total_bounds).buffer(args.bandwidth)
    try:
        model = build_exposure_model(
            incidents,
            incident_filter=filt,
            start=period[0] if period else filt.from_date,
            end=period[1] if period else filt.to_date,
            bandwidth=args.bandwidth,
            study_area=area,
        )
    except ValidationError as exc:
        warnings.warn(f"exposure is not computed: {exc}", stacklevel=2)
        model = None
    return model, len(incidents)


def _published_model(args: argparse.Namespace, store: Any) -> Any | None:
    """The exposure model a school's or neighbourhood's report is built on: the service's
    (:func:`geosafe.publish.corridors.public_exposure_model`), from the published school-run
    counts of every source but FAP, read over a read-only connection to the store."""
    from types import SimpleNamespace

    from ..incident import SOURCES
    from ..publish.catalogue import AnalysisParams
    from ..publish.corridors import public_exposure_model
    from ..store.published_read import PublishedReader

    if store is None:
        return None
    flt = IncidentFilter(sources=tuple(s for s in SOURCES if s != "fap"), preset="school-run")
    reader = PublishedReader(store.target)
    try:
        view = SimpleNamespace(published=reader, data_dir=None)  # the default data folder
        return public_exposure_model(view, AnalysisParams(bandwidth_m=args.bandwidth), flt)
    except ValidationError as exc:
        warnings.warn(f"exposure is not computed: {exc}", stacklevel=2)
        return None
    finally:
        reader.close()


def _audit(args: argparse.Namespace, command: str, store: Any | None, records: int) -> None:
    """Record the read of incident-level data (FAP referrals, incidents) in the audit log."""
    if store is None:
        return
    from ..access.audit import AuditLog, cli_actor
    from ..settings import StoreSettings

    AuditLog(StoreSettings(db=store.target).audit_path()).record(
        "read",
        label=cli_actor(),
        role="operator",
        endpoint=f"geosafe {command}",
        params={"school": args.school, "from_store": bool(getattr(args, "from_store", True))},
        records=records,
        purpose=args.purpose,
    )


# ------------------------------------------------------------------------ journeys
def cmd_journeys(args: argparse.Namespace) -> int:
    """``geosafe journeys``."""
    from ..network import origins as og
    from ..risk.journeys import assess_journeys, journeys_geojson

    home = args.direction == "from-school"
    bell = args.depart if home else args.arrive_by
    if bell is None:
        need, other = ("--depart", "--arrive-by") if home else ("--arrive-by", "--depart")
        msg = (
            f"`--direction` {args.direction!r} needs {need} HH:MM (the bell); {other} is for "
            "the other direction."
        )
        raise ValidationError(msg)
    store = _store(args, required=bool(args.from_store))
    if args.origins:
        origins = og.origins_from_csv(args.origins)
    elif args.postcodes:
        origins = og.origins_from_postcodes(og.read_postcode_list(args.postcodes))
    else:
        origins = og.origins_from_postcodes(og.fap_home_postcodes(store, args.school), kind="fap")
    net = _network(args)
    router = _router(args, net) if args.mode == "bus" else None
    if args.mode == "bus" and router is None:
        msg = (
            f"no GTFS feed at {str(args.gtfs or datasets.gtfs_dir())!r}; pass --gtfs DIR or "
            "build the demo feed (`geosafe gtfs build`)."
        )
        raise ConfigurationError(msg)
    model, n_read = _model(args, store, bell)
    _audit(args, "journeys", store, n_read + (sum(origins.count) if args.from_store else 0))
    results = assess_journeys(
        args.school,
        origins,
        mode=args.mode,
        bell=bell,
        date=args.date,
        direction=args.direction,
        network=net,
        router=router,
        model=model,
        max_detour=args.max_detour,
    )
    meta = {
        "school_urn": args.school,
        "mode": args.mode,
        "direction": args.direction,
        **({"depart": bell.strftime("%H:%M")} if home else {"arrive_by": bell.strftime("%H:%M")}),
        "date": args.date.isoformat(),
        "exposure_model": model.params if model is not None else None,
        "timetable": "estimated (TfL stop sequences, estimated run times and headways)"
        if args.mode == "bus" and not args.gtfs
        else None,
    }
    out = journeys_geojson(results, metadata=meta, **_safe_places(store, args.date))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out))
    ok = [r for r in results if r.error is None]
    print(
        f"{len(results)} origins ({sum(r.count for r in results)} pupils): {len(ok)} routed, "
        f"{len(results) - len(ok)} unroutable -> {args.out}"
    )
    return 0


# ------------------------------------------------------------------------ school report
def _next_monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


def _pupil_journeys(
    args: argparse.Namespace,
    origins: Any,
    *,
    bell: dt.time,
    direction: str,
    date: dt.date,
    net: Any,
    router: Any | None,
    model: Any | None,
) -> list[Any]:
    """Each pupil's journey one way: on foot when the walk is at most ``--walk-max-m``, else
    by bus (on foot again when no bus journey is found but the walk is)."""
    from ..network import origins as og
    from ..risk.journeys import assess_journeys

    common = {"bell": bell, "date": date, "network": net, "model": model, "direction": direction}
    walks = assess_journeys(args.school, origins, mode="walk", max_detour=args.max_detour, **common)
    chosen = list(walks)
    far = [
        i
        for i, w in enumerate(walks)
        if w.error is not None or (w.distance_m or 0.0) > args.walk_max_m
    ]
    if router is not None and far:
        sub = og.Origins(
            tuple(origins.origin_id[i] for i in far),
            origins.xy[far],
            origins.count[far],
            tuple(origins.error[i] for i in far),
            origins.kind,
        )
        buses = assess_journeys(
            args.school, sub, mode="bus", router=router, max_detour=args.max_detour, **common
        )
        for i, b in zip(far, buses, strict=True):
            if b.error is None or walks[i].error is not None:
                chosen[i] = b
    return chosen


def _two_windows(
    args: argparse.Namespace, store: Any, router: Any | None
) -> tuple[Any | None, Any | None, int, dt.date, str]:
    """The morning (``--arrive-by``) and afternoon (``--depart``) exposure models over the
    same days, the records read, and the day of travel with the reason it was chosen."""
    from ..risk.report import representative_school_day

    if getattr(args, "role", "analyst") != "analyst":
        # another role's report: the published school-run counts, as the service's (both
        # halves of the school run are one published window); no incident row is read
        morning = afternoon = _published_model(args, store)
        n_read = 0
    else:
        morning, n_read = _model(args, store, args.arrive_by)
    period = None
    if morning is not None:
        start, end = (dt.date.fromisoformat(d) for d in morning.params["period"])
        period = (start, end)
    if getattr(args, "role", "analyst") == "analyst":
        afternoon, _ = _model(args, store, args.depart, period)
    if args.date is not None:
        return morning, afternoon, n_read, args.date, "The day of travel was chosen by the user."
    if period is None:
        why = "No incidents to date the journeys by: next Monday."
        return morning, afternoon, n_read, _next_monday(), why
    feed = getattr(router, "feed", None)
    date, why = representative_school_day(
        *period, runs=(lambda d: bool(feed.services_on(d))) if feed is not None else None
    )
    return morning, afternoon, n_read, date, why


def _report_interventions(store: Any, role: str) -> tuple[dict[str, Any], int]:
    """What ``role`` may see of the intervention log (the analyst's log, or the published
    view read from the published counts), and how many incident records were read (none:
    the published view reads no incident row)."""
    from types import SimpleNamespace

    from ..protect.interventions import list_interventions
    from ..protect.public_evaluation import for_viewer
    from ..store.published_read import PublishedReader

    if not list_interventions(store):
        return {"type": "FeatureCollection", "features": []}, 0
    reader = PublishedReader(store.target)
    try:
        layers = SimpleNamespace(store=store, published=reader)
        return for_viewer(layers, SimpleNamespace(role=role, area=None)), 0
    finally:
        reader.close()


def _published_referrals(store: Any, roll: list[str], urn: str) -> tuple[Any, Any]:
    """A non-analyst report's origins (the roll's postcodes and the FAP referrals' published
    home cells) and its need matrix, read from the published referrals."""
    from types import SimpleNamespace

    from ..network import origins as og
    from ..publish import corridors
    from ..store.published_read import PublishedReader
    from ..store.published_referrals import configured_data_dir

    reader = PublishedReader(store.target)
    try:
        # the configured data folder: a warning when the homes were placed with another list
        view = SimpleNamespace(published=reader, data_dir=configured_data_dir())
        origins = corridors.joined_origins(
            og.origins_from_postcodes(roll, kind="postcode"),
            corridors.published_fap_origins(view, urn),
        )
        return origins, corridors.published_need(view, urn)
    finally:
        reader.close()


def cmd_school_report(args: argparse.Namespace) -> int:
    """``geosafe school-report``."""
    from ..network import origins as og
    from ..risk.naming import place_namer
    from ..risk.report import build_school_report
    from ..risk.report_page import write_school_report
    from ..rolls import roll_postcodes

    store = _store(args, required=True)
    xy, name = og.school_location(args.school)
    # all the school's pupils: its uploaded roll (if any) plus its FAP referrals' homes (for
    # another role: as published, cells and counts, never a postcode) and the need matrix
    roll = roll_postcodes(store.path, args.school)
    if args.role == "analyst":
        origins = og.origins_from_postcodes(
            roll + og.fap_home_postcodes(store, args.school), kind="postcode"
        )
        fap, need = store.incidents(sources=["fap"], with_location=False), None
    else:
        import pandas as pd

        origins, need = _published_referrals(store, roll, args.school)
        fap = pd.DataFrame()
    net = _network(args)
    router = _router(args, net)
    model, home_model, n_read, date, date_reason = _two_windows(args, store, router)
    kw = {"date": date, "net": net, "router": router}
    morning = _pupil_journeys(
        args, origins, bell=args.arrive_by, direction="to-school", model=model, **kw
    )
    afternoon = _pupil_journeys(
        args, origins, bell=args.depart, direction="from-school", model=home_model, **kw
    )
    interventions, n_iv = _report_interventions(store, args.role)
    _audit(args, "school-report", store, n_read + len(fap) + n_iv)
    report = build_school_report(
        args.school,
        morning,
        school_name=name,
        network=net,
        model=model,
        fap=fap,
        role=args.role,
        params={
            "arrive_by": args.arrive_by.strftime("%H:%M"),
            "depart": args.depart.strftime("%H:%M"),
            "date": date.isoformat(),
            "date_reason": date_reason,
            "walk_max_m": args.walk_max_m,
            "timetable": "estimated" if router is not None and not args.gtfs else None,
        },
        home=afternoon,
        home_model=home_model,
        namer=place_namer(),
        need=need,
        **_safe_places(store, date),
    )
    paths = write_school_report(
        report, args.out, school_xy=xy, network=net, interventions=interventions
    )
    print(f"school report for {args.school} ({name}): " + ", ".join(str(p) for p in paths))
    return 0


# ------------------------------------------------------------------------ placement check
def cmd_placement(args: argparse.Namespace) -> int:
    """``geosafe placement``."""
    from ..geocode.postcodes import lookup_postcodes
    from ..risk.naming import place_namer
    from ..risk.placement import check_placement, referral_home_and_notes
    from ..risk.placement_page import write_placement

    store = _store(args, required=True)
    notes: dict[str, str] = {}
    if args.referral:
        home, notes = referral_home_and_notes(store, args.referral)
    else:
        home = args.home_postcode
    found = lookup_postcodes([home])
    if found["reason_code"].iloc[0] is not None:
        msg = f"home postcode {home!r} is not in the bundled Code-Point list; check it."
        raise ValidationError(msg)
    home_xy = (float(found["easting"].iloc[0]), float(found["northing"].iloc[0]))
    net = _network(args)
    router = _router(args, net)
    morning, afternoon, n_read, date, why = _two_windows(args, store, router)
    _audit(args, "placement", store, n_read + (1 if args.referral else 0))
    check = check_placement(
        home_xy,
        args.school,
        home_label=" ".join(str(home).upper().split()),
        network=net,
        router=router,
        morning=morning,
        afternoon=afternoon,
        arrive_by=args.arrive_by,
        depart=args.depart,
        date=date,
        date_reason=why,
        notes=notes,
        referral_id=args.referral,
        namer=place_namer(),
        safe_places=_safe_places(store, date).get("safe_places"),
    )
    paths = write_placement(check, args.out, network=net)
    print("placement check: " + ", ".join(str(p) for p in paths))
    return 0

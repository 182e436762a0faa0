"""``geosafe area build``: an area folder from public downloads (see :mod:`geosafe.area`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``area build``."""
    p = sub.add_parser("area", help="build an area folder from public downloads")
    verbs = p.add_subparsers(dest="area_command", metavar="VERB")
    verbs.required = True
    b = verbs.add_parser(
        "build",
        help="streets (OSM PBF/XML), schools, postcodes, GTFS and boundaries into one folder",
    )
    b.add_argument("--out", required=True, type=Path, metavar="DIR", help="the area folder")
    b.add_argument("--osm", required=True, type=Path, metavar="FILE", help=".osm.pbf or OSM XML")
    b.add_argument(
        "--boundary",
        required=True,
        metavar="FILE[:LAYER]",
        help="boundary file (e.g. ONS LAD GeoPackage or shapefile)",
    )
    b.add_argument(
        "--select",
        action="append",
        metavar="CODE_OR_NAME",
        help="keep these boundary features (GSS code or name; repeatable; default all)",
    )
    b.add_argument("--margin", type=float, default=1000.0, metavar="M", help="metres (1000)")
    b.add_argument("--gtfs", type=Path, metavar="DIR|ZIP", help="GTFS feed")
    b.add_argument(
        "--schools",
        action="append",
        type=Path,
        metavar="FILE",
        help="GIAS establishment CSV, KS4 information or a school list (repeatable)",
    )
    b.add_argument("--postcodes", type=Path, metavar="FILE", help="ONSPD CSV or Code-Point Open")
    b.add_argument("--wards", metavar="FILE[:LAYER]", help="ward boundaries")
    b.add_argument("--lsoa", metavar="FILE[:LAYER]", help="LSOA boundaries")
    b.add_argument("--lad", metavar="FILE[:LAYER]", help="local authority boundaries")
    b.add_argument(
        "--stops", type=Path, metavar="FILE", help="TfL bus-stops.csv or NaPTAN Stops.csv"
    )
    b.add_argument("--name", metavar="TEXT", help="label in area.json (default: folder name)")
    b.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    """Build the area and print one JSON line."""
    from ..area.build import build_area

    summary = build_area(
        args.out,
        osm_file=args.osm,
        boundary=args.boundary,
        select=args.select,
        margin_m=args.margin,
        gtfs=args.gtfs,
        schools=args.schools,
        postcodes=args.postcodes,
        wards=args.wards,
        lsoas=args.lsoa,
        lads=args.lad,
        stops=args.stops,
        name=args.name,
    )
    print(json.dumps(summary.to_json()))
    return 0

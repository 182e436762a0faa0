"""ASIF: anti-social behaviour incident forms.

Columns: ``asif_ref, occurred_at, route, location_type, stop_code, station, reporter,
category, description``. The location is the stop (``stop_code``) when given, else the
station (free text, through the gazetteer; left unmapped when it names nothing known), else,
for an incident on a bus, the stretch of the route inside the demo area (a line).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._validate import Problem, check_code
from ..incident import Incident
from ._common import RowContext, geocode_problem, interval, make_incident, row_ref, row_timestamp
from ._people import PERSON_COLUMNS, profile_detail
from ._read import Column

__all__ = ["COLUMNS", "REF", "SOURCE", "parse_row"]

SOURCE: Final = "asif"
REF: Final = "asif_ref"

LOCATION_TYPES: Final = ("bus", "stop", "station")
REPORTERS: Final = ("driver", "controller")

COLUMNS: Final = (
    Column("asif_ref", "Unique ASIF reference (text). Required.", "EXAMPLE-ASIF-0001"),
    Column(
        "occurred_at",
        "When it happened: ISO 8601 local UK time ('YYYY-MM-DD HH:MM').",
        "2025-01-14 08:17",
    ),
    Column("route", "Bus route ('W3', '184').", "184"),
    Column("location_type", "Where: bus, stop or station.", "stop", codes=LOCATION_TYPES),
    Column("stop_code", "NaPTAN ATCO or TfL LBSL stop code; optional.", "490000252S"),
    Column(
        "station",
        "Station name as written (free text), geocoded through the gazetteer when possible.",
        "Bounds Green",
        text=True,
    ),
    Column("reporter", "Who reported it: driver or controller.", "driver", codes=REPORTERS),
    Column(
        "category",
        "ASB category code, upper-cased; checked against GEOSAFE_INGEST_CODE_LISTS (key 'asif') "
        "when one is set.",
        "MISSILE",
    ),
    Column("description", "Free text.", "Stones thrown at bus from bus shelter", text=True),
    *PERSON_COLUMNS,
)


def parse_row(row: Mapping[str, str], number: int, ctx: RowContext) -> Incident | Problem:
    """One ASIF row to an Incident, or the reason to quarantine it."""
    ref = row_ref(row, number, REF, "every ASIF needs its reference")
    if isinstance(ref, Problem):
        return ref
    when = row_timestamp(row, number, "occurred_at", ctx)
    if isinstance(when, Problem):
        return when
    where = row["location_type"].strip().lower()
    if where and where not in LOCATION_TYPES:
        return Problem(
            number,
            "location_type",
            "value_out_of_list",
            f"`location_type` {row['location_type']!r} is not one of bus, stop, station.",
        )
    reporter = row["reporter"].strip().lower()
    if reporter and reporter not in REPORTERS:
        return Problem(
            number,
            "reporter",
            "value_out_of_list",
            f"`reporter` {row['reporter']!r} is not driver or controller.",
        )
    code = check_code(row["category"], ctx.code_list, row=number, column="category")
    if isinstance(code, Problem):
        return code
    profile = profile_detail(row, number)
    if isinstance(profile, Problem):
        return profile
    route = row["route"].strip().upper()
    stop = row["stop_code"].strip()
    station = row["station"].strip()
    geo = ctx.geocoder
    located = None
    if stop:
        located = geo.from_stop_code(stop)
        problem = geocode_problem(located, number, "stop_code")
        if problem is not None:
            return problem
    if (located is None or located.geometry is None) and station:
        found = geo.from_station(station)
        if found.ok and found.geometry is not None:
            located = found
    if (located is None or located.geometry is None) and route and where in ("bus", ""):
        found = geo.from_route(route)
        if found.ok and found.geometry is not None:
            located = found
    return make_incident(
        ctx,
        ref=ref,
        start=when[0],
        end=interval(when[0], when[1]),
        time_precision=when[1],
        category=code,
        located=located,
        route=route,
        stop_code=stop,
        location_text=station or None,
        detail={
            "location_type": where or None,
            "station": station or None,
            "reporter": reporter or None,
            "description": row["description"] or None,
            **profile,
        },
    )

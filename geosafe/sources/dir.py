"""DIR: bus driver incident reports.

Columns: ``dir_ref, reported_at, route, direction, operator, stop_code, latitude, longitude,
cause_code, youth_flag, vulnerability_flag, description``. The location is, in order of
preference, the AVL position (``latitude``/``longitude``, WGS84), the bus stop
(``stop_code``: NaPTAN ATCO or TfL LBSL code) or, failing both, the stretch of the route inside
the demo area (a line). A bad value in any given location field quarantines the row: it is
never skipped over in favour of the next field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._validate import Problem, check_code
from ..incident import Incident
from ._common import (
    RowContext,
    blank,
    flags_from,
    geocode_problem,
    interval,
    make_incident,
    row_ref,
    row_timestamp,
)
from ._people import PERSON_COLUMNS, profile_detail
from ._read import Column

__all__ = ["COLUMNS", "REF", "SOURCE", "parse_row"]

SOURCE: Final = "dir"
REF: Final = "dir_ref"

COLUMNS: Final = (
    Column("dir_ref", "Unique DIR reference (text). Required.", "EXAMPLE-DIR-0001"),
    Column(
        "reported_at",
        "When it happened: ISO 8601 local UK time, 'YYYY-MM-DD HH:MM' or 'YYYY-MM-DDTHH:MM:SS'.",
        "2025-01-13 15:42",
    ),
    Column("route", "Bus route as TfL writes it ('W3', '184', 'N29').", "W3"),
    Column("direction", "TfL run: 1 or 2; blank if unknown.", "1", codes=("1", "2")),
    Column("operator", "Bus operator name.", "Arriva London"),
    Column(
        "stop_code",
        "Nearest stop: NaPTAN ATCO code ('490...') or TfL LBSL code; not the 5-digit SMS code. "
        "Optional.",
        "490000252S",
    ),
    Column("latitude", "AVL latitude, WGS84 degrees. Optional (with longitude).", "51.6070"),
    Column("longitude", "AVL longitude, WGS84 degrees. Optional (with latitude).", "-0.1245"),
    Column(
        "cause_code",
        "Incident cause code, normalised to upper case; checked against "
        "GEOSAFE_INGEST_CODE_LISTS (key 'dir') when one is set.",
        "ASB",
    ),
    Column(
        "youth_flag", "Young people involved: Y/N (yes/no, true/false, 1/0); blank = unknown.", "Y"
    ),
    Column("vulnerability_flag", "A vulnerable person involved: Y/N; blank = unknown.", "N"),
    Column(
        "description",
        "Free text (newlines and quotes allowed; a leading = + - @ is kept as text).",
        "Group of youths throwing objects at the rear window",
        text=True,
    ),
    *PERSON_COLUMNS,
)

_FLAGS: Final = {"youth_flag": "youth", "vulnerability_flag": "vulnerability"}


def parse_row(row: Mapping[str, str], number: int, ctx: RowContext) -> Incident | Problem:
    """One DIR row to an Incident, or the reason to quarantine it."""
    ref = row_ref(row, number, REF, "every DIR needs its reference")
    if isinstance(ref, Problem):
        return ref
    when = row_timestamp(row, number, "reported_at", ctx)
    if isinstance(when, Problem):
        return when
    direction = row["direction"].strip()
    if direction and direction not in ("1", "2"):
        return Problem(
            number,
            "direction",
            "value_out_of_list",
            f"`direction` {direction!r} is not 1 or 2 (the TfL run).",
        )
    code = check_code(row["cause_code"], ctx.code_list, row=number, column="cause_code")
    if isinstance(code, Problem):
        return code
    flags = flags_from(row, number, _FLAGS)
    if isinstance(flags, Problem):
        return flags
    profile = profile_detail(row, number, flags=_FLAGS)
    if isinstance(profile, Problem):
        return profile
    route = row["route"].strip().upper()
    stop = row["stop_code"].strip()
    geo = ctx.geocoder
    located = None
    if not (blank(row["latitude"]) and blank(row["longitude"])):
        located = geo.from_coordinates(latitude=row["latitude"], longitude=row["longitude"])
        problem = geocode_problem(located, number, "latitude,longitude")
        if problem is not None:
            return problem
    if stop:
        at_stop = geo.from_stop_code(stop)
        problem = geocode_problem(at_stop, number, "stop_code")
        if problem is not None:
            return problem
        if located is None or located.geometry is None:
            located = at_stop
    if (located is None or located.geometry is None) and route:
        located = geo.from_route(route, direction=int(direction) if direction else None)
        if not located.ok:
            located = None
    return make_incident(
        ctx,
        ref=ref,
        start=when[0],
        end=interval(when[0], when[1]),
        time_precision=when[1],
        category=code,
        flags=flags,
        located=located,
        route=route,
        stop_code=stop,
        detail={
            "operator": row["operator"].strip() or None,
            "direction": int(direction) if direction else None,
            "description": row["description"] or None,
            **profile,
        },
    )

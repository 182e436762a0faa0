"""CRIS: police crime reports.

Columns: ``crn, offence_code, offence, committed_from, committed_to, address, postcode,
easting, northing, victim_age, suspect_age, flags``. The location is the grid reference
(``easting``/``northing``, British National Grid metres) when given, else the postcode's
Code-Point Open centroid, else a street or place named in ``address`` (gazetteer). Any location
field that is given must be valid. ``committed_from``/``committed_to`` give the interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._validate import Problem, check_code, parse_int_in
from ..incident import Incident
from ._common import (
    RowContext,
    blank,
    geocode_problem,
    interval,
    make_incident,
    row_ref,
    row_timestamp,
)
from ._people import PERSON_COLUMNS, profile_detail
from ._read import Column

__all__ = ["COLUMNS", "CRIS_FLAGS", "REF", "SOURCE", "parse_row"]

SOURCE: Final = "cris"
REF: Final = "crn"

CRIS_FLAGS: Final = ("youth", "gang", "domestic", "sexual", "weapon", "hate", "online")

COLUMNS: Final = (
    Column("crn", "Crime reference number, unique. Required.", "EXAMPLE-CRIS-0001"),
    Column(
        "offence_code",
        "Offence code, upper-cased; checked against GEOSAFE_INGEST_CODE_LISTS (key 'cris') when set.",
        "ROBP",
    ),
    Column("offence", "Offence description.", "Robbery of personal property", text=True),
    Column(
        "committed_from",
        "Start of the time it was committed: ISO 8601 local UK time (or a date alone).",
        "2025-01-13 15:30",
    ),
    Column("committed_to", "End of that time; blank when known to the minute.", "2025-01-13 15:45"),
    Column("address", "Address or place as written (free text).", "Bounds Green Road", text=True),
    Column("postcode", "UK postcode (any case and spacing).", "N22 8HE"),
    Column("easting", "British National Grid easting, metres (EPSG:27700).", "529850"),
    Column("northing", "British National Grid northing, metres (EPSG:27700).", "191530"),
    Column("victim_age", "Victim age, years (0-120); blank if unknown.", "14"),
    Column("suspect_age", "Suspect age, years (0-120); blank if unknown.", "16"),
    Column(
        "flags",
        "';'-separated list from: " + ", ".join(CRIS_FLAGS) + ". Blank = not recorded "
        "(every flag unknown); 'none' = recorded, none applies (every flag N).",
        "youth;weapon",
        codes=CRIS_FLAGS,
    ),
    *PERSON_COLUMNS,
)


def _flags(text: str, number: int) -> tuple[str, ...] | Problem:
    out = set()
    for part in text.split(";"):
        name = part.strip().lower()
        if not name or name == "none":
            continue
        if name not in CRIS_FLAGS:
            return Problem(
                number,
                "flags",
                "value_out_of_list",
                f"`flags` item {part.strip()!r} is not one of {', '.join(CRIS_FLAGS)}; "
                "separate items with ';'.",
            )
        out.add(name)
    return tuple(sorted(out))


def parse_row(row: Mapping[str, str], number: int, ctx: RowContext) -> Incident | Problem:
    """One CRIS row to an Incident, or the reason to quarantine it."""
    ref = row_ref(row, number, REF, "every crime report needs its CRN")
    if isinstance(ref, Problem):
        return ref
    start = row_timestamp(row, number, "committed_from", ctx)
    if isinstance(start, Problem):
        return start
    end_ts = None
    precision = start[1]
    if not blank(row["committed_to"]):
        end = row_timestamp(row, number, "committed_to", ctx)
        if isinstance(end, Problem):
            return end
        end_ts = interval(end[0], end[1])
        if end_ts < start[0]:
            return Problem(
                number,
                "committed_from,committed_to",
                "time_order",
                f"`committed_to` {row['committed_to']!r} is before `committed_from` "
                f"{row['committed_from']!r}; swap or correct them.",
            )
        if end[1] == "day":
            precision = "day"
    code = check_code(row["offence_code"], ctx.code_list, row=number, column="offence_code")
    if isinstance(code, Problem):
        return code
    ages = {}
    for col in ("victim_age", "suspect_age"):
        age = parse_int_in(row[col], row=number, column=col, low=0, high=120)
        if isinstance(age, Problem):
            return age
        ages[col] = age
    flags = _flags(row["flags"], number)
    if isinstance(flags, Problem):
        return flags
    profile = profile_detail(row, number, listed=("flags", CRIS_FLAGS))
    if isinstance(profile, Problem):
        return profile
    geo = ctx.geocoder
    located = None
    if not (blank(row["easting"]) and blank(row["northing"])):
        located = geo.from_coordinates(easting=row["easting"], northing=row["northing"])
        problem = geocode_problem(located, number, "easting,northing")
        if problem is not None:
            return problem
    postcode = row["postcode"].strip()
    if postcode:
        at_postcode = geo.from_postcode(postcode)
        problem = geocode_problem(at_postcode, number, "postcode")
        if problem is not None:
            return problem
        if located is None or located.geometry is None:
            located = at_postcode
    address = row["address"].strip()
    if (located is None or located.geometry is None) and address:
        found = geo.from_notes(address)
        if found.ok and found.geometry is not None:
            located = found
    return make_incident(
        ctx,
        ref=ref,
        start=start[0],
        end=end_ts if end_ts is not None else interval(start[0], start[1]),
        time_precision=precision,
        category=code,
        flags=flags,
        located=located,
        location_text=address or None,
        detail={
            "offence": row["offence"].strip() or None,
            "address": address or None,
            "postcode": postcode.upper() or None,
            **ages,
            **profile,
        },
    )

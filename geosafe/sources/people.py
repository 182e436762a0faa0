"""People lists: a generic list of young people known to a service (a MASE or exploitation
panel list, a school's list of concern, a youth offending caseload...), one row per person on
a list.

Columns: ``entry_ref, list_name, listed_on, school_urn, ward, person_ref, person_role,
notes``. ``person_ref`` is required here (a list of people without them says nothing), and is
re-keyed on import like every source's (:mod:`geosafe.profile.keys`). A row has no location:
people lists feed the overlap of people across sources (``geosafe overlap``, where each
``list_name`` counts as a source of its own, ``people:<list_name>``), never the maps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from .._validate import Problem
from ..incident import Incident
from ._common import (
    RowContext,
    blank,
    geocode_problem,
    interval,
    make_incident,
    row_date,
    row_ref,
    row_urn,
)
from ._people import PERSON_COLUMNS, profile_detail
from ._read import Column

__all__ = ["COLUMNS", "REF", "SOURCE", "parse_row"]

SOURCE: Final = "people"
REF: Final = "entry_ref"

_REF_COLUMN, _ROLE_COLUMN = PERSON_COLUMNS

COLUMNS: Final = (
    Column("entry_ref", "Unique id of the list entry. Required.", "EXAMPLE-LIST-0001"),
    Column(
        "list_name",
        "Which list (letters, digits, spaces, - and _), e.g. 'MASE', 'YOS caseload'. Required.",
        "MASE",
    ),
    Column(
        "listed_on", "Date the person was put on the list: ISO date 'YYYY-MM-DD'.", "2025-01-20"
    ),
    Column("school_urn", "DfE URN of the person's school, 6 digits; optional.", "136397"),
    Column("ward", "Home ward: 2018 ward name or GSS code; optional.", "Bounds Green"),
    Column(
        "person_ref",
        _REF_COLUMN.description.replace("Optional. ", "Required here. "),
        _REF_COLUMN.example,
        secret=True,
    ),
    _ROLE_COLUMN,
    Column(
        "notes", "Free text (kept for analysts only).", "referred after missing episode", text=True
    ),
)

_LIST_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,63}$")


def parse_row(row: Mapping[str, str], number: int, ctx: RowContext) -> Incident | Problem:
    """One list entry to a (location-less) Incident, or the reason to quarantine it."""
    ref = row_ref(row, number, REF, "every list entry needs its id")
    if isinstance(ref, Problem):
        return ref
    name = row["list_name"].strip()
    if _LIST_RE.match(name) is None:
        return Problem(
            number,
            "list_name",
            "value_out_of_list",
            f"`list_name` {name!r} must be 1-64 letters, digits, spaces, '-' or '_'.",
        )
    day = row_date(row, number, "listed_on", ctx)
    if isinstance(day, Problem):
        return day
    urn = row_urn(row, number)
    if isinstance(urn, Problem):
        return urn
    ward = row["ward"].strip()
    if ward:
        problem = geocode_problem(ctx.geocoder.from_ward(ward), number, "ward")
        if problem is not None:
            return problem
    if blank(row.get("person_ref")):
        return Problem(
            number,
            "person_ref",
            "person_ref_invalid",
            "`person_ref` is blank; every entry of a people list names its person.",
        )
    profile = profile_detail(row, number)
    if isinstance(profile, Problem):
        return profile
    return make_incident(
        ctx,
        ref=ref,
        start=day,
        end=interval(day, "day"),
        time_precision="day",
        category=name,
        school_urn=urn,
        detail={"ward": ward or None, "notes": row["notes"] or None, **profile},
    )

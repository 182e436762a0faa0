"""FAP: Fair Access Panel school referrals.

Columns: ``referral_id, referral_date, school_urn, year_group, gender, ethnicity,
home_postcode, ward, flag_* (nine flags), notes_peer_group, notes_school,
notes_neighbourhood, school_response``.

A referral's home postcode is the pupil's journey *origin*, never the incident location: it is
validated and kept in ``detail["home_postcode"]`` (with its centroid), not in the geometry.

A referral is not an event at a place: it has no incident location. Every place its notes name
(gazetteer: streets, parks, stops, schools; all of them, in every note) is kept as a *place
named in a referral* (``detail["note_places"]``: note, matched text, place, point), which the
store lists in its own table (``referral_places``): places of concern, shown beside hotspots,
and in incident analyses only when asked (:mod:`geosafe.profile.places`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._validate import Problem
from ..incident import Incident
from ._common import (
    RowContext,
    flags_from,
    geocode_problem,
    interval,
    make_incident,
    row_date,
    row_ref,
    row_urn,
)
from ._people import PERSON_COLUMNS, named_places, profile_detail
from ._read import Column

__all__ = ["COLUMNS", "ETHNICITY_CODES", "REF", "SOURCE", "parse_row"]

SOURCE: Final = "fap"
REF: Final = "referral_id"

GENDERS: Final = ("F", "M", "X", "U")
YEAR_GROUPS: Final = ("R", *(str(i) for i in range(1, 14)))
#: DfE extended ethnicity codes (school census), main and minor groups.
ETHNICITY_CODES: Final = (
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
    "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)  # fmt: skip
FLAG_COLUMNS: Final = (
    "flag_cse",
    "flag_serious_youth_violence",
    "flag_gangs",
    "flag_harmful_sexual_behaviour",
    "flag_missing_education",
    "flag_childrens_social_care",
    "flag_domestic_abuse",
    "flag_sexual_bullying",
    "flag_missing_home",
)
NOTE_COLUMNS: Final = ("notes_neighbourhood", "notes_peer_group", "notes_school")

COLUMNS: Final = (
    Column("referral_id", "Unique referral id. Required.", "EXAMPLE-FAP-0001"),
    Column("referral_date", "Date of the referral: ISO date 'YYYY-MM-DD'.", "2025-01-15"),
    Column("school_urn", "DfE URN of the school, 6 digits (kept as text).", "136397"),
    Column("year_group", "R or 1-13.", "9", codes=YEAR_GROUPS),
    Column("gender", "F, M, X or U.", "M", codes=GENDERS),
    Column(
        "ethnicity", "DfE ethnicity code (e.g. WBRI, BCRB) or blank.", "BCRB", codes=ETHNICITY_CODES
    ),
    Column(
        "home_postcode",
        "Pupil's home postcode: the journey origin, never the incident location.",
        "N22 7AY",
    ),
    Column("ward", "Home ward: 2018 ward name or GSS code; optional.", "Bounds Green"),
    *(
        Column(
            c, f"{c[5:].replace('_', ' ')}: Y/N (yes/no, true/false, 1/0); blank = unknown.", "N"
        )
        for c in FLAG_COLUMNS
    ),
    Column(
        "notes_peer_group",
        "Free text about the peer group; places named here are kept as places named in "
        "referrals (not incidents).",
        "hangs around with older boys near Wood Green stn",
        text=True,
    ),
    Column(
        "notes_school", "Free text about school.", "fights at the gates after school", text=True
    ),
    Column(
        "notes_neighbourhood",
        "Free text about the neighbourhood; places named here are kept as places named in "
        "referrals (not incidents).",
        "robbed outside Bounds Green station",
        text=True,
    ),
    Column("school_response", "Free text: what the school did.", "Managed move agreed", text=True),
    *PERSON_COLUMNS,
)


def parse_row(row: Mapping[str, str], number: int, ctx: RowContext) -> Incident | Problem:
    """One FAP row to an Incident, or the reason to quarantine it."""
    ref = row_ref(row, number, REF, "every referral needs its id")
    if isinstance(ref, Problem):
        return ref
    day = row_date(row, number, "referral_date", ctx)
    if isinstance(day, Problem):
        return day
    urn = row_urn(row, number)
    if isinstance(urn, Problem):
        return urn
    checks = (
        ("year_group", YEAR_GROUPS, row["year_group"].strip().upper()),
        ("gender", GENDERS, row["gender"].strip().upper()),
        ("ethnicity", ETHNICITY_CODES, row["ethnicity"].strip().upper()),
    )
    for column, allowed, value in checks:
        if value and value not in allowed:
            return Problem(
                number,
                column,
                "value_out_of_list",
                f"`{column}` {row[column]!r} is not one of {', '.join(allowed)}.",
            )
    flags = flags_from(row, number, {c: c[5:] for c in FLAG_COLUMNS})
    if isinstance(flags, Problem):
        return flags
    profile = profile_detail(row, number, flags={c: c[5:] for c in FLAG_COLUMNS})
    if isinstance(profile, Problem):
        return profile
    geo = ctx.geocoder
    home = None
    postcode = row["home_postcode"].strip()
    if postcode:
        home = geo.from_postcode(postcode)
        problem = geocode_problem(home, number, "home_postcode")
        if problem is not None:
            return problem
    ward = row["ward"].strip()
    if ward:
        problem = geocode_problem(geo.from_ward(ward), number, "ward")
        if problem is not None:
            return problem
    places = named_places(geo, {c: row[c] for c in NOTE_COLUMNS})
    origin = None
    if home is not None and home.geometry is not None:
        origin = {"x": round(home.geometry.x, 1), "y": round(home.geometry.y, 1)}
    return make_incident(
        ctx,
        ref=ref,
        start=day,
        end=interval(day, "day"),
        time_precision="day",
        category="fap_referral",
        flags=flags,
        school_urn=urn,
        detail={
            "year_group": checks[0][2] or None,
            "gender": checks[1][2] or None,
            "ethnicity": checks[2][2] or None,
            "home_postcode": home.matched_text if home is not None else None,
            "journey_origin": origin,
            "ward": ward or None,
            "note_places": places,
            **{c: row[c] or None for c in (*NOTE_COLUMNS, "school_response")},
            **profile,
        },
    )

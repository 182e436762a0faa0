"""The generator's assumptions, in one place (see :mod:`geosafe.synth`)."""

from __future__ import annotations

from typing import Final

import numpy as np

COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "dir": (
        "dir_ref", "reported_at", "route", "direction", "operator", "stop_code", "latitude",
        "longitude", "cause_code", "youth_flag", "vulnerability_flag", "description", "person_ref",
        "person_role",
    ),
    "asif": (
        "asif_ref", "occurred_at", "route", "location_type", "stop_code", "station", "reporter",
        "category", "description", "person_ref", "person_role",
    ),
    "cris": (
        "crn", "offence_code", "offence", "committed_from", "committed_to", "address",
        "postcode", "easting", "northing", "victim_age", "suspect_age", "flags", "person_ref",
        "person_role",
    ),
    "fap": (
        "referral_id", "referral_date", "school_urn", "year_group", "gender", "ethnicity",
        "home_postcode", "ward", "flag_cse", "flag_serious_youth_violence", "flag_gangs",
        "flag_harmful_sexual_behaviour", "flag_missing_education", "flag_childrens_social_care",
        "flag_domestic_abuse", "flag_sexual_bullying", "flag_missing_home", "notes_peer_group",
        "notes_school", "notes_neighbourhood", "school_response", "person_ref", "person_role",
    ),
}  # fmt: skip

YEARLY_ROWS: Final = {"dir": 1200, "asif": 600, "cris": 900, "fap": 150}
#: Where incidents happen outside the school-run peaks...
PLACE_MIX: Final = {
    "school_stop": 0.20,
    "high_road": 0.25,
    "park": 0.15,
    "station": 0.10,
    "street": 0.30,
}
#: ...and inside them (pupils on their way to and from school).
PLACE_MIX_PEAK: Final = {
    "school_stop": 0.55,
    "high_road": 0.15,
    "park": 0.05,
    "station": 0.10,
    "street": 0.15,
}
#: Relative incidence by hour of day (00..23) outside the school-run peaks.
HOURLY_PROFILE: Final = np.array(
    [2, 1, 1, 0.5, 0.5, 0.5, 1, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8, 8, 8, 7, 6, 5, 4, 3], dtype=float
)
DIR_CAUSES: Final = (
    "ASB",
    "YOUTH_DISORDER",
    "MISSILE",
    "ASSAULT",
    "THREAT",
    "FARE_DISPUTE",
    "VANDALISM",
    "WEAPON_SEEN",
)
DIR_CAUSE_P: Final = (0.30, 0.22, 0.10, 0.08, 0.10, 0.10, 0.07, 0.03)
ASIF_CATEGORIES: Final = (
    "ASB_YOUTH",
    "ASB_VERBAL",
    "MISSILE",
    "SMOKING",
    "DRUGS",
    "VANDALISM",
    "FIGHT",
)
ASIF_CATEGORY_P: Final = (0.35, 0.20, 0.08, 0.12, 0.07, 0.10, 0.08)
#: (code, offence text, share, weapon flag rate, sexual)
CRIS_OFFENCES: Final = (
    ("ROBBERY_PERSONAL", "Robbery of personal property", 0.25, 0.30, False),
    ("THEFT_PERSON", "Theft from the person", 0.15, 0.0, False),
    ("ASSAULT_ABH", "Assault occasioning actual bodily harm", 0.15, 0.10, False),
    ("ASSAULT_COMMON", "Common assault", 0.15, 0.0, False),
    ("POSS_WEAPON", "Possession of a bladed article", 0.08, 1.0, False),
    ("SEXUAL_ASSAULT", "Sexual assault", 0.05, 0.0, True),
    ("CRIM_DAMAGE", "Criminal damage", 0.07, 0.0, False),
    ("DRUGS_POSS", "Possession of a controlled drug", 0.06, 0.0, False),
    ("PUBLIC_ORDER", "Public order offence", 0.04, 0.0, False),
)
ETHNICITIES: Final = {
    "WBRI": 0.22, "WOTH": 0.13, "BCRB": 0.10, "BAFR": 0.12, "BOTH": 0.04, "AIND": 0.03,
    "APKN": 0.02, "ABAN": 0.02, "AOTH": 0.03, "MWBC": 0.06, "MWBA": 0.02, "MOTH": 0.05,
    "CHNE": 0.01, "OOTH": 0.08, "": 0.07,
}  # fmt: skip
FAP_FLAG_RATES: Final = {
    "flag_cse": 0.10,
    "flag_serious_youth_violence": 0.30,
    "flag_gangs": 0.18,
    "flag_harmful_sexual_behaviour": 0.08,
    "flag_missing_education": 0.25,
    "flag_childrens_social_care": 0.40,
    "flag_domestic_abuse": 0.20,
    "flag_sexual_bullying": 0.07,
    "flag_missing_home": 0.12,
}
OPERATORS: Final = (
    "Arriva London",
    "Go-Ahead London",
    "Metroline",
    "First Bus London",
    "Stagecoach London",
)
DIRTY_SHARE: Final = 0.025
DEFAULT_END: Final = "2025-07"

_ABBREV: Final = (
    ("Road", "Rd"), ("Green", "Grn"), ("Station", "Stn"), ("Park", "Pk"), ("Lane", "Ln"),
    ("Avenue", "Ave"), ("Street", "St"), ("Gardens", "Gdns"),
)  # fmt: skip


NOTE_LANDMARKS: Final = {
    "Bounds Green Road": "street",
    "Green Lanes": "street",
    "Bowes Road": "street",
    "Myddleton Road": "street",
    "Wood Green High Road": "high_road",
    "Wood Green Station": "Wood Green Station",
    "Bounds Green Station": "Bounds Green Station",
    "Arnos Grove Station": "Arnos Grove Station",
    "Wood Green Shopping City": "Wood Green Shopping City",
    "the Mall": "Wood Green Shopping City",
    "Grovelands Park": "Grovelands Park",
    "Alexandra Palace": "Alexandra Palace",
    "Ally Pally": "Alexandra Palace",
    "Broomfield Park": "Broomfield Park",
}

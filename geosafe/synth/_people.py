"""Synthetic young people across the sources, and flags left blank as real forms leave them
(see :mod:`geosafe.synth`, "People" and "Blank flags").

Everything here is made up: a population of pseudonymous young people (``SYN-P-...``, the
shape of a partnership's keyed hash), each at one demo-area school and in one peer group, some
groups spanning several schools. Rows then name them the way each service would.
"""

from __future__ import annotations

import zlib
from typing import Any, Final

import numpy as np

__all__ = ["BLANK_FLAGS", "PEOPLE", "add_people"]

#: People assumptions (per 12 months; illustrative, not measured).
PEOPLE: Final[dict[str, Any]] = {
    # young people known to any service
    "population": 320,
    # peer groups: sizes drawn from 2..6; share of groups spanning 2-5 schools
    "group_sizes": (2, 3, 3, 4, 4, 5, 6),
    "cross_school_groups": 0.30,
    # share of referrals that re-refer a young person already referred at that school, and
    # share of those at another school after a managed move
    "repeat_referral": 0.15,
    "managed_move": 0.25,
    # share of CRIS victims who are not otherwise known (named on that one report only)
    "victim_unknown": 0.85,
    # share of rows naming people: DIR with youth_flag Y, CRIS with a victim or suspect under
    # 18, ASIF
    "dir_youth_named": 0.30,
    "cris_youth_named": 0.45,
    "asif_named": 0.08,
}

#: Blank-flag assumptions: the share of flag cells left blank (not recorded).
BLANK_FLAGS: Final[dict[str, Any]] = {
    # DIR, per operator: between these bounds (fixed by a hash of the operator's name);
    # vulnerability_flag is left blank 1.5 times as often
    "dir_operator": (0.05, 0.40),
    # FAP: half the schools record consistently, half do not, worst for the flags schools
    # are least sure of
    "fap_consistent": 0.03,
    "fap_inconsistent": 0.25,
    "fap_inconsistent_hard": 0.50,
    # CRIS: a report with no flag applying says "none" in 80% of cases; the rest are blank
    "cris_none_written": 0.80,
}

_HARD: Final = ("flag_harmful_sexual_behaviour", "flag_sexual_bullying", "flag_cse")


def _unit(text: str) -> float:
    """A stable number in [0, 1) from a name (CRC-32)."""
    return (zlib.crc32(text.encode("utf-8")) % 10_000) / 10_000


def _population(
    rng: np.random.Generator, schools: list[str], n: int
) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """Person refs, each person's school index, and peer groups (arrays of person indexes)."""
    refs = [f"SYN-P-{int(v):010x}" for v in rng.integers(0, 16**10, size=n)]
    school_of = rng.integers(len(schools), size=n)
    groups: list[np.ndarray] = []
    order = rng.permutation(n)
    i = 0
    while i < n:
        size = int(rng.choice(PEOPLE["group_sizes"]))
        members = order[i : i + size]
        i += size
        if len(members) < 2:
            break
        if rng.random() < PEOPLE["cross_school_groups"]:
            spread = rng.choice(
                len(schools), size=min(len(members), int(rng.integers(2, 6))), replace=False
            )
            school_of[members] = spread[np.arange(len(members)) % len(spread)]
        else:
            school_of[members] = school_of[members[0]]
        groups.append(np.asarray(members))
    return refs, school_of, groups


def add_people(
    rng: np.random.Generator, rows: dict[str, list[dict[str, str]]], schools: list[str], months: int
) -> None:
    """Give rows ``person_ref``/``person_role`` and blank some flags, in place."""
    n = max(20, round(PEOPLE["population"] * months / 12))
    refs, school_of, groups = _population(rng, schools, n)
    by_school = {s: np.flatnonzero(school_of == k) for k, s in enumerate(schools)}
    group_of = np.full(n, -1)
    for g, members in enumerate(groups):
        group_of[members] = g

    def some_group(k: int) -> list[int]:
        members = groups[int(rng.integers(len(groups)))]
        pick = rng.choice(members, size=min(k, len(members)), replace=False)
        return [int(p) for p in pick]

    for row in rows["dir"] + rows["asif"] + rows["cris"] + rows["fap"]:
        row.setdefault("person_ref", "")
        row.setdefault("person_role", "")
    referred: dict[str, list[int]] = {}
    for row in rows["fap"]:
        urn = row["school_urn"]
        pool = by_school.get(urn)
        seen = referred.setdefault(urn, [])
        others = [p for u, ps in referred.items() if u != urn for p in ps]
        if seen and rng.random() < PEOPLE["repeat_referral"]:
            person = int(rng.choice(seen))
            if others and rng.random() < PEOPLE["managed_move"]:
                person = int(rng.choice(others))  # moved here from another school
        elif pool is not None and len(pool):
            person = int(rng.choice(pool))
        else:
            continue
        seen.append(person)
        row["person_ref"], row["person_role"] = refs[person], "subject"
        quality = _unit(urn)
        for col in [c for c in row if c.startswith("flag_")]:
            rate = BLANK_FLAGS["fap_consistent"]
            if quality >= 0.5:
                rate = BLANK_FLAGS["fap_inconsistent_hard" if col in _HARD else "fap_inconsistent"]
            if rng.random() < rate:
                row[col] = ""
    for row in rows["dir"]:
        if row["youth_flag"] == "Y" and rng.random() < PEOPLE["dir_youth_named"]:
            people = some_group(int(rng.integers(1, 4)))
            row["person_ref"] = ";".join(refs[p] for p in people)
            row["person_role"] = "suspect"
        lo, hi = BLANK_FLAGS["dir_operator"]
        rate = lo + (hi - lo) * _unit(row["operator"])
        if rng.random() < rate:
            row["youth_flag"] = ""
        if rng.random() < min(1.0, 1.5 * rate):
            row["vulnerability_flag"] = ""
    for row in rows["cris"]:
        if "youth" in row["flags"].split(";") and rng.random() < PEOPLE["cris_youth_named"]:
            suspects = some_group(int(rng.integers(0, 3)))
            if rng.random() < PEOPLE["victim_unknown"]:
                victim = f"SYN-P-{int(rng.integers(0, 16**10)):010x}"
            else:
                victim = refs[int(rng.integers(n))]
            names = [victim, *[refs[p] for p in suspects if refs[p] != victim]]
            row["person_ref"] = ";".join(names)
            row["person_role"] = ";".join(["victim", *["suspect"] * (len(names) - 1)])
        if not row["flags"] and rng.random() < BLANK_FLAGS["cris_none_written"]:
            row["flags"] = "none"
    for row in rows["asif"]:
        if rng.random() < PEOPLE["asif_named"]:
            people = some_group(int(rng.integers(1, 3)))
            row["person_ref"] = ";".join(refs[p] for p in people)
            row["person_role"] = "subject"

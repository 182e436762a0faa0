"""What every per-row reader adds for the contextual profile: the people a row names
(``person_ref``, re-keyed at once, see :mod:`geosafe.profile.keys`) and the three states of
its flags (``Y``, ``N``, ``U`` for unknown/blank).

A reader calls :func:`profile_detail` once and merges the result into the incident's
``detail``; the store moves ``_people`` to its own table (``people_links``) and never keeps
the reference as given (:mod:`geosafe.profile.tables`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .._validate import Problem, parse_flag
from ._read import Column

__all__ = ["PERSON_COLUMNS", "ROLES", "named_places", "profile_detail"]

ROLES: Final = ("victim", "suspect", "subject", "witness")
_MAX_REF: Final = 128

#: The optional columns every import format accepts.
PERSON_COLUMNS: Final = (
    Column(
        "person_ref",
        "Optional. Pseudonymous reference(s) of the young people the row names, agreed by the "
        "partnership and made before export (e.g. a keyed hash of the UPN); several separated "
        "by ';'. Re-keyed with the person key (GEOSAFE_PERSON_KEY_FILE) on import: never "
        "stored as given.",
        "EXAMPLE-P-7f3a9c",
        optional=True,
        secret=True,
    ),
    Column(
        "person_role",
        "Optional. victim, suspect, subject or witness: one for all the row's people, or one "
        "per person_ref (';'-separated, same order); blank = not said.",
        "subject",
        codes=ROLES,
        optional=True,
    ),
)

_KEYS: dict[tuple[str | None, str | None], bytes] = {}


def _person_key() -> bytes:
    """The configured person key, read once per configuration (process-wide cache)."""
    env = (os.environ.get("GEOSAFE_PERSON_KEY_FILE"), os.environ.get("GEOSAFE_PERSON_KEY"))
    if env not in _KEYS:
        from ..profile.keys import load_person_key

        _KEYS.clear()
        _KEYS[env] = load_person_key()
    return _KEYS[env]


def _people(row: Mapping[str, str], number: int) -> list[list[str | None]] | Problem:
    refs = [r.strip() for r in row.get("person_ref", "").split(";")]
    roles_text = row.get("person_role", "").strip().lower()
    if not any(refs):
        if roles_text:
            return Problem(
                number,
                "person_role",
                "person_ref_invalid",
                "`person_role` is given but `person_ref` is blank; give the person_ref or clear "
                "the role.",
            )
        return []
    if not all(refs) or any(len(r) > _MAX_REF or any(c.isspace() for c in r) for r in refs):
        # never quote the value: it is a pseudonym that must not reach the quarantine
        return Problem(
            number,
            "person_ref",
            "person_ref_invalid",
            f"`person_ref` has an empty, over-long (>{_MAX_REF}) or space-holding item; give "
            "';'-separated references without spaces.",
        )
    roles: list[str | None] = [r.strip() or None for r in roles_text.split(";")]
    if len(roles) == 1:
        roles = roles * len(refs)
    if len(roles) != len(refs) or any(r is not None and r not in ROLES for r in roles):
        return Problem(
            number,
            "person_role",
            "person_ref_invalid",
            f"`person_role` {row.get('person_role', '')!r} must be one of {', '.join(ROLES)}, "
            f"once for all or once per person_ref ({len(refs)} given).",
        )
    from ..profile.keys import rekey

    key = _person_key()
    seen: dict[str, str | None] = {}
    for ref, role in zip(refs, roles, strict=True):
        seen.setdefault(rekey(ref, key), role)
    return [[k, r] for k, r in seen.items()]


def _flag_states(
    row: Mapping[str, str],
    number: int,
    columns: Mapping[str, str],
    listed: tuple[str, Sequence[str]] | None,
) -> dict[str, str] | Problem:
    states: dict[str, str] = {}
    for column, name in columns.items():
        value = parse_flag(row.get(column, ""), row=number, column=column)
        if isinstance(value, Problem):
            return value
        states[name] = "U" if value is None else ("Y" if value else "N")
    if listed is not None:
        column, names = listed
        text = row.get(column, "").strip().lower()
        items = {p.strip() for p in text.split(";") if p.strip()}
        for name in names:
            if not text:
                states[name] = "U"  # nothing recorded
            else:
                states[name] = "Y" if name in items else "N"
    return states


def profile_detail(
    row: Mapping[str, str],
    number: int,
    *,
    flags: Mapping[str, str] | None = None,
    listed: tuple[str, Sequence[str]] | None = None,
) -> dict[str, Any] | Problem:
    """The row's people (re-keyed) and flag states, as ``detail`` entries.

    Parameters
    ----------
    row
        The standard-named row.
    number
        Its 1-based data row number (for problems).
    flags
        Y/N flag columns to flag names (``{"youth_flag": "youth"}``).
    listed
        A ``;``-separated list column and its flag names (CRIS ``flags``): blank means every
        flag unknown, ``none`` or a list means the listed ones Y and the others N.

    Returns
    -------
    dict or Problem
        ``{"_people": [[key, role], ...], "flag_states": {flag: "Y"|"N"|"U"}}`` (keys only
        when there is something to keep), or why the row is quarantined.

    Raises
    ------
    ConfigurationError
        The row names people but no person key is configured (nothing is imported).
    """
    people = _people(row, number)
    if isinstance(people, Problem):
        return people
    states = _flag_states(row, number, flags or {}, listed)
    if isinstance(states, Problem):
        return states
    out: dict[str, Any] = {}
    if people:
        out["_people"] = people
    if states:
        out["flag_states"] = states
    return out


def named_places(geocoder: Any, notes: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every place the notes name (gazetteer hits, not negated), per note column, with the
    matched text and the place's point (EPSG:27700) and precision (metres)."""
    gazetteer = geocoder.gazetteer()
    out = []
    for column, text in notes.items():
        if not text or not text.strip():
            continue
        for m in gazetteer.places_in(text.strip()):
            p = m.place
            out.append(
                {
                    "column": column,
                    "matched_text": m.text,
                    "place": p.name,
                    "kind": p.kind,
                    "method": p.method,
                    "precision_m": float(p.precision_m),
                    "x": round(float(p.point.x), 1),
                    "y": round(float(p.point.y), 1),
                }
            )
    return out

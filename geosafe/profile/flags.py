"""How completely flags are recorded: Y, N and unknown (blank) counted apart, completeness by
month and by operator or school, flag co-occurrence, flag groups and contradictions for
review.

"Not recorded" (``unknown``) is never shown as 0: every count here keeps the three states.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from .data import ProfileData
from .tables import FLAGS_BY_SOURCE

__all__ = [
    "CONTRADICTION_PATTERNS",
    "STATES",
    "co_occurrence",
    "completeness",
    "contradictions",
    "flag_counts",
    "flag_groups",
]

#: The three states as stored (``U`` = unknown) and as shown.
STATES: Final = {"Y": "Y", "N": "N", "U": "unknown"}

#: Where a source keeps its operator or school, for completeness by who recorded it.
_WHO: Final = {"dir": "operator", "fap": "school_urn"}

#: Free-text phrases that suggest a flag (case-insensitive regular expressions). A match on a
#: record whose flag is N or unknown is listed for review; nothing is ever changed.
CONTRADICTION_PATTERNS: Final[dict[str, str]] = {
    "youth": r"\b(youths?|teenagers?|teens|school ?(kids|children|boys|girls)|pupils?|"
    r"young (people|person|lads?|men|boys|girls)|kids|in school uniform)\b",
    "vulnerability": r"\b(vulnerable|disabled|learning disabilit\w*|confused elderly)\b",
    "gang": r"\b(gangs?|postcode (war|rivalry|beef)|county lines|drill)\b",
    "gangs": r"\b(gangs?|postcode (war|rivalry|beef)|county lines|older (boys|males) "
    r"(from|in) the estate)\b",
    "weapon": r"\b(knife|knives|blade|machete|gun|firearm|stabb\w*|armed)\b",
    "sexual": r"\b(sexual\w*|groped|indecent\w*|upskirt\w*)\b",
    "cse": r"\b(exploit\w*|older (boyfriend|men|males)|gifts? from older|grooming|groomed)\b",
    "serious_youth_violence": r"\b(stabb\w*|knife|robbed|robbery|beaten up|jumped|"
    r"serious assault)\b",
    "harmful_sexual_behaviour": r"\b(harmful sexual|sexting|nudes|inappropriate touching|"
    r"sexualised behaviour)\b",
    "sexual_bullying": r"\b(sexual bullying|sexual comments|nudes shared|rating girls)\b",
    "missing_home": r"\b(missing from home|went missing|reported missing|missing episodes?)\b",
    "missing_education": r"\b(missing (from )?education|not attending|excluded|truant\w*)\b",
    "domestic": r"\b(domestic|partner assault|at home violence)\b",
    "domestic_abuse": r"\b(domestic (abuse|violence)|violence at home)\b",
}

#: The free-text fields read for contradictions, per source (``detail`` keys).
TEXT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "dir": ("description",),
    "cris": ("offence",),
    "fap": ("notes_peer_group", "notes_school", "notes_neighbourhood"),
}

_NEGATION: Final = re.compile(r"\b(no|not|never|without|nor)\s+(\w+\s+)?$", re.IGNORECASE)


def _states(data: ProfileData) -> pd.DataFrame:
    """Flag states joined to the record's month, source and operator/school."""
    inc = data.incidents
    who = []
    for src, detail, urn in zip(inc["source"], inc["detail"], inc["school_urn"], strict=True):
        key = _WHO.get(src)
        if key == "operator":
            who.append((detail or {}).get("operator"))
        elif key == "school_urn":
            who.append(urn)
        else:
            who.append(None)
    meta = pd.DataFrame(
        {
            "incident_id": inc["incident_id"].to_numpy(),
            "month": inc["occurred_from"].dt.strftime("%Y-%m").to_numpy(),
            "who": who,
        }
    )
    return data.flags.merge(meta, on="incident_id")


def flag_counts(data: ProfileData) -> dict[str, dict[str, dict[str, int]]]:
    """Per source and flag, records in each state: ``{"Y": n, "N": n, "unknown": n}``."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    st = data.flags
    for src in sorted(set(st["source"])):
        mine = st[st["source"] == src]
        table = mine.groupby(["flag", "state"]).size()
        order = FLAGS_BY_SOURCE.get(src, tuple(sorted(set(mine["flag"]))))
        out[src] = {
            f: {shown: int(table.get((f, s), 0)) for s, shown in STATES.items()}
            for f in order
            if f in set(mine["flag"])
        }
    return out


def completeness(data: ProfileData, *, by: str = "month") -> pd.DataFrame:
    """Y, N, unknown and the share recorded (Y or N) per source, flag and ``by``.

    Parameters
    ----------
    by
        ``month`` (YYYY-MM of the record) or ``who`` (DIR operator, FAP school URN; sources
        without one are left out).

    Returns
    -------
    pandas.DataFrame
        ``source``, ``flag``, ``by`` value (column named after ``by``), ``Y``, ``N``,
        ``unknown``, ``recorded_share`` (0-1).
    """
    if by not in ("month", "who"):
        msg = f"`by` {by!r} is not 'month' or 'who'."
        raise ValueError(msg)
    st = _states(data)
    if by == "who":
        st = st[st["who"].notna()]
    name = "month" if by == "month" else "operator_or_school"
    cols = ["source", "flag", name, "Y", "N", "unknown", "recorded_share"]
    if st.empty:
        return pd.DataFrame(columns=cols)
    wide = (
        st.groupby(["source", "flag", by, "state"]).size().unstack("state", fill_value=0)
    ).reindex(columns=list(STATES), fill_value=0)
    wide.columns = [STATES[c] for c in wide.columns]
    wide = wide.reset_index().rename(columns={by: name})
    total = wide[["Y", "N", "unknown"]].sum(axis=1)
    wide["recorded_share"] = ((wide["Y"] + wide["N"]) / total).round(3)
    return wide[cols]


def _y_sets(data: ProfileData) -> pd.DataFrame:
    """``incident_id`` -> set of its Y flags."""
    y = data.flags[data.flags["state"] == "Y"]
    return y.groupby("incident_id")["flag"].agg(frozenset).rename("flags").reset_index()


def co_occurrence(data: ProfileData, *, on: str = "records") -> pd.DataFrame:
    """How often two flags are Y together: on one record (``on="records"``) or on one person
    across all their records (``on="people"``). A square table (flag x flag); the diagonal is
    the flag's own count."""
    ys = _y_sets(data)
    sets: list[frozenset[str]]
    if on == "people":
        per: dict[str, set[str]] = {}
        joined = data.links.merge(ys, on="incident_id")
        for key, flags in zip(joined["person_key"], joined["flags"], strict=True):
            per.setdefault(str(key), set()).update(flags)
        sets = [frozenset(v) for v in per.values()]
    elif on == "records":
        sets = [frozenset(v) for v in ys["flags"]]
    else:
        msg = f"`on` {on!r} is not 'records' or 'people'."
        raise ValueError(msg)
    names = sorted({f for s in sets for f in s})
    idx = {f: i for i, f in enumerate(names)}
    m = np.zeros((len(names), len(names)), dtype=int)
    for s in sets:
        ii = [idx[f] for f in s]
        for a in ii:
            for b in ii:
                m[a, b] += 1
    return pd.DataFrame(m, index=pd.Index(names, name="flag"), columns=names)


@dataclass(frozen=True)
class GroupCount:
    """Records and people with any flag of a group."""

    name: str
    flags: tuple[str, ...]
    records: int
    of_records: int
    records_not_recorded: int
    people: int
    of_people: int

    def to_json(self) -> dict[str, Any]:
        """As printed by ``geosafe flags``."""
        return {
            "group": self.name,
            "flags": list(self.flags),
            "records": self.records,
            "of_records": self.of_records,
            "records_not_recorded": self.records_not_recorded,
            "people": self.people,
            "of_people": self.of_people,
        }


def flag_groups(data: ProfileData, groups: Mapping[str, Sequence[str]]) -> list[GroupCount]:
    """Records (and people) with any flag of each group Y.

    ``of_records`` counts the records that record at least one of the group's flags at all
    (sources without those flags are not in the denominator); ``records_not_recorded`` are
    those with no Y and at least one of the group's flags unknown: they may belong.
    """
    out = []
    st = data.flags
    for name, flags in groups.items():
        fl = tuple(f.lower().removeprefix("flag_") for f in flags)
        mine = st[st["flag"].isin(fl)]
        has_y = set(mine.loc[mine["state"] == "Y", "incident_id"])
        has_u = set(mine.loc[mine["state"] == "U", "incident_id"]) - has_y
        records = set(mine["incident_id"])
        people_all = data.links[data.links["incident_id"].isin(records)]
        people_y = data.links[data.links["incident_id"].isin(has_y)]
        out.append(
            GroupCount(
                name=name,
                flags=fl,
                records=len(has_y),
                of_records=len(records),
                records_not_recorded=len(has_u),
                people=int(people_y["person_key"].nunique()),
                of_people=int(people_all["person_key"].nunique()),
            )
        )
    return out


def contradictions(data: ProfileData) -> pd.DataFrame:
    """Records whose free text suggests a flag that is not set (N or unknown), with the
    matched phrase, for the analyst to review. Never changes the data.

    Returns
    -------
    pandas.DataFrame
        ``incident_id``, ``source``, ``flag``, ``state`` (N or unknown), ``field``,
        ``phrase``.
    """
    cols = ["incident_id", "source", "flag", "state", "field", "phrase"]
    st = data.flags[data.flags["state"] != "Y"]
    if st.empty:
        return pd.DataFrame(columns=cols)
    unset = st.groupby("incident_id")[["flag", "state"]].apply(
        lambda g: dict(zip(g["flag"], g["state"], strict=True))
    )
    compiled = {f: re.compile(p, re.IGNORECASE) for f, p in CONTRADICTION_PATTERNS.items()}
    rows = []
    inc = data.incidents[data.incidents["incident_id"].isin(unset.index)]
    for iid, src, detail in zip(inc["incident_id"], inc["source"], inc["detail"], strict=True):
        flags = unset[iid]
        for fld in TEXT_FIELDS.get(src, ()):
            text = (detail or {}).get(fld) or ""
            if not text:
                continue
            for flag, state in flags.items():
                rx = compiled.get(flag)
                if rx is None:
                    continue
                for m in rx.finditer(text):
                    if _NEGATION.search(text[: m.start()]):
                        continue  # "no youths involved"
                    rows.append((iid, src, flag, STATES[state], fld, m.group(0)))
                    break
    return pd.DataFrame(rows, columns=cols)

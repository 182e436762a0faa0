"""Rows of the four synthetic sources (DIR, ASIF, CRIS, FAP)."""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geocode import points
from ._params import (
    ASIF_CATEGORIES,
    ASIF_CATEGORY_P,
    CRIS_OFFENCES,
    DIR_CAUSE_P,
    DIR_CAUSES,
    ETHNICITIES,
    FAP_FLAG_RATES,
    HOURLY_PROFILE,
)
from ._world import _operator, _place, _stop_code, _World, _write_like


def _draw_times(
    rng: np.random.Generator, n: int, days: np.ndarray, school: np.ndarray, *, peaks: bool = True
) -> tuple[list[dt.datetime], np.ndarray]:
    """``n`` local timestamps and whether each is in a school-run peak."""
    w = np.where(school, 1.0, np.where(pd.DatetimeIndex(days).day_of_week < 5, 0.6, 0.5))
    idx = rng.choice(len(days), size=n, p=w / w.sum())
    in_peak = peaks & school[idx] & (rng.random(n) < 0.55)
    am = rng.random(n) < 0.40
    minute = np.where(
        am,
        8 * 60 + rng.integers(0, 60, n),
        15 * 60 + rng.integers(0, 150, n),
    )
    hour = rng.choice(24, size=n, p=HOURLY_PROFILE / HOURLY_PROFILE.sum())
    other = hour * 60 + rng.integers(0, 60, n)
    minutes = np.where(in_peak, minute, other)
    out = []
    for i in range(n):
        d = pd.Timestamp(days[idx[i]]).date()
        out.append(dt.datetime.combine(d, dt.time(int(minutes[i]) // 60, int(minutes[i]) % 60)))
    order = np.argsort(np.array(out, dtype="datetime64[m]"), kind="stable")
    return [out[i] for i in order], in_peak[order]


def _fmt(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


# -- the four sources -------------------------------------------------------------------

_DIR_TEXT: Final = {
    "ASB": ("Group of youths shouting and swearing at passengers", "Youths kicking seats on upper deck"),
    "YOUTH_DISORDER": ("Large group of school pupils pushing at doors", "Fight between pupils at the stop"),
    "MISSILE": ("Object thrown at the bus, window cracked", "Eggs thrown at the bus from the pavement"),
    "ASSAULT": ("Passenger assaulted by a group of teenagers", "Driver spat at by a youth"),
    "THREAT": ("Driver threatened after refusing entry", "Youth threatened another passenger with a phone grab"),
    "FARE_DISPUTE": ("Youths refused to tap in, abusive", "Dispute over Zip card, verbal abuse"),
    "VANDALISM": ("Graffiti tag on rear seats", "Seat cushion slashed on upper deck"),
    "WEAPON_SEEN": ("Passenger reported a youth showing a knife", "Possible blade seen in a bag"),
}  # fmt: skip


def _dir_rows(
    rng: np.random.Generator, world: _World, n: int, days: np.ndarray, school: np.ndarray
) -> list[dict[str, str]]:
    times, peak = _draw_times(rng, n, days, school)
    rows = []
    for k, (t, p) in enumerate(zip(times, peak, strict=True)):
        _kind, si, x, y = _place(rng, world, peak=bool(p))
        stop = world.stops[si if si is not None else 0]
        route, run = stop.routes[rng.integers(len(stop.routes))]
        has_stop, has_avl = rng.random() < 0.65, rng.random() < 0.70
        lon, lat = points.bng_to_lonlat([x], [y])
        cause = str(rng.choice(DIR_CAUSES, p=DIR_CAUSE_P))
        texts = _DIR_TEXT[cause]
        rows.append(
            {
                "dir_ref": f"SYN-DIR-{k + 1:06d}",
                "reported_at": _fmt(t),
                "route": route,
                "direction": str(run) if rng.random() < 0.9 else "",
                "operator": _operator(route),
                "stop_code": _stop_code(rng, stop) if has_stop else "",
                "latitude": f"{lat[0]:.6f}" if has_avl else "",
                "longitude": f"{lon[0]:.6f}" if has_avl else "",
                "cause_code": cause,
                "youth_flag": _yn(rng.random() < (0.60 if p else 0.25)),
                "vulnerability_flag": _yn(rng.random() < 0.06),
                "description": str(texts[rng.integers(len(texts))]) + " (synthetic)",
            }
        )
    return rows


_STATIONS: Final = (
    "Wood Green",
    "Bounds Green",
    "Arnos Grove",
    "Alexandra Palace",
    "Palmers Green",
    "New Southgate",
)


def _asif_rows(
    rng: np.random.Generator, world: _World, n: int, days: np.ndarray, school: np.ndarray
) -> list[dict[str, str]]:
    times, peak = _draw_times(rng, n, days, school)
    rows = []
    for k, (t, p) in enumerate(zip(times, peak, strict=True)):
        _kind, si, _x, _y = _place(rng, world, peak=bool(p))
        stop = world.stops[si if si is not None else 0]
        route, _run = stop.routes[rng.integers(len(stop.routes))]
        loc = str(rng.choice(["stop", "bus", "station"], p=[0.5, 0.3, 0.2]))
        station = ""
        if loc == "station":
            name = str(rng.choice(_STATIONS))
            station = _write_like(rng, name + (" Station" if rng.random() < 0.5 else ""))
        cat = str(rng.choice(ASIF_CATEGORIES, p=ASIF_CATEGORY_P))
        rows.append(
            {
                "asif_ref": f"SYN-ASIF-{k + 1:06d}",
                "occurred_at": _fmt(t),
                "route": route if loc != "station" else "",
                "location_type": loc,
                "stop_code": _stop_code(rng, stop) if loc == "stop" else "",
                "station": station,
                "reporter": "driver" if rng.random() < 0.7 else "controller",
                "category": cat,
                "description": f"{cat.replace('_', ' ').lower()} reported (synthetic)",
            }
        )
    return rows


def _cris_rows(
    rng: np.random.Generator, world: _World, n: int, days: np.ndarray, school: np.ndarray
) -> list[dict[str, str]]:
    times, peak = _draw_times(rng, n, days, school)
    street_tree = cKDTree(world.street_pts)
    shares = np.array([o[2] for o in CRIS_OFFENCES])
    rows = []
    for k, (t, p) in enumerate(zip(times, peak, strict=True)):
        _kind, _si, x, y = _place(rng, world, peak=bool(p))
        code, text, _share, weapon_rate, sexual = CRIS_OFFENCES[
            rng.choice(len(CRIS_OFFENCES), p=shares / shares.sum())
        ]
        young_victim = rng.random() < 0.60
        victim = int(rng.integers(11, 18)) if young_victim else int(rng.integers(18, 71))
        suspect = int(rng.integers(14, 20)) if rng.random() < 0.70 else None
        flags = []
        if young_victim or (suspect is not None and suspect < 18):
            flags.append("youth")
        for name, rate in (("gang", 0.08), ("domestic", 0.04), ("hate", 0.03), ("online", 0.04)):
            if rng.random() < rate:
                flags.append(name)
        if rng.random() < weapon_rate:
            flags.append("weapon")
        if sexual:
            flags.append("sexual")
        wide = rng.random() < 0.10
        until = t + dt.timedelta(
            minutes=int(rng.integers(60, 181) if wide else rng.integers(0, 31))
        )
        _d, j = street_tree.query([x, y])
        _d, pj = world.pc_tree.query([x, y])
        has_en = rng.random() < 0.85
        rows.append(
            {
                "crn": f"SYN-CRIS-{k + 1:06d}",
                "offence_code": code,
                "offence": text,
                "committed_from": _fmt(t),
                "committed_to": _fmt(until),
                "address": f"{world.street_names[int(j)]}, London",
                "postcode": str(world.postcodes["postcode"].iloc[int(pj)]),
                "easting": f"{x:.0f}" if has_en else "",
                "northing": f"{y:.0f}" if has_en else "",
                "victim_age": str(victim),
                "suspect_age": "" if suspect is None else str(suspect),
                "flags": ";".join(sorted(flags)),
            }
        )
    return rows


_POSITIVE: Final = (
    "Got jumped outside the chicken shop on {p}",
    "Seen with older boys at {p} after school",
    "Phone robbed near {p}",
    "Hangs around {p} in the evenings",
    "Was chased from {p} on the way home",
    "Fight at {p} filmed and shared on Snapchat",
    "Reports being followed along {p}",
    "Meets older males at {p}",
)
_NEGATED: Final = (
    "Not at {n}, was at {p} with friends",
    "Says he never goes near {n} any more; seen at {p} since",
    "Denies being at {n}. Was stopped by police on {p}",
)
_NO_PLACE: Final = (
    "No concerns raised about the neighbourhood",
    "Spends most evenings online; contact with older males on social media",
    "Family report no issues outside school",
    "Lives with grandmother, attends a youth club, no known concerns",
    "Known to be out late, whereabouts not known",
)
_PEER: Final = (
    "Associates with older peers from another school",
    "Friendship group changed in year 9",
    "Isolated, few friends in year group",
    "Peer group known to YOS",
    "Close friends excluded last year",
)
_SCHOOL_NOTES: Final = (
    "Three fixed-term exclusions this year",
    "Attendance below 80% since autumn",
    "Two managed moves already tried",
    "Good relationship with head of year",
    "Persistent disruption in lessons",
)
_RESPONSES: Final = (
    "Managed move agreed",
    "Alternative provision placement for 6 weeks",
    "Deferred pending more information",
    "Placed at another school",
    "Support plan with key worker",
)


def _fap_rows(
    rng: np.random.Generator,
    world: _World,
    n: int,
    days: np.ndarray,
    school: np.ndarray,
    wards: pd.Series,
) -> list[dict[str, str]]:
    sdays = days[school]
    idx = np.sort(rng.choice(len(sdays), size=n))
    lm_xy = np.array([(x, y) for _n, x, y in world.landmarks])
    rows = []
    for k, i in enumerate(idx):
        sch = world.schools.iloc[int(rng.integers(len(world.schools)))]
        sx, sy = sch.geometry.x, sch.geometry.y
        near_pc = world.pc_tree.query_ball_point([sx, sy], 2500)
        home = int(near_pc[rng.integers(len(near_pc))])
        # places near the school: streets and landmarks within 1.5 km
        d_st = np.hypot(world.street_pts[:, 0] - sx, world.street_pts[:, 1] - sy)
        st_names = sorted({world.street_names[j] for j in np.flatnonzero(d_st < 1500)})
        d_lm = np.hypot(lm_xy[:, 0] - sx, lm_xy[:, 1] - sy)
        lm_names = sorted({world.landmarks[j][0] for j in np.flatnonzero(d_lm < 1500)})
        known = [
            nm for nm, (lx, ly) in world.note_landmarks.items() if np.hypot(lx - sx, ly - sy) < 2500
        ]
        pool = known if known and rng.random() < 0.5 else st_names + lm_names
        u = rng.random()
        if u < 0.30 or not pool:
            hood = str(rng.choice(_NO_PLACE))
        else:
            p = _write_like(rng, str(rng.choice(pool)))
            if u < 0.30 + 0.15:
                neg = _write_like(rng, str(rng.choice(st_names + lm_names + known)))
                hood = str(rng.choice(_NEGATED)).format(n=neg, p=p)
            else:
                hood = str(rng.choice(_POSITIVE)).format(p=p)
        year = rng.choice([7, 8, 9, 10, 11, 12, 13], p=[0.10, 0.18, 0.25, 0.25, 0.16, 0.04, 0.02])
        eth = list(ETHNICITIES)
        row = {
            "referral_id": f"SYN-FAP-{k + 1:05d}",
            "referral_date": pd.Timestamp(sdays[i]).strftime("%Y-%m-%d"),
            "school_urn": str(sch["urn"]),
            "year_group": str(year),
            "gender": str(rng.choice(["M", "F", "X", "U"], p=[0.60, 0.38, 0.01, 0.01])),
            "ethnicity": str(
                rng.choice(eth, p=np.array(list(ETHNICITIES.values())) / sum(ETHNICITIES.values()))
            ),
            "home_postcode": str(world.postcodes["postcode"].iloc[home]),
            "ward": str(wards.iloc[home]) if isinstance(wards.iloc[home], str) else "",
        }
        for col, rate in FAP_FLAG_RATES.items():
            row[col] = _yn(rng.random() < rate)
        row["notes_peer_group"] = str(rng.choice(_PEER))
        row["notes_school"] = str(rng.choice(_SCHOOL_NOTES))
        row["notes_neighbourhood"] = hood
        row["school_response"] = str(rng.choice(_RESPONSES))
        rows.append(row)
    return rows

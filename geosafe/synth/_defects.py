"""Realistic defects for a small share of synthetic rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

import numpy as np

from ..geocode import points
from ._params import COLUMNS, DIRTY_SHARE
from ._world import _World

# -- dirty rows -------------------------------------------------------------------------

Defect = Callable[[np.random.Generator, dict[str, str], list[dict[str, str]], "_World"], None]


def _ddmm(col: str) -> Defect:
    def f(
        rng: np.random.Generator, row: dict[str, str], rows: list[dict[str, str]], w: _World
    ) -> None:
        ts = dt.datetime.strptime(
            row[col][:16], "%Y-%m-%d %H:%M" if len(row[col]) > 10 else "%Y-%m-%d"
        )
        row[col] = ts.strftime("%d/%m/%Y %H:%M" if len(row[col]) > 10 else "%d/%m/%Y")

    return f


def _impossible_date(col: str) -> Defect:
    def f(
        rng: np.random.Generator, row: dict[str, str], rows: list[dict[str, str]], w: _World
    ) -> None:
        row[col] = f"{row[col][:4]}-02-30{row[col][10:]}"

    return f


def _set(col: str, value: str) -> Defect:
    def f(
        rng: np.random.Generator, row: dict[str, str], rows: list[dict[str, str]], w: _World
    ) -> None:
        row[col] = value

    return f


def _latlon(mode: str) -> Defect:
    def f(
        rng: np.random.Generator, row: dict[str, str], rows: list[dict[str, str]], w: _World
    ) -> None:
        if not row["latitude"]:
            s = w.stops[int(rng.integers(len(w.stops)))]
            lon, lat = points.bng_to_lonlat([s.x], [s.y])
            row["latitude"], row["longitude"] = f"{lat[0]:.6f}", f"{lon[0]:.6f}"
        lat_s, lon_s = row["latitude"], row["longitude"]
        if mode == "swapped":
            row["latitude"], row["longitude"] = lon_s, lat_s
        elif mode == "bng":
            x, y = points.lonlat_to_bng([float(lon_s)], [float(lat_s)])
            row["latitude"], row["longitude"] = f"{y[0]:.0f}", f"{x[0]:.0f}"
        elif mode == "zero":
            row["latitude"], row["longitude"] = "0", "0"
        elif mode == "half":
            row["longitude"] = ""

    return f


def _en(mode: str) -> Defect:
    def f(
        rng: np.random.Generator, row: dict[str, str], rows: list[dict[str, str]], w: _World
    ) -> None:
        if not row["easting"]:
            row["easting"], row["northing"] = "530034", "191580"
        e, n = row["easting"], row["northing"]
        if mode == "swapped":
            row["easting"], row["northing"] = n, e
        elif mode == "latlon":
            lon, lat = points.bng_to_lonlat([float(e)], [float(n)])
            row["easting"], row["northing"] = f"{lon[0]:.5f}", f"{lat[0]:.5f}"
        elif mode == "zero":
            row["easting"], row["northing"] = "0", "0"

    return f


def _sms_stop(
    rng: np.random.Generator, row: dict[str, str], rows: list[dict[str, str]], w: _World
) -> None:
    row["stop_code"] = w.sms_codes[int(rng.integers(len(w.sms_codes)))]


def _ref_conflict(ref: str) -> Defect:
    """Reuse the ref of an earlier row (with other values): this row is the conflict."""

    def f(
        rng: np.random.Generator, row: dict[str, str], rows: list[dict[str, str]], w: _World
    ) -> None:
        idx = next(k for k, r in enumerate(rows) if r is row)
        other = rows[int(rng.integers(idx))] if idx > 0 else rows[1]
        row[ref] = other[ref]

    return f


#: Realistic defects per source: name -> mutation of one row.
DEFECTS: Final[dict[str, dict[str, Defect]]] = {
    "dir": {
        "swapped_latlon": _latlon("swapped"),
        "bng_in_latlon": _latlon("bng"),
        "zero_latlon": _latlon("zero"),
        "half_pair": _latlon("half"),
        "unknown_stop_code": _set("stop_code", "490099999Z"),
        "sms_stop_code": _sms_stop,
        "ddmm_date": _ddmm("reported_at"),
        "impossible_date": _impossible_date("reported_at"),
        "bad_flag": _set("youth_flag", "maybe"),
        "ref_conflict": _ref_conflict("dir_ref"),
    },
    "asif": {
        "ddmm_date": _ddmm("occurred_at"),
        "excel_serial_date": _set("occurred_at", "45678.6875"),
        "unknown_stop_code": _set("stop_code", "490099999Z"),
        "sms_stop_code": _sms_stop,
        "bad_location_type": _set("location_type", "tram"),
        "ref_conflict": _ref_conflict("asif_ref"),
    },
    "cris": {
        "swapped_en": _en("swapped"),
        "latlon_in_en": _en("latlon"),
        "zero_en": _en("zero"),
        "malformed_postcode": _set("postcode", "N22"),
        "unknown_postcode": _set("postcode", "N22 9ZZ"),
        "ddmm_date": _ddmm("committed_from"),
        "bad_flags": _set("flags", "youth;knife"),
        "ref_conflict": _ref_conflict("crn"),
    },
    "fap": {
        "malformed_postcode": _set("home_postcode", "N22 7A"),
        "unknown_postcode": _set("home_postcode", "N22 9ZZ"),
        "unknown_ward": _set("ward", "Wood Green"),
        "bad_year_group": _set("year_group", "14"),
        "bad_gender": _set("gender", "Q"),
        "ddmm_date": _ddmm("referral_date"),
        "bad_urn": _set("school_urn", "13753"),
        "bad_flag": _set("flag_gangs", "maybe"),
        "ref_conflict": _ref_conflict("referral_id"),
    },
}


def _dirty(
    rng: np.random.Generator, source: str, rows: list[dict[str, str]], world: _World
) -> list[tuple[int, str, str]]:
    """Apply defects to ~:data:`DIRTY_SHARE` of rows; returns (data row, ref, defect)."""
    n = max(1, round(DIRTY_SHARE * len(rows)))
    picks = np.sort(rng.choice(len(rows), size=min(n, len(rows)), replace=False))
    names = list(DEFECTS[source])
    ref = COLUMNS[source][0]
    out = []
    for k, i in enumerate(picks):
        name = names[(k + int(rng.integers(len(names)))) % len(names)]
        DEFECTS[source][name](rng, rows[int(i)], rows, world)
        out.append((int(i) + 1, rows[int(i)][ref], name))
    return out

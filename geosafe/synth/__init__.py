"""Realistic **synthetic** DIR, ASIF, CRIS and FAP files for the demo area.

The real records are confidential, so the demo and the tests run on these. Everything here
is made up except the places: real streets (OSM nodes of the bundled highway extract), real
bus stops with their real ATCO/LBSL codes and the real routes that serve them (TfL 2019
sequences), real parks, real schools (current URNs) and real postcodes (Code-Point Open).
Every ref starts with ``SYN-`` and the output directory gets a ``README-SYNTHETIC.md``.

Assumptions (illustrative, not measured; change them here, in one place):

Volumes per 12 months
    DIR 1,200, ASIF 600, CRIS 900, FAP 150 (:data:`YEARLY_ROWS`), scaled by ``months``.
Days
    A row's day is drawn with weight 1.0 on school days (:mod:`geosafe.calendar`: term time,
    not half-term, not a bank holiday), 0.6 on other weekdays and 0.5 at weekends. FAP
    referral dates are school days only.
Time of day
    On school days 55% of DIR/ASIF/CRIS rows fall in the school-run peaks: 40% of those in
    08:00-09:00 and 60% in 15:00-17:30 (uniform inside each). All other rows follow
    :data:`HOURLY_PROFILE` (quiet at night, rising through the afternoon into the evening).
    Timestamps are whole minutes, written ``YYYY-MM-DD HH:MM`` (local UK time).
Places (:data:`PLACE_MIX`, :data:`PLACE_MIX_PEAK`)
    Outside the peaks: 20% at bus stops within 400 m of a demo-area secondary school, 25%
    along Wood Green's High Road, 15% in or at the edge of the parks (Grovelands, Alexandra
    Palace, Broomfield), 10% at the Wood Green and Bounds Green station stops, 30% anywhere
    on the street network (a random OSM node of a named street in the demo area). In the
    school-run peaks: 55% at the school stops, 15% High Road, 5% parks, 10% stations, 15%
    anywhere. Points placed off a stop are jittered by up to 25 m (AVL and recording error).
DIR
    Route and direction are a real route serving the stop (run = direction). 65% of rows
    carry the stop code (70% ATCO, 30% LBSL) and, independently, 70% AVL coordinates (6
    decimals), so ~10% carry only the route (on a moving bus between stops: no stop, no
    position). Operators are assigned to
    routes by a fixed hash, not TfL's real contracts. Youth flag: 60% in the peaks, 25%
    otherwise; vulnerability 6%. Cause codes :data:`DIR_CAUSES`.
ASIF
    location_type 50% stop (stop code given), 30% bus (route only), 20% station (free-text
    station name, written variously: "Wood Green", "Bounds Grn stn"). Reporter 70% driver.
CRIS
    Offence mix :data:`CRIS_OFFENCES`; 85% of rows have easting/northing (whole metres), the
    rest only an address and the postcode nearest the point. committed_to is 0-30 minutes
    after committed_from (10%: up to 3 hours, an unwitnessed window). Victim ages 11-17 in
    60% of rows; flags follow the offence (weapon for weapon offences and 30% of robberies,
    sexual for sexual offences), youth when victim or suspect is under 18, gang 8%, domestic
    4%, hate 3%, online 4%.
FAP
    Schools: the demo-area secondary schools. Home postcode: a real N/EN postcode within
    2.5 km of the school; ward: its 2018 ward. Year groups 7-11 (few 12-13); gender M 60%,
    F 38%, X 1%, U 1%; ethnicity DfE codes by :data:`ETHNICITIES`. Flag rates
    :data:`FAP_FLAG_RATES`. Notes name places near the school the way people write them
    (abbreviations, lower case, a dropped or swapped letter, "the Mall"), 15% of mentions
    are negated ("not at X, was at Y"; "never goes near X") and 30% of notes name no place.
People (:data:`PEOPLE`, :mod:`geosafe.synth._people`)
    A made-up population of 320 young people per 12 months with pseudonymous ``person_ref``
    values (``SYN-P-`` and 10 hex digits, the shape of a partnership's keyed hash), each at
    one demo-area school and in one peer group of 2-6; 30% of groups span 2-5 schools. Every
    FAP referral names its pupil (role subject; 15% re-refer a pupil already referred, a
    quarter of those at another school after a managed move); 30% of DIR reports with
    youth_flag Y name 1-3 members of one peer group (suspect); 45% of CRIS reports flagged
    youth name a victim (85% otherwise unknown) and 0-2 suspects of one group; 8% of ASIF forms name
    1-2 people (subject). So the same young people recur across sources and schools.
Blank flags (:data:`BLANK_FLAGS`)
    Flags are left blank (not recorded) as real forms leave them: DIR per operator 5-40%
    (vulnerability 1.5 times as often); FAP half the schools 3%, the other half 25% (50% for
    CSE, harmful sexual behaviour and sexual bullying); a CRIS report with no flag applying
    says ``none`` in 80% of cases and is blank otherwise.
Dirty rows
    2.5% of rows per file (at least one) carry one realistic defect from :data:`DEFECTS`
    (swapped lat/lon, BNG in lat/lon, (0, 0), half a pair, unknown or SMS stop codes, dd/mm
    dates, impossible dates, malformed/unknown postcodes, year group 14, unknown ward, bad
    flags, a duplicate ref). ``dirty_rows.csv`` lists each one (file, data row, ref, defect).

Rolls
    ``rolls/<URN>.csv`` per demo-area school (``postcode,pupils``: the upload format of
    ``geosafe roll upload``): roll size 5 x the KS4 cohort capped at 1,200, homes real
    postcodes within 5 km drawn with distance decay ``exp(-d/800 m)`` (~80% within 2.5 km);
    see :mod:`geosafe.synth._rolls`.

Output is deterministic for a given ``seed``, ``months`` and ``end`` (default ``2025-07``,
so 12 months cover the school year 2024-25).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import calendar as school_calendar
from .. import datasets
from .._errors import ValidationError
from ._defects import DEFECTS, _dirty
from ._params import (
    ASIF_CATEGORIES,
    COLUMNS,
    CRIS_OFFENCES,
    DEFAULT_END,
    DIR_CAUSES,
    DIRTY_SHARE,
    ETHNICITIES,
    FAP_FLAG_RATES,
    HOURLY_PROFILE,
    NOTE_LANDMARKS,
    PLACE_MIX,
    PLACE_MIX_PEAK,
    YEARLY_ROWS,
)
from ._people import BLANK_FLAGS, PEOPLE, add_people
from ._rolls import synthetic_rolls, write_rolls
from ._rows import _asif_rows, _cris_rows, _dir_rows, _fap_rows
from ._world import _load_world

__all__ = [
    "ASIF_CATEGORIES",
    "BLANK_FLAGS",
    "COLUMNS",
    "CRIS_OFFENCES",
    "DEFAULT_END",
    "DEFECTS",
    "DIRTY_SHARE",
    "DIR_CAUSES",
    "ETHNICITIES",
    "FAP_FLAG_RATES",
    "HOURLY_PROFILE",
    "NOTE_LANDMARKS",
    "PEOPLE",
    "PLACE_MIX",
    "PLACE_MIX_PEAK",
    "YEARLY_ROWS",
    "SynthResult",
    "generate",
    "synthetic_rolls",
    "write_rolls",
    "write_synthetic",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynthResult:
    """What :func:`write_synthetic` wrote: file paths, rows per file, dirty rows per file."""

    out_dir: Path
    files: dict[str, Path]
    rows: dict[str, int]
    dirty: dict[str, int]
    seed: int
    start: dt.date
    end: dt.date
    #: The synthetic school rolls (``rolls/<URN>.csv``) by URN.
    rolls: dict[str, Path] = field(default_factory=dict)


def _month_range(months: int, end: str) -> tuple[dt.date, dt.date]:
    try:
        last = dt.datetime.strptime(end, "%Y-%m").date()
    except ValueError:
        msg = f"`end` {end!r} is not a month; write it as YYYY-MM, e.g. '2025-07'."
        raise ValidationError(msg) from None
    if months < 1 or months > 120:
        msg = f"`months` {months!r} must be between 1 and 120."
        raise ValidationError(msg)
    first_month = (last.year * 12 + last.month - 1) - (months - 1)
    start = dt.date(first_month // 12, first_month % 12 + 1, 1)
    nxt = last.year * 12 + last.month
    end_day = dt.date(nxt // 12, nxt % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end_day


# -- entry points -----------------------------------------------------------------------


def generate(
    *,
    seed: int,
    months: int = 12,
    end: str = DEFAULT_END,
    data_dir: Path | str | None = None,
    dirty: bool = True,
) -> tuple[dict[str, list[dict[str, str]]], dict[str, list[tuple[int, str, str]]]]:
    """Synthetic rows per source (``dir``, ``asif``, ``cris``, ``fap``) and their defects.

    Parameters
    ----------
    seed
        Seed of the random generator: the same seed, months and end give the same rows.
    months
        Number of months covered (1-120), ending with ``end``.
    end
        Last month covered, ``YYYY-MM``.
    data_dir
        Bundled data directory (default: the package's ``data/``).
    dirty
        Whether to add the ~2.5% realistically dirty rows.

    Returns
    -------
    tuple
        ``(rows, defects)``: rows per source as dicts keyed by :data:`COLUMNS`, and per source
        a list of ``(data row number (1-based), ref, defect name)``.
    """
    start, last = _month_range(months, end)
    ddir = Path(data_dir) if data_dir is not None else None
    world = _load_world(ddir)
    days = np.arange(np.datetime64(start, "D"), np.datetime64(last, "D") + 1)
    school = school_calendar.default_calendar().school_day_mask(days)
    if not school.any():
        msg = (
            f"no school days between {start} and {last}; pick an `end` inside the bundled calendar."
        )
        raise ValidationError(msg)
    wards = _postcode_wards(world.postcodes, ddir)
    rng = np.random.default_rng(seed)
    scale = months / 12.0
    n = {s: max(1, round(v * scale)) for s, v in YEARLY_ROWS.items()}
    rows = {
        "dir": _dir_rows(np.random.default_rng([seed, 1]), world, n["dir"], days, school),
        "asif": _asif_rows(np.random.default_rng([seed, 2]), world, n["asif"], days, school),
        "cris": _cris_rows(np.random.default_rng([seed, 3]), world, n["cris"], days, school),
        "fap": _fap_rows(np.random.default_rng([seed, 4]), world, n["fap"], days, school, wards),
    }
    schools = sorted({r["school_urn"] for r in rows["fap"]})
    add_people(np.random.default_rng([seed, 5]), rows, schools, months)
    defects: dict[str, list[tuple[int, str, str]]] = {s: [] for s in rows}
    if dirty:
        for s in rows:
            defects[s] = _dirty(rng, s, rows[s], world)
    return rows, defects


def _postcode_wards(pcs: pd.DataFrame, data_dir: Path | None) -> pd.Series:
    """2018 ward name of each postcode centroid (NaN outside London)."""
    import geopandas as gpd

    pts = gpd.GeoDataFrame(
        {"i": np.arange(len(pcs))},
        geometry=gpd.points_from_xy(pcs["easting"], pcs["northing"]),
        crs=27700,
    )
    wards = datasets.wards(data_dir)[["name", "geometry"]]
    joined = gpd.sjoin(pts, wards, how="left", predicate="within").drop_duplicates("i")
    return joined.set_index("i")["name"].reindex(np.arange(len(pcs))).reset_index(drop=True)


def write_synthetic(
    out_dir: Path | str,
    *,
    seed: int,
    months: int = 12,
    end: str = DEFAULT_END,
    data_dir: Path | str | None = None,
) -> SynthResult:
    """Write ``dir.csv``, ``asif.csv``, ``cris.csv``, ``fap.csv``, ``dirty_rows.csv``,
    ``rolls/<URN>.csv`` (a synthetic roll per demo-area school, :func:`write_rolls`) and
    ``README-SYNTHETIC.md`` into ``out_dir`` (created if needed). See :func:`generate`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, defects = generate(seed=seed, months=months, end=end, data_dir=data_dir)
    files = {}
    for source, recs in rows.items():
        path = out / f"{source}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(COLUMNS[source]), lineterminator="\n")
            w.writeheader()
            w.writerows(recs)
        files[source] = path
    with (out / "dirty_rows.csv").open("w", newline="", encoding="utf-8") as f:
        w2 = csv.writer(f, lineterminator="\n")
        w2.writerow(["file", "row", "ref", "defect"])
        for source, items in defects.items():
            for row, ref, name in items:
                w2.writerow([f"{source}.csv", row, ref, name])
    rolls = write_rolls(out, seed=seed, data_dir=data_dir)
    start, last = _month_range(months, end)
    _write_readme(out, seed=seed, start=start, end=last, rows=rows, defects=defects)
    log.info("wrote synthetic files to %s", out)
    return SynthResult(
        out_dir=out,
        files=files,
        rows={s: len(r) for s, r in rows.items()},
        dirty={s: len(d) for s, d in defects.items()},
        seed=seed,
        start=start,
        end=last,
        rolls=rolls,
    )


def _write_readme(
    out: Path,
    *,
    seed: int,
    start: dt.date,
    end: dt.date,
    rows: dict[str, list[dict[str, str]]],
    defects: dict[str, list[tuple[int, str, str]]],
) -> None:
    lines = [
        "# SYNTHETIC DATA - NOT REAL INCIDENTS",
        "",
        "Generated by `geosafe synth` (module `geosafe.synth`, whose docstring lists every",
        "assumption). No row describes a real event or person. Places are real (OSM streets,",
        "TfL stops and routes, parks, schools, Code-Point Open postcodes); everything else is",
        "made up. Every ref starts with `SYN-`; every person_ref (`SYN-P-...`) is a made-up",
        "pseudonym of a made-up young person. Blank flags are deliberate (not recorded).",
        "",
        f"- seed: {seed}",
        f"- period: {start} to {end}",
        "",
        "| file | rows | dirty rows |",
        "|---|---|---|",
    ]
    lines += [f"| {s}.csv | {len(r)} | {len(defects[s])} |" for s, r in rows.items()]
    lines += [
        "",
        "`dirty_rows.csv` lists the deliberately defective rows (file, data row, ref, defect).",
        "`rolls/<URN>.csv` are synthetic school rolls (home postcodes and pupil counts per",
        "demo-area school; real postcodes, made-up pupils).",
        "",
    ]
    (out / "README-SYNTHETIC.md").write_text("\n".join(lines), encoding="utf-8")

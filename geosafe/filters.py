"""Incident filters and time windows shared by every analysis and command.

An :class:`IncidentFilter` selects rows of an incident frame (``geosafe.incident.FRAME_COLUMNS``).
Options combine with AND; the values inside one option combine with OR (``--source dir
--source asif`` keeps both sources; ``--flag youth --flag gang`` keeps incidents with either
flag).

Time semantics
--------------
- ``from_date``/``to_date`` (inclusive) bound the local date of ``occurred_from``, as the store
  does with ``start``/``end``; a police.uk month counts on its first day.
- ``weekdays`` needs the day: rows with ``time_precision`` ``minute`` or ``day``.
- ``hours`` and the ``school-run``/time-of-day presets need the clock time: they select only
  rows with ``time_precision == "minute"`` (a police.uk month or a CRIS date never matches).
- Windows are local (Europe/London) times, start inclusive, end exclusive; a window may wrap
  midnight (``22:00-02:00``).
- The ``school-run`` preset is weekdays 07:30-09:30 and 14:45-18:00 on school days of the
  calendar in use (:mod:`geosafe.calendar`: term time, no half-terms, no bank holidays).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import calendar as school_calendar
from . import periods
from ._errors import ValidationError
from ._lazy import LazyModule
from .incident import FLAG_NAMES, SOURCES

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
else:  # the server checks a `preset` against PRESETS without them
    gpd = LazyModule("geopandas")
    pd = LazyModule("pandas")

__all__ = [
    "COARSE_TIME_REASONS",
    "EXCLUSION_REASONS",
    "PRESETS",
    "Exclusions",
    "IncidentFilter",
    "Preset",
    "add_filter_arguments",
    "date_arg",
    "filter_from_args",
    "parse_hours",
    "parse_weekdays",
]

_TZ = "Europe/London"
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Preset:
    """A named time window: weekdays, local-time windows, and whether term time is needed."""

    name: str
    description: str
    weekdays: tuple[int, ...] | None = None
    hours: tuple[tuple[dt.time, dt.time], ...] = ()
    school_days_only: bool = False


#: Named presets. Non-analyst roles pick one of these instead of free time windows.
PRESETS: dict[str, Preset] = {
    "school-run": Preset(
        "school-run",
        "weekdays 07:30-09:30 and 14:45-18:00 on school days (term time, no bank holidays)",
        weekdays=(0, 1, 2, 3, 4),
        hours=school_calendar.SCHOOL_RUN_WINDOWS,
        school_days_only=True,
    ),
    "all-day": Preset("all-day", "every incident, any time (no time filter)"),
    "after-school": Preset(
        "after-school",
        "weekdays 14:45-18:00 on school days",
        weekdays=(0, 1, 2, 3, 4),
        hours=((dt.time(14, 45), dt.time(18, 0)),),
        school_days_only=True,
    ),
    "evenings": Preset("evenings", "every day 18:00-22:00", hours=((dt.time(18), dt.time(22)),)),
    "night": Preset("night", "every day 22:00-06:00", hours=((dt.time(22), dt.time(6)),)),
    "weekends": Preset("weekends", "Saturdays and Sundays, any time", weekdays=(5, 6)),
}


def parse_weekdays(text: str) -> tuple[int, ...]:
    """Parse ``"mon-fri"``, ``"sat,sun"`` or ``"0,1,2"`` (Monday = 0) into weekday numbers."""
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        bounds = part.split("-")
        if len(bounds) > 2:
            raise ValidationError(_weekday_msg(text))
        nums = [_weekday(b, text) for b in bounds]
        if len(nums) == 1:
            out.add(nums[0])
        else:
            a, b = nums
            day = a
            while True:
                out.add(day)
                if day == b:
                    break
                day = (day + 1) % 7
    if not out:
        raise ValidationError(_weekday_msg(text))
    return tuple(sorted(out))


def _weekday_msg(text: str) -> str:
    return f"`--weekdays` {text!r} is not understood; write e.g. 'mon-fri', 'sat,sun' or '0,1,2'."


def _weekday(token: str, text: str) -> int:
    if token.isdigit() and int(token) < 7:
        return int(token)
    for i, name in enumerate(_DAY_NAMES):
        if token[:3] == name and len(token) >= 3:
            return i
    raise ValidationError(_weekday_msg(text))


_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_hours(text: str) -> tuple[dt.time, dt.time]:
    """Parse ``"HH:MM-HH:MM"`` (local time, end exclusive; ``24:00`` allowed as an end)."""
    m = _HOURS_RE.match(text)
    if m is None:
        msg = f"`--hours` {text!r} is not understood; write HH:MM-HH:MM, e.g. '15:00-17:30'."
        raise ValidationError(msg)
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        msg = f"`--hours` {text!r} has an impossible time; hours run 00:00 to 24:00."
        raise ValidationError(msg)
    end = dt.time(23, 59, 59, 999999) if h2 == 24 else dt.time(h2, m2)
    return dt.time(h1, m1), end


def _minutes(t: dt.time) -> float:
    return t.hour * 60 + t.minute + t.second / 60 + t.microsecond / 6e7


def _in_windows(local: pd.DatetimeIndex, windows: Sequence[tuple[dt.time, dt.time]]) -> np.ndarray:
    mins = np.asarray(local.hour * 60 + local.minute + local.second / 60, dtype=float)
    out = np.zeros(len(local), dtype=bool)
    for lo, hi in windows:
        a, b = _minutes(lo), _minutes(hi)
        if a <= b:
            out |= (mins >= a) & (mins < b)
        else:  # wraps midnight
            out |= (mins >= a) | (mins < b)
    return out


def _local(series: pd.Series) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(pd.to_datetime(series))
    if idx.tz is None:
        return idx
    return idx.tz_convert(_TZ).tz_localize(None)


def _norm_source(s: str) -> str:
    s = s.strip().lower().replace("-", "_")
    if s not in SOURCES:
        msg = f"`--source` {s!r} is unknown; use one of {', '.join(SOURCES)} (police-uk accepted)."
        raise ValidationError(msg)
    return s


def _norm_flag(f: str) -> str:
    f = f.strip().lower().replace("-", "_")
    if f.startswith("flag_"):
        f = f[5:]
    if f not in FLAG_NAMES:
        msg = f"`--flag` {f!r} is unknown; use one of {', '.join(FLAG_NAMES)}."
        raise ValidationError(msg)
    return f


#: Why a record is dropped: reason code -> what it means (plain language, for JSON and pages).
EXCLUSION_REASONS: dict[str, str] = {
    "source": "not one of the chosen sources",
    "category": "not one of the chosen categories",
    "flag": "carries none of the chosen flags",
    "no_time": "has no date",
    "before_from_date": "before the first date",
    "after_to_date": "after the last date",
    "time_too_coarse_for_weekdays": (
        "dated to the month only (day of the week unknown), so none can be placed in the "
        "weekday window"
    ),
    "outside_weekdays": "on a day of the week outside the window",
    "time_too_coarse_for_hours": (
        "dated to the day only (time of day unknown), so none can be placed in the time-of-day "
        "window"
    ),
    "outside_hours": "at a time of day outside the window",
    "not_school_day": "not on a school day (weekend, holiday or bank holiday)",
    "location_missing": "has no location",
    "location_too_coarse": "located less precisely than the analysis can use",
    "outside_study_area": "outside the study area",
}

#: Reasons that an "all times" fallback layer recovers.
COARSE_TIME_REASONS = ("time_too_coarse_for_weekdays", "time_too_coarse_for_hours")

#: Options that address each reason (for messages).
_FIXES: dict[str, str] = {
    "time_too_coarse_for_weekdays": (
        "pass `--coarse-times all-times` to map them in a separate 'all times' layer, or "
        "`--preset all-day` (no time window)"
    ),
    "time_too_coarse_for_hours": (
        "pass `--coarse-times all-times` to map them in a separate 'all times' layer, or "
        "`--preset all-day` (no time window)"
    ),
    "source": "check `--source`",
    "category": "check `--category`",
    "flag": "check `--flag`",
    "before_from_date": "check `--from-date`",
    "after_to_date": "check `--to-date`",
    "outside_weekdays": "check `--weekdays` or `--preset`",
    "outside_hours": "check `--hours` or `--preset`",
    "not_school_day": "use `--preset all-day` or another `--calendar`",
    "location_too_coarse": (
        "pass a larger `--bandwidth` (KDE), `--precision spread` (KDE) or `--precision ignore`"
    ),
    "outside_study_area": "check `--study-area` or `--boroughs`",
}


@dataclass(frozen=True)
class Exclusions:
    """How many records a filter (and then an analysis) dropped, and why.

    Attributes
    ----------
    read
        Records before filtering.
    kept
        Records left.
    by_reason
        Reason code (:data:`EXCLUSION_REASONS`) -> records dropped for it (each record once,
        under the first test it fails).
    by_source
        Reason code -> source -> records.
    window
        The time window in words (for messages), empty when none.
    """

    read: int
    kept: int
    by_reason: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    window: str = ""

    @property
    def total(self) -> int:
        """Records dropped, all reasons."""
        return sum(self.by_reason.values())

    def add(self, reason: str, count: int, by_source: dict[str, int] | None = None) -> Exclusions:
        """A copy with ``count`` more records dropped later (by an analysis) for ``reason``."""
        if count <= 0:
            return self
        if reason not in EXCLUSION_REASONS:
            msg = f"`reason` {reason!r} is unknown; use one of {', '.join(EXCLUSION_REASONS)}."
            raise ValidationError(msg)
        br = dict(self.by_reason)
        br[reason] = br.get(reason, 0) + int(count)
        bs = {k: dict(v) for k, v in self.by_source.items()}
        if by_source:
            cur = bs.setdefault(reason, {})
            for src, v in by_source.items():
                cur[src] = cur.get(src, 0) + int(v)
        return replace(self, kept=self.kept - int(count), by_reason=br, by_source=bs)

    def messages(self, *, fallback: bool = True) -> list[str]:
        """One sentence per reason: how many, from which sources, why, and what to do
        (``fallback``: offer the "all times" layer for records too coarse in time)."""
        out = []
        for reason, n in sorted(self.by_reason.items(), key=lambda kv: -kv[1]):
            srcs = self.by_source.get(reason, {})
            src_text = (
                " (" + ", ".join(f"{k} {v:,}" for k, v in sorted(srcs.items())) + ")"
                if srcs
                else ""
            )
            text = f"{n:,} record{'s' if n != 1 else ''}{src_text}: {EXCLUSION_REASONS[reason]}"
            if reason in COARSE_TIME_REASONS and self.window:
                text += f" of {self.window}"
            fix = _FIXES.get(reason)
            if fix and reason in COARSE_TIME_REASONS and not fallback:
                fix = "pass `--preset all-day` (no time window) or choose minute-timed sources"
            if fix:
                text += f"; {fix}"
            out.append(text + ".")
        return out

    def as_json(self, *, fallback: bool = True) -> dict[str, object]:
        """The counts for CLI JSON and API responses (the ``excluded`` object)."""
        return {
            "total": self.total,
            "read": self.read,
            "kept": self.kept,
            "by_reason": dict(self.by_reason),
            "by_source": {k: dict(v) for k, v in self.by_source.items()},
            "messages": self.messages(fallback=fallback),
        }

    def empty_message(self, what: str = "the analysis", *, fallback: bool = True) -> str:
        """Why nothing is left for ``what`` (an error text naming the reasons and options)."""
        if self.read == 0:
            return (
                f"no incidents were read for {what}; check the INPUT files, `--db`, "
                "`--source` and the dates."
            )
        return f"no incidents left for {what} after filtering {self.read:,}: " + " ".join(
            self.messages(fallback=fallback)
        )


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents an analysis uses. Every field ``None``/empty means "no restriction".

    Attributes
    ----------
    sources
        Source names (``dir``, ``asif``, ``cris``, ``fap``, ``police_uk``).
    categories
        Category codes or police.uk crime types, compared case-insensitively.
    flags
        Flag names; an incident needs at least one of them.
    from_date, to_date
        Inclusive local dates bounding ``occurred_from``.
    weekdays
        Monday = 0 .. Sunday = 6.
    hours
        Local-time windows ``(start, end)``, end exclusive, may wrap midnight.
    preset
        A key of :data:`PRESETS` (``"school-run"``...), combined with the other options (AND).
    calendar
        School calendar for presets needing term time (default: the bundled one or
        ``GEOSAFE_CALENDAR``).
    """

    sources: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    flags: tuple[str, ...] | None = None
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    weekdays: tuple[int, ...] | None = None
    hours: tuple[tuple[dt.time, dt.time], ...] | None = None
    preset: str | None = None
    calendar: school_calendar.SchoolCalendar | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.preset is not None and self.preset not in PRESETS:
            msg = f"`preset` {self.preset!r} is unknown; use one of {', '.join(PRESETS)}."
            raise ValidationError(msg)
        if self.sources is not None:
            object.__setattr__(self, "sources", tuple(_norm_source(s) for s in self.sources))
        if self.flags is not None:
            object.__setattr__(self, "flags", tuple(_norm_flag(f) for f in self.flags))
        if self.from_date and self.to_date and self.from_date > self.to_date:
            msg = (
                f"`from_date` {self.from_date.isoformat()!r} is after `to_date` "
                f"{self.to_date.isoformat()!r}; swap them."
            )
            raise ValidationError(msg)
        if self.weekdays is not None and any(not 0 <= d <= 6 for d in self.weekdays):
            msg = f"`weekdays` {self.weekdays!r} must be numbers 0 (Monday) to 6 (Sunday)."
            raise ValidationError(msg)

    @property
    def is_empty(self) -> bool:
        """Whether the filter keeps every row."""
        return not any(
            (
                self.sources,
                self.categories,
                self.flags,
                self.from_date,
                self.to_date,
                self.weekdays,
                self.hours,
                self.preset not in (None, "all-day"),
            )
        )

    def with_dates(self, from_date: dt.date | None, to_date: dt.date | None) -> IncidentFilter:
        """A copy with other date bounds."""
        return replace(self, from_date=from_date, to_date=to_date)

    def describe(self) -> dict[str, object]:
        """The filter as JSON-serialisable settings (for result metadata)."""
        return {
            "sources": list(self.sources) if self.sources else None,
            "categories": list(self.categories) if self.categories else None,
            "flags": list(self.flags) if self.flags else None,
            "from_date": self.from_date.isoformat() if self.from_date else None,
            "to_date": self.to_date.isoformat() if self.to_date else None,
            "weekdays": list(self.weekdays) if self.weekdays else None,
            "hours": [f"{a:%H:%M}-{b:%H:%M}" for a, b in self.hours] if self.hours else None,
            "preset": self.preset,
        }

    def mask(self, gdf: pd.DataFrame) -> np.ndarray:
        """Boolean array of the rows this filter keeps."""
        keep = np.ones(len(gdf), dtype=bool)
        for _reason, ok in self._steps(gdf):
            keep &= ok
        return keep

    def _steps(self, gdf: pd.DataFrame) -> Iterator[tuple[str, np.ndarray]]:
        """``(reason, rows that pass)`` for each test, in the order reasons are attributed."""
        n = len(gdf)
        if n == 0:
            return
        if self.sources:
            yield "source", gdf["source"].isin(self.sources).to_numpy()
        if self.categories:
            wanted = {c.strip().casefold() for c in self.categories}
            cats = gdf["category"].fillna("").astype(str).str.casefold()
            yield "category", cats.isin(wanted).to_numpy()
        if self.flags:
            wanted_flags = set(self.flags)
            yield (
                "flag",
                np.array([bool(wanted_flags.intersection(f or ())) for f in gdf["flags"]], bool),
            )
        need_time = bool(self.from_date or self.to_date or self.weekdays or self.hours)
        preset = PRESETS.get(self.preset) if self.preset else None
        need_time = need_time or bool(preset and (preset.weekdays or preset.hours))
        if not need_time:
            return
        local = _local(gdf["occurred_from"])
        valid = ~np.asarray(local.isna())
        yield "no_time", valid
        days = np.asarray(local.normalize().values.astype("datetime64[D]"))
        if self.from_date:
            yield "before_from_date", days >= np.datetime64(self.from_date, "D")
        if self.to_date:
            yield "after_to_date", days <= np.datetime64(self.to_date, "D")
        precision = gdf["time_precision"].astype(str).to_numpy()
        weekday = np.asarray(local.day_of_week)
        for wd in (self.weekdays, preset.weekdays if preset else None):
            if wd:
                yield "time_too_coarse_for_weekdays", np.isin(precision, ("minute", "day"))
                yield "outside_weekdays", np.isin(weekday, wd)
        for windows in (self.hours, preset.hours if preset else None):
            if windows:
                yield "time_too_coarse_for_hours", precision == "minute"
                yield "outside_hours", _in_windows(local, windows)
        if preset and preset.school_days_only:
            cal = self.calendar or school_calendar.default_calendar()
            sd = np.zeros(n, dtype=bool)
            sd[valid] = cal.school_day_mask(days[valid])
            yield "not_school_day", sd

    def exclusions(self, gdf: pd.DataFrame) -> Exclusions:
        """Why each row this filter drops is dropped: counts by reason and by source.

        A row counts once, under the first test it fails (sources, categories, flags, date,
        date bounds, weekday, time of day, school day, in that order).
        """
        n = len(gdf)
        first = self._first_failed(gdf)
        dropped = first != ""
        by_reason: dict[str, int] = {}
        by_source: dict[str, dict[str, int]] = {}
        srcs = gdf["source"].astype(str).to_numpy() if "source" in gdf.columns else np.full(n, "")
        if dropped.any():
            table = pd.crosstab(first[dropped], srcs[dropped])
            for code, row in table.iterrows():
                by_reason[str(code)] = int(row.sum())
                by_source[str(code)] = {str(k): int(v) for k, v in row.items() if v}
        return Exclusions(
            read=n,
            kept=n - int(dropped.sum()),
            by_reason=by_reason,
            by_source=by_source,
            window=self._window_text(),
        )

    def coarse_time_mask(self, gdf: pd.DataFrame) -> np.ndarray:
        """Rows dropped only because their time is too coarse for the weekday or time-of-day
        window (police.uk months, FAP dates): the rows of an "all times" fallback layer."""
        return np.isin(self._first_failed(gdf), COARSE_TIME_REASONS)

    def _first_failed(self, gdf: pd.DataFrame) -> np.ndarray:
        """The first test each row fails (``""`` for rows kept)."""
        first = np.full(len(gdf), "", dtype=object)
        for reason, ok in self._steps(gdf):
            first[(first == "") & ~np.asarray(ok, dtype=bool)] = reason
        return first

    def _window_text(self) -> str:
        parts = []
        if self.preset and self.preset != "all-day":
            parts.append(f"`--preset {self.preset}` ({PRESETS[self.preset].description})")
        if self.weekdays:
            parts.append("`--weekdays` " + ",".join(_DAY_NAMES[d] for d in self.weekdays))
        if self.hours:
            parts.append("`--hours` " + ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in self.hours))
        return " and ".join(parts)

    def apply(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The rows of ``gdf`` this filter keeps (same columns, index kept)."""
        if self.is_empty:
            return gdf
        return gdf[self.mask(gdf)]


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the shared filter options to a subcommand parser."""
    g = parser.add_argument_group("incident filters")
    g.add_argument(
        "--source",
        action="append",
        metavar="SOURCE",
        help="dir|asif|cris|fap|police-uk (repeatable or comma-separated)",
    )
    g.add_argument(
        "--category",
        action="append",
        metavar="CODE",
        help="category code or police.uk crime type (repeatable)",
    )
    g.add_argument(
        "--flag",
        action="append",
        metavar="FLAG",
        help="incident flag, e.g. youth, vulnerability, cse (repeatable; any matches)",
    )
    g.add_argument(
        "--from-date", type=date_arg, metavar="YYYY-MM-DD", help="first date (inclusive)"
    )
    g.add_argument("--to-date", type=date_arg, metavar="YYYY-MM-DD", help="last date (inclusive)")
    g.add_argument("--weekdays", metavar="DAYS", help="e.g. mon-fri or sat,sun")
    g.add_argument(
        "--hours",
        action="append",
        metavar="HH:MM-HH:MM",
        help="local-time window (repeatable); minute-precision incidents only",
    )
    g.add_argument("--preset", choices=sorted(PRESETS), help="named time window")
    g.add_argument(
        "--calendar",
        type=Path,
        metavar="FILE",
        help="school term CSV for --preset school-run (default: bundled typical London terms)",
    )


def date_arg(text: str) -> dt.date:
    """argparse type for ``YYYY-MM-DD`` dates (:func:`geosafe.periods.parse_date`)."""
    try:
        return periods.parse_date(text, name="date")
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _split(values: Sequence[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


def filter_from_args(args: argparse.Namespace) -> IncidentFilter:
    """Build an :class:`IncidentFilter` from options added by :func:`add_filter_arguments`."""
    cal_path = getattr(args, "calendar", None)
    cal = school_calendar.load_calendar(cal_path) if cal_path else None
    hours = getattr(args, "hours", None)
    weekdays = getattr(args, "weekdays", None)
    categories = getattr(args, "category", None)
    return IncidentFilter(
        sources=_split(getattr(args, "source", None)),
        categories=tuple(categories) if categories else None,
        flags=_split(getattr(args, "flag", None)),
        from_date=getattr(args, "from_date", None),
        to_date=getattr(args, "to_date", None),
        weekdays=parse_weekdays(weekdays) if weekdays else None,
        hours=tuple(parse_hours(h) for h in hours) if hours else None,
        preset=getattr(args, "preset", None),
        calendar=cal,
    )

"""The one parser of dates, instants, intervals and whole published periods.

Every date or time a user types (CLI options, API query parameters and bodies, filters, the
disclosure checks) goes through this module, so that one spelling means one window
everywhere. Local time is Europe/London.

Grammar (ASCII digits only: ``٩`` or ``𝟗`` are refused, not read as 9):

- a **date** ``YYYY-MM-DD`` (years 1900-2099);
- an **instant** a date, or ``YYYY-MM-DDTHH:MM[:SS[.fff]]`` with an optional ``Z`` or
  ``±HH:MM`` offset (none: Europe/London wall time); a date alone stands for that whole day;
- an **interval** ``start/end`` of two instants, either of which may be ``..`` (open);
- a **whole period** ``YYYY`` (year), ``YYYY-Qn`` (quarter) or ``YYYY-MM`` (month), or an
  interval covering exactly one of them (``2025-01-01/2025-03-31``,
  ``2025-03-01T00:00:00Z/2025-03-31T23:59:59Z``).

Compact (``20250630``), unpadded (``2025-6-30``) and relative (``yesterday``) spellings are
refused with a message saying what to write. A non-analyst's ``datetime`` is normalised to
exactly the whole period it names (:func:`published_period`), and the analysis uses that
period, never the text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

from ._errors import DisclosureError, ValidationError
from ._lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
else:  # the serving process parses a period only when a request gives one
    pd = LazyModule("pandas")

__all__ = [
    "DATE_RE",
    "INSTANT_RE",
    "LONDON",
    "MAX_DATE",
    "MIN_DATE",
    "Interval",
    "Period",
    "TimeError",
    "default_year",
    "localise",
    "parse_clock",
    "parse_date",
    "parse_instant",
    "parse_interval",
    "parse_local_datetime",
    "parse_month",
    "published_period",
    "whole_period",
]

LONDON: Final = "Europe/London"
#: Earliest and latest dates accepted anywhere (pandas cannot hold years past 2262).
MIN_DATE: Final = dt.date(1900, 1, 1)
MAX_DATE: Final = dt.date(2099, 12, 31)

_D: Final = "[0-9]"
#: The accepted spellings of a date and of an instant (ASCII digits only).
DATE_RE: Final = re.compile(rf"^(?P<y>{_D}{{4}})-(?P<m>{_D}{{2}})-(?P<d>{_D}{{2}})$")
INSTANT_RE: Final = re.compile(
    rf"^(?P<y>{_D}{{4}})-(?P<m>{_D}{{2}})-(?P<d>{_D}{{2}})"
    rf"(?:[Tt ](?P<H>{_D}{{2}}):(?P<M>{_D}{{2}})(?::(?P<S>{_D}{{2}})(?:\.(?P<f>{_D}{{1,9}}))?)?"
    rf"(?P<tz>[Zz]|[+-]{_D}{{2}}:?{_D}{{2}})?)?$"
)
_YEAR_RE: Final = re.compile(rf"^(?P<y>{_D}{{4}})$")
_QUARTER_RE: Final = re.compile(rf"^(?P<y>{_D}{{4}})-?[Qq](?P<q>[1-4])$")
_MONTH_RE: Final = re.compile(rf"^(?P<y>{_D}{{4}})-(?P<m>{_D}{{2}})$")
_CLOCK_RE: Final = re.compile(rf"^(?P<H>{_D}{{1,2}}):(?P<M>{_D}{{2}})$")

_INSTANT_HELP: Final = (
    "write a date 'YYYY-MM-DD' or an RFC 3339 date-time such as '2025-01-13T15:42:00Z'"
)
_INTERVAL_HELP: Final = (
    "write an instant ('2025-01-13' or '2025-01-13T15:42:00Z'), an interval "
    "('2025-01-01/2025-03-31', '2025-01-01/..', '../2025-03-31') or a whole month, quarter or "
    "year ('2025-03', '2025-Q1', '2025')"
)


class TimeError(ValidationError):
    """A date or time that cannot be read; ``code`` says why (``time_format``,
    ``time_impossible``, ``time_nonexistent``, ``time_ambiguous``, ``time_too_early``,
    ``time_too_late``), for callers that report row-level reasons (:mod:`geosafe._validate`)."""

    def __init__(self, message: str, code: str = "time_format") -> None:
        super().__init__(message)
        self.code = code


class Interval(NamedTuple):
    """A UTC interval; ``end`` is inclusive (the last nanosecond); ``None`` is open."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None

    def local_dates(self) -> tuple[dt.date | None, dt.date | None]:
        """The first and last Europe/London dates the interval touches."""
        lo = self.start.tz_convert(LONDON).date() if self.start is not None else None
        hi = self.end.tz_convert(LONDON).date() if self.end is not None else None
        return lo, hi


@dataclass(frozen=True, slots=True)
class Period:
    """A whole month, quarter or year: ``[start, end)`` in Europe/London.

    ``kind`` is ``month|quarter|year``; ``label`` its canonical spelling (``2025-03``,
    ``2025-Q1``, ``2025``).
    """

    start: pd.Timestamp
    end: pd.Timestamp
    kind: str
    label: str

    @property
    def first_day(self) -> dt.date:
        """The period's first local date."""
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        """The period's last local date (inclusive)."""
        return (self.end - pd.Timedelta(1, "ns")).date()

    @property
    def interval(self) -> Interval:
        """The period as a UTC :class:`Interval` (end inclusive)."""
        return Interval(
            self.start.tz_convert("UTC"), (self.end - pd.Timedelta(1, "ns")).tz_convert("UTC")
        )


# -- dates and instants -------------------------------------------------------------------
def _check_range(year: int, text: str, name: str) -> None:
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        msg = (
            f"`{name}` {text!r} is outside the years {MIN_DATE.year}-{MAX_DATE.year} this "
            "service handles; check the year."
        )
        raise TimeError(msg, "time_too_early" if year < MIN_DATE.year else "time_too_late")


def _real_date(y: str, m: str, d: str, text: str, name: str) -> dt.date:
    _check_range(int(y), text, name)
    try:
        day = dt.date(int(y), int(m), int(d))
    except ValueError:
        msg = f"`{name}` {text!r} is not a real date (month 01-12, day within the month)."
        raise TimeError(msg, "time_impossible") from None
    return day


def parse_date(text: str, *, name: str = "date") -> dt.date:
    """A calendar date written ``YYYY-MM-DD`` (ASCII digits, years 1900-2099).

    Raises
    ------
    ValidationError
        Naming ``name``, the value and the form to write.
    """
    raw = text.strip() if isinstance(text, str) else text
    m = DATE_RE.match(raw) if isinstance(raw, str) else None
    if m is None:
        msg = f"`{name}` {text!r} is not a date; write it as YYYY-MM-DD, e.g. '2025-01-13'."
        raise ValidationError(msg)
    return _real_date(m["y"], m["m"], m["d"], text, name)


def parse_clock(text: str, *, name: str = "time") -> dt.time:
    """A local time of day ``HH:MM`` (24-hour)."""
    m = _CLOCK_RE.match(text.strip()) if isinstance(text, str) else None
    try:
        if m is None:
            raise ValueError
        return dt.time(int(m["H"]), int(m["M"]))
    except ValueError:
        msg = f"`{name}` {text!r} is not a time; write HH:MM (24-hour), e.g. '08:45'."
        raise ValidationError(msg) from None


def localise(naive: dt.datetime, text: str, name: str) -> pd.Timestamp:
    """Europe/London wall time to an instant, refusing times skipped or repeated by DST
    (:class:`TimeError` ``time_nonexistent`` / ``time_ambiguous``)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(LONDON)
    early = naive.replace(tzinfo=zone, fold=0)
    late = naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        back = early.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        if back != naive:
            msg = (
                f"`{name}` {text!r} does not exist in Europe/London (clocks went forward); "
                "give the time with an offset (e.g. '+00:00') or correct it."
            )
            raise TimeError(msg, "time_nonexistent")
        msg = (
            f"`{name}` {text!r} happened twice in Europe/London (clocks went back); "
            "add an offset ('+01:00' for the first, '+00:00' for the second)."
        )
        raise TimeError(msg, "time_ambiguous")
    return pd.Timestamp(early)


def parse_local_datetime(text: str, *, name: str = "datetime") -> tuple[pd.Timestamp, str]:
    """An instant as ``(Europe/London timestamp, precision)``; ``precision`` is ``"day"``
    for a date alone (its midnight) and ``"minute"`` otherwise.

    Raises
    ------
    ValidationError
        For any other spelling, an impossible date or time, a year outside 1900-2099, or a
        local time skipped or repeated by a clock change.
    """
    raw = text.strip() if isinstance(text, str) else ""
    m = INSTANT_RE.match(raw)
    if m is None:
        msg = f"`{name}` {text!r} is not a date or date-time; {_INSTANT_HELP}."
        raise TimeError(msg, "time_format")
    day = _real_date(m["y"], m["m"], m["d"], text, name)
    try:
        naive = dt.datetime.combine(
            day,
            dt.time(
                int(m["H"] or 0),
                int(m["M"] or 0),
                int(m["S"] or 0),
                int((m["f"] or "0")[:6].ljust(6, "0")),
            ),
        )
    except ValueError:
        msg = f"`{name}` {text!r} is not a real time of day (hours 00-23, minutes 00-59)."
        raise TimeError(msg, "time_impossible") from None
    precision = "minute" if m["H"] is not None else "day"
    tz = m["tz"]
    if tz:
        if tz in ("Z", "z"):
            offset = dt.timedelta(0)
        else:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:])
            if hours > 23 or minutes > 59:
                msg = f"`{name}` {text!r} has an impossible UTC offset {tz!r}."
                raise TimeError(msg, "time_impossible")
            offset = sign * dt.timedelta(hours=hours, minutes=minutes)
        aware = naive.replace(tzinfo=dt.timezone(offset))
        return pd.Timestamp(aware).tz_convert(LONDON), precision
    return localise(naive, text, name), precision


def parse_instant(text: str, *, name: str = "datetime", end: bool = False) -> pd.Timestamp:
    """An instant in UTC. A date alone is that day's first instant, or its last (``end``)."""
    ts, precision = parse_local_datetime(text, name=name)
    if precision == "day" and end:
        ts = (ts + pd.DateOffset(days=1)).tz_localize(None).tz_localize(LONDON) - pd.Timedelta(
            1, "ns"
        )
    return ts.tz_convert("UTC")


def parse_month(text: str, *, name: str = "month") -> Period:
    """A calendar month written ``YYYY-MM`` (the whole local month)."""
    raw = text.strip() if isinstance(text, str) else ""
    found = _named_period(raw, name) if _MONTH_RE.match(raw) else None
    if found is None:
        msg = f"`{name}` {text!r} is not a month; write YYYY-MM, e.g. '2023-01'."
        raise ValidationError(msg)
    return found


# -- periods ------------------------------------------------------------------------------
def _period(year: int, month: int, months: int, kind: str, label: str) -> Period:
    start = pd.Timestamp(year=year, month=month, day=1, tz=LONDON)
    return Period(start, start + pd.DateOffset(months=months), kind, label)


def _named_period(raw: str, name: str) -> Period | None:
    """``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``; ``None`` when not of those shapes."""
    if m := _YEAR_RE.match(raw):
        year = int(m["y"])
        _check_range(year, raw, name)
        return _period(year, 1, 12, "year", m["y"])
    if m := _QUARTER_RE.match(raw):
        year, q = int(m["y"]), int(m["q"])
        _check_range(year, raw, name)
        return _period(year, 3 * q - 2, 3, "quarter", f"{m['y']}-Q{q}")
    if m := _MONTH_RE.match(raw):
        month = int(m["m"])
        _check_range(int(m["y"]), raw, name)
        if not 1 <= month <= 12:
            msg = f"`{name}` {raw!r} is not a real month; write YYYY-MM with a month 01-12."
            raise ValidationError(msg)
        return _period(int(m["y"]), month, 1, "month", raw)
    return None


def _covering(start: pd.Timestamp, end: pd.Timestamp) -> Period | None:
    """The month, quarter or year ``[start, end)`` (local) is exactly, or ``None``."""
    if start != start.normalize() or start.day != 1:
        return None
    for months, kind in ((1, "month"), (3, "quarter"), (12, "year")):
        if kind == "quarter" and start.month not in (1, 4, 7, 10):
            continue
        if kind == "year" and start.month != 1:
            continue
        if start + pd.DateOffset(months=months) == end:
            label = {
                "month": f"{start:%Y-%m}",
                "quarter": f"{start.year}-Q{(start.month - 1) // 3 + 1}",
                "year": f"{start.year}",
            }[kind]
            return Period(start, end, kind, label)
    return None


def _interval_period(a: str, b: str, name: str) -> Period | None:
    """An interval spelling exactly one whole period, read in Europe/London; a UTC (``Z``)
    spelling is also read by its wall-clock (``2025-03-01T00:00:00Z/2025-03-31T23:59:59Z``
    is March)."""
    start, _ = parse_local_datetime(a, name=name)
    end, end_precision = parse_local_datetime(b, name=name)
    readings = [(start, end)]
    if a.strip()[-1:] in "Zz" and b.strip()[-1:] in "Zz":
        wall = [pd.Timestamp(t.tz_convert("UTC").tz_localize(None)) for t in (start, end)]
        with contextlib.suppress(ValueError, TypeError):  # a wall time DST skips or repeats
            readings.append((wall[0].tz_localize(LONDON), wall[1].tz_localize(LONDON)))
    for lo, hi in readings:
        hi = hi.tz_convert("UTC").floor("s").tz_convert(LONDON)
        if end_precision == "day" or (hi.hour, hi.minute, hi.second) == (23, 59, 59):
            hi = (hi.tz_localize(None).normalize() + pd.Timedelta(days=1)).tz_localize(LONDON)
        found = _covering(lo, hi)
        if found is not None:
            return found
    return None


def whole_period(text: str, *, name: str = "datetime") -> Period | None:
    """The whole month, quarter or year ``text`` names, or ``None`` when it names none
    (an instant, an open or partial interval).

    Raises
    ------
    ValidationError
        When ``text`` is not a valid spelling at all (see :func:`parse_interval`).
    """
    raw = text.strip() if isinstance(text, str) else ""
    found = _named_period(raw, name)
    if found is not None:
        return found
    if raw.count("/") == 1:
        a, b = raw.split("/")
        if ".." in (a.strip(), b.strip()):
            parse_interval(raw, name=name)  # validates the spelling
            return None
        return _interval_period(a, b, name)
    parse_interval(raw, name=name)
    return None


def published_period(
    text: str, *, now: pd.Timestamp | None = None, name: str = "datetime"
) -> Period:
    """The whole, finished period a non-analyst's ``datetime`` names: the window the
    analysis then uses, whatever the spelling.

    Raises
    ------
    DisclosureError
        For open intervals, instants, partial or unfinished periods and anything that is not
        a valid spelling.
    """
    now = now if now is not None else pd.Timestamp.now(tz=LONDON)
    try:
        found = whole_period(text, name=name)
    except ValidationError:
        found = None
    if found is None:
        msg = (
            f"`{name}` {text!r} is not a whole published period; for this role send a "
            "month ('2025-03'), a quarter ('2025-Q1'), a year ('2025') or the exact interval "
            "of one ('2025-03-01/2025-03-31')."
        )
        raise DisclosureError(msg)
    if found.end > now:
        msg = (
            f"`{name}` {text!r} names a {found.kind} that has not ended; pick a finished "
            f"{found.kind}."
        )
        raise DisclosureError(msg)
    return found


def default_year(latest: dt.date, *, whole_months: bool) -> tuple[dt.date, dt.date]:
    """The period analysed when none is asked for, ending with the latest record's local
    date ``latest``: its 365 days (first and last dates, inclusive), or with
    ``whole_months`` (the latest records are month-dated, as police.uk's are: every record
    on the 1st of its month) the twelve whole months ending with ``latest``'s month.

    Examples
    --------
    >>> default_year(dt.date(2018, 3, 1), whole_months=True)
    (datetime.date(2017, 4, 1), datetime.date(2018, 3, 31))
    >>> default_year(dt.date(2025, 7, 31), whole_months=False)
    (datetime.date(2024, 8, 1), datetime.date(2025, 7, 31))
    """
    if not whole_months:
        return latest - dt.timedelta(days=364), latest
    months = latest.year * 12 + latest.month - 1 - 11
    first = dt.date(months // 12, months % 12 + 1, 1)
    last = _period(latest.year, latest.month, 1, "month", "").last_day
    return first, last


# -- intervals ----------------------------------------------------------------------------
def parse_interval(text: str | None, *, name: str = "datetime") -> Interval | None:
    """An OGC ``datetime``: an instant, ``start/end`` (``..`` open) or a whole period, as a
    UTC :class:`Interval`; ``None`` for ``None``, ``''``, ``..`` and ``../..``.

    A date alone means that whole day; ``2025``, ``2025-Q1``, ``2025-03`` that whole year,
    quarter or month (Europe/London).

    Raises
    ------
    ValidationError
        Naming the value and the spellings accepted.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        msg = f"`{name}` {text!r} is not text; {_INTERVAL_HELP}."
        raise ValidationError(msg)
    raw = text.strip()
    if raw in ("", ".."):
        return None
    period = _named_period(raw, name)
    if period is not None:
        return period.interval
    if raw.count("/") > 1:
        msg = f"`{name}` {text!r} has more than one '/'; {_INTERVAL_HELP}."
        raise ValidationError(msg)
    if "/" in raw:
        a, _, b = (p.strip() for p in raw.partition("/"))
        lo = None if a in ("", "..") else parse_instant(a, name=name)
        hi = None if b in ("", "..") else parse_instant(b, name=name, end=True)
        if lo is not None and hi is not None and lo > hi:
            msg = f"`{name}` {text!r} ends before it starts; swap the two instants."
            raise ValidationError(msg)
        if lo is None and hi is None:
            return None
        return Interval(lo, hi)
    return Interval(parse_instant(raw, name=name), parse_instant(raw, name=name, end=True))

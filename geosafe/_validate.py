"""Row checks shared by every import reader: one place for validation at the boundary.

Every check returns a value or a :class:`Problem` (a reason to quarantine the row) and never
raises for bad *data*; only a bad *parameter* raises :class:`~geosafe._errors.ValidationError`.
Each problem carries a stable ``reason_code`` from :data:`REASON_CODES`, the 1-based data row
number (header excluded), the column(s) and a human-readable reason that names the value and
says how to fix it.

Timestamps are ISO 8601 local UK time (``2025-01-13 15:42``, ``2025-01-13T15:42:00``) or the
one explicit format a deployment declares for a source; nothing else is ever guessed (no
dd/mm vs mm/dd heuristics). Local times are localised to ``Europe/London``: a time that does not
exist (the spring-forward hour) or is ambiguous (the fall-back hour) is quarantined rather than
silently shifted.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

from . import periods

__all__ = [
    "CSV_INJECTION_PREFIXES",
    "LONDON",
    "REASON_CODES",
    "Problem",
    "check_code",
    "check_text",
    "csv_escape",
    "encoding_problem",
    "parse_date",
    "parse_flag",
    "parse_int_in",
    "parse_timestamp",
]

LONDON: Final = "Europe/London"
_ZONE: Final = zoneinfo.ZoneInfo(LONDON)

#: Every reason a row can be quarantined for, with what it means (stable codes: scripts rely on
#: them). Coordinate, postcode, stop and ward codes come from :mod:`geosafe.geocode`.
REASON_CODES: Final[dict[str, str]] = {
    "coord_not_number": "a coordinate is not a number",
    "coord_half_pair": "only one of a coordinate pair is given",
    "coord_zero": "the coordinates are (0, 0)",
    "coord_impossible": "a latitude/longitude or easting/northing outside its possible range",
    "coord_bng_as_latlon": "British National Grid metres given in the latitude/longitude columns",
    "coord_latlon_as_bng": "WGS84 degrees given in the easting/northing columns",
    "coord_swapped": "latitude and longitude are swapped",
    "coord_outside_aoi": "the point lies outside the area of interest",
    "postcode_malformed": "the postcode is not a valid UK postcode shape",
    "postcode_unknown": "the postcode is not in the Code-Point Open list",
    "stop_code_unknown": "the bus stop code is not a known NaPTAN ATCO or TfL LBSL code",
    "stop_code_sms": "a 5-digit SMS stop code was given; use the ATCO or LBSL code",
    "ward_unknown": "the ward name or code is not a 2018 London ward",
    "time_missing": "a required timestamp or date is blank",
    "time_format": "a timestamp/date is not ISO 8601 nor the source's declared format",
    "time_impossible": "a date or time that cannot exist (e.g. 2025-02-30, 25:00)",
    "time_excel_serial": "an Excel serial day number was given instead of a date",
    "time_future": "a date in the future",
    "time_before_2000": "a date before 2000-01-01",
    "time_nonexistent": "a local time skipped by the spring clock change (Europe/London)",
    "time_ambiguous": "a local time repeated by the autumn clock change (Europe/London)",
    "time_order": "the end of an interval is before its start",
    "encoding_invalid": "bytes that are not valid in the file's declared encoding",
    "row_field_count": "the row has more or fewer fields than the header",
    "text_too_long": "a free-text field is longer than the configured maximum",
    "text_control_chars": "a field holds control characters (other than newline or tab)",
    "flag_unknown": "a flag value other than Y/N, yes/no, true/false, 1/0 or blank",
    "value_out_of_list": "a value outside the column's declared code list",
    "value_impossible": "a number outside its possible range (e.g. an age of 250)",
    "urn_malformed": "a school URN that is not 6 digits",
    "ref_missing": "the row has no reference (dir_ref, asif_ref, crn, referral_id)",
    "ref_duplicate": "the same reference with identical values was already imported or read",
    "ref_conflict": "the same reference with different values was already imported or read",
    "duplicate_row": "a police.uk row identical to one already imported or read",
    "month_format": "a police.uk Month that is not YYYY-MM",
    "person_ref_invalid": "a person_ref/person_role that cannot be used (see the template)",
}

#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
CSV_INJECTION_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one input row is quarantined.

    Attributes
    ----------
    row
        1-based data row number (the header is not counted).
    column
        The offending column name(s) joined by commas, or ``None`` for the whole row.
    reason_code
        A key of :data:`REASON_CODES`.
    reason
        Human-readable explanation naming the value and the fix.
    """

    row: int
    column: str | None
    reason_code: str
    reason: str


# --------------------------------------------------------------------------------------------
# timestamps

# the one grammar of dates and instants (geosafe.periods), ASCII digits only
_ISO_RE: Final = periods.INSTANT_RE
_DATE_RE: Final = periods.DATE_RE
_SERIAL_RE: Final = re.compile(r"^\d{4,6}(?:\.\d+)?$")
_EARLIEST: Final = pd.Timestamp("2000-01-01", tz=LONDON)

TimePrecision = Literal["minute", "day"]


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz=LONDON)


def _localise(naive: dt.datetime, *, row: int, column: str, text: str) -> pd.Timestamp | Problem:
    """Attach Europe/London, refusing local times that do not exist or happen twice."""
    try:
        return periods.localise(naive, text, column)
    except periods.TimeError as exc:
        return Problem(row, column, exc.code, str(exc))


def _check_range(
    ts: pd.Timestamp, *, row: int, column: str, text: str, now: pd.Timestamp
) -> pd.Timestamp | Problem:
    if ts < _EARLIEST:
        return Problem(
            row,
            column,
            "time_before_2000",
            f"`{column}` {text!r} is before 2000-01-01; check the year.",
        )
    if ts > now + pd.Timedelta(days=1):
        return Problem(
            row, column, "time_future", f"`{column}` {text!r} is in the future; check the year."
        )
    return ts


def parse_timestamp(
    text: str,
    *,
    row: int,
    column: str,
    declared_format: str | None = None,
    allow_date_only: bool = True,
    now: pd.Timestamp | None = None,
) -> tuple[pd.Timestamp, TimePrecision] | Problem:
    """Parse a local UK timestamp strictly.

    Parameters
    ----------
    text
        The cell as read (already stripped of surrounding blanks by the reader).
    row, column
        Where it came from, for the problem report.
    declared_format
        The source's one extra :func:`~datetime.datetime.strptime` format, or ``None``.
    allow_date_only
        Accept ``YYYY-MM-DD`` alone as a whole day (``time_precision == "day"``).
    now
        The present (default: now); later than ``now`` + 1 day is ``time_future``.

    Returns
    -------
    tuple or Problem
        ``(timestamp in Europe/London, "minute" | "day")`` or the problem.
    """
    text = text.strip()
    now = _now() if now is None else now
    if not text:
        return Problem(row, column, "time_missing", f"`{column}` is blank; give a timestamp.")
    parsed: tuple[pd.Timestamp, str] | None = None
    if _ISO_RE.match(text) is not None:
        try:
            parsed = periods.parse_local_datetime(text, name=column)
        except periods.TimeError as exc:
            code = {"time_too_early": "time_before_2000", "time_too_late": "time_future"}
            return Problem(row, column, code.get(exc.code, exc.code), str(exc))
    if parsed is not None:
        ts, kind = parsed
        if kind == "day" and not allow_date_only:
            return Problem(
                row,
                column,
                "time_format",
                f"`{column}` {text!r} has no time of day; write e.g. '2025-01-13 15:42'.",
            )
        precision: TimePrecision = "minute" if kind == "minute" else "day"
    elif declared_format is not None:
        try:
            naive = dt.datetime.strptime(text, declared_format)
        except ValueError:
            return _not_iso(text, row=row, column=column, declared_format=declared_format)
        local = _localise(naive, row=row, column=column, text=text)
        if isinstance(local, Problem):
            return local
        ts = local
        precision = "minute" if any(c in declared_format for c in "HIMS") else "day"
    else:
        return _not_iso(text, row=row, column=column, declared_format=None)
    checked = _check_range(ts, row=row, column=column, text=text, now=now)
    if isinstance(checked, Problem):
        return checked
    return checked, precision


def _not_iso(text: str, *, row: int, column: str, declared_format: str | None) -> Problem:
    if _SERIAL_RE.match(text):
        return Problem(
            row,
            column,
            "time_excel_serial",
            f"`{column}` {text!r} looks like an Excel serial day number; format the column "
            "as a date (ISO 'YYYY-MM-DD HH:MM') before exporting.",
        )
    if _looks_impossible(text):
        return Problem(
            row, column, "time_impossible", f"`{column}` {text!r} is not a real date; correct it."
        )
    extra = f" or the declared format {declared_format!r}" if declared_format else ""
    return Problem(
        row,
        column,
        "time_format",
        f"`{column}` {text!r} is not ISO 8601 ('YYYY-MM-DD HH:MM'){extra}; dates are never "
        "guessed: re-export in ISO format or declare the file's format per source in the "
        "environment variable GEOSAFE_INGEST_DATETIME_FORMATS, e.g. "
        """GEOSAFE_INGEST_DATETIME_FORMATS='{"dir": "%d/%m/%Y %H:%M"}'.""",
    )


def _looks_impossible(text: str) -> bool:
    """An ISO-shaped date whose month/day/hour values are out of range."""
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", text)) and _ISO_RE.match(text) is None


def parse_date(
    text: str,
    *,
    row: int,
    column: str,
    declared_format: str | None = None,
    now: pd.Timestamp | None = None,
) -> pd.Timestamp | Problem:
    """Parse an ISO date (``YYYY-MM-DD``) to the start of that day in Europe/London."""
    text = text.strip()
    if text and _DATE_RE.match(text) is None and _ISO_RE.match(text) is not None:
        return Problem(
            row, column, "time_format", f"`{column}` {text!r} is a timestamp; give a date only."
        )
    parsed = parse_timestamp(text, row=row, column=column, declared_format=declared_format, now=now)
    if isinstance(parsed, Problem):
        return parsed
    return parsed[0].normalize()


# --------------------------------------------------------------------------------------------
# flags, codes, numbers, text

_TRUE: Final = frozenset({"y", "yes", "true", "1"})
_FALSE: Final = frozenset({"n", "no", "false", "0"})


def parse_flag(text: str, *, row: int, column: str) -> bool | Problem | None:
    """``Y``/``N`` (also yes/no, true/false, 1/0, any case); blank is unknown (``None``)."""
    value = text.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return Problem(
        row,
        column,
        "flag_unknown",
        f"`{column}` {text!r} is not a flag value; use Y or N (or leave blank for unknown).",
    )


def check_code(
    text: str, allowed: frozenset[str] | None, *, row: int, column: str, upper: bool = True
) -> str | Problem:
    """Normalise a code (upper case) and, when an allow-list is declared, check it."""
    value = text.strip().upper() if upper else text.strip()
    if allowed is not None and value and value not in allowed:
        shown = ", ".join(sorted(allowed)[:12])
        return Problem(
            row,
            column,
            "value_out_of_list",
            f"`{column}` {text!r} is not in the declared code list ({shown}); correct the "
            "code or add it to the source's list in GEOSAFE_INGEST_CODE_LISTS, e.g. "
            """GEOSAFE_INGEST_CODE_LISTS='{"dir": ["ASB", "ASSAULT"]}'.""",
        )
    return value


def parse_int_in(text: str, *, row: int, column: str, low: int, high: int) -> int | Problem | None:
    """An integer in ``[low, high]``; blank is ``None``."""
    value = text.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or number != int(number):
        return Problem(
            row,
            column,
            "value_impossible",
            f"`{column}` {text!r} is not a whole number; give a number from {low} to {high}.",
        )
    if not low <= int(number) <= high:
        return Problem(
            row,
            column,
            "value_impossible",
            f"`{column}` {text!r} is outside {low}..{high}; correct it.",
        )
    return int(number)


_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(text: str, *, row: int, column: str, max_length: int) -> str | Problem:
    """Free text: kept as given (newlines and quotes included) unless too long or binary.

    Text starting with ``= + - @`` is stored unchanged; :func:`csv_escape` neutralises it on
    export.
    """
    if len(text) > max_length:
        return Problem(
            row,
            column,
            "text_too_long",
            f"`{column}` has {len(text)} characters, more than the maximum {max_length}; "
            "shorten it or raise GEOSAFE_INGEST_MAX_TEXT_LENGTH (e.g. "
            "GEOSAFE_INGEST_MAX_TEXT_LENGTH=8000).",
        )
    bad = _CONTROL_RE.search(text)
    if bad is not None:
        return Problem(
            row,
            column,
            "text_control_chars",
            f"`{column}` holds the control character {bad.group()!r} at position "
            f"{bad.start()}; remove it.",
        )
    return text


def encoding_problem(value: str, *, row: int, column: str, encoding: str) -> Problem | None:
    """A problem when ``value`` holds bytes undecodable in ``encoding``.

    Readers decode with ``errors="surrogateescape"``, so each undecodable byte survives as a
    lone surrogate (U+DC80..U+DCFF) that this finds.
    """
    for ch in value:
        if "\udc80" <= ch <= "\udcff":
            byte = ord(ch) - 0xDC00
            return Problem(
                row,
                column,
                "encoding_invalid",
                f"`{column}` holds byte 0x{byte:02X}, not valid {encoding}; save the file as "
                "UTF-8 or set GEOSAFE_INGEST_ENCODING to the file's encoding (e.g. "
                "GEOSAFE_INGEST_ENCODING=cp1252).",
            )
    return None


def csv_escape(value: object) -> object:
    """Neutralise spreadsheet formulas on CSV export (OWASP): prefix a ``'`` to text that a
    spreadsheet would evaluate. Plain signed numbers and non-text values pass through."""
    if (
        isinstance(value, str)
        and value.startswith(CSV_INJECTION_PREFIXES)
        and _NUMBER_RE.match(value) is None
    ):
        return "'" + value
    return value


#: Plain signed numbers (a negative longitude) are data, not formulas: left as they are.
_NUMBER_RE: Final = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")

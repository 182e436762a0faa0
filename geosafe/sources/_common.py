"""What the per-row readers (DIR, ASIF, CRIS, FAP) share: the row context, generic cell
checks, and turning a geocode result into an :class:`~geosafe.incident.Incident`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from .._validate import (
    Problem,
    TimePrecision,
    check_text,
    encoding_problem,
    parse_date,
    parse_flag,
    parse_timestamp,
)
from ..incident import Incident
from ._read import Column

_URN_RE = re.compile(r"^\d{6}$")

__all__ = [
    "RowContext",
    "RowReader",
    "blank",
    "check_cells",
    "flags_from",
    "geocode_problem",
    "interval",
    "make_incident",
    "row_date",
    "row_ref",
    "row_timestamp",
    "row_urn",
]


@dataclass(frozen=True)
class RowContext:
    """What a row parser needs besides the row.

    Attributes
    ----------
    source
        Source name (``dir``, ``asif``, ``cris``, ``fap``).
    geocoder
        A :class:`geosafe.geocode.Geocoder` (typed loosely to keep this module light).
    declared_format
        The source's one extra timestamp format (``strptime``), or ``None``.
    code_list
        Allow-list of the source's code column, or ``None`` (no check).
    max_text
        Longest free-text field, characters.
    encoding
        The file's encoding, for messages.
    now
        The present, Europe/London.
    """

    source: str
    geocoder: Any
    declared_format: str | None = None
    code_list: frozenset[str] | None = None
    max_text: int = 4000
    encoding: str = "utf-8"
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="Europe/London"))


class RowReader(Protocol):
    """A source module: its columns, its ref column and its row parser."""

    SOURCE: str
    REF: str
    COLUMNS: tuple[Column, ...]

    def parse_row(self, row: Mapping[str, str], number: int, ctx: RowContext) -> Incident | Problem:
        """Turn one standard-named row into an Incident, or say why not."""
        ...


def blank(value: str | None) -> bool:
    """Empty after stripping."""
    return value is None or not value.strip()


def row_ref(row: Mapping[str, str], number: int, column: str, why: str) -> str | Problem:
    """The row's reference in ``column``, or ``ref_missing`` (``why``: what needs it)."""
    ref = row[column].strip()
    if not ref:
        return Problem(number, column, "ref_missing", f"`{column}` is blank; {why}.")
    return ref


def row_urn(row: Mapping[str, str], number: int) -> str | Problem:
    """The row's ``school_urn`` (blank allowed), or ``urn_malformed``."""
    urn = row["school_urn"].strip()
    if urn and _URN_RE.match(urn) is None:
        msg = f"`school_urn` {urn!r} is not a 6-digit DfE URN."
        return Problem(number, "school_urn", "urn_malformed", msg)
    return urn


def row_timestamp(
    row: Mapping[str, str], number: int, column: str, ctx: RowContext
) -> tuple[pd.Timestamp, TimePrecision] | Problem:
    """:func:`geosafe._validate.parse_timestamp` of ``column`` with the source's settings."""
    return parse_timestamp(
        row[column], row=number, column=column, declared_format=ctx.declared_format, now=ctx.now
    )


def row_date(
    row: Mapping[str, str], number: int, column: str, ctx: RowContext
) -> pd.Timestamp | Problem:
    """:func:`geosafe._validate.parse_date` of ``column`` with the source's settings."""
    return parse_date(
        row[column], row=number, column=column, declared_format=ctx.declared_format, now=ctx.now
    )


def check_cells(
    row: Mapping[str, str], number: int, columns: Sequence[Column], ctx: RowContext
) -> Problem | None:
    """Checks every column gets: decodable bytes, no control characters, text length."""
    for col in columns:
        value = row.get(col.name, "")
        problem = encoding_problem(value, row=number, column=col.name, encoding=ctx.encoding)
        if problem is not None:
            return problem
        limit = ctx.max_text if col.text else min(ctx.max_text, 200)
        checked = check_text(value, row=number, column=col.name, max_length=limit)
        if isinstance(checked, Problem):
            return checked
    return None


def geocode_problem(result: Any, number: int, default_column: str) -> Problem | None:
    """A quarantine problem from a failed :class:`~geosafe.geocode.result.GeocodeResult`."""
    if result is None or result.reason_code is None:
        return None
    return Problem(number, result.column or default_column, result.reason_code, result.reason or "")


def flags_from(
    row: Mapping[str, str], number: int, columns: Mapping[str, str]
) -> tuple[str, ...] | Problem:
    """Flag columns (``{"youth_flag": "youth"}``) to the sorted tuple of true flag names."""
    out = []
    for column, name in columns.items():
        value = parse_flag(row.get(column, ""), row=number, column=column)
        if isinstance(value, Problem):
            return value
        if value:
            out.append(name)
    return tuple(sorted(out))


def make_incident(
    ctx: RowContext,
    *,
    ref: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    time_precision: str,
    category: str,
    flags: tuple[str, ...] = (),
    located: Any = None,
    route: str | None = None,
    stop_code: str | None = None,
    school_urn: str | None = None,
    location_text: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Incident:
    """An Incident from parsed fields and the geocode result that placed it (or ``None``)."""
    geo = located if located is not None and located.geometry is not None else None
    return Incident(
        source=ctx.source,
        source_ref=ref,
        occurred_from=start,
        occurred_to=end,
        time_precision=time_precision,  # type: ignore[arg-type]
        category=category,
        flags=flags,
        route=route or None,
        stop_code=stop_code or None,
        school_urn=school_urn or None,
        geometry=None if geo is None else geo.geometry,
        lon=None if geo is None else geo.lon,
        lat=None if geo is None else geo.lat,
        precision_m=None if geo is None else geo.precision_m,
        geocode_method="none" if geo is None else geo.method,
        location_text=location_text or (None if geo is None else geo.matched_text),
        h3_cell=None if geo is None else geo.h3_cell,
        detail=detail or {},
    )


def interval(start: pd.Timestamp, precision: str, end: pd.Timestamp | None = None) -> pd.Timestamp:
    """The end of an occurrence: ``end`` when given, the next day for a whole day, else
    ``start`` (a point in time)."""
    if end is not None:
        return end
    if precision == "day":
        return (start + pd.Timedelta(days=1)).normalize()
    return start

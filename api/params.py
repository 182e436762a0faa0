"""Parsing of query parameters shared by the routers (OGC items, downloads, rasters, maps)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

import pandas as pd
from fastapi import Request

from geosafe._errors import ValidationError
from geosafe.publish import catalogue as gl
from geosafe.publish import disclosure as privacy

__all__ = [
    "analysis_params",
    "check_known",
    "parse_bbox",
    "parse_datetime",
    "parse_int",
    "wants_html",
]

_CRS84_NAMES: Final = frozenset(
    {"http://www.opengis.net/def/crs/OGC/1.3/CRS84", "CRS84", "OGC:CRS84"}
)
_BNG_NAMES: Final = frozenset({"http://www.opengis.net/def/crs/EPSG/0/27700", "EPSG:27700"})


def check_known(request: Request, allowed: Iterable[str]) -> None:
    """Refuse query parameters not in ``allowed`` (a typo must not silently change a result)."""
    allowed = set(allowed)
    unknown = sorted(k for k in request.query_params if k not in allowed)
    if unknown:
        msg = (
            f"unknown query parameter {unknown[0]!r}; this resource accepts "
            f"{', '.join(sorted(allowed)) or 'none'}."
        )
        raise ValidationError(msg)


def wants_html(request: Request) -> bool:
    """``f=html``, or a browser asking for HTML without ``f``."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html", "geojson"):
            msg = f"`f` {f!r} is not a supported format; use 'json' or 'html'."
            raise ValidationError(msg)
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _split(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(sorted({p.strip() for p in text.split(",") if p.strip()}))


def _date(text: str | None, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        msg = f"`{name}` {text!r} is not a date; write it as YYYY-MM-DD."
        raise ValidationError(msg) from None


def _number(text: str | None, name: str, kind: type, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    try:
        return kind(text)
    except ValueError:
        example = default if default is not None else kind(getattr(gl.DEFAULT_PARAMS, name))
        msg = f"`{name}` {text!r} is not a number; pass e.g. {example!r}."
        raise ValidationError(msg) from None


def parse_int(text: str | None, name: str, default: int) -> int:
    """An integer query parameter (``default`` when absent)."""
    value: int = _number(text, name, int, default)
    return value


def analysis_params(request: Request, spec: gl.CollectionSpec) -> gl.AnalysisParams:
    """The collection's analysis parameters from the query (defaults where absent)."""
    q = request.query_params
    given: dict[str, Any] = {}
    for name in spec.params:
        text = q.get(name)
        if text is None:
            continue
        if name in ("sources", "categories", "flags"):
            given[name] = _split(text)
        elif name in ("start", "end"):
            given[name] = _date(text, name)
        elif name == "preset":
            given[name] = None if text in ("", "none", "all") else text
        elif name in ("kernel", "school"):
            given[name] = text or None
        elif name in ("min_samples", "resolution"):
            given[name] = _number(text, name, int)
        else:
            given[name] = _number(text, name, float)
    given = {k: v for k, v in given.items() if v is not None or k in ("preset", "school")}
    if "start" in spec.params and not spec.temporal and "datetime" in q:
        # on a computed layer, `datetime` is the analysed period (the way non-analysts, who
        # may only name a published month, quarter or year, choose it)
        lo, hi = parse_datetime(q["datetime"]) or (None, None)
        if lo is not None and "start" not in given:
            given["start"] = lo.tz_convert("Europe/London").date()
        if hi is not None and "end" not in given:
            given["end"] = (hi.tz_convert("Europe/London") - pd.Timedelta(1, "ns")).date()
    return gl.AnalysisParams(**given)


def parse_bbox(
    text: str | None, crs: str | None
) -> tuple[tuple[float, float, float, float] | None, str]:
    """A ``bbox`` (4 or 6 numbers) and its CRS: ``"CRS84"`` (lon/lat) or ``"EPSG:27700"``."""
    if crs is not None and crs not in _CRS84_NAMES | _BNG_NAMES:
        msg = (
            f"`bbox-crs` {crs!r} is not supported; use "
            "'http://www.opengis.net/def/crs/OGC/1.3/CRS84' or "
            "'http://www.opengis.net/def/crs/EPSG/0/27700'."
        )
        raise ValidationError(msg)
    if text is None:
        return None, "CRS84"
    try:
        nums = [float(p) for p in text.split(",")]
    except ValueError:
        nums = []
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4:
        msg = f"`bbox` {text!r} is not 4 (or 6) comma-separated numbers; pass minx,miny,maxx,maxy."
        raise ValidationError(msg)
    x0, y0, x1, y1 = nums
    if crs in _BNG_NAMES:
        if x0 > x1 or y0 > y1:
            msg = f"`bbox` {text!r} has its minimum above its maximum; pass minx,miny,maxx,maxy."
            raise ValidationError(msg)
        return (x0, y0, x1, y1), "EPSG:27700"
    if y0 > y1 or not (
        -180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90
    ):
        msg = f"`bbox` {text!r} is not a lon/lat box; pass minlon,minlat,maxlon,maxlat in degrees."
        raise ValidationError(msg)
    if x0 > x1:  # crosses the antimeridian: never in England, take everything
        return (-180.0, y0, 180.0, y1), "CRS84"
    return (x0, y0, x1, y1), "CRS84"


def _instant(text: str) -> pd.Timestamp | None:
    if text in ("..", ""):
        return None
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        msg = (
            f"`datetime` part {text!r} is not an RFC 3339 date-time; write e.g. "
            "'2024-01-01T00:00:00Z', '2024-01-01/..' or '../2024-06-30T23:59:59Z'."
        )
        raise ValidationError(msg) from None
    if ts.tzinfo is None:
        ts = ts.tz_localize("Europe/London")
    return ts.tz_convert("UTC")


def _whole_period(text: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``2024``, ``2024-Q1`` or ``2024-03`` as a UTC interval of that whole local period."""
    found = privacy.whole_period(text)
    if found is None:
        return None
    start, end = found[0], found[1]
    return (start.tz_convert("UTC"), (end - pd.Timedelta(1, "ns")).tz_convert("UTC"))


def parse_datetime(
    text: str | None,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None] | None:
    """An OGC ``datetime`` (instant, ``start/end``, ``../end``, ``start/..``) as a UTC interval.

    A date alone (``2024-03-01``) means that whole day, and ``2024``, ``2024-Q1``, ``2024-03``
    that whole year, quarter or month (Europe/London)."""
    if text is None:
        return None
    whole = _whole_period(text.strip())
    if whole is not None:
        return whole
    if "/" in text:
        a, _, b = text.partition("/")
        lo, hi = _instant(a), _instant(b)
        if lo is not None and hi is not None and lo > hi:
            msg = f"`datetime` {text!r} ends before it starts; swap the two instants."
            raise ValidationError(msg)
        if hi is not None and len(b) == 10:  # a date: the whole day
            hi = hi + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
        return (lo, hi)
    t = _instant(text)
    if t is None:
        return None
    if len(text) == 10:
        return (t, t + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"))
    return (t, t)

"""Parsing of query parameters shared by the routers (OGC items, downloads, rasters, maps)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from fastapi import Request

from geosafe import periods
from geosafe._errors import ValidationError
from geosafe.publish import catalogue as gl

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
    return periods.parse_date(text, name=name) if text else None


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
        # on a computed layer, `datetime` is the analysed period; a non-analyst's is the whole
        # published period it names (one parser for the check and the analysis)
        principal = getattr(request.state, "principal", None)
        lo: dt.date | None
        hi: dt.date | None
        if principal is not None and not principal.is_analyst:
            period = periods.published_period(q["datetime"])
            lo, hi = period.first_day, period.last_day
        else:
            lo, hi = (
                periods.parse_interval(q["datetime"]) or periods.Interval(None, None)
            ).local_dates()
        if lo is not None and "start" not in given:
            given["start"] = lo
        if hi is not None and "end" not in given:
            given["end"] = hi
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


def parse_datetime(text: str | None) -> periods.Interval | None:
    """An OGC ``datetime`` as a UTC interval (end inclusive): :func:`geosafe.periods.parse_interval`."""
    return periods.parse_interval(text)

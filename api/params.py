"""Parsing of query parameters shared by the routers (OGC items, downloads, rasters, maps)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from fastapi import Request

from geosafe import periods
from geosafe._errors import ValidationError
from geosafe.access import limits
from geosafe.publish import catalogue as gl

__all__ = [
    "analysis_params",
    "check_cost",
    "check_known",
    "parse_bbox",
    "parse_datetime",
    "parse_int",
    "wants_html",
]


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
    params = gl.AnalysisParams(**given)
    check_cost(request, {n: getattr(params, n) for n in spec.params if n in given})
    return params


def _extent_m(data_dir: str | None, services: Any = None) -> tuple[float, float]:
    """Width and height of the study area (the demo area), metres: read by the layer
    service (in its builder's process when it has one, kept), else here."""
    if services is not None:
        x0, y0, x1, y1 = services.layers.compute("area_bounds")
    else:
        from geosafe import datasets

        x0, y0, x1, y1 = datasets.demo_area(data_dir).bounds
    return (x1 - x0, y1 - y0)


def check_cost(request: Request, asked: dict[str, Any], *, journeys: int | None = None) -> None:
    """Refuse a request its caller's role may not afford, before any work
    (:func:`geosafe.access.limits.check_cost`: 400 naming the limit)."""
    from .security import access_context

    principal = getattr(request.state, "principal", None)
    role = getattr(principal, "role", "analyst")
    services = getattr(request.app.state, "services", None)
    data_dir = getattr(getattr(services, "settings", None), "data_dir", None)
    extent = _extent_m(str(data_dir) if data_dir is not None else None, services)
    costs = access_context(request.app).costs
    full = dict(asked)
    if {"cell_m", "bandwidth_m", "kernel"} & set(asked):  # the whole surface's cost
        defaults = gl.DEFAULT_PARAMS
        full = {
            "cell_m": defaults.cell_m,
            "bandwidth_m": defaults.bandwidth_m,
            "kernel": defaults.kernel,
            **asked,
        }
    limits.check_cost(role, full, limits=costs, extent_m=extent, journeys=journeys)


def parse_bbox(
    text: str | None, crs: str | None
) -> tuple[tuple[float, float, float, float] | None, str]:
    """A ``bbox`` (4 or 6 numbers) and its CRS: ``"CRS84"`` (lon/lat) or ``"EPSG:27700"``
    (the one bbox rule: :func:`geosafe.access.limits.parse_bbox`)."""
    box = limits.parse_bbox(text, crs)
    if box is None:
        return None, "CRS84"
    return box.bounds, box.crs


def parse_datetime(text: str | None) -> periods.Interval | None:
    """An OGC ``datetime`` as a UTC interval (end inclusive): :func:`geosafe.periods.parse_interval`."""
    return periods.parse_interval(text)

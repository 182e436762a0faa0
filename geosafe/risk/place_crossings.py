"""Reverse lookup from a place (issue 13 item 1): which schools' pupils pass through it, on
foot or by bus, when, and how many.

A *place* is any EPSG:27700 geometry: a hotspot's polygon, a gazetteer place's area, a
circle around a point, or a bus route (then the pupils are those riding it, see
:func:`riders`). The journeys are the ones the school reports use
(:func:`geosafe.publish.corridors.school_journeys`), one :class:`SchoolRun` per school,
window (``morning`` to school, ``afternoon`` home) and mode, so the pupils crossing a hotspot
here equal the ``pupils`` of that hotspot in the school's report (same journeys, same
"the route line intersects the polygon" test).

Analysts get exact counts for the place itself (:func:`crossings`, :func:`summarise`).
School and neighbourhood roles get only published aggregates (:func:`published_cells`): the
H3 resolution-8 cells the place touches, with the pupils whose routes cross each cell,
counts of 1-9 suppressed and others rounded to 5 (:mod:`geosafe.publish.disclosure`). A
larger circle can only add cells, each with its own published count, so differencing two
overlapping places reveals nothing below 10.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import h3
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from ..incident import CRS_BNG

__all__ = [
    "CROSSING_COLUMNS",
    "SchoolRun",
    "cell_polygon",
    "crossings",
    "place_cells",
    "published_cells",
    "riders",
    "summarise",
]

#: Columns of :func:`crossings` (one row per journey crossing the place).
CROSSING_COLUMNS: Final = (
    "school_urn",
    "school_name",
    "window",
    "routing",
    "mode",
    "origin_id",
    "pupils",
    "time_s",
)
_RES: Final = 8
_STEP_M: Final = 25.0
_SLOT_S: Final = 1800
_TO_WGS = Transformer.from_crs(CRS_BNG, "OGC:CRS84", always_xy=True)
_TO_BNG = Transformer.from_crs("OGC:CRS84", CRS_BNG, always_xy=True)


@dataclass(frozen=True)
class SchoolRun:
    """One school's journeys in one window (``morning``/``afternoon``) and mode."""

    school_urn: str
    school_name: str
    window: str
    mode: str
    journeys: Sequence[Any]


def _pieces(j: Any) -> list[tuple[str, BaseGeometry, float | None, float | None]]:
    """(mode, line, start s, end s) of each leg of a journey, else the whole journey."""
    out = []
    for leg, g in zip(j.legs, j.leg_geometries or (), strict=False):
        if g is None or g.is_empty:
            continue
        a = leg.get("depart_s")
        b = leg.get("arrive_s")
        out.append((str(leg.get("mode") or j.mode), g, a, b))
    if not out and j.geometry is not None and not j.geometry.is_empty:
        out.append((str(j.mode), j.geometry, j.depart_s, j.arrive_s))
    return out


def _entry_time(line: BaseGeometry, place: BaseGeometry, a: float | None, b: float | None) -> Any:
    """Seconds after midnight at which ``line`` (travelled from ``a`` to ``b``) enters
    ``place`` (uniform speed along the line); ``None`` when the times are unknown."""
    if a is None or b is None or line.length == 0:
        return a
    inter = line.intersection(place)
    xy = shapely.get_coordinates(inter)
    if len(xy) == 0:
        return None
    d = min(line.project(shapely.Point(p)) for p in xy)
    return float(a) + (float(b) - float(a)) * d / line.length


def crossings(place: BaseGeometry, runs: Iterable[SchoolRun]) -> pd.DataFrame:
    """One row per journey whose route passes through ``place`` (:data:`CROSSING_COLUMNS`):
    the leg that enters it first gives the ``mode`` (``walk``/``bus``) and ``time_s``.

    The test is the one the school report uses for its hotspots: the journey's line
    intersects the place (``j.geometry``), so the pupils agree with the report's."""
    rows: list[dict[str, Any]] = []
    for run in runs:
        for j in run.journeys:
            if j.error is not None or j.geometry is None or not j.geometry.intersects(place):
                continue
            mode, time_s = str(j.mode), None
            best = None
            for leg_mode, g, a, b in _pieces(j):
                if not g.intersects(place):
                    continue
                t = _entry_time(g, place, a, b)
                key = t if t is not None else float("inf")
                if best is None or key < best:
                    best, mode, time_s = key, leg_mode, t
            rows.append(
                {
                    "school_urn": run.school_urn,
                    "school_name": run.school_name,
                    "window": run.window,
                    "routing": run.mode,
                    "mode": mode,
                    "origin_id": j.origin_id,
                    "pupils": int(j.count),
                    "time_s": time_s,
                }
            )
    return pd.DataFrame(rows, columns=list(CROSSING_COLUMNS))


def riders(
    route: str, line: BaseGeometry | None, runs: Iterable[SchoolRun], *, buffer_m: float = 60.0
) -> pd.DataFrame:
    """Pupils riding bus ``route`` (:data:`CROSSING_COLUMNS`, ``mode`` ``bus``, ``time_s``
    the boarding time); with ``line`` (the route's run, EPSG:27700) only legs running the
    same way along it (direction) and overlapping it within ``buffer_m``."""
    rows: list[dict[str, Any]] = []
    key = str(route).strip().upper()
    zone = line.buffer(buffer_m) if line is not None else None
    for run in runs:
        for j in run.journeys:
            if j.error is not None:
                continue
            for leg, g in zip(j.legs, j.leg_geometries or [None] * len(j.legs), strict=False):
                if leg.get("mode") != "bus" or str(leg.get("route", "")).upper() != key:
                    continue
                if (
                    line is not None
                    and g is not None
                    and not g.is_empty
                    and (not g.intersects(zone) or not _same_way(g, line))
                ):
                    continue
                rows.append(
                    {
                        "school_urn": run.school_urn,
                        "school_name": run.school_name,
                        "window": run.window,
                        "routing": run.mode,
                        "mode": "bus",
                        "origin_id": j.origin_id,
                        "pupils": int(j.count),
                        "time_s": leg.get("depart_s"),
                    }
                )
                break
    return pd.DataFrame(rows, columns=list(CROSSING_COLUMNS))


def _same_way(leg: BaseGeometry, line: BaseGeometry) -> bool:
    xy = shapely.get_coordinates(leg)
    a = line.project(shapely.Point(xy[0]))
    b = line.project(shapely.Point(xy[-1]))
    return bool(b >= a)


def _clock(s: float) -> str:
    s = int(s) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _slot(s: Any) -> str:
    if s is None or not np.isfinite(s):
        return "unknown"
    a = int(s // _SLOT_S * _SLOT_S)
    return f"{_clock(a)}-{_clock(a + _SLOT_S)}"


def summarise(cross: pd.DataFrame) -> list[dict[str, Any]]:
    """Exact counts per school (analysts): pupils per window and mode, the earliest and
    latest time they enter the place, and pupils per half-hour; schools by pupils, most
    first. ``routing`` is how the roll was routed (``walk``: everyone walks; ``bus``: by bus
    with walking legs), ``mode`` how the pupils pass the place (``walk`` on foot, ``bus``
    aboard). A school's ``pupils`` is its largest (window, routing) total: the two routings
    are the same roll, and the morning and afternoon runs are the same pupils."""
    out: list[dict[str, Any]] = []
    if cross.empty:
        return out
    for (urn, name), g in cross.groupby(["school_urn", "school_name"], sort=False):
        by: list[dict[str, Any]] = []
        for (window, routing, mode), h in g.groupby(["window", "routing", "mode"], sort=True):
            t = pd.to_numeric(h["time_s"], errors="coerce").to_numpy(dtype=float)
            known = t[np.isfinite(t)]
            slots = h.assign(slot=[_slot(v) for v in t]).groupby("slot")["pupils"].sum()
            by.append(
                {
                    "window": window,
                    "routing": routing,
                    "mode": mode,
                    "pupils": int(h["pupils"].sum()),
                    "journeys": len(h),
                    "first": _clock(known.min()) if len(known) else None,
                    "last": _clock(known.max()) if len(known) else None,
                    "times": [{"time": k, "pupils": int(v)} for k, v in slots.items()],
                }
            )
        # walk and bus are two routings of the same roll, and a pupil passing in the
        # morning and home again is one pupil: the largest (window, routing) total
        totals: dict[tuple[str, str], int] = {}
        for b in by:
            k = (b["window"], b["routing"])
            totals[k] = totals.get(k, 0) + b["pupils"]
        out.append(
            {
                "school_urn": str(urn),
                "school_name": str(name),
                "pupils": max(totals.values()),
                "by": by,
            }
        )
    out.sort(key=lambda r: (-r["pupils"], r["school_urn"]))
    return out


# -- published (non-analyst) view ----------------------------------------------------------
def _cells_of_line(line: BaseGeometry) -> list[tuple[str, float]]:
    """H3 res-8 cells a line passes, each with the distance along the line it enters.

    A leg is not always one line: a multi-part line is walked part after part (distances
    added up), and a point (a leg with no length, e.g. a wait at a stop) is in its own cell
    at distance 0."""
    if line.is_empty:
        return []
    if line.geom_type != "LineString":
        if line.geom_type == "Point" or line.length == 0:
            x, y = shapely.get_coordinates(line)[:1].T
        else:
            seen_parts: dict[str, float] = {}
            offset = 0.0
            for part in getattr(line, "geoms", ()):
                if part.geom_type == "LineString" or hasattr(part, "geoms"):
                    for c, d in _cells_of_line(part):
                        seen_parts.setdefault(c, offset + d)
                    offset += part.length
            return list(seen_parts.items())
        lon, lat = _TO_WGS.transform(x, y)
        return [(h3.latlng_to_cell(float(lat[0]), float(lon[0]), _RES), 0.0)]
    steps = np.linspace(0.0, line.length, max(2, int(line.length // _STEP_M) + 1))
    pts = shapely.line_interpolate_point(line, steps)
    x, y = shapely.get_coordinates(pts).T
    lon, lat = _TO_WGS.transform(x, y)
    seen: dict[str, float] = {}
    for d, a, b in zip(steps, lon, lat, strict=True):
        c = h3.latlng_to_cell(float(b), float(a), _RES)
        seen.setdefault(c, float(d))
    return list(seen.items())


def place_cells(place: BaseGeometry) -> list[str]:
    """The H3 resolution-8 cells a place touches (its outline sampled every 25 m, plus
    the cells whose centres it holds), sorted."""
    cells: set[str] = set()
    if place.geom_type in ("Point", "MultiPoint"):
        x, y = shapely.get_coordinates(place).T
    else:
        ring = place.boundary if place.geom_type.endswith("Polygon") else place
        dense = shapely.segmentize(ring, _STEP_M)
        x, y = shapely.get_coordinates(dense).T
    lon, lat = _TO_WGS.transform(x, y)
    cells.update(h3.latlng_to_cell(float(b), float(a), _RES) for a, b in zip(lon, lat, strict=True))
    if place.geom_type.endswith("Polygon"):
        wgs = shapely.transform(place, lambda xy: np.column_stack(_TO_WGS.transform(*xy.T)))
        cells.update(h3.geo_to_cells(wgs, _RES))
    return sorted(cells)


def cell_polygon(cell: str) -> BaseGeometry:
    """An H3 cell's hexagon in EPSG:27700."""
    lat_lon = np.asarray(h3.cell_to_boundary(cell))
    x, y = _TO_BNG.transform(lat_lon[:, 1], lat_lon[:, 0])
    return shapely.Polygon(np.column_stack([x, y]))


def _line_time(piece: tuple[str, BaseGeometry, Any, Any], d: float) -> float | None:
    _, g, a, b = piece
    if a is None or b is None or g.length == 0:
        return None if a is None else float(a)
    return float(a) + (float(b) - float(a)) * d / g.length


def cell_passes(runs: Iterable[SchoolRun], cells: Sequence[str]) -> pd.DataFrame:
    """Per (school, window, mode, cell, half-hour): pupils whose routes cross the cell
    (each journey counted once per cell, at its first entry); only ``cells``."""
    wanted = set(cells)
    rows: list[dict[str, Any]] = []
    for run in runs:
        for j in run.journeys:
            if j.error is not None or j.geometry is None:
                continue
            first: dict[str, tuple[str, float | None]] = {}
            for piece in _pieces(j):
                for c, d in _cells_of_line(piece[1]):
                    if c in wanted and c not in first:
                        first[c] = (piece[0], _line_time(piece, d))
            for c, (mode, t) in first.items():
                rows.append(
                    {
                        "school_urn": run.school_urn,
                        "school_name": run.school_name,
                        "window": run.window,
                        "mode": mode,
                        "cell": c,
                        "time": _slot(t if t is not None else float("nan")),
                        "pupils": int(j.count),
                    }
                )
    cols = ["school_urn", "school_name", "window", "mode", "cell", "time", "pupils"]
    return pd.DataFrame(rows, columns=cols)


def published_cells(
    place: BaseGeometry,
    runs: Iterable[SchoolRun],
    *,
    role: str,
    school_urn: str | None = None,
    scope: BaseGeometry | None = None,
) -> dict[str, Any]:
    """The place as school and neighbourhood roles see it: the res-8 cells it touches with
    published pupil counts (1-9 suppressed, others rounded to 5). With ``scope`` (a
    neighbourhood's wards, EPSG:27700) only the cells touching it, as every layer of that
    role (:func:`geosafe.publish.disclosure.clip_to_scope`); ``outside_scope`` says how many
    were left out.

    ``school``: only ``school_urn``'s pupils, per cell, window, mode and half-hour;
    ``neighbourhood``: all schools together per cell, window, mode and half-hour, and the
    schools whose published count in some cell is at least 10. ``pupils_at_least`` is the
    largest published cell count (a lower bound on the pupils passing)."""
    from ..publish.disclosure import round_counts

    if role not in ("school", "neighbourhood"):
        msg = f"`role` {role!r} has no published view; pass 'school' or 'neighbourhood'."
        raise ValueError(msg)
    cells = place_cells(place)
    outside = 0
    if scope is not None:
        inside = [c for c in cells if cell_polygon(c).intersects(scope)]
        outside = len(cells) - len(inside)
        cells = inside
    runs = [r for r in runs if role != "school" or r.school_urn == school_urn]
    passes = cell_passes(runs, cells)
    if role == "neighbourhood":
        per_school = passes.groupby(["school_urn", "school_name", "cell"])["pupils"].sum()
        pub_s, _ = round_counts(per_school.to_numpy(dtype=float))
        named = sorted(
            {(u, n) for (u, n, _), v in zip(per_school.index, pub_s, strict=True) if v >= 10}
        )
        passes = passes.assign(school_urn="all", school_name="all schools")
    else:
        named = []
    keys = ["school_urn", "school_name", "window", "mode", "cell", "time"]
    detail = passes.groupby(keys, sort=True)["pupils"].sum().reset_index()
    totals = passes.groupby(["school_urn", "school_name", "window", "cell"], sort=True)[
        "pupils"
    ].sum()
    pub_d, _ = round_counts(detail["pupils"].to_numpy(dtype=float))
    pub_t, _ = round_counts(totals.to_numpy(dtype=float))
    rows = [
        {**{k: r[k] for k in keys}, "pupils": None if not np.isfinite(v) else int(v)}
        for r, v in zip(detail.to_dict(orient="records"), pub_d, strict=True)
    ]
    cell_rows = [
        {
            "school_urn": u,
            "school_name": n,
            "window": w,
            "cell": c,
            "pupils": None if not np.isfinite(v) else int(v),
        }
        for (u, n, w, c), v in zip(totals.index, pub_t, strict=True)
    ]
    best = max((r["pupils"] for r in cell_rows if r["pupils"] is not None), default=0)
    return {
        "role": role,
        "cells": cells,
        "pupils_at_least": best,
        "cell_counts": cell_rows,
        "times": rows,
        "schools": [{"school_urn": u, "school_name": n} for u, n in named]
        if role == "neighbourhood"
        else [{"school_urn": school_urn}],
        "outside_scope": outside,
        "note": "Counts are pupils whose routes cross each H3 cell (edge about 0.5 km) that "
        "the place touches; counts of 1-9 are suppressed (null) and others rounded to the "
        "nearest 5. A pupil crossing several cells is counted in each."
        + (
            f" {outside} cell(s) of the place outside your neighbourhood's wards are not shown."
            if outside
            else ""
        ),
    }

"""Bus-route profiling in the school run (issue 13 item 5), after TfL's Hot Routes: incidents
per km of route and direction per hour of the school run, ranked, with the schools whose
pupils ride each route.

Per route and direction (the run of the TfL stop sequence, clipped to the demo area):

- ``incidents``: DIR/ASIF incidents recorded on the route (by route number) whose direction is
  that run (:func:`geosafe.risk.place_lookup.route_incidents`), in the school-run window,
  summed by ``weight``; with ``buffer_m > 0`` also located (point) CRIS and police.uk
  incidents within ``buffer_m`` of the run's line, counted in both directions' rows
  (a street incident has no direction);
- ``per_km_per_hour``: ``incidents / length_km / window_hours``, where ``window_hours`` is
  the number of school-run hours in the analysis period (the same denominator as exposure);
- ``schools``: schools with a pupil riding the route that way in the morning run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["ROUTE_COLUMNS", "RouteRun", "profile_routes", "profile_routes_for_service"]

ROUTE_COLUMNS: Final = (
    "rank",
    "route",
    "direction",
    "length_km",
    "incidents",
    "on_route",
    "nearby",
    "per_km_per_hour",
    "schools",
)


@dataclass(frozen=True)
class RouteRun:
    """One route's run (direction 1 or 2) as a line, EPSG:27700."""

    route: str
    direction: int
    line: BaseGeometry


def profile_routes(
    runs: Iterable[RouteRun],
    on_route: pd.DataFrame,
    *,
    window_hours: float,
    located: pd.DataFrame | None = None,
    buffer_m: float = 0.0,
    riders: Mapping[tuple[str, int], Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """Rank route runs by incidents per km per school-run hour.

    Parameters
    ----------
    runs
        The route runs.
    on_route
        Incidents recorded on a route: ``route``, ``direction`` (1, 2 or ``unknown``),
        ``weight``.
    window_hours
        School-run hours in the period (positive).
    located
        Point incidents (GeoDataFrame with ``weight``, EPSG:27700) counted within
        ``buffer_m`` of each run's line when ``buffer_m > 0``.
    riders
        ``(route, direction) -> school URNs`` whose pupils ride it.
    """
    if not window_hours > 0:
        msg = f"`window_hours` {window_hours!r} must be positive (school-run hours in the period)."
        raise ValueError(msg)
    riders = riders or {}
    key = on_route["route"].astype(str).str.upper() + "|" + on_route["direction"].astype(str)
    by_run = on_route["weight"].astype(float).groupby(key.to_numpy()).sum()
    pts = None
    if located is not None and buffer_m > 0 and len(located):
        g = located[located.geometry.notna() & (located.geometry.geom_type == "Point")]
        pts = (shapely.get_coordinates(g.geometry.to_numpy()), g["weight"].to_numpy(dtype=float))
    rows = []
    for r in runs:
        on = float(by_run.get(f"{r.route.upper()}|{r.direction}", 0.0))
        near = 0.0
        if pts is not None:
            zone = r.line.buffer(buffer_m)
            inside = shapely.contains_xy(zone, pts[0][:, 0], pts[0][:, 1])
            near = float(pts[1][inside].sum())
        km = r.line.length / 1000.0
        total = on + near
        rows.append(
            {
                "route": r.route,
                "direction": r.direction,
                "length_km": round(km, 3),
                "incidents": total,
                "on_route": on,
                "nearby": near,
                "per_km_per_hour": total / km / window_hours if km > 0 else float("nan"),
                "schools": sorted(riders.get((r.route, r.direction), ())),
            }
        )
    rows.sort(key=lambda d: (-np.nan_to_num(d["per_km_per_hour"]), d["route"], d["direction"]))
    for i, d in enumerate(rows, start=1):
        d["rank"] = i
    return [{k: d[k] for k in ROUTE_COLUMNS} for d in rows]


def profile_routes_for_service(svc: Any, *, buffer_m: float = 0.0) -> list[dict[str, Any]]:
    """:func:`profile_routes` over the service's store, bundled routes and school journeys
    (analyst view: exact weighted counts)."""
    from .._errors import NotFoundError
    from ..filters import IncidentFilter
    from ..geocode.routes import RouteIndex
    from ..publish.catalogue import AnalysisParams
    from ..publish.corridors import exposure_model
    from .place_lookup import _school_runs, route_incidents, route_line

    params = AnalysisParams()
    model = exposure_model(svc, params)
    inc = svc.all_incidents()
    inc = inc[IncidentFilter(preset="school-run").mask(inc)]
    idx = RouteIndex.load(svc.data_dir)
    runs: list[RouteRun] = []
    frames = []
    for route in idx.routes:
        for d in (1, 2):
            if (route, d) not in idx.runs:
                continue
            try:
                runs.append(RouteRun(route, d, route_line(svc.data_dir, route, d).line))
            except NotFoundError:
                continue
        frames.append(route_incidents(inc, route, data_dir=svc.data_dir).assign(route=route))
    on_route = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["route", "direction", "weight"])
    )
    riders: dict[tuple[str, int], set[str]] = {}
    # the morning run by bus (the riders); walks and the journeys home are not needed here
    for run in _school_runs(
        svc, params, public=False, school=None, modes=("bus",), windows=("morning",)
    ):
        if run.mode != "bus":
            continue
        for rr in runs:
            from .place_crossings import riders as riders_of

            if rr.route not in _routes_ridden(run):
                continue
            if not riders_of(rr.route, rr.line, [run]).empty:
                riders.setdefault((rr.route, rr.direction), set()).add(run.school_urn)
    located = inc[inc["source"].isin(["cris", "police_uk"])]
    return profile_routes(
        runs,
        on_route,
        window_hours=model.window_hours,
        located=located,
        buffer_m=buffer_m,
        riders={k: sorted(v) for k, v in riders.items()},
    )


def _routes_ridden(run: Any) -> set[str]:
    return {
        str(leg.get("route", "")).upper()
        for j in run.journeys
        if j.error is None
        for leg in j.legs
        if leg.get("mode") == "bus"
    }

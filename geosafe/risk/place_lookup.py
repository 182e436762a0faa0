"""The place report over the service's data (``geosafe place-report``, ``GET /places/report``).

Resolves the place (a hotspot id of the school-run exposure model, a gazetteer name, a point
with a radius, or a bus route and direction), gathers every demo-area school's journeys with
:func:`geosafe.publish.corridors.school_journeys` (the journeys the school reports use, so the
pupils match them) and reports with :mod:`geosafe.risk.place_crossings`. A bus route adds the
DIR/ASIF incidents recorded on it in the school run by direction, hour and stop, and the
hotspots and named places along it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from .. import datasets
from .._errors import NotFoundError, ValidationError
from ..area.build import attribution
from ..incident import CRS_BNG
from . import place_crossings as pr

__all__ = ["build_place_report", "place_index", "route_incidents", "route_line"]

log = logging.getLogger(__name__)

_TO_BNG = Transformer.from_crs("OGC:CRS84", CRS_BNG, always_xy=True)
_TO_WGS = Transformer.from_crs(CRS_BNG, "OGC:CRS84", always_xy=True)
_ALONG_M = 100.0
_MODES = ("walk", "bus")
#: The journey windows a place report covers.
WINDOWS = ("morning", "afternoon")
_WINDOW_TEXT = {
    "morning": "morning school run (arrive by 08:40)",
    "afternoon": "afternoon run home (leave at 15:15)",
}


def route_line(data_dir: Any, route: str, direction: int | None) -> Any:
    """The route's run (1 or 2) inside the demo area (:class:`~geosafe.geocode.routes.RouteStretch`)."""
    from ..geocode.routes import RouteIndex

    stretch, reason = RouteIndex.load(data_dir).stretch(route, direction=direction)
    if stretch is None:
        msg = f"`route` {route!r}: {reason}; pick a route from the bundled TfL sequences."
        raise NotFoundError(msg)
    return stretch


def _run_of_stop(data_dir: Any, route: str) -> dict[str, int]:
    from ..geocode.routes import RouteIndex, normalise_route

    idx = RouteIndex.load(data_dir)
    key = normalise_route(route)
    out: dict[str, int] = {}
    for run in (1, 2):
        if (key, run) not in idx.runs:
            continue
        seq = idx.stops_of(str(key), run)
        for col in ("Naptan_Atco", "Stop_Code_LBSL"):
            for code in seq[col].dropna().astype(str):
                out.setdefault(code.upper(), run)
    return out


def route_incidents(
    incidents: pd.DataFrame,
    route: str,
    *,
    data_dir: Any = None,
    sources: Sequence[str] = ("dir", "asif"),
) -> pd.DataFrame:
    """DIR/ASIF incidents recorded on ``route`` with their ``direction`` (the run whose stop
    sequence holds the incident's stop, or along which its recorded stretch runs; ``unknown``
    otherwise), ``hour`` (local, minute-timed records) and ``stop_code``."""
    from ..geocode.routes import normalise_route

    key = normalise_route(route)
    inc = incidents[incidents["source"].isin(list(sources))]
    inc = inc[inc["route"].map(lambda r: normalise_route(r) == key if r is not None else False)]
    stops = _run_of_stop(data_dir, str(key))
    lines: dict[int, Any] = {}
    for run in (1, 2):
        try:
            lines[run] = route_line(data_dir, str(key), run).line
        except NotFoundError:
            continue
    dirs = []
    for code, geom in zip(inc["stop_code"], inc.geometry, strict=True):
        d: Any = stops.get(str(code).upper()) if code else None
        if d is None and geom is not None and geom.geom_type == "LineString" and 1 in lines:
            xy = shapely.get_coordinates(geom)
            a = lines[1].project(shapely.Point(xy[0]))
            b = lines[1].project(shapely.Point(xy[-1]))
            d = 1 if b > a else 2 if b < a else None
        dirs.append(d if d is not None else "unknown")
    hours = [
        t.hour if p == "minute" else None
        for t, p in zip(inc["occurred_from"], inc["time_precision"], strict=True)
    ]
    return pd.DataFrame(
        {
            "source": inc["source"].to_numpy(),
            "direction": dirs,
            "hour": pd.array(hours, dtype="Int64"),
            "stop_code": inc["stop_code"].to_numpy(),
            "weight": inc["weight"].to_numpy(dtype=float),
        }
    )


def _school_runs(
    svc: Any,
    params: Any,
    *,
    public: bool,
    school: str | None,
    modes: Sequence[str] = _MODES,
    windows: Sequence[str] = WINDOWS,
) -> list[pr.SchoolRun]:
    """Every demo school's journeys per mode and window: ``morning`` to school arriving by
    08:40, ``afternoon`` home leaving at 15:15 (the school reports' bells)."""
    from ..publish.corridors import DEFAULT_ARRIVE_BY, DEFAULT_DEPART, school_journeys

    bells = {
        "morning": ("to-school", DEFAULT_ARRIVE_BY),
        "afternoon": ("from-school", DEFAULT_DEPART),
    }
    schools = datasets.schools(svc.data_dir, demo_only=True)
    names = dict(zip(schools["urn"].astype(str), schools["name"].astype(str), strict=True))
    runs = []
    # every walk first: routing buses first changed later walks on the demo store (see
    # docs/notes/places.md), and the school reports route walks on their own
    for mode in modes:
        for window in windows:
            direction, bell = bells[window]
            for urn in sorted(names):
                if school is not None and urn != school:
                    continue
                try:
                    js = school_journeys(
                        svc,
                        urn,
                        params,
                        mode=mode,
                        public=public,
                        direction=direction,
                        arrive_by=bell,
                    )
                except Exception as exc:  # a missing feed must not hide the walking answer
                    log.warning("no %s %s journeys for school %s: %s", window, mode, urn, exc)
                    continue
                runs.append(pr.SchoolRun(urn, names[urn], window, mode, js))
    return runs


def _resolve(
    svc: Any,
    model: Any,
    *,
    hotspot: str | None,
    place: str | None,
    point: tuple[float, float] | None,
    radius_m: float,
) -> tuple[BaseGeometry, dict[str, Any]]:
    given = [k for k, v in (("hotspot", hotspot), ("place", place), ("point", point)) if v]
    if len(given) != 1:
        msg = (
            f"give exactly one of `hotspot`, `place`, `point` or `route` (got {given or 'none'}); "
            "e.g. --hotspot HS01, --place 'Broomfield Park', --point LON,LAT --radius 250."
        )
        raise ValidationError(msg)
    if hotspot:
        by_id = {h.hotspot_id: h for h in model.hotspots}
        if hotspot not in by_id:
            msg = f"`hotspot` {hotspot!r} is not a current school-run hotspot; pick one of {sorted(by_id)}."
            raise NotFoundError(msg)
        h = by_id[hotspot]
        from .naming import place_namer

        return h.geometry, {
            "kind": "hotspot",
            "hotspot_id": h.hotspot_id,
            "name": place_namer(svc.data_dir).name(h.geometry),
            "active": h.active,
            "peak_density_km2": round(h.peak_density, 1),
        }
    if place:
        from ..geocode.places import Gazetteer

        hit = Gazetteer.load(svc.data_dir).best(place)
        if hit is None or hit.place is None:
            msg = f"`place` {place!r} is not in the gazetteer; give a street, park, station or stop name."
            raise NotFoundError(msg)
        p = hit.place
        r = max(float(p.precision_m), 50.0)
        return p.point.buffer(r), {"kind": p.kind, "name": p.name, "radius_m": r}
    assert point is not None
    if not 10.0 <= radius_m <= 2000.0:
        msg = f"`radius` {radius_m!r} must be between 10 and 2000 metres."
        raise ValidationError(msg)
    x, y = _TO_BNG.transform(point[0], point[1])
    return shapely.Point(x, y).buffer(radius_m), {
        "kind": "circle",
        "lon": point[0],
        "lat": point[1],
        "radius_m": radius_m,
    }


def _wgs_bounds(geom: BaseGeometry) -> list[float]:
    x0, y0, x1, y1 = geom.bounds
    lo = _TO_WGS.transform(x0, y0)
    hi = _TO_WGS.transform(x1, y1)
    return [round(lo[0], 6), round(lo[1], 6), round(hi[0], 6), round(hi[1], 6)]


def build_place_report(
    svc: Any,
    *,
    hotspot: str | None = None,
    place: str | None = None,
    point: tuple[float, float] | None = None,
    radius_m: float = 250.0,
    route: str | None = None,
    direction: int | None = None,
    role: str = "analyst",
    school_urn: str | None = None,
    modes: Sequence[str] = _MODES,
    windows: Sequence[str] = WINDOWS,
    scope: BaseGeometry | None = None,
    page: bool = False,
    interventions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The place report as a JSON-ready dict for ``role`` (``school``: only ``school_urn``'s
    pupils; ``neighbourhood``: all schools together, only in the cells touching its wards
    ``scope`` (EPSG:27700); both from published cells only).

    ``windows``: ``morning`` (to school) and/or ``afternoon`` (home). ``page``: also an HTML
    page with a map of the place on the offline basemap (key ``page``), drawing the
    ``interventions`` at the place (what ``role`` may see of the log:
    :func:`geosafe.protect.public_evaluation.for_viewer`)."""
    from ..publish.catalogue import AnalysisParams
    from ..publish.corridors import exposure_model

    public = role != "analyst"
    if role == "school" and not school_urn:
        raise ValidationError("a school role needs its `school_urn`.")
    bad = [w for w in windows if w not in WINDOWS]
    if bad or not windows:
        raise ValidationError(f"`window` {bad or windows!r}: use morning, afternoon or both.")
    if role == "neighbourhood" and scope is None:
        raise ValidationError("a neighbourhood role needs its wards (`scope`).")
    params = AnalysisParams()
    model = exposure_model(svc, params, public=public)
    runs = _school_runs(
        svc,
        params,
        public=public,
        school=school_urn if role == "school" else None,
        modes=modes,
        windows=windows,
    )
    out: dict[str, Any] = {
        "role": role,
        "window": " and ".join(_WINDOW_TEXT[w] for w in windows),
        "windows": list(windows),
    }
    if route:
        stretch = route_line(svc.data_dir, route, direction)
        geom = stretch.line
        out["place"] = {
            "kind": "bus_route",
            "route": stretch.route,
            "direction": stretch.run,
            "length_km": round(geom.length / 1000.0, 3),
            "bbox": _wgs_bounds(geom),
        }
        cross = pr.riders(stretch.route, geom, runs)
        out.update(_along(svc, model, geom, stretch.route, stretch.run, role, scope=scope))
        area = geom.buffer(_ALONG_M)
    else:
        area, desc = _resolve(
            svc, model, hotspot=hotspot, place=place, point=point, radius_m=radius_m
        )
        desc["bbox"] = _wgs_bounds(area)
        out["place"] = desc
        cross = pr.crossings(area, runs)
    if role == "analyst":
        out["schools"] = pr.summarise(cross)
        out["pupils"] = int(sum(s["pupils"] for s in out["schools"]))
    else:
        pub = pr.published_cells(area, runs, role=role, school_urn=school_urn, scope=scope)
        out["published"] = pub
        out["schools"] = pub["schools"]
        out["pupils"] = pub["pupils_at_least"]
    out["attribution"] = attribution(svc.data_dir)
    out["safe_places"] = _safe_places_near(svc, area)
    if page:
        from .place_page import place_page

        out["page"] = place_page(
            out,
            area,
            runs if role == "analyst" else [],
            data_dir=svc.data_dir,
            svc=svc,
            interventions=interventions,
        )
    return out


def _safe_places_near(
    svc: Any, area: BaseGeometry, within_m: float = 100.0
) -> list[dict[str, Any]]:
    """Safe places (public) within ``within_m`` of the place, nearest first."""
    from ..protect.safe_places import KINDS, public_safe_places

    places = public_safe_places(svc.published)  # the reader connection, for every role
    if places.empty:
        return []
    d = places.geometry.distance(area)
    near = places[d <= within_m].assign(distance_m=d[d <= within_m]).sort_values("distance_m")
    return [
        {
            "name": r["name"],
            "kind": KINDS.get(r["kind"], r["kind"]),
            "opening_hours": r["opening_hours"] if isinstance(r["opening_hours"], str) else None,
            "distance_m": round(float(r["distance_m"]), 0),
            "lon": r["lon"],
            "lat": r["lat"],
        }
        for _, r in near.iterrows()
    ]


def _along(
    svc: Any, model: Any, line: Any, route: str, run: int, role: str, *, scope: Any = None
) -> dict[str, Any]:
    """Hotspots, named places and DIR/ASIF incidents along a route's run (school run); for a
    neighbourhood (``scope``) only those inside its wards. The route's own incident records
    (by hour and stop) are the analyst's; other roles get :func:`_published_along`."""
    from ..filters import IncidentFilter
    from .naming import place_namer

    zone = line.buffer(_ALONG_M)
    hs = [h for h in model.hotspots if h.geometry.intersects(zone)]
    if scope is not None:
        hs = [h for h in hs if h.geometry.intersects(scope)]
    namer = place_namer(svc.data_dir)
    hotspots = [
        {
            "hotspot_id": h.hotspot_id,
            "place": namer.name(h.geometry),
            "km_along": round(line.project(h.geometry.centroid) / 1000.0, 2),
            "active": h.active,
            "peak_density_km2": round(h.peak_density, 1),
        }
        for h in sorted(hs, key=lambda h: line.project(h.geometry.centroid))
    ]
    from ..geocode.places import Gazetteer

    gaz = Gazetteer.load(svc.data_dir)
    near = [
        p
        for p in gaz.places
        if p.kind in ("park", "station", "school", "area")
        and p.point.distance(line) <= _ALONG_M
        and (scope is None or scope.intersects(p.point))
    ]
    places = sorted(
        {(p.name, p.kind, round(line.project(p.point) / 1000.0, 2)) for p in near},
        key=lambda t: t[2],
    )
    if role != "analyst":
        return {
            "hotspots_along": hotspots,
            "places_along": [{"name": n, "kind": k, "km_along": d} for n, k, d in places],
            "incidents": _published_along(svc, zone, scope),
        }
    inc = svc.all_incidents()
    inc = inc[IncidentFilter(preset="school-run").mask(inc)]
    if scope is not None:
        inc = inc[inc.geometry.intersects(scope).to_numpy()]
    ri = route_incidents(inc, route, data_dir=svc.data_dir)
    ri = ri[ri["direction"].astype(str) == str(run)]

    def counts(by: str) -> list[dict[str, Any]]:
        if ri.empty:
            return []
        g = ri.groupby(["source", by], dropna=False)["weight"].sum().reset_index()
        rows = []
        for src, k, v in zip(g["source"], g[by], g["weight"], strict=True):
            n = round(float(v), 2)
            key = None if pd.isna(k) else int(k) if by == "hour" else str(k)
            rows.append({"source": str(src), by: key, "incidents": n})
        return rows

    total = float(ri["weight"].sum()) if not ri.empty else 0.0
    return {
        "hotspots_along": hotspots,
        "places_along": [{"name": n, "kind": k, "km_along": d} for n, k, d in places],
        "incidents": {
            "school_run_total": round(total, 2),
            "by_hour": counts("hour"),
            "by_stop": counts("stop_code"),
        },
    }


#: The sources a route's incidents come from (bus driver and anti-social behaviour reports).
_ROUTE_SOURCES = ("dir", "asif")


def _published_along(svc: Any, zone: BaseGeometry, scope: BaseGeometry | None) -> dict[str, Any]:
    """What a school or neighbourhood is told of the DIR/ASIF incidents along a route: no
    count of the route's own records (no published table holds one), but the published
    school-run counts of the H3 cells the route's 100 m band touches (inside ``scope`` for a
    neighbourhood), summed as published (suppressed cells count nothing and are counted)."""
    from ..publish.catalogue import AnalysisParams
    from ..publish.published_counts import cell_counts

    counts, period = cell_counts(svc, AnalysisParams(preset="school-run"), sources=_ROUTE_SOURCES)
    area = zone if scope is None else zone.intersection(scope)
    cells = set(pr.place_cells(area)) if not area.is_empty else set()
    if scope is not None:
        cells = {c for c in cells if pr.cell_polygon(c).intersects(scope)}
    got = counts[counts["cell"].isin(cells)]
    shown = got["count"].fillna(0.0).sum()
    return {
        "school_run_total": None,
        "by_hour": [],
        "by_stop": [],
        "published_along": {
            "incidents_in_cells": int(shown),
            "cells": len(cells),
            "cells_with_incidents": int((~got["suppressed"] & (got["count"] > 0)).sum()),
            "cells_suppressed": int(got["suppressed"].sum()),
            "period": period.label if period is not None else None,
            "time_window": "school-run",
            "sources": list(_ROUTE_SOURCES),
        },
        "note": (
            "Counts of one route's own records are not published; this is the sum of the "
            "published school-run DIR/ASIF counts of the H3 cells within 100 m of the route "
            "(cells of 1-9 incidents are suppressed and count nothing here)."
        ),
    }


def place_index(svc: Any, *, public: bool) -> dict[str, Any]:
    """What may be asked about: the school-run hotspots and the bundled bus routes."""
    from ..geocode.routes import RouteIndex
    from ..publish.catalogue import AnalysisParams
    from ..publish.corridors import exposure_model

    model = exposure_model(svc, AnalysisParams(), public=public)
    return {
        "hotspots": [h.hotspot_id for h in model.hotspots],
        "routes": list(RouteIndex.load(svc.data_dir).routes),
        "usage": "ask with hotspot=ID, place=NAME, lon=&lat=[&radius=M] or route=R[&direction=1|2]",
    }

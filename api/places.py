"""Reverse lookup from a place over HTTP (issue 13 item 1).

- ``GET /places/report`` with no place: the hotspot ids and bus routes one may ask about.
- ``GET /places/report?hotspot=HS01 | place=NAME | lon=..&lat=..[&radius=M] |
  route=R[&direction=1|2][&mode=walk|bus|both]``: which schools' pupils pass through the
  place in the morning school run, on foot or by bus, when and how many
  (:func:`geosafe.risk.place_lookup.build_place_report`). Analysts get exact counts;
  a school gets only its own pupils and a neighbourhood all schools together, both as
  published H3 resolution-8 cell counts (1-9 suppressed, others rounded to 5).
- ``GET /places/bus-routes[?buffer=M]`` (analyst): routes and directions ranked by
  school-run incidents per km per hour, with the schools whose pupils ride them.
- ``GET /places/names?at=LON,LAT[&at=...][&radius=M]``: the package's one place name
  (:func:`geosafe.risk.naming.place_names`) of each point, or of a circle around it; the web
  page calls this instead of naming features itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from geosafe._errors import ValidationError

from .deps import ALL_ROLES, Svc, require_roles

__all__ = ["router"]

router = APIRouter(prefix="/places", tags=["places"])
Caller = Annotated[Any, Depends(require_roles(*ALL_ROLES))]
Analyst = Annotated[Any, Depends(require_roles("analyst"))]


@router.get("/report", summary="Which schools' pupils pass a place, and when")
def report(
    principal: Caller,
    svc: Svc,
    hotspot: Annotated[str | None, Query(max_length=20)] = None,
    place: Annotated[str | None, Query(max_length=200)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    radius: Annotated[float, Query(ge=10, le=2000)] = 250.0,
    route: Annotated[str | None, Query(max_length=10)] = None,
    direction: Annotated[int | None, Query(ge=1, le=2)] = None,
    mode: Annotated[Literal["walk", "bus", "both"], Query()] = "walk",
    window: Annotated[Literal["morning", "afternoon", "both"], Query()] = "both",
    f: Annotated[Literal["json", "html"], Query()] = "json",
) -> Any:
    """The place report for the caller's role (school: own school only; neighbourhood: the
    cells touching its wards only); ``f=html``: the printable page with a map."""
    from geosafe.protect.public_evaluation import for_viewer
    from geosafe.risk.place_lookup import build_place_report

    if (lon is None) != (lat is None):
        raise ValidationError("give both `lon` and `lat` (WGS84), or neither.")
    if not (hotspot or place or route or lon is not None):
        from geosafe.risk.place_lookup import place_index

        return place_index(svc.layers, public=principal.role != "analyst")
    doc = build_place_report(
        svc.layers,
        hotspot=hotspot,
        place=place,
        point=(lon, lat) if lon is not None and lat is not None else None,
        radius_m=radius,
        route=route,
        direction=direction,
        role=principal.role,
        school_urn=principal.school_urn if principal.role == "school" else None,
        modes=("walk", "bus") if mode == "both" else (mode,),
        windows=("morning", "afternoon") if window == "both" else (window,),
        scope=principal.area if principal.role == "neighbourhood" else None,
        page=f == "html",
        interventions=for_viewer(svc.layers, principal, svc.settings.data_dir)
        if f == "html"
        else None,
    )
    if f == "html":
        return HTMLResponse(doc["page"])
    return doc


@router.get("/bus-routes", summary="Bus routes ranked by school-run incidents per km")
def bus_routes(
    principal: Analyst,
    svc: Svc,
    buffer: Annotated[float, Query(ge=0, le=500)] = 0.0,
) -> dict[str, Any]:
    """Routes and directions ranked by incidents per km per school-run hour (analyst)."""
    from geosafe.risk.bus_routes import profile_routes_for_service

    return {"routes": profile_routes_for_service(svc.layers, buffer_m=buffer)}


@router.get("/names", summary="Plain place names of points (the reports' naming)")
def names(
    principal: Caller,
    svc: Svc,
    at: Annotated[list[str] | None, Query(max_length=200)] = None,
    radius: Annotated[float, Query(ge=0, le=2000)] = 0.0,
) -> dict[str, Any]:
    """One name per ``at`` (``LON,LAT``, WGS84), e.g. "Bounds Green Road by Bounds Green
    Station"; with ``radius`` the circle around each point is named."""
    from geosafe.risk.naming import names_of_points

    if not at:
        return {"names": [], "usage": "ask with at=LON,LAT (repeat up to 200 times)"}
    return {"names": names_of_points(at, radius_m=radius, data_dir=svc.settings.data_dir)}

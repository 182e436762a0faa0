"""Journeys over HTTP.

- ``POST /journeys``: a school, origins (postcodes or lon/lat points), mode and arrive-by
  time → the routes as GeoJSON, one feature per leg with its exposure.
- ``POST /journeys/report``: a whole school's report, run in the background; answers
  ``202`` with the job resource (``/jobs/{id}``) to poll.
- ``POST /journeys/placement``: the placement check (analyst only, ``X-Purpose``, audited):
  one home (a postcode in ``origins``, or a FAP ``referral``) and candidate schools; the
  JSON of :func:`geosafe.risk.placement.placement_json`, or with ``page`` a candidate's
  printable page. It supports a decision; it does not recommend one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from geosafe._lazy import LazyModule
from geosafe.publish import disclosure as privacy

from .deps import Svc, require_roles
from .jobs import owner_of
from .params import check_cost
from .security import AuditedRead, incident_read

# journeys are computed on demand: their libraries load with the first journey request
gc = LazyModule("geosafe.publish.corridors")
roles = LazyModule("geosafe.publish.roles")

__all__ = ["JourneyRequest", "PlacementRequest", "ReportRequest", "router"]

router = APIRouter(prefix="/journeys", tags=["journeys"])
Caller = Annotated[Any, Depends(require_roles("analyst", "school"))]


class Point(BaseModel):
    """A WGS84 point."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class JourneyRequest(BaseModel):
    """A journey query."""

    school: str = Field(description="School URN (6 digits)", pattern=r"^\d{6}$")
    origins: list[str | Point] = Field(
        min_length=1, max_length=200, description="Home postcodes (e.g. 'N22 7AY') or points"
    )
    mode: Literal["walk", "bus"] = Field("walk", description="walk, or bus with walking legs")
    arrive_by: str = Field("08:40", pattern=r"^\d{1,2}:\d{2}$", description="Local time HH:MM")
    date: str | None = Field(None, description="YYYY-MM-DD (default: next school day)")
    preset: str | None = Field("school-run", description="incident time window for exposure")

    def origin_values(self) -> list[str | tuple[float, float]]:
        """The origins as postcodes or ``(lon, lat)`` pairs, as the library takes them."""
        return [o if isinstance(o, str) else (o.lon, o.lat) for o in self.origins]


class ReportRequest(BaseModel):
    """A whole school's report."""

    school: str = Field(pattern=r"^\d{6}$")
    arrive_by: str = Field("08:40", pattern=r"^\d{1,2}:\d{2}$")
    mode: Literal["walk", "bus"] = "walk"


class PlacementRequest(BaseModel):
    """A placement check: one pupil's home and the candidate schools."""

    school: str | list[str] = Field(description="Candidate school URN(s)")
    origins: list[str] | None = Field(
        None, max_length=1, description="The pupil's home postcode (or give `referral`)"
    )
    referral: str | None = Field(None, max_length=100, description="A FAP referral_id")
    arrive_by: str = Field("08:45", pattern=r"^\d{1,2}:\d{2}$")
    depart: str = Field("15:15", pattern=r"^\d{1,2}:\d{2}$")
    date: str | None = Field(None, description="YYYY-MM-DD (default: the period's last day)")
    page: str | None = Field(None, description="A candidate URN: answer its printable page")


@router.post("", summary="Routes with exposure per leg")
def journeys(req: JourneyRequest, request: Request, principal: Caller, svc: Svc) -> Response:
    """Routes from each origin to the school, one GeoJSON feature per leg, with exposure
    (incidents per km² integrated along the leg, ``exposure``; metres, seconds)."""
    privacy.check_school(principal, req.school)
    check_cost(request, {}, journeys=len(req.origins))
    fc = gc.plan_journeys(
        svc.layers,
        school=req.school,
        origins=req.origin_values(),
        mode=req.mode,
        arrive_by=req.arrive_by,
        date=req.date,
        preset=req.preset,
        public=principal.role != "analyst",
    )
    fc = roles.publish_feature_collection(principal, fc)
    return Response(gc.dumps(fc), media_type="application/geo+json")


@router.post("/report", status_code=202, summary="A school's report (background job)")
def report(
    req: ReportRequest,
    request: Request,
    principal: Caller,
    svc: Svc,
) -> JSONResponse:
    """Start a school's report; poll the returned job (``Location`` header)."""
    privacy.check_school(principal, req.school)
    job = svc.jobs.submit(
        "school-report",
        gc.school_report,
        svc.layers,
        school=req.school,
        arrive_by=req.arrive_by,
        mode=req.mode,
        role=principal.role,
        owner=owner_of(principal),
    )
    url = str(request.url_for("job", job_id=job.id))
    return JSONResponse(job.as_dict(), status_code=202, headers={"Location": url})


Audited = Annotated[AuditedRead, Depends(incident_read())]


@router.post("/placement", summary="Placement check for a Fair Access Panel (analyst only)")
def placement(req: PlacementRequest, svc: Svc, audited: Audited) -> Response:
    """One pupil's walking and bus journeys to and from each candidate school, the places
    they cross and the referral's places near them. Supports a decision; does not recommend
    one."""
    from geosafe.risk import placement as pl
    from geosafe.risk.placement_page import placement_page

    check = gc.placement_check(
        svc.layers,
        schools=[req.school] if isinstance(req.school, str) else req.school,
        home_postcode=req.origins[0] if req.origins else None,
        referral=req.referral,
        arrive_by=req.arrive_by,
        depart=req.depart,
        date=req.date,
    )
    audited.record(1 if req.referral else 0)
    if req.page is not None:
        return Response(
            placement_page(check, req.page, network=gc.walk_network(svc.layers)),
            media_type="text/html",
        )
    return JSONResponse(pl.placement_json(check))

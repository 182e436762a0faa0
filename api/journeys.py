"""Journeys over HTTP.

- ``POST /journeys``: a school, origins (postcodes or lon/lat points), mode and arrive-by
  time → the routes as GeoJSON, one feature per leg with its exposure.
- ``POST /journeys/report``: a whole school's report, run in the background; answers
  ``202`` with the job resource (``/jobs/{id}``) to poll.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from geosafe.publish import corridors as gc
from geosafe.publish import disclosure as privacy
from geosafe.publish import roles

from .deps import Svc, require_roles
from .jobs import owner_of

__all__ = ["JourneyRequest", "ReportRequest", "router"]

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


class ReportRequest(BaseModel):
    """A whole school's report."""

    school: str = Field(pattern=r"^\d{6}$")
    arrive_by: str = Field("08:40", pattern=r"^\d{1,2}:\d{2}$")
    mode: Literal["walk", "bus"] = "walk"


def _origins(req: JourneyRequest) -> list[str | tuple[float, float]]:
    return [o if isinstance(o, str) else (o.lon, o.lat) for o in req.origins]


@router.post("", summary="Routes with exposure per leg")
def journeys(req: JourneyRequest, principal: Caller, svc: Svc) -> Response:
    """Routes from each origin to the school, one GeoJSON feature per leg, with exposure
    (incidents per km² integrated along the leg, ``exposure``; metres, seconds)."""
    privacy.check_school(principal, req.school)
    fc = gc.plan_journeys(
        svc.layers,
        school=req.school,
        origins=_origins(req),
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

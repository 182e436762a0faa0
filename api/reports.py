"""The problem profile over HTTP.

- ``GET /reports/profile?datetime=PERIOD[&audience=analyst|partners][&format=html|json]``:
  the profile page (self-contained HTML) or its headline, overlap and tables as JSON, for a
  whole published period (``2025``, ``2025-Q1``, ``2025-03``: the disclosure rules' periods;
  default: the last ended quarter up to the store's latest record).
  Analysts may instead give any ``from=YYYY-MM-DD&to=YYYY-MM-DD``; they get the analyst
  version (an ``X-Purpose`` header is required and the read is audited) or, when asked, the
  partners' version. School and neighbourhood roles always get the partners' version (10-5
  rule, no record-level content), scoped to their school (its referrals and list entries, and
  records naming the same people) or their wards.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from geosafe._errors import ValidationError
from geosafe._lazy import LazyModule
from geosafe.periods import published_period

from .deps import ALL_ROLES, Svc, require_roles
from .security import incident_access

report = LazyModule("geosafe.profile.report")  # the profile is computed on demand

__all__ = ["router"]

router = APIRouter(prefix="/reports", tags=["reports"])
Caller = Annotated[Any, Depends(require_roles(*ALL_ROLES))]


@router.get("/profile", summary="The problem profile (analyst or partners' version)")
def profile(
    request: Request,
    principal: Caller,
    svc: Svc,
    datetime: Annotated[
        str | None, Query(description="Published period: 2025, 2025-Q1, 2025-03")
    ] = None,
    from_: Annotated[
        dt.date | None, Query(alias="from", description="Analysts: first date")
    ] = None,
    to: Annotated[dt.date | None, Query(description="Analysts: last date (inclusive)")] = None,
    audience: Annotated[Literal["analyst", "partners"] | None, Query()] = None,
    format: Annotated[Literal["html", "json"], Query()] = "html",
) -> Response:
    """Build the profile for the caller's role and scope."""
    if datetime is not None:
        period = published_period(datetime)
        from_, to = period.first_day, period.last_day
    elif from_ is None and to is None:
        from_, to = report.default_period(svc.settings.db)
    elif from_ is None or to is None:
        msg = "give both `from` and `to` (analysts), or a published `datetime` such as 2025-Q1."
        raise ValidationError(msg)
    audited = None
    if principal.role == "analyst":
        aud = audience or "analyst"
        if aud == "analyst":
            audited = incident_access(request, principal, action="read")
    else:
        aud = "partners"  # whatever was asked: non-analysts never get the analyst version
    p = report.build_profile(
        svc.settings.db,
        from_date=from_,
        to_date=to,
        audience=aud,
        area=principal.area if principal.role == "neighbourhood" else None,
        scope_school=principal.school_urn if principal.role == "school" else None,
    )
    if audited is not None:
        audited.record(p.records_read)
    if format == "html":
        return HTMLResponse(report.render_html(p))
    return JSONResponse(p.to_json())

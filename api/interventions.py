"""The intervention log and its evaluation over HTTP (issue 13 item 4), analysts only.

- ``GET /interventions[?active_on=DATE]``: the log.
- ``POST /interventions``: log one (``what``, ``where`` {``kind``, ``ref``, ``radius``,
  ``direction``}, ``start``, ``end``, ``notes``).
- ``POST /interventions/end``: ``{"id": N, "on": DATE}``.
- ``GET /interventions/evaluation?id=N[&compare_ward=NAME...][&k=3][&pre_months=12]
  [&post_months=12][&ring=400][&sources=a,b]``: the difference-in-differences evaluation
  (:func:`geosafe.protect.evaluate.evaluate_logged`); without ``id``, the ids to ask about.
- ``GET /interventions/map``: the log as GeoJSON for the analyst's maps (areas, what, dates,
  the last evaluation).

An evaluation holds exact monthly counts of small areas, and the log free-text notes: other
roles get 403 on all of the above. Every role may ask:

- ``GET /interventions/published``: each intervention as published H3 resolution-8 cells with
  its months and the disclosure-controlled evaluation built from published counts only
  (:mod:`geosafe.protect.public_evaluation`: banded, or refused with the reason); a
  neighbourhood gets those whose cells touch its wards.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from .deps import ALL_ROLES, Svc, require_roles

__all__ = ["router"]

router = APIRouter(prefix="/interventions", tags=["interventions"])
Analyst = Annotated[Any, Depends(require_roles("analyst"))]
Anyone = Annotated[Any, Depends(require_roles(*ALL_ROLES))]


class Where(BaseModel):
    """Where an intervention ran."""

    kind: Literal["place", "point", "ward", "polygon", "route"]
    ref: str | list[str] = Field(description="place name, 'lon,lat', ward name(s), WKT, route")
    radius: float | None = Field(default=None, ge=10, le=5000)
    direction: int | None = Field(default=None, ge=1, le=2)


class NewIntervention(BaseModel):
    """An intervention to log."""

    what: str = Field(min_length=1, max_length=500)
    where: Where
    start: dt.date
    end: dt.date | None = None
    notes: str | None = Field(default=None, max_length=4000)


class EndIntervention(BaseModel):
    """The end of a running intervention."""

    id: int = Field(ge=1)
    on: dt.date


@router.get("", summary="The intervention log")
def log(
    principal: Analyst, svc: Svc, active_on: Annotated[dt.date | None, Query()] = None
) -> dict[str, Any]:
    """Every logged intervention (or those running on ``active_on``)."""
    from geosafe.protect.interventions import list_interventions

    items = list_interventions(svc.layers.store, active_on=active_on)
    return {"interventions": [i.as_dict() for i in items]}


@router.post("", summary="Log an intervention")
def add(principal: Analyst, svc: Svc, body: NewIntervention) -> dict[str, Any]:
    """Log what was done, where and when; returns it with its id."""
    from geosafe.protect.interventions import add_intervention, resolve_where

    where_ref, geom = resolve_where(
        body.where.kind,
        body.where.ref,
        radius_m=body.where.radius,
        direction=body.where.direction,
        data_dir=svc.settings.data_dir,
    )
    iv = add_intervention(
        svc.layers.store,
        what=body.what,
        where_kind=body.where.kind,
        where_ref=where_ref,
        geometry=geom,
        started_on=body.start,
        ended_on=body.end,
        notes=body.notes,
        recorded_by=getattr(principal, "name", None),
    )
    return iv.as_dict()


@router.post("/end", summary="Record the end of an intervention")
def end(principal: Analyst, svc: Svc, body: EndIntervention) -> dict[str, Any]:
    """Set the last day of a running intervention."""
    from geosafe.protect.interventions import end_intervention

    return end_intervention(svc.layers.store, body.id, ended_on=body.on).as_dict()


@router.get("/evaluation", summary="Change after an intervention (difference in differences)")
def evaluation(
    principal: Analyst,
    svc: Svc,
    id: Annotated[int | None, Query(ge=1)] = None,
    compare_ward: Annotated[list[str] | None, Query(max_length=20)] = None,
    k: Annotated[int, Query(ge=1, le=10)] = 3,
    pre_months: Annotated[int, Query(ge=1, le=60)] = 12,
    post_months: Annotated[int, Query(ge=1, le=60)] = 12,
    ring: Annotated[float, Query(ge=50, le=2000)] = 400.0,
    sources: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Before/after monthly counts against a comparison area, the estimate with its
    interval, displacement in a ring; without ``id``, the ids one may ask about."""
    from geosafe.protect.evaluate import evaluate_logged, evaluation_for_role
    from geosafe.protect.interventions import list_interventions

    evaluation_for_role(principal.role)
    if id is None:
        ids = [i.id for i in list_interventions(svc.layers.store)]
        return {"interventions": ids, "usage": "ask with id=N[&compare_ward=NAME...]"}
    return evaluate_logged(
        svc.layers.store,
        id,
        compare_wards=compare_ward,
        k=k,
        pre_months=pre_months,
        post_months=post_months,
        ring_m=ring,
        sources=[s.strip() for s in sources.split(",")] if sources else None,
        data_dir=svc.settings.data_dir,
        incidents=svc.layers.all_incidents(),
    )


@router.get("/map", summary="The intervention log as GeoJSON (analysts)")
def log_map(principal: Analyst, svc: Svc) -> dict[str, Any]:
    """Each intervention's area (WGS84), what, where, its dates and its last evaluation."""
    from geosafe.protect.interventions import interventions_geojson

    return interventions_geojson(svc.layers.store)


@router.get("/published", summary="Interventions and their evaluation from published counts")
def published(principal: Anyone, svc: Svc) -> dict[str, Any]:
    """Interventions as published cells, months and a banded evaluation (or why not)."""
    # from the published counts only, in the builder's process, kept per state and viewer
    return svc.layers.compute("published_interventions", principal=principal)  # type: ignore[no-any-return]

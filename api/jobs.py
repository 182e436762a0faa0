"""Background jobs: ``GET /jobs`` (the caller's jobs), ``GET /jobs/{id}`` (status, progress
and, when done, the result). Jobs are started by other routes (``POST /journeys/report``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from geosafe._errors import NotFoundError

from .deps import ALL_ROLES, Svc, require_roles

__all__ = ["owner_of", "router"]

router = APIRouter(prefix="/jobs", tags=["jobs"])
Caller = Annotated[Any, Depends(require_roles(*ALL_ROLES))]


def owner_of(principal: Any) -> str | None:
    """The owner key of a principal's jobs (its token id)."""
    return getattr(principal, "token_id", None)


@router.get("", summary="The caller's jobs")
def list_jobs(principal: Caller, svc: Svc) -> dict[str, Any]:
    """Every remembered job started with the caller's token, oldest first (no results)."""
    jobs = svc.jobs.list(owner=owner_of(principal))
    return {"jobs": [j.as_dict(with_result=False) for j in jobs]}


@router.get("/{job_id}", summary="A job's status and result")
def job(job_id: str, principal: Caller, svc: Svc) -> dict[str, Any]:
    """``state`` (queued, running, done, failed), ``progress`` (0-1), ``message``, and the
    ``result`` once done (``error`` if failed)."""
    status = svc.jobs.status(job_id)
    if status.owner != owner_of(principal):
        msg = f"job {job_id!r} does not exist for this token."
        raise NotFoundError(msg)
    return status.as_dict()

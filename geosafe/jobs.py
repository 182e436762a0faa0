"""Background jobs: long computations (a whole school's journey report) run on a small thread
pool; callers poll a :class:`JobStatus` for status and progress.

A job function takes a ``progress(fraction, message)`` callback as its keyword argument
``progress`` and returns its result (a JSON-serialisable value). Finished jobs are kept
until ``keep`` newer ones have finished.

With a ``store`` (:class:`JobStore`: the service's shared limits database), every status is
also written there, so a job started through one service worker can be polled through any
other; it runs in the worker that accepted it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from ._errors import GeosafeError, LimitExceededError, NotFoundError

__all__ = ["JobRunner", "JobStatus", "JobStore", "Progress"]

log = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed"]


class Progress(Protocol):
    """The callback a job reports progress through: ``fraction`` in 0..1."""

    def __call__(self, fraction: float, message: str = "") -> None: ...


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job.

    ``progress`` is the fraction done (0..1); ``result`` is set when ``state == "done"``,
    ``error`` when ``"failed"``. Times are UTC.
    """

    id: str
    kind: str
    owner: str | None
    state: State
    progress: float
    message: str
    created: dt.datetime
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    result: Any = None
    error: str | None = None

    def as_dict(self, *, with_result: bool = True) -> dict[str, Any]:
        """JSON-ready fields (times as ISO 8601)."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 4),
            "message": self.message,
            "created": self.created.isoformat(),
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "error": self.error,
        }
        if with_result:
            out["result"] = self.result
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], owner: str | None) -> JobStatus:
        """The status :meth:`as_dict` wrote (with its owner)."""

        def when(key: str) -> dt.datetime | None:
            return dt.datetime.fromisoformat(d[key]) if d.get(key) else None

        return cls(
            id=d["id"],
            kind=d["kind"],
            owner=owner,
            state=d["state"],
            progress=float(d["progress"]),
            message=d["message"],
            created=when("created") or _now(),
            started=when("started"),
            finished=when("finished"),
            result=d.get("result"),
            error=d.get("error"),
        )


class JobStore(Protocol):
    """Where several workers keep their jobs' statuses
    (:class:`geosafe.access.shared.SharedLimits`)."""

    def put_job(
        self, job_id: str, owner: str | None, state: str, status: dict[str, Any]
    ) -> None: ...

    def job(self, job_id: str) -> dict[str, Any] | None: ...

    def jobs(self, owner: str | None = None) -> list[dict[str, Any]]: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobRunner:
    """Runs jobs on ``workers`` threads and keeps their status.

    Parameters
    ----------
    workers
        Threads running jobs at once.
    max_queued
        Jobs waiting or running at once; more raise :class:`LimitExceededError`.
    keep
        Finished jobs remembered.
    store
        Shared statuses for several workers (see the module docstring).
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        max_queued: int = 32,
        keep: int = 200,
        store: JobStore | None = None,
    ) -> None:
        self.store = store
        self._written: dict[str, float] = {}
        self._pool: ThreadPoolExecutor | None = None
        self.workers = workers
        self.max_queued = max_queued
        self.keep = keep
        self._jobs: OrderedDict[str, JobStatus] = OrderedDict()
        self._lock = threading.Lock()

    def submit(
        self,
        kind: str,
        fn: Callable[..., Any],
        /,
        *args: Any,
        owner: str | None = None,
        **kwargs: Any,
    ) -> JobStatus:
        """Queue ``fn(*args, progress=..., **kwargs)``; returns its status (``queued``)."""
        with self._lock:
            active = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if active >= self.max_queued:
                msg = (
                    f"{active} jobs are already queued or running (limit {self.max_queued}); "
                    "wait for one to finish."
                )
                raise LimitExceededError(msg)
            job = JobStatus(
                id=uuid.uuid4().hex,
                kind=kind,
                owner=owner,
                state="queued",
                progress=0.0,
                message="queued",
                created=_now(),
            )
            self._jobs[job.id] = job
            self._share(job)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="geosafe-job")
            pool = self._pool
        pool.submit(self._run, job.id, fn, args, kwargs)
        return job

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs[job_id] = replace(self._jobs[job_id], **changes)
        self._share(job, progress_only=set(changes) <= {"progress", "message"})

    def _share(self, job: JobStatus, *, progress_only: bool = False) -> None:
        """Write the status to the shared store (progress at most twice a second)."""
        if self.store is None:
            return
        now = time.monotonic()
        if progress_only and now - self._written.get(job.id, 0.0) < 0.5:
            return
        self._written[job.id] = now
        try:
            self.store.put_job(job.id, job.owner, job.state, {**job.as_dict(), "owner": job.owner})
        except Exception:  # the job goes on; other workers see its next update
            log.warning("could not share the status of job %s", job.id, exc_info=True)
        if job.state in ("done", "failed"):
            self._written.pop(job.id, None)

    def _run(
        self, job_id: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self._update(job_id, state="running", started=_now(), message="running")

        def progress(fraction: float, message: str = "") -> None:
            self._update(job_id, progress=min(max(float(fraction), 0.0), 1.0), message=message)

        try:
            result = fn(*args, progress=progress, **kwargs)
        except GeosafeError as exc:
            self._update(job_id, state="failed", error=str(exc), finished=_now(), message="failed")
        except Exception as exc:  # a bug: keep the service up, log the traceback
            log.exception("job %s failed", job_id)
            self._update(
                job_id,
                state="failed",
                error=f"{type(exc).__name__}: {exc}",
                finished=_now(),
                message="failed",
            )
        else:
            self._update(
                job_id, state="done", progress=1.0, result=result, finished=_now(), message="done"
            )
        self._trim()

    def _trim(self) -> None:
        with self._lock:
            done = [k for k, j in self._jobs.items() if j.state in ("done", "failed")]
            for k in done[: max(0, len(done) - self.keep)]:
                del self._jobs[k]

    def status(self, job_id: str) -> JobStatus:
        """The job's current status (from the shared store when another worker runs it)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None and self.store is not None:
            shared = self.store.job(job_id)
            if shared is not None:
                job = JobStatus.from_dict(shared, shared.get("owner"))
        if job is None:
            msg = f"job {job_id!r} does not exist (finished jobs are kept for a while only)."
            raise NotFoundError(msg)
        return job

    def list(self, *, owner: str | None = None) -> list[JobStatus]:
        """Every remembered job (of ``owner`` if given), oldest first."""
        with self._lock:
            jobs = {j.id: j for j in self._jobs.values()}
        if self.store is not None:
            for d in self.store.jobs(owner):
                if d["id"] not in jobs:
                    jobs[d["id"]] = JobStatus.from_dict(d, d.get("owner"))
        ordered = sorted(jobs.values(), key=lambda j: j.created)
        return [j for j in ordered if owner is None or j.owner == owner]

    def wait(self, job_id: str, *, timeout_s: float = 60.0) -> JobStatus:
        """Block until the job finishes or ``timeout_s`` seconds pass; returns its status."""
        deadline = threading.Event()
        step = 0.02
        waited = 0.0
        while waited < timeout_s:
            job = self.status(job_id)
            if job.state in ("done", "failed"):
                return job
            deadline.wait(step)
            waited += step
        return self.status(job_id)

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for the running ones."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

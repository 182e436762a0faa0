"""Limits shared by every worker process of a service: rate buckets and heavy-computation
slots kept in a database (a SQLite file beside the store, or the ``geosafe_access`` schema
of the PostgreSQL store), so four uvicorn workers count one limit, not four.

- :meth:`SharedLimits.take`: one token-bucket step, read and written in a single
  ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (atomic on both backends: SQLite
  serialises writers; PostgreSQL locks the row), so concurrent workers never both spend the
  last request of a bucket;
- :meth:`SharedLimits.level`: how long a bucket is empty for (login throttling);
- :meth:`SharedLimits.lease` / :meth:`release`: a slot among ``n`` with a lease that its
  process renews while the work runs (:class:`Leases`); a slot whose worker died is free again
  once its lease runs out;
- :meth:`SharedLimits.put_job` / :meth:`job` / :meth:`jobs`: background jobs' statuses (a job
  runs in the worker that accepted it; any worker answers its polls).

Times are wall-clock seconds (``time.time``) passed by the caller: every worker of one
service sees the same clock.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from .db import PgSchema, SqliteFile, open_database

__all__ = ["Leases", "SharedLimits"]

log = logging.getLogger(__name__)

_COLUMNS: Final = """
CREATE TABLE IF NOT EXISTS rate_buckets (
    key   TEXT PRIMARY KEY,
    rate  DOUBLE PRECISION NOT NULL,
    level DOUBLE PRECISION NOT NULL,
    at    DOUBLE PRECISION NOT NULL,
    ok    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS heavy_slots (
    slot  INTEGER PRIMARY KEY,
    owner TEXT,
    pid   INTEGER,
    until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobs (
    id       TEXT PRIMARY KEY,
    owner    TEXT,
    state    TEXT NOT NULL,
    finished TEXT,
    status   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner);
"""

#: The bucket refilled to now (capped at its rate), in terms of the stored row and the new
#: request (``excluded``); a clock behind the stored one refills nothing.
_REFILLED: Final = (
    "(CASE WHEN rate_buckets.level + (CASE WHEN excluded.at > rate_buckets.at "
    "THEN excluded.at - rate_buckets.at ELSE 0 END) * excluded.rate / 60.0 > excluded.rate "
    "THEN excluded.rate ELSE rate_buckets.level + (CASE WHEN excluded.at > rate_buckets.at "
    "THEN excluded.at - rate_buckets.at ELSE 0 END) * excluded.rate / 60.0 END)"
)

_TAKE: Final = f"""
INSERT INTO rate_buckets (key, rate, level, at, ok) VALUES (?, ?, ?, ?, 1)
ON CONFLICT (key) DO UPDATE SET
    level = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
    at = CASE WHEN excluded.at > rate_buckets.at THEN excluded.at ELSE rate_buckets.at END,
    rate = excluded.rate,
    ok = CASE WHEN {_REFILLED} >= 1 THEN 1 ELSE 0 END
RETURNING level, ok
"""


class SharedLimits:
    """Rate buckets and heavy slots in a database every worker opens.

    Parameters
    ----------
    target
        A SQLite path (default beside the store: ``<db>.limits.sqlite``) or a PostgreSQL
        URL (tables in the ``geosafe_access`` schema; ``URL#schema`` names another).
    """

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self.db: SqliteFile | PgSchema = open_database(
            target,
            sqlite_schema=_COLUMNS,
            pg_schema="geosafe_access",
            pg_ddl=_COLUMNS,
            what="limits database",
            durable=False,  # rate buckets and leases: a power cut may lose the last updates
        )
        self._slots_made = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedLimits({self.db!r})"

    # -- rates ---------------------------------------------------------------------------
    def take(self, key: str, rate: float, now: float) -> float:
        """Spend one request of bucket ``key`` (``rate`` a minute, bursts up to ``rate``):
        0 when allowed, else the seconds until one is available."""
        with self.db.transaction() as con:
            level, ok = con.execute(_TAKE, (key, float(rate), float(rate) - 1.0, now)).fetchone()
        if ok:
            return 0.0
        return max(0.0, (1.0 - float(level)) * 60.0 / float(rate))

    def level(self, key: str, rate: float, now: float) -> float:
        """Seconds until bucket ``key`` holds a whole request again (0 when it does)."""
        with self.db.connect() as con:
            row = con.execute("SELECT level, at FROM rate_buckets WHERE key = ?", (key,)).fetchone()
        if row is None:
            return 0.0
        level = min(float(rate), float(row[0]) + max(0.0, now - float(row[1])) * rate / 60.0)
        return 0.0 if level >= 1.0 else (1.0 - level) * 60.0 / float(rate)

    def forget(self, before: float) -> int:
        """Drop buckets idle since ``before`` (a scan of addresses leaves many); how many."""
        with self.db.transaction() as con:
            return int(con.execute("DELETE FROM rate_buckets WHERE at < ?", (before,)).rowcount)

    # -- slots ---------------------------------------------------------------------------
    def _make_slots(self, slots: int) -> None:
        if self._slots_made >= slots:
            return
        with self.db.transaction() as con:
            for slot in range(slots):
                con.execute(
                    "INSERT INTO heavy_slots (slot, owner, until) VALUES (?, NULL, 0) "
                    "ON CONFLICT (slot) DO NOTHING",
                    (slot,),
                )
        self._slots_made = slots

    def lease(self, owner: str, slots: int, until: float, now: float) -> int | None:
        """Take a free slot (or one whose lease ran out before ``now``) among the first
        ``slots`` for ``owner`` until ``until``; ``None`` when every one is taken."""
        self._make_slots(slots)
        with self.db.transaction() as con:
            # the outer condition is checked again on the row itself: two workers that chose
            # the same free slot at once cannot both take it (PostgreSQL re-evaluates it
            # after the first commits; SQLite runs one writer at a time)
            row = con.execute(
                "UPDATE heavy_slots SET owner = ?, pid = ?, until = ? WHERE slot = ("
                "SELECT slot FROM heavy_slots WHERE slot < ? AND (owner IS NULL OR until < ?) "
                "ORDER BY slot LIMIT 1) AND (owner IS NULL OR until < ?) RETURNING slot",
                (owner, os.getpid(), until, slots, now, now),
            ).fetchone()
        return None if row is None else int(row[0])

    def renew(self, owner: str, until: float) -> None:
        """Extend every lease of ``owner``."""
        with self.db.transaction() as con:
            con.execute("UPDATE heavy_slots SET until = ? WHERE owner = ?", (until, owner))

    def release(self, owner: str, slot: int) -> None:
        """Give slot ``slot`` back (if ``owner`` still holds it)."""
        with self.db.transaction() as con:
            con.execute(
                "UPDATE heavy_slots SET owner = NULL, pid = NULL, until = 0 "
                "WHERE slot = ? AND owner = ?",
                (slot, owner),
            )

    def holders(self, now: float) -> list[tuple[int, str, int | None]]:
        """``(slot, owner, pid)`` of the slots held now."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT slot, owner, pid FROM heavy_slots WHERE owner IS NOT NULL AND until >= ? "
                "ORDER BY slot",
                (now,),
            ).fetchall()
        return [(int(r[0]), str(r[1]), None if r[2] is None else int(r[2])) for r in rows]

    # -- jobs ----------------------------------------------------------------------------
    def put_job(self, job_id: str, owner: str | None, state: str, status: dict[str, Any]) -> None:
        """Write a job's status (its JSON form) and forget all but the newest 1,000 finished."""
        body = json.dumps(status, default=str)
        with self.db.transaction() as con:
            con.execute(
                "INSERT INTO jobs (id, owner, state, finished, status) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                "finished = excluded.finished, status = excluded.status",
                (job_id, owner, state, status.get("finished"), body),
            )
            if state in ("done", "failed"):
                con.execute(
                    "DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ("
                    "SELECT finished FROM jobs WHERE finished IS NOT NULL "
                    "ORDER BY finished DESC LIMIT 1 OFFSET 1000)"
                )

    def job(self, job_id: str) -> dict[str, Any] | None:
        """A job's status as written by :meth:`put_job`; ``None`` when unknown."""
        with self.db.connect() as con:
            row = con.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def jobs(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every remembered job's status (of ``owner`` if given)."""
        sql = "SELECT status FROM jobs"
        args: tuple[str, ...] = ()
        if owner is not None:
            sql, args = sql + " WHERE owner = ?", (owner,)
        with self.db.connect() as con:
            rows = con.execute(sql, args).fetchall()
        return [dict(json.loads(r[0])) for r in rows]


class Leases:
    """This process's leases on shared slots, renewed by one background thread every
    ``lease_s / 3`` while any is held (a worker that dies stops renewing: its slots come back
    within ``lease_s``)."""

    def __init__(
        self, limits: SharedLimits, *, lease_s: float = 30.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.limits = limits
        self.lease_s = float(lease_s)
        self.clock = clock
        self.owner = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def try_take(self, slots: int) -> int | None:
        """A slot, or ``None`` when all ``slots`` are leased."""
        if self.owner.split("-", 1)[0] != str(os.getpid()):  # forked: a new owner
            self.owner = f"{os.getpid()}-{secrets.token_hex(6)}"
            self._held, self._thread = set(), None
        now = self.clock()
        slot = self.limits.lease(self.owner, slots, now + self.lease_s, now)
        if slot is not None:
            with self._lock:
                self._held.add(slot)
                self._start()
        return slot

    def give_back(self, slot: int) -> None:
        """Release ``slot``."""
        with self._lock:
            self._held.discard(slot)
        self.limits.release(self.owner, slot)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the renewing thread (the service is shutting down: its leases lapse within
        ``lease_s``); a process leaves no thread waking at exit."""
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            thread.join(timeout_s)

    def _start(self) -> None:
        if self._wake.is_set():  # stopped: no renewing any more
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._renew, name="geosafe-leases", daemon=True)
            self._thread.start()

    def _renew(self) -> None:
        while not self._wake.wait(self.lease_s / 3.0):
            with self._lock:
                held = bool(self._held)
            if not held:
                continue
            try:
                self.limits.renew(self.owner, self.clock() + self.lease_s)
            except Exception:  # the database is briefly unavailable: try again next beat
                log.warning("could not renew heavy-slot leases of %s", self.owner, exc_info=True)

"""Limits, tokens, sessions and the audit log shared by several worker processes, on both
backends (a SQLite file, a PostgreSQL database).

Worker processes are real processes (``multiprocessing`` spawn), each opening the database
itself, as uvicorn workers do. Counts are checked against what the processes themselves
observed (allowed requests, the intervals they held a slot), not against the database's
own bookkeeping.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import pytest

from geosafe._errors import AuthenticationError, LimitExceededError
from geosafe.access.audit import AuditLog
from geosafe.access.limits import HeavyGate, LoginThrottle, RateLimiter
from geosafe.access.principals import PrincipalCache
from geosafe.access.shared import Leases, SharedLimits
from geosafe.access.tokens import TokenStore

_CTX = mp.get_context("spawn")


# -- child processes (module level: spawn imports them) -------------------------------------
def _spend(target: str, key: str, rate: float, now: float, tries: int, start: float) -> int:
    """Wait for ``start`` (so every process hits at once), then try ``tries`` requests."""
    limiter = RateLimiter(rate, shared=SharedLimits(target), clock=lambda: now)
    time.sleep(max(0.0, start - time.time()))
    return sum(limiter.hit(key) == 0.0 for _ in range(tries))


def _hold(target: str, slots: int, rounds: int, hold_s: float) -> list[tuple[float, float]]:
    """Take a heavy slot ``rounds`` times, hold it ``hold_s``; the intervals held."""
    gate = HeavyGate(slots, wait_s=60.0, leases=Leases(SharedLimits(target), lease_s=30.0))
    out = []
    for _ in range(rounds):
        ticket = gate.acquire()
        t0 = time.time()
        time.sleep(hold_s)
        t1 = time.time()
        gate.release(ticket)
        out.append((t0, t1))
    return out


def _take_and_die(target: str, lease_s: float) -> None:
    """Take a slot and exit without giving it back (a worker killed mid-computation)."""
    leases = Leases(SharedLimits(target), lease_s=lease_s)
    assert leases.try_take(1) is not None
    os._exit(0)


def _in_processes(fn, args_list):  # type: ignore[no-untyped-def]
    with _CTX.Pool(len(args_list)) as pool:
        return pool.starmap(fn, args_list)


# -- rate limits -------------------------------------------------------------------------------
def test_a_rate_limit_is_counted_once_across_processes(shared_target: str) -> None:
    # 4 processes x 25 requests at the same instant against a bucket of 30: exactly 30 pass
    # (each process counting alone would let 4 x 25 = 100 through)
    now = time.time()
    start = now + 2.0
    allowed = _in_processes(
        _spend, [(shared_target, "token-a", 30.0, now, 25, start) for _ in range(4)]
    )
    assert sum(allowed) == 30, allowed
    # the bucket refills at its rate: 10 s later, 5 more
    assert _spend(shared_target, "token-a", 30.0, now + 10.0, 20, 0.0) == 5
    # another key has its own bucket
    assert _spend(shared_target, "token-b", 30.0, now, 40, 0.0) == 30


def test_rate_bucket_arithmetic_against_a_hand_count(shared_target: str) -> None:
    shared = SharedLimits(shared_target)
    t = 1_000_000.0
    assert [shared.take("k", 6, t) for _ in range(7)] == [0, 0, 0, 0, 0, 0, 10.0]
    assert shared.take("k", 6, t + 5.0) == pytest.approx(5.0)  # half a request refilled
    assert shared.take("k", 6, t + 10.0) == 0.0  # a whole one
    assert shared.take("k", 6, t + 9.0) == pytest.approx(10.0)  # a clock behind: no refill
    assert shared.level("k", 6, t + 70.0) == 0.0
    assert shared.level("never-seen", 6, t) == 0.0


def test_failed_logins_are_counted_across_workers(shared_target: str) -> None:
    a = LoginThrottle(3, shared=SharedLimits(shared_target))
    b = LoginThrottle(3, shared=SharedLimits(shared_target))
    a.check("10.0.0.9")
    a.failed("10.0.0.9")
    b.failed("10.0.0.9")
    a.failed("10.0.0.9")
    with pytest.raises(LimitExceededError) as err:
        b.check("10.0.0.9")  # the other worker saw three failures in all
    assert (err.value.retry_after or 0) >= 1
    assert "GEOSAFE_ACCESS_LOGIN_FAILURES_PER_MINUTE" in str(err.value)
    b.check("10.0.0.10")  # another address is not affected


# -- heavy computations ------------------------------------------------------------------------
def test_heavy_slots_are_shared_across_processes(shared_target: str) -> None:
    intervals = [iv for ivs in _in_processes(_hold, [(shared_target, 2, 2, 0.4)] * 4) for iv in ivs]
    assert len(intervals) == 8
    # the most intervals open at any instant, from the processes' own clocks
    events = sorted([(t0, 1) for t0, _ in intervals] + [(t1, -1) for _, t1 in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2, intervals  # never 3 or 4 (per-process gates would allow 8)


def test_a_dead_workers_slot_comes_back_when_its_lease_runs_out(shared_target: str) -> None:
    proc = _CTX.Process(target=_take_and_die, args=(shared_target, 2.0))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    shared = SharedLimits(shared_target)
    assert len(shared.holders(time.time())) == 1
    gate = HeavyGate(1, wait_s=0.2, leases=Leases(shared, lease_s=2.0))
    with pytest.raises(LimitExceededError, match="GEOSAFE_ACCESS_HEAVY_SLOTS"):
        gate.acquire()  # still leased by the dead worker
    gate = HeavyGate(1, wait_s=10.0, leases=Leases(shared, lease_s=2.0))
    t0 = time.time()
    ticket = gate.acquire()  # free once the lease ran out
    assert ticket == 0 and time.time() - t0 < 10.0
    gate.release(ticket)
    assert shared.holders(time.time()) == []


def test_a_live_lease_is_renewed_while_the_work_runs(shared_target: str) -> None:
    shared = SharedLimits(shared_target)
    mine = Leases(shared, lease_s=1.5)
    slot = mine.try_take(1)
    assert slot == 0
    time.sleep(2.5)  # longer than the lease: renewed in the background meanwhile
    other = Leases(shared, lease_s=1.5)
    assert other.try_take(1) is None
    mine.give_back(slot)
    assert other.try_take(1) == 0


# -- tokens, sessions, audit -------------------------------------------------------------------
def test_tokens_and_sessions_are_seen_by_every_worker(shared_target: str) -> None:
    one, two = TokenStore(shared_target), TokenStore(shared_target)
    cache = PrincipalCache(two)
    issued = one.create("analyst", label="alice", rate_per_minute=12)
    assert cache.authenticate(issued.token).rate_per_minute == 12
    value, _ = one.open_session(issued.token)  # logged in through worker one...
    assert two.authenticate_session(value).label == "alice"  # ...seen by worker two
    hood = one.create("neighbourhood", area_codes=["E05000267"], label="ward")
    assert two.authenticate(hood.token).area is not None
    one.revoke("alice")  # revoked through worker one: worker two's cache forgets it
    with pytest.raises(AuthenticationError, match="revoked"):
        cache.authenticate(issued.token)
    with pytest.raises(AuthenticationError):
        two.authenticate_session(value)


def test_audit_log_chain_on_both_backends(shared_target: str, tmp_path: Path) -> None:
    target = shared_target if "://" in shared_target else str(tmp_path / "audit.sqlite")
    one, two = AuditLog(target), AuditLog(target)
    for i in range(3):
        (one if i % 2 else two).record(
            "read", label="alice", role="analyst", endpoint="/x", params={"q": "5%"}, records=i
        )
    assert one.count() == two.count() == 3
    assert one.check().ok and [e.records for e in two.entries()] == [0, 1, 2]
    with pytest.raises(Exception, match="append-only"):
        if "://" in target:
            import psycopg

            with psycopg.connect(target) as con:
                con.execute("DELETE FROM geosafe_audit.audit")
        else:
            import sqlite3

            with sqlite3.connect(target) as con:
                con.execute("DELETE FROM audit")


def _report(n: int, *, progress) -> dict[str, int]:  # type: ignore[no-untyped-def]
    for i in range(n):
        progress(i / n, f"step {i}")
        time.sleep(0.01)
    return {"steps": n}


def test_a_job_started_on_one_worker_is_polled_on_another(shared_target: str) -> None:
    from geosafe.jobs import JobRunner

    one = JobRunner(store=SharedLimits(shared_target))
    two = JobRunner(store=SharedLimits(shared_target))
    job = one.submit("school-report", _report, 20, owner="token-1")
    assert two.status(job.id).state in ("queued", "running", "done")
    end = time.monotonic() + 30
    while two.status(job.id).state != "done" and time.monotonic() < end:
        time.sleep(0.05)
    seen = two.status(job.id)
    assert seen.state == "done" and seen.result == {"steps": 20} and seen.owner == "token-1"
    assert [j.id for j in two.list(owner="token-1")] == [job.id]
    assert two.list(owner="token-2") == []
    one.shutdown()


def test_token_create_sets_a_rate_for_the_token(
    shared_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from geosafe.cli import main

    audit = shared_target if "://" in shared_target else str(tmp_path / "audit.sqlite")
    code = main(
        ["token", "create", "--role", "analyst", "--label", "desk", "--rate-per-minute", "7",
         "--token-db", shared_target, "--audit-db", audit, "--db", str(tmp_path / "g.db")]
    )  # fmt: skip
    assert code == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert TokenStore(shared_target).authenticate(token).rate_per_minute == 7
    assert AuditLog(audit).entries(action="token")[-1].params["rate_per_minute"] == 7


def test_stopped_leases_leave_no_thread(shared_target: str) -> None:
    """``Leases.stop`` (the app's shutdown) ends the renewing thread; no new one starts."""
    leases = Leases(SharedLimits(shared_target), lease_s=30.0)
    slot = leases.try_take(1)
    thread = leases._thread
    assert slot is not None and thread is not None and thread.is_alive()
    leases.stop()
    assert not thread.is_alive()
    leases.give_back(slot)
    assert leases.try_take(1) is not None
    assert leases._thread is None

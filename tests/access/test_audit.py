"""The audit log: append-only, tamper-evident, never blocked by a running import."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from geosafe._errors import ValidationError
from geosafe.access.audit import AuditLog


def _row(log: AuditLog, n: int = 1) -> int:
    return log.record(
        "read",
        label="alice",
        role="analyst",
        endpoint="/ogc/collections/incidents/items",
        params={"limit": 10},
        records=n,
        purpose="case review",
    )


def test_record_and_read_back(audit: AuditLog) -> None:
    first = _row(audit, 3)
    second = audit.record(
        "import", label="cli:ops", role="operator", endpoint="geosafe import", records=120
    )
    rows = audit.entries()
    assert [r.id for r in rows] == [first, second]
    assert rows[0].params == {"limit": 10} and rows[0].purpose == "case review"
    assert rows[0].records == 3 and rows[1].records == 120
    assert [r.id for r in audit.entries(action="import")] == [second]
    assert [r.id for r in audit.entries(limit=1)] == [second]
    assert audit.count() == 2


def test_update_and_delete_are_refused(audit: AuditLog) -> None:
    _row(audit)
    with sqlite3.connect(audit.path) as con:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("UPDATE audit SET label = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("DELETE FROM audit")
    assert audit.entries()[0].label == "alice"


def test_verify_detects_edits_behind_the_triggers(audit: AuditLog) -> None:
    for n in range(5):
        _row(audit, n)
    assert audit.verify() == []
    with sqlite3.connect(audit.path) as con:
        con.execute("DROP TRIGGER audit_no_update")
        con.execute("UPDATE audit SET records = 0 WHERE id = 3")
    assert audit.verify() == [3]


def test_unknown_action(audit: AuditLog) -> None:
    with pytest.raises(ValidationError, match="'peek' is not an audit action"):
        audit.record("peek", label="x", role="analyst", endpoint="/")


def test_not_blocked_by_an_import_holding_the_store(tmp_path: Path, audit: AuditLog) -> None:
    """A store import holding an exclusive write lock does not delay audit writes."""
    store = sqlite3.connect(tmp_path / "geosafe.db", isolation_level=None)
    store.execute("CREATE TABLE incidents (x)")
    store.execute("BEGIN EXCLUSIVE")
    store.execute("INSERT INTO incidents VALUES (1)")
    done = threading.Event()

    def write() -> None:
        _row(audit)
        done.set()

    threading.Thread(target=write, daemon=True).start()
    # Held lock on the store: the audit write must finish while it is still held.
    finished = done.wait(timeout=20)
    store.execute("ROLLBACK")
    store.close()
    assert finished and audit.count() == 1


def test_concurrent_writers_keep_the_chain(audit: AuditLog) -> None:
    def work() -> None:
        for _ in range(20):
            _row(audit)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert audit.count() == 80
    assert audit.verify() == []
    ids = [r.id for r in audit.entries()]
    assert ids == sorted(ids) and len(set(ids)) == 80

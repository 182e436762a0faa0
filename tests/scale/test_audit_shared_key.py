"""The audit key given once by the deployment (``GEOSAFE_AUDIT_KEY_FILE``), shared by every
worker on every machine, with the anchored head in the audit database: writers with their own
key folders (as on separate machines) write one verifiable log; a head moved without the key,
deleted rows and a wrong or exposed key are each caught."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from geosafe._errors import StoreError
from geosafe.access.audit import AuditLog, SharedAuditKey

ROWS = 4


def _key_file(path: Path, key: bytes | None = None) -> Path:
    path.write_text((key or secrets.token_bytes(32)).hex() + "\n")
    path.chmod(0o600)
    return path


def _target(backend: str, tmp_path: Path, pg_database: Callable[[], str] | None) -> str:
    if backend == "sqlite":
        return str(tmp_path / "audit.sqlite")
    assert pg_database is not None
    return pg_database()


def _write(log: AuditLog, who: str, n: int = ROWS) -> None:
    for i in range(n):
        log.record("read", label=who, role="analyst", endpoint="/ogc", records=i, purpose="p")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_workers_with_their_own_folders_write_one_log_under_the_given_key(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    pg = request.getfixturevalue("pg_database") if backend == "postgres" else None
    target = _target(backend, tmp_path, pg)
    monkeypatch.setenv("GEOSAFE_AUDIT_KEY_FILE", str(_key_file(tmp_path / "secret.key")))
    logs = []
    for machine in ("a", "b"):  # each "machine" has its own home: no shared key folder
        monkeypatch.setenv("GEOSAFE_AUDIT_KEY_DIR", str(tmp_path / machine))
        logs.append(AuditLog(target))
    assert all(isinstance(log.key, SharedAuditKey) for log in logs)
    for _ in range(2):
        _write(logs[0], "alice", 2)
        _write(logs[1], "bob", 2)
    for log in logs:
        result = log.check()
        assert result.ok and result.rows == 8, result.problems
    # no key was written anywhere by the workers: the only key is the deployment's
    assert not list(tmp_path.glob("*/*.key")) and not Path(f"{target}.key").exists()
    # a head moved by someone who can write the database but has no key
    with logs[0]._connect() as con:
        con.execute("UPDATE audit_head SET count = count - 1")
    assert any("altered" in p for p in logs[1].check().problems)


def test_deleted_rows_at_the_end_are_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOSAFE_AUDIT_KEY_FILE", str(_key_file(tmp_path / "secret.key")))
    log = AuditLog(tmp_path / "audit.sqlite")
    _write(log, "alice", 5)
    with sqlite3.connect(tmp_path / "audit.sqlite") as con:  # as the file's writer would
        con.execute("DROP TRIGGER audit_no_delete")
        con.execute("DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)")
    problems = log.check().problems
    assert any("1 row(s) missing" in p for p in problems), problems


def test_an_exposed_or_short_key_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _key_file(tmp_path / "secret.key")
    key.chmod(0o644)
    monkeypatch.setenv("GEOSAFE_AUDIT_KEY_FILE", str(key))
    with pytest.raises(StoreError, match="chmod 600"):
        _write(AuditLog(tmp_path / "audit.sqlite"), "alice", 1)
    key.write_text("short")
    key.chmod(0o600)
    with pytest.raises(StoreError, match="64 hex"):
        _write(AuditLog(tmp_path / "audit.sqlite"), "alice", 1)


def test_a_log_keyed_by_its_own_file_is_taken_over_only_with_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.sqlite"
    monkeypatch.delenv("GEOSAFE_AUDIT_KEY_FILE", raising=False)
    old = AuditLog(path)
    _write(old, "alice", 3)
    own_key = old.key.load()["key"]
    monkeypatch.setenv("GEOSAFE_AUDIT_KEY_FILE", str(_key_file(tmp_path / "other.key")))
    with pytest.raises(StoreError, match="put that file's `key` value"):
        _write(AuditLog(path), "bob", 1)
    monkeypatch.setenv("GEOSAFE_AUDIT_KEY_FILE", str(_key_file(tmp_path / "same.key", own_key)))
    shared = AuditLog(path)
    _write(shared, "bob", 2)
    result = shared.check()
    assert result.ok and result.rows == 5, result.problems

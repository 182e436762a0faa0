"""A new SQLite store is created in one transaction (tables and schema version together):
the same schema, row for row in ``sqlite_master``, as the statement-by-statement creation it
replaces; the same settings; nothing left after a failure; and several processes opening
one new file at once all get the store (before: "database is locked" from the WAL switch,
or "schema version 0" from tables seen before their version)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from geosafe._errors import StoreError
from geosafe.profile import tables as profile_tables
from geosafe.store import published
from geosafe.store import sqlite as gsqlite
from geosafe.store.sqlite import Store

ROOT = Path(__file__).resolve().parents[2]


def _step_by_step(db: Path) -> None:
    """A new store as ``Store()`` made it before: each statement in its own transaction."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for statement in gsqlite._PRAGMAS:
            conn.execute(statement)
        conn.executescript(gsqlite._SCHEMA + profile_tables.SCHEMA)
        published.ensure_sqlite(conn)
        conn.executescript(gsqlite._DEFERRABLE)
        conn.execute(f"PRAGMA user_version = {gsqlite.SCHEMA_VERSION}")
    finally:
        conn.close()


def _schema(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(db)
    try:
        return {
            "master": conn.execute(
                "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master ORDER BY rowid"
            ).fetchall(),
            **{
                p: conn.execute(f"PRAGMA {p}").fetchone()[0]
                for p in ("user_version", "page_size", "journal_mode", "auto_vacuum", "encoding")
            },
        }
    finally:
        conn.close()


def test_new_store_equals_the_step_by_step_creation(tmp_path: Path) -> None:
    reference = tmp_path / "reference.sqlite"
    _step_by_step(reference)
    new = tmp_path / "new.sqlite"
    Store(new).close()
    expected = _schema(reference)
    assert len(expected["master"]) > 20  # type: ignore[arg-type]
    assert _schema(new) == expected
    assert expected["user_version"] == gsqlite.SCHEMA_VERSION
    assert expected["journal_mode"] == "wal" and expected["page_size"] == 16384


def test_store_connection_keeps_its_durability_settings(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.sqlite")
    try:
        got = {
            p: store._conn.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("journal_mode", "synchronous", "temp_store", "cache_size")
        }
    finally:
        store.close()
    assert got == {"journal_mode": "wal", "synchronous": 1, "temp_store": 2, "cache_size": -65536}


def test_a_failed_creation_leaves_no_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a schema is never left behind (it would be refused as another version's)."""
    db = tmp_path / "new.sqlite"
    made = []
    statements = gsqlite._statements

    def failing(script: str) -> Iterator[str]:
        for n, statement in enumerate(statements(script)):
            if n == 3:
                raise sqlite3.OperationalError("disk I/O error (simulated)")
            made.append(statement)
            yield statement

    monkeypatch.setattr(gsqlite, "_statements", failing)
    with pytest.raises(StoreError, match="simulated"):
        Store(db)
    assert len(made) == 3
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    finally:
        conn.close()
    monkeypatch.undo()
    Store(db).close()
    reference = tmp_path / "reference.sqlite"
    _step_by_step(reference)
    assert _schema(db) == _schema(reference)


_OPENER = """
import sys, time
from geosafe.store.sqlite import Store
start = float(sys.argv[2])
while time.time() < start:
    pass
try:
    Store(sys.argv[1]).close()
    print("ok")
except Exception as exc:
    print(f"failed: {exc}")
"""


def test_processes_opening_one_new_file_at_once_all_get_the_store(tmp_path: Path) -> None:
    reference = tmp_path / "reference.sqlite"
    _step_by_step(reference)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GEOSAFE_")}
    answers = []
    for k in range(5):
        db = tmp_path / f"new{k}.sqlite"
        start = time.time() + 0.5  # each process past its imports, then all at once
        argv = [sys.executable, "-c", _OPENER, str(db), str(start)]
        procs = [
            subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            for _ in range(3)
        ]
        answers += [p.communicate(timeout=120)[0].strip() for p in procs]
        assert _schema(db) == _schema(reference)
    assert answers == ["ok"] * len(answers)

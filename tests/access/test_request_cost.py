"""The request path's cost without weaker checks (issue 16 item 1): item reads of a built
layer need no heavy slot, concurrent audit rows are group-committed yet each written once,
in order and chained, and the access files' kept write connection follows a removed file."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geosafe.access import AccessSettings
from geosafe.access.audit import AuditLog
from geosafe.access.db import SqliteFile

from .conftest import SCHOOL_A, WARDS


def test_built_layer_is_served_while_every_heavy_slot_is_taken(
    demo_db: Path, data_dir: Path, tmp_path: Path
) -> None:
    from api import create_app
    from api.settings import ServiceSettings
    from geosafe.access.tokens import create_demo_tokens

    settings = ServiceSettings(db=demo_db, data_dir=data_dir, work_dir=tmp_path / "work")
    access = AccessSettings(heavy_slots=1, heavy_wait_s=0.05, token_db=tmp_path / "tokens.sqlite")
    app = create_app(settings, access=access)
    toks = create_demo_tokens(app.state.access.tokens, school_urn=SCHOOL_A, area_codes=list(WARDS))
    auth = {"Authorization": f"Bearer {toks['analyst']}"}
    built = "/ogc/collections/h3-cells/items?limit=5&preset=all-day&resolution=9"
    other = "/ogc/collections/h3-cells/items?limit=5&preset=all-day&resolution=7"
    gate = app.state.access.heavy
    with TestClient(app) as c:
        assert c.get(built, headers=auth).status_code == 200
        ticket = gate.acquire()  # another computation holds the only slot
        try:
            assert c.get(built, headers=auth).status_code == 200  # cached: no slot needed
            r = c.get(other, headers=auth)  # must be built: waits for the slot, then 429
            assert r.status_code == 429, r.text
            assert "GEOSAFE_ACCESS_HEAVY_SLOTS" in r.json()["detail"]
            assert r.headers["retry-after"] == "1"
        finally:
            gate.release(ticket)
        assert c.get(other, headers=auth).status_code == 200
        assert gate.running == 0 and gate.peak == 1


def _record(audit: AuditLog, i: int) -> tuple[int, int]:
    row_id = audit.record(
        "read",
        label=f"client-{i}",
        role="analyst",
        endpoint="/ogc/collections/incidents/items",
        params={"offset": i},
        records=i,
        purpose="load",
    )
    return i, row_id


def test_concurrent_audit_rows_are_each_written_once_in_order_and_chained(tmp_path: Path) -> None:
    path = tmp_path / "store.audit.sqlite"
    audit, worker = AuditLog(path), AuditLog(path)  # two objects: as two service workers
    with ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda i: _record(audit if i % 3 else worker, i), range(240)))
    entries = {e.id: e for e in audit.entries()}
    assert len(entries) == 240 and len({row_id for _, row_id in got}) == 240
    for i, row_id in got:  # each caller got the id of its own row
        e = entries[row_id]
        assert (e.label, e.params, e.records) == (f"client-{i}", {"offset": i}, i)
    for own in (lambda i: i % 3, lambda i: not i % 3):  # one object's rows: ids follow time
        stamps = [entries[k].at for k in sorted(entries) if own(entries[k].records)]
        assert stamps == sorted(stamps)
    check = audit.check()
    assert check.ok and check.rows == 240, check.problems
    with sqlite3.connect(path) as con:  # the chain links every row to the one before it
        rows = con.execute("SELECT prev_hash, row_hash FROM audit ORDER BY id").fetchall()
    assert all(rows[k][0] == rows[k - 1][1] for k in range(1, len(rows)))


def test_a_failed_group_commit_writes_none_of_its_rows_and_tells_every_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = AuditLog(tmp_path / "store.audit.sqlite")
    _record(audit, 0)
    entered, release = threading.Event(), threading.Event()
    real_write = audit._write

    def slow_then_fail(batch):  # type: ignore[no-untyped-def]
        if len(batch) == 1 and batch[0].fields[2] == "client-1":  # the leader holds the lock
            entered.set()
            release.wait(5)
            return real_write(batch)
        raise OSError("disk full")

    monkeypatch.setattr(audit, "_write", slow_then_fail)
    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            _record(audit, i)
        except OSError as exc:
            errors.append(exc)

    first = threading.Thread(target=call, args=(1,))
    first.start()
    assert entered.wait(5)
    queued = [threading.Thread(target=call, args=(i,)) for i in (2, 3, 4)]
    for th in queued:
        th.start()
    while len(audit._queue) < 3:  # all three wait behind the leader
        threading.Event().wait(0.01)
    release.set()
    for th in (first, *queued):
        th.join(10)
    assert len(errors) == 3 and all("disk full" in str(e) for e in errors)
    assert [e.label for e in audit.entries()] == ["client-0", "client-1"]
    assert audit.check().ok


def test_kept_write_connection_follows_a_removed_file(tmp_path: Path) -> None:
    path = tmp_path / "limits.sqlite"
    db = SqliteFile(path, "CREATE TABLE IF NOT EXISTS t (x INTEGER);", what="test file")
    assert SqliteFile(path, "", what="same file")._write_lock is db._write_lock
    with db.transaction() as con:
        con.execute("INSERT INTO t VALUES (1)")
    for suffix in ("", "-wal", "-shm"):  # removed with its journal (a reset)
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with db.transaction() as con:  # a new file, with its schema
        con.execute("INSERT INTO t VALUES (3)")
    with pytest.raises(RuntimeError), db.transaction() as con:  # rolled back
        con.execute("INSERT INTO t VALUES (4)")
        raise RuntimeError
    check = sqlite3.connect(path)
    assert [r[0] for r in check.execute("SELECT x FROM t ORDER BY x")] == [3]
    check.close()


def test_kept_read_connection_is_per_thread_and_follows_a_removed_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.sqlite"
    db = SqliteFile(path, "CREATE TABLE IF NOT EXISTS t (x INTEGER);", what="test file")
    with db.transaction() as con:
        con.execute("INSERT INTO t VALUES (1)")
    with db.connect() as a, db.connect() as b:
        assert a is b and a.execute("SELECT x FROM t").fetchall() == [(1,)]
    other: list[object] = []
    th = threading.Thread(target=lambda: other.append(db.connect().__enter__()))
    th.start()
    th.join()
    assert other[0] is not a  # another thread, another connection
    with db.connect() as con:  # a transaction a caller left open is not kept
        con.execute("BEGIN")
        con.execute("INSERT INTO t VALUES (2)")
    with db.connect() as con:
        assert not con.in_transaction and con.execute("SELECT x FROM t").fetchall() == [(1,)]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with db.connect() as con:  # a new file, with its schema
        assert con is not a and con.execute("SELECT x FROM t").fetchall() == []


def test_a_build_waiting_for_a_slot_does_not_hold_the_layer_a_map_waits_for(
    demo_db: Path, data_dir: Path, tmp_path: Path
) -> None:
    """A map or report takes its heavy slot in the middleware, then asks for a layer; an item
    read asking for the same uncached layer took the layer's build lock first, then waited
    for a slot: each waited for the other until the slot wait ran out (a 4-worker load test
    hung for its 600 s wait). The slot is now taken before the build lock."""
    from api import create_app
    from api.settings import ServiceSettings
    from geosafe._errors import LimitExceededError
    from geosafe.publish.catalogue import DEFAULT_PARAMS

    settings = ServiceSettings(db=demo_db, data_dir=data_dir, work_dir=tmp_path / "work")
    access = AccessSettings(heavy_slots=1, heavy_wait_s=5.0, token_db=tmp_path / "tokens.sqlite")
    app = create_app(settings, access=access)
    layers = app.state.services.layers
    gate = app.state.access.heavy
    ticket = gate.acquire()  # the map's request holds the only slot
    item_result: list[object] = []

    def item_read() -> None:  # an item read of the same layer: needs the slot to build it
        try:
            item_result.append(layers.layer("h3-cells", DEFAULT_PARAMS, gate=gate.slot))
        except LimitExceededError as exc:
            item_result.append(exc)

    reader = threading.Thread(target=item_read)
    reader.start()
    reader.join(timeout=0.5)  # it is now waiting for the slot
    try:
        built = layers.layer("h3-cells", DEFAULT_PARAMS)  # the map's own build, no gate
    finally:
        gate.release(ticket)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert item_result and item_result[0] is built, item_result  # served from the cache

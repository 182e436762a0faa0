"""The audit chain is keyed and its head anchored outside the audit file (issue 9 item 8):
`geosafe audit --verify` detects deleted rows at the end, rows appended by someone without
the key, and a row edited with the chain recomputed. Each attack is done the way a writer
of the audit file alone would do it: straight SQL, triggers dropped."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from geosafe.access.audit import AuditLog
from geosafe.cli import main


def _log(tmp_path: Path, n: int = 6) -> tuple[Path, AuditLog]:
    db = tmp_path / "g.db"
    log = AuditLog(Path(str(db) + ".audit.sqlite"))
    for i in range(n):
        log.record(
            "read",
            label="alice",
            role="analyst",
            endpoint="/ogc/collections/incidents/items",
            params={"limit": i},
            records=i,
            purpose="case review",
        )
    return db, log


def _verify(db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["audit", "--db", str(db), "--verify"])
    out = capsys.readouterr()
    return code, out.out + out.err


def _sha_chain(prev: str, fields: tuple) -> str:
    """What an attacker without the key can compute (the old, unkeyed chain)."""
    payload = json.dumps([prev, *fields], separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _rows(con: sqlite3.Connection) -> list[tuple]:
    return con.execute(
        "SELECT id, at, action, label, role, token_id, endpoint, params, records, purpose, "
        "prev_hash, row_hash FROM audit ORDER BY id"
    ).fetchall()


def test_intact_log_verifies_and_key_file_is_private(tmp_path: Path, capsys) -> None:
    db, log = _log(tmp_path)
    code, text = _verify(db, capsys)
    assert code == 0 and "6 rows" in text
    mode = stat.S_IMODE(log.key.path.stat().st_mode)
    assert mode == 0o600
    assert log.key.path != log.path  # the key is not in the audit file
    with sqlite3.connect(log.path) as con:
        blob = b"".join(str(r).encode() for r in _rows(con))
    assert json.loads(log.key.path.read_text())["key"].encode() not in blob


def test_truncation_is_detected(tmp_path: Path, capsys) -> None:
    db, log = _log(tmp_path)
    with sqlite3.connect(log.path) as con:
        con.execute("DROP TRIGGER audit_no_delete")
        con.execute("DELETE FROM audit WHERE id > 4")
    assert log.verify() == []  # every remaining row is intact...
    code, text = _verify(db, capsys)
    assert code == 1 and "2 row(s) missing" in text  # ...but the head says 6


def test_appended_forged_row_is_detected(tmp_path: Path, capsys) -> None:
    db, log = _log(tmp_path)
    with sqlite3.connect(log.path) as con:
        last = _rows(con)[-1]
        fields = (last[1], "read", "mallory", "analyst", None, "/x", "{}", 1, "cover")
        con.execute(
            "INSERT INTO audit (at, action, label, role, token_id, endpoint, params, records, "
            "purpose, prev_hash, row_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (*fields, last[11], _sha_chain(last[11], fields)),
        )
    code, text = _verify(db, capsys)
    assert code == 1 and "MAC chain broken at row(s) [7]" in text
    assert "beyond the anchored head" in text


def test_edit_and_recompute_is_detected(tmp_path: Path, capsys) -> None:
    db, log = _log(tmp_path)
    with sqlite3.connect(log.path) as con:
        con.execute("DROP TRIGGER audit_no_update")
        rows = _rows(con)
        prev = rows[1][11]
        for r in rows[2:]:  # change row 3's purpose, then rebuild the chain after it
            fields = list(r[1:10])
            if r[0] == 3:
                fields[8] = "nothing to see"
            new = _sha_chain(prev, tuple(fields))
            con.execute(
                "UPDATE audit SET purpose = ?, prev_hash = ?, row_hash = ? WHERE id = ?",
                (fields[8], prev, new, r[0]),
            )
            prev = new
    assert log.verify() == [3, 4, 5, 6]
    code, text = _verify(db, capsys)
    assert code == 1 and "MAC chain broken" in text


def test_rewriting_the_head_without_the_key_is_detected(tmp_path: Path, capsys) -> None:
    db, log = _log(tmp_path)
    with sqlite3.connect(log.path) as con:
        con.execute("DROP TRIGGER audit_no_delete")
        con.execute("DELETE FROM audit WHERE id = 6")
        head = _rows(con)[-1][11]
    doc = json.loads(log.key.path.read_text())
    doc.update(count=5, head=head)  # the attacker cannot recompute the head's own MAC
    log.key.path.write_text(json.dumps(doc))
    code, text = _verify(db, capsys)
    assert code == 1 and "was altered" in text


def test_a_log_from_before_keys_is_adopted(tmp_path: Path, capsys) -> None:
    """Rows written by the unkeyed chain stay verifiable; new rows are keyed."""
    db, log = _log(tmp_path, n=0)
    with sqlite3.connect(log.path) as con:
        log.count()  # creates the schema
        prev = "0" * 64
        for i in range(3):
            fields = (
                f"2025-01-0{i + 1}T00:00:00+00:00",
                "read",
                "a",
                "analyst",
                None,
                "/",
                "{}",
                i,
                "p",
            )
            h = _sha_chain(prev, fields)
            con.execute(
                "INSERT INTO audit (at, action, label, role, token_id, endpoint, params, "
                "records, purpose, prev_hash, row_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*fields, prev, h),
            )
            prev = h
    log.record("read", label="b", role="analyst", endpoint="/", records=1, purpose="p")
    code, text = _verify(db, capsys)
    assert code == 0 and "4 rows" in text

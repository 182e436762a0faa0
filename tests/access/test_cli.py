"""The access commands: token create/revoke/list, audit, erase, purge; imports are audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosafe.access.audit import AuditLog
from geosafe.access.tokens import TokenStore
from geosafe.cli import main
from geosafe.store import Store

from ._demo import write_dir_csv
from .conftest import SCHOOL_A


def test_token_create_prints_the_token_last_once(tmp_path: Path, capsys) -> None:
    db = tmp_path / "g.db"
    code = main(
        [
            "token",
            "create",
            "--role",
            "school",
            "--school",
            SCHOOL_A,
            "--label",
            "AP",
            "--db",
            str(db),
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    token = out[-1]
    assert " " not in token and len(token) >= 40
    assert sum(token in line for line in out) == 1
    principal = TokenStore(tmp_path / "g.db.auth.sqlite").authenticate(token)
    assert (principal.role, principal.school_urn, principal.label) == ("school", SCHOOL_A, "AP")
    # never shown again
    assert main(["token", "list", "--db", str(db)]) == 0
    listing = capsys.readouterr().out
    assert token not in listing and "AP" in listing and SCHOOL_A in listing
    assert main(["token", "revoke", "AP", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["token", "list", "--db", str(db)]) == 0
    assert "AP" not in capsys.readouterr().out
    assert main(["token", "list", "--all", "--db", str(db)]) == 0
    assert "revoked" in capsys.readouterr().out
    rows = AuditLog(tmp_path / "g.db.audit.sqlite").entries(action="token")
    assert [r.endpoint for r in rows] == ["geosafe token create", "geosafe token revoke"]


def test_token_create_neighbourhood_and_errors(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "g.db")
    assert (
        main(
            [
                "token",
                "create",
                "--role",
                "neighbourhood",
                "--area",
                "E05000267,E05000266",
                "--db",
                db,
            ]
        )
        == 0
    )
    token = capsys.readouterr().out.strip().splitlines()[-1]
    p = TokenStore(tmp_path / "g.db.auth.sqlite").authenticate(token)
    assert p.area_codes == ("E05000267", "E05000266")
    assert (
        main(["token", "create", "--role", "neighbourhood", "--area", "E05999999", "--db", db]) == 2
    )
    assert "E05999999" in capsys.readouterr().err
    assert main(["token", "revoke", "nobody", "--db", db]) == 2
    with pytest.raises(SystemExit):
        main(["token", "create", "--role", "root", "--db", db])


@pytest.fixture
def imported(tmp_path: Path, data_dir: Path) -> tuple[Path, Path]:
    db = tmp_path / "g.db"
    csv = write_dir_csv(tmp_path / "dir.csv", n=40, data_dir=data_dir)
    assert main(["import", "dir", str(csv), "--db", str(db)]) == 0
    return db, csv


def test_every_import_is_audited(imported: tuple[Path, Path], capsys) -> None:
    db, csv = imported
    assert main(["import", "dir", str(csv), "--db", str(db)]) == 0  # same bytes: a no-op
    rows = AuditLog(Path(str(db) + ".audit.sqlite")).entries(action="import")
    assert len(rows) == 2
    assert rows[0].records == 40 and rows[0].params["source"] == "dir"
    assert rows[0].params["file_sha256"] and rows[0].label.startswith("cli:")
    assert rows[1].params["duplicate_batch"] is True
    capsys.readouterr()
    assert main(["audit", "--db", str(db), "--action", "import"]) == 0
    assert capsys.readouterr().out.count("geosafe import") == 2
    assert main(["audit", "--db", str(db), "--verify"]) == 0


def test_erase(imported: tuple[Path, Path], capsys) -> None:
    db, _ = imported
    ref = "CANARY-DIR-0003"
    with Store(db) as store:
        assert ref in set(store.incidents(with_location=False)["source_ref"])
    capsys.readouterr()
    work = db.parent / "work"
    (work / "downloads").mkdir(parents=True)
    (work / "downloads" / "incidents-abc.gpkg").write_bytes(b"cached")
    (work / "downloads" / "keep.txt").write_text("not a cache file")
    argv = ["erase", "--source", "dir", "--ref", ref, "--db", str(db), "--purpose", "SAR 12"]
    assert main([*argv, "--work-dir", str(work)]) == 0
    out = capsys.readouterr().out
    assert "incidents" in out and str(db) in out and "removed 1 cached" in out
    assert not (work / "downloads" / "incidents-abc.gpkg").exists()
    assert (work / "downloads" / "keep.txt").exists()
    with Store(db) as store:
        refs = set(store.incidents(with_location=False)["source_ref"])
    assert ref not in refs and len(refs) == 39
    row = AuditLog(Path(str(db) + ".audit.sqlite")).entries(action="erase")[-1]
    assert row.params["removed_from"] == ["incidents"] and row.purpose == "SAR 12"
    assert row.params["derived_files_removed"] == 1
    assert (
        main(["erase", "--source", "dir", "--ref", ref, "--db", str(db), "--work-dir", str(work)])
        == 2
    )
    assert main(["erase", "--source", "bus", "--ref", ref, "--db", str(db)]) == 2
    assert "'bus' is not a source" in capsys.readouterr().err


def test_purge(imported: tuple[Path, Path], capsys) -> None:
    db, _ = imported
    with Store(db) as store:
        frame = store.incidents(with_location=False)
    cutoff = frame["occurred_to"].sort_values().iloc[9]  # the 10th earliest end
    expected = int((frame["occurred_to"] < cutoff).sum())
    capsys.readouterr()
    work = ["--work-dir", str(db.parent / "work")]
    assert main(["purge", "--before", cutoff.isoformat(), "--db", str(db), *work]) == 0
    assert f"purged {expected} " in capsys.readouterr().out
    with Store(db) as store:
        assert len(store.incidents(with_location=False)) == 40 - expected
    # default: the retention period (6 years) keeps these 2025 rows
    assert main(["purge", "--db", str(db), *work]) == 0
    assert "purged 0 " in capsys.readouterr().out
    rows = AuditLog(Path(str(db) + ".audit.sqlite")).entries(action="purge")
    assert [r.records for r in rows] == [expected, 0]
    assert main(["purge", "--retention-days", "1", "--db", str(db), *work]) == 0
    with Store(db) as store:
        assert len(store.incidents(with_location=False)) == 0


def test_quarantine_reads_are_audited(imported: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    db, _ = imported
    assert main(["quarantine", "--db", str(db)]) == 0
    assert main(["quarantine", "--db", str(db), "--export", str(tmp_path / "q.csv")]) == 0
    rows = [
        r
        for r in AuditLog(Path(str(db) + ".audit.sqlite")).entries()
        if r.endpoint == "geosafe quarantine"
    ]
    assert [r.action for r in rows] == ["read", "export"]
    assert all(r.records == 0 for r in rows)  # the hand-made file has no rejected rows


def test_batch_rollback_is_audited(imported: tuple[Path, Path]) -> None:
    db, _ = imported
    with Store(db) as store:
        batch_id = store.batches()[0].batch_id
    assert main(["batch", "rollback", str(batch_id), "--db", str(db)]) == 0
    row = AuditLog(Path(str(db) + ".audit.sqlite")).entries(action="erase")[-1]
    assert row.endpoint == "geosafe batch rollback" and row.records == 40
    assert row.params == {"batch_id": batch_id, "source": "dir"}

"""Reads of the store by kde/hotspots/evaluate/compare are audited and need a purpose."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from geosafe.access.audit import AuditEntry, AuditLog
from geosafe.cli import main
from geosafe.settings import StoreSettings

from .test_cli import _police_files


@pytest.fixture()
def store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store holding two months of 80 police.uk crimes each (160 incidents)."""
    files = _police_files(tmp_path, ["2023-01", "2023-02"], seed=5)
    db = tmp_path / "store.db"
    assert main(["import", "police-uk", *map(str, files), "--db", str(db)]) == 0
    capsys.readouterr()
    return db


def _kde(db: Path, out: Path, *extra: str) -> list[str]:
    return [
        "kde", "--db", str(db), "--bandwidth", "300", "--cell", "50", "--kernel", "quartic",
        "--from-date", "2023-02-01", "--to-date", "2023-02-28", "--out", str(out), *extra,
    ]  # fmt: skip


def _reads(db: Path) -> list[AuditEntry]:
    log = AuditLog(StoreSettings(db=db).audit_path())
    return [e for e in log.entries() if e.action == "read"]


def test_kde_on_the_store_adds_one_audit_row(store: Path, tmp_path: Path) -> None:
    before = AuditLog(StoreSettings(db=store).audit_path()).count()
    code = main(_kde(store, tmp_path / "s.tif", "--purpose", "hotspot review"))
    assert code == 0
    log = AuditLog(StoreSettings(db=store).audit_path())
    assert log.count() == before + 1
    (row,) = _reads(store)
    assert row.endpoint == "geosafe kde"
    assert row.role == "analyst-cli"
    assert row.purpose == "hotspot review"
    assert row.label == f"cli:{getpass.getuser()}"
    # the store is asked for February only: 80 of the 160 imported incidents
    assert row.records == 80
    assert row.params["bandwidth"] == 300.0 and row.params["from_date"] == "2023-02-01"
    assert log.verify() == []


def test_label_names_who(store: Path, tmp_path: Path) -> None:
    assert main(_kde(store, tmp_path / "s.tif", "--purpose", "x", "--label", "ana")) == 0
    (row,) = _reads(store)
    assert row.label == "ana"


def test_purpose_from_the_environment(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scripts keep the issue's exact command line and give the purpose as GEOSAFE_PURPOSE."""
    monkeypatch.setenv("GEOSAFE_PURPOSE", "monthly tasking")
    assert main(_kde(store, tmp_path / "s.tif")) == 0
    (row,) = _reads(store)
    assert row.purpose == "monthly tasking"


@pytest.mark.parametrize("extra", [(), ("--purpose", "  ")])
def test_store_read_without_purpose_is_refused(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]
) -> None:
    before = AuditLog(StoreSettings(db=store).audit_path()).count()
    out = tmp_path / "s.tif"
    assert main(_kde(store, out, *extra)) == 2
    assert "--purpose TEXT" in capsys.readouterr().err
    assert AuditLog(StoreSettings(db=store).audit_path()).count() == before
    assert not out.exists()


def test_input_files_need_no_purpose_and_are_not_audited(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = AuditLog(StoreSettings(db=store).audit_path()).count()
    files = sorted(tmp_path.glob("*-metropolitan-street.csv.gz"))
    code = main(
        [
            "hotspots",
            *map(str, files),
            "--method",
            "dbscan",
            "--eps",
            "100",
            "--out",
            str(tmp_path / "h.geojson"),
        ]
    )
    assert code == 0
    assert AuditLog(StoreSettings(db=store).audit_path()).count() == before

"""The CLI contracts: ``geosafe import``, ``quarantine``, ``batch``, ``template``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from geosafe.cli import main

KEYS = [
    "source",
    "file_sha256",
    "rows",
    "accepted",
    "quarantined",
    "no_location",
    "duplicate_batch",
    "batch_id",
    # added at the end by issue 9 (13, 11, 14)
    "updated",
    "located_preferred",
    "ignored_columns",
    "duplicate_reason",
]


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_prints_one_json_object(capsys, data, store_target) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    from geosafe.settings import StoreSettings

    db = store_target
    code, out, _ = run(capsys, "import", "dir", str(data / "dir_coords.csv"), "--db", db)
    assert code == 0
    obj = json.loads(out)
    assert list(obj) == KEYS
    assert obj["file_sha256"] == hashlib.sha256((data / "dir_coords.csv").read_bytes()).hexdigest()
    assert (obj["rows"], obj["accepted"], obj["quarantined"], obj["duplicate_batch"]) == (
        9,
        1,
        8,
        False,
    )
    code, out2, _ = run(capsys, "import", "dir", str(data / "dir_coords.csv"), "--db", db)
    again = json.loads(out2)
    assert code == 0 and again["duplicate_batch"] is True
    # every import is audited (its own database beside the store)
    from geosafe.access.audit import AuditLog

    entries = AuditLog(StoreSettings(db=db).audit_path()).entries()
    assert [e.action for e in entries] == ["import", "import"]
    assert {k: again[k] for k in KEYS if k not in ("duplicate_batch", "duplicate_reason")} == {
        k: obj[k] for k in KEYS if k not in ("duplicate_batch", "duplicate_reason")
    }


def test_db_from_environment(capsys, data, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "env.db"
    monkeypatch.setenv("GEOSAFE_DB", str(db))
    code, out, _ = run(capsys, "import", "police-uk", str(data / "police_jan.csv"))
    assert code == 0 and json.loads(out)["source"] == "police-uk"
    assert db.exists()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("dir_missing_column.csv", "description"),
        ("dir_duplicated_column.csv", "twice"),
        ("nope.csv", "not a file"),
    ],
)
def test_unusable_file_exits_2_with_nothing_on_stdout(capsys, data, tmp_path, name, words) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "import", "dir", str(data / name), "--db", str(tmp_path / "s.db"))
    assert code == 2 and out == ""
    assert words in err


def test_quarantine_json_lines_and_export(capsys, data, tmp_path, store_target) -> None:  # type: ignore[no-untyped-def]
    db = store_target
    run(capsys, "import", "dir", str(data / "dir_values.csv"), "--db", db)
    run(capsys, "import", "dir", str(data / "dir_bad_bytes.csv"), "--db", db)
    code, out, _ = run(capsys, "quarantine", "--db", db, "--batch", "1", "--format", "json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [x["row"] for x in lines] == [1, 2, 3, 4, 5]
    # the interface's keys, and since the eighth wave `line` (the file line the row starts on)
    assert set(lines[0]) == {"batch_id", "row", "column", "reason_code", "reason", "line"}
    assert lines[2]["column"] is None and lines[2]["reason_code"] == "row_field_count"
    export = tmp_path / "q.csv"
    code, out, _ = run(capsys, "quarantine", "--db", db, "--export", str(export))
    assert code == 0 and out == ""
    raw = export.read_bytes()
    assert b"broken \xff\xfe bytes" in raw  # undecodable bytes written back as they came
    rows = list(csv.DictReader(raw.decode("utf-8", "replace").splitlines()))
    assert [r["_reason_code"] for r in rows][:2] == ["flag_unknown", "value_out_of_list"]
    assert rows[0]["youth_flag"] == "maybe" and rows[0]["dir_ref"] == "V-FLAG"


def test_export_escapes_formulas(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "inj.csv"
    src.write_text(
        "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,cause_code,"
        "youth_flag,vulnerability_flag,description\n"
        "=1+1,2025-01-13 15:42,W3,1,@SUM(A1),490000252S,,-0.12,ASB,Y,N,+cmd|' /C calc'!A0\n"
    )
    db = str(tmp_path / "s.db")
    run(capsys, "import", "dir", str(src), "--db", db)
    out = tmp_path / "q.csv"
    run(capsys, "quarantine", "--db", db, "--export", str(out))
    row = next(csv.DictReader(out.read_text().splitlines()))
    assert row["dir_ref"] == "'=1+1" and row["operator"] == "'@SUM(A1)"
    assert row["description"] == "'+cmd|' /C calc'!A0"
    assert row["longitude"] == "-0.12"  # a plain negative number is data, not a formula
    assert row["_reason_code"] == "coord_half_pair"


def test_batch_list_and_rollback(capsys, data, store_target) -> None:  # type: ignore[no-untyped-def]
    db = store_target
    run(capsys, "import", "dir", str(data / "dir_good.csv"), "--db", db)
    code, out, _ = run(capsys, "batch", "list", "--db", db, "--format", "json")
    batch = json.loads(out)
    assert code == 0 and batch["status"] == "committed" and batch["accepted"] == 4
    code, out, _ = run(capsys, "batch", "rollback", "1", "--db", db)
    assert code == 0
    code, out, _ = run(capsys, "batch", "list", "--db", db, "--format", "json")
    assert json.loads(out)["status"] == "rolled_back"
    code, _, err = run(capsys, "batch", "rollback", "1", "--db", db)
    assert code == 2 and "rolled_back" in err
    # the same file can be imported again after a rollback
    code, out, _ = run(capsys, "import", "dir", str(data / "dir_good.csv"), "--db", db)
    assert json.loads(out)["duplicate_batch"] is False


def test_police_directory(capsys, data, tmp_path, store_target) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "months"
    d.mkdir()
    for name in ("police_jan.csv", "police_feb.csv"):
        (d / name).write_bytes((data / name).read_bytes())
    code, out, _ = run(capsys, "import", "police-uk", str(d), "--db", store_target)
    assert code == 0 and len(out.splitlines()) == 2


def test_template_command(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "template", "fap")
    assert code == 0 and out.splitlines()[1].startswith("EXAMPLE-")
    target = tmp_path / "fap.csv"
    code, _, _ = run(capsys, "template", "fap", "--out", str(target))
    assert target.read_text().startswith("referral_id,")
    assert "`home_postcode`" in Path(str(target) + ".md").read_text()
    code, out, _ = run(capsys, "template", "cris", "--describe")
    assert "youth, gang, domestic" in out

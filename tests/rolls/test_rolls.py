"""Rolls: reading, aggregating, refusing personal columns, storing, the command line."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from geosafe import rolls
from geosafe._errors import NotFoundError, ValidationError
from geosafe.access.audit import AuditLog

from .conftest import SCHOOL_B

ROOT = Path(__file__).resolve().parents[2]

# hand-written: N22 7AY three ways (4 pupils), EN1 1AA (1), one unknown, one malformed, a blank
PER_PUPIL = "postcode\nN22 7AY\nn22 7ay\n N227AY \nEN1 1AA\nZZ99 9ZZ\nnot a postcode\n\nN227AY\n"


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOSAFE_ROLLS_DIR", raising=False)


def _csv(tmp_path: Path, text: str, name: str = "roll.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_one_row_per_pupil_is_aggregated(tmp_path: Path) -> None:
    db = tmp_path / "geosafe.db"
    s = rolls.save_roll(db, SCHOOL_B, _csv(tmp_path, PER_PUPIL))
    # pandas skips the blank line: 7 data rows
    assert (s.rows, s.postcodes, s.pupils, s.unknown) == (7, 2, 5, 2)
    assert s.reasons == {"postcode_malformed": 1, "postcode_unknown": 1}
    assert s.path == f"{db}#school_rolls/{SCHOOL_B}"
    with sqlite3.connect(db) as con:  # in the store itself, aggregated: nothing else
        [(text,)] = con.execute("SELECT roll FROM school_rolls").fetchall()
    stored = pd.read_csv(io.StringIO(text), dtype=str)
    assert stored.to_dict("list") == {"postcode": ["EN1 1AA", "N22 7AY"], "pupils": ["1", "4"]}
    loaded = rolls.load_roll(db, SCHOOL_B)
    assert loaded is not None and loaded["pupils"].tolist() == [1, 4]
    assert sorted(rolls.roll_postcodes(db, SCHOOL_B)) == ["EN1 1AA"] + ["N22 7AY"] * 4
    assert [p.name for p in tmp_path.iterdir() if "rolls" in p.name] == []  # no folder


def test_pupils_column_and_blank_counts(tmp_path: Path) -> None:
    text = "Postcode , PUPILS\nN22 7AY,12\nn227ay,3\nEN1 1AA,\nEN1 1AA,0\nXX1 1XX,9\n"
    s = rolls.save_roll(tmp_path / "g.db", SCHOOL_B, _csv(tmp_path, text))
    assert (s.rows, s.postcodes, s.pupils, s.unknown) == (5, 2, 16, 1)
    roll = rolls.load_roll(tmp_path / "g.db", SCHOOL_B)
    assert roll is not None
    assert dict(zip(roll["postcode"], roll["pupils"], strict=True)) == {"EN1 1AA": 1, "N22 7AY": 15}


@pytest.mark.parametrize(
    ("header", "named"),
    [("postcode,name", "name"), ("Surname,postcode", "Surname"), ("postcode,pupils,dob", "dob")],
)
def test_any_other_column_is_refused(tmp_path: Path, header: str, named: str) -> None:
    n = header.count(",") + 1
    text = f"{header}\n" + ",".join(["N22 7AY"] + ["1"] * (n - 1)) + "\n"
    db = tmp_path / "g.db"
    with pytest.raises(ValidationError, match=rf"'{named}'.*postcodes only"):
        rolls.save_roll(db, SCHOOL_B, _csv(tmp_path, text))
    assert rolls.load_roll(db, SCHOOL_B) is None  # nothing stored


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("pupils\n3\n", "needs a `postcode` column"),
        ("postcode,pupils\nN22 7AY,two\n", "data row 1: `pupils` 'two'"),
        ("postcode,pupils\nN22 7AY,1.5\n", "'1.5'"),
        ("postcode,pupils\nN22 7AY,-1\n", "'-1'"),
        ("", "not a readable CSV"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        rolls.save_roll(tmp_path / "g.db", SCHOOL_B, _csv(tmp_path, text))


def test_bad_bytes_and_urns(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not UTF-8"):
        rolls.save_roll(tmp_path / "g.db", SCHOOL_B, "postcode\nN22 7AY\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match=re.escape("'../x'")):
        rolls.save_roll(tmp_path / "g.db", "../x", b"postcode\nN22 7AY\n")
    with pytest.raises(NotFoundError, match="'999999'"):
        rolls.save_roll(tmp_path / "g.db", "999999", b"postcode\nN22 7AY\n")


def test_replace_list_delete_and_state(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    assert rolls.roll_state(db, SCHOOL_B) is None and rolls.list_rolls(db) == []
    rolls.save_roll(db, SCHOOL_B, b"postcode\nN22 7AY\n")
    first = rolls.roll_state(db, SCHOOL_B)
    rolls.save_roll(db, SCHOOL_B, b"postcode,pupils\nN22 7AY,7\n")
    assert rolls.roll_state(db, SCHOOL_B) not in (None, first)
    [entry] = rolls.list_rolls(db)
    assert (entry.school_urn, entry.postcodes, entry.pupils) == (SCHOOL_B, 1, 7)
    assert rolls.delete_roll(db, SCHOOL_B) is True
    assert rolls.delete_roll(db, SCHOOL_B) is False
    assert rolls.load_roll(db, SCHOOL_B) is None and rolls.roll_state(db, SCHOOL_B) is None


@pytest.mark.parametrize("where", ["beside", "setting"])
def test_roll_files_of_the_earlier_layout_move_into_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    db = tmp_path / "g.db"
    folder = tmp_path / "g.db.rolls"
    if where == "setting":
        folder = tmp_path / "elsewhere"
        monkeypatch.setenv("GEOSAFE_ROLLS_DIR", str(folder))
    folder.mkdir()
    (folder / f"{SCHOOL_B}.csv").write_text("postcode,pupils\nEN1 1AA,2\nN22 7AY,11\n")
    (folder / "notes.csv").write_text("not a roll\n")
    [entry] = rolls.list_rolls(db)
    assert (entry.school_urn, entry.postcodes, entry.pupils) == (SCHOOL_B, 2, 13)
    assert sorted(p.name for p in folder.iterdir()) == [f"{SCHOOL_B}.csv.migrated", "notes.csv"]
    # a deletion is not undone by the file (it was renamed), and the roll reads back whole
    assert rolls.load_roll(db, SCHOOL_B)["pupils"].tolist() == [2, 11]  # type: ignore[index]
    assert rolls.delete_roll(db, SCHOOL_B) and rolls.list_rolls(db) == []


def test_rolls_live_in_either_backend(store_target: str) -> None:
    """The same calls on a PostGIS store: the roll is a row of its database, replaced in one
    transaction, gone after a deletion; the state token follows."""
    from geosafe.store import open_store

    open_store(store_target).close()  # created (and migrated) as its owner
    assert rolls.roll_state(store_target, SCHOOL_B) is None
    rolls.save_roll(store_target, SCHOOL_B, b"postcode\nN22 7AY\nN22 7AY\n")
    first = rolls.roll_state(store_target, SCHOOL_B)
    assert rolls.roll_postcodes(store_target, SCHOOL_B) == ["N22 7AY", "N22 7AY"]
    rolls.save_roll(store_target, SCHOOL_B, b"postcode,pupils\nEN1 1AA,3\n")
    assert rolls.roll_state(store_target, SCHOOL_B) not in (None, first)
    assert rolls.rolls_state(store_target) != ()
    assert rolls.roll_postcodes(store_target, SCHOOL_B) == ["EN1 1AA"] * 3
    assert rolls.delete_roll(store_target, SCHOOL_B)
    assert rolls.load_roll(store_target, SCHOOL_B) is None


def _geosafe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "geosafe", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_cli_upload_list_delete_audited(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    path = _csv(tmp_path, PER_PUPIL)
    up = _geosafe("roll", "upload", "--school", SCHOOL_B, str(path), "--db", str(db))
    assert up.returncode == 0, up.stderr
    [line] = up.stdout.strip().splitlines()
    summary = json.loads(line)
    assert (summary["pupils"], summary["postcodes"], summary["unknown"]) == (5, 2, 2)
    listed = _geosafe("roll", "list", "--db", str(db))
    assert json.loads(listed.stdout)["school_urn"] == SCHOOL_B
    bad = _geosafe(
        "roll",
        "upload",
        "--school",
        SCHOOL_B,
        str(_csv(tmp_path, "postcode,name\n")),
        "--db",
        str(db),
    )
    assert bad.returncode == 2 and "'name'" in bad.stderr
    rm = _geosafe("roll", "delete", "--school", SCHOOL_B, "--db", str(db))
    assert rm.returncode == 0 and rolls.load_roll(db, SCHOOL_B) is None
    entries = AuditLog(tmp_path / "g.db.audit.sqlite").entries()
    assert [(e.action, e.endpoint) for e in entries] == [
        ("import", "geosafe roll upload"),
        ("erase", "geosafe roll delete"),
    ]
    assert entries[0].params["source"] == "roll" and entries[0].records == 5
    assert entries[0].params["quarantined"] == 2

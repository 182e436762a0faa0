"""Quarantined rows name the line of the file they start on (helper `polish`, eighth wave).
Seen by `walk`: rows were numbered by data row only, so a field quoted over several lines
or a blank line put the number apart from the line an editor shows.

The reference is the file itself: the line (1-based, split at line feeds) that starts with
the row's reference, found by hand-written code that knows nothing of CSV."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from geosafe.cli import main
from geosafe.ingest import import_file
from geosafe.sources import _police_read
from geosafe.store import Store

DATA = Path(__file__).parent / "data"


def _line_of(path: Path, ref: str) -> int:
    """The 1-based line of ``path`` that starts with ``ref,`` (bytes: any encoding)."""
    lines = path.read_bytes().split(b"\n")
    found = [k for k, line in enumerate(lines, 1) if line.startswith(ref.encode() + b",")]
    assert len(found) == 1, (ref, found)
    return found[0]


def _lines(store: Store, batch_id: int, ref_column: str) -> dict[str, tuple[int, int | None]]:
    return {q.raw[ref_column]: (q.row, q.line) for q in store.quarantine(batch_id)}


def test_dir_rows_after_a_multiline_field_and_a_blank_line(tmp_path: Path) -> None:
    path = DATA / "dir_multiline_rows.csv"
    store = Store(tmp_path / "s.db")
    r = import_file(store, "dir", path)
    got = _lines(store, r.batch_id, "dir_ref")
    store.close()
    assert set(got) == {"ML-02", "ML-04", "ML-05"}  # by hand: flag, month 13, latitude 91
    for ref, (_, line) in got.items():
        assert line == _line_of(path, ref), ref
    # by hand: the rows are 2, 4, 5; the lines 5, 8, 10 (a field over three lines, a blank
    # line, a field over two lines)
    assert got == {"ML-02": (2, 5), "ML-04": (4, 8), "ML-05": (5, 10)}


@pytest.mark.parametrize("name", ["police_broken_rows.csv", "police_unterminated_quote.csv"])
def test_police_uk_rows_name_their_line(tmp_path: Path, name: str) -> None:
    path = DATA / name
    store = Store(tmp_path / "s.db")
    r = import_file(store, "police_uk", path)
    got = _lines(store, r.batch_id, "Crime ID")
    store.close()
    assert got
    for ref, (_, line) in got.items():
        assert line == _line_of(path, ref), ref
    if name == "police_broken_rows.csv":  # a record over two lines and a blank line before w08
        assert got["w08"] == (7, 10)


def test_police_uk_read_by_polars_names_lines_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large plain file is read by polars (here: any size), one row a line."""
    monkeypatch.setattr(_police_read, "POLARS_MIN_BYTES", 0)
    good = (
        "{ref},2024-03,Metropolitan Police Service,Metropolitan Police Service,{lon},51.607012,"
        "On or near Bounds Green Road,E01002061,Haringey 010B,Burglary,,"
    )
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context"
    )
    rows = [good.format(ref=f"p{k:03d}", lon="-0.124501") for k in range(1, 40)]
    rows[20] = good.format(ref="p021", lon="abc")  # not a number
    path = tmp_path / "plain.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    store = Store(tmp_path / "s.db")
    r = import_file(store, "police_uk", path, chunk_rows=8)
    got = _lines(store, r.batch_id, "Crime ID")
    store.close()
    assert got == {"p021": (21, _line_of(path, "p021"))} == {"p021": (21, 22)}


def test_json_and_export_add_the_line_and_keep_every_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    path = DATA / "dir_multiline_rows.csv"
    assert main(["import", "dir", str(path), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["quarantine", "--db", str(db), "--format", "json"]) == 0
    docs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert list(docs[0]) == [
        "batch_id",
        "row",
        "column",
        "reason_code",
        "reason",
        "line",
    ]
    assert sorted((d["row"], d["line"]) for d in docs) == [(2, 5), (4, 8), (5, 10)]
    out = tmp_path / "fix.csv"
    assert main(["quarantine", "--db", str(db), "--export", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    header = list(rows[0])
    assert header[-6:] == ["_batch_id", "_row", "_reason_code", "_column", "_reason", "_line"]
    assert {r["dir_ref"]: r["_line"] for r in rows} == {"ML-02": "5", "ML-04": "8", "ML-05": "10"}


def test_a_store_from_before_gains_the_column_and_keeps_its_rows(tmp_path: Path) -> None:
    """A store whose quarantine table has no line (made before this wave): opened, it gains
    the column; its rows say no line rather than a wrong one."""
    db = tmp_path / "old.db"
    store = Store(db)
    r = import_file(store, "dir", DATA / "dir_multiline_rows.csv")
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE quarantine DROP COLUMN line_no")
    conn.commit()
    conn.close()
    store = Store(db)
    got = _lines(store, r.batch_id, "dir_ref")
    r2 = import_file(store, "police_uk", DATA / "police_broken_rows.csv")
    again = _lines(store, r2.batch_id, "Crime ID")
    store.close()
    assert got == {"ML-02": (2, None), "ML-04": (4, None), "ML-05": (5, None)}
    assert again["w08"] == (7, 10)


def test_a_sheet_names_the_row_a_spreadsheet_shows(tmp_path: Path) -> None:
    """In a workbook the line is the sheet's row number (a blank row between counts)."""
    from openpyxl import Workbook

    with (DATA / "dir_multiline_rows.csv").open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(table[0])
    ws.append([])  # row 2 left blank
    for row in table[1:]:
        if row:
            ws.append(row)
    path = tmp_path / "dir.xlsx"
    wb.save(path)
    store = Store(tmp_path / "s.db")
    r = import_file(store, "dir", path)
    got = _lines(store, r.batch_id, "dir_ref")
    store.close()
    # by hand: header row 1, blank row 2, ML-01..ML-05 on rows 3-7
    assert got == {"ML-02": (2, 4), "ML-04": (4, 6), "ML-05": (5, 7)}

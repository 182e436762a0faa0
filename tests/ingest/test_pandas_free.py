"""The police.uk import without pandas (issue 16 item 6): what it loads, what it stores for a
hand-written file with each defect (expected rows written out by hand), both CSV readers
giving the same store, and pandas' own hashes and number parsing as the reference for the
numpy versions."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosafe import _env
from geosafe._siphash import hash_array
from geosafe.geocode.points import _parse
from geosafe.ingest import import_file
from geosafe.settings import IngestSettings, StoreSettings
from geosafe.sources import _police_read as rd
from geosafe.sources._read import csv_records
from geosafe.store import Store

from .conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context"
)
FORCE = "Metropolitan Police Service,Metropolitan Police Service"
A = "a" * 63 + "1"
B = "b" * 63 + "2"
C = "c" * 63 + "3"
D = "d" * 63 + "4"


def _row(ref: str, month: str, lon: str, lat: str, place: str = "On or near Park Road") -> str:
    return (
        f"{ref},{month},{FORCE},{lon},{lat},{place},E01002061,Haringey 010B,Burglary,"
        "Under investigation,"
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("GEOSAFE_")}


@pytest.mark.parametrize("env_var", [None, "GEOSAFE_INGEST_ENCODING"])
def test_police_import_loads_no_pandas(tmp_path: Path, env_var: str | None) -> None:
    """A police.uk import of a small file imports none of pandas, geopandas,
    pydantic-settings, polars or pyproj (its BNG transform is numpy's unless the OSTN15 grid
    may be installed); pydantic-settings comes in only to read a variable set."""
    env = _clean_env()
    if env_var:
        env[env_var] = "utf-8"
    code = (
        "import sys\nfrom geosafe.cli import main\n"
        f"rc = main(['import', 'police-uk', {str(DATA / 'police_feb.csv')!r}, "
        f"'--db', {str(tmp_path / 'x.db')!r}])\n"
        "print(rc, sorted(m for m in ('pandas', 'geopandas', 'pydantic_settings', 'polars', "
        "'pyogrio', 'scipy', 'pyproj') if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
        env=env,
    )  # fmt: skip
    summary = json.loads(proc.stdout)
    assert summary["rows"] == 2 and summary["accepted"] == 2
    loaded = proc.stderr.strip().splitlines()[-1]
    from geosafe.geocode.points import _ostn15_possible

    expected = (["pydantic_settings"] if env_var else []) + (
        ["pyproj"] if _ostn15_possible() else []
    )
    assert loaded == f"0 {expected}"


def _store_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(db)
    try:
        return {
            "incidents": con.execute(
                "SELECT source_ref, row_no, t_from, t_to, current, superseded_by IS NOT NULL, "
                "geocode_method, location_text, round(lon, 6), round(lat, 6) FROM incidents "
                "ORDER BY id"
            ).fetchall(),
            "quarantine": con.execute(
                "SELECT row_no, col, reason_code, ref FROM quarantine ORDER BY id"
            ).fetchall(),
            "batches": con.execute(
                "SELECT rows, accepted, quarantined, no_location, updated FROM batches"
            ).fetchall(),
        }
    finally:
        con.close()


def test_hand_written_file_with_each_defect(tmp_path: Path) -> None:
    lines = [
        HEADER,
        _row(A, "2024-01", "-0.124501", "51.607012"),  # 1 good
        _row(A, "2024-01", "-0.124501", "51.607012"),  # 2 identical: duplicate_row
        _row(B, "2024-01", "", ""),  # 3 no location: accepted
        "",  # a blank line is not a row
        _row(B, "2024-07", "-0.130000", "51.610000"),  # 4 update of B, later month: current
        _row("", "2024-01", "-0.124501", "51.607012"),  # 5 anonymous (blank Crime ID)
        _row(C, "2024-13", "-0.124501", "51.607012"),  # 6 no such month
        _row(C, "1999-12", "-0.124501", "51.607012"),  # 7 before 2000
        _row(D, "2024-01", "-2.587910", "51.454513"),  # 8 Bristol: outside London
        _row(D, "2024-01", "51.607012", "-0.124501"),  # 9 swapped
        f"{D},2024-01,{FORCE},-0.124501",  # 10 short row
        _row(D, "2024-01", "-0.124501", "51.607012") + ",extra",  # 11 long row
        _row(D, "2024-01", "-0.124501", "51.607012", "On or near \x07Bell Road"),  # 12
    ]
    path = tmp_path / "defects.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = Store(tmp_path / "s.db")
    result = import_file(store, "police_uk", path)
    store.close()
    jan, feb, jul, aug = 1704067200.0, 1706745600.0, 1719788400.0, 1722466800.0
    anon = f"anon-{int(_row_hash(lines[0], lines[6])) & 0xFFFFFFFFFFFFFFFF:016x}-1"
    got = _store_rows(tmp_path / "s.db")
    assert got["incidents"] == [
        (A, 1, jan, feb, 1, False, "police_uk", "On or near Park Road", -0.124501, 51.607012),
        (B, 3, jan, feb, 0, True, "none", "On or near Park Road", None, None),
        (B, 4, jul, aug, 1, False, "police_uk", "On or near Park Road", -0.13, 51.61),
        (anon, 5, jan, feb, 1, False, "police_uk", "On or near Park Road", -0.124501, 51.607012),
    ]
    assert got["quarantine"] == [
        (2, "Crime ID", "duplicate_row", A),
        (6, "Month", "time_impossible", C),
        (7, "Month", "time_before_2000", C),
        (8, "Longitude,Latitude", "coord_outside_aoi", D),
        (9, "Longitude,Latitude", "coord_swapped", D),
        (10, None, "row_field_count", D),
        (11, None, "row_field_count", D),
        (12, "Location", "text_control_chars", D),
    ]
    assert got["batches"] == [(12, 4, 8, 1, 1)]
    assert (result.rows, result.accepted, result.quarantined) == (12, 4, 8)


def _row_hash(header: str, line: str) -> int:
    """The content hash of one row, by pandas (the reference the store's hashes follow)."""
    frame = pd.DataFrame([line.split(",")], columns=header.split(","), dtype=object)
    return int(pd.util.hash_pandas_object(frame, index=False).to_numpy().view(np.int64)[0])


def _dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(db)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("incidents", "details", "quarantine", "published_exact", "published_counts")
        }
    finally:
        con.close()


def test_both_readers_give_the_same_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """polars (a large regular file) and the csv module (small or irregular ones) read the
    same rows: a file of real-looking rows, with a repeated Crime ID, imported both ways."""
    rows = [
        _row(f"{i:064x}", f"2024-{i % 12 + 1:02d}", f"-0.1{i % 7}", f"51.5{i % 5}")
        for i in range(3000)
    ]
    rows += [_row(f"{7:064x}", "2024-08", "-0.15", "51.55"), _row("", "2024-02", "", "")]
    path = tmp_path / "big.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    assert rd.scan(path, "utf-8", fields=12, check_lines=True).regular
    used: list[str] = []
    for name, threshold in (("polars", 0), ("csv", 1 << 40)):
        monkeypatch.setattr(rd, "POLARS_MIN_BYTES", threshold)
        real = rd.polars_chunks if name == "polars" else rd.csv_chunks

        def spy(*a: object, _real: object = real, _name: str = name, **k: object) -> object:
            used.append(_name)
            return _real(*a, **k)  # type: ignore[operator]

        monkeypatch.setattr(rd, f"{name}_chunks", spy)
        store = Store(tmp_path / f"{name}.db")
        import_file(store, "police_uk", path, chunk_rows=700)
        store.close()
    assert used == ["polars", "csv"]
    assert _dump(tmp_path / "polars.db") == _dump(tmp_path / "csv.db")


@pytest.mark.parametrize(
    ("text", "regular"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", True),
        ("a,b,c\n1,2,3\n4,5,6", True),
        ("a,b,c\n1,2\n4,5,6,7\n", False),  # a short and a long row: as many commas in all
        ("a,b,c\n1,2,3\n\n4,5,6\n", False),
        ('a,b,c\n"1",2,3\n', False),
        ("a,b,c\r\n1,2,3\r\n", False),
        ("a,b,c\n1,2,3\n4,5", False),
    ],
)
def test_scan_sends_only_plain_rows_to_polars(tmp_path: Path, text: str, regular: bool) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    for block in (1 << 22, 4):  # lines split across blocks too
        rd._BLOCK = block  # type: ignore[misc]
        try:
            assert rd.scan(path, "utf-8", fields=3, check_lines=True).regular is regular
        finally:
            rd._BLOCK = 1 << 22  # type: ignore[misc]


def test_hash_array_is_pandas_hash_array() -> None:
    rng = np.random.default_rng(5)
    values = ["", "a", "é", "x" * 7, "x" * 8, "x" * 9, "On or near Café", "日本語", "a" * 300]
    values += [
        "".join(chr(c) for c in rng.integers(32, 0x3000, rng.integers(0, 70))) for _ in range(2000)
    ]
    values = [v for v in values if not any("\ud800" <= ch <= "\udfff" for ch in v)]
    expected = pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)
    assert (hash_array(values) == expected).all()
    ids = [f"{i:064x}" for i in range(5000)]  # one width: the fixed-width path
    assert (
        hash_array(ids) == pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False)
    ).all()
    with pytest.raises(UnicodeEncodeError):
        hash_array(["ok", "bad \udcff byte"])


def test_text_coordinates_parse_as_pandas_reads_them() -> None:
    texts = ["-0.124501", " 51.5 ", "1e3", "+.5", "nan", "NaN", "None", "null", "", "abc",
             "inf", "-inf", "1_000", "0x10", "١٢", "-0", "1.", "3.14159265358979323846"]  # fmt: skip
    nums, blank = _parse(np.asarray(texts, dtype=object))
    ref = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(dtype=float)
    for text, got, want, is_blank in zip(texts, nums, ref, blank, strict=True):
        if not np.isnan(want):  # pandas reads it: the same number
            assert got == want, text
        stripped = text.strip()
        assert is_blank == (stripped.lower() in ("", "nan", "none", "null")), text


def test_light_settings_equal_pydantic_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("GEOSAFE_"):
            monkeypatch.delenv(key)
    light = _env.ingest_settings()
    assert isinstance(light, _env.IngestDefaults)
    full = IngestSettings()
    assert {k: getattr(light, k) for k in full.model_dump()} == full.model_dump()
    assert light.model_copy(update={"aoi_margin_m": 0.0}).aoi_margin_m == 0.0
    for db in ("x/store.db", "postgresql://u@h:5432/geo"):
        assert _env.store_target(db) == StoreSettings(db=db).db
        assert _env.audit_path(db) == StoreSettings(db=db).audit_path()
    assert _env.store_target() == StoreSettings().db
    # a variable set: the pydantic class reads it, with its own checks and messages
    monkeypatch.setenv("GEOSAFE_INGEST_COLUMN_MAPS", '{"police_uk": {"Ref": "Crime ID"}}')
    assert _env.ingest_settings().column_maps == {"police_uk": {"Ref": "Crime ID"}}
    monkeypatch.setenv("geosafe_ingest_max_text_length", "3")  # any case, as pydantic reads it
    with pytest.raises(ValueError, match="max_text_length"):
        _env.ingest_settings()
    monkeypatch.setenv("GEOSAFE_AUDIT_DB", "/tmp/elsewhere.sqlite")
    assert _env.audit_path("x/store.db") == Path("/tmp/elsewhere.sqlite")


def test_published_groups_counted_on_staging_equal_the_sql_grouping(tmp_path: Path) -> None:
    """A bulk batch into an empty store counts its published groups as it stages (no
    GROUP BY over its rows at the commit): the same aggregates as grouping the stored rows,
    with a Crime ID updated within the file (its first row leaves the counts)."""
    from geosafe.store import published

    rows = [_row(f"{i:064x}", f"2024-{i % 3 + 1:02d}", f"-0.1{i % 4}", "51.55") for i in range(400)]
    rows += [_row(f"{5:064x}", "2024-03", "-0.17", "51.56"), _row("", "2024-02", "-0.1", "51.5")]
    path = tmp_path / "p.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    store = Store(tmp_path / "s.db")
    result = import_file(store, "police_uk", path)
    store.close()
    assert result.updated == 1
    con = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    tables = ("published_exact", "published_counts")
    order = "ORDER BY 1, 2, 3, 4, 5"
    staged = {t: con.execute(f"SELECT * FROM {t} {order}").fetchall() for t in tables}
    con.execute("BEGIN")
    published.write_sqlite(con, published.months_sqlite(con, "TRUE"))
    grouped = {t: con.execute(f"SELECT * FROM {t} {order}").fetchall() for t in tables}
    con.execute("ROLLBACK")
    con.close()
    assert staged == grouped
    assert sum(r[5] for r in staged["published_exact"] if r[4] == "all-day") == 401


@pytest.mark.parametrize(
    ("text", "regular"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", True),
        ("a,b,c\n1,2,3\n4,5,6", True),
        ("a,b,c\n1,2\n4,5,6,7\n", False),
        ("a,b,c\n1,2,3\n\n4,5,6\n", False),
        ('a,b,c\n"1",2,3\n', False),
        ("a,b,c\r\n1,2,3\r\n", False),
        ("a,b,c\n1,2,3\n4,5", False),
    ],
)
def test_a_block_is_plain_as_the_scan_finds_a_file(text: str, regular: bool) -> None:
    """polars' reader decides block by block what the whole-file scan decides."""
    head, rest = text.encode().split(b"\n", 1)
    assert rd._plain_block(head + b"\n", 3)[0] is (b"\r" not in head)
    if b"\r" not in head:
        assert rd._plain_block(rest, 3)[0] is regular


@pytest.mark.parametrize(
    "odd",
    [
        '"On or near Park Road, N22",',  # a quoted field (a comma inside)
        "bad <FF> byte,",  # not UTF-8
        "a \x07 bell,",  # a control character
        "",  # a blank line
        "crlf\r",  # a carriage return
    ],
)
def test_polars_then_csv_gives_the_csv_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd: str
) -> None:
    """A large file plain for its first blocks and not further on: polars reads the plain
    blocks, the csv module the rest, and the store is the one the csv module alone makes."""
    rows = [
        _row(f"{i:064x}", f"2024-{i % 12 + 1:02d}", f"-0.1{i % 7}", f"51.5{i % 5}")
        for i in range(3000)
    ]
    line = 2100  # in the fourth block of 700 rows
    rows[line] = odd + rows[line] if odd else ""
    path = tmp_path / "big.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode().replace(b"<FF>", b"\xff"))
    used: list[str] = []
    for name, threshold in (("polars", 0), ("csv", 1 << 40)):
        monkeypatch.setattr(rd, "POLARS_MIN_BYTES", threshold)
        real_csv = rd.csv_chunks

        def spy(*a: object, _real: object = real_csv, _name: str = name, **k: object) -> object:
            used.append(f"{_name}: csv from row {k.get('skip_rows', 0)}")
            return _real(*a, **k)  # type: ignore[operator]

        monkeypatch.setattr(rd, "csv_chunks", spy)
        store = Store(tmp_path / f"{name}.db")
        import_file(store, "police_uk", path, chunk_rows=700)
        store.close()
        monkeypatch.setattr(rd, "csv_chunks", real_csv)
    assert used[0].startswith("polars: csv from row ") and used[1] == "csv: csv from row 0"
    assert 0 < int(used[0].rsplit(" ", 1)[1]) <= line  # polars read the blocks before it
    assert _dump(tmp_path / "polars.db") == _dump(tmp_path / "csv.db")


def test_an_undecodable_crime_id_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    """A byte that is not UTF-8 in a Crime ID (a row of the right width, and one a field too
    long): both rows quarantined with their reason, the ref stored with the byte escaped,
    the raw row as it came in; the good row imported."""
    good = _row(A, "2024-01", "-0.12", "51.52")
    text = "\n".join([HEADER, "bad <FF> id," + good, good.replace(A, B), "x <FF>" + good[64:]])
    path = tmp_path / "p.csv"
    path.write_bytes((text + "\n").encode().replace(b"<FF>", b"\xff"))
    with Store(tmp_path / "s.db") as store:
        result = import_file(store, "police_uk", path)
    assert (result.accepted, result.quarantined) == (1, 2)
    con = sqlite3.connect(tmp_path / "s.db")
    try:
        got = con.execute(
            "SELECT row_no, reason_code, ref, raw FROM quarantine ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert [(r[0], r[1], r[2]) for r in got] == [
        (1, "row_field_count", "bad \\xff id"),
        (3, "encoding_invalid", "x \\xff"),
    ]
    assert json.loads(got[1][3])["Crime ID"] == "x \udcff"


def test_a_quote_left_open_takes_no_later_line() -> None:
    """The csv reader's records: a field quoted over two lines with the header's width is
    one record; a quote left open is a record of its own first line, and the lines after it
    are read again; blank lines are no record."""
    text = (
        'a,b,c\n1,"two\nlines",3\n\n4,"open,5\n6,7,8\n9,10,11\n12,"closed\nlate",13,14\n15,16,17\n'
    )
    got = list(csv_records(iter(io.StringIO(text, newline="")), 3))
    assert got == [
        ["a", "b", "c"],
        ["1", "two\nlines", "3"],
        ["4", "open,5\n"],  # the open quote's own line
        ["6", "7", "8"],
        ["9", "10", "11"],
        ["12", "closed\n"],  # closed a line later, but four fields: split too
        ['late"', "13", "14"],
        ["15", "16", "17"],
    ]


def test_other_sources_lose_no_record_to_a_quote_left_open(tmp_path: Path) -> None:
    """A bus driver report whose description opens a quote it never closes: that line is a
    report of its own (its description ends with the line), the reports after it are
    imported, not taken into its description; a description quoted over two lines, closed,
    stays one report."""
    head = (
        "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,"
        "cause_code,youth_flag,vulnerability_flag,description"
    )
    row = "{ref},2025-01-13 15:42,W3,1,Arriva London,,51.6070,-0.1245,ASB,Y,N,{text}"
    lines = [
        head,
        row.format(ref="DIR-1", text='"Youths at the stop,\nthen on the top deck"'),
        row.format(ref="DIR-2", text='"Stones thrown, driver shaken'),  # never closed
        *(row.format(ref=f"DIR-{k}", text="Egg thrown") for k in range(3, 7)),
    ]
    path = tmp_path / "dir.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Store(tmp_path / "s.db") as store:
        result = import_file(store, "dir", path)
        frame = store.incidents(sources=["dir"], with_location=False)
    assert (result.rows, result.accepted, result.quarantined) == (6, 6, 0)
    assert set(frame["source_ref"]) == {f"DIR-{k}" for k in range(1, 7)}
    text = {r: str(d) for r, d in zip(frame["source_ref"], frame["detail"], strict=True)}
    assert "top deck" in text["DIR-1"]
    assert "driver shaken" in text["DIR-2"] and "Egg thrown" not in text["DIR-2"]

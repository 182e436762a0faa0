"""Issue 9, items 11-16: nothing lost at import.

The police.uk files here are real City of London Police rows (data.police.uk, OGL v3), copied
by hand from the months named in each file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import openpyxl
import pytest

from geosafe import datasets
from geosafe._errors import ImportFileError
from geosafe.cli import main
from geosafe.ingest import import_file
from geosafe.store import Store

from .._stores import sql
from .conftest import DATA, reasons, settings
from .test_cli import KEYS


def _city_of_london() -> object:
    boroughs = datasets.boroughs()
    city = boroughs[boroughs["gss_code"] == "E09000001"]  # City of London
    assert len(city) == 1
    return city.geometry.iloc[0]


# ---------------------------------------------------------------------------- 11


def test_located_row_beats_no_location_copy_in_the_same_month(store: Store) -> None:
    # 2018-02: two crimes each with a located row, then a "No Location" row (as published)
    r = import_file(store, "police_uk", DATA / "police_city_pairs.csv")
    assert (r.rows, r.accepted, r.quarantined, r.updated) == (4, 4, 0, 2)
    assert r.located_preferred == 2
    assert r.to_json()["located_preferred"] == 2
    on_map = store.incidents(sources=["police_uk"])
    assert sorted(on_map["source_ref"].str[:4]) == ["36e1", "9741"]
    assert set(on_map["location_text"]) == {"On or near Plough Place", "On or near Nightclub"}
    # the no-location versions are kept as history, not lost
    everything = store.incidents(sources=["police_uk"], with_location=False, include_history=True)
    assert len(everything) == 4


@pytest.mark.parametrize(
    "order", [("located", "unlocated"), ("unlocated", "located")], ids=["loc-first", "loc-last"]
)
def test_located_row_wins_across_batches(store: Store, order: tuple[str, str]) -> None:
    results = [
        import_file(store, "police_uk", DATA / f"police_city_pair_{name}.csv") for name in order
    ]
    assert results[1].updated == 1
    assert results[1].located_preferred == 1
    current = store.incidents(sources=["police_uk"], with_location=False)
    assert len(current) == 1
    assert current["geocode_method"].iloc[0] == "police_uk"


# ---------------------------------------------------------------------------- 12


def test_points_just_outside_a_river_bank_boundary_are_accepted(store: Store) -> None:
    # the City of London's boundary runs along the north bank: police.uk points on
    # Blackfriars Bridge (A201, 111 m out), Gloucester Court (10 m) and the Tower pier
    # (Ferry Terminal, 20 m) are City crimes; Tooley Street (279 m, south bank) is not
    r = import_file(store, "police_uk", DATA / "police_city_riverside.csv", aoi=_city_of_london())
    assert (r.accepted, r.quarantined) == (3, 1)
    (q,) = store.quarantine(r.batch_id)
    assert q.row == 4
    assert q.reason_code == "coord_outside_aoi"
    assert "279 m outside the area of interest" in q.reason
    assert "250 m tolerated" in q.reason
    assert "--aoi-margin" in q.reason


def test_margin_is_configurable_and_zero_restores_the_strict_test(store: Store) -> None:
    r = import_file(
        store,
        "police_uk",
        DATA / "police_city_riverside.csv",
        aoi=_city_of_london(),
        settings=settings(aoi_margin_m=0),
    )
    assert r.quarantined == 4
    by_row = {q.row: q.reason for q in store.quarantine(r.batch_id)}
    assert "111 m outside" in by_row[1]
    assert "10 m outside" in by_row[2]


def test_margin_from_the_environment_and_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import geopandas as gpd

    aoi = tmp_path / "city.geojson"
    gpd.GeoDataFrame(geometry=[_city_of_london()], crs="EPSG:27700").to_file(aoi)
    monkeypatch.setenv("GEOSAFE_INGEST_AOI_MARGIN_M", "300")
    src = str(DATA / "police_city_riverside.csv")
    assert (
        main(["import", "police-uk", src, "--db", str(tmp_path / "a.db"), "--aoi", str(aoi)]) == 0
    )
    assert json.loads(capsys.readouterr().out)["accepted"] == 4
    argv = ["import", "police-uk", src, "--db", str(tmp_path / "b.db"), "--aoi", str(aoi)]
    assert main([*argv, "--aoi-margin", "50"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 2
    with pytest.raises(SystemExit):
        main([*argv, "--aoi-margin", "-5"])
    assert "`--aoi-margin` '-5'" in capsys.readouterr().err


def test_per_row_sources_use_the_margin_too(store: Store, tmp_path: Path) -> None:
    # the same Blackfriars Bridge point as DIR AVL coordinates
    path = tmp_path / "dir.csv"
    path.write_text(
        "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,cause_code,"
        "youth_flag,vulnerability_flag,description\n"
        "D1,2025-01-13 15:42,45,1,Go-Ahead,,51.509848,-0.104494,ASB,Y,N,\n"
        "D2,2025-01-13 15:43,45,1,Go-Ahead,,51.506282,-0.087005,ASB,Y,N,\n",
        encoding="utf-8",
    )
    r = import_file(store, "dir", path, aoi=_city_of_london())
    assert (r.accepted, r.quarantined) == (1, 1)
    (q,) = store.quarantine(r.batch_id)
    assert q.row == 2 and "279 m outside" in q.reason


# ---------------------------------------------------------------------------- 13


def test_updated_in_the_import_summary_and_batch_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "s.db")
    assert main(["import", "police-uk", str(DATA / "police_jan.csv"), "--db", db]) == 0
    capsys.readouterr()
    assert main(["import", "police-uk", str(DATA / "police_feb.csv"), "--db", db]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == KEYS  # the issue-2 keys in order, then the added ones
    assert KEYS[8] == "updated"
    assert out["updated"] == 1
    assert main(["batch", "list", "--db", db, "--format", "json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [b["updated"] for b in listed] == [0, 1]


# ---------------------------------------------------------------------------- 14


def test_same_bytes_with_other_encoding_say_why_and_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "s.db")
    src = str(DATA / "dir_cp1252.csv")
    monkeypatch.setenv("GEOSAFE_INGEST_ENCODING", "cp1252")
    assert main(["import", "dir", src, "--db", db]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["duplicate_reason"] is None
    monkeypatch.setenv("GEOSAFE_INGEST_ENCODING", "utf-8")
    assert main(["import", "dir", src, "--db", db]) == 0
    out, err = capsys.readouterr()
    again = json.loads(out)
    assert again["duplicate_batch"] is True
    why = again["duplicate_reason"]
    assert "encoding was 'cp1252', now 'utf-8' (GEOSAFE_INGEST_ENCODING)" in why
    assert f"geosafe batch rollback {first['batch_id']}" in why
    assert "--force" in why
    assert why in err
    # --force: the earlier batch is rolled back and the bytes imported with today's settings
    assert main(["import", "dir", src, "--db", db, "--force"]) == 0
    forced = json.loads(capsys.readouterr().out)
    assert forced["duplicate_batch"] is False
    assert forced["batch_id"] != first["batch_id"]
    with Store(db) as store:
        assert store.batch(first["batch_id"]).status == "rolled_back"
        assert store.batch(forced["batch_id"]).extra["options"]["encoding"] == "utf-8"


def test_ignored_columns_are_listed(store: Store, tmp_path: Path) -> None:
    text = (DATA / "dir_good.csv").read_text(encoding="utf-8").splitlines()
    rows = [f"{line},x" for line in text]
    rows[0] = text[0] + ",Officer notes"
    path = tmp_path / "extra.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = import_file(store, "dir", path)
    assert r.ignored_columns == ("Officer notes",)
    assert r.to_json()["ignored_columns"] == ["Officer notes"]
    police = tmp_path / "police.csv"
    lines = (DATA / "police_jan.csv").read_text(encoding="utf-8").splitlines()
    police.write_text(
        "\n".join([lines[0] + ",Extra", *(f"{x},1" for x in lines[1:])]) + "\n", encoding="utf-8"
    )
    assert import_file(store, "police_uk", police).ignored_columns == ("Extra",)
    # the duplicate answer repeats what the first import said
    assert import_file(store, "dir", path).ignored_columns == ("Officer notes",)


def test_a_file_of_another_source_is_named(store: Store) -> None:
    with pytest.raises(ImportFileError, match=r"looks like a dir file.*geosafe import dir"):
        import_file(store, "cris", DATA / "dir_good.csv")
    with pytest.raises(ImportFileError, match=r"looks like a police-uk file"):
        import_file(store, "asif", DATA / "police_jan.csv")


def test_excel_header_below_the_first_row_is_found(store: Store, tmp_path: Path) -> None:
    lines = (DATA / "dir_good.csv").read_text(encoding="utf-8").splitlines()
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Driver incident reports, January 2025"])
    ws.append([])
    ws.append(lines[0].split(","))
    ws.append(["DIR-1", "2025-01-13 15:42", "W3", "1", "Arriva London", "490000252S"])
    path = tmp_path / "titled.xlsx"
    wb.save(path)
    with pytest.raises(ImportFileError, match="header seems to be on row 3 of the sheet"):
        import_file(store, "dir", path)


# ---------------------------------------------------------------------------- 15


def test_no_op_reimport_cleans_up_a_dead_batch(store: Store, tmp_path: Path) -> None:
    first = import_file(store, "dir", DATA / "dir_good.csv")
    # a killed import: a staging batch whose process is gone, with its rows
    dead = subprocess.Popen(["true"])
    dead.wait()
    db = store.target
    sql(
        db,
        "INSERT INTO batches (batch_id, source, file_sha256, status, pid, started_at) "
        "VALUES (99, 'police_uk', 'x', 'staging', ?, '2026-01-01')",
        (dead.pid,),
    )
    sql(
        db,
        "INSERT INTO incidents (batch_id, source, source_ref, ref_key) VALUES (99, 'police_uk', ?, 0)",
        many=[(f"r{i}",) for i in range(50)],
    )
    again = import_file(store, "dir", DATA / "dir_good.csv")
    assert again.duplicate_batch and again.batch_id == first.batch_id
    left = sql(db, "SELECT COUNT(*) FROM incidents WHERE batch_id = 99")[0][0]
    status = sql(db, "SELECT status FROM batches WHERE batch_id = 99")[0][0]
    assert (left, status) == (0, "aborted")


# ---------------------------------------------------------------------------- 16


def test_errors_name_the_environment_variable_with_an_example(store: Store) -> None:
    r = import_file(store, "dir", DATA / "dir_times.csv")
    texts = [q.reason for q in store.quarantine(r.batch_id) if q.reason_code == "time_format"]
    assert texts
    for text in texts:
        assert 'GEOSAFE_INGEST_DATETIME_FORMATS=\'{"dir": "%d/%m/%Y %H:%M"}\'' in text
        assert "IngestSettings" not in text
    assert reasons(store, r.batch_id)

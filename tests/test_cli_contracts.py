"""The command-line contracts of issues 2, 3, 4 and 6, exercised as an external script would.

Each test pins one documented contract (argument names, stdout shape, exit codes) on small
hand-written inputs or a few bundled police.uk months, and checks values against independent
readers (the CSV file itself, rasterio) rather than numbers geosafe produced. Most commands run
in-process through :func:`geosafe.cli.main`; the ones whose contract is about the process
(stdout bytes, a closed pipe) run the installed console script.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from geosafe.cli import main
from geosafe.store import open_store
from tests.ingest.test_cli import KEYS as IMPORT_KEYS  # issue 2's exact key order

ROOT = Path(__file__).resolve().parent.parent
POLICE = ROOT / "data" / "police"
GTFS = ROOT / "data" / "gtfs" / "demo_area_estimated"
GEOSAFE = Path(sys.executable).parent / "geosafe"

DIR_HEADER = (
    "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,cause_code,"
    "youth_flag,vulnerability_flag,description"
)
# Data row 1 is clean; row 2 has a day-first date; row 3 an unknown stop code.
DIR_ROWS = [
    "T-DIR-1,2025-01-13 15:42,W3,1,Arriva London,490000252S,51.6070,-0.1245,ASB,Y,N,ok",
    "T-DIR-2,13/01/2025 15:42,W3,1,Arriva London,490000252S,51.6070,-0.1245,ASB,Y,N,bad date",
    "T-DIR-3,2025-01-14 15:42,W3,1,Arriva London,490099999Z,,,ASB,Y,N,bad stop",
]


def _police_months(*months: str) -> list[str]:
    return [str(POLICE / f"{m}-metropolitan-street.csv.gz") for m in months]


@pytest.fixture
def dir_file(tmp_path: Path) -> Path:
    path = tmp_path / "dir.csv"
    path.write_text("\n".join([DIR_HEADER, *DIR_ROWS]) + "\n", encoding="utf-8")
    return path


def test_import_json_duplicate_and_env_db(
    dir_file: Path,
    store_target: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEOSAFE_DB", store_target)
    assert main(["import", "dir", str(dir_file)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert list(first) == IMPORT_KEYS
    assert (first["source"], first["rows"], first["accepted"], first["quarantined"]) == (
        "dir",
        3,
        1,
        2,
    )
    assert first["duplicate_batch"] is False
    with open_store(store_target) as store:  # --db fell back to $GEOSAFE_DB
        assert [b.batch_id for b in store.batches()] == [first["batch_id"]]
    assert main(["import", "dir", str(dir_file)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["duplicate_batch"] is True
    changed = ("duplicate_batch", "duplicate_reason")  # the reason says why (issue 9, 14)
    assert {k: v for k, v in again.items() if k not in changed} == {
        k: v for k, v in first.items() if k not in changed
    }
    assert "batch rollback" in again["duplicate_reason"]


def test_import_unusable_file_exit_2_empty_stdout(tmp_path: Path, store_target: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(DIR_HEADER.replace("dir_ref", "ref") + "\n" + DIR_ROWS[0] + "\n")
    proc = subprocess.run(
        [str(GEOSAFE), "import", "dir", str(bad), "--db", store_target],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "dir_ref" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_quarantine_json_lines_rows_and_export(
    dir_file: Path, tmp_path: Path, store_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = store_target
    assert main(["import", "dir", str(dir_file), "--db", db]) == 0
    capsys.readouterr()
    assert main(["quarantine", "--db", db, "--format", "json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    # the contract's keys, and since the eighth wave `line` (the file line the row starts on)
    assert [sorted(x) for x in lines] == [
        ["batch_id", "column", "line", "reason", "reason_code", "row"]
    ] * 2
    by_row = {x["row"]: x for x in lines}
    assert sorted(by_row) == [2, 3]  # 1-based data rows, header excluded
    assert [by_row[2]["line"], by_row[3]["line"]] == [3, 4]  # the header is line 1
    assert by_row[2]["reason_code"] == "time_format"
    assert by_row[2]["column"] == "reported_at"
    assert by_row[3]["reason_code"] == "stop_code_unknown"
    out = tmp_path / "fix.csv"
    assert main(["quarantine", "--db", db, "--export", str(out)]) == 0
    exported = out.read_text(encoding="utf-8").splitlines()
    assert exported[0].startswith(DIR_HEADER)
    assert exported[1].startswith(DIR_ROWS[1]) and exported[2].startswith(DIR_ROWS[2])


def test_closed_stdout_pipe_is_not_a_traceback(dir_file: Path, store_target: str) -> None:
    db = store_target
    assert main(["import", "dir", str(dir_file), "--db", db]) == 0
    # `geosafe quarantine ... | head -0`: the reader is gone before anything is written.
    with subprocess.Popen(
        [str(GEOSAFE), "quarantine", "--db", db, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert "Traceback" not in err
    assert code != 0


def test_template_has_example_ref(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "dir"]) == 0
    head, row = capsys.readouterr().out.splitlines()[:2]
    # the documented columns, then the optional person columns (issue 12), appended
    assert head == DIR_HEADER + ",person_ref,person_role"
    assert row.startswith("EXAMPLE-")


def test_batch_list_and_rollback(
    dir_file: Path, store_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = store_target
    assert main(["import", "dir", str(dir_file), "--db", db]) == 0
    batch = json.loads(capsys.readouterr().out)["batch_id"]
    assert main(["batch", "list", "--db", db]) == 0
    assert "committed" in capsys.readouterr().out
    assert main(["batch", "rollback", str(batch), "--db", db]) == 0
    capsys.readouterr()
    assert main(["batch", "list", "--db", db]) == 0
    assert "rolled_back" in capsys.readouterr().out
    assert main(["batch", "rollback", "999", "--db", db]) == 2


def test_kde_geotiff_per_km2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _police_months("2023-01", "2023-02")
    out = tmp_path / "k.tif"
    argv = ["kde", *files, "--bandwidth", "300", "--cell", "50", "--kernel", "quartic"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    # independent count: distinct crimes with a location in the files themselves (a crime
    # republished in a later month is one incident)
    rows = pd.concat([pd.read_csv(f, usecols=["Crime ID", "Longitude"]) for f in files])
    n = int(rows.dropna().drop_duplicates("Crime ID").shape[0])
    with rasterio.open(out) as r:
        assert r.crs.to_epsg() == 27700
        assert r.res == (50.0, 50.0)
        a = r.read(1, masked=True)
        mass = float(a.sum()) * 50.0 * 50.0 / 1e6  # per km² x km² per cell
    # the default extent is the points plus one bandwidth, so no mass falls off the grid
    assert mass == pytest.approx(n, rel=0.005)


def test_hotspots_emerging_writes_geojson(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "e.geojson"
    files = _police_months("2023-01", "2023-02", "2023-03", "2023-04")
    assert main(["hotspots", *files, "--method", "emerging", "--out", str(out)]) == 0
    capsys.readouterr()
    fc = json.loads(out.read_text())
    assert fc["type"] == "FeatureCollection" and fc["features"]
    assert {"h3_cell", "category", "count"} <= set(fc["features"][0]["properties"])
    total = sum(f["properties"]["count"] for f in fc["features"])
    assert total > 0


def test_evaluate_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    files = _police_months("2023-01", "2023-02", "2023-03")
    argv = ["evaluate", *files, "--method", "kde", "--method", "grid", "--train-months", "2"]
    argv += ["--test-months", "1", "--area", "0.05", "--format", "json"]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    # the keys, in order; keys are only ever added (issue 11: study_area, excluded)
    assert list(res)[:3] == ["test_months", "area", "methods"]
    assert set(res) - {"test_months", "area", "methods"} <= {"study_area", "excluded"}
    assert res["test_months"] == ["2023-03"]
    assert res["area"] == 0.05
    assert sorted(res["methods"]) == ["grid", "kde"]
    for m in res["methods"].values():
        assert sorted(m) == ["pai", "pei", "rri", "settings"]
        for k in ("pai", "pei", "rri"):
            assert sorted(m[k]) == ["max", "mean", "min"]


def test_route_no_journey_is_null_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["route", "--gtfs", str(GTFS), "--from-stop", "490009983G", "--to-stop", "490010801G"]
    assert main([*argv, "--depart", "08:00", "--date", "2025-03-12", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {"departure_s", "arrival_s", "legs"} <= set(found)
    assert found["arrival_s"] >= found["departure_s"] >= 8 * 3600
    # the feed's calendar ends in 2027: no service on this date
    assert main([*argv, "--depart", "08:00", "--date", "2030-03-12", "--format", "json"]) == 0
    none = json.loads(capsys.readouterr().out)
    assert none["arrival_s"] is None and none["legs"] == []


def test_token_alone_on_last_line(store_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = store_target
    assert main(["token", "create", "--role", "school", "--school", "139362", "--db", db]) == 0
    token = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", token)
    assert main(["token", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    assert "139362" in listing and token not in listing
    token_id = listing.splitlines()[1].split()[0]
    assert main(["token", "revoke", token_id, "--db", db]) == 0
    assert main(["audit", "--db", db]) == 0
    assert "token" in capsys.readouterr().out


def test_erase_and_purge(
    dir_file: Path, store_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = store_target
    assert main(["import", "dir", str(dir_file), "--db", db]) == 0
    assert main(["erase", "--source", "dir", "--ref", "T-DIR-1", "--db", db]) == 0
    assert "incidents" in capsys.readouterr().out
    assert main(["erase", "--source", "dir", "--ref", "T-DIR-1", "--db", db]) == 2
    assert main(["purge", "--retention-days", "1", "--db", db]) == 0
    assert "purged" in capsys.readouterr().out


def test_journeys_unroutable_origin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "empty.db")  # no incidents: routes only (exposure is pinned elsewhere)
    origins = tmp_path / "o.csv"
    origins.write_text("id,latitude,longitude\nA,51.6010,-0.1180\nFAR,53.0,-2.0\n")
    out = tmp_path / "j.geojson"
    argv = ["journeys", "--school", "139362", "--origins", str(origins), "--mode", "walk"]
    argv += ["--arrive-by", "08:40", "--date", "2025-03-12", "--db", db]
    with pytest.warns(UserWarning, match="exposure is not computed"):
        assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    feats = {f["properties"]["origin_id"]: f for f in json.loads(out.read_text())["features"]}
    keys = {"origin_id", "school_urn", "mode", "distance_m", "duration_s", "exposure"}
    keys |= {"exposure_units", "hotspots_crossed", "alt_distance_m", "alt_exposure"}
    assert keys <= set(feats["A"]["properties"])
    assert feats["A"]["geometry"]["type"] == "LineString"
    assert np.isfinite(feats["A"]["properties"]["distance_m"])
    assert feats["FAR"]["geometry"] is None and feats["FAR"]["properties"]["error"]

"""``geosafe import-archive``: the national archive layout imported in parallel partitions
gives what importing the same files one by one gives (updates, duplicates, quarantine), and
a second run is a no-op. Data: the bundled real police.uk months, laid out as the bulk
download unpacks (one folder per month, one file per force; the rows split between two
"forces" by their borough)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from geosafe import archive
from geosafe._errors import ImportFileError, ValidationError
from geosafe.cli import main
from geosafe.ingest import import_file
from geosafe.store import open_store

MONTHS = ("2023-01", "2023-02", "2023-03", "2023-04")


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("archive")
    for month in MONTHS:
        src = data_dir / "police" / f"{month}-metropolitan-street.csv.gz"
        with gzip.open(src, "rt", encoding="utf-8") as fh:
            df = pd.read_csv(fh, dtype=str, keep_default_na=False)
        d = root / month
        d.mkdir()
        barnet = df["LSOA name"].str.startswith("Barnet")
        df[barnet].to_csv(d / f"{month}-barnet-force-street.csv", index=False)
        rest = df[~barnet]
        if month == "2023-02":  # a broken row: quarantined, never lost
            bad = rest.iloc[[0]].assign(Latitude="not-a-number", **{"Crime ID": "f" * 64})
            rest = pd.concat([rest, bad])
        rest.to_csv(d / f"{month}-metropolitan-street.csv", index=False)
        (d / f"{month}-metropolitan-outcomes.csv").write_text(
            "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
            "LSOA name,Outcome type\n"
        )
        (d / f"{month}-metropolitan-stop-and-search.csv").write_text("Type,Date\n")
    (root / MONTHS[0] / "notes.txt").write_text("not a data file")
    return root


def _street_files(root: Path) -> list[Path]:
    files, _ = archive.scan_archive(root)
    return [f.path for f in files]


def _current(db: str) -> pd.DataFrame:
    s = open_store(db)
    try:
        gdf = s.incidents(with_location=False)
    finally:
        s.close()
    cols = [c for c in gdf.columns if c not in ("batch_id", "geometry", "detail", "flags")]
    out = pd.DataFrame(gdf[cols]).assign(wkt=gdf.geometry.to_wkt())
    return out.sort_values("incident_id").reset_index(drop=True)


def test_scan_lists_street_files_and_skips_the_rest_with_reasons(archive_dir: Path) -> None:
    files, skipped = archive.scan_archive(archive_dir)
    assert [f.month for f in files] == sorted(f.month for f in files)
    assert {f.force for f in files} == {"barnet-force", "metropolitan"}
    assert len(files) == 2 * len(MONTHS)
    reasons = {Path(s["file"]).name: s["reason"] for s in skipped}
    assert "outcomes file" in reasons["2023-01-metropolitan-outcomes.csv"]
    assert "stop-and-search" in reasons["2023-01-metropolitan-stop-and-search.csv"]
    assert "not a police.uk archive file name" in reasons["notes.txt"]
    files, _ = archive.scan_archive(archive_dir, months=["2023-02"], forces=["metropolitan"])
    assert [p.path.name for p in files] == ["2023-02-metropolitan-street.csv"]
    with pytest.raises(ValidationError, match=r"`--forces` kent not found.*barnet-force"):
        archive.scan_archive(archive_dir, forces=["kent"])
    with pytest.raises(ValidationError, match=r"`--months` value '2023-1'"):
        archive.scan_archive(archive_dir, months=["2023-1"])
    with pytest.raises(ImportFileError, match=r"no YYYY-MM folders"):
        archive.scan_archive(archive_dir / "2023-01")


def test_parallel_import_equals_file_by_file_import(
    archive_dir: Path, new_store_target: Callable[[str], str]
) -> None:
    """On SQLite (writers serialised) and PostGIS (concurrent COPY)."""
    seq_db = new_store_target("seq.db")
    expected = {"rows": 0, "accepted": 0, "quarantined": 0, "updated": 0}
    store = open_store(seq_db)
    try:
        for p in _street_files(archive_dir):
            r = import_file(store, "police_uk", p)
            for k in expected:
                expected[k] += getattr(r, k)
    finally:
        store.close()
    par_db = new_store_target("par.db")
    res = archive.import_archive(par_db, archive_dir, workers=2)
    got = res.to_json()
    assert {k: got[k] for k in expected} == expected
    assert got["accepted"] + got["quarantined"] == got["rows"] > 0
    assert got["quarantined"] >= 1 and got["updated"] >= 1  # the broken row; real updates
    assert got["files"] == 2 * len(MONTHS) and got["forces"] == 2 and got["months"] == 4
    assert len(got["skipped"]) == 2 * len(MONTHS) + 1 and got["failed"] == []
    pd.testing.assert_frame_equal(_current(par_db), _current(seq_db))
    s, q = open_store(par_db), open_store(seq_db)
    try:
        assert s.counts() == q.counts()
        reasons = sorted(r.reason_code for r in s.quarantine())
        assert reasons == sorted(r.reason_code for r in q.quarantine())
        assert any(r.raw.get("Crime ID") == "f" * 64 for r in s.quarantine())
    finally:
        s.close()
        q.close()
    # a second run is a no-op
    again = archive.import_archive(par_db, archive_dir, workers=2).to_json()
    assert again["duplicate_files"] == again["files"] == 2 * len(MONTHS)
    assert again["rows"] == again["accepted"] == 0
    pd.testing.assert_frame_equal(_current(par_db), _current(seq_db))


def test_cli_prints_the_summary(archive_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            [
                "import-archive",
                str(archive_dir),
                "--db",
                str(db),
                "--workers",
                "1",
                "--months",
                "2023-01,2023-02",
                "--forces",
                "metropolitan",
                "--quiet",
            ]
        )
    assert code == 0
    out = json.loads(buf.getvalue())
    assert out["files"] == 2 and out["forces"] == 1 and out["months"] == 2
    assert out["accepted"] + out["quarantined"] == out["rows"] > 0
    assert set(out) >= {"rows_per_second", "skipped", "failed", "seconds"}

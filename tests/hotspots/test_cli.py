from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geosafe.cli import main

HEADER = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]


def _police_files(tmp_path: Path, months: list[str], seed: int = 0) -> list[Path]:
    """Tiny police.uk files: recurring map points around Wood Green."""
    rng = np.random.default_rng(seed)
    snaps = np.column_stack([rng.normal(-0.11, 0.006, 60), rng.normal(51.597, 0.004, 60)])
    out = []
    k = 0
    for m in months:
        p = tmp_path / f"{m}-metropolitan-street.csv.gz"
        with gzip.open(p, "wt", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            for _ in range(80):
                i = rng.integers(0, 60) if rng.random() < 0.5 else rng.integers(0, 6)
                k += 1
                w.writerow(
                    [
                        f"{k:064x}",
                        m,
                        "Metropolitan Police Service",
                        "Metropolitan Police Service",
                        f"{snaps[i, 0]:.6f}",
                        f"{snaps[i, 1]:.6f}",
                        "On or near High Road",
                        "E01002000",
                        "Haringey 001A",
                        "Burglary",
                        "Under investigation",
                        "",
                    ]
                )
        out.append(p)
    return out


def test_kde_command_writes_cog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _police_files(tmp_path, ["2023-01", "2023-02"])
    out = tmp_path / "k.tif"
    code = main(
        [
            "kde",
            *map(str, files),
            "--bandwidth",
            "300",
            "--cell",
            "50",
            "--kernel",
            "quartic",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["used"] == 160
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 27700
        total = float(ds.read(1, masked=True).sum()) * 50 * 50 / 1e6
    assert total == pytest.approx(160, rel=0.01)  # extent = points + one bandwidth


def test_kde_auto_and_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _police_files(tmp_path, ["2023-01", "2023-02"])
    code = main(
        [
            "kde",
            str(tmp_path),
            "--bandwidth",
            "auto",
            "--cell",
            "25",
            "--kernel",
            "gaussian",
            "--from-date",
            "2023-02-01",
            "--boroughs",
            "Haringey",
            "--out",
            str(tmp_path / "a.tif"),
        ]
    )
    assert code == 0
    s = json.loads(capsys.readouterr().out)
    assert s["bandwidth_method"] == "cv" and s["bandwidth_m"] > 0
    assert s["counts"]["input"] == 80
    assert files


def test_hotspots_and_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    months = [f"2023-{m:02d}" for m in range(1, 9)]
    files = _police_files(tmp_path, months, seed=2)
    for method, extra in (
        ("kde", ["--top-percent", "5"]),
        ("dbscan", ["--eps", "150"]),
        ("gistar", ["--permutations", "999"]),
    ):
        out = tmp_path / f"{method}.geojson"
        assert (
            main(
                [
                    "hotspots",
                    *map(str, files),
                    "--method",
                    method,
                    "--boroughs",
                    "Haringey,Enfield,Barnet",
                    "--out",
                    str(out),
                    *extra,
                ]
            )
            == 0
        )
        doc = json.loads(out.read_text())
        assert doc["type"] == "FeatureCollection" and doc["features"]
        capsys.readouterr()
    code = main(
        [
            "evaluate",
            *map(str, files),
            "--method",
            "grid",
            "--method",
            "kde",
            "--method",
            "auto",
            "--train-months",
            "4",
            "--test-months",
            "1",
            "--area",
            "0.05",
            "--from",
            "2023-06",
            "--to",
            "2023-08",
            "--boroughs",
            "Haringey,Enfield,Barnet",
            "--format",
            "json",
        ]
    )
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["test_months"] == ["2023-06", "2023-07", "2023-08"]
    assert res["area"] == 0.05
    assert set(res["methods"]) == {"grid", "kde", "auto"}
    for m in res["methods"].values():
        assert set(m) >= {"pai", "pei", "rri", "settings"}
        assert set(m["pai"]) == {"mean", "min", "max"}
    assert set(res["methods"]["auto"]["settings"]["chosen"]) == set(res["test_months"])


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "kde",
            str(tmp_path / "missing.csv"),
            "--bandwidth",
            "100",
            "--cell",
            "10",
            "--out",
            str(tmp_path / "x.tif"),
        ]
    )
    assert code == 2
    assert "missing.csv" in capsys.readouterr().err


def test_kde_reads_the_store_without_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _police_files(tmp_path, ["2023-01", "2023-02"], seed=5)
    db = tmp_path / "store.db"
    assert main(["import", "police-uk", *map(str, files), "--db", str(db)]) == 0
    capsys.readouterr()
    code = main([
        "kde", "--db", str(db), "--purpose", "test", "--bandwidth", "300", "--cell", "50",
        "--kernel", "quartic",
        "--from-date", "2023-02-01", "--to-date", "2023-02-28", "--per-year",
        "--out", str(tmp_path / "s.tif"),
    ])  # fmt: skip
    assert code == 0
    s = json.loads(capsys.readouterr().out)
    assert s["counts"]["used"] == 80  # February only
    assert s["units"] == "incidents per km² per year"

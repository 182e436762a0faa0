"""No silent emptiness (issue 11, item 4): every record a filter or an analysis drops is
counted by reason, and a command with nothing left says why (exit 2) or shows a labelled
"all times" layer (exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Point

from geosafe.cli import main
from geosafe.filters import EXCLUSION_REASONS, IncidentFilter

from .conftest import make_frame
from .test_cli import _police_files
from .test_filters import _frame


def test_school_run_exclusions_by_hand() -> None:
    """The seven rows of ``test_filters._frame`` under the school run, reason by reason."""
    ex = IncidentFilter(preset="school-run").exclusions(_frame())
    assert ex.read == 7 and ex.kept == 1 and ex.total == 6
    assert ex.by_reason == {
        "outside_hours": 2,  # Monday midday, Tuesday 23:30
        "outside_weekdays": 1,  # Saturday
        "not_school_day": 1,  # half-term Tuesday
        "time_too_coarse_for_weekdays": 1,  # police.uk month
        "time_too_coarse_for_hours": 1,  # CRIS known to the day
    }
    assert ex.by_source["time_too_coarse_for_weekdays"] == {"police_uk": 1}
    assert ex.by_source["time_too_coarse_for_hours"] == {"cris": 1}
    assert set(ex.by_reason) <= set(EXCLUSION_REASONS)
    js = ex.as_json()
    assert js["total"] == 6 and js["kept"] == 1 and js["read"] == 7
    coarse = [m for m in js["messages"] if "police_uk" in m]
    assert coarse and "month" in coarse[0] and "--coarse-times all-times" in coarse[0]


def test_each_record_counts_once_under_its_first_reason() -> None:
    f = _frame()
    filt = IncidentFilter(sources=("dir",), preset="school-run")
    ex = filt.exclusions(f)
    assert ex.by_reason["source"] == 4  # asif, cris, police_uk, cris
    assert ex.total + ex.kept == ex.read == 7
    assert ex.kept == int(filt.mask(f).sum())
    # the "all times" rows: those dropped only because their time is too coarse
    assert [
        int(r) for r in f[IncidentFilter(preset="school-run").coarse_time_mask(f)]["source_ref"]
    ] == [4, 5]


def test_analysis_drops_are_added() -> None:
    ex = IncidentFilter().exclusions(make_frame([Point(530000, 190000)] * 3))
    assert ex.total == 0 and ex.kept == 3
    ex2 = ex.add("location_too_coarse", 2, {"fap": 2})
    assert ex2.kept == 1 and ex2.by_reason == {"location_too_coarse": 2}
    with pytest.raises(Exception, match="`reason`"):
        ex.add("because", 1)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("command", ["kde", "hotspots"])
def test_police_uk_school_run_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    files = _police_files(tmp_path, ["2023-01", "2023-02"])
    extra = ["--bandwidth", "300", "--cell", "50"] if command == "kde" else ["--method", "kde"]
    out = tmp_path / ("k.tif" if command == "kde" else "h.geojson")
    code, _, err = _run(
        [command, *map(str, files), "--preset", "school-run", *extra, "--out", str(out)], capsys
    )
    assert code == 2
    assert "160 records (police_uk 160)" in err and "month" in err
    assert "--coarse-times all-times" in err and "--preset all-day" in err
    assert not out.exists()


@pytest.mark.parametrize("command", ["kde", "hotspots"])
def test_police_uk_school_run_gives_a_labelled_all_times_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    files = _police_files(tmp_path, ["2023-01", "2023-02"])
    extra = ["--bandwidth", "300", "--cell", "50"] if command == "kde" else ["--method", "kde"]
    out = tmp_path / ("k.tif" if command == "kde" else "h.geojson")
    code, stdout, _ = _run(
        [
            command,
            *map(str, files),
            "--preset",
            "school-run",
            *extra,
            "--out",
            str(out),
            "--coarse-times",
            "all-times",
        ],
        capsys,
    )
    assert code == 0
    s = json.loads(stdout)
    assert s["excluded"]["by_reason"] == {"time_too_coarse_for_weekdays": 160}
    assert s["excluded"]["kept"] == 0
    assert s["out"] is None and "month" in s["empty_reason"]
    layer = s["all_times_layer"]
    assert layer["incidents"] == 160 and layer["label"].startswith("all times:")
    alt = Path(layer["out"])
    assert alt.exists() and ".all-times." in alt.name
    if command == "hotspots":
        feats = json.loads(alt.read_text())["features"]
        assert feats and all(f["properties"]["time_basis"] == "all times" for f in feats)


def test_kde_never_writes_an_all_zero_surface_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """police.uk points are ~100 m precise: a 50 m bandwidth would use none of them."""
    files = _police_files(tmp_path, ["2023-01"])
    out = tmp_path / "k.tif"
    code, _, err = _run(
        ["kde", *map(str, files), "--bandwidth", "50", "--cell", "25", "--out", str(out)], capsys
    )
    assert code == 2 and not out.exists()
    assert "all 80" in err and "less precisely" in err and "--precision spread" in err


def test_kde_reports_what_it_excluded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _police_files(tmp_path, ["2023-01", "2023-02"])
    code, stdout, _ = _run(
        [
            "kde",
            *map(str, files),
            "--bandwidth",
            "300",
            "--cell",
            "50",
            "--from-date",
            "2023-02-01",
            "--out",
            str(tmp_path / "k.tif"),
        ],
        capsys,
    )
    assert code == 0
    s = json.loads(stdout)
    assert s["excluded"]["by_reason"] == {"before_from_date": 80}
    assert s["counts"]["used"] == 80  # existing keys kept


def test_evaluate_refuses_school_run_on_police_uk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _police_files(tmp_path, [f"2023-{m:02d}" for m in range(1, 5)])
    code, _, err = _run(
        ["evaluate", *map(str, files), "--train-months", "2", "--preset", "school-run"], capsys
    )
    assert code == 2
    assert "month" in err and "--preset all-day" in err
    assert "--coarse-times" not in err  # evaluate has no such layer


def test_evaluate_refuses_a_test_month_without_training_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _police_files(tmp_path, [f"2023-{m:02d}" for m in range(1, 5)])
    code, _, err = _run(
        [
            "evaluate",
            *map(str, files),
            "--train-months",
            "2",
            "--method",
            "grid",
            "--from",
            "2023-01",
            "--to",
            "2023-04",
        ],
        capsys,
    )
    assert code == 2
    assert "2023-01" in err and "no incidents in the 2 training months" in err
    assert "`--from` '2023-03'" in err


def test_evaluate_names_its_default_study_area(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The points lie around Wood Green (Haringey): the study area is Haringey, not London."""
    files = _police_files(tmp_path, [f"2023-{m:02d}" for m in range(1, 5)])
    code, stdout, _ = _run(
        ["evaluate", *map(str, files), "--train-months", "2", "--method", "grid"], capsys
    )
    assert code == 0
    s = json.loads(stdout)
    area = s["study_area"]
    assert "Haringey" in area["boroughs"] and len(area["boroughs"]) <= 2
    assert area["area_km2"] < 100  # Greater London is ~1,570 km2
    assert "boroughs the incidents fall in" in area["source"]
    assert s["excluded"]["total"] == 0
    assert s["test_months"] == ["2023-03", "2023-04"]


def test_evaluate_help_defines_the_measures(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    for term in (
        "PAI  Predictive Accuracy Index",
        "PEI  Predictive Efficiency Index",
        "RRI  Recapture Rate Index",
        "study area",
    ):
        assert term in text

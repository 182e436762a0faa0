"""`geosafe route`, `gtfs-validate` and `gtfs-build` (CLI contracts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geosafe.cli import main


def test_route_depart_json(hand_feed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "route",
            "--gtfs",
            str(hand_feed),
            "--from-stop",
            "A",
            "--to-stop",
            "D",
            "--depart",
            "07:55",
            "--date",
            "2026-03-10",
            "--format",
            "json",
            "--transfer-walk-m",
            "0",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["departure_s"] == 7 * 3600 + 55 * 60
    assert out["arrival_s"] == 8 * 3600 + 35 * 60
    assert [leg["mode"] for leg in out["legs"]] == ["wait", "bus", "wait", "bus"]
    assert out["legs"][1]["stops"] == ["A", "B", "C"] and out["legs"][3]["route"] == "2"


def test_route_arrive_by_json(hand_feed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "route",
            "--gtfs",
            str(hand_feed),
            "--from-stop",
            "A",
            "--to-stop",
            "D",
            "--arrive-by",
            "08:40",
            "--date",
            "2026-03-10",
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["departure_s"], out["arrival_s"]) == (8 * 3600, 8 * 3600 + 35 * 60)


def test_route_without_journey_is_null_and_exit_0(
    hand_feed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "route",
            "--gtfs",
            str(hand_feed),
            "--from-stop",
            "A",
            "--to-stop",
            "D",
            "--arrive-by",
            "08:00",
            "--date",
            "2026-03-10",
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["arrival_s"] is None and out["legs"] == []


def test_route_unknown_stop_exits_2(hand_feed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "route",
            "--gtfs",
            str(hand_feed),
            "--from-stop",
            "NOPE",
            "--to-stop",
            "D",
            "--depart",
            "08:00",
            "--date",
            "2026-03-10",
        ]
    )
    assert code == 2
    assert "'NOPE'" in capsys.readouterr().err


def test_route_needs_depart_or_arrive_by(hand_feed: Path) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                "route",
                "--gtfs",
                str(hand_feed),
                "--from-stop",
                "A",
                "--to-stop",
                "D",
                "--date",
                "2026-03-10",
            ]
        )


def test_gtfs_validate_reports_the_403_defect(
    gtfs_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["gtfs-validate", str(gtfs_root / "london_route_403"), "--format", "json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["rows_dropped"]["stop_times"] > 0
    assert any("490006706C13" in i["examples"] for i in report["issues"])

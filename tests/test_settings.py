"""Settings live in :mod:`geosafe.settings` and the modules read them from there: each
variable changes what the module does, and settings passed in win over the environment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from geosafe import calendar, rolls
from geosafe.profile import report
from geosafe.settings import CalendarSettings, ReportSettings, RollSettings

TERMS = "academic_year,term,start,end,half_term_start,half_term_end\n"


def test_rolls_dir_reads_the_environment_and_passed_settings_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEOSAFE_ROLLS_DIR", raising=False)
    assert rolls.rolls_dir(tmp_path / "s.db") == tmp_path / "s.db.rolls"
    monkeypatch.setenv("GEOSAFE_ROLLS_DIR", str(tmp_path / "env"))
    assert rolls.rolls_dir(tmp_path / "s.db") == tmp_path / "env"
    given = RollSettings(rolls_dir=tmp_path / "given")
    assert rolls.rolls_dir(tmp_path / "s.db", settings=given) == tmp_path / "given"
    assert rolls.RollSettings is RollSettings


def test_calendar_reads_the_environment_and_passed_settings_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_terms = tmp_path / "env.csv"
    env_terms.write_text(TERMS + "2024/25,autumn,2024-09-04,2024-12-20,2024-10-28,2024-11-01\n")
    given_terms = tmp_path / "given.csv"
    given_terms.write_text(TERMS + "2024/25,autumn,2024-09-02,2024-12-18,,\n")
    monkeypatch.setenv("GEOSAFE_CALENDAR", str(env_terms))
    assert calendar.load_calendar().source == str(env_terms)
    got = calendar.load_calendar(settings=CalendarSettings(calendar=given_terms))
    assert got.source == str(given_terms)
    assert got.is_school_day(dt.date(2024, 10, 29))  # no half term in the given file
    assert not calendar.default_calendar().is_school_day(dt.date(2024, 10, 29))


def test_chromium_comes_from_report_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = tmp_path / "my-chromium"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("GEOSAFE_CHROMIUM", str(exe))
    assert ReportSettings().chromium == str(exe)
    assert report._chromium() == str(exe)

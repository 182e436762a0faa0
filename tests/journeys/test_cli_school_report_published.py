"""``geosafe school-report --role school`` prints what the school would be shown: built from
the published counts (the exposure model) and the published referrals, as the service's
report is. The store's incident reader is made to refuse for the school's run; the analyst's
run (the control) reads incidents as before."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from geosafe.store import sqlite as sqlite_store
from tests.journeys._fixtures import MINI_GTFS, SCHOOL, build_store


def test_the_school_role_report_reads_no_incident_row(
    tmp_path: Path, walk_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geosafe.cli import main

    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(walk_cache))
    db, _ = build_store(tmp_path)
    argv = ["school-report", "--school", SCHOOL, "--db", str(db), "--date", "2025-03-04"]
    argv += list(MINI_GTFS)
    read: list[str] = []
    real = sqlite_store.Store.incidents

    def watched(self: Any, *a: Any, **k: Any) -> Any:
        read.append("incidents")
        return real(self, *a, **k)

    monkeypatch.setattr(sqlite_store.Store, "incidents", watched)
    try:
        assert main([*argv, "--out", str(tmp_path / "a")]) == 0
        assert read, "the control: the analyst's report reads incident rows"
        read.clear()
        assert main([*argv, "--out", str(tmp_path / "s"), "--role", "school"]) == 0
    finally:
        logging.captureWarnings(False)  # main() routes warnings to logging
    assert read == []
    page = (tmp_path / "s" / "report.html").read_text()
    assert "rounded to the nearest 5" in page

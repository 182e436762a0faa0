"""The app factory: nothing is built at import; settings come from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def test_import_builds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "never" / "geosafe.db"
    code = (
        "import api, api.ogc, api.maps, api.downloads, api.rasters, api.journeys, api.jobs, "
        "api.web, geosafe.layers, geosafe.maps, geosafe.jobs, geosafe.corridors, "
        "geosafe.hotspot_layers, geosafe.exports\n"
        "assert not hasattr(api, 'app')\n"
    )
    env = dict(os.environ, GEOSAFE_DB=str(db), GEOSAFE_WORK_DIR=str(tmp_path / "work"))
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "never").exists() and not (tmp_path / "work").exists()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEOSAFE_DB", str(tmp_path / "x.db"))
    monkeypatch.setenv("GEOSAFE_MAX_PAGE_SIZE", "77")
    monkeypatch.setenv("GEOSAFE_PORT", "8123")
    s = ServiceSettings()
    assert s.db == tmp_path / "x.db" and s.max_page_size == 77 and s.port == 8123

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
        "api.web, geosafe.publish.service, geosafe.publish.maps, geosafe.jobs, "
        "geosafe.publish.corridors, geosafe.publish.hotspot_layers, geosafe.publish.exports\n"
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


def test_geosafe_serve_prints_its_url_and_serves(service_db: Path | str, tmp_path: Path) -> None:
    import time

    import httpx

    from tests._live import free_port

    port = free_port()
    env = dict(os.environ, GEOSAFE_WORK_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "geosafe", "serve", "--db", str(service_db), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        for _ in range(200):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert r.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/ogc").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_shutdown_stops_the_lease_renewer(app) -> None:  # type: ignore[no-untyped-def]
    """A heavy slot leased while serving: the app's shutdown stops the renewing thread (no
    thread left waking at exit)."""
    from fastapi.testclient import TestClient

    with TestClient(app):
        leases = app.state.access.heavy.leases
        assert leases is not None
        slot = leases.try_take(1)
        thread = leases._thread
        assert slot is not None and thread is not None and thread.is_alive()
        leases.give_back(slot)
    assert not thread.is_alive()

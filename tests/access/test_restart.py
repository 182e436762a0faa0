"""A server restarted after an import was killed mid-way comes back consistent: every batch
landed whole or not at all, the API serves exactly the committed incidents, and re-running the
import completes to the same state as a clean import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from geosafe import datasets
from geosafe.access.tokens import TokenStore
from geosafe.ingest import import_file
from geosafe.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _ids(db: Path) -> set[str]:
    with Store(db) as store:
        return set(store.incidents(with_location=False)["incident_id"])


def _committed(db: Path) -> list:  # type: ignore[type-arg]
    if not db.exists():
        return []
    try:
        with Store(db) as store:
            return [b for b in store.batches() if b.status == "committed"]
    except Exception:  # the store is being created by the importer
        return []


def test_killed_import_then_restart(tmp_path: Path, data_dir: Path) -> None:
    files = datasets.police_files(data_dir)[-60:]
    db = tmp_path / "geosafe.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "geosafe", "import", "police-uk", *map(str, files), "--db", str(db)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(_committed(db)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"

    committed = _committed(db)
    assert 3 <= len(committed) < len(files)
    done = {Path(b.file_name).name for b in committed if b.file_name}
    # the reference: a clean import of exactly the committed files
    ref_db = tmp_path / "ref.db"
    with Store(ref_db) as ref:
        for f in files:
            if f.name in done:
                import_file(ref, "police_uk", f)
    assert _ids(db) == _ids(ref_db)

    # a fresh server on the store serves exactly the committed incidents
    from api import create_app
    from api.settings import ServiceSettings

    app = create_app(ServiceSettings(db=db, data_dir=data_dir, work_dir=tmp_path / "work"))
    token = TokenStore(Path(str(db) + ".auth.sqlite")).create("analyst", label="restart").token
    r = TestClient(app).get(
        "/ogc/collections/incidents/items?limit=1&preset=all-day&start=2000-01-01&end=2030-01-01",
        headers={"Authorization": f"Bearer {token}", "X-Purpose": "restart test"},
    )
    assert r.status_code == 200, r.text[:300]
    with Store(db) as store:
        located = len(store.incidents())
    assert r.json()["numberMatched"] == located

    # re-running the whole import completes to the clean state
    rerun = subprocess.run(
        [sys.executable, "-m", "geosafe", "import", "police-uk", *map(str, files), "--db", str(db)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr[-500:]
    full_db = tmp_path / "full.db"
    with Store(full_db) as full:
        for f in files:
            import_file(full, "police_uk", f)
    assert _ids(db) == _ids(full_db)

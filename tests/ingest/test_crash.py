"""A police.uk import killed with SIGKILL mid-batch leaves no partial batch; the next import
of the same file succeeds and lands whole."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from geosafe import datasets
from geosafe.ingest import import_file
from geosafe.store import open_store

from .._stores import sql, staged_rows

ROOT = Path(__file__).resolve().parents[2]
IMPORT = (
    "import sys\n"
    "from geosafe.ingest import import_file\n"
    "from geosafe.store import open_store\n"
    "import_file(open_store(sys.argv[1]), 'police_uk', sys.argv[2], chunk_rows=5000)\n"
)


def _big_file(path: Path, rows: int) -> None:
    """Real bundled police.uk rows replicated with fresh Crime IDs (more than one chunk)."""
    real = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False) for p in datasets.police_files()[:24]],
        ignore_index=True,
    )
    df = pd.concat([real] * (rows // len(real) + 1), ignore_index=True).iloc[:rows].copy()
    df["Crime ID"] = [hashlib.sha256(f"crash-{i}".encode()).hexdigest() for i in range(rows)]
    df.to_csv(path, index=False)


def _staged_rows(db: Path | str) -> int:
    return staged_rows(db)


def kill_mid_import(db: Path | str, src: Path) -> None:
    """Start importing ``src`` into ``db`` in a subprocess; SIGKILL it once rows are staged."""
    proc = subprocess.Popen([sys.executable, "-c", IMPORT, str(db), str(src)], cwd=ROOT)
    deadline = time.monotonic() + 300
    while _staged_rows(db) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_mid_import_leaves_no_partial_batch(tmp_path: Path, store_target: str) -> None:
    src = tmp_path / "big.csv"
    _big_file(src, 60_000)  # twelve chunks of 5,000
    db = store_target
    store = open_store(db)
    small = import_file(store, "police_uk", ROOT / "tests/ingest/data/police_jan.csv")
    before = store.incidents(with_location=False)
    kill_mid_import(db, src)
    # the store is consistent: the killed batch is invisible, the earlier one intact
    after = store.incidents(with_location=False)
    assert list(after["incident_id"]) == list(before["incident_id"])
    assert [b.batch_id for b in store.batches()] == [small.batch_id]
    assert _staged_rows(db) > 0  # rows were written before the kill...
    # ...and the next import recovers them and lands the file whole
    result = import_file(store, "police_uk", src, chunk_rows=5000)
    assert not result.duplicate_batch
    assert (result.rows, result.accepted, result.quarantined) == (60_000, 60_000, 0)
    statuses = [b.status for b in store.batches(include_aborted=True)]
    assert statuses == ["committed", "aborted", "committed"]
    assert _staged_rows(db) == 0
    n = sql(db, "SELECT COUNT(*) FROM incidents")[0][0]
    assert n == len(before) + 60_000
    store.close()

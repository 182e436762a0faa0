"""``python -m geosafe`` / the ``geosafe`` script (:func:`geosafe.cli.run`): the objects are
frozen before the interpreter exits (its last garbage collections skipped), and everything a
command leaves behind is as complete as before: output, exit code, the store checkpointed and
closed, the audit row committed, the store's and the audit log's durability settings."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "ingest" / "data"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("GEOSAFE_")}


def _geosafe(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "geosafe", *argv], capture_output=True, text=True, cwd=ROOT,
        env=_env(),
    )  # fmt: skip


def test_import_from_the_command_line_leaves_a_closed_store_and_its_audit_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "new.sqlite"
    proc = _geosafe("import", "police-uk", str(DATA / "police_feb.csv"), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["rows"], summary["accepted"], summary["batch_id"]) == (2, 2, 1)
    # closed: the last connection checkpointed the WAL into the file and removed it
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "new.sqlite",
        "new.sqlite.audit.sqlite",
        "new.sqlite.audit.sqlite.key",
    ]
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT status, rows, accepted FROM batches").fetchall() == [
            ("committed", 2, 2)
        ]
        assert con.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] == 2
    finally:
        con.close()
    audit = sqlite3.connect(tmp_path / "new.sqlite.audit.sqlite")
    try:
        assert audit.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = audit.execute("SELECT action, endpoint, records FROM audit").fetchall()
    finally:
        audit.close()
    assert rows == [("import", "geosafe import", 2)]


def test_a_refused_file_keeps_exit_code_two_and_its_message(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    proc = _geosafe("import", "police-uk", str(missing), "--db", str(tmp_path / "x.sqlite"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        f"geosafe import: {str(missing)!r} is not a file; check the path."
    )


def test_run_freezes_the_objects_and_exits_with_mains_code(tmp_path: Path) -> None:
    code = (
        "import gc, sys\nfrom geosafe.cli import run\n"
        "try:\n    run()\nexcept SystemExit as exc:\n"
        "    print('@', exc.code, gc.get_freeze_count() > 0, file=sys.stderr)"
    )
    argv = ["import", "police-uk", str(DATA / "police_feb.csv"), "--db", str(tmp_path / "x.db")]
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, env=_env()
    )
    assert proc.stderr.strip().splitlines()[-1] == "@ 0 True"
    bad = subprocess.run(
        [sys.executable, "-c", code, "import", "police-uk", str(tmp_path / "none.csv")],
        capture_output=True, text=True, cwd=ROOT, env=_env(),
    )  # fmt: skip
    assert bad.stderr.strip().splitlines()[-1] == "@ 2 True"


def test_the_console_script_and_module_run_the_same_entry() -> None:
    """``geosafe`` (pyproject's script) and ``python -m geosafe`` both go through ``run``."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'geosafe = "geosafe.cli:run"' in text
    assert "from geosafe.cli import run" in (ROOT / "geosafe" / "__main__.py").read_text()

"""A police.uk import whose rows a second process writes (``writer_min_mb``; sixth wave,
docs/notes/perf.md) leaves the store the import without it leaves, row for row; a writer
that fails or dies aborts the batch with a reason; the writer dies with a killed import."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geosafe._env import IngestDefaults
from geosafe._errors import StoreError
from geosafe.incident import StagedRows
from geosafe.ingest import import_file
from geosafe.store import Store

from .test_crash import _big_file, _staged_rows
from .test_pandas_free import HEADER, _dump, _row

ROOT = Path(__file__).resolve().parents[2]
ALWAYS = IngestDefaults(writer_min_mb=0.0)
NEVER = IngestDefaults(writer_min_mb=1e9)


def _mixed_file(path: Path) -> None:
    """Rows of every kind over many chunks: updates across and within chunks, exact
    repeats, blank Crime IDs, rows without a location, rows quarantined for bad points."""
    rows = [
        _row(f"{i:064x}", f"2023-{i % 12 + 1:02d}", f"-0.1{i % 7}", f"51.5{i % 5}")
        for i in range(900)
    ]
    rows += [_row(f"{i:064x}", "2024-03", "-0.12", "51.52") for i in range(0, 900, 13)]  # updates
    rows += rows[100:140]  # exact repeats
    rows += [_row("", "2023-04", "-0.11", "51.51") for _ in range(5)]  # anonymous
    rows += [_row(f"{5000 + i:064x}", "2023-05", "", "") for i in range(7)]  # no location
    rows += [_row(f"{6000 + i:064x}", "2023-05", "3.5", "40.1") for i in range(6)]  # outside
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def test_the_writer_process_writes_the_same_store(tmp_path: Path) -> None:
    src = tmp_path / "mixed.csv"
    _mixed_file(src)
    results = []
    for name, settings in (("writer", ALWAYS), ("plain", NEVER)):
        store = Store(tmp_path / f"{name}.db")
        results.append(import_file(store, "police_uk", src, settings=settings, chunk_rows=97))
        assert store._writer is None  # stopped with the batch
        store.close()
    writer, plain = (r.to_json() for r in results)
    assert writer == plain
    assert plain["updated"] > 0 and plain["quarantined"] > 0 and plain["no_location"] > 0
    assert _dump(tmp_path / "writer.db") == _dump(tmp_path / "plain.db")


def test_a_second_file_into_the_same_store(tmp_path: Path) -> None:
    """The writer serves a store holding rows already (its updates supersede stored ones)."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    _mixed_file(first)
    lines = first.read_text(encoding="utf-8").splitlines()
    second.write_text(
        "\n".join([lines[0], *(ln.replace("2023-", "2024-") for ln in lines[1:400])]) + "\n",
        encoding="utf-8",
    )
    for name, settings in (("writer", ALWAYS), ("plain", NEVER)):
        store = Store(tmp_path / f"{name}.db")
        import_file(store, "police_uk", first, settings=NEVER, chunk_rows=200)
        result = import_file(store, "police_uk", second, settings=settings, chunk_rows=61)
        assert result.updated > 0
        store.close()
    assert _dump(tmp_path / "writer.db") == _dump(tmp_path / "plain.db")


def _bad_rows() -> StagedRows:
    """Staged rows the writer cannot insert (a column one value short)."""
    n = 3
    columns = {"source": "police_uk", "source_ref": np.asarray(["a", "b", "c"], dtype=object)}
    rows = StagedRows(columns, n)
    rows.columns["ref_key"] = np.arange(n - 1, dtype=np.int64)
    return rows


def test_a_failing_writer_aborts_the_batch_with_its_reason(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    batch = store.begin_batch("police_uk", "0" * 64)
    store.write_in_background()
    store.stage(batch, _bad_rows())
    with pytest.raises(
        StoreError, match=r"writing the staged rows failed: .*nothing of this batch"
    ):
        store.commit_batch(batch, {"rows": 3}, {})
    store.abort_batch(batch)
    assert [b.status for b in store.batches(include_aborted=True)] == ["aborted"]
    assert _staged_rows(tmp_path / "s.db") == 0
    store.close()


def test_a_killed_writer_aborts_the_batch(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    batch = store.begin_batch("police_uk", "0" * 64)
    store.write_in_background()
    assert store._writer is not None
    os.kill(store._writer._process.pid, signal.SIGKILL)
    store._writer._process.wait()
    with pytest.raises(StoreError, match="ended unexpectedly"):
        store.stage_quarantine(batch, "police_uk", [(1, None, "x", "y", None, "{}")])
        store.commit_batch(batch, {"rows": 1}, {})
    store.abort_batch(batch)
    assert [b.status for b in store.batches(include_aborted=True)] == ["aborted"]
    store.close()


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _import_with_writer(
    tmp_path: Path, **popen: Any
) -> tuple[subprocess.Popen[str], Path, list[int]]:
    """``geosafe import`` of 30,000 rows in a subprocess with the writer on, once its writer
    runs and rows are staged: the process, the store, the writer's pid."""
    src = tmp_path / "big.csv"
    _big_file(src, 30_000)
    db = tmp_path / "s.db"
    Store(db).close()
    env = {**os.environ, "GEOSAFE_INGEST_WRITER_MIN_MB": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "geosafe", "import", "police-uk", str(src), "--db", str(db)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, text=True, **popen,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    writers: list[int] = []
    while proc.poll() is None and time.monotonic() < deadline:
        writers = writers or _children(proc.pid)
        if writers and _staged_rows(db) > 0:
            break
        time.sleep(0.02)
    assert proc.poll() is None and writers, "the import finished before it could be stopped"
    return proc, db, writers


def _aborted(db: Path) -> None:
    store = Store(db)  # the next writer recovers a batch of a dead pid
    store.recover()
    assert [b.status for b in store.batches(include_aborted=True)] == ["aborted"]
    assert _staged_rows(db) == 0
    store.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_writer_dies_with_a_killed_import(tmp_path: Path) -> None:
    proc, db, writers = _import_with_writer(tmp_path, stderr=subprocess.DEVNULL)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() for w in writers) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [
        w
        for w in writers
        if Path(f"/proc/{w}/stat").exists() and ") Z" not in Path(f"/proc/{w}/stat").read_text()
    ]
    assert not alive
    _aborted(db)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_aborts_with_one_message(tmp_path: Path) -> None:
    """SIGINT to the whole process group (Ctrl-C): the import aborts its batch and says so,
    the writer stops without a traceback of its own."""
    proc, db, _ = _import_with_writer(tmp_path, stderr=subprocess.PIPE, start_new_session=True)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "geosafe import: interrupted." in err
    _aborted(db)


def test_the_cli_with_the_writer(tmp_path: Path) -> None:
    """``python -m geosafe import`` spawns the writer (its ``__main__`` runs no command twice)."""
    src = tmp_path / "mixed.csv"
    _mixed_file(src)
    outs = []
    for name, mb in (("writer", "0"), ("plain", "100000")):
        env = {**os.environ, "GEOSAFE_INGEST_WRITER_MIN_MB": mb}
        done = subprocess.run(
            [sys.executable, "-m", "geosafe", "import", "police-uk", str(src), "--db", str(tmp_path / f"{name}.db")],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        outs.append(done.stdout.strip().splitlines())
    assert len(outs[0]) == 1  # one result line: the command ran once
    assert outs[0] == outs[1]
    con = sqlite3.connect(tmp_path / "writer.db")
    assert con.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] > 900
    con.close()
    assert _dump(tmp_path / "writer.db") == _dump(tmp_path / "plain.db")


def test_a_script_without_a_main_guard(tmp_path: Path) -> None:
    """A plain script calling ``import_file`` (no ``if __name__ == "__main__"``): the writer
    is a fresh interpreter, so the script runs once (it appends one line per run)."""
    src = tmp_path / "mixed.csv"
    _mixed_file(src)
    script = tmp_path / "plain.py"
    runs = tmp_path / "runs.txt"
    script.write_text(
        "from pathlib import Path\n"
        "from geosafe._env import IngestDefaults\n"
        "from geosafe.ingest import import_file\n"
        "from geosafe.store import Store\n"
        f"with open({str(runs)!r}, 'a') as fh:\n    fh.write('run\\n')\n"
        f"store = Store({str(tmp_path / 's.db')!r})\n"
        f"r = import_file(store, 'police_uk', {str(src)!r}, settings=IngestDefaults(writer_min_mb=0.0), chunk_rows=97)\n"
        "store.close()\nprint(r.accepted)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert runs.read_text().splitlines() == ["run"]
    assert int(done.stdout.strip()) > 900


def _sorted_dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(rows, key=repr) for t, rows in _dump(db).items()}


def _indexes(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        con.close()


def test_a_bulk_loads_indexes_and_published_rows_made_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk load into an empty store: the writer builds the deferred indexes while the
    importing process makes the published rows ahead of the commit; the store equals one
    written without the writer, without deferring and without the rows made ahead."""
    import geosafe.store.published as published
    import geosafe.store.sqlite as sqlite_store

    src = tmp_path / "mixed.csv"
    _mixed_file(src)
    written: list[bool] = []
    real = published.write_prepared_sqlite

    def spy(c: Any, prepared: Any) -> bool:
        written.append(real(c, prepared))
        return written[-1]

    monkeypatch.setattr(published, "write_prepared_sqlite", spy)
    monkeypatch.setattr(sqlite_store, "BULK_LOAD_ROWS", 100)  # this file is a bulk load
    store = Store(tmp_path / "writer.db")
    deferred: list[bool] = []
    real_defer = store.defer_indexes
    monkeypatch.setattr(store, "defer_indexes", lambda n: deferred.append(real_defer(n)))
    import_file(store, "police_uk", src, settings=ALWAYS, chunk_rows=97)
    store.close()
    assert deferred == [True] and written == [True]
    monkeypatch.setattr(sqlite_store, "BULK_LOAD_ROWS", 10**9)
    monkeypatch.setattr(published, "prepare_sqlite", lambda which, found: None)
    store = Store(tmp_path / "plain.db")
    import_file(store, "police_uk", src, settings=NEVER, chunk_rows=97)
    store.close()
    assert written == [True]  # nothing made ahead for the plain store
    assert _indexes(tmp_path / "writer.db") == _indexes(tmp_path / "plain.db")
    assert {"incidents_ref", "incidents_time"} <= _indexes(tmp_path / "writer.db")
    assert _sorted_dump(tmp_path / "writer.db") == _sorted_dump(tmp_path / "plain.db")


def test_published_rows_made_ahead_give_way_to_other_months(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store whose ``published_exact`` holds a month of no incident (left by hand here):
    the rows made ahead would miss it, so the commit makes them again from the table, as an
    import without them does."""
    import geosafe.store.published as published
    import geosafe.store.sqlite as sqlite_store

    src = tmp_path / "mixed.csv"
    _mixed_file(src)
    monkeypatch.setattr(sqlite_store, "BULK_LOAD_ROWS", 100)
    written: list[bool] = []
    real = published.write_prepared_sqlite
    monkeypatch.setattr(
        published, "write_prepared_sqlite", lambda c, p: written.append(real(c, p)) or written[-1]
    )
    for name, settings in (("writer", ALWAYS), ("plain", NEVER)):
        store = Store(tmp_path / f"{name}.db")
        with sqlite3.connect(tmp_path / f"{name}.db") as con:
            con.execute(
                "INSERT INTO published_exact VALUES ('2022-12', '89195da74bbffff', 8, "
                "'police_uk', 'all-day', 12)"
            )
        if name == "plain":
            monkeypatch.setattr(published, "prepare_sqlite", lambda which, found: None)
        import_file(store, "police_uk", src, settings=settings, chunk_rows=97)
        store.close()
    assert written == [False]
    dumps = [_sorted_dump(tmp_path / f"{n}.db") for n in ("writer", "plain")]
    assert dumps[0] == dumps[1]
    assert ("2022-12", "89195da74bbffff", 8, "police_uk", "all-day", 12) in dumps[0][
        "published_exact"
    ]


def test_indexes_are_built_with_the_connections_settings_restored(tmp_path: Path) -> None:
    """:func:`build_indexes` builds with a small cache and file-backed sorting, then gives
    the connection its own settings back (also when a statement fails: nothing is built)."""
    from geosafe.store._sqlite_rows import build_indexes

    con = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    con.execute("PRAGMA cache_size=-65536")
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("CREATE TABLE t (k INTEGER, v REAL)")
    rng = np.random.default_rng(1)
    con.executemany(
        "INSERT INTO t VALUES (?, ?)", [(int(k), 0.5) for k in rng.integers(0, 2**62, 5000)]
    )
    build_indexes(con, ["CREATE INDEX t_k ON t(k)", "CREATE INDEX t_v ON t(v)"])
    assert con.execute("PRAGMA cache_size").fetchone()[0] == -65536
    assert con.execute("PRAGMA temp_store").fetchone()[0] == 2
    keys = [r[0] for r in con.execute("SELECT k FROM t INDEXED BY t_k ORDER BY k")]
    assert keys == sorted(keys) and len(keys) == 5000
    with pytest.raises(sqlite3.OperationalError):
        build_indexes(con, ["CREATE INDEX t_k2 ON t(k)", "CREATE INDEX bad ON nowhere(x)"])
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert names == {"t_k", "t_v"}
    assert con.execute("PRAGMA cache_size").fetchone()[0] == -65536
    con.close()

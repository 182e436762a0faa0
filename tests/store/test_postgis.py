"""The PostGIS store on its own: migrations, roles, the published aggregates the non-analyst
role reads, and the change counter caches key on. (The behaviour both backends share is
tested on both by the ingest, CLI contract and API suites.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import h3
import numpy as np
import psycopg
import pytest

from geosafe._errors import StoreError
from geosafe.ingest import import_file
from geosafe.store import open_store, postgis
from geosafe.store.published import read_published_counts
from tests._stores import sql

DIR_HEADER = (
    "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,cause_code,"
    "youth_flag,vulnerability_flag,description"
)
#: Two resolution-8 cells in Wood Green (inside the demo area).
CELL_A = h3.latlng_to_cell(51.5975, -0.1100, 8)
CELL_B = h3.latlng_to_cell(51.6070, -0.1245, 8)


def _dir_file(path: Path, groups: list[tuple[str, str, int]], prefix: str) -> Path:
    """DIR rows: ``n`` incidents within 20 m of each cell's centre on each day given."""
    rng = np.random.default_rng(1)
    lines = [DIR_HEADER]
    k = 0
    for cell, day, n in groups:
        lat, lon = h3.cell_to_latlng(cell)
        for _ in range(n):
            dy, dx = rng.uniform(-0.00015, 0.00015, 2)
            lines.append(
                f"{prefix}-{k},{day} 15:42,W3,1,Arriva London,,{lat + dy:.6f},{lon + dx:.6f},"
                "ASB,Y,N,test"
            )
            k += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _published(url: str, source: str = "dir") -> dict[tuple[str, str], float | None]:
    frame = read_published_counts(url)
    return {
        (r.cell, r.month): (None if r.suppressed else r.count)
        for r in frame.itertuples()
        if r.source == source
    }


def _login(cluster: Any, url: str, role: str, group: str) -> str:
    """A login role in ``group`` and the URL that connects as it."""
    cluster.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} LOGIN IN ROLE {group}; END IF; END $$"
    )
    return url.replace("postgres@", f"{role}@", 1)


def test_migrations_are_numbered_and_recorded(pg_database: Callable[[], str]) -> None:
    url = pg_database()
    versions = [v for v, _, _ in postgis.migrations()]
    assert versions == list(range(1, len(versions) + 1))
    got = sql(url, "SELECT version, name FROM schema_version ORDER BY version")
    assert [v for v, _ in got] == versions
    assert [n for _, n in got] == [n for _, n, _ in postgis.migrations()]


def test_an_older_database_is_migrated_on_open(
    pg_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "old_schema_two"
    url = pg_cluster.create_database(name)
    every = postgis.migrations()
    monkeypatch.setattr(postgis, "migrations", lambda: every[:2])
    with open_store(url) as old:
        assert old.schema_version() == 2  # type: ignore[attr-defined]
    monkeypatch.undo()
    # a committed batch written by the schema-2 build: twelve incidents in one cell
    lat, lon = h3.cell_to_latlng(CELL_A)
    sql(
        url,
        "INSERT INTO batches (batch_id, source, file_sha256, status, started_at) "
        "VALUES (1, 'dir', 'x', 'committed', '2025-01-01')",
    )
    sql(
        url,
        "INSERT INTO incidents (batch_id, source, source_ref, ref_key, t_from, t_to, lon, lat, "
        "minx, miny, maxx, maxy, h3_cell) VALUES (1, 'dir', ?, 0, ?, ?, ?, ?, 1, 1, 1, 1, ?)",
        many=[
            (f"OLD-{i}", 1736784000.0, 1736784000.0, lon, lat, h3.latlng_to_cell(lat, lon, 12))
            for i in range(12)
        ],
    )
    with open_store(url) as store:
        assert store.schema_version() == len(every)  # type: ignore[attr-defined]
    assert _published(url) == {(CELL_A, "2025-01"): 10.0}
    assert sql(url, "SELECT COUNT(*) FROM incidents WHERE pub_cell = ?", (CELL_A,)) == [(12,)]


def test_a_newer_database_is_refused(pg_database: Callable[[], str]) -> None:
    url = pg_database()
    sql(url, "INSERT INTO schema_version (version, name) VALUES (999, 'from_the_future')")
    with pytest.raises(StoreError, match=r"schema version 999, newer than this geosafe"):
        open_store(url)


def test_a_wrong_url_names_the_fix(pg_cluster: Any) -> None:
    url = pg_cluster.url("no_such_database")
    with pytest.raises(StoreError, match=r"cannot connect to the store .*`--db` / GEOSAFE_DB"):
        open_store(url)


def test_the_reader_role_cannot_read_incident_rows_at_all(
    pg_cluster: Any, pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database()
    with open_store(url) as store:
        import_file(store, "dir", _dir_file(tmp_path / "d.csv", [(CELL_A, "2025-01-13", 12)], "R"))
    reader = _login(pg_cluster, url, "svc_public", "geosafe_reader")
    with psycopg.connect(reader, autocommit=True) as conn:
        for table in ("incidents", "quarantine", "people_links", "flag_states", "batches"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(f"SELECT * FROM {table} LIMIT 1")  # type: ignore[arg-type]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM published_h3_counts")
    # what it can read: the published counts (12 -> 10)
    assert _published(reader) == {(CELL_A, "2025-01"): 10.0}
    # the analyst role reads rows but changes nothing
    analyst = _login(pg_cluster, url, "svc_analyst", "geosafe_analyst")
    with psycopg.connect(analyst, autocommit=True) as conn:
        assert conn.execute("SELECT COUNT(*) FROM incidents").fetchone() == (12,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM incidents")
    # the owner role imports
    owner = _login(pg_cluster, url, "svc_owner", "geosafe_owner")
    with open_store(owner) as store:
        more = _dir_file(tmp_path / "e.csv", [(CELL_B, "2025-01-14", 10)], "O")
        assert import_file(store, "dir", more).accepted == 10
    assert _published(reader) == {(CELL_A, "2025-01"): 10.0, (CELL_B, "2025-01"): 10.0}


def test_published_counts_follow_every_change_and_hide_small_ones(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database()
    store = open_store(url)
    jan = _dir_file(
        tmp_path / "jan.csv",
        [(CELL_A, "2025-01-13", 13), (CELL_B, "2025-01-14", 3), (CELL_A, "2025-02-03", 21)],
        "J",
    )
    first = import_file(store, "dir", jan)
    # independent expectation: 13 -> 15 (12.5 rounds up), 3 -> suppressed, 21 -> 20
    want = {(CELL_A, "2025-01"): 15.0, (CELL_B, "2025-01"): None, (CELL_A, "2025-02"): 20.0}
    assert _published(url) == want
    # an attempt to recover one incident by comparing before and after: one more incident
    # in a published cell (21 -> 22) leaves its count as it was
    one = import_file(
        store, "dir", _dir_file(tmp_path / "one.csv", [(CELL_A, "2025-02-04", 1)], "X")
    )
    assert _published(url) == want
    # every published value is suppressed or a multiple of 5 from 10 up
    frame = read_published_counts(url)
    shown = frame.loc[~frame["suppressed"], "count"]
    assert (shown >= 10).all() and (shown % 5 == 0).all()
    assert frame.loc[frame["suppressed"], "count"].isna().all()
    # erasure and rollback rewrite the months they touch, in their own transaction
    assert store.erase("dir", "J-0") == ["incidents"]
    assert _published(url)[(CELL_A, "2025-01")] == 10.0  # 12 left
    store.rollback(one.batch_id)
    store.rollback(first.batch_id)
    assert _published(url) == {}
    store.close()


def test_state_token_changes_with_content_not_with_opening(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database()
    with open_store(url) as store:
        before = store.state_token()
    with open_store(url) as again:
        assert again.state_token() == before  # opening writes nothing
        import_file(again, "dir", _dir_file(tmp_path / "d.csv", [(CELL_A, "2025-01-13", 2)], "S"))
        after = again.state_token()
    assert after != before


def test_bbox_query_uses_the_gist_index(pg_database: Callable[[], str]) -> None:
    url = pg_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT id FROM incidents WHERE geom && "
                "ST_MakeEnvelope(530000, 190000, 531000, 191000, 27700)"
            ).fetchall()
        )
    assert "incidents_geom" in plan
    indexes = {
        r[0] for r in sql(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'incidents'")
    }
    assert {"incidents_geom", "incidents_h3", "incidents_pub_cell"} <= indexes
    (typ,) = sql(
        url,
        "SELECT type || ':' || srid FROM geometry_columns WHERE f_table_name = 'incidents'",
    )
    assert typ == ("GEOMETRY:27700",)


_IMPORT = (
    "import sys\n"
    "from geosafe.ingest import import_file\n"
    "from geosafe.store import open_store\n"
    "r = import_file(open_store(sys.argv[1]), 'dir', sys.argv[2])\n"
    "print(r.accepted)\n"
)


def test_two_concurrent_imports_both_land(pg_database: Callable[[], str], tmp_path: Path) -> None:
    """Two importers at once (same months, same cells): both commit, every row is there and
    the published counts are those of the union."""
    import subprocess
    import sys

    url = pg_database()
    files = [
        _dir_file(tmp_path / f"{k}.csv", [(CELL_A, "2025-01-13", 40)], f"C{k}") for k in range(2)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _IMPORT, url, str(f)], stdout=subprocess.PIPE, text=True
        )
        for f in files
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sorted(int(o.split()[-1]) for o in outs) == [40, 40]
    with open_store(url) as store:
        assert store.counts() == {"dir": 80}
        assert [b.status for b in store.batches()] == ["committed", "committed"]
    assert _published(url) == {(CELL_A, "2025-01"): 80.0}

"""Store schema 5: shared ``detail`` texts (``details`` + ``incidents.detail_id``), the
migration from schema 4, and erasure leaving no shared text behind."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from geosafe.ingest import import_file
from geosafe.profile import tables as profile_tables
from geosafe.store import Store
from geosafe.store import sqlite as gstore

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context\n"
)
FORCE = "Metropolitan Police Service"


def _police_file(path: Path, n: int) -> Path:
    """``n`` crimes in one LSOA with one outcome: their detail texts are all the same."""
    lines = [
        f"{k:064x},2024-01,{FORCE},{FORCE},-0.124501,51.607012,On or near Bounds Green Road,"
        f"E01002061,Haringey 010B,Burglary,Under investigation,\n"
        for k in range(1, n + 1)
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


#: What the detail of those rows says, written out by hand from the CSV's columns.
EXPECTED_DETAIL = {
    "reported_by": FORCE,
    "falls_within": FORCE,
    "lsoa_code": "E01002061",
    "lsoa_name": "Haringey 010B",
    "last_outcome": "Under investigation",
    "context": None,
}


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_repeated_details_are_kept_once_and_read_back(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        res = import_file(store, "police_uk", _police_file(tmp_path / "p.csv", 6))
        assert res.accepted == 6
        frame = store.incidents()
    assert [d == EXPECTED_DETAIL for d in frame["detail"]] == [True] * 6
    assert _count(db, "SELECT COUNT(*) FROM details") == 1
    assert _count(db, "SELECT COUNT(*) FROM incidents WHERE detail IS NULL") == 6


def test_unique_details_stay_inline(tmp_path: Path, data: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        res = import_file(store, "cris", data / "cris_good.csv")
        assert res.accepted > 1
    assert _count(db, "SELECT COUNT(*) FROM details") == 0
    assert _count(db, "SELECT COUNT(*) FROM incidents WHERE detail_id IS NOT NULL") == 0


def test_erasure_and_rollback_leave_no_shared_text(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        first = import_file(store, "police_uk", _police_file(tmp_path / "p.csv", 4))
        for k in range(1, 4):
            assert store.erase("police_uk", f"{k:064x}") == ["incidents"]
        assert _count(db, "SELECT COUNT(*) FROM details") == 1  # one row still refers to it
        assert store.erase("police_uk", f"{4:064x}") == ["incidents"]
        assert _count(db, "SELECT COUNT(*) FROM details") == 0
        again = import_file(store, "police_uk", _police_file(tmp_path / "q.csv", 5))
        assert again.batch_id != first.batch_id
        assert _count(db, "SELECT COUNT(*) FROM details") == 1
        assert again.batch_id is not None
        store.rollback(again.batch_id)
    assert _count(db, "SELECT COUNT(*) FROM details") == 0


def _schema4_store(db: Path) -> None:
    """A store as schema 4 made it: no ``details``, no ``detail_id``, the bbox index, one
    committed police.uk row with its detail inline."""
    old = gstore._SCHEMA.replace(",\n    detail_id INTEGER", "").replace(
        "CREATE TABLE IF NOT EXISTS details (id INTEGER PRIMARY KEY, text TEXT NOT NULL);", ""
    )
    assert "detail_id" not in old and "details" not in old
    with sqlite3.connect(db) as conn:
        conn.executescript(
            old
            + profile_tables.SCHEMA
            + "CREATE INDEX incidents_bbox ON incidents(minx, miny);"
            + "CREATE INDEX incidents_ref ON incidents(ref_key);"
            + "CREATE INDEX incidents_time ON incidents(t_from);"
        )
        conn.execute(
            "INSERT INTO batches (batch_id, source, file_sha256, status, started_at) "
            "VALUES (1, 'police_uk', 'abc', 'committed', '2024-02-01T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO incidents (batch_id, source, source_ref, ref_key, row_no, t_from, t_to, "
            "time_precision, category, flags, precision_m, geocode_method, h3_cell, lon, lat, "
            "minx, miny, maxx, maxy, weight, detail, row_hash, current) VALUES (1, 'police_uk', "
            "'old-1', 7, 1, 1704067200, 1706745600, 'month', 'Burglary', '', 100, 'police_uk', "
            "'88195da49bfffff', -0.1245, 51.607, 530000, 191000, 530000, 191000, 1, ?, 5, 1)",
            (json.dumps(EXPECTED_DETAIL),),
        )
        conn.execute("PRAGMA user_version = 4")


def test_schema4_store_opens_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _schema4_store(db)
    with Store(db) as store:
        frame = store.incidents()
        assert list(frame["source_ref"]) == ["old-1"]
        assert frame["detail"].iloc[0] == EXPECTED_DETAIL
        # new rows share their details beside the old inline one
        import_file(store, "police_uk", _police_file(tmp_path / "p.csv", 3))
        frame = store.incidents()
    assert len(frame) == 4
    assert all(d == EXPECTED_DETAIL for d in frame["detail"])
    assert _count(db, "PRAGMA user_version") == gstore.SCHEMA_VERSION == 5
    assert _count(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'incidents_bbox'") == 0
    assert _count(db, "SELECT COUNT(*) FROM details") == 1


def test_texts_known_shared_give_what_a_fresh_look_gives(tmp_path: Path) -> None:
    """A writer's chunks repeat detail texts: those it found shared before are taken from
    ``known`` (not hashed, written or read again). Each chunk's columns equal those of a call
    without ``known``, in a store where one text's id is held by another text (a collision
    written by hand: that text stays inline, and is never taken as known)."""
    import numpy as np

    from geosafe._siphash import hash_array
    from geosafe.store._sqlite_rows import share_details

    texts = [f'{{"lsoa_name": "Camden {k:03d}A"}}' for k in range(40)]
    clash = texts[7]
    rng = np.random.default_rng(5)
    chunks = []
    for _ in range(6):
        codes = rng.integers(-1, 25, 300) + rng.integers(0, 16)  # texts move on, -1 none
        column = np.array([None if c < 0 else texts[c] for c in codes], dtype=object)
        chunks.append(column)
    answers = []
    for known in (None, {}):
        db = tmp_path / f"{known is not None}.db"
        Store(db).close()
        with sqlite3.connect(db, isolation_level=None) as conn:
            key = int(hash_array([clash]).view(np.int64)[0])
            conn.execute("INSERT INTO details (id, text) VALUES (?, 'another text')", (key,))
            got = []
            for column in chunks:
                conn.execute("BEGIN")
                inline, ids = share_details(conn, column, None, known)
                conn.execute("COMMIT")
                got.append((inline, ids))
            stored = conn.execute("SELECT id, text FROM details ORDER BY id").fetchall()
        answers.append((got, stored))
        if known is not None:
            assert clash not in known and known  # the colliding text is never known
    (plain, plain_stored), (cached, cached_stored) = answers
    assert plain_stored == cached_stored
    for (a_inline, a_ids), (b_inline, b_ids) in zip(plain, cached, strict=True):
        for a, b in ((a_inline, b_inline), (a_ids, b_ids)):
            assert (a is None) == (b is None)
            if a is not None:
                assert list(a) == list(b)
    assert any(inline is not None and clash in list(inline) for inline, _ in cached)  # kept inline

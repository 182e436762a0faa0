"""Stores made since the seventh wave keep the published tables ``WITHOUT ROWID``; a store
made before keeps its tables with a rowid. Both are written and read alike: the same file
imported into each gives the same published rows, in the same order for the service's own
queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from geosafe.ingest import import_file
from geosafe.store import Store
from geosafe.store import published as published_module
from geosafe.store.published_read import PublishedReader

from ..ingest.test_pandas_free import HEADER, _row


def _file(path: Path) -> Path:
    rows = [
        _row(f"{i:064x}", f"2024-{i % 12 + 1:02d}", f"-0.1{i % 7}", f"51.5{i % 5}")
        for i in range(1500)
    ]
    rows += [_row(f"{i:064x}", "2025-02", "-0.12", "51.52") for i in range(0, 1500, 17)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _tables(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return dict(
            con.execute(
                "SELECT name, sql FROM sqlite_master WHERE name IN "
                "('published_exact', 'published_counts')"
            ).fetchall()
        )


def test_old_rowid_tables_and_new_ones_publish_alike(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    with sqlite3.connect(old) as con:  # the tables as a store made before had them
        con.executescript(published_module._SQLITE_SCHEMA.replace(" WITHOUT ROWID", ""))
    src = _file(tmp_path / "p.csv")
    for db in (old, new):
        with Store(db) as store:
            import_file(store, "police_uk", src, chunk_rows=400)
            import_file(store, "police_uk", _file(tmp_path / f"{db.stem}2.csv"), force=True)
    assert all("WITHOUT ROWID" in sql for sql in _tables(new).values())
    assert not any("WITHOUT ROWID" in sql for sql in _tables(old).values())
    dumps = []
    for db in (old, new):
        with sqlite3.connect(db) as con:
            dumps.append(
                {
                    t: con.execute(f"SELECT * FROM {t}").fetchall()
                    for t in ("published_exact", "published_counts")
                }
            )
    assert sorted(dumps[0]["published_exact"]) == sorted(dumps[1]["published_exact"])
    assert sorted(dumps[0]["published_counts"], key=repr) == sorted(
        dumps[1]["published_counts"], key=repr
    )
    frames = []
    for db in (old, new):
        reader = PublishedReader(db)
        frames.append(
            (
                reader.counts(["L12:2025-02", "2024", "2024-03"], "all-day", []),
                reader.monthly("all-day", ["police_uk"]),
            )
        )
        reader.close()
    for a, b in zip(frames[0], frames[1], strict=True):
        assert a.equals(b) and len(a) > 0

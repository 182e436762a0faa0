"""Raw SQL on either store backend, for tests that look under the interface (indexes, staged
rows, a dead importer's batch written by hand)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from geosafe.store import is_url

#: The incident indexes a store has once a bulk load is over (both backends: ref, time and the
#: batch one; PostGIS also its spatial and H3 ones: SQLite schema 5 dropped its bbox index, a
#: range on ``minx`` only, slower than a scan for most boxes).
INDEXES = {
    "sqlite": {"incidents_ref", "incidents_time", "incidents_batch"},
    "postgis": {
        "incidents_ref",
        "incidents_time",
        "incidents_geom",
        "incidents_h3",
        "incidents_batch",
    },
}
#: Indexes a bulk load into an empty store drops until its end.
DEFERRED = {
    "sqlite": {"incidents_ref", "incidents_time"},
    "postgis": {"incidents_ref", "incidents_geom"},
}


def backend_of(target: object) -> str:
    """``"postgis"`` for a URL, else ``"sqlite"``."""
    return "postgis" if is_url(target) else "sqlite"


def sql(
    target: object,
    statement: str,
    params: Sequence[Any] = (),
    *,
    many: Iterable[Sequence[Any]] | None = None,
) -> list[tuple[Any, ...]]:
    """Run one statement (``?`` placeholders) on its own connection and commit; its rows."""
    if is_url(target):
        import psycopg

        with psycopg.connect(str(target), autocommit=True) as conn, conn.cursor() as cur:
            text = statement.replace("?", "%s")
            if many is not None:
                cur.executemany(text, list(many))  # type: ignore[arg-type]
                return []
            cur.execute(text, tuple(params))  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []
    conn = sqlite3.connect(str(target), timeout=5)
    try:
        if many is not None:
            conn.executemany(statement, many)
            conn.commit()
            return []
        rows = conn.execute(statement, tuple(params)).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def index_names(target: object) -> set[str]:
    """The indexes on ``incidents``."""
    if is_url(target):
        rows = sql(target, "SELECT indexname FROM pg_indexes WHERE tablename = 'incidents'")
    else:
        rows = sql(
            target, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents'"
        )
    return {r[0] for r in rows}


def staged_rows(target: object) -> int:
    """Incident rows of ``staging`` batches (0 when the store cannot be read right now)."""
    try:
        rows = sql(
            target,
            "SELECT COUNT(*) FROM incidents i JOIN batches b ON b.batch_id = i.batch_id "
            "WHERE b.status = 'staging'",
        )
    except Exception:
        return 0
    return int(rows[0][0])

"""How :class:`geosafe.store.sqlite.Store` writes staged rows: columns of one value as SQL
literals, a point's max corner bound once, shared ``detail`` texts kept once in ``details``
(schema 5), and the migration that added them."""

from __future__ import annotations

import sqlite3
from typing import Any, Final

import numpy as np
import pandas as pd

#: A staged chunk's ``detail`` texts go to ``details`` when its distinct texts are at most this
#: fraction of its rows; unique texts (FAP, CRIS: personal, one per record) stay inline.
SHARED_DETAIL_MAX: Final = 0.5

#: ``detail`` as stored: inline, or the shared text (a primary-key lookup per row).
DETAIL_SQL: Final = "COALESCE(detail, (SELECT d.text FROM details d WHERE d.id = detail_id))"


def share_details(conn: sqlite3.Connection, detail: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The ``detail`` and ``detail_id`` columns to write for staged rows' ``detail`` texts:
    when the texts repeat (at most :data:`SHARED_DETAIL_MAX` of them distinct), each distinct
    text is written once to ``details`` (inside the caller's transaction) and rows refer to it;
    otherwise, and for a text whose hash another text already holds, rows keep it inline."""
    none = pd.Series(np.full(len(detail), None, dtype=object), index=detail.index)
    values = detail.to_numpy(dtype=object)
    codes, uniques = pd.factorize(values)
    if not len(uniques) or len(uniques) > SHARED_DETAIL_MAX * len(values):
        return detail, none
    texts = [str(u) for u in uniques]
    try:
        keys = pd.util.hash_array(np.asarray(texts, dtype=object), categorize=False).view(np.int64)
    except UnicodeEncodeError:  # lone surrogates: keep them inline
        return detail, none
    ids = keys.tolist()
    conn.executemany(
        "INSERT OR IGNORE INTO details (id, text) VALUES (?, ?)", zip(ids, texts, strict=True)
    )
    stored: dict[int, str] = {}
    for k in range(0, len(ids), 500):
        part = ids[k : k + 500]
        stored.update(
            conn.execute(
                f"SELECT id, text FROM details WHERE id IN ({', '.join('?' * len(part))})", part
            ).fetchall()
        )
    shared = np.asarray([stored.get(i) == t for i, t in zip(ids, texts, strict=True)] + [False])
    by_row = shared[codes]  # code -1 (no detail) reads the trailing False
    inline = values.copy()
    inline[by_row] = None
    ref = np.full(len(values), None, dtype=object)
    ref[by_row] = keys[codes[by_row]].tolist() if by_row.any() else []
    return (
        pd.Series(inline, index=detail.index, dtype=object),
        pd.Series(ref, index=detail.index, dtype=object),
    )


def drop_unused_details(conn: sqlite3.Connection) -> None:
    """Delete the shared detail texts no incident refers to any more (after an erasure, a
    purge, a rollback or an aborted batch: a removed record leaves nothing behind)."""
    conn.execute(
        "DELETE FROM details WHERE id NOT IN "
        "(SELECT detail_id FROM incidents WHERE detail_id IS NOT NULL)"
    )


def migrate_v4(conn: sqlite3.Connection) -> None:
    """Schema 4 -> 5: the ``details`` table and ``incidents.detail_id`` (existing rows keep
    their ``detail`` inline and read as before); the ``incidents_bbox`` index goes."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        have = {r[1] for r in conn.execute("PRAGMA table_info(incidents)")}
        if "detail_id" not in have:
            conn.execute("ALTER TABLE incidents ADD COLUMN detail_id INTEGER")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS details (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"
        )
        conn.execute("DROP INDEX IF EXISTS incidents_bbox")
        conn.execute("PRAGMA user_version = 5")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def constant_literal(series: pd.Series) -> str | None:
    """The SQL literal of a column whose rows all hold the same value, else ``None``."""
    first = series.iloc[0]
    last = series.iloc[-1]
    try:
        same_ends = bool(first is last or first == last or (first != first and last != last))
    except (TypeError, ValueError):  # pd.NA and friends: decide below
        same_ends = True
    if not same_ends:
        return None  # cheap exit for the usual varying column
    if series.dtype.kind in "fiub":
        arr = series.to_numpy()
        if series.dtype.kind == "f" and np.isnan(arr).all():
            return "NULL"
        if not (arr == arr[0]).all():
            return None
        return repr(float(first)) if series.dtype.kind == "f" else str(int(first))
    if first is None or (isinstance(first, float) and np.isnan(first)):
        return "NULL" if series.isna().all() else None
    if isinstance(first, str) and (series == first).all():
        return "'" + first.replace("'", "''") + "'"
    return None


#: Columns often equal to another one (a point's bounds), bound once when they are.
SAME_AS: Final = {"maxx": "minx", "maxy": "miny"}


def same_numbers(a: pd.Series, b: pd.Series) -> bool:
    """Whether two float columns hold the same values (NaN where the other has NaN)."""
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return False
    return bool(np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True))


def py_values(series: pd.Series) -> list[Any]:
    """Column values as Python objects with ``None`` for missing (what sqlite3 binds)."""
    if series.dtype.kind in "fiub":
        # SQLite stores a bound NaN as NULL
        out: list[Any] = series.to_numpy().tolist()
        return out
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values.tolist()  # type: ignore[no-any-return]

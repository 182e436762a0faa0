"""How :class:`geosafe.store.sqlite.Store` writes staged rows: columns of one value as SQL
literals, a point's max corner bound once, shared ``detail`` texts kept once in ``details``
(schema 5), and the migration that added them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from .._siphash import hash_array

if TYPE_CHECKING:
    from ..incident import StagedRows

#: A staged chunk's ``detail`` texts go to ``details`` when its distinct texts are at most this
#: fraction of its rows; unique texts (FAP, CRIS: personal, one per record) stay inline.
SHARED_DETAIL_MAX: Final = 0.5

#: ``detail`` as stored: inline, or the shared text (a primary-key lookup per row).
DETAIL_SQL: Final = "COALESCE(detail, (SELECT d.text FROM details d WHERE d.id = detail_id))"


def share_details(
    conn: sqlite3.Connection,
    detail: np.ndarray,
    factorized: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The ``detail`` and ``detail_id`` columns to write for staged rows' ``detail`` texts:
    when the texts repeat (at most :data:`SHARED_DETAIL_MAX` of them distinct), each distinct
    text is written once to ``details`` (inside the caller's transaction) and rows refer to it;
    otherwise, and for a text whose hash another text already holds, rows keep it inline.
    ``factorized``: the texts as (a code per row, distinct texts) when the caller has them.
    ``None`` stands for a column of NULLs."""
    if factorized is not None:
        codes, distinct = factorized
        used = np.bincount(codes, minlength=len(distinct)) > 0
        if not used.all():  # texts of rows left out: keep only those referred to
            codes = (np.cumsum(used) - 1)[codes]
            distinct = distinct[used]
        texts = [str(u) for u in distinct.tolist()]
    else:
        index: dict[Any, int] = {}
        codes = np.fromiter(
            (-1 if v is None else index.setdefault(v, len(index)) for v in detail.tolist()),
            dtype=np.int64,
            count=len(detail),
        )
        texts = [str(u) for u in index]
    if not texts or len(texts) > SHARED_DETAIL_MAX * len(detail):
        return detail, None
    try:
        keys = hash_array(texts).view(np.int64)
    except UnicodeEncodeError:  # lone surrogates: keep them inline
        return detail, None
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
    if by_row.all():
        return None, keys[codes]
    inline = detail.copy()
    inline[by_row] = None
    ref = np.full(len(detail), None, dtype=object)
    ref[by_row] = keys[codes[by_row]].tolist() if by_row.any() else []
    return inline, ref


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


def constant_literal(values: np.ndarray) -> str | None:
    """The SQL literal of a column whose rows all hold the same value, else ``None``
    (missing values are ``None`` or NaN)."""
    first = values[0]
    last = values[-1]
    if values.dtype.kind in "fiub":
        if values.dtype.kind == "f" and np.isnan(first) and np.isnan(values).all():
            return "NULL"
        if not (first == last and (values == first).all()):
            return None
        return repr(float(first)) if values.dtype.kind == "f" else str(int(first))
    if first is None:
        return "NULL" if all(v is None for v in values.tolist()) else None
    if isinstance(first, str) and first == last and (values == first).all():
        return "'" + first.replace("'", "''") + "'"
    return None


def sql_literal(value: Any) -> str:
    """A single value as an SQL literal (``None`` and NaN as NULL)."""
    if value is None or (isinstance(value, float) and value != value):
        return "NULL"
    if isinstance(value, bool | int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


#: Columns often equal to another one (a point's bounds), bound once when they are.
SAME_AS: Final = {"maxx": "minx", "maxy": "miny"}


def same_numbers(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two float columns hold the same values (NaN where the other has NaN)."""
    if a is b:
        return True
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return False
    return bool(np.array_equal(a, b, equal_nan=True))


def py_values(values: np.ndarray) -> list[Any]:
    """Column values as Python objects (what sqlite3 binds; a bound NaN is stored as NULL;
    missing values in text columns are already ``None``)."""
    return values.tolist()  # type: ignore[no-any-return]


#: A published group: (h3_cell, lon, lat, source, t_from, time_precision), NULLs as None.
GroupKey = tuple[Any, Any, Any, Any, Any, Any]
_GROUP_COLUMNS: Final = ("h3_cell", "lon", "lat", "source", "occurred_from", "time_precision")


def _as_sqlite(values: np.ndarray) -> list[Any]:
    """Values as SQLite gives them back: Python objects, NaN (stored as NULL) as None."""
    out: list[Any] = values.tolist()
    if values.dtype.kind == "f":
        for k in np.flatnonzero(np.isnan(values)).tolist():
            out[k] = None
    elif values.dtype.kind == "O":
        for k, v in enumerate(out):
            if isinstance(v, float) and v != v:
                out[k] = None
    return out


@dataclass
class BatchAggregate:
    """What a batch's staged rows add to the published aggregates, kept while it stages so
    that its commit need not group the rows again in SQL (a 1M-row batch: 1.3 s of sorting).
    Only for batches of police.uk rows (no referrals, no time windows).

    ``groups`` counts the current located rows per ``GROUP BY`` key of
    :func:`geosafe.store.published.write_sqlite`; ``hours`` holds every staged row's
    ``CAST(t_from / 3600 AS INTEGER)`` (its months: :func:`~geosafe.store.published.months_sqlite`).
    """

    groups: dict[GroupKey, int] = field(default_factory=dict)
    hours: set[int] = field(default_factory=set)

    def add(self, rows: StagedRows) -> None:
        """Count staged rows that come with ``factorized["group"]`` codes (equal for rows of
        one key: police.uk rows of one map point and month)."""
        t_from = rows.values("occurred_from").astype(float)
        known = t_from[~np.isnan(t_from)]
        self.hours.update(np.unique(np.trunc(known / 3600)).astype(np.int64).tolist())
        current = rows.values("current").astype(np.int64) == 1
        # one row per group (rows with equal codes share the key), and the group's size
        codes = rows.factorized["group"][0][current]
        _, first, counts = np.unique(codes, return_index=True, return_counts=True)
        index = np.flatnonzero(current)[first]
        sizes = counts.tolist()
        columns = [_as_sqlite(rows.values(c)[index]) for c in _GROUP_COLUMNS]
        groups = self.groups
        for key, n in zip(zip(*columns, strict=True), sizes, strict=True):
            if (key[0] is None and key[1] is None) or key[4] is None:
                continue  # no location, or no time: not published
            groups[key] = groups.get(key, 0) + n

    def remove(self, key: GroupKey) -> None:
        """A row of the batch that stopped being current (superseded within the file)."""
        if key in self.groups:
            self.groups[key] -= 1
            if not self.groups[key]:
                del self.groups[key]

    def found(self) -> list[tuple[Any, ...]]:
        """The rows the ``GROUP BY`` query would give: ``(*key, count)``."""
        return [(*k, n) for k, n in self.groups.items()]

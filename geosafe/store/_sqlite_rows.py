"""How :class:`geosafe.store.sqlite.Store` writes staged rows: columns of one value as SQL
literals, a point's max corner bound once, shared ``detail`` texts kept once in ``details``
(schema 5), and the migration that added them."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from .._numpy import distinct
from .._siphash import hash_array
from .._sqlite import immediate
from ..incident import ROW_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Sequence

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
    known: dict[str, int] | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The ``detail`` and ``detail_id`` columns to write for staged rows' ``detail`` texts:
    when the texts repeat (at most :data:`SHARED_DETAIL_MAX` of them distinct), each distinct
    text is written once to ``details`` (inside the caller's transaction) and rows refer to it;
    otherwise, and for a text whose hash another text already holds, rows keep it inline.
    ``factorized``: the texts as (a code per row, distinct texts) when the caller has them.
    ``known``: texts found shared in ``details`` by earlier calls on this connection, and
    their ids (a bulk load's chunks repeat most texts: those are neither hashed nor written
    again); the texts found shared here are added. ``None`` stands for a column of NULLs."""
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
    held = known if known is not None else {}
    fresh = [t for t in texts if t not in held]
    try:
        fresh_keys = hash_array(fresh).view(np.int64).tolist() if fresh else []
    except UnicodeEncodeError:  # lone surrogates: keep them inline
        return detail, None
    ids_of = dict(zip(fresh, fresh_keys, strict=True))
    conn.executemany(
        "INSERT OR IGNORE INTO details (id, text) VALUES (?, ?)",
        zip(fresh_keys, fresh, strict=True),
    )
    stored: dict[int, str] = {}
    for k in range(0, len(fresh_keys), 500):
        part = fresh_keys[k : k + 500]
        stored.update(
            conn.execute(
                f"SELECT id, text FROM details WHERE id IN ({', '.join('?' * len(part))})", part
            ).fetchall()
        )
    keys = np.asarray([held[t] if t in held else ids_of[t] for t in texts], dtype=np.int64)
    shared = np.asarray([t in held or stored.get(ids_of[t]) == t for t in texts] + [False])
    if known is not None:
        known.update((t, i) for t, i in ids_of.items() if stored.get(i) == t)
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


#: The page cache (KiB) while a bulk load's indexes are built: SQLite's sorter then sorts
#: runs of this size and merges them from temporary files, instead of sorting every key in
#: one list in memory (a million random ``ref_key``: 0.42 s against 0.95 s with the store's
#: 64 MB cache and ``temp_store=MEMORY``; docs/notes/perf.md, seventh wave).
_INDEX_CACHE_KIB: Final = 2000


def build_indexes(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    """Run ``CREATE INDEX`` ``statements`` in one transaction with a small page cache and the
    sorter's runs in temporary files (:data:`_INDEX_CACHE_KIB`); the connection's own
    ``cache_size`` and ``temp_store`` come back after."""
    cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    temp = int(conn.execute("PRAGMA temp_store").fetchone()[0])
    conn.execute(f"PRAGMA cache_size=-{_INDEX_CACHE_KIB}")
    conn.execute("PRAGMA temp_store=FILE")
    try:
        with immediate(conn):
            for statement in statements:
                conn.execute(statement)
    finally:
        conn.execute(f"PRAGMA temp_store={temp}")
        conn.execute(f"PRAGMA cache_size={cache}")


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


#: Staged-row columns (:data:`geosafe.incident.ROW_COLUMNS`) held on disk under another name:
#: the store's files predate the one schema and keep their column names (no migration needed).
_ON_DISK: Final = {"occurred_from": "t_from", "occurred_to": "t_to"}


def _disk(column: str) -> str:
    return _ON_DISK.get(column, column)


def ref_keys(refs: Sequence[str] | np.ndarray) -> np.ndarray:
    """64-bit keys of refs (SipHash with pandas' fixed key: stable across runs), indexed in
    place of the long text refs; lookups also compare the ref itself."""
    return hash_array([r if isinstance(r, str) else str(r) for r in refs]).view(np.int64)


def insert_rows(
    c: sqlite3.Connection, batch_id: int, rows: StagedRows, known: dict[str, int] | None = None
) -> None:
    """Write staged rows into ``incidents`` under ``batch_id`` (in the caller's transaction):
    columns of one value as SQL literals, a point's max corner bound once, shared ``detail``
    texts once in ``details`` (``known``: :func:`share_details`')."""
    detail, detail_id = share_details(
        c, rows.values("detail"), rows.factorized.get("detail"), known
    )
    # columns holding one value for every row are written as SQL literals, not bound per
    # row (police.uk rows have ten such columns): binding is most of the cost, and a
    # point's max corner (the same numbers as its min corner) reuses their parameter
    key = rows.columns.get("ref_key")
    if key is None:
        key = ref_keys(rows.values("source_ref"))
    names = ["batch_id", "ref_key"]
    values: list[str] = [str(int(batch_id)), "?1"]
    data: list[np.ndarray] = [np.asarray(key)]
    param: dict[str, np.ndarray] = {}
    placeholder: dict[str, str] = {}
    for col in (*ROW_COLUMNS, "detail_id"):
        names.append(_disk(col))
        if col in ("detail", "detail_id"):
            column = detail if col == "detail" else detail_id
            if column is None:
                values.append("NULL")
                continue
        elif rows.is_constant(col):
            values.append(sql_literal(rows.columns[col]))
            continue
        else:
            column = rows.values(col)
        literal = constant_literal(column) if len(column) else "NULL"
        twin = SAME_AS.get(col)
        if literal is not None:
            values.append(literal)
        elif twin in param and same_numbers(column, param[twin]):
            values.append(placeholder[twin])
        else:
            data.append(column)
            param[col] = column
            placeholder[col] = f"?{len(data)}"
            values.append(placeholder[col])
    sql = f"INSERT INTO incidents ({', '.join(names)}) VALUES ({', '.join(values)})"
    # the values as Python objects a slice at a time (a 100,000-row chunk's whole columns
    # held ~100 MB of them at once)
    for lo in range(0, rows.n, _INSERT_SLICE):
        hi = lo + _INSERT_SLICE
        c.executemany(sql, zip(*(py_values(v[lo:hi]) for v in data), strict=True))


#: Rows converted to Python objects and bound per ``executemany`` (:func:`insert_rows`).
_INSERT_SLICE: Final = 20_000

#: A published group: (h3_cell, lon, lat, source, t_from, time_precision), NULLs as None.
GroupKey = tuple[Any, Any, Any, Any, Any, Any]

#: Time precisions whose rows are counted in ``all-day`` only (no window needs their time).
_MONTHLY: Final = ("month",)


@dataclass
class BatchAggregate:
    """What a batch's staged rows add to the published aggregates, kept while it stages so
    that its commit need not group the rows again in SQL (a 1M-row batch: 1.3 s of sorting).
    Only for batches of police.uk rows: one source, dated to the month (no referrals, no
    time windows); :attr:`usable` turns false when a chunk is not of that kind, and the
    commit then groups in SQL.

    Each staged chunk is counted as it comes (while the writer process writes the one
    before): one row per group of the ``factorized["group"]`` codes (rows of one map point
    and month), each distinct point mapped once to its published cell
    (:func:`~geosafe.publish.cell.published_cell_codes`, at :attr:`resolution`), then
    summed per published cell and ``t_from``: ``parts`` holds those sums per chunk, each
    cell as its code in :attr:`cells`. ``removed`` counts rows that stopped being current
    since. ``hours`` holds every staged row's ``CAST(t_from / 3600 AS INTEGER)`` (its
    months: :func:`~geosafe.store.published.months_sqlite`).
    """

    resolution: int = 8
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    cells: dict[str, int] = field(default_factory=dict)
    removed: dict[GroupKey, int] = field(default_factory=dict)
    hours: set[int] = field(default_factory=set)
    usable: bool = True
    source: Any = None
    precision: Any = None

    def add(self, rows: StagedRows) -> None:
        """Count staged rows that come with ``factorized["group"]`` codes."""
        if not self._same_kind(rows):
            self.usable = False
            self.parts.clear()
            return
        t_from = rows.values("occurred_from").astype(float)
        known = t_from[~np.isnan(t_from)]
        self.hours.update(distinct(np.trunc(known / 3600)).astype(np.int64).tolist())
        current = rows.values("current").astype(np.int64) == 1
        # one row per group (rows with equal codes share the key), and the group's size
        codes = rows.factorized["group"][0][current]
        _, first, counts = np.unique(codes, return_index=True, return_counts=True)
        index = np.flatnonzero(current)[first]
        t = t_from[index]
        keep = ~np.isnan(t)  # no time: not published
        if not keep.any():
            return
        from ..publish.cell import published_cell_codes

        index, t, counts = index[keep], t[keep], counts[keep].astype(np.int64)
        names, code = published_cell_codes(
            rows.values("h3_cell")[index],
            rows.values("lon")[index].astype(float),
            rows.values("lat")[index].astype(float),
            self.resolution,
        )
        held = np.asarray(
            [self.cells.setdefault(c, len(self.cells)) for c in names.tolist()], dtype=np.int64
        )
        located = code >= 0  # no location: not published
        self.parts.append(_summed(held[code[located]], t[located], counts[located]))

    def _same_kind(self, rows: StagedRows) -> bool:
        """Whether the chunk is of one source and dated to the month, as those before it."""
        if not self.usable or not (
            rows.is_constant("source") and rows.is_constant("time_precision")
        ):
            return False
        source, precision = rows.columns["source"], rows.columns["time_precision"]
        if precision not in _MONTHLY:
            return False
        if self.source is None:
            self.source, self.precision = source, precision
        return bool(source == self.source and precision == self.precision)

    def remove(self, key: GroupKey) -> None:
        """A row of the batch that stopped being current (superseded within the file)."""
        self.removed[key] = self.removed.get(key, 0) + 1

    def found(self, resolution: int) -> dict[str, list[Any]] | None:
        """Columns that publish as the commit's ``GROUP BY`` rows would: ``h3_cell`` already
        the published cell, no point, ``n`` per published cell and ``t_from``, in the order of
        cell and ``t_from``; ``None`` when the batch was not of one kind (:attr:`usable`)."""
        if not self.usable:
            return None
        if resolution != self.resolution:
            msg = f"counted at resolution {self.resolution}, asked for {resolution!r}"
            raise ValueError(msg)
        names = np.asarray(sorted(self.cells), dtype=object)
        rank = np.empty(len(self.cells), dtype=np.int64)
        rank[np.asarray(list(self.cells.values()), dtype=np.int64)] = np.searchsorted(
            names, np.asarray(list(self.cells), dtype=object)
        )
        if self.parts:
            held, t, n = (np.concatenate(c) for c in zip(*self.parts, strict=True))
            code, t, n = _summed(rank[held], t, n)
        else:
            code, t, n = np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64)
        if self.removed:
            _subtract(self.removed, names, code, t, n, resolution)
            alive = n > 0
            code, t, n = code[alive], t[alive], n[alive]
        count = len(n)
        return {
            "h3_cell": names[code].tolist(),
            "lon": [None] * count,
            "lat": [None] * count,
            "source": [self.source] * count,
            "t_from": t.tolist(),
            "time_precision": [self.precision] * count,
            "n": n.tolist(),
        }


def _summed(
    code: np.ndarray, t: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` summed per (``code``, ``t``), in that order."""
    order = np.lexsort((t, code))
    code, t, n = code[order], t[order], n[order]
    if not len(code):
        return code, t, n
    start = np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (t[1:] != t[:-1])])
    return code[start], t[start], np.add.reduceat(n, start)


def _subtract(
    removed: dict[GroupKey, int],
    names: np.ndarray,
    code: np.ndarray,
    t: np.ndarray,
    n: np.ndarray,
    resolution: int,
) -> None:
    """Take rows that stopped being current off the counts (per published cell and time)."""
    from ..publish.cell import published_cell

    at = {
        (int(c), float(w)): k
        for k, (c, w) in enumerate(zip(code.tolist(), t.tolist(), strict=True))
    }
    for (own, x, y, _, when, _), gone in removed.items():
        if when is None:
            continue
        cell = published_cell(
            own if isinstance(own, str) else None,
            math.nan if x is None else float(x),
            math.nan if y is None else float(y),
            resolution,
        )
        if cell is None:
            continue
        j = int(np.searchsorted(names, cell))
        if j < len(names) and names[j] == cell and (k := at.get((j, float(when)))) is not None:
            n[k] -= gone

"""The incident store: SQLite in WAL mode behind a small interface (:class:`Store`).

Tables
------
``batches``
    One row per import: source, file name, SHA-256 of the file's bytes, counts, status
    (``staging`` -> ``committed`` | ``aborted``; ``committed`` -> ``rolled_back``), pid,
    timestamps.
``incidents``
    Every version of every incident. ``current = 1`` marks the version analyses see; a
    police.uk update (same Crime ID, other values) sets the older version's ``current`` to 0
    and records the batch that superseded it (history). Points are stored as their bounds
    (``minx = maxx``, ``miny = maxy``, EPSG:27700) and lines as WKB; times as UTC epoch seconds.
    A ``detail`` text that many rows share (police.uk: force, LSOA and outcome) is kept once in
    ``details`` and referred to by ``detail_id`` (schema 5); ``detail`` then is NULL.
``details``
    Distinct shared ``detail`` texts, ``id`` the text's 64-bit hash (checked against the text
    on write). Entries no incident refers to go on erasure, purge, rollback and abort.
``quarantine``
    Rejected rows: batch, 1-based data row, column(s), reason code, reason and the row as it
    came in (JSON, original header names).

Atomicity
---------
An import writes its rows while its batch is ``staging``: every read filters on committed
batches, so staged rows are invisible. Committing is one short transaction (the batch's status
and the supersede marks of updated incidents). A process killed mid-import leaves a ``staging``
batch whose pid is dead; the next import (or :meth:`Store.recover`) deletes its rows and marks it
``aborted``. Readers never wait for an import (WAL).

A bulk load into an empty store (:meth:`Store.defer_indexes`) drops the ref, time and bbox
indexes and builds them once before its commit (or abort); a process killed meanwhile leaves
them missing until the next :class:`Store` opens the file, which builds them again.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._errors import StoreError
from .._sqlite import immediate, switch_to_wal
from ..incident import ROW_COLUMNS, StagedRows, rows_to_frame
from ..profile import tables as profile_tables
from . import published as _published
from ._common import (
    _COUNTS,
    _VISIBLE,
    QUARANTINE_INSERT,
    Batch,
    CommonReads,
    QuarantineRecord,
    _epoch,
    _utcnow,
    quarantine_values,
)
from ._sqlite_rows import (
    DETAIL_SQL,
    BatchAggregate,
    _disk,
    build_indexes,
    drop_unused_details,
    insert_rows,
    migrate_v4,
    ref_keys,
)
from ._sqlite_shared import SqliteInterface

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from ._sqlite_writer import BackgroundWriter

__all__ = ["ROW_COLUMNS", "Batch", "QuarantineRecord", "Store"]

log = logging.getLogger(__name__)


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    file_name TEXT,
    file_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    rows INTEGER DEFAULT 0,
    accepted INTEGER DEFAULT 0,
    quarantined INTEGER DEFAULT 0,
    no_location INTEGER DEFAULT 0,
    updated INTEGER DEFAULT 0,
    reasons TEXT DEFAULT '{}',
    pid INTEGER,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rolled_back_at TEXT,
    extra TEXT DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS batches_sha ON batches(source, file_sha256, status);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    ref_key INTEGER NOT NULL,
    row_no INTEGER,
    t_from REAL,
    t_to REAL,
    time_precision TEXT,
    category TEXT,
    flags TEXT,
    route TEXT,
    stop_code TEXT,
    school_urn TEXT,
    precision_m REAL,
    geocode_method TEXT,
    location_text TEXT,
    h3_cell TEXT,
    lon REAL,
    lat REAL,
    minx REAL,
    miny REAL,
    maxx REAL,
    maxy REAL,
    geom_wkb BLOB,
    weight REAL,
    detail TEXT,
    row_hash INTEGER,
    current INTEGER NOT NULL DEFAULT 1,
    superseded_by INTEGER,
    detail_id INTEGER
);
CREATE TABLE IF NOT EXISTS details (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_batch ON incidents(batch_id, row_no);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL,
    source TEXT,
    row_no INTEGER,
    col TEXT,
    reason_code TEXT,
    reason TEXT,
    ref TEXT,
    raw TEXT,
    line_no INTEGER
);
CREATE INDEX IF NOT EXISTS quarantine_batch ON quarantine(batch_id);
"""

#: Indexes on random keys, the costly ones to keep up row by row: a bulk load into an empty
#: store builds them once at the end instead (:meth:`Store.defer_indexes`).
#: Schema 5 dropped ``incidents_bbox`` (``minx, miny``): SQLite uses one range per index, so it
#: narrowed only ``minx <= east edge``; with it, a bbox query over half of 1M police.uk rows
#: counted in 1.3 s against 0.15 s by a scan (it served only boxes holding nearly nothing), and
#: it was ~1.2 s CPU of a 1M-row import (docs/notes/perf.md).
_DEFERRABLE: Final = """
CREATE INDEX IF NOT EXISTS incidents_ref ON incidents(ref_key);
CREATE INDEX IF NOT EXISTS incidents_time ON incidents(t_from);
"""
_DEFERRABLE_NAMES: Final = ("incidents_ref", "incidents_time")

_WAL: Final = "PRAGMA journal_mode=WAL"
#: Every connection's settings. 16 KiB pages for a new file (ignored for an existing one): a
#: bulk load's inserts cost ~30 % less CPU than with 4 KiB pages and the file is ~6 % smaller
#: (benchmarks/ingest.py).
_PRAGMAS: Final = (
    "PRAGMA page_size=16384",
    _WAL,
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
)

#: Smallest bulk load (rows) into an empty store that builds those indexes at the end.
BULK_LOAD_ROWS = 50_000

#: Bumped whenever the tables change; a store with another version is refused.
SCHEMA_VERSION: Final = 5  # 4: people_links, flag_states, referral_places (profile)
# 5: shared detail texts in `details` (incidents.detail_id): a police.uk row is 40 % smaller


_MINE: Final = "batch_id = ? OR superseded_by = ?"  # a batch's rows and those it replaced


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of ``script`` one by one (a trigger's body kept whole)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending.strip()


def _pid_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child counts as dead
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


class Store(SqliteInterface, CommonReads):
    """SQLite incident store (WAL). ``Store(path)`` creates the file and schema if needed.

    Parameters
    ----------
    path
        The database file; ``":memory:"`` is not supported (imports use several connections).
    timeout_s
        How long a writer waits for another writer's lock, seconds.
    """

    def __init__(self, path: Path | str, *, timeout_s: float = 60.0) -> None:
        if str(path).lower().startswith(("postgresql:", "postgres:")):
            msg = f"{path!r} is a PostGIS URL; open it with `geosafe.store.open_store`."
            raise StoreError(msg)
        self.path = Path(path)
        self._timeout = timeout_s
        #: Batches begun here: what their staged rows add to the published aggregates.
        self._aggregates: dict[int, BatchAggregate] = {}
        self._writer: BackgroundWriter | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect()
            self._create()
            self._check_schema()
            self._conn.executescript(_SCHEMA + profile_tables.SCHEMA)
            self._migrate()
            _published.ensure_sqlite(self._conn)
            # (re)built here too when a bulk load that deferred them was killed
            self._conn.executescript(_DEFERRABLE)
            # write the version only when it changes: opening a store must not modify the
            # file, or every new reader would invalidate caches keyed on the store's state
            if self._conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:  # pragma: no cover - OS-level failures
            msg = f"cannot open the store {str(self.path)!r} ({exc}); check `--db` / GEOSAFE_DB."
            raise StoreError(msg) from exc

    def _create(self) -> None:
        """A new file's tables and schema version in one transaction. Another process that
        opens the file meanwhile (a reader, a second import) sees no tables, or all of them
        with :data:`SCHEMA_VERSION`: never tables without their version, which it would
        refuse as another geosafe's, and never half a schema after a crash. The published
        tables and the deferrable indexes follow as for any store (each only when missing)."""
        if self._conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            return
        with self._tx() as c:
            # another process may have made it while this one waited for the write lock
            if c.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
                for statement in _statements(_SCHEMA + profile_tables.SCHEMA):
                    c.execute(statement)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_schema(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        has_tables = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'incidents'"
        ).fetchone()
        if has_tables and version == 3:
            log.warning(
                "migrating %s to schema 4: %s", self.path, profile_tables.migrate_v3(self._conn)
            )
            version = 4
        if has_tables and version == 4:
            migrate_v4(self._conn)
            log.warning("migrated %s to schema 5 (shared detail texts)", self.path)
            return
        if has_tables and version != SCHEMA_VERSION:
            msg = (
                f"the store {str(self.path)!r} has schema version {version!r}, not "
                f"{SCHEMA_VERSION}; it was made by another geosafe version: import into a new "
                "store (another `--db`)."
            )
            raise StoreError(msg)

    def _migrate(self) -> None:
        """Add the columns a store made by an earlier build of this schema version lacks
        (each only when missing: opening an up-to-date store writes nothing)."""
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(batches)")}
        if "extra" not in have:
            self._conn.execute("ALTER TABLE batches ADD COLUMN extra TEXT DEFAULT '{}'")
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(quarantine)")}
        if "line_no" not in have:  # the file line of a quarantined row (eighth wave)
            self._conn.execute("ALTER TABLE quarantine ADD COLUMN line_no INTEGER")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        for statement in _PRAGMAS:
            if statement == _WAL:  # processes opening a new file at once race for the switch
                switch_to_wal(conn, self._timeout)
            else:
                conn.execute(statement)
        return conn

    def close(self) -> None:
        """Close the connection (and stop a background writer)."""
        self._end_writer(keep=False)
        self._conn.close()

    def write_in_background(self) -> bool:
        """Write the staged police.uk rows of the batches begun next from a second process
        (:class:`~geosafe.store._sqlite_writer.BackgroundWriter`) while this one reads and
        checks: for a large file. Every other write waits until they are written."""
        if self._writer is None:
            from ._sqlite_writer import BackgroundWriter

            self._writer = BackgroundWriter(self.path, timeout_s=self._timeout, pragmas=_PRAGMAS)
        return True

    def _flush_writer(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def _end_writer(self, *, keep: bool = True) -> None:
        """Stop the background writer; ``keep``: first wait for what it was sent (raising
        what failed), else stop it as soon as it finishes the chunk in hand."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            if keep:
                writer.flush()
        finally:
            writer.close()

    def release_memory(self) -> None:
        """Free this connection's page cache (``PRAGMA shrink_memory``): a reader that kept
        what it read (the layer service's incident frame) needs none of it."""
        self._conn.execute("PRAGMA shrink_memory")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._conn)

    # ---------------------------------------------------------------------------- batches

    def recover(self) -> list[int]:
        """Abort staging batches whose importing process is gone: delete their rows.

        Every write (an import, even one that finds nothing to do, a rollback, an erasure, a
        purge) calls it first, so a killed import's rows never linger.

        Returns
        -------
        list of int
            The ids of the batches aborted.
        """
        stale = [
            bid
            for bid, pid in self._conn.execute(
                "SELECT batch_id, pid FROM batches WHERE status = 'staging'"
            ).fetchall()
            if not _pid_alive(pid)
        ]
        for bid in stale:
            with self._tx() as c:
                c.execute("DELETE FROM incidents WHERE batch_id = ?", (bid,))
                c.execute("DELETE FROM quarantine WHERE batch_id = ?", (bid,))
                drop_unused_details(c)
                c.execute(
                    "UPDATE batches SET status = 'aborted', finished_at = ? WHERE batch_id = ?",
                    (_utcnow(), bid),
                )
            log.warning("aborted the unfinished import batch %d (its process is gone)", bid)
        return stale

    def begin_batch(self, source: str, sha256: str, *, file_name: str | None = None) -> int:
        """Record a new ``staging`` batch (after recovering dead ones); return its id."""
        self.recover()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO batches (source, file_name, file_sha256, status, pid, started_at) "
                "VALUES (?, ?, ?, 'staging', ?, ?)",
                (source, file_name, sha256, os.getpid(), _utcnow()),
            )
        if cur.lastrowid is None:  # pragma: no cover
            raise StoreError("SQLite returned no batch id.")
        batch_id = int(cur.lastrowid)
        if not self._others(self._conn, batch_id):  # else the commit groups in SQL anyway
            self._aggregates[batch_id] = BatchAggregate(_published.PUBLISHED_RESOLUTION)
        return batch_id

    def defer_indexes(self, expected_rows: int, *, threshold: int | None = None) -> bool:
        """Before a bulk load into an *empty* store, drop the random-key incident indexes
        (ref, time, bbox): building them once when the batch ends (:meth:`commit_batch`,
        :meth:`abort_batch`, or opening the store after a crash) costs far less than keeping
        them up row by row. Nothing is deferred when the store holds any incident row (lookups
        of earlier versions need the ref index) or the load is small.

        Parameters
        ----------
        expected_rows
            About how many rows the batch will stage.
        threshold
            Smallest ``expected_rows`` worth it; default :data:`BULK_LOAD_ROWS`.

        Returns
        -------
        bool
            Whether the indexes were dropped.
        """
        if expected_rows < (BULK_LOAD_ROWS if threshold is None else threshold):
            return False
        with self._tx() as c:
            if c.execute("SELECT 1 FROM incidents LIMIT 1").fetchone() is not None:
                return False
            for name in _DEFERRABLE_NAMES:
                c.execute(f"DROP INDEX IF EXISTS {name}")
        log.info("bulk load into an empty store: incident indexes built at the end")
        return True

    def _rebuild_indexes(self) -> None:
        """Create the deferrable indexes if missing (one transaction; no-op when present)."""
        if self._indexes_missing():
            build_indexes(self._conn, _DEFERRABLE.strip().splitlines())

    def _indexes_missing(self) -> bool:
        present = {
            r[0]
            for r in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents'"
            )
        }
        return not set(_DEFERRABLE_NAMES) <= present

    def stage(self, batch_id: int, rows: StagedRows | pd.DataFrame) -> None:
        """Write incident rows (columns :data:`ROW_COLUMNS`, as :class:`StagedRows` or a
        DataFrame) into a staging batch."""
        if rows.empty:
            return
        links = None
        if not isinstance(rows, StagedRows) or not (
            rows.is_constant("source") and rows.columns["source"] == "police_uk"
        ):  # people, flag states and named places (never in police.uk rows)
            frame = rows.to_frame() if isinstance(rows, StagedRows) else rows
            frame, links = profile_tables.split_links(batch_id, frame)
            rows = frame
        staged = StagedRows.of(rows)
        if self._writer is not None and links is None:  # police.uk rows: the writer's
            detail = staged.factorized.get("detail")
            sent = StagedRows(
                staged.columns, staged.n, factorized={} if detail is None else {"detail": detail}
            )
            self._writer.put("rows", batch_id, sent)
        else:
            self._flush_writer()
            with self._tx() as c:
                insert_rows(c, batch_id, staged)
                if links is not None:
                    profile_tables.write_links(c, links)
        if batch_id in self._aggregates:
            if "group" in staged.factorized:  # police.uk chunks say which rows group together
                self._aggregates[batch_id].add(staged)
            else:  # other sources' rows are grouped in SQL at the commit, as always
                del self._aggregates[batch_id]

    def stage_quarantine(
        self, batch_id: int, source: str, records: Iterable[tuple[Any, ...]]
    ) -> None:
        """Write quarantine records ``(row, column, reason_code, reason, ref, raw_json[,
        line])`` (``line``: where the row starts in the file)."""
        if self._writer is not None:
            self._writer.put("quarantine", batch_id, (source, list(records)))
            return
        with self._tx() as c:
            c.executemany(
                QUARANTINE_INSERT.format(batch=int(batch_id)), quarantine_values(source, records)
            )

    def mark_superseded(self, batch_id: int, row_numbers: Sequence[int]) -> None:
        """Inside a staging batch, mark rows (by data row number) as history."""
        if not row_numbers:
            return
        self._flush_writer()  # the rows it reads back
        with self._tx() as c:
            aggregate = self._aggregates.get(batch_id)
            if aggregate is not None:  # the rows leave the published groups counted on staging
                for r in row_numbers:
                    key = c.execute(
                        "SELECT h3_cell, lon, lat, source, t_from, time_precision FROM incidents "
                        "WHERE batch_id = ? AND row_no = ? AND current = 1",
                        (batch_id, int(r)),
                    ).fetchone()
                    if key is not None:
                        aggregate.remove(tuple(key))
            c.executemany(
                "UPDATE incidents SET current = 0, superseded_by = ? WHERE batch_id = ? AND row_no = ?",
                ((batch_id, batch_id, int(r)) for r in row_numbers),
            )

    def commit_batch(
        self,
        batch_id: int,
        counts: dict[str, int],
        reasons: dict[str, int],
        supersede: Sequence[int] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Make a staged batch visible in one short transaction.

        Parameters
        ----------
        counts
            ``rows``, ``accepted``, ``quarantined``, ``no_location``, ``updated``.
        reasons
            Quarantined rows per reason code.
        supersede
            Ids (``incidents.id``) of current rows of *other* batches that this batch's
            updates replace (they become history).
        extra
            Kept as :attr:`Batch.extra` (JSON-serialisable).
        """
        aggregate = self._aggregates.pop(batch_id, None)
        if self._writer is not None and self._indexes_missing():
            # a bulk load that deferred them: the writer builds them after the last rows
            # (its own transaction) while this process makes the published rows
            self._writer.put("indexes", batch_id, _DEFERRABLE.strip().splitlines())
        prepared = (
            self._prepare_published(aggregate, batch_id)
            if aggregate is not None and not supersede
            else None
        )
        self._end_writer()  # every staged row written first
        self._rebuild_indexes()  # a bulk load that deferred them (its own transaction)
        with self._tx() as c:
            status = c.execute(
                "SELECT status FROM batches WHERE batch_id = ?", (batch_id,)
            ).fetchone()
            if status is None or status[0] != "staging":
                msg = f"batch {batch_id!r} is not staging ({status!r}); it was recovered by another run."
                raise StoreError(msg)
            c.executemany(
                "UPDATE incidents SET current = 0, superseded_by = ? WHERE id = ?",
                ((batch_id, int(i)) for i in supersede),
            )
            c.execute(
                "UPDATE batches SET status = 'committed', finished_at = ?, rows = ?, accepted = ?, "
                "quarantined = ?, no_location = ?, updated = ?, reasons = ?, extra = ? "
                "WHERE batch_id = ?",
                (
                    _utcnow(),
                    *(int(counts.get(k, 0)) for k in _COUNTS),
                    json.dumps(reasons, sort_keys=True),
                    json.dumps(extra or {}, sort_keys=True),
                    batch_id,
                ),
            )
            if (
                prepared is not None
                and not self._others(c, batch_id)
                and _published.write_prepared_sqlite(c, prepared)
            ):  # the batch's rows are all there is, and their published rows were made ahead
                pass
            elif (
                aggregate is not None
                and not supersede
                and not self._others(c, batch_id)
                and (found := aggregate.found(_published.PUBLISHED_RESOLUTION)) is not None
            ):  # the batch's own rows are all there is: their groups were counted on staging
                which = _published.months_of_hours(aggregate.hours)
                _published.write_sqlite(c, which, found)
            else:
                which = _published.months_sqlite(c, _MINE, (batch_id, batch_id))
                _published.write_sqlite(c, which)

    @staticmethod
    def _others(c: sqlite3.Connection, batch_id: int) -> bool:
        """Whether any incident row belongs to another batch (two seeks of the batch index)."""
        found = c.execute(
            "SELECT 1 FROM incidents WHERE batch_id < ? OR batch_id > ? LIMIT 1",
            (batch_id, batch_id),
        )
        return found.fetchone() is not None

    def _prepare_published(
        self, aggregate: BatchAggregate, batch_id: int
    ) -> _published.PreparedSqlite | None:
        """The published rows of a batch that is all the store holds, made before the commit's
        transaction (beside the writer's last rows and its index build); the commit checks
        again that nothing else was committed meanwhile."""
        if self._others(self._conn, batch_id):
            return None
        found = aggregate.found(_published.PUBLISHED_RESOLUTION)
        if found is None:
            return None
        return _published.prepare_sqlite(_published.months_of_hours(aggregate.hours), found)

    def abort_batch(self, batch_id: int) -> None:
        """Discard a staging batch (an import that failed part-way)."""
        self._end_writer(keep=False)
        self._aggregates.pop(batch_id, None)
        with self._tx() as c:
            c.execute("DELETE FROM incidents WHERE batch_id = ?", (batch_id,))
            c.execute("DELETE FROM quarantine WHERE batch_id = ?", (batch_id,))
            drop_unused_details(c)
            c.execute(
                "UPDATE batches SET status = 'aborted', finished_at = ? WHERE batch_id = ? "
                "AND status = 'staging'",
                (_utcnow(), batch_id),
            )
        self._rebuild_indexes()

    def rollback(self, batch_id: int) -> Batch:
        """Remove a committed batch's incidents; keep its record as ``rolled_back``.

        Versions that the batch's updates had superseded become current again.
        """
        self._to_roll_back(batch_id)
        with self._tx() as c:
            months = _published.months_sqlite(c, _MINE, (batch_id, batch_id))
            c.execute(
                "UPDATE incidents SET current = 1, superseded_by = NULL WHERE superseded_by = ? "
                "AND batch_id != ?",
                (batch_id, batch_id),
            )
            c.execute("DELETE FROM incidents WHERE batch_id = ?", (batch_id,))
            drop_unused_details(c)
            c.execute(
                "UPDATE batches SET status = 'rolled_back', rolled_back_at = ? WHERE batch_id = ?",
                (_utcnow(), batch_id),
            )
            _published.write_sqlite(c, months)
        return self.batch(batch_id)

    # ---------------------------------------------------------------------------- lookups

    def versions(self, source: str, refs: Sequence[str]) -> pd.DataFrame:
        """Every committed version of these refs: ``id``, ``source_ref``, ``row_hash``,
        ``occurred_from`` (epoch seconds), ``current``, ``located`` (1 when it has a
        location)."""
        import pandas as pd

        cols = ["id", "source_ref", "row_hash", "occurred_from", "current", "located"]
        return pd.DataFrame(self.version_rows(source, refs), columns=cols)

    def version_rows(self, source: str, refs: Sequence[str]) -> list[tuple[Any, ...]]:
        """:meth:`versions` as ``(id, source_ref, row_hash, occurred_from, current,
        located)`` tuples (no pandas)."""
        if not refs:
            return []
        c = self._conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS _refs (k INTEGER PRIMARY KEY, ref TEXT)")
        c.execute("DELETE FROM _refs")
        keys = ref_keys(refs).tolist()
        c.executemany("INSERT OR IGNORE INTO _refs VALUES (?, ?)", zip(keys, refs, strict=True))
        rows = c.execute(
            "SELECT i.id, i.source_ref, i.row_hash, i.t_from, i.current, i.minx IS NOT NULL FROM _refs r CROSS "
            "JOIN incidents i ON i.ref_key = r.k AND i.source = ? AND i.source_ref = r.ref "
            f"WHERE i.{_VISIBLE}",
            (source,),
        ).fetchall()
        c.execute("DELETE FROM _refs")
        return rows

    # ---------------------------------------------------------------------------- reads

    def incidents(
        self,
        *,
        sources: Sequence[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
        with_location: bool = True,
        include_history: bool = False,
    ) -> gpd.GeoDataFrame:
        """Current incidents as a GeoDataFrame with exactly :data:`~geosafe.incident.FRAME_COLUMNS`.

        Parameters
        ----------
        sources
            Restrict to these sources (``dir``, ``asif``, ``cris``, ``fap``, ``police_uk``).
        bbox
            ``(minx, miny, maxx, maxy)`` in EPSG:27700 metres; incidents whose geometry's
            bounds intersect it.
        start, end
            Bounds on ``occurred_from`` (``start`` inclusive, ``end`` exclusive); naive values
            are Europe/London.
        with_location
            Only incidents with a geometry (the default); ``False`` includes those without.
        include_history
            Also superseded versions (police.uk updates).
        """
        filters = (sources, bbox, start, end, with_location, include_history)
        where, params = self._incident_filters(*filters)
        cols = ", ".join(
            f"{DETAIL_SQL} AS detail" if c == "detail" else f"{_disk(c)} AS {c}"
            for c in ROW_COLUMNS
            if c not in ("row_no", "row_hash", "current")
        )
        sql = f"SELECT batch_id, {cols} FROM incidents WHERE {where} ORDER BY id"
        import pandas as pd

        df = pd.read_sql_query(sql, self._conn, params=params)
        return rows_to_frame(df)

    # ---------------------------------------------------------------------------- removal

    def erase(self, source: str, ref: str) -> list[str]:
        """Remove every trace of one source record (right to erasure).

        Returns
        -------
        list of str
            Where it was removed from: ``"incidents"`` (current version), ``"history"``
            (superseded versions), ``"quarantine"``.
        """
        self.recover()
        source = source.replace("-", "_")
        places = []
        key = int(ref_keys([ref])[0])
        with self._tx() as c:
            where = "ref_key = ? AND source = ? AND source_ref = ?"
            months = _published.months_sqlite(c, where, (key, source, ref))
            for label, flag in (("incidents", 1), ("history", 0)):
                n = c.execute(
                    "DELETE FROM incidents WHERE ref_key = ? AND source = ? AND source_ref = ? "
                    "AND current = ?",
                    (key, source, ref, flag),
                ).rowcount
                if n:
                    places.append(label)
            _published.write_sqlite(c, months)
            drop_unused_details(c)
            if c.execute(
                "DELETE FROM quarantine WHERE source = ? AND ref = ?", (source, ref)
            ).rowcount:
                places.append("quarantine")
        return places

    def purge(self, before: pd.Timestamp | str) -> int:
        """Delete incidents (all versions) that ended before ``before``; return how many."""
        self.recover()
        cutoff = _epoch(before)
        with self._tx() as c:
            months = _published.months_sqlite(c, "t_to < ?", (cutoff,))
            n = c.execute("DELETE FROM incidents WHERE t_to < ?", (cutoff,)).rowcount
            _published.write_sqlite(c, months)
            drop_unused_details(c)
        return int(n)

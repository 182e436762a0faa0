"""The incident store on PostgreSQL + PostGIS (psycopg 3), for a team's server.

The same interface as the embedded SQLite store (:class:`geosafe.store.base.IncidentStore`),
the same tables and columns (:mod:`geosafe.store.migrations`), with the geometry a PostGIS
``geometry(Geometry, 27700)`` under a GiST index and the H3 cell indexed.

Atomicity
---------
As with SQLite: an import writes its rows while its batch is ``staging`` (bulk rows by
``COPY``), every read filters on committed batches, and committing is one short transaction.
The importing connection holds a session advisory lock on its batch; a process (on any host)
that dies mid-import loses its connection and with it the lock, and the next write
(:meth:`PostgisStore.recover`) deletes the batch's rows and marks it ``aborted``.

Migrations
----------
Numbered SQL files in ``geosafe/store/migrations/`` recorded in ``schema_version``; opening
an older database applies the missing ones (under an advisory lock, each in one
transaction); a database with a newer version than this build knows is refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from .._errors import StoreError
from ..incident import ROW_COLUMNS, StagedRows, rows_to_frame
from ..profile import tables as profile_tables
from . import published
from . import sqlite as _sqlite
from ._common import _COUNTS, _VISIBLE, Batch, CommonReads, _epoch, _utcnow
from ._sqlite_rows import _ON_DISK
from ._sqlite_rows import ref_keys as ref_keys

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import psycopg

__all__ = ["PostgisStore", "is_url", "latest_version", "migrations", "redact"]

log = logging.getLogger(__name__)

#: Advisory-lock namespace (first key) of import batches; the second key is the batch id.
_BATCH_LOCK: Final = 0x6E05AFE
#: Advisory lock held while migrating.
_MIGRATE_LOCK: Final = 0x6E05AFF

_DEFERRABLE: Final = (
    ("incidents_ref", "CREATE INDEX IF NOT EXISTS incidents_ref ON incidents (ref_key)"),
    ("incidents_time", "CREATE INDEX IF NOT EXISTS incidents_time ON incidents (t_from)"),
    ("incidents_geom", "CREATE INDEX IF NOT EXISTS incidents_geom ON incidents USING GIST (geom)"),
    ("incidents_h3", "CREATE INDEX IF NOT EXISTS incidents_h3 ON incidents (h3_cell)"),
)
#: Staged columns written by COPY (``geom_wkb`` becomes ``geom``).
_COPY_COLUMNS: Final = (
    *("geom" if c == "geom_wkb" else _ON_DISK.get(c, c) for c in ROW_COLUMNS),
    "pub_cell",  # then the published cell (schema 3)
)
_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)


def is_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database (``postgresql://...``)."""
    return isinstance(target, str) and bool(_URL.match(target))


def migrations() -> list[tuple[int, str, str]]:
    """The numbered migrations ``(version, name, sql)``, in order."""
    out = []
    for entry in resources.files(__package__ + ".migrations").iterdir():
        m = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(out)


def latest_version() -> int:
    """The newest schema version this build knows."""
    return migrations()[-1][0]


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgisStore(CommonReads):
    """PostGIS incident store. ``PostgisStore(url)`` connects and migrates the schema.

    Parameters
    ----------
    url
        ``postgresql://user[:password]@host[:port]/database`` (libpq URL; a ``?options``
        query string is passed on).
    migrate
        Apply missing migrations (the default). ``False`` opens a database as it is (a role
        that may not change the schema, e.g. the published-aggregates reader); a database
        older or newer than this build is refused either way.
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        import psycopg

        self.url = url
        self._own: set[int] = set()  # batches this store is staging (lock held here)
        try:
            self._conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            msg = (
                f"cannot connect to the store {redact(url)!r} ({str(exc).strip()}); check "
                "`--db` / GEOSAFE_DB (postgresql://user@host:port/database) and that the "
                "server is running."
            )
            raise StoreError(msg) from exc
        try:
            self._prepare(migrate=migrate)
        except BaseException:
            self._conn.close()
            raise

    # ---------------------------------------------------------------------------- schema

    @property
    def target(self) -> str:
        """The URL this store was opened with."""
        return self.url

    def schema_version(self) -> int:
        """The schema version recorded in the database (0 for an empty database)."""
        row = self._conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        got = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(got[0] or 0) if got else 0

    def _prepare(self, *, migrate: bool) -> None:
        version = self.schema_version()
        latest = latest_version()
        if version > latest:
            msg = (
                f"the store {redact(self.url)!r} has schema version {version}, newer than this "
                f"geosafe build knows ({latest}); upgrade geosafe or use another `--db`."
            )
            raise StoreError(msg)
        if version < latest:
            if not migrate:
                msg = (
                    f"the store {redact(self.url)!r} has schema version {version}, not "
                    f"{latest}; open it once as its owner to migrate it."
                )
                raise StoreError(msg)
            self._migrate()
            if version < 4 <= latest:  # schema 3 and 4 publish: fill them
                with self._tx() as c:
                    self._bump(c)
                    published.backfill(c)
            elif version < 9 <= latest:  # schema 9: the published referrals
                from . import published_referrals

                with self._tx() as c:
                    self._bump(c)
                    published_referrals.write(c, pg=True)
        if migrate:
            self._rebuild_indexes()  # a bulk load that deferred them was killed

    def _migrate(self) -> None:
        import psycopg

        c = self._conn
        c.execute("SELECT pg_advisory_lock(%s)", (_MIGRATE_LOCK,))
        try:
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            have = self.schema_version()  # again, under the lock: another process may have won
            for version, name, sql in migrations():
                if version <= have:
                    continue
                try:
                    with c.transaction():
                        c.execute(sql)  # type: ignore[arg-type]  # trusted files of ours
                        c.execute(
                            "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                            (version, name),
                        )
                except psycopg.Error as exc:
                    msg = (
                        f"cannot migrate the store {redact(self.url)!r} to schema {version} "
                        f"({name}): {str(exc).strip()}; the user needs to own the database "
                        "(and CREATEROLE for the roles migration) the first time."
                    )
                    raise StoreError(msg) from exc
                log.info("store %s migrated to schema %d (%s)", redact(self.url), version, name)
        finally:
            c.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATE_LOCK,))

    def close(self) -> None:
        """Close the connection (a staging batch of this store is then recovered by the next
        writer, like a killed import)."""
        self._conn.close()

    def __del__(self) -> None:
        # the service opens one store per worker thread and never closes it: the connection
        # ends with the store (as a sqlite3 connection does), without psycopg's warning
        conn = getattr(self, "_conn", None)
        if conn is not None and not conn.closed:
            conn.close()

    def __enter__(self) -> PostgisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        with self._conn.transaction():
            yield self._conn

    def _bump(self, c: psycopg.Connection[Any]) -> None:
        c.execute("UPDATE store_state SET generation = generation + 1")

    def state_token(self) -> int:
        """A number that changes whenever what readers see may have changed (committed
        imports, rollbacks, erasure, purge): caches in every worker key on it."""
        row = self._conn.execute("SELECT generation FROM store_state").fetchone()
        return int(row[0]) if row else 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement written for both backends (``?`` placeholders)."""
        return self._conn.execute(sql.replace("?", "%s"), tuple(params)).fetchall()  # type: ignore[arg-type]

    # ---------------------------------------------------------------------------- batches

    def recover(self) -> list[int]:
        """Abort staging batches whose importer is gone (its connection, and so its advisory
        lock, ended): delete their rows. Every write calls it first.

        Returns
        -------
        list of int
            The ids of the batches aborted.
        """
        staging = [
            int(r[0])
            for r in self._conn.execute(
                "SELECT batch_id FROM batches WHERE status = 'staging'"
            ).fetchall()
        ]
        stale = []
        for bid in staging:
            if bid in self._own:
                continue
            got = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (_BATCH_LOCK, bid)
            ).fetchone()
            if not (got and got[0]):
                continue  # its importer is alive
            try:
                with self._tx() as c:
                    # re-read under a row lock: the importer may have committed the batch and
                    # released its lock between the list above and the lock just taken
                    status = c.execute(
                        "SELECT status FROM batches WHERE batch_id = %s FOR UPDATE", (bid,)
                    ).fetchone()
                    if status is None or status[0] != "staging":
                        continue
                    c.execute("DELETE FROM incidents WHERE batch_id = %s", (bid,))
                    c.execute("DELETE FROM quarantine WHERE batch_id = %s", (bid,))
                    c.execute(
                        "UPDATE batches SET status = 'aborted', finished_at = %s "
                        "WHERE batch_id = %s AND status = 'staging'",
                        (_utcnow(), bid),
                    )
            finally:
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_BATCH_LOCK, bid))
            stale.append(bid)
            log.warning("aborted the unfinished import batch %d (its importer is gone)", bid)
        if stale:
            self._rebuild_indexes()
        return stale

    def begin_batch(self, source: str, sha256: str, *, file_name: str | None = None) -> int:
        """Record a new ``staging`` batch (after recovering dead ones); return its id."""
        self.recover()
        with self._tx() as c:
            row = c.execute(
                "INSERT INTO batches (source, file_name, file_sha256, status, pid, started_at) "
                "VALUES (%s, %s, %s, 'staging', %s, %s) RETURNING batch_id",
                (source, file_name, sha256, os.getpid(), _utcnow()),
            ).fetchone()
            if row is None:  # pragma: no cover
                raise StoreError("PostgreSQL returned no batch id.")
            bid = int(row[0])
            c.execute("SELECT pg_advisory_lock(%s, %s)", (_BATCH_LOCK, bid))
        self._own.add(bid)
        return bid

    def _release(self, batch_id: int) -> None:
        if batch_id in self._own:
            self._own.discard(batch_id)
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_BATCH_LOCK, batch_id))

    def defer_indexes(self, expected_rows: int, *, threshold: int | None = None) -> bool:
        """Before a bulk load into an *empty* store, drop the incident indexes on random keys
        (ref, time, geometry, H3 cell); they are built once when the batch ends, or when the
        store is next opened after a crash. See :meth:`geosafe.store.Store.defer_indexes`."""
        if expected_rows < (_sqlite.BULK_LOAD_ROWS if threshold is None else threshold):
            return False
        with self._tx() as c:
            c.execute("LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE")
            if c.execute("SELECT 1 FROM incidents LIMIT 1").fetchone() is not None:
                return False
            for name, _ in _DEFERRABLE:
                c.execute(f"DROP INDEX IF EXISTS {name}")  # type: ignore[arg-type]
        log.info("bulk load into an empty store: incident indexes built at the end")
        return True

    def _rebuild_indexes(self) -> None:
        present = {
            r[0]
            for r in self._conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'incidents' "
                "AND schemaname = current_schema()"
            ).fetchall()
        }
        missing = [sql for name, sql in _DEFERRABLE if name not in present]
        if missing:
            with self._tx() as c:
                # two importers finishing at once: one builds, the other finds them built
                c.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
                for sql in missing:
                    c.execute(sql)  # type: ignore[arg-type]
                c.execute("ANALYZE incidents")

    def stage(self, batch_id: int, rows: StagedRows | pd.DataFrame) -> None:
        """Write incident rows (columns :data:`ROW_COLUMNS`, as :class:`StagedRows` or a
        DataFrame) into a staging batch (COPY)."""
        if rows.empty:
            return
        if isinstance(rows, StagedRows):
            rows = rows.to_frame()
        rows, links = profile_tables.split_links(batch_id, rows)
        keys = ref_keys(rows["source_ref"].to_numpy(dtype=object))
        columns = [
            np.full(len(rows), str(int(batch_id)), dtype=object),
            keys.astype(str).astype(object),
            *(_copy_values(rows, c) for c in ROW_COLUMNS),
            _copy_text(np.asarray(published.published_cells(rows), dtype=object)),
        ]
        names = ", ".join(("batch_id", "ref_key", *_COPY_COLUMNS))
        with self._tx() as c, c.cursor() as cur:
            with cur.copy(f"COPY incidents ({names}) FROM STDIN") as copy:  # type: ignore[arg-type]
                for i in range(0, len(rows), _COPY_BLOCK_ROWS):
                    part = [col[i : i + _COPY_BLOCK_ROWS] for col in columns]
                    rows_text = map("\t".join, zip(*part, strict=True))
                    copy.write("".join(f"{line}\n" for line in rows_text))
            profile_tables.write_links(c, links)

    def stage_quarantine(
        self, batch_id: int, source: str, records: Iterable[tuple[Any, ...]]
    ) -> None:
        """Write quarantine records ``(row, column, reason_code, reason, ref, raw_json[,
        line])`` (``line``: where the row starts in the file)."""
        from ._common import quarantine_values

        bid = int(batch_id)
        with (
            self._tx() as c,
            c.cursor() as cur,
            cur.copy(
                "COPY quarantine (batch_id, source, row_no, col, reason_code, reason, ref, raw, "
                "line_no) FROM STDIN"
            ) as copy,
        ):
            for v in quarantine_values(source, records):
                copy.write_row((bid, *(_clean(x) for x in v)))

    def mark_superseded(self, batch_id: int, row_numbers: Sequence[int]) -> None:
        """Inside a staging batch, mark rows (by data row number) as history."""
        if not len(row_numbers):
            return
        with self._tx() as c:
            c.execute(
                "UPDATE incidents SET current = 0, superseded_by = %s "
                "WHERE batch_id = %s AND row_no = ANY(%s)",
                (int(batch_id), int(batch_id), [int(r) for r in row_numbers]),
            )

    def commit_batch(
        self,
        batch_id: int,
        counts: dict[str, int],
        reasons: dict[str, int],
        supersede: Sequence[int] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Make a staged batch visible in one short transaction (see
        :meth:`geosafe.store.Store.commit_batch`)."""
        self._rebuild_indexes()
        bid = int(batch_id)
        ids = [int(i) for i in supersede]
        with self._tx() as c:
            status = c.execute(
                "SELECT status FROM batches WHERE batch_id = %s FOR UPDATE", (bid,)
            ).fetchone()
            if status is None or status[0] != "staging":
                msg = f"batch {batch_id!r} is not staging ({status!r}); it was recovered by another run."
                raise StoreError(msg)
            # the months the batch changes: of its own rows (the batch index) and of the
            # versions it supersedes (the primary key); selecting on `superseded_by` (no index)
            # scanned the whole table once per batch (national archive: 6,837 file batches)
            # and their published cells: only those are rewritten in each period
            months, cells = published.touched(c, "batch_id = %s OR id = ANY(%s)", (bid, ids))
            if ids:
                c.execute(
                    "UPDATE incidents SET current = 0, superseded_by = %s WHERE id = ANY(%s)",
                    (bid, ids),
                )
            c.execute(
                "UPDATE batches SET status = 'committed', finished_at = %s, rows = %s, "
                "accepted = %s, quarantined = %s, no_location = %s, updated = %s, reasons = %s, "
                "extra = %s WHERE batch_id = %s",
                (
                    _utcnow(),
                    *(int(counts.get(k, 0)) for k in _COUNTS),
                    json.dumps(reasons, sort_keys=True),
                    json.dumps(extra or {}, sort_keys=True),
                    int(batch_id),
                ),
            )
            published.write(c, months, cells)
            # last: concurrent importers wait on this row's lock only until this commit
            self._bump(c)
        self._release(batch_id)
        # planner statistics: refreshed once the rows changed since the last ANALYZE reach a
        # fifth of the table (the first batches, bulk loads, then at geometric steps: ~50
        # times over the 20 M rows of the national archive's 6,837 file batches, where an
        # ANALYZE per batch cost ~0.9 s each). Stale statistics (autovacuum lags behind a
        # stream of batches) made the published rewrite's plans scan whole months.
        est = self._conn.execute(
            "SELECT c.reltuples, s.n_mod_since_analyze FROM pg_class c "
            "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.oid = 'incidents'::regclass"
        ).fetchone()
        changed = max(int(counts.get("accepted", 0)), int(est[1] or 0)) if est else 0
        if est is None or est[0] < 0 or 5 * changed >= est[0]:
            self._conn.execute("ANALYZE incidents")

    def abort_batch(self, batch_id: int) -> None:
        """Discard a staging batch (an import that failed part-way)."""
        with self._tx() as c:
            c.execute("DELETE FROM incidents WHERE batch_id = %s", (int(batch_id),))
            c.execute("DELETE FROM quarantine WHERE batch_id = %s", (int(batch_id),))
            c.execute(
                "UPDATE batches SET status = 'aborted', finished_at = %s WHERE batch_id = %s "
                "AND status = 'staging'",
                (_utcnow(), int(batch_id)),
            )
        self._release(batch_id)
        self._rebuild_indexes()

    def rollback(self, batch_id: int) -> Batch:
        """Remove a committed batch's incidents; keep its record as ``rolled_back``.

        Versions that the batch's updates had superseded become current again.
        """
        self._to_roll_back(batch_id)
        bid = int(batch_id)
        with self._tx() as c:
            months = published.months(c, "batch_id = %s OR superseded_by = %s", (bid, bid))
            c.execute(
                "UPDATE incidents SET current = 1, superseded_by = NULL WHERE superseded_by = %s "
                "AND batch_id <> %s",
                (bid, bid),
            )
            c.execute("DELETE FROM incidents WHERE batch_id = %s", (bid,))
            c.execute(
                "UPDATE batches SET status = 'rolled_back', rolled_back_at = %s WHERE batch_id = %s",
                (_utcnow(), bid),
            )
            self._bump(c)
            published.write(c, months)
        return self.batch(batch_id)

    def published_counts(self) -> pd.DataFrame:
        """The published H3 counts (``cell``, ``resolution``, ``month``, ``source``,
        ``count`` (NaN when suppressed), ``suppressed``): what the non-analyst role reads
        (:func:`geosafe.store.published.read_published_counts` reads them as that role)."""
        return published.counts_frame(self._conn)

    # ---------------------------------------------------------------------------- lookups

    def versions(self, source: str, refs: Sequence[str]) -> pd.DataFrame:
        """Every committed version of these refs: ``id``, ``source_ref``, ``row_hash``,
        ``occurred_from`` (epoch seconds), ``current``, ``located``."""
        import pandas as pd

        cols = ["id", "source_ref", "row_hash", "occurred_from", "current", "located"]
        if not len(refs):
            return pd.DataFrame(columns=cols)
        uniq = list(dict.fromkeys(str(r) for r in refs))
        keys = ref_keys(uniq).tolist()
        rows = self._conn.execute(
            "SELECT i.id, i.source_ref, i.row_hash, i.t_from, i.current, "
            "(i.minx IS NOT NULL)::int FROM unnest(%s::bigint[], %s::text[]) AS r(k, ref) "
            "JOIN incidents i ON i.ref_key = r.k AND i.source = %s AND i.source_ref = r.ref "
            f"WHERE i.{_VISIBLE}",
            (keys, uniq, source),
        ).fetchall()
        return pd.DataFrame(rows, columns=cols)

    # ---------------------------------------------------------------------------- reads

    def _bbox_filter(self, x0: float, y0: float, x1: float, y1: float) -> tuple[str, list[float]]:
        """Incidents whose geometry's bounds intersect the box (the GiST index)."""
        return "geom && ST_MakeEnvelope(?, ?, ?, ?, 27700)", [x0, y0, x1, y1]

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
        """Current incidents as a GeoDataFrame (see :meth:`geosafe.store.Store.incidents`;
        the bounding box is answered by the GiST index)."""
        import pandas as pd

        filters = (sources, bbox, start, end, with_location, include_history)
        where, params = self._incident_filters(*filters)
        names = [c for c in ROW_COLUMNS if c not in ("row_no", "row_hash", "current")]
        cols = ", ".join(_select(c) for c in names)
        sql = f"SELECT batch_id, {cols} FROM incidents WHERE {where} ORDER BY id".replace("?", "%s")
        columns = ["batch_id", *names]
        parts = []
        # a server-side cursor read in blocks: one block of Python tuples at a time, not the
        # whole result (a million rows of tuples would double the reader's memory)
        with self._conn.transaction(), self._conn.cursor("incidents", binary=True) as cur:
            cur.execute(sql, params)  # type: ignore[arg-type]
            while block := cur.fetchmany(_READ_BLOCK_ROWS):
                parts.append(pd.DataFrame(block, columns=columns))
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
        return rows_to_frame(df)

    # ---------------------------------------------------------------------------- removal

    def erase(self, source: str, ref: str) -> list[str]:
        """Remove every trace of one source record (right to erasure): ``"incidents"``,
        ``"history"``, ``"quarantine"`` where it was removed from."""
        self.recover()
        source = source.replace("-", "_")
        places = []
        key = int(ref_keys([ref])[0])
        with self._tx() as c:
            months = published.months(
                c, "ref_key = %s AND source = %s AND source_ref = %s", (key, source, ref)
            )
            for label, flag in (("incidents", 1), ("history", 0)):
                n = c.execute(
                    "DELETE FROM incidents WHERE ref_key = %s AND source = %s AND source_ref = %s "
                    "AND current = %s",
                    (key, source, ref, flag),
                ).rowcount
                if n:
                    places.append(label)
            if c.execute(
                "DELETE FROM quarantine WHERE source = %s AND ref = %s", (source, ref)
            ).rowcount:
                places.append("quarantine")
            if places:
                self._bump(c)
                published.write(c, months)
        return places

    def erase_person(self, person_key: str) -> int:
        """Remove every link of one person (their re-keyed reference); return how many."""
        with self._tx() as c:
            n = c.execute("DELETE FROM people_links WHERE person_key = %s", (person_key,)).rowcount
            if n:
                self._bump(c)
        return int(n)

    def purge(self, before: pd.Timestamp | str) -> int:
        """Delete incidents (all versions) that ended before ``before``; return how many."""
        self.recover()
        cutoff = _epoch(before)
        with self._tx() as c:
            months = published.months(c, "t_to < %s", (cutoff,))
            n = c.execute("DELETE FROM incidents WHERE t_to < %s", (cutoff,)).rowcount
            if n:
                self._bump(c)
                published.write(c, months)
        return int(n)


def _select(column: str) -> str:
    """The SELECT expression giving a stored column its staged name."""
    if column == "geom_wkb":  # points come back from their bounds, as in SQLite
        return (
            "CASE WHEN geom IS NULL OR GeometryType(geom) = 'POINT' THEN NULL "
            "ELSE ST_AsBinary(geom) END AS geom_wkb"
        )
    disk = _ON_DISK.get(column)
    return f"{disk} AS {column}" if disk else column


def _clean(value: Any) -> Any:
    """``None`` for a missing value (NaN, NA)."""
    import pandas as pd

    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


#: Rows fetched per block by :meth:`PostgisStore.incidents`.
_READ_BLOCK_ROWS: Final = 50_000
#: NULL in COPY's text format.
_NULL: Final = "\\N"
#: Staged rows written per COPY message (bounds the text held in memory at once).
_COPY_BLOCK_ROWS: Final = 20_000


def _copy_values(rows: pd.DataFrame, column: str) -> np.ndarray:
    """One staged column as COPY text fields (escaped; ``\\N`` for missing; the geometry
    as hex EWKB), built column-wise: binding row by row costs several times more."""
    import pandas as pd
    import shapely

    series = rows[column]
    n = len(rows)
    if column == "geom_wkb":
        wkb = series.to_numpy(dtype=object)
        minx = rows["minx"].to_numpy(dtype=float, na_value=np.nan)
        miny = rows["miny"].to_numpy(dtype=float, na_value=np.nan)
        geoms = np.full(n, None, dtype=object)
        has_wkb = ~pd.isna(wkb)
        if has_wkb.any():
            geoms[has_wkb] = shapely.from_wkb(wkb[has_wkb])
        point = ~has_wkb & np.isfinite(minx) & np.isfinite(miny)
        if point.any():
            geoms[point] = shapely.points(minx[point], miny[point])
        located = has_wkb | point
        out = np.full(n, _NULL, dtype=object)
        if located.any():
            out[located] = shapely.to_wkb(
                shapely.set_srid(geoms[located], 27700), hex=True, include_srid=True
            )
        return out
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
        # each distinct value formatted once (shortest round-trip text, as repr()): times,
        # coordinates and weights repeat (police.uk: month starts, snap points)
        codes, uniques = pd.factorize(series.to_numpy(), use_na_sentinel=True)
        texts = np.asarray([repr(float(v)) for v in uniques] + [_NULL], dtype=object)
        texts[:-1][~np.isfinite(np.asarray(uniques, dtype=float))] = _NULL  # inf: no value
        return texts[codes]  # code -1 (NaN: NULL, as SQLite stores a bound NaN) -> the last
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iub":
        return series.to_numpy().astype(np.int64).astype(str).astype(object)
    return _copy_text(series.to_numpy(dtype=object))


def _copy_text(values: np.ndarray) -> np.ndarray:
    """Text fields escaped for COPY (backslash, tab, newline, carriage return); each distinct
    value escaped once (categories, outcomes and police.uk details repeat)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).map(str)
    if text.str.contains(r"[\\\t\n\r]", regex=True).any():
        for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            text = text.str.replace(char, escaped, regex=False)
    texts = np.asarray([*text.to_numpy(dtype=object), _NULL], dtype=object)
    return texts[codes]  # code -1 (missing) -> NULL, the last

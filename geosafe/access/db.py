"""The small databases of the access layer: a SQLite file (the embedded default) or a schema
of a PostgreSQL database (a team server with several service workers).

Tokens and sessions, the audit log and the shared limits (rate buckets, heavy-computation
slots) each keep a few tables. They are written once against :class:`Database`, which both
backends implement: ``?`` placeholders, short autocommit reads through :meth:`connect`, one
write transaction through :meth:`transaction` (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a
transaction on a pooled connection). SQL shared by both keeps to what both understand
(``CASE`` rather than two-argument ``MIN``/``LEAST``; ``RETURNING``; ``ON CONFLICT``).

Select the backend with the target: a path is a SQLite file, a ``postgresql://`` (or
``postgres://``) URL is PostgreSQL (:func:`open_database`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from .._errors import ConfigurationError, StoreError
from .._sqlite import switch_to_wal

__all__ = [
    "Cursor",
    "Database",
    "PgSchema",
    "SqliteFile",
    "is_postgres",
    "open_database",
    "with_schema",
]

log = logging.getLogger(__name__)

_PG_PREFIXES: Final = ("postgresql://", "postgres://")


def is_postgres(target: object) -> bool:
    """Whether ``target`` (a path or URL, as text or :class:`~pathlib.Path`) names PostgreSQL."""
    return isinstance(target, str) and target.startswith(_PG_PREFIXES)


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``#schema`` appended (how a target names its PostgreSQL schema)."""
    return f"{url.split('#', 1)[0]}#{schema}"


class Cursor(Protocol):
    """What callers read from :meth:`Connection.execute` (both drivers' cursors)."""

    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """A connection with ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Cursor: ...


class Database(Protocol):
    """A small database whose schema exists once a connection is handed out."""

    what: str
    postgres: bool

    def connect(self) -> contextlib.AbstractContextManager[Any]: ...

    def transaction(self) -> contextlib.AbstractContextManager[Any]: ...


class SqliteFile:
    """A small SQLite file in WAL mode whose schema is created on first use. Each
    :meth:`connect` opens a short-lived connection in autocommit mode; :meth:`transaction`
    holds ``BEGIN IMMEDIATE`` (one writer at a time, across processes) until it ends.

    Writes go through one connection per file and process, reads through one per thread,
    kept open (closing the last connection of a WAL file checkpoints it, ~10 ms of disk
    writes per write) and reopened when the file is replaced; this process's writers queue on a lock in front of it
    instead of polling SQLite's busy handler (which sleeps up to 100 ms between tries).
    ``durable=False`` commits without waiting for the disk (``synchronous = NORMAL``: a
    power cut may lose the last commits, never the file's consistency), for counters such
    as rate buckets; the default keeps SQLite's full durability.
    """

    postgres = False

    def __init__(
        self,
        path: Path,
        schema: str,
        *,
        what: str,
        timeout_s: float = 10.0,
        durable: bool = True,
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self.what = what
        self.timeout_s = timeout_s
        self.durable = durable
        self._lock = threading.Lock()
        self._initialised = False
        self._write_lock = _writer_lock(self.path)
        self._readers = threading.local()  # each thread's kept read connection
        # [connection, inode]; closed when this object goes away
        self._writer: list[Any] = [None, None]
        weakref.finalize(self, _close_writer, self._writer)

    def __repr__(self) -> str:
        return f"SqliteFile({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(
                self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:  # directory missing or not writable
            msg = f"{self.what} {str(self.path)!r} cannot be opened ({exc}); check the path."
            raise StoreError(msg) from exc
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            if not self.durable:
                con.execute("PRAGMA synchronous = NORMAL")
            if not self._initialised:
                with self._lock:
                    switch_to_wal(con, self.timeout_s)
                    con.executescript(self.schema)
                    self._initialised = True
        except BaseException:
            con.close()
            raise
        return con

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection in autocommit mode (kept open between calls, reopened
        when the file was removed or replaced); the schema exists when it is yielded."""
        try:
            ino: int | None = os.stat(self.path).st_ino
        except OSError:
            ino = None
        held = getattr(self._readers, "held", None)
        if held is not None and (ino is None or ino != held[1]):
            with contextlib.suppress(sqlite3.Error):
                held[0].close()
            held = None
        if held is None:
            con = self._open()
            if ino is None:  # made just now: make sure its schema exists
                con.executescript(self.schema)
            held = (con, os.stat(self.path).st_ino)
            self._readers.held = held
        con = held[0]
        try:
            yield con
        finally:
            if con.in_transaction:  # never keep a transaction a caller left open
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")

    def _writer_connection(self) -> sqlite3.Connection:
        """The kept write connection (call with the write lock held), reopened when the file
        was replaced or removed."""
        try:
            ino: int | None = os.stat(self.path).st_ino
        except OSError:
            ino = None
        con, held = self._writer
        if con is not None and (ino is None or ino != held):
            _close_writer(self._writer)
            con = None
        if con is None:
            con = self._open()
            if ino is None:  # made just now: make sure its schema exists
                con.executescript(self.schema)
            self._writer[:] = [con, os.stat(self.path).st_ino]
        return con  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed on exit, rolled back on error."""
        if not self._write_lock.acquire(timeout=self.timeout_s):
            msg = (
                f"{self.what} {str(self.path)!r} stayed busy for {self.timeout_s:g} s "
                "(another writer in this process); retry."
            )
            raise StoreError(msg)
        try:
            con = self._writer_connection()
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    try:
                        con.execute("ROLLBACK")
                    except sqlite3.Error:  # the connection is unusable: open a new one next time
                        _close_writer(self._writer)
                raise
        finally:
            self._write_lock.release()


#: One write lock per SQLite file in this process (several objects may name one file).
_WRITE_LOCKS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


class _Lock:
    """A lock that can be weakly referenced (``threading.Lock`` cannot)."""

    __slots__ = ("__weakref__", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self, timeout: float) -> bool:
        return self._lock.acquire(timeout=timeout)

    def release(self) -> None:
        self._lock.release()


def _writer_lock(path: Path) -> _Lock:
    key = os.path.realpath(path)
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(key)
        if lock is None:
            lock = _Lock()
            _WRITE_LOCKS[key] = lock
        return lock  # type: ignore[no-any-return]


def _close_writer(writer: list[Any]) -> None:
    con = writer[0]
    writer[:] = [None, None]
    if con is not None:
        with contextlib.suppress(sqlite3.Error):
            con.close()


_QMARK: Final = re.compile(r"\?")


def _pg_sql(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (and literal ``%`` escaped)."""
    return _QMARK.sub("%s", sql.replace("%", "%%"))


class _PgConnection:
    """A psycopg connection that takes the ``?`` placeholders of the shared SQL."""

    def __init__(self, con: Any) -> None:
        self.raw = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(_pg_sql(sql), tuple(params))


class PgSchema:
    """One schema of a PostgreSQL database, created on first use, behind a small pool of
    connections per process (``size`` at most; a caller waits up to ``timeout_s`` for one).

    Parameters
    ----------
    url
        ``postgresql://user@host:port/database`` (the user's role needs ``CREATE`` on the
        database the first time, or the schema made beforehand: see the README).
    schema
        The schema holding the tables (its name is put on the ``search_path``).
    ddl
        ``CREATE ... IF NOT EXISTS`` statements, run once per process under an advisory lock
        (several workers start at once); ``{schema}`` in them is the schema's name.
    """

    postgres = True

    def __init__(
        self,
        url: str,
        schema: str,
        ddl: str,
        *,
        what: str,
        size: int = 4,
        timeout_s: float = 10.0,
    ) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise ConfigurationError(f"PostgreSQL schema name {schema!r} is not a plain name.")
        self.url = url
        self.schema = schema
        self.ddl = ddl
        self.what = what
        self.size = size
        self.timeout_s = timeout_s
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._count = 0
        self._lock = threading.Lock()
        self._initialised = False
        # idle connections are closed when the schema object goes away (not left to the GC)
        weakref.finalize(self, _close_idle, self._idle)

    def __repr__(self) -> str:
        return f"PgSchema({_safe(self.url)!r}, {self.schema!r})"

    def _new(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:  # the `postgis` extra
            msg = "PostgreSQL needs psycopg 3: pip install 'geosafe[postgis]'."
            raise ConfigurationError(msg) from exc
        try:
            con = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            msg = f"{self.what} at {_safe(self.url)!r} cannot be opened ({exc}); check the URL."
            raise StoreError(msg) from exc
        try:
            if not self._initialised:
                with self._lock:
                    if not self._initialised:
                        self._create(con)
                        self._initialised = True
            con.execute(f"SET search_path TO {self.schema}, public")
        except BaseException:
            con.close()
            raise
        return con

    def _create(self, con: Any) -> None:
        """Create the schema and its tables; a role without the rights to (a service or audit
        role of a locked-down database, see the README) uses them as their owner made them."""
        import psycopg

        lock = int.from_bytes(hashlib.sha256(self.schema.encode()).digest()[:8], "big", signed=True)
        try:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                con.execute(f"SET LOCAL search_path TO {self.schema}, public")
                con.execute(self.ddl.replace("{schema}", self.schema))
        except psycopg.errors.InsufficientPrivilege as exc:
            row = con.execute(
                "SELECT has_schema_privilege(current_user, nspname, 'USAGE') "
                "FROM pg_namespace WHERE nspname = %s",
                (self.schema,),
            ).fetchone()
            if row is not None and not row[0]:
                msg = (
                    f"this role may not use the {self.what}'s schema {self.schema!r}; connect "
                    "with the role it was granted to (`geosafe access-setup`)."
                )
                raise StoreError(msg) from exc
            if row is None:
                msg = (
                    f"the {self.what}'s schema {self.schema!r} does not exist and this role may "
                    f"not create it ({exc}); create it as the database owner (README: "
                    "PostGIS and several workers)."
                )
                raise StoreError(msg) from exc
            log.debug("%s: schema %s made by its owner (%s)", self.what, self.schema, exc)

    def _get(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._count < self.size
            if grow:
                self._count += 1
        if grow:
            try:
                return self._new()
            except BaseException:
                with self._lock:
                    self._count -= 1
                raise
        try:
            return self._idle.get(timeout=self.timeout_s)
        except queue.Empty:
            msg = (
                f"no connection to the {self.what} became free within {self.timeout_s:g} s "
                f"({self.size} in use); retry."
            )
            raise StoreError(msg) from None

    def _put(self, con: Any, *, broken: bool) -> None:
        if broken or con.closed:
            with contextlib.suppress(Exception):
                con.close()
            with self._lock:
                self._count -= 1
            return
        self._idle.put(con)

    @contextlib.contextmanager
    def connect(self) -> Iterator[_PgConnection]:
        """A pooled connection in autocommit mode (``?`` placeholders)."""
        import psycopg

        con = self._get()
        broken = False
        try:
            yield _PgConnection(con)
        except psycopg.OperationalError:
            broken = True
            raise
        finally:
            self._put(con, broken=broken)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_PgConnection]:
        """A pooled connection inside a transaction: committed on exit, rolled back on error."""
        with self.connect() as con, con.raw.transaction():
            yield con

    def close(self) -> None:
        """Close the idle connections."""
        closed = _close_idle(self._idle)
        with self._lock:
            self._count -= closed


def _close_idle(idle: queue.LifoQueue[Any]) -> int:
    closed = 0
    while True:
        try:
            con = idle.get_nowait()
        except queue.Empty:
            return closed
        with contextlib.suppress(Exception):
            con.close()
        closed += 1


def _safe(url: str) -> str:
    """A URL without its password (for messages)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_database(
    target: Path | str,
    *,
    sqlite_schema: str,
    pg_schema: str,
    pg_ddl: str,
    what: str,
    timeout_s: float = 10.0,
    durable: bool = True,
) -> SqliteFile | PgSchema:
    """The database named by ``target``: a PostgreSQL URL (``#schema`` after it overrides
    ``pg_schema``) or a SQLite path (``durable``: see :class:`SqliteFile`)."""
    if is_postgres(str(target)) and not isinstance(target, Path):
        url, _, schema = str(target).partition("#")
        return PgSchema(url, schema or pg_schema, pg_ddl, what=what, timeout_s=timeout_s)
    return SqliteFile(Path(target), sqlite_schema, what=what, timeout_s=timeout_s, durable=durable)

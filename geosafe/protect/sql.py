"""Dialect-light SQL on the store's database: SQLite (the embedded store) or PostgreSQL (a team
server's PostGIS store), through their DB-API drivers.

The tables of :mod:`geosafe.protect` use only what both dialects share: ``TEXT``,
``INTEGER``, ``DOUBLE PRECISION``, ``PRIMARY KEY``, ``CREATE TABLE IF NOT EXISTS``; ids are
assigned by the application (the next integer, retried on a clash) rather than by
``AUTOINCREMENT``/``SERIAL``; geometries are WKT text in EPSG:27700 (a PostGIS column can be
added beside it later); times are ISO 8601 text. Statements are written with ``?``
placeholders and rewritten to ``%s`` for psycopg.

One definition for both backends: the tables are written once, in the PostGIS migration that
creates them (``geosafe/store/migrations/0007_protect.sql``); a SQLite store runs the same
``CREATE TABLE`` statements (:func:`migration_tables`).

Which database: :func:`database_for` takes a store (anything with a ``path`` is SQLite; a
store with a ``url``/``dsn`` attribute, or a ``postgresql://`` URL, is PostgreSQL).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from .._errors import StoreError
from ..store import published_schema

__all__ = ["PROTECT_MIGRATION", "Database", "database_for", "migration_tables"]

_CREATE = re.compile(r"\s*CREATE TABLE IF NOT EXISTS (\w+)", re.IGNORECASE)
#: The PostGIS migration that defines the tables of :mod:`geosafe.protect`.
PROTECT_MIGRATION: Final = "0007_protect.sql"


def migration_tables(*tables: str) -> tuple[str, ...]:
    """The ``CREATE TABLE IF NOT EXISTS`` statements of ``tables`` in
    :data:`PROTECT_MIGRATION`: the one definition both backends create them from."""
    return published_schema.migration_tables(PROTECT_MIGRATION, *tables)


class Database:
    """A connection factory and its placeholder style."""

    def __init__(self, connect: Callable[[], Any], *, dialect: str, where: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"`dialect` {dialect!r} is not supported; use sqlite or postgresql.")
        self._connect = connect
        self.dialect = dialect
        self.where = where

    def sql(self, statement: str) -> str:
        """``statement`` with this driver's placeholders."""
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction (committed on success, rolled back on error)."""
        conn = self._connect()
        try:
            cur = conn.cursor()
            if self.dialect == "sqlite":
                cur.execute("BEGIN IMMEDIATE")
            yield cur
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def execute_script(self, statements: Sequence[str]) -> None:
        """Run DDL statements in one transaction; a ``CREATE TABLE IF NOT EXISTS`` of a table
        that exists is skipped (PostgreSQL checks the CREATE privilege on the schema before it
        looks: a team server's logins have none, the migrations made the tables)."""
        todo = [s for s in statements if not self._exists(s)]
        if not todo:
            return
        with self.transaction() as cur:
            for s in todo:
                cur.execute(s)

    def _exists(self, statement: str) -> bool:
        found = _CREATE.match(statement)
        if found is None:
            return False
        if self.dialect == "sqlite":
            return self.has_table(found.group(1))
        # by name, whatever this login may read (information_schema lists only those)
        return bool(self.query("SELECT to_regclass(?) IS NOT NULL", [found.group(1)])[0][0])

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read."""
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute(self.sql(statement), tuple(params))
            return [tuple(r) for r in cur.fetchall()]
        finally:
            conn.close()

    def has_table(self, name: str) -> bool:
        """Whether the table exists (reads never create tables: a read leaves the store as it was)."""
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = "SELECT 1 FROM information_schema.tables WHERE table_name = ?"
        return bool(self.query(sql, [name]))

    @property
    def integrity_errors(self) -> tuple[type[BaseException], ...]:
        """The driver's unique-key violation (an id taken by a concurrent writer)."""
        if self.dialect == "sqlite":
            return (sqlite3.IntegrityError,)
        import psycopg

        return (psycopg.errors.UniqueViolation,)


def _sqlite(path: Path) -> Database:
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=60.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 60000")
        # isolation_level=None: autocommit unless BEGIN; make commit/rollback explicit no-ops safe
        return _Explicit(conn)  # type: ignore[return-value]

    return Database(connect, dialect="sqlite", where=str(path))


class _Explicit:
    """An autocommit sqlite3 connection whose commit/rollback end the explicit BEGIN."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def cursor(self) -> sqlite3.Cursor:
        return self._conn.cursor()

    def commit(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


def _postgresql(url: str) -> Database:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the postgis extra
        msg = "a PostgreSQL store needs psycopg; install geosafe[postgis]."
        raise StoreError(msg) from exc

    def connect() -> Any:
        return psycopg.connect(url)

    return Database(connect, dialect="postgresql", where=url.split("@")[-1])


def database_for(store: Any) -> Database:
    """The database behind ``store``: a :class:`geosafe.store.Store` (SQLite, its ``path``), a
    PostGIS store (its ``url`` or ``dsn``), a ``postgresql://`` URL or a SQLite file path."""
    if isinstance(store, Database):
        return store
    if isinstance(store, str) and store.startswith(("postgresql://", "postgres://")):
        return _postgresql(store)
    for attr in ("url", "dsn"):
        value = getattr(store, attr, None)
        if isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
            return _postgresql(value)
    path = getattr(store, "path", store)
    if isinstance(path, str | Path):
        return _sqlite(Path(path))
    msg = f"`store` {store!r} is neither a SQLite store nor a PostgreSQL URL; pass `--db`."
    raise StoreError(msg)

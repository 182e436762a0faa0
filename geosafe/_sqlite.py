"""SQLite helpers shared by the incident store and the access databases (tokens, audit,
limits): a write transaction taken at once, and the switch to WAL that processes opening a
new file at the same moment race for."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["immediate", "switch_to_wal"]


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` on an autocommit connection (``isolation_level=None``): committed
    when the block ends, rolled back when it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def switch_to_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch a file to WAL. Several processes opening a new file at once race for the
    switch, and SQLite answers "database is locked" at once (no busy wait) to the losers:
    retry until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)

"""What the SQLite store adds for the shared interface (:mod:`geosafe.store.base`), kept
beside :mod:`geosafe.store.sqlite` so that module stays one concern under 800 lines."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

__all__ = ["SqliteInterface"]


class SqliteInterface:
    """``target``, ``query``, ``state_token`` and ``erase_person`` of the SQLite store."""

    path: Path
    _conn: sqlite3.Connection

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover
        raise NotImplementedError

    @property
    def target(self) -> str:
        """The database file, as a string (what :func:`geosafe.store.open_store` takes)."""
        return str(self.path)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement written for both backends (``?`` placeholders)."""
        return self._conn.execute(sql, tuple(params)).fetchall()

    def state_token(self) -> Any:
        """The file's and its WAL's modification time and size: they change with every write."""
        return tuple(_stat(p) for p in (self.path, Path(f"{self.path}-wal")))

    def erase_person(self, person_key: str) -> int:
        """Remove every link of one person (their re-keyed reference); return how many."""
        with self._tx() as c:
            n = c.execute("DELETE FROM people_links WHERE person_key = ?", (person_key,)).rowcount
        return int(n)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)

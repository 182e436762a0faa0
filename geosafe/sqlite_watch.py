"""Whether a SQLite file changed since the last look, across threads and processes.

``PRAGMA data_version`` on one long-lived connection changes whenever any other connection
(of this process or another) commits to the file; the file's inode changes when the file is
replaced. Together they are a cheap state token for caches of what the file holds (the
principals of a token database, the layers built from an incident store).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

__all__ = ["SqliteWatch"]


class SqliteWatch:
    """A state token of the SQLite file at ``path`` (never writes to it)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._con: sqlite3.Connection | None = None
        self._ino: int | None = None
        self._lock = threading.Lock()

    def state(self) -> tuple[int, int] | None:
        """``(inode, data_version)``; ``None`` when the file cannot be read."""
        with self._lock:
            try:
                ino = os.stat(self.path).st_ino
                if self._con is None or self._ino != ino:
                    if self._con is not None:
                        self._con.close()
                    self._con = sqlite3.connect(
                        self.path, check_same_thread=False, isolation_level=None, timeout=1.0
                    )
                    self._ino = ino
                (version,) = self._con.execute("PRAGMA data_version").fetchone()
            except (OSError, sqlite3.Error):
                return None
            return ino, int(version)

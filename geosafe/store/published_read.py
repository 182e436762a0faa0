"""The service's reader connection: what non-analyst requests read, and all they read.

A :class:`PublishedReader` queries only ``published_counts`` (and the store's change counter)
over its own connection: on PostGIS a login in the ``geosafe_reader`` role (which cannot read
incident rows at all), on SQLite the store file opened read-only. The same queries serve both
backends; :mod:`geosafe.publish.public_layers` builds every non-analyst layer from them.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._errors import StoreError
from .published import ALL_SOURCES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PublishedReader", "combine_sources", "open_reader"]

log = logging.getLogger(__name__)

_MONTHLY: Final = "length(period) = 7 AND substr(period, 6, 1) <> 'Q'"


class PublishedReader:
    """Read-only access to the published aggregates of one store.

    Parameters
    ----------
    target
        A SQLite store file (opened read-only: ``mode=ro``) or a ``postgresql://`` URL (give
        the URL of a login in ``geosafe_reader``).
    """

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self.pg = str(target).lower().startswith(("postgresql:", "postgres:"))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Any] = []  # every thread's connection, closed with the reader

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self.pg:
            import psycopg

            try:
                conn = psycopg.connect(str(self.target), autocommit=True)
            except psycopg.Error as exc:
                from .postgis import redact

                msg = (
                    f"cannot connect to the published-aggregates reader {redact(str(self.target))!r} "
                    f"({str(exc).strip()}); check `reader_db` / GEOSAFE_READER_DB."
                )
                raise StoreError(msg) from exc
        else:
            path = Path(self.target).resolve()
            if not path.exists():
                msg = f"store {str(path)!r} does not exist; check `--db` / GEOSAFE_DB."
                raise StoreError(msg)
            # used by this thread only; ``check_same_thread=False`` lets :meth:`close` (the
            # service's shutdown, another thread) close it
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self._local.conn = conn
        with self._lock:
            self._open.append(conn)
        return conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement (``?`` placeholders on both backends)."""
        conn = self._conn()
        if self.pg:
            return conn.execute(sql.replace("?", "%s"), tuple(params)).fetchall()  # type: ignore[no-any-return]
        return conn.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        """Close every connection of this reader."""
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            if not getattr(conn, "closed", False):
                conn.close()
        self._local = threading.local()

    def __del__(self) -> None:
        # the service keeps one reader for its life: its connections end with it, without
        # psycopg's warning (as the PostGIS store's do)
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    # -- what non-analyst layers ask -----------------------------------------------------
    def latest_month(self, sources: Sequence[str] = ()) -> str | None:
        """The latest month with any published row of ``sources`` (every source when empty)."""
        wanted = list(sources) or [ALL_SOURCES]
        marks = ", ".join("?" * len(wanted))
        rows = self.query(
            f"SELECT MAX(period) FROM published_counts WHERE {_MONTHLY} "
            f"AND time_window = 'all-day' AND source IN ({marks})",
            wanted,
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    def sources(self) -> set[str]:
        """The sources with any published row."""
        rows = self.query(
            f"SELECT DISTINCT source FROM published_counts WHERE source <> '{ALL_SOURCES}'"
        )
        return {str(r[0]) for r in rows}

    def counts(self, periods: Sequence[str], window: str, sources: Sequence[str]) -> pd.DataFrame:
        """Published counts of ``periods`` (keys of :func:`geosafe.store.published.periods_of`)
        in one time window, per period and cell, over ``sources`` (empty: every source, the
        ``*`` rows): ``period``, ``cell``, ``resolution``, ``count`` (float, NaN when
        suppressed), ``suppressed`` (see :func:`combine_sources`)."""
        import pandas as pd

        wanted = list(sources) or [ALL_SOURCES]
        cols = ["period", "cell", "resolution", "source", "count", "suppressed"]
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(periods), 200):
            chunk = list(periods[i : i + 200])
            rows = self.query(
                f"SELECT {', '.join(cols)} FROM published_counts WHERE period IN "
                f"({', '.join('?' * len(chunk))}) AND time_window = ? AND source IN "
                f"({', '.join('?' * len(wanted))})",
                [*chunk, window, *wanted],
            )
            out.extend(rows)
        frame = pd.DataFrame(out, columns=cols)
        frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype(float)
        frame["suppressed"] = frame["suppressed"].astype(bool)
        return combine_sources(frame)

    def monthly(self, window: str = "all-day", sources: Sequence[str] = ()) -> pd.DataFrame:
        """Every published month's counts per cell in one time window over ``sources`` (empty:
        the ``*`` rows), as :meth:`counts` gives them (``period`` is the month ``YYYY-MM``)."""
        import pandas as pd

        wanted = list(sources) or [ALL_SOURCES]
        cols = ["period", "cell", "resolution", "source", "count", "suppressed"]
        rows = self.query(
            f"SELECT {', '.join(cols)} FROM published_counts WHERE {_MONTHLY} "
            f"AND time_window = ? AND source IN ({', '.join('?' * len(wanted))})",
            [window, *wanted],
        )
        frame = pd.DataFrame(rows, columns=cols)
        frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype(float)
        frame["suppressed"] = frame["suppressed"].astype(bool)
        return combine_sources(frame)

    def has_table(self, name: str) -> bool:
        """Whether the store has table ``name`` (whatever this login may read of it)."""
        sql = (
            "SELECT to_regclass(?) IS NOT NULL"
            if self.pg
            else "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
        )
        return bool(self.query(sql, [name])[0][0])

    def state(self) -> Any:
        """The store's change counter as this connection sees it (PostGIS), else ``None``."""
        if not self.pg:
            return None
        row = self.query("SELECT generation FROM store_state")
        return int(row[0][0]) if row else 0


def combine_sources(frame: pd.DataFrame) -> pd.DataFrame:
    """Per period and cell, the sum of the published counts of each source asked for
    (suppressed ones count nothing): a sum of published numbers, so it says no more than
    they do. ``suppressed`` when every part was suppressed."""
    import numpy as np
    import pandas as pd

    cols = ["period", "cell", "resolution", "count", "suppressed"]
    if frame.empty:
        return pd.DataFrame({c: [] for c in cols})
    grouped = frame.assign(shown=frame["count"].fillna(0.0)).groupby(["period", "cell"], sort=True)
    out = grouped.agg(
        resolution=("resolution", "min"),
        count=("shown", "sum"),
        suppressed=("suppressed", "all"),
    ).reset_index()
    out["count"] = np.where(out["suppressed"], np.nan, out["count"].astype(float))
    return out[cols]


def open_reader(store: Path | str, reader: Path | str | None = None) -> PublishedReader:
    """The reader of ``store``'s published aggregates: ``reader`` (a URL of a login in
    ``geosafe_reader``) when given, else the SQLite store file read-only, else (a PostGIS
    store without a reader URL) the store's own URL, with a warning: non-analyst layers
    still read only the published table, but the database does not enforce it."""
    if reader is not None:
        return PublishedReader(reader)
    if str(store).lower().startswith(("postgresql:", "postgres:")):
        log.warning(
            "no GEOSAFE_READER_DB: non-analyst requests read the published aggregates over "
            "the store's own user; give them a login in `geosafe_reader` (README: PostGIS "
            "and several workers)"
        )
    return PublishedReader(store)

"""The incident store behind one small interface (:class:`~geosafe.store.base.IncidentStore`).

:class:`Store` is the embedded default: SQLite in WAL mode (:mod:`geosafe.store.sqlite`).
Team servers use PostgreSQL + PostGIS (:mod:`geosafe.store.postgis`). :func:`open_store`
picks the backend from ``--db`` / ``GEOSAFE_DB``: a ``postgresql://`` URL opens PostGIS,
anything else is a SQLite file.
"""

from __future__ import annotations

from pathlib import Path

from ._sqlite_rows import ref_keys
from .base import IncidentStore
from .postgis import is_url, redact
from .sqlite import _SCHEMA, ROW_COLUMNS, SCHEMA_VERSION, Batch, QuarantineRecord, Store

__all__ = [
    "ROW_COLUMNS",
    "SCHEMA_VERSION",
    "_SCHEMA",
    "Batch",
    "IncidentStore",
    "QuarantineRecord",
    "Store",
    "describe",
    "is_url",
    "open_store",
    "ref_keys",
]


def open_store(target: Path | str) -> IncidentStore:
    """Open the incident store named by ``target``.

    Parameters
    ----------
    target
        A ``postgresql://user@host:port/database`` URL (PostGIS, migrated on open) or the
        path of a SQLite file (created if missing).
    """
    if is_url(target):
        from .postgis import PostgisStore

        return PostgisStore(str(target))
    return Store(target)


def describe(target: Path | str) -> str:
    """``target`` for messages (a URL without its password)."""
    return redact(str(target)) if is_url(target) else str(target)

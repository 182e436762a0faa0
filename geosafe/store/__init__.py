"""The incident store behind one small interface.

:class:`Store` is the embedded default: SQLite in WAL mode (:mod:`geosafe.store.sqlite`).
Team servers use PostGIS behind the same interface (see :func:`open_store`, when present).
"""

from __future__ import annotations

from .sqlite import _SCHEMA, ROW_COLUMNS, SCHEMA_VERSION, Batch, QuarantineRecord, Store, ref_keys

__all__ = [
    "ROW_COLUMNS",
    "SCHEMA_VERSION",
    "_SCHEMA",
    "Batch",
    "QuarantineRecord",
    "Store",
    "ref_keys",
]

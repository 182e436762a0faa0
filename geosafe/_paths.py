"""Where the store and the data live: small path helpers without pydantic (start-up code
imports them from here; :mod:`geosafe.settings` re-exports them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

__all__ = ["DB_HINT", "beside_store", "default_data_dir", "is_db_url", "store_exists"]

#: How to name the store in a message about a missing or unusable one.
DB_HINT: Final = (
    "pass `--db PATH` (a SQLite file) or `--db postgresql://user@host:port/database` "
    "(PostGIS), or set GEOSAFE_DB"
)


def is_db_url(value: object) -> bool:
    """Whether ``value`` names a PostgreSQL database (``postgresql://...``), not a file."""
    return isinstance(value, str) and value.lower().startswith(("postgresql://", "postgres://"))


def store_exists(target: Path | str) -> bool:
    """Whether the store can be opened without creating it: a SQLite file that exists, or
    any PostGIS URL (the server says whether the database exists)."""
    return is_db_url(target) or Path(target).exists()


def beside_store(db: Path | str, suffix: str) -> Path:
    """A file that lives beside the store: ``<db><suffix>`` next to a SQLite file; for a
    PostGIS URL, ``geosafe-<database><suffix>`` in the working directory."""
    if is_db_url(db):
        name = str(db).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "geosafe"
        return Path(f"geosafe-{name}{suffix}")
    path = Path(db)
    return path.with_name(path.name + suffix)


def default_data_dir() -> Path:
    """The data folder: the area named by ``GEOSAFE_AREA`` (built by ``geosafe area build``;
    ``--area DIR`` sets it), else the bundled ``data/`` beside the ``geosafe`` package."""
    area = os.environ.get("GEOSAFE_AREA")
    if area:
        return Path(area)
    return Path(__file__).resolve().parent.parent / "data"

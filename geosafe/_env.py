"""The settings a command reads at start-up, without pydantic-settings when the environment
sets none of them (importing pydantic-settings costs ~0.15 s: most of a small import).

:func:`ingest_settings`, :func:`store_target` and :func:`audit_path` give what
:class:`geosafe.settings.IngestSettings` and :class:`geosafe.settings.StoreSettings` give:
when any variable those classes read is set (``GEOSAFE_INGEST_*``; ``GEOSAFE_DB``,
``GEOSAFE_AUDIT_DB``, ``GEOSAFE_RETENTION_DAYS``; any case, as pydantic-settings reads them),
the class itself parses it (same names, JSON fields and errors); otherwise the defaults,
which tests/ingest/test_light_settings.py holds equal to the classes' own.

"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._paths import DB_HINT, beside_store, is_db_url, store_exists

if TYPE_CHECKING:
    from .settings import IngestSettings

__all__ = [
    "DB_HINT",
    "IngestDefaults",
    "audit_path",
    "ingest_settings",
    "store_exists",
    "store_target",
]

#: The environment variables :class:`geosafe.settings.StoreSettings` reads.
STORE_VARIABLES: Final = ("GEOSAFE_DB", "GEOSAFE_AUDIT_DB", "GEOSAFE_RETENTION_DAYS")
INGEST_PREFIX: Final = "GEOSAFE_INGEST_"


def _set(*names: str, prefix: str | None = None) -> bool:
    """Whether any of these variables (or any with ``prefix``) is set, in any case."""
    wanted = {n.upper() for n in names}
    return any(
        k.upper() in wanted or (prefix is not None and k.upper().startswith(prefix))
        for k in os.environ
    )


def store_target(value: Path | str | None = None) -> Path | str:
    """The incident store to open: ``value`` (``--db``), else ``GEOSAFE_DB``, else
    ``geosafe.db``; a ``postgresql://`` URL stays a string, anything else is a path."""
    if value and not _set(*STORE_VARIABLES):
        return value if is_db_url(value) else Path(str(value))
    if not value and not _set(*STORE_VARIABLES):
        return Path("geosafe.db")
    from .settings import store_target as read_settings

    return read_settings(value)


def audit_path(db: Path | str) -> Path | str:
    """The audit database of the store at ``db``
    (:meth:`geosafe.settings.StoreSettings.audit_path`)."""
    if not _set(*STORE_VARIABLES):
        return str(db) if is_db_url(db) else beside_store(db, ".audit.sqlite")
    from .settings import StoreSettings

    return StoreSettings(db=db).audit_path()


@dataclass(frozen=True)
class IngestDefaults:
    """:class:`geosafe.settings.IngestSettings` with every field at its default (what an
    import reads when no ``GEOSAFE_INGEST_*`` variable is set), without pydantic."""

    encoding: str = "utf-8"
    datetime_formats: Mapping[str, str] = field(default_factory=dict)
    column_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    code_lists: Mapping[str, list[str]] = field(default_factory=dict)
    max_text_length: int = 4000
    aoi_margin_m: float = 250.0
    writer_min_mb: float = 32.0

    def model_copy(self, *, update: Mapping[str, Any]) -> IngestDefaults:
        """A copy with some fields replaced (as pydantic's ``model_copy``)."""
        return dataclasses.replace(self, **update)


def ingest_settings() -> IngestSettings | IngestDefaults:
    """The import settings: :class:`geosafe.settings.IngestSettings` when a
    ``GEOSAFE_INGEST_*`` variable is set (it parses and checks them), else
    :class:`IngestDefaults`."""
    if not _set(prefix=INGEST_PREFIX):
        return IngestDefaults()
    from .settings import IngestSettings

    return IngestSettings()

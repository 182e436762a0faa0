"""Settings of the HTTP service (pydantic-settings, ``GEOSAFE_`` prefix).

Read when :class:`ServiceSettings` is instantiated, never at import. ``geosafe serve`` builds
one and passes it to :func:`api.create_app`; tests build their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geosafe.settings import default_data_dir, is_db_url

__all__ = ["ServiceSettings"]


def _default_web_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "web"


class ServiceSettings(BaseSettings):
    """How the API and map page are served.

    Every field can be set from the environment with the ``GEOSAFE_`` prefix, e.g.
    ``GEOSAFE_DB=out/demo/geosafe.db`` or ``GEOSAFE_MAX_PAGE_SIZE=500``.
    """

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: The incident store: a SQLite file or a ``postgresql://`` URL (PostGIS); ``--db``
    #: overrides.
    db: Path | str = Field(default=Path("geosafe.db"))

    @field_validator("db", mode="before")
    @classmethod
    def _url_or_path(cls, value: object) -> Path | str:
        return value if is_db_url(value) else Path(str(value))  # type: ignore[return-value]

    #: Where non-analyst requests read the published aggregates, and nothing else
    #: (``GEOSAFE_READER_DB``): on PostGIS the URL of a login in the ``geosafe_reader`` role,
    #: which cannot read incident rows at all. ``None``: a SQLite store's file opened
    #: read-only; a PostGIS store's own URL (with a warning).
    reader_db: Path | str | None = None

    @field_validator("reader_db", mode="before")
    @classmethod
    def _reader_url_or_path(cls, value: object) -> Path | str | None:
        if value is None or value == "" or is_db_url(value):
            return value or None  # type: ignore[return-value]
        return Path(str(value))

    #: The bundled reference data (boundaries, streets, stops, schools).
    data_dir: Path = Field(default_factory=default_data_dir)
    #: The browser page and its vendored assets (``web/``, with ``node_modules/leaflet``).
    web_dir: Path = Field(default_factory=_default_web_dir)
    #: Where computed rasters, downloads and job results are written.
    work_dir: Path = Field(default=Path("out/service"))
    #: Largest page of features the OGC API returns; larger ``limit`` values are clamped.
    max_page_size: int = Field(default=1000, ge=1, le=100_000)
    #: Page size when the client gives no ``limit``.
    default_page_size: int = Field(default=100, ge=1, le=100_000)
    #: Computed layers kept in memory (least recently used dropped first).
    cache_size: int = Field(default=64, ge=0, le=10_000)
    #: Seconds without a request in flight before freed C heap is given back to the system
    #: (glibc ``malloc_trim``; :mod:`api.idle`); 0 never does.
    idle_trim_s: float = Field(default=1.0, ge=0.0, le=3600.0)
    #: Where layers are built: ``process`` (one child process, started on the first build
    #: and stopped after ``builder_idle_s`` idle seconds, so the serving process never loads
    #: pandas, geopandas or scipy to page features: :mod:`geosafe.publish.builder`) or
    #: ``inline`` (in the serving process). A PostGIS store, or a store object given to
    #: :func:`api.create_app`, is always built inline.
    layer_builder: Literal["process", "inline"] = "process"
    #: Idle seconds before the layer builder's child process exits (0: it stays).
    builder_idle_s: float = Field(default=60.0, ge=0.0, le=86400.0)
    #: Whether the demo banner says the confidential sources are synthetic.
    synthetic_data: bool = True
    #: Background job workers.
    job_workers: int = Field(default=1, ge=1, le=16)
    #: Worker processes of ``geosafe serve`` (each builds the app from these settings; they
    #: share the store, tokens, sessions and limits through the databases).
    workers: int = Field(default=1, ge=1, le=64)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

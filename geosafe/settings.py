"""Typed settings (pydantic-settings), one class per concern, ``GEOSAFE_`` environment prefix.

Settings are read when a class is instantiated, never at import. The CLI and ``api`` build
them once and pass them down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# the small path helpers are light (no pydantic): start-up code imports them from there
from ._paths import DB_HINT, beside_store, default_data_dir, is_db_url, store_exists

__all__ = [
    "DB_HINT",
    "CalendarSettings",
    "DataSettings",
    "IngestSettings",
    "ProfileSettings",
    "ReportSettings",
    "RollSettings",
    "StoreSettings",
    "beside_store",
    "default_data_dir",
    "is_db_url",
    "store_exists",
    "store_target",
]


def store_target(value: Path | str | None = None) -> Path | str:
    """The incident store to open: ``value`` (``--db``), else ``GEOSAFE_DB``, else
    ``geosafe.db``; a ``postgresql://`` URL stays a string, anything else is a path
    (:func:`geosafe._env.store_target` skips pydantic when no variable is set)."""
    return StoreSettings(db=value).db if value else StoreSettings().db  # type: ignore[arg-type]


class StoreSettings(BaseSettings):
    """Where the incident store and the audit log live."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: The incident store: a SQLite file, or a PostGIS database as a
    #: ``postgresql://user@host:port/database`` URL. ``--db`` overrides, else ``GEOSAFE_DB``.
    db: Path | str = Field(default=Path("geosafe.db"))
    #: Audit log (its own SQLite file so a running import never blocks it), or a PostgreSQL
    #: URL (schema ``geosafe_audit``; give it a role of its own). Default: beside a SQLite
    #: store, ``<db>.audit.sqlite``; a PostGIS store's own database.
    audit_db: Path | str | None = None
    #: Incidents older than this many days are removed by ``geosafe purge``.
    retention_days: int = Field(default=6 * 365, ge=1)

    @field_validator("db", mode="before")
    @classmethod
    def _url_or_path(cls, value: object) -> Path | str:
        return value if is_db_url(value) else Path(str(value))  # type: ignore[return-value]

    @field_validator("audit_db", mode="before")
    @classmethod
    def _audit_url_or_path(cls, value: object) -> Path | str | None:
        if value is None or is_db_url(value):
            return value  # type: ignore[return-value]
        return Path(str(value))

    def audit_path(self) -> Path | str:
        """The audit database: a path, or a PostgreSQL URL (a PostGIS store's own database
        unless ``audit_db`` names another)."""
        if self.audit_db is not None:
            return self.audit_db
        if is_db_url(self.db):
            return str(self.db)
        return beside_store(self.db, ".audit.sqlite")


class DataSettings(BaseSettings):
    """The bundled reference data (boundaries, postcodes, stops, schools, OSM, GTFS)."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    #: Area of interest for imports; ``None`` means Greater London (union of the boroughs).
    aoi: Path | None = None


class IngestSettings(BaseSettings):
    """How imports read files. Per-source options are keyed by source name."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_INGEST_", extra="ignore")

    #: Text encoding of CSV inputs: ``utf-8`` (a BOM is accepted) or ``cp1252``.
    encoding: str = "utf-8"
    #: One extra explicit timestamp format per source, e.g. ``{"dir": "%d/%m/%Y %H:%M"}``.
    datetime_formats: dict[str, str] = Field(default_factory=dict)
    #: Column map per source: ``{"dir": {"Incident Ref": "dir_ref"}}`` (local -> standard).
    column_maps: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: Allow-lists of codes per source (``cause_code``, ``category``, ``offence_code``);
    #: only when set are unknown codes quarantined.
    code_lists: dict[str, list[str]] = Field(default_factory=dict)
    #: Longest accepted free-text field, characters.
    max_text_length: int = Field(default=4000, ge=16)
    #: How far outside the area of interest a point may lie and still be accepted, metres
    #: (police.uk snaps points to piers and bridges just beyond a boundary drawn along a river
    #: bank). ``GEOSAFE_INGEST_AOI_MARGIN_M``; ``geosafe import --aoi-margin M`` overrides.
    aoi_margin_m: float = Field(default=250.0, ge=0.0)
    #: Smallest police.uk file (MB) whose rows a SQLite store writes from a second process
    #: while the import checks the next chunk (``geosafe.store._sqlite_writer``); below it
    #: starting that process costs about what it saves. ``GEOSAFE_INGEST_WRITER_MIN_MB``.
    writer_min_mb: float = Field(default=32.0, ge=0.0)


class CalendarSettings(BaseSettings):
    """The school calendar used by the school-run time window (``geosafe.calendar``)."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: Term-date CSV (``academic_year,term,start,end,half_term_start,half_term_end``);
    #: ``None`` is the bundled typical London calendar. ``--calendar FILE`` overrides.
    calendar: Path | None = None


class ProfileSettings(BaseSettings):
    """People across sources and flag groups (``geosafe overlap``, ``flags``, ``profile``).

    The person key re-keys every ``person_ref`` (HMAC-SHA-256) before it reaches the store; it
    is held outside the store so that a copy of the store alone joins to nothing. Give it as a
    file readable by its owner only (``GEOSAFE_PERSON_KEY_FILE``, mode 0600, at least 16 bytes)
    or as ``GEOSAFE_PERSON_KEY`` (at least 16 characters).
    """

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: File holding the person key (mode 0600); its bytes, stripped of outer whitespace.
    person_key_file: Path | None = None
    #: The person key itself (when no key file is used).
    person_key: str | None = Field(default=None, repr=False)
    #: Flag groups: name -> flag names (without ``flag_``); a record or person counts in a
    #: group when any of its flags is Y.
    flag_groups: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "peer-on-peer abuse": [
                "cse",
                "serious_youth_violence",
                "harmful_sexual_behaviour",
                "sexual_bullying",
                "gangs",
            ]
        }
    )


class RollSettings(BaseSettings):
    """Where school rolls are kept (:mod:`geosafe.rolls`)."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: Folder of the roll files (``<URN>.csv``), ``GEOSAFE_ROLLS_DIR``. ``None``:
    #: ``<db>.rolls`` beside the store.
    rolls_dir: Path | None = None


class ReportSettings(BaseSettings):
    """Printing reports to PDF (``geosafe profile``): the headless browser used."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: Chromium executable (a name on ``PATH`` or a path), ``GEOSAFE_CHROMIUM``. ``None``:
    #: the first of ``chromium``, ``chromium-browser``, ``google-chrome`` on ``PATH``.
    chromium: str | None = None

"""Typed settings (pydantic-settings), one class per concern, ``GEOSAFE_`` environment prefix.

Settings are read when a class is instantiated, never at import. The CLI and ``api`` build
them once and pass them down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "CalendarSettings",
    "DataSettings",
    "IngestSettings",
    "StoreSettings",
    "default_data_dir",
]


def default_data_dir() -> Path:
    """The bundled dataset: ``data/`` beside the ``geosafe`` package (the project root)."""
    return Path(__file__).resolve().parent.parent / "data"


class StoreSettings(BaseSettings):
    """Where the incident store and the audit log live."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: SQLite incident store. ``--db`` overrides, else ``GEOSAFE_DB``.
    db: Path = Field(default=Path("geosafe.db"))
    #: Audit log (its own SQLite file so a running import never blocks it). Default: beside
    #: the store, ``<db>.audit.sqlite``.
    audit_db: Path | None = None
    #: Incidents older than this many days are removed by ``geosafe purge``.
    retention_days: int = Field(default=6 * 365, ge=1)

    def audit_path(self) -> Path:
        """The audit database path."""
        return self.audit_db or self.db.with_name(self.db.name + ".audit.sqlite")


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


class CalendarSettings(BaseSettings):
    """The school calendar used by the school-run time window (``geosafe.calendar``)."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: Term-date CSV (``academic_year,term,start,end,half_term_start,half_term_end``);
    #: ``None`` is the bundled typical London calendar. ``--calendar FILE`` overrides.
    calendar: Path | None = None

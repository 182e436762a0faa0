"""The one internal record every source maps to: the :class:`Incident`.

Readers (``geosafe.sources``) yield :class:`Incident` objects; the store keeps them; analyses
read them back as a :class:`geopandas.GeoDataFrame` whose columns are :data:`FRAME_COLUMNS`
and whose geometry is in EPSG:27700 (British National Grid, metres).

Conventions
-----------
- ``incident_id`` is ``"{source}:{source_ref}"``; for police.uk rows without a Crime ID
  (anti-social behaviour) the reader makes a stable ref from the row's content hash.
- ``occurred_from``/``occurred_to`` are timezone-aware ``Europe/London`` timestamps. A point in
  time has ``occurred_to == occurred_from``; police.uk months are ``[month start, next month
  start)``; CRIS committed-from/to is the interval given. ``time_precision`` says how much of
  the clock time is known: ``minute``, ``day`` or ``month``. Time-of-day filters (the school
  run) only ever select incidents whose ``time_precision`` is ``minute``.
- ``flags`` is a sorted tuple of lower-case flag names from :data:`FLAG_NAMES` that are *true*.
- ``geometry`` is a Point or, for an incident known only along a stretch of bus route, a
  LineString (EPSG:27700), or ``None`` when the row had no usable location ("no location").
- ``precision_m`` is the radius (metres) within which the true location lies, by
  ``geocode_method`` (:data:`PRECISION_M` gives the defaults).
- ``h3_cell`` is the cell at the finest resolution whose average edge length is at least
  ``precision_m`` (clamped to 7..12): see :func:`geosafe.geocode.h3cells.resolution_for_precision`.
- ``detail`` holds the source-specific fields (description, FAP referral fields, victim age...)
  as a JSON-serialisable dict. It can hold personal data: it never leaves the analyst role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pandas as pd
from shapely.geometry.base import BaseGeometry

__all__ = [
    "CRS_BNG",
    "CRS_WGS84",
    "FLAG_NAMES",
    "FRAME_COLUMNS",
    "GEOCODE_METHODS",
    "PRECISION_M",
    "SOURCES",
    "Incident",
]

CRS_BNG: Final = "EPSG:27700"
CRS_WGS84: Final = "EPSG:4326"

Source = Literal["dir", "asif", "cris", "fap", "police_uk", "people"]
SOURCES: Final[tuple[str, ...]] = ("dir", "asif", "cris", "fap", "police_uk", "people")

GeocodeMethod = Literal[
    "coordinates", "police_uk", "stop", "postcode", "street", "place", "ward", "route", "none"
]
GEOCODE_METHODS: Final[tuple[str, ...]] = (
    "coordinates",
    "police_uk",
    "stop",
    "postcode",
    "street",
    "place",
    "ward",
    "route",
    "none",
)

#: Default precision (metres) by geocode method. ``place`` uses the place's own extent when
#: known (a park's equivalent radius); ``route`` uses half the stretch's length.
PRECISION_M: Final[dict[str, float]] = {
    "coordinates": 10.0,
    "police_uk": 100.0,
    "stop": 30.0,
    "postcode": 100.0,
    "street": 300.0,
    "place": 250.0,
    "ward": 1000.0,
    "route": 500.0,
}

#: Every flag name an incident can carry (lower case). DIR: youth, vulnerability. CRIS: youth,
#: gang, domestic, sexual, weapon, hate, online. FAP: the referral flags without ``flag_``.
FLAG_NAMES: Final[tuple[str, ...]] = (
    "youth",
    "vulnerability",
    "gang",
    "domestic",
    "sexual",
    "weapon",
    "hate",
    "online",
    "cse",
    "serious_youth_violence",
    "gangs",
    "harmful_sexual_behaviour",
    "missing_education",
    "childrens_social_care",
    "domestic_abuse",
    "sexual_bullying",
    "missing_home",
)

#: Columns of the incident GeoDataFrame returned by the store (geometry last, EPSG:27700).
FRAME_COLUMNS: Final[tuple[str, ...]] = (
    "incident_id",
    "source",
    "source_ref",
    "batch_id",
    "occurred_from",
    "occurred_to",
    "time_precision",
    "category",
    "flags",
    "route",
    "stop_code",
    "school_urn",
    "precision_m",
    "geocode_method",
    "location_text",
    "h3_cell",
    "lon",
    "lat",
    "weight",
    "detail",
    "geometry",
)


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident, whatever its source.

    Geometry is EPSG:27700; ``lon``/``lat`` are the WGS84 coordinates of its representative
    point (the point itself, or the midpoint of a route stretch).
    """

    source: str
    source_ref: str
    occurred_from: pd.Timestamp
    occurred_to: pd.Timestamp
    time_precision: Literal["minute", "day", "month"]
    category: str
    flags: tuple[str, ...] = ()
    route: str | None = None
    stop_code: str | None = None
    school_urn: str | None = None
    geometry: BaseGeometry | None = None
    lon: float | None = None
    lat: float | None = None
    precision_m: float | None = None
    geocode_method: str = "none"
    location_text: str | None = None
    h3_cell: str | None = None
    weight: float = 1.0
    detail: dict[str, Any] = field(default_factory=dict)
    batch_id: int | None = None

    @property
    def incident_id(self) -> str:
        """Stable id: ``"{source}:{source_ref}"``."""
        return f"{self.source}:{self.source_ref}"

    @property
    def has_location(self) -> bool:
        """Whether the incident was placed on the map."""
        return self.geometry is not None

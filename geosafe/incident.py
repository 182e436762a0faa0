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

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "CRS_BNG",
    "CRS_WGS84",
    "FLAG_NAMES",
    "FRAME_COLUMNS",
    "GEOCODE_METHODS",
    "INCIDENT_COLUMNS",
    "PRECISION_M",
    "ROW_COLUMNS",
    "SOURCES",
    "Incident",
    "rows_to_frame",
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

#: The incident schema, written once: the fields of an :class:`Incident` as columns, in order.
#: The analysis frame (:data:`FRAME_COLUMNS`) and the store's staged rows (:data:`ROW_COLUMNS`)
#: both take their names from it; they differ only in how a value is held (a frame holds
#: ``occurred_from`` as a Europe/London timestamp and ``geometry`` as a shapely object, a row
#: holds epoch seconds and the geometry's bounds plus WKB).
INCIDENT_COLUMNS: Final[tuple[str, ...]] = (
    "source",
    "source_ref",
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
)

#: Columns of the incident GeoDataFrame returned by the store (geometry last, EPSG:27700).
FRAME_COLUMNS: Final[tuple[str, ...]] = (
    "incident_id",
    *INCIDENT_COLUMNS[:2],
    "batch_id",
    *INCIDENT_COLUMNS[2:],
    "geometry",
)

#: Columns of a staged incident row (what the ingest pipeline hands
#: :meth:`geosafe.store.Store.stage`): the incident's columns with times in UTC epoch seconds,
#: the geometry as its bounds (EPSG:27700; a point has ``minx == maxx``) and, for a line, its
#: WKB, plus the import's bookkeeping (``row_no``, ``row_hash``, ``current``).
ROW_COLUMNS: Final[tuple[str, ...]] = (
    *INCIDENT_COLUMNS[:2],
    "row_no",
    *INCIDENT_COLUMNS[2:16],
    "minx",
    "miny",
    "maxx",
    "maxy",
    "geom_wkb",
    *INCIDENT_COLUMNS[16:],
    "row_hash",
    "current",
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


def rows_to_frame(df: pd.DataFrame) -> gpd.GeoDataFrame:
    """Stored or staged rows (:data:`ROW_COLUMNS` + ``batch_id``) to the incident
    GeoDataFrame (:data:`FRAME_COLUMNS`, EPSG:27700)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    n = len(df)
    t_from = pd.to_datetime(df["occurred_from"].astype(float), unit="s", utc=True).dt.tz_convert(
        "Europe/London"
    )
    t_to = pd.to_datetime(df["occurred_to"].astype(float), unit="s", utc=True).dt.tz_convert(
        "Europe/London"
    )
    geoms = np.full(n, None, dtype=object)
    minx = df["minx"].to_numpy(dtype=float, na_value=np.nan)
    miny = df["miny"].to_numpy(dtype=float, na_value=np.nan)
    point = np.isfinite(minx) & df["geom_wkb"].isna().to_numpy()
    if point.any():
        geoms[point] = shapely.points(minx[point], miny[point])
    wkb = ~df["geom_wkb"].isna().to_numpy()
    if wkb.any():
        geoms[wkb] = shapely.from_wkb(df["geom_wkb"].to_numpy(dtype=object)[wkb])
    codes, uniques = pd.factorize(df["flags"].fillna("").to_numpy(dtype=object))
    parsed_flags = [tuple(u.split(";")) if u else () for u in uniques]
    flags = pd.Series([parsed_flags[i] for i in codes], index=df.index, dtype=object)
    # details repeat (police.uk: per LSOA and outcome): parse each distinct text once and give
    # every row its own shallow copy
    codes, uniques = pd.factorize(df["detail"].fillna("").to_numpy(dtype=object))
    parsed = [json.loads(u) if isinstance(u, str) and u else {} for u in uniques]
    detail = pd.Series([dict(parsed[i]) for i in codes], index=df.index, dtype=object)
    out = pd.DataFrame(
        {
            "incident_id": (df["source"].astype(str) + ":" + df["source_ref"].astype(str)).astype(
                object
            ),
            "source": df["source"].astype(object),
            "source_ref": df["source_ref"].astype(object),
            "batch_id": pd.to_numeric(df["batch_id"]).astype("Int64"),
            "occurred_from": t_from,
            "occurred_to": t_to,
            "time_precision": df["time_precision"].astype(object),
            "category": df["category"].astype(object),
            "flags": flags.astype(object),
            "route": df["route"].astype(object),
            "stop_code": df["stop_code"].astype(object),
            "school_urn": df["school_urn"].astype(object),
            "precision_m": df["precision_m"].astype(float),
            "geocode_method": df["geocode_method"].astype(object),
            "location_text": df["location_text"].astype(object),
            "h3_cell": df["h3_cell"].astype(object),
            "lon": df["lon"].astype(float),
            "lat": df["lat"].astype(float),
            "weight": df["weight"].astype(float),
            "detail": detail.astype(object),
        }
    )
    gdf = gpd.GeoDataFrame(
        out, geometry=gpd.GeoSeries(geoms, crs=CRS_BNG, index=out.index), crs=CRS_BNG
    )
    return gdf[list(FRAME_COLUMNS)]


class StagedRows:
    """Staged rows (:data:`ROW_COLUMNS`) as columns, without pandas: what the police.uk
    import hands :meth:`geosafe.store.Store.stage` (which also takes a DataFrame).

    Each column is a numpy array of :attr:`n` values, or one value for every row (a column
    such as ``source`` or ``time_precision``: the SQLite store writes it as a literal). An
    optional ``ref_key`` column carries :func:`geosafe.store.ref_keys` of ``source_ref``
    when the caller already has it.
    """

    __slots__ = ("columns", "factorized", "n")

    def __init__(
        self,
        columns: dict[str, Any],
        n: int,
        *,
        factorized: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> None:
        self.columns = columns
        self.n = n
        #: Columns also given as (a code per row, distinct values): ``values[codes]`` is
        #: the column (``detail``: the store keeps each distinct text once).
        self.factorized = factorized or {}

    def __len__(self) -> int:
        return self.n

    @property
    def empty(self) -> bool:
        """No row."""
        return self.n == 0

    def is_constant(self, name: str) -> bool:
        """Whether the column holds one value for every row (given as that value)."""
        return not isinstance(self.columns[name], np.ndarray)

    def values(self, name: str) -> np.ndarray:
        """The column as an array of :attr:`n` values."""
        v = self.columns[name]
        if isinstance(v, np.ndarray):
            return v
        return np.full(self.n, v, dtype=float if isinstance(v, float) else object)

    def take(self, mask: np.ndarray) -> StagedRows:
        """The rows under a boolean ``mask``."""
        return StagedRows(
            {k: v[mask] if isinstance(v, np.ndarray) else v for k, v in self.columns.items()},
            int(np.count_nonzero(mask)),
            factorized={k: (c[mask], u) for k, (c, u) in self.factorized.items()},
        )

    def assign(self, **columns: Any) -> StagedRows:
        """A copy with these columns set."""
        kept = {k: v for k, v in self.factorized.items() if k not in columns}
        return StagedRows({**self.columns, **columns}, self.n, factorized=kept)

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with :data:`ROW_COLUMNS` (imports pandas)."""
        import pandas as pd

        return pd.DataFrame({c: self.values(c) for c in ROW_COLUMNS}, index=range(self.n))

    @classmethod
    def of(cls, rows: StagedRows | pd.DataFrame) -> StagedRows:
        """``rows`` as :class:`StagedRows` (a DataFrame's columns taken as arrays)."""
        if isinstance(rows, StagedRows):
            return rows
        import pandas as pd

        out: dict[str, Any] = {}
        for c in ROW_COLUMNS:
            arr = rows[c].to_numpy()
            if arr.dtype.kind == "O":  # missing values as None (what SQLite binds as NULL)
                arr = arr.copy()
                arr[pd.isna(arr)] = None
            out[c] = arr
        if "ref_key" in rows.columns:
            out["ref_key"] = rows["ref_key"].to_numpy()
        return cls(out, len(rows))

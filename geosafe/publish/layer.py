"""A published layer (:class:`Layer`): one feature collection for one set of parameters,
kept in EPSG:27700 (for downloads) and as ready-serialised RFC 7946 GeoJSON features (WGS84
lon/lat, 6 decimals, counter-clockwise exteriors) with their bounds and time intervals, so
paging, ``bbox`` and ``datetime`` filtering cost array operations only.

:class:`LayerSource` is what a layer builder needs of the service (the filtered incidents,
the period, the cache), so builders never import the service that calls them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .._errors import ConfigurationError
from ..incident import CRS_BNG, CRS_WGS84
from .catalogue import COLLECTIONS, AnalysisParams

__all__ = [
    "COORD_DECIMALS",
    "Layer",
    "LayerSource",
    "is_synthetic",
    "jsonable",
    "make_layer",
    "to_geojson_features",
]

#: Decimal places of published WGS84 coordinates (~0.1 m).
COORD_DECIMALS: Final = 6
SYNTHETIC_SOURCES: Final = frozenset({"dir", "asif", "cris", "fap"})


def _to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _BNG_TO_WGS84.transform(x, y)  # type: ignore[no-any-return]


_BNG_TO_WGS84: Final = Transformer.from_crs(CRS_BNG, CRS_WGS84, always_xy=True)
_TO_WGS84: Final = _to_wgs84


def is_synthetic(gdf: pd.DataFrame) -> bool:
    """Whether an incident frame holds any synthetic (demo) record."""
    return bool(len(gdf)) and bool(gdf["source"].isin(SYNTHETIC_SOURCES).any())


class LayerSource(Protocol):
    """What a layer builder needs of the layer service
    (:class:`geosafe.publish.service.LayerService`)."""

    data_dir: Path
    store_path: Path | str | None

    @property
    def store(self) -> Any: ...

    def store_state(self) -> Hashable: ...

    @property
    def published(self) -> Any: ...  # the reader of the published aggregates

    def public_state(self) -> Hashable: ...

    def all_incidents(self) -> gpd.GeoDataFrame: ...

    def incidents(self, params: AnalysisParams) -> gpd.GeoDataFrame: ...

    def period(self, params: AnalysisParams) -> tuple[dt.date | None, dt.date | None]: ...

    def memo(self, key: tuple[Hashable, ...], build: Callable[[], Any]) -> Any: ...

    def layer(
        self, collection: str, params: AnalysisParams = ..., *, principal: Any = None
    ) -> Layer: ...


@dataclass(frozen=True)
class Layer:
    """A published feature collection for one set of parameters.

    ``frame`` is EPSG:27700, indexed by the feature id (text), its columns the properties.
    ``features`` are the RFC 7946 GeoJSON features (serialised), in ``frame`` order; ``bounds``
    their WGS84 ``(minlon, minlat, maxlon, maxlat)``; ``t0``/``t1`` their time intervals
    (UTC nanoseconds, ``None`` when the collection has no time).
    """

    collection: str
    title: str
    frame: gpd.GeoDataFrame
    features: list[str]
    ids: list[str]
    bounds: np.ndarray
    t0: np.ndarray | None
    t1: np.ndarray | None
    params: AnalysisParams
    synthetic: bool
    notes: str = ""
    index: dict[str, int] = field(default_factory=dict)
    #: EPSG:27700 bounds of the features (``n × 4``), for boxes given in British National Grid.
    bounds_bng: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))

    @property
    def extent(self) -> tuple[float, float, float, float] | None:
        """WGS84 bounding box of every feature, or ``None`` when empty."""
        if len(self.bounds) == 0:
            return None
        b = self.bounds
        return (
            float(np.nanmin(b[:, 0])),
            float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])),
            float(np.nanmax(b[:, 3])),
        )

    @property
    def interval(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """Earliest start and latest end of the features' time intervals (UTC)."""
        if self.t0 is None or self.t1 is None or len(self.t0) == 0:
            return (None, None)
        return (
            pd.Timestamp(int(self.t0.min()), tz="UTC"),
            pd.Timestamp(int(self.t1.max()), tz="UTC"),
        )

    def select(
        self,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        interval: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None,
        bbox_crs: str = "CRS84",
    ) -> np.ndarray:
        """Positions of the features intersecting ``bbox`` (WGS84 lon/lat, or EPSG:27700
        metres with ``bbox_crs="EPSG:27700"``) and a time ``interval`` (open ends as ``None``;
        features without time always match)."""
        keep = np.ones(len(self.ids), dtype=bool)
        if bbox is not None and len(keep):
            x0, y0, x1, y1 = bbox
            b = self.bounds_bng if bbox_crs == CRS_BNG else self.bounds
            keep &= (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
            keep &= self._intersects_exactly(keep, (x0, y0, x1, y1), bbox_crs)
        if interval is not None and self.t0 is not None and self.t1 is not None:
            lo, hi = interval
            if hi is not None:
                keep &= self.t0 <= hi.value
            if lo is not None:
                keep &= self.t1 >= lo.value
        return np.flatnonzero(keep)

    def _intersects_exactly(
        self, candidates: np.ndarray, box: tuple[float, float, float, float], box_crs: str
    ) -> np.ndarray:
        """Of the features whose bounding rectangle meets ``box``, those whose geometry does
        (OGC API - Features: ``bbox`` selects the features whose geometry intersects the
        box). Points and rectangles inside the box need no test; the others are compared in
        the box's CRS (lon/lat features as published, or EPSG:27700)."""
        out = candidates.copy()
        x0, y0, x1, y1 = box
        b = self.bounds_bng if box_crs == CRS_BNG else self.bounds
        inside = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1)
        point = (b[:, 0] == b[:, 2]) & (b[:, 1] == b[:, 3])
        check = np.flatnonzero(candidates & ~inside & ~point)
        if len(check) == 0:
            return out
        geoms = np.asarray(self.frame.geometry.array, dtype=object)[check]
        if box_crs != CRS_BNG:
            geoms = shapely.transform(geoms, _TO_WGS84, interleaved=False)
        out[check] = shapely.intersects(geoms, shapely.box(x0, y0, x1, y1))
        return out


# ---------------------------------------------------------------------------------------------
# GeoJSON


def jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, tuple | list | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is pd.NaT:
        return None
    return value


def to_geojson_features(frame: gpd.GeoDataFrame, ids: list[str]) -> tuple[list[str], np.ndarray]:
    """Serialise a frame as RFC 7946 features: WGS84 lon/lat rounded to 6 decimals,
    counter-clockwise exterior rings, ids as strings.

    Returns the serialised features and their WGS84 bounds (``n × 4``).
    """
    geoms = frame.geometry.to_crs(CRS_WGS84).array if len(frame) else np.array([], dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    has = ~shapely.is_missing(geoms) if len(geoms) else np.array([], dtype=bool)
    rounded = geoms.copy()
    if has.any():
        rounded[has] = shapely.transform(geoms[has], lambda xy: np.round(xy, COORD_DECIMALS))
        rounded[has] = shapely.orient_polygons(rounded[has], exterior_cw=False)
    bounds = shapely.bounds(rounded) if len(rounded) else np.zeros((0, 4))
    texts = shapely.to_geojson(rounded) if len(rounded) else np.array([], dtype=object)
    props = frame.drop(columns=frame.geometry.name)
    records = props.to_dict(orient="records")
    out = []
    for fid, geom_text, rec in zip(ids, texts, records, strict=True):
        geom = "null" if geom_text is None else geom_text
        properties = json.dumps({k: jsonable(v) for k, v in rec.items()}, ensure_ascii=False)
        out.append(
            f'{{"type":"Feature","id":{json.dumps(fid)},"geometry":{geom},'
            f'"properties":{properties}}}'
        )
    return out, np.asarray(bounds, dtype=float).reshape(-1, 4)


def make_layer(
    collection: str,
    frame: gpd.GeoDataFrame,
    params: AnalysisParams,
    *,
    synthetic: bool,
    times: tuple[pd.Series, pd.Series] | None = None,
    notes: str = "",
) -> Layer:
    if frame.crs is None or not frame.crs.equals(CRS_BNG):
        frame = frame.to_crs(CRS_BNG)
    ids = [str(i) for i in frame.index]
    if len(set(ids)) != len(ids):
        msg = f"layer {collection!r} has duplicate feature ids; this is a bug in its builder."
        raise ConfigurationError(msg)
    features, bounds = to_geojson_features(frame, ids)
    t0 = t1 = None
    if times is not None:
        t0 = _utc_ns(times[0])
        t1 = _utc_ns(times[1])
    return Layer(
        collection=collection,
        title=COLLECTIONS[collection].title,
        frame=frame,
        features=features,
        ids=ids,
        bounds=bounds,
        t0=t0,
        t1=t1,
        params=params,
        synthetic=synthetic,
        notes=notes,
        index={fid: i for i, fid in enumerate(ids)},
        bounds_bng=np.asarray(frame.geometry.bounds.to_numpy(), dtype=float).reshape(-1, 4),
    )


def _utc_ns(series: pd.Series) -> np.ndarray:
    s = pd.to_datetime(series, utc=True).dt.as_unit("ns")
    return np.asarray(s.astype("int64"), dtype=np.int64)

"""A published layer (:class:`Layer`): one feature collection for one set of parameters,
kept in EPSG:27700 (for downloads) and as ready-serialised RFC 7946 GeoJSON features (WGS84
lon/lat, 6 decimals, counter-clockwise exteriors) with their bounds and time intervals, so
paging, ``bbox`` and ``datetime`` filtering cost array operations only.

A layer built in another process (:mod:`geosafe.publish.builder`) arrives with its frame
packed (:meth:`Layer.packed`): the features, bounds, times and the geometries the exact
``bbox`` test needs are plain arrays, so serving them imports neither pandas nor geopandas;
the frame is unpacked on first use (downloads, legends).

:class:`LayerSource` is what a layer builder needs of the service (the filtered incidents,
the period, the cache), so builders never import the service that calls them.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import sys
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import shapely

from .._errors import ConfigurationError
from ..incident import CRS_BNG, CRS_WGS84
from .catalogue import COLLECTIONS, AnalysisParams

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "COORD_DECIMALS",
    "Layer",
    "LayerSource",
    "PackedFrame",
    "geojson_text",
    "is_synthetic",
    "jsonable",
    "make_layer",
    "to_geojson_features",
]

#: Decimal places of published WGS84 coordinates (~0.1 m).
COORD_DECIMALS: Final = 6
SYNTHETIC_SOURCES: Final = frozenset({"dir", "asif", "cris", "fap"})


def is_synthetic(gdf: pd.DataFrame) -> bool:
    """Whether an incident frame holds any synthetic (demo) record."""
    return bool(len(gdf)) and bool(gdf["source"].isin(SYNTHETIC_SOURCES).any())


class PackedFrame:
    """A layer's frame pickled (a layer built in another process): unpacked once, on first
    use, so a server that only pages features never imports geopandas for it."""

    __slots__ = ("_data", "_frame", "_lock")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._frame: Any = None
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedFrame, (self._data,))

    def unpack(self) -> gpd.GeoDataFrame:
        with self._lock:
            if self._frame is None:
                self._frame = pickle.loads(self._data)
            return self._frame


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


@dataclass(frozen=True, eq=False)
class Layer:
    """A published feature collection for one set of parameters.

    ``frame`` is EPSG:27700, indexed by the feature id (text), its columns the properties.
    ``features`` are the RFC 7946 GeoJSON features (serialised), in ``frame`` order; ``bounds``
    their WGS84 ``(minlon, minlat, maxlon, maxlat)``; ``t0``/``t1`` their time intervals
    (UTC nanoseconds, ``None`` when the collection has no time). ``shapes`` and
    ``shapes_bng`` hold the geometries of the features that are not points (``None`` for a
    point): as published (WGS84, rounded) and in EPSG:27700, for the exact ``bbox`` test.
    """

    collection: str
    title: str
    frame_data: Any  # the frame (a GeoDataFrame), or a PackedFrame of it
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
    shapes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    shapes_bng: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """The layer as an EPSG:27700 frame (unpacked on first use when built elsewhere)."""
        data = self.frame_data
        return data.unpack() if isinstance(data, PackedFrame) else data

    def packed(self) -> Layer:
        """This layer with its frame pickled (:class:`PackedFrame`), to send to another
        process: everything ``select`` and the items need stays plain arrays."""
        if isinstance(self.frame_data, PackedFrame):
            return self
        data = pickle.dumps(self.frame_data, protocol=pickle.HIGHEST_PROTOCOL)
        return replace(self, frame_data=PackedFrame(data))

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
    def interval(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """Earliest start and latest end of the features' time intervals (UTC, to the
        microsecond)."""
        if self.t0 is None or self.t1 is None or len(self.t0) == 0:
            return (None, None)
        return (_utc(int(self.t0.min())), _utc(int(self.t1.max())))

    def select(
        self,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        interval: tuple[Any, Any] | None = None,
        bbox_crs: str = "CRS84",
    ) -> np.ndarray:
        """Positions of the features intersecting ``bbox`` (WGS84 lon/lat, or EPSG:27700
        metres with ``bbox_crs="EPSG:27700"``) and a time ``interval`` (UTC
        ``pandas.Timestamp`` ends, open ends as ``None``; features without time always
        match)."""
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
        the box's CRS: as published (WGS84 lon/lat, 6 decimals, what the client draws) or in
        EPSG:27700."""
        out = candidates.copy()
        x0, y0, x1, y1 = box
        b = self.bounds_bng if box_crs == CRS_BNG else self.bounds
        inside = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1)
        point = (b[:, 0] == b[:, 2]) & (b[:, 1] == b[:, 3])
        check = np.flatnonzero(candidates & ~inside & ~point)
        if len(check) == 0:
            return out
        geoms = (self.shapes_bng if box_crs == CRS_BNG else self.shapes)[check]
        out[check] = shapely.intersects(geoms, shapely.box(x0, y0, x1, y1))
        return out


def _utc(ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)


# ---------------------------------------------------------------------------------------------
# GeoJSON


def geojson_text(layer: Layer) -> str:
    """The whole layer as one RFC 7946 FeatureCollection."""
    return '{"type":"FeatureCollection","features":[' + ",".join(layer.features) + "]}"


def jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    pd = sys.modules.get("pandas")  # no pandas loaded: no pandas value can be here
    if pd is not None and isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, tuple | list | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if pd is not None and value is pd.NaT:
        return None
    return value


def to_geojson_features(frame: gpd.GeoDataFrame, ids: list[str]) -> tuple[list[str], np.ndarray]:
    """Serialise a frame as RFC 7946 features: WGS84 lon/lat rounded to 6 decimals,
    counter-clockwise exterior rings, ids as strings.

    Returns the serialised features and their WGS84 bounds (``n × 4``).
    """
    features, bounds, _ = _features(frame, ids)
    return features, bounds


def _features(frame: gpd.GeoDataFrame, ids: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The features, their WGS84 bounds, and their geometries as published."""
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
    return out, np.asarray(bounds, dtype=float).reshape(-1, 4), rounded


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
    features, bounds, published = _features(frame, ids)
    bounds_bng = np.asarray(frame.geometry.bounds.to_numpy(), dtype=float).reshape(-1, 4)
    t0 = t1 = None
    if times is not None:
        t0 = _utc_ns(times[0])
        t1 = _utc_ns(times[1])
    return Layer(
        collection=collection,
        title=COLLECTIONS[collection].title,
        frame_data=frame,
        features=features,
        ids=ids,
        bounds=bounds,
        t0=t0,
        t1=t1,
        params=params,
        synthetic=synthetic,
        notes=notes,
        index={fid: i for i, fid in enumerate(ids)},
        bounds_bng=bounds_bng,
        shapes=_unless_point(published, bounds),
        shapes_bng=_unless_point(np.asarray(frame.geometry.array, dtype=object), bounds_bng),
    )


def _unless_point(geoms: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``geoms`` with ``None`` for every point (a point's bounds decide the ``bbox`` test),
    so a layer of points keeps no second copy of them."""
    out = np.full(len(geoms), None, dtype=object)
    if len(geoms):
        keep = ~((bounds[:, 0] == bounds[:, 2]) & (bounds[:, 1] == bounds[:, 3]))
        out[keep] = np.asarray(geoms, dtype=object)[keep]
    return out


def _utc_ns(series: pd.Series) -> np.ndarray:
    import pandas as pd

    s = pd.to_datetime(series, utc=True).dt.as_unit("ns")
    return np.asarray(s.astype("int64"), dtype=np.int64)

"""The layers the service publishes: one feature collection per id, computed from the store,
the bundled reference data and the hotspot and journey engines.

A :class:`LayerService` builds a :class:`Layer` for a collection id and a set of
:class:`AnalysisParams` (filters, period and method parameters) and caches it, keyed by the
parameters and the state of the store (the store file's size and modification time), so a
re-import invalidates every computed layer. A :class:`Layer` keeps its features in EPSG:27700
(for downloads) and as ready-serialised RFC 7946 GeoJSON features (WGS84 lon/lat, 6 decimals,
counter-clockwise exteriors) with their lon/lat bounds and time intervals, so paging, ``bbox``
and ``datetime`` filtering cost array operations only.

The default parameters are the school run over the last 12 months of data (the 365 days up
to the latest incident that passes the other filters).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import datasets
from ._errors import ConfigurationError, NotFoundError, ValidationError
from .incident import CRS_BNG, CRS_WGS84, FLAG_NAMES, FRAME_COLUMNS, SOURCES

__all__ = [
    "COLLECTIONS",
    "DEFAULT_PARAMS",
    "AnalysisParams",
    "CollectionSpec",
    "IncidentStore",
    "Layer",
    "LayerService",
    "to_geojson_features",
]

log = logging.getLogger(__name__)

#: Decimal places of published WGS84 coordinates (~0.1 m).
COORD_DECIMALS: Final = 6
_SYNTHETIC_SOURCES: Final = frozenset({"dir", "asif", "cris", "fap"})


class IncidentStore(Protocol):
    """What the service needs of :class:`geosafe.store.Store`."""

    def incidents(
        self,
        *,
        sources: Any = None,
        bbox: Any = None,
        start: Any = None,
        end: Any = None,
        with_location: bool = True,
    ) -> gpd.GeoDataFrame: ...


@dataclass(frozen=True)
class AnalysisParams:
    """Filters, period and method parameters of a computed layer.

    Parameters
    ----------
    preset
        Named time window from :data:`geosafe.filters.PRESETS` (``"school-run"``: weekdays
        07:30-09:30 and 14:45-18:00 in term time) or ``None`` for all day.
    sources, categories, flags
        Keep incidents of these sources / categories / with any of these flags (empty: all).
    start, end
        The period analysed (dates, inclusive). ``None``: the 12 months up to the latest
        incident.
    bandwidth_m
        Kernel bandwidth, metres (the support radius of the quartic kernel, σ of the Gaussian).
    cell_m
        Density grid cell size, metres.
    kernel
        ``"quartic"`` or ``"gaussian"``.
    top_pct
        Hotspot polygons cover the densest ``top_pct`` percent of the grid's non-zero area.
    eps_m, min_samples
        DBSCAN neighbourhood radius (metres) and minimum points per cluster.
    resolution
        H3 resolution of ``h3-cells`` and ``emerging-cells`` (7..10).
    school
        School URN of ``journey-corridors`` (``None``: every demo-area school).
    """

    preset: str | None = "school-run"
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    bandwidth_m: float = 250.0
    cell_m: float = 25.0
    kernel: str = "quartic"
    top_pct: float = 5.0
    eps_m: float = 150.0
    min_samples: int = 5
    resolution: int = 9
    school: str | None = None

    def __post_init__(self) -> None:
        for name in self.sources:
            if name not in SOURCES:
                msg = f"`sources` {name!r} is not a source; use one of {', '.join(SOURCES)}."
                raise ValidationError(msg)
        for name in self.flags:
            if name not in FLAG_NAMES:
                msg = f"`flags` {name!r} is not a flag; use one of {', '.join(FLAG_NAMES)}."
                raise ValidationError(msg)
        if self.kernel not in ("quartic", "gaussian"):
            msg = f"`kernel` {self.kernel!r} is not supported; use 'quartic' or 'gaussian'."
            raise ValidationError(msg)
        _check_range("bandwidth_m", self.bandwidth_m, 10.0, 5000.0)
        _check_range("cell_m", self.cell_m, 5.0, 1000.0)
        _check_range("top_pct", self.top_pct, 0.1, 100.0)
        _check_range("eps_m", self.eps_m, 5.0, 5000.0)
        _check_range("min_samples", self.min_samples, 2, 1000)
        _check_range("resolution", self.resolution, 7, 10)
        if self.start is not None and self.end is not None and self.start > self.end:
            msg = f"`start` {self.start.isoformat()!r} is after `end` {self.end.isoformat()!r}; swap them."
            raise ValidationError(msg)

    def key(self) -> tuple[Hashable, ...]:
        """A hashable key of every field."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def only(self, names: tuple[str, ...]) -> AnalysisParams:
        """These parameters with every field not in ``names`` reset to its default, so layers
        that ignore a parameter share one cache entry."""
        return replace(DEFAULT_PARAMS, **{n: getattr(self, n) for n in names if n in _PARAM_NAMES})


def replace_params(params: AnalysisParams, **changes: Any) -> AnalysisParams:
    """``params`` with some fields changed (validated again)."""
    return replace(params, **changes)


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        msg = f"`{name}` {value!r} is out of range; pass a value between {lo:g} and {hi:g}."
        raise ValidationError(msg)


DEFAULT_PARAMS: Final = AnalysisParams()
_PARAM_NAMES: Final = frozenset(f.name for f in fields(AnalysisParams))
_FILTER_PARAMS: Final = ("preset", "sources", "categories", "flags", "start", "end")


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
        if interval is not None and self.t0 is not None and self.t1 is not None:
            lo, hi = interval
            if hi is not None:
                keep &= self.t0 <= hi.value
            if lo is not None:
                keep &= self.t1 >= lo.value
        return np.flatnonzero(keep)


@dataclass(frozen=True)
class CollectionSpec:
    """What a collection is and which parameters it takes."""

    id: str
    title: str
    description: str
    params: tuple[str, ...]
    roles: tuple[str, ...] = ("analyst", "school", "neighbourhood")
    geometry: str = "Polygon"
    temporal: bool = False


_METHOD_KDE = ("bandwidth_m", "cell_m", "kernel", "top_pct")
COLLECTIONS: Final[dict[str, CollectionSpec]] = {
    s.id: s
    for s in (
        CollectionSpec(
            "incidents",
            "Incidents",
            "Every incident passing the filters and period, EPSG:27700 points or route "
            "stretches; analyst role only (personal data).",
            _FILTER_PARAMS,
            roles=("analyst",),
            geometry="Point",
            temporal=True,
        ),
        CollectionSpec(
            "hotspots-kde",
            "Kernel density hotspots",
            "Polygons around the densest `top_pct` percent of a kernel density surface of the "
            "filtered incidents (incidents per km²).",
            _FILTER_PARAMS + _METHOD_KDE,
        ),
        CollectionSpec(
            "clusters",
            "DBSCAN clusters",
            "Convex hulls of DBSCAN clusters of the filtered incidents (eps in metres).",
            (*_FILTER_PARAMS, "eps_m", "min_samples"),
        ),
        CollectionSpec(
            "h3-cells",
            "H3 cell counts and Getis-Ord Gi*",
            "Incident counts per H3 cell with the Gi* z-score and hot/cold class (FDR 5%).",
            (*_FILTER_PARAMS, "resolution"),
        ),
        CollectionSpec(
            "emerging-cells",
            "Emerging hotspots",
            "H3 cells classed by the trend of their monthly Gi* (Mann-Kendall): new, "
            "intensifying, persistent, diminishing...",
            (*_FILTER_PARAMS, "resolution"),
        ),
        CollectionSpec(
            "schools",
            "Secondary schools",
            "Secondary schools of the demo area (DfE GIAS, current URNs).",
            (),
            geometry="Point",
        ),
        CollectionSpec(
            "bus-stops",
            "Bus stops",
            "TfL bus stops of the demo area (2025).",
            (),
            geometry="Point",
        ),
        CollectionSpec(
            "journey-corridors",
            "Journey corridors",
            "Walking corridors to each school from its pupils' home postcodes, with the "
            "exposure (incidents per km² along the way) of each stretch.",
            (*_FILTER_PARAMS, "bandwidth_m", "cell_m", "kernel", "school"),
            geometry="LineString",
        ),
    )
}


def spec(collection: str) -> CollectionSpec:
    """The collection's :class:`CollectionSpec`."""
    try:
        return COLLECTIONS[collection]
    except KeyError:
        msg = f"collection {collection!r} does not exist; use one of {', '.join(COLLECTIONS)}."
        raise NotFoundError(msg) from None


# ---------------------------------------------------------------------------------------------
# GeoJSON


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, tuple | list | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
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
        properties = json.dumps({k: _jsonable(v) for k, v in rec.items()}, ensure_ascii=False)
        out.append(
            f'{{"type":"Feature","id":{json.dumps(fid)},"geometry":{geom},'
            f'"properties":{properties}}}'
        )
    return out, np.asarray(bounds, dtype=float).reshape(-1, 4)


def _make_layer(
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


# ---------------------------------------------------------------------------------------------
# The service


class LayerService:
    """Builds and caches the published layers.

    Parameters
    ----------
    data_dir
        The bundled reference data.
    store
        The incident store (:class:`geosafe.store.Store` or anything with its ``incidents``
        method), or a zero-argument callable returning it (opened on first use).
    store_path
        The store's file; its size and modification time key the cache. ``None``: the cache
        is keyed by ``state_token()`` of the store if it has one.
    cache_size
        Layers kept (least recently used dropped first).
    """

    def __init__(
        self,
        data_dir: Path,
        store: IncidentStore | Callable[[], IncidentStore] | None,
        *,
        store_path: Path | None = None,
        cache_size: int = 64,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._store_arg = store
        self._local = threading.local()
        self.store_path = store_path
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()
        self._lock = threading.RLock()
        self._building: dict[tuple[Hashable, ...], threading.Lock] = {}
        self._frame_cache: tuple[Hashable, gpd.GeoDataFrame] | None = None

    # -- store ---------------------------------------------------------------------------------

    @property
    def store(self) -> IncidentStore:
        """The incident store; opened on first use in each thread when the service was given
        an opener (SQLite connections belong to the thread that made them)."""
        arg = self._store_arg
        if arg is None:
            msg = "no incident store is configured; pass `--db PATH` or set GEOSAFE_DB."
            raise ConfigurationError(msg)
        if hasattr(arg, "incidents"):
            return arg  # type: ignore[return-value]
        store: IncidentStore | None = getattr(self._local, "store", None)
        if store is None:
            store = arg()  # type: ignore[operator]
            self._local.store = store
        return store

    def store_state(self) -> Hashable:
        """A token that changes whenever the store's content may have changed."""
        arg = self._store_arg
        if arg is not None and not hasattr(arg, "incidents"):
            # open this thread's store first: opening writes to the WAL, which would change
            # the token between a request's cache lookup and its build
            _ = self.store
        parts: list[Hashable] = []
        if self.store_path is not None:
            for p in (self.store_path, Path(f"{self.store_path}-wal")):
                try:
                    st = p.stat()
                except OSError:
                    parts.append(None)
                else:
                    parts.append((st.st_mtime_ns, st.st_size))
        token = getattr(self._store_arg, "state_token", None)
        if callable(token):
            parts.append(token())
        return tuple(parts)

    def collection_state(self, collection: str) -> Hashable:
        """A token that changes whenever the inputs of ``collection`` may have changed: the
        store, and for ``journey-corridors`` also the uploaded school rolls
        (:func:`geosafe.rolls.rolls_state`)."""
        if collection != "journey-corridors":
            return self.store_state()
        from .rolls import rolls_state

        return (self.store_state(), rolls_state(self.store_path))

    def all_incidents(self) -> gpd.GeoDataFrame:
        """Every located incident in the store (cached per store state)."""
        state = self.store_state()
        with self._lock:
            if self._frame_cache is not None and self._frame_cache[0] == state:
                return self._frame_cache[1]
        gdf = self.store.incidents(with_location=True)
        gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
        with self._lock:
            self._frame_cache = (state, gdf)
        return gdf

    def has_synthetic(self) -> bool:
        """Whether the store holds any synthetic (demo) records."""
        try:
            return _synthetic(self.all_incidents())
        except ConfigurationError:
            return False

    def incidents(self, params: AnalysisParams) -> gpd.GeoDataFrame:
        """The located incidents passing the filters, in the period (EPSG:27700)."""
        from .filters import IncidentFilter

        gdf = self.all_incidents()
        start, end = self.period(params)
        flt = IncidentFilter(
            sources=params.sources or None,
            categories=params.categories or None,
            flags=params.flags or None,
            from_date=start,
            to_date=end,
            preset=params.preset,
        )
        return flt.apply(gdf)

    def period(self, params: AnalysisParams) -> tuple[dt.date | None, dt.date | None]:
        """The analysed period (local dates, inclusive): the given dates; one given date and
        the 365 days after (``start``) or before (``end``) it; neither: the 365 days up to the
        latest incident of the chosen sources."""
        start, end = params.start, params.end
        year = dt.timedelta(days=364)
        if start is not None and end is not None:
            return start, end
        if start is not None:
            return start, start + year
        if end is None:
            gdf = self.all_incidents()
            if params.sources:
                gdf = gdf[gdf["source"].isin(params.sources)]
            if len(gdf) == 0:
                return None, None
            latest = pd.to_datetime(gdf["occurred_from"], utc=True).max()
            end = latest.tz_convert("Europe/London").date()
        return end - year, end

    # -- layers --------------------------------------------------------------------------------

    def memo(self, key: tuple[Hashable, ...], build: Callable[[], Any]) -> Any:
        """``build()`` once per ``key`` (least recently used entries dropped first); concurrent
        callers of one key wait for a single build."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            build_lock = self._building.setdefault(key, threading.Lock())
        with build_lock:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = build()
            with self._lock:
                if self.cache_size:
                    self._cache[key] = value
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
                self._building.pop(key, None)
        return value

    def layer(
        self,
        collection: str,
        params: AnalysisParams = DEFAULT_PARAMS,
        *,
        principal: Any = None,
    ) -> Layer:
        """The layer of ``collection`` for ``params`` as ``principal`` may see it (built once
        per parameters, store state and, outside the analyst role, the principal's scope).

        ``principal`` ``None`` or an analyst: the full layer. A school or neighbourhood
        principal gets the disclosure-controlled view (:mod:`geosafe.privacy`): densities from
        cell-aggregated inputs, counts rounded and small ones suppressed, H3 no finer than
        resolution 8, clusters of 10+ only, clipped to a neighbourhood's area.
        """
        sp = spec(collection)
        params = params.only(sp.params)
        role = getattr(principal, "role", None)
        public = role is not None and role != "analyst"
        if public and collection == "incidents":
            from ._errors import AccessDeniedError

            msg = f"collection 'incidents' is for the analyst role only (this token is {role!r})."
            raise AccessDeniedError(msg)
        if public and params.resolution > _MAX_PUBLIC_RES:
            params = replace(params, resolution=_MAX_PUBLIC_RES)
        scope = scope_key(principal) if public else None
        state = self.collection_state(collection) if sp.params else None
        key = ("layer", collection, params.key(), state, scope)

        def build() -> Layer:
            log.info("building layer %s %s (%s)", collection, params, role or "full")
            if public:
                return _public_layer(self, collection, params, principal)
            return _BUILDERS[collection](self, params)

        layer: Layer = self.memo(key, build)
        return layer

    def clear(self) -> None:
        """Drop every cached layer."""
        with self._lock:
            self._cache.clear()
            self._frame_cache = None


# ---------------------------------------------------------------------------------------------
# Builders


def _synthetic(gdf: pd.DataFrame) -> bool:
    return bool(len(gdf)) and bool(gdf["source"].isin(_SYNTHETIC_SOURCES).any())


def _build_schools(svc: LayerService, params: AnalysisParams) -> Layer:
    gdf = datasets.schools(svc.data_dir, demo_only=True)
    cols = [c for c in ("urn", "name", "address", "postcode", "pupils") if c in gdf.columns]
    frame = gdf[[*cols, "geometry"]].copy()
    frame.index = pd.Index(frame["urn"].astype(str), name="id")
    frame = frame[~frame.index.duplicated()]
    return _make_layer("schools", frame, params, synthetic=False)


def _build_bus_stops(svc: LayerService, params: AnalysisParams) -> Layer:
    df = datasets.bus_stops(svc.data_dir)
    df = df[df["in_demo_area"] & (df["Location_Easting"] > 0) & (df["Location_Northing"] > 0)]
    frame = gpd.GeoDataFrame(
        {
            "stop_code": df["Stop_Code_LBSL"].to_numpy(),
            "naptan_atco": df["Naptan_Atco"].to_numpy(),
            "name": df["Stop_Name"].to_numpy(),
        },
        geometry=gpd.points_from_xy(df["Location_Easting"], df["Location_Northing"]),
        crs=CRS_BNG,
    )
    ids = np.where(frame["naptan_atco"] != "", frame["naptan_atco"], frame["stop_code"])
    frame.index = pd.Index(ids.astype(str), name="id")
    frame = frame[~frame.index.duplicated()]
    return _make_layer("bus-stops", frame, params, synthetic=False)


#: Properties of the ``incidents`` collection: every frame column but the id, the batch, the
#: WGS84 copy of the geometry and the free-text ``detail``.
_INCIDENT_PROPS: Final = tuple(
    c
    for c in FRAME_COLUMNS
    if c not in ("incident_id", "batch_id", "lon", "lat", "detail", "geometry")
)


def _build_incidents(svc: LayerService, params: AnalysisParams) -> Layer:
    gdf = svc.incidents(params).sort_values(["occurred_from", "incident_id"])
    frame = gdf[[*_INCIDENT_PROPS, "geometry"]].copy()
    frame["flags"] = frame["flags"].map(lambda f: ";".join(f) if f else "")
    frame["occurred_from"] = pd.to_datetime(frame["occurred_from"], utc=True)
    frame["occurred_to"] = pd.to_datetime(frame["occurred_to"], utc=True)
    frame.index = pd.Index(gdf["incident_id"].astype(str), name="id")
    return _make_layer(
        "incidents",
        frame,
        params,
        synthetic=_synthetic(gdf),
        times=(frame["occurred_from"], frame["occurred_to"]),
    )


# -- analytic layers ----------------------------------------------------------------------------

_MAX_PUBLIC_RES: Final = 8


def scope_key(principal: Any) -> Hashable:
    """What a principal's view of a layer depends on (role, school, area); cache outputs by it."""
    return (
        getattr(principal, "role", None),
        getattr(principal, "school_urn", None),
        tuple(getattr(principal, "area_codes", ()) or ()),
        getattr(principal, "token_id", None)
        if getattr(principal, "area", None) is not None
        else None,
    )


def _public_layer(
    svc: LayerService, collection: str, params: AnalysisParams, principal: Any
) -> Layer:
    from . import privacy

    if collection == "hotspots-kde":
        from .hotspot_layers import kde_layer

        full = kde_layer(svc, params, public=True)
    elif collection == "journey-corridors":  # street stretches would trace home routes
        from .corridors import corridor_cells

        if principal.role == "school" and principal.school_urn in set(
            datasets.schools(svc.data_dir, demo_only=True)["urn"].astype(str)
        ):  # a school's own corridors only (the other schools' are filtered out below)
            params = replace(params, school=principal.school_urn)
        full = corridor_cells(svc, params)
    else:
        full = svc.layer(collection, params)
    frame = full.frame
    if collection == "clusters":
        frame = privacy.publish_clusters(frame.rename_axis("id"), count_column="n_incidents")
    if collection == "journey-corridors":
        frame = frame[frame["pupils"].astype(float) >= privacy.SUPPRESS_BELOW]
        if principal.role == "school":  # never another school's pupils' journeys
            frame = frame[frame["school_urn"].astype(str) == str(principal.school_urn)]
        frame = (
            privacy.clip_to_scope(principal, frame) if principal.role == "neighbourhood" else frame
        )
    reference = collection in ("schools", "bus-stops")
    published = privacy.publish_features(principal, collection, frame, reference=reference)
    if collection in ("h3-cells", "clusters", "emerging-cells") and "density" in published:
        # density × area would give back the exact count: derive it from the published one
        counts = next((c for c in ("count", "n_incidents") if c in published.columns), None)
        area_km2 = published.geometry.area.to_numpy() / 1e6
        published["density"] = (
            published[counts].astype(float).to_numpy() / area_km2 if counts else np.nan
        )
    if collection == "h3-cells" and "gi_z" in published.columns and len(published):
        published = _public_gi_star(published)
    for col, places in (("gi_z", 1), ("gi_p", 2)):
        # coarse statistics: exact z-scores of many neighbouring cells could be solved back
        # towards the exact counts they were computed from
        if col in published.columns:
            published[col] = published[col].astype(float).round(places)
    return _make_layer(
        collection, published, params, synthetic=full.synthetic, notes="disclosure-controlled"
    )


#: Value given to a suppressed count (1-9) when Gi* is recomputed from published counts.
_SUPPRESSED_AS = 5.0


def _public_gi_star(published: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Gi* recomputed from the published (rounded, suppressed) counts, so that the public
    z-scores carry nothing the public counts do not: exact z-scores of neighbouring cells
    could otherwise be solved back to the exact counts. Suppressed cells count as
    ``_SUPPRESSED_AS`` (the middle of 1-9)."""
    from .hotspots.gistar import gi_star

    counts = published[["cell", "count"]].rename(columns={"cell": "h3_cell"}).copy()
    counts["count"] = counts["count"].astype(float).fillna(_SUPPRESSED_AS)
    counts = gpd.GeoDataFrame(counts, geometry=published.geometry.to_numpy(), crs=published.crs)
    gi = gi_star(counts, permutations=GI_PUBLIC_PERMUTATIONS, seed=0)
    out = published.copy()
    out["gi_z"] = gi["gi_z"].to_numpy(dtype=float)
    out["gi_p"] = gi["gi_p"].to_numpy(dtype=float)
    if "hotspot" in out.columns:
        out["hotspot"] = gi["gi_class"].astype(str).to_numpy()
    return out


#: Permutations for the public Gi* (same as the analyst layer's default).
GI_PUBLIC_PERMUTATIONS = 0  # analytic Gi* p-values (hotspots helper, issue 11)


def _lazy(module: str, name: str) -> Callable[[LayerService, AnalysisParams], Layer]:
    def build(svc: LayerService, params: AnalysisParams) -> Layer:
        import importlib

        fn: Callable[[LayerService, AnalysisParams], Layer] = getattr(
            importlib.import_module(f"geosafe.{module}"), name
        )
        return fn(svc, params)

    return build


_BUILDERS: dict[str, Callable[[LayerService, AnalysisParams], Layer]] = {
    "schools": _build_schools,
    "bus-stops": _build_bus_stops,
    "incidents": _build_incidents,
    "hotspots-kde": _lazy("hotspot_layers", "kde_layer"),
    "h3-cells": _lazy("hotspot_layers", "h3_layer"),
    "clusters": _lazy("hotspot_layers", "cluster_layer"),
    "emerging-cells": _lazy("hotspot_layers", "emerging_layer"),
    "journey-corridors": _lazy("corridors", "corridor_layer"),
}


def register_builder(collection: str) -> Callable[[Callable[..., Layer]], Callable[..., Layer]]:
    """Register the builder of a collection (used by :mod:`geosafe._analytic_layers`)."""
    spec(collection)

    def deco(fn: Callable[..., Layer]) -> Callable[..., Layer]:
        _BUILDERS[collection] = fn
        return fn

    return deco


def describe_params() -> Mapping[str, str]:
    """One line per parameter with its default, for documentation and the OpenAPI schema."""
    return {
        "preset": "time window: school-run (default), all-day, evenings... or 'none'",
        "sources": "comma-separated sources (dir, asif, cris, fap, police_uk); default all",
        "categories": "comma-separated categories; default all",
        "flags": "comma-separated flags (any of them); default all",
        "start": "first day of the period (YYYY-MM-DD); default 12 months before `end`",
        "end": "last day of the period; default the latest incident",
        "bandwidth_m": "KDE bandwidth in metres (default 250)",
        "cell_m": "KDE grid cell in metres (default 25)",
        "kernel": "quartic (default) or gaussian",
        "top_pct": "hotspot polygons cover the densest top_pct % of the area (default 5)",
        "eps_m": "DBSCAN radius in metres (default 150)",
        "min_samples": "DBSCAN minimum incidents per cluster (default 5)",
        "resolution": "H3 resolution 7-10 (default 9)",
        "school": "school URN (journey-corridors); default every demo-area school",
    }

"""The layer service: builds the published layers (through the builders registered in
:data:`BUILDERS`, or :func:`geosafe.publish.public_layers.public_layer` outside the analyst
role) and caches them, keyed by the parameters, the principal's scope and the state of the
store, read from the database on every request (:meth:`LayerService.store_state`), so an
import, rollback or erasure made by any process (another service worker, the command line)
invalidates every computed layer on the next request.

With a :class:`geosafe.publish.builder.LayerBuilder` the layers (and the few answers that
read incidents: why a layer is empty, the period a document shows) are built in a child
process and only their published form is kept here, so a server that pages features never
loads pandas, geopandas or scipy. The builders are imported on first use for the same reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from .._errors import AccessDeniedError, ConfigurationError
from ..sqlite_watch import SqliteWatch
from .catalogue import DEFAULT_PARAMS, AnalysisParams, spec
from .layer import Layer
from .scope import MAX_PUBLIC_H3_RESOLUTION, scope_key

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["BUILDERS", "IncidentStore", "LayerService", "scope_key"]

log = logging.getLogger(__name__)


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


Builder = Callable[[Any, AnalysisParams], Layer]

#: The builder of each collection's full (analyst) layer, as ``module:function`` in
#: :mod:`geosafe.publish` (imported on first use: :func:`builder_of`).
BUILDERS: Final[dict[str, str]] = {
    "schools": "records:schools_layer",
    "bus-stops": "records:bus_stops_layer",
    "safe-places": "records:safe_places_layer",
    "incidents": "records:incidents_layer",
    "incident-routes": "records:incident_routes_layer",
    "referral-places": "records:referral_places_layer",
    "hotspots-kde": "hotspot_layers:kde_layer",
    "h3-cells": "hotspot_layers:h3_layer",
    "clusters": "hotspot_layers:cluster_layer",
    "emerging-cells": "hotspot_layers:emerging_layer",
    "journey-corridors": "corridors:corridor_layer",
}


def builder_of(collection: str) -> Builder:
    """The builder of ``collection``'s full layer (:data:`BUILDERS`)."""
    from . import corridors, hotspot_layers, records  # pandas, scipy: on first use

    modules = {"records": records, "hotspot_layers": hotspot_layers, "corridors": corridors}
    module, _, name = BUILDERS[collection].partition(":")
    return getattr(modules[module], name)  # type: ignore[no-any-return]


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
        The store's SQLite file (its ``PRAGMA data_version``, which changes on every commit
        by any connection, keys the cache) or its PostGIS URL (the store's
        ``state_token()``, a change counter in the database). Either way the cache is right
        in every worker.
    cache_size
        Layers kept (least recently used dropped first).
    reader
        Where non-analyst layers read the published aggregates, and nothing else
        (:class:`geosafe.store.published_read.PublishedReader`): on PostGIS a login in
        ``geosafe_reader``. ``None``: the store file read-only (SQLite), else the store's URL
        (:func:`geosafe.store.published_read.open_reader`).
    builder
        A :class:`geosafe.publish.builder.LayerBuilder` to build the layers in a child
        process (on the store at ``store_path``); ``None``: built here.
    """

    def __init__(
        self,
        data_dir: Path,
        store: IncidentStore | Callable[[], IncidentStore] | None,
        *,
        store_path: Path | str | None = None,
        cache_size: int = 64,
        reader: Any = None,
        builder: Any = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.builder = builder
        self._store_arg = store
        self._reader = reader
        self._local = threading.local()
        self.store_path = store_path
        self._watch = (
            SqliteWatch(store_path)
            if store_path is not None and not str(store_path).startswith("postgres")
            else None
        )
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

    def _release_page_cache(self) -> None:
        """Free the page cache of this thread's store connection (``Store.release_memory``):
        once a layer is built or the incident frame kept, the pages read for it are not read
        again, and an import-sized cache (64 MB) per thread that built something would
        otherwise stay resident."""
        store = getattr(self._local, "store", None) or (
            self._store_arg if hasattr(self._store_arg, "incidents") else None
        )
        release = getattr(store, "release_memory", None)
        if release is not None:
            release()

    def store_state(self) -> Hashable:
        """A token that changes whenever the store's content may have changed, whoever
        changed it: the SQLite file's ``PRAGMA data_version`` and inode, else the store's own
        ``state_token()`` (read from its database: the PostGIS store's change counter).
        Cheap enough for every request; caches keyed by it stay correct across workers."""
        arg = self._store_arg
        store: Any = None
        if arg is not None and not (self.builder is not None and self._watch is not None):
            # open this thread's store first (with a builder, its child opens its own):
            # opening may write (schema checks), which would change the token between a
            # request's cache lookup and its build
            store = self.store
        if self._watch is not None:  # a SQLite file: any commit, by any connection
            return ("file", self._watch.state())
        token = getattr(store, "state_token", None)
        if callable(token):
            return ("store", token())
        return ("none",)

    @property
    def published(self) -> Any:
        """The reader of the published aggregates (opened on first use)."""
        if self._reader is None:
            from ..store.published_read import PublishedReader, open_reader

            if self.store_path is not None:
                self._reader = open_reader(self.store_path)
            else:  # a store object without a path (tests, notebooks): its own connection
                reader = PublishedReader("store")
                reader.query = lambda sql, params=(): self.store.query(sql, params)  # type: ignore[method-assign,attr-defined]
                self._reader = reader
        return self._reader

    def public_state(self) -> Hashable:
        """The state non-analyst layers are cached by: the SQLite file's, or the change
        counter read over the reader connection (PostGIS)."""
        if self._watch is not None:
            if self.builder is None:
                self.store  # noqa: B018  (opening may create the published tables)
            return ("file", self._watch.state())
        if self._reader is None and self._store_arg is not None and self.store_path is None:
            return self.store_state()
        return ("published", self.published.state())

    def collection_state(self, collection: str) -> Hashable:
        """A token that changes whenever the inputs of ``collection`` may have changed: the
        store, and for ``journey-corridors`` also the uploaded school rolls
        (:func:`geosafe.rolls.rolls_state`). The rolls of a SQLite store are a table of its
        file, so a roll uploaded or deleted by any process is a commit the file's state
        already follows: only a PostGIS store's rolls are read for it."""
        if collection != "journey-corridors" or self._watch is not None:
            return self.store_state()
        from .. import rolls

        return (self.store_state(), rolls.rolls_state(self.store_path))

    def all_incidents(self) -> gpd.GeoDataFrame:
        """Every located incident in the store (cached per store state)."""
        state = self.store_state()
        with self._lock:
            if self._frame_cache is not None and self._frame_cache[0] == state:
                return self._frame_cache[1]
        gdf = self.store.incidents(with_location=True)
        gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
        self._release_page_cache()  # the frame is kept: its pages are not needed again
        with self._lock:
            self._frame_cache = (state, gdf)
        return gdf

    def has_synthetic(self) -> bool:
        """Whether the store holds any synthetic (demo) records."""
        from .layer import is_synthetic

        try:
            return is_synthetic(self.all_incidents())
        except ConfigurationError:
            return False

    def incidents(self, params: AnalysisParams, *, time_window: bool = True) -> gpd.GeoDataFrame:
        """The located incidents passing the filters, in the period (EPSG:27700);
        ``time_window=False``: without the preset's time-of-day window."""
        from ..filters import IncidentFilter

        gdf = self.all_incidents()
        start, end = self.period(params)
        flt = IncidentFilter(
            sources=params.sources or None,
            categories=params.categories or None,
            flags=params.flags or None,
            from_date=start,
            to_date=end,
            preset=params.preset if time_window else None,
        )
        return flt.apply(gdf)

    def period(self, params: AnalysisParams) -> tuple[dt.date | None, dt.date | None]:
        """The analysed period (local dates, inclusive): the given dates; one given date and
        the 365 days after (``start``) or before (``end``) it; neither: the 365 days up to the
        latest incident of the chosen sources, or, when the latest month holds month-dated
        records (police.uk's: every one on the 1st), the twelve whole months ending with it
        (:func:`geosafe.periods.default_year`: "1 Apr 2017 to 31 Mar 2018", not "2 Mar 2017
        to 1 Mar 2018")."""
        start, end = params.start, params.end
        year = dt.timedelta(days=364)
        if start is not None and end is not None:
            return start, end
        if start is not None:
            return start, start + year
        if end is not None:
            return end - year, end
        gdf = self.all_incidents()
        if params.sources:
            gdf = gdf[gdf["source"].isin(params.sources)]
        if len(gdf) == 0:
            return None, None
        import pandas as pd

        from ..periods import LONDON, default_year

        when = pd.to_datetime(gdf["occurred_from"], utc=True)
        latest = when.max().tz_convert(LONDON)
        month_start = latest.normalize().replace(day=1)
        last_month = (when >= month_start).to_numpy()
        monthly = bool((gdf["time_precision"].to_numpy()[last_month] == "month").any())
        return default_year(latest.date(), whole_months=monthly)

    def excluded(
        self, collection: str, params: AnalysisParams = DEFAULT_PARAMS, *, principal: Any = None
    ) -> dict[str, Any]:
        """Why ``collection`` may hold fewer features than expected, for a layer that came out
        empty: the store's located incidents dropped by each rule, counted, and one sentence
        naming the main reason and the parameter to change (issue 11: no silent emptiness).

        Returns ``{"excluded": {reason: count}, "reason": text}``; counts shown to a
        non-analyst are rounded like every published count."""
        if self.builder is not None:
            return self.compute("excluded", collection, params=params, principal=principal)  # type: ignore[no-any-return]
        from . import disclosure, public_layers

        sp = spec(collection)
        role = getattr(principal, "role", None)
        if (
            role is not None
            and role != "analyst"
            and sp.params
            and collection != "journey-corridors"
        ):
            return public_layers.public_excluded(self, collection, params.only(sp.params))
        if collection == "safe-places":
            return {
                "excluded": {},
                "reason": "no safe places have been imported (the bundled OpenStreetMap extract "
                "holds none); import OpenStreetMap data or the local list with "
                "`geosafe safe-places import FILE`",
            }
        if not sp.params:
            return {"excluded": {}, "reason": f"the bundled {sp.title.lower()} list is empty"}
        p = params.only(sp.params)
        gdf = self.all_incidents()
        start, end = self.period(p)
        base = self.incidents(p, time_window=False)
        kept = self.incidents(p)
        windowed = p.preset not in (None, "all-day")  # all-day is no time window at all
        coarse = int((base["time_precision"] != "minute").sum()) if windowed else 0
        # what the layers map is this service's area: incidents elsewhere (a store filled
        # with another area's files) are kept but never drawn
        from .. import datasets

        area = datasets.demo_area(self.data_dir)
        outside = int((~kept.geometry.intersects(area)).sum()) if len(kept) else 0
        counts = {
            "outside_period_or_filters": len(gdf) - len(base),
            "time_too_coarse_for_window": coarse,
            "outside_time_window": len(base) - len(kept) - coarse,
            "outside_study_area": outside,
        }
        role = getattr(principal, "role", None)
        public = role is not None and role != "analyst"
        if public:
            counts["in_suppressed_cells"] = disclosure.suppressed_incidents(kept)
        if len(gdf) == 0:
            reason = "the store holds no located incidents; import some with `geosafe import`"
        elif len(base) == 0:
            reason = (
                f"no incident falls in the period {start}/{end} with these sources, categories "
                "and flags; choose another `datetime` (or `start`/`end`) or fewer filters"
            )
        elif len(kept) == 0 and coarse:
            reason = (
                f"the incidents of the period are dated only to the day or month, so none can "
                f"fall in the {p.preset!r} time window; use `preset=all-day` to include them"
            )
        elif len(kept) == 0:
            reason = f"no incident of the period falls in the {p.preset!r} time window"
        elif outside == len(kept):
            reason = (
                f"none of the {len(kept)} incidents left lies in the area this service maps "
                f"({self.data_dir}); build an area folder for where they are (`geosafe area "
                "build`) and serve it with `geosafe serve --area DIR`"
            )
        elif public:
            reason = (
                "every H3 resolution-8 cell holds fewer than 10 of the incidents left (counts "
                "of 1-9 are suppressed for this role), so there is nothing to publish; choose "
                "a longer period or `preset=all-day`"
            )
        else:
            reason = "the method found no feature in these incidents; try other parameters"
        shown: dict[str, int | None] = dict(counts)
        if public:
            shown = {k: disclosure.round_count(v) for k, v in counts.items()}
        return {"excluded": shown, "reason": reason}

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
        gate: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
    ) -> Layer:
        """The layer of ``collection`` for ``params`` as ``principal`` may see it (built once
        per parameters, store state and, outside the analyst role, the principal's scope).

        ``gate``: a context manager factory held around the build only (a heavy-computation
        slot), so that a layer already cached is served without one.

        ``principal`` ``None`` or an analyst: the full layer. A school or neighbourhood
        principal gets the disclosure-controlled view (:mod:`geosafe.publish.public_layers`): densities from
        cell-aggregated inputs, counts rounded and small ones suppressed, H3 no finer than
        resolution 8, clusters of 10+ only, clipped to a neighbourhood's area.
        """
        sp = spec(collection)
        params = params.only(sp.params)
        role = getattr(principal, "role", None)
        public = role is not None and role != "analyst"
        if (public and "analyst" not in sp.roles) or (public and role not in sp.roles):
            msg = f"collection {collection!r} is not for the {role!r} role; it needs one of {', '.join(sp.roles)}."
            raise AccessDeniedError(msg)
        if public and params.resolution > MAX_PUBLIC_H3_RESOLUTION:
            params = replace(params, resolution=MAX_PUBLIC_H3_RESOLUTION)
        scope = scope_key(principal, collection) if public else None
        state = self.collection_state(collection) if sp.params else None
        if public and sp.params:  # read over the reader connection
            state = (self.public_state(), state if collection == "journey-corridors" else None)
        key = ("layer", collection, params.key(), state, scope)

        def build() -> Layer:
            if self.builder is not None:
                return self.builder.call("layer", collection, params, principal)  # type: ignore[no-any-return]
            log.info("building layer %s %s (%s)", collection, params, role or "full")
            if public:
                from .public_layers import public_layer

                built = public_layer(self, collection, params, principal)
            else:
                built = builder_of(collection)(self, params)
            self._release_page_cache()
            return built

        if gate is None:
            return self.memo(key, build)  # type: ignore[no-any-return]
        with self._lock:
            if key in self._cache:  # cached: served without a slot
                self._cache.move_to_end(key)
                return self._cache[key]  # type: ignore[no-any-return]
        # the slot is taken BEFORE the build lock, as the middleware's heavy requests (maps,
        # reports) take theirs before they ask for a layer: a build lock held while waiting
        # for a slot deadlocked with a map holding the slots while waiting for that build
        with gate():
            return self.memo(key, build)  # type: ignore[no-any-return]

    def compute(
        self,
        operation: str,
        *args: Any,
        params: AnalysisParams = DEFAULT_PARAMS,
        principal: Any = None,
        keep: bool = True,
    ) -> Any:
        """An answer that reads incidents, the published aggregates or the area's data (an
        operation of :data:`geosafe.publish.operations.OPERATIONS`, called as
        ``function(service, *args, params, principal)``; those of ``AREA_OPERATIONS`` take
        neither), computed in the builder's child when there is one, else here; kept per
        store state and the principal's scope unless ``keep=False`` (the caller keeps it)."""
        from .operations import AREA_OPERATIONS, run

        takes = operation not in AREA_OPERATIONS
        call_args = (*args, params, principal) if takes else args
        if self.builder is not None:
            builder = self.builder

            def compute() -> Any:
                return builder.call(operation, *call_args)
        else:

            def compute() -> Any:
                return run(self, operation, call_args)

        if not keep:
            return compute()
        key = (
            "compute",
            operation,
            args,
            params.key() if takes else None,
            scope_key(principal) if takes else None,
            (self.store_state(), self.public_state()) if takes else None,
        )
        return self.memo(key, compute)

    def close(self) -> None:
        """Stop the builder's child process, if any."""
        if self.builder is not None:
            self.builder.close()

    def clear(self) -> None:
        """Drop every cached layer."""
        with self._lock:
            self._cache.clear()
            self._frame_cache = None

"""Bus journeys over GTFS: the :class:`TransitRouter` interface and its RAPTOR implementation.

:class:`RaptorRouter` answers

* earliest arrival (:meth:`~RaptorRouter.earliest_arrival`): leave at ``depart_s``;
* arrive-by (:meth:`~RaptorRouter.arrive_by`), e.g. "at school by 08:45": a reverse
  RAPTOR finds the latest departure that still arrives in time, then a forward search from
  that departure gives the journey (so every arrive-by answer is a forward journey);
* departure windows (:meth:`~RaptorRouter.departure_window`): the earliest arrival for
  every minute of a window from one rRAPTOR range search (``_raptor_range.range_arrivals``), giving
  the median and 90th percentile journey time.

Origins and destinations are stop ids or ``(x, y)`` points in the router's CRS (EPSG:27700
for British feeds). Points reach stops by walking: distances come from a walk network with a
``distances(from_xy, to_xy, *, max_m)`` method (:class:`geosafe.network.walk.WalkNetwork`)
when one is given, otherwise straight-line distance times :data:`DETOUR_FACTOR` (1.3, a
common ratio of street to crow-fly distance in cities). Walking speed is
:data:`WALK_SPEED_MPS` (1.3 m/s, as :mod:`geosafe.network.walk`).

Transfers: at the same stop after ``min_transfer_s`` (default 120 s, as MOTIS nigiri);
between stops by ``transfers.txt`` (``transfer_type`` 3 forbids the pair; a
``min_transfer_time`` sets its duration, else the walking time) and, when
``transfer_walk_m > 0``, by walking to any stop within that distance. Footpaths are
transitively closed. Times are integer seconds after midnight of the service day (GTFS
"noon minus 12 h" in the feed's time zone); trips of the previous and next service days
that run into the query day are included, shifted by the true length of the day (23 or 25
hours across a daylight-saving change), so journeys are found up to the end of the next
service day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import shapely
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from scipy.spatial import cKDTree

from .._errors import RoutingError, ValidationError
from . import _raptor, _raptor_range
from .gtfs import Feed, expand_frequencies, read_feed
from .itinerary import DepartureWindow, Journey, Leg, Place, TransitRouter, WalkDistances

__all__ = [
    "DETOUR_FACTOR",
    "WALK_SPEED_MPS",
    "DepartureWindow",
    "Journey",
    "Leg",
    "Place",
    "RaptorRouter",
    "TransitRouter",
    "TransitSettings",
]

log = logging.getLogger(__name__)

#: Street distance over straight-line distance, used where no walk network is given.
DETOUR_FACTOR: Final = 1.3
#: Walking speed, metres per second (a secondary-school pupil, about 4.7 km/h).
WALK_SPEED_MPS: Final = 1.3
#: Same-stop minimum transfer time, seconds (nigiri's default of 2 minutes).
MIN_TRANSFER_S: Final = 120


class TransitSettings(BaseSettings):
    """Bus-routing options (``GEOSAFE_`` prefix), the defaults of the CLI."""

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_", extra="ignore")

    #: Where cleaned GTFS feeds are cached, keyed by the SHA-256 of their files
    #: (``GEOSAFE_CACHE_DIR``, shared with the walk network's cache).
    cache_dir: Path = Field(default=Path(".cache") / "geosafe")
    #: Longest walk to the first stop or from the last, metres.
    max_walk_m: float = Field(default=800.0, ge=0.0, le=5000.0)
    #: Longest walk between two stops to change buses, metres.
    transfer_walk_m: float = Field(default=250.0, ge=0.0, le=2000.0)
    #: Minimum time to change buses at one stop, seconds.
    min_transfer_s: int = Field(default=MIN_TRANSFER_S, ge=0, le=1800)
    #: Most changes in one journey.
    max_transfers: int = Field(default=6, ge=0, le=15)


class RaptorRouter:
    """RAPTOR over a GTFS feed (implements :class:`TransitRouter`).

    Parameters
    ----------
    feed
        A :class:`~geosafe.network.gtfs.Feed` or the path of a feed to read.
    walk
        Walk network for access, egress and transfer distances (an object with
        ``distances(from_xy, to_xy, *, max_m)``, e.g. ``WalkNetwork``); ``None`` uses
        straight-line distance times ``detour_factor``.
    crs
        CRS of point origins/destinations and of leg geometries; default EPSG:27700 for
        British feeds, else the feed's UTM zone.
    max_walk_m
        Longest access or egress walk, metres.
    transfer_walk_m
        Longest walk between two stops to change buses, metres (0: only same-stop changes
        and ``transfers.txt``).
    walk_speed_mps
        Walking speed, metres per second.
    detour_factor
        Street over straight-line distance when ``walk`` is ``None``.
    min_transfer_s
        Minimum time to change buses at the same stop, seconds.
    max_transfers
        Most changes in one journey.
    walk_path
        Optional ``(a_xy, b_xy) -> LineString`` for walk-leg geometry (default: straight).
    max_layover_s
        Longest wait, seconds, at the end of a trip for which passengers stay seated into
        the next trip of the same ``block_id`` (default 0: only an immediate continuation).
    cache_dir
        Cache for the cleaned feed when ``feed`` is a path (see
        :func:`~geosafe.network.gtfs.read_feed`).
    """

    def __init__(
        self,
        feed: Feed | str | Path,
        *,
        walk: WalkDistances | None = None,
        crs: str | None = None,
        max_walk_m: float = 800.0,
        transfer_walk_m: float = 250.0,
        walk_speed_mps: float = WALK_SPEED_MPS,
        detour_factor: float = DETOUR_FACTOR,
        min_transfer_s: int = MIN_TRANSFER_S,
        max_transfers: int = 6,
        walk_path: Callable[[tuple[float, float], tuple[float, float]], Any] | None = None,
        max_layover_s: int = 0,
        cache_dir: str | Path | None = None,
    ) -> None:
        for name, value, low in (
            ("max_walk_m", max_walk_m, 0.0),
            ("transfer_walk_m", transfer_walk_m, 0.0),
            ("min_transfer_s", min_transfer_s, 0),
            ("max_transfers", max_transfers, 0),
        ):
            if not value >= low:
                msg = f"`{name}` {value!r} must be >= {low}; pass a non-negative number."
                raise ValidationError(msg)
        if not walk_speed_mps > 0 or not detour_factor >= 1:
            msg = (
                f"`walk_speed_mps` {walk_speed_mps!r} must be > 0 and `detour_factor` "
                f"{detour_factor!r} >= 1."
            )
            raise ValidationError(msg)
        self.feed = feed if isinstance(feed, Feed) else read_feed(feed, cache_dir=cache_dir)
        self.walk = walk
        self.max_walk_m = float(max_walk_m)
        self.transfer_walk_m = float(transfer_walk_m)
        self.walk_speed_mps = float(walk_speed_mps)
        self.detour_factor = float(detour_factor)
        self.min_transfer_s = int(min_transfer_s)
        self.max_transfers = int(max_transfers)
        self.walk_path = walk_path
        self.max_layover_s = int(max_layover_s)
        try:
            self._zone: ZoneInfo | None = ZoneInfo(self.feed.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self._zone = None
        self._days: OrderedDict[tuple[dt.date, bool], _raptor.DayTables] = OrderedDict()
        self._build_static(crs)
        self._shapes = _raptor.ShapeLines(self.feed.trips, self.feed.shapes, self.crs)

    # ----------------------------------------------------------------- static build
    def _build_static(self, crs: str | None) -> None:
        feed = self.feed
        stops = feed.stops
        self.stop_ids = stops["stop_id"].to_numpy(dtype=object)
        self.stop_index = {s: i for i, s in enumerate(self.stop_ids)}
        self.stop_names = stops["stop_name"].to_numpy(dtype=object)
        self.xy, self.crs = _raptor.project_stops(
            stops["stop_lon"].to_numpy(dtype=float), stops["stop_lat"].to_numpy(dtype=float), crs
        )
        self._has_xy = np.isfinite(self.xy[:, 0])
        self._tree = cKDTree(np.where(self._has_xy[:, None], self.xy, 1e12))
        st = feed.stop_times
        trips = feed.trips.set_index("trip_id")
        route_ids = feed.routes["route_id"].tolist()
        route_index = {r: i for i, r in enumerate(route_ids)}
        names = feed.routes.get("route_short_name", feed.routes["route_id"]).replace("", np.nan)
        self.route_names = names.fillna(feed.routes["route_id"]).to_numpy(dtype=object)
        self.route_ids = np.asarray(route_ids, dtype=object)
        trip_col = st["trip_id"].to_numpy()
        starts = np.flatnonzero(np.r_[True, trip_col[1:] != trip_col[:-1]])
        ends = np.r_[starts[1:], len(st)]
        sidx = st["stop_id"].map(self.stop_index).to_numpy(dtype=np.int64)
        arr = st["arrival_s"].to_numpy(dtype=np.int64)
        dep = st["departure_s"].to_numpy(dtype=np.int64)
        board = st["pickup_type"].to_numpy() != 1
        alight = st["drop_off_type"].to_numpy() != 1
        pat_key: dict[tuple[Any, ...], int] = {}
        self._patterns: list[tuple[Any, Any, Any, int]] = []
        rows_arr: list[list[npt.NDArray[np.int64]]] = []
        rows_dep: list[list[npt.NDArray[np.int64]]] = []
        tmpl_pat: dict[str, tuple[int, int]] = {}
        slices = {trip_col[a]: (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
        freq_ids = set(feed.frequencies["trip_id"])
        for chain in _raptor.block_chains(
            self.feed.trips, slices, sidx, arr, dep, freq_ids, self.max_layover_s
        ):
            parts = [slices[t] for t in chain]
            idx = np.concatenate([np.arange(a + (i > 0), b) for i, (a, b) in enumerate(parts)])
            t_arr, t_dep = arr[idx].copy(), dep[idx].copy()
            pos = 0
            for i, (a, b) in enumerate(parts[:-1]):
                pos += b - a - (i > 0)
                t_dep[pos - 1] = dep[parts[i + 1][0]]  # stay seated at the junction stop
            trip = "+".join(chain)
            route = route_index[trips.at[chain[0], "route_id"]]
            key = (route, sidx[idx].tobytes(), board[idx].tobytes(), alight[idx].tobytes())
            p = pat_key.get(key)
            if p is None:
                p = pat_key[key] = len(self._patterns)
                self._patterns.append(
                    (sidx[idx].copy(), board[idx].copy(), alight[idx].copy(), route)
                )
                rows_arr.append([])
                rows_dep.append([])
            tmpl_pat[trip] = (p, len(rows_arr[p]))
            rows_arr[p].append(t_arr)
            rows_dep[p].append(t_dep)
        self._pattern_times = [
            (np.vstack(ra).astype(np.int64), np.vstack(rd).astype(np.int64))
            for ra, rd in zip(rows_arr, rows_dep, strict=True)
        ]
        # trip instances: scheduled trips, plus the trips generated by frequencies.txt
        freq = expand_frequencies(feed)
        freq_trips = set(freq["trip_id"])
        plain = [t for t in tmpl_pat if t not in freq_trips]
        inst_trip = plain + freq["trip_id"].tolist()
        offsets = [0] * len(plain) + freq["offset_s"].astype(int).tolist()
        self.inst_trip = np.asarray(inst_trip, dtype=object)
        self.inst_pattern = np.asarray([tmpl_pat[t][0] for t in inst_trip], dtype=np.int64)
        self.inst_row = np.asarray([tmpl_pat[t][1] for t in inst_trip], dtype=np.int64)
        self.inst_offset = np.asarray(offsets, dtype=np.int64)
        services: Any = (
            trips.loc[[t.split("+")[0] for t in inst_trip], "service_id"].to_numpy(dtype=object)
            if inst_trip
            else []
        )
        self.inst_service = np.asarray(services, dtype=object)
        last = np.asarray(
            [
                self._pattern_times[p][0][r, -1]
                for p, r in zip(self.inst_pattern, self.inst_row, strict=True)
            ],
            dtype=np.int64,
        )
        self._inst_last = last + self.inst_offset
        self._footpaths = self._build_footpaths()
        log.info(
            "router: %d stops, %d patterns, %d trip instances, %d footpaths",
            len(self.stop_ids),
            len(self._patterns),
            len(inst_trip),
            len(self._footpaths[0]),
        )

    def _walk_m(
        self, a: tuple[float, float], b: npt.NDArray[np.float64], max_m: float
    ) -> npt.NDArray[np.float64]:
        """Walking distance from point ``a`` to points ``b``, metres (``inf`` beyond ``max_m``)."""
        if not len(b):
            return np.zeros(0)
        straight = np.hypot(b[:, 0] - a[0], b[:, 1] - a[1]) * self.detour_factor
        if self.walk is None:
            return np.where(straight <= max_m, straight, np.inf)
        # Where the OSM network does not reach (stops of a feed that runs beyond the
        # extract), walk the straight line times the detour factor instead, as for a feed
        # without a network: a point off the network raises, a target off it comes back inf.
        try:
            d = np.asarray(self.walk.distances(a, b, max_m=max_m), dtype=float)
        except RoutingError:
            return np.where(straight <= max_m, straight, np.inf)
        snap = getattr(self.walk, "snap", None)
        if snap is not None:
            off = ~(np.asarray(snap(b).dist) <= float(getattr(self.walk, "max_snap_m", 250.0)))
            d = np.where(off, straight, d)
        return np.where(d <= max_m, d, np.inf)

    def _build_footpaths(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        n = len(self.stop_ids)
        rows: list[int] = []
        cols: list[int] = []
        secs: list[float] = []
        forbidden: set[tuple[int, int]] = set()
        tr = self.feed.transfers
        for f, t, kind, mtt in tr[
            ["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"]
        ].itertuples(index=False):
            a, b = self.stop_index[f], self.stop_index[t]
            if a == b:
                continue
            if kind == 3:
                forbidden.add((a, b))
                continue
            if np.isfinite(mtt):
                sec = float(mtt)
            elif self._has_xy[a] and self._has_xy[b]:
                sec = (
                    self._walk_m(tuple(self.xy[a]), self.xy[b : b + 1], np.inf)[0]
                    / self.walk_speed_mps
                )
            else:
                sec = 0.0
            rows.append(a)
            cols.append(b)
            secs.append(sec)
        if self.transfer_walk_m > 0:
            radius = self.transfer_walk_m / (1.0 if self.walk is not None else self.detour_factor)
            for a in (int(i) for i in np.flatnonzero(self._has_xy)):
                near = [b for b in self._tree.query_ball_point(self.xy[a], radius) if b != a]
                if not near:
                    continue
                nb = np.asarray(near, dtype=np.int64)
                d = self._walk_m(tuple(self.xy[a]), self.xy[nb], self.transfer_walk_m)
                for b, dm in zip(nb, d, strict=True):
                    if np.isfinite(dm) and (a, int(b)) not in forbidden:
                        rows.append(int(a))
                        cols.append(int(b))
                        secs.append(dm / self.walk_speed_mps)
        return _raptor.close_footpaths(n, rows, cols, secs, forbidden)

    # ----------------------------------------------------------------- per day
    def _day(self, date: dt.date, *, reverse: bool = False) -> _raptor.DayTables:
        key = (date, reverse)
        day = self._days.get(key)
        if day is not None:
            self._days.move_to_end(key)
            return day
        active = np.zeros(0, dtype=bool)
        inst = []
        for shift in (-1, 0, 1):
            on = self.feed.services_on(date + dt.timedelta(days=shift))
            mask = (
                np.isin(self.inst_service, list(on))
                if on
                else np.zeros(len(self.inst_service), bool)
            )
            gap = self._day_gap_s(date, shift)
            if shift == -1:
                # only yesterday's trips that run past today's midnight
                mask &= self._inst_last + gap >= 0
            inst.append((gap, mask))
        pats = np.concatenate([self.inst_pattern] * 3)
        rows = np.concatenate([self.inst_row] * 3)
        offs = np.concatenate([self.inst_offset + g for g, _ in inst])
        active = np.concatenate([m for _, m in inst])
        day = _raptor.build_day(
            len(self.stop_ids),
            self._patterns,
            self._pattern_times,
            pats,
            rows,
            offs,
            active,
            self._footpaths,
            reverse=reverse,
        )
        self._days[key] = day
        while len(self._days) > 6:
            self._days.popitem(last=False)
        return day

    def _day_gap_s(self, date: dt.date, shift: int) -> int:
        """Seconds from ``date``'s GTFS midnight (noon minus 12 h, feed time zone) to that of
        ``date + shift`` days: 86,400 except across a daylight-saving change."""
        tz = self._zone
        if tz is None:
            return shift * 86400
        other = date + dt.timedelta(days=shift)
        a = dt.datetime(date.year, date.month, date.day, 12, tzinfo=tz)
        b = dt.datetime(other.year, other.month, other.day, 12, tzinfo=tz)
        return round(b.timestamp() - a.timestamp())

    # ----------------------------------------------------------------- places
    def _resolve(
        self, place: Place, name: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], tuple[float, float] | None]:
        """Stops and walk seconds for an origin/destination (stop id or point)."""
        if isinstance(place, str):
            i = self.stop_index.get(place)
            if i is None:
                msg = (
                    f"`{name}` stop {place!r} is not in the feed {self.feed.path!r}; pass a "
                    "stop_id from its stops.txt or an (x, y) point in " + self.crs + "."
                )
                raise ValidationError(msg)
            return np.asarray([i], np.int64), np.zeros(1, np.int64), None
        try:
            x, y = float(place[0]), float(place[1])
        except (TypeError, ValueError, IndexError):
            msg = f"`{name}` {place!r} is neither a stop id nor an (x, y) point in {self.crs}."
            raise ValidationError(msg) from None
        radius = self.max_walk_m / (1.0 if self.walk is not None else self.detour_factor)
        near = np.asarray(self._tree.query_ball_point((x, y), radius), dtype=np.int64)
        d = self._walk_m((x, y), self.xy[near], self.max_walk_m)
        ok = np.isfinite(d)
        secs = np.round(d[ok] / self.walk_speed_mps).astype(np.int64)
        return near[ok], secs, (x, y)

    # ----------------------------------------------------------------- search
    def _search(
        self,
        day: _raptor.DayTables,
        src: npt.NDArray[np.int64],
        src_t: npt.NDArray[np.int64],
        tgt: npt.NDArray[np.int64],
        tgt_e: npt.NDArray[np.int64],
    ) -> tuple[Any, ...]:
        return _raptor.raptor_kernel(
            *day.kernel_args(),
            np.int64(self.min_transfer_s),
            np.int64(self.max_transfers + 1),
            src,
            src_t,
            tgt,
            tgt_e,
        )

    def _direct_walk_s(self, a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
        if a is None or b is None:
            return np.inf
        d = self._walk_m(a, np.asarray([b], dtype=float), self.max_walk_m)[0]
        return float(d / self.walk_speed_mps) if np.isfinite(d) else np.inf

    def earliest_arrival_s(
        self, origin: Place, destination: Place, *, depart_s: int, date: dt.date
    ) -> int | None:
        """Earliest arrival time only (no legs), seconds after midnight; ``None`` if none."""
        src, src_w, a = self._resolve(origin, "origin")
        tgt, tgt_w, b = self._resolve(destination, "destination")
        res = self._search(self._day(date), src, depart_s + src_w, tgt, tgt_w)
        best = float(res[0]) if res[0] < _raptor.INF else np.inf
        best = min(best, depart_s + self._direct_walk_s(a, b))
        return None if not np.isfinite(best) else round(best)

    def earliest_arrival(
        self, origin: Place, destination: Place, *, depart_s: int, date: dt.date
    ) -> Journey | None:
        """The journey arriving earliest when leaving ``origin`` at ``depart_s``.

        Among journeys arriving at the same time the one with fewest changes is returned.

        Parameters
        ----------
        origin, destination
            Stop ids or ``(x, y)`` points in :attr:`crs`.
        depart_s
            Departure, seconds after midnight of the service day ``date``.
        date
            Service day.

        Returns
        -------
        Journey or None
            ``None`` when no journey exists within ``max_transfers`` and walking limits.
        """
        src, src_w, a = self._resolve(origin, "origin")
        tgt, tgt_w, b = self._resolve(destination, "destination")
        day = self._day(date)
        res = self._search(day, src, depart_s + src_w, tgt, tgt_w)
        walk_only = depart_s + self._direct_walk_s(a, b)
        if res[0] >= _raptor.INF and not np.isfinite(walk_only):
            return None
        if walk_only <= res[0]:
            return self._walk_journey(a, b, depart_s, date)
        return self._rebuild(day, res, src, src_w, tgt, tgt_w, a, b, depart_s, date)

    def latest_departure_s(
        self, origin: Place, destination: Place, *, arrive_s: int, date: dt.date
    ) -> int | None:
        """Latest departure from ``origin`` that reaches ``destination`` by ``arrive_s``
        (reverse RAPTOR), seconds after midnight; ``None`` if none."""
        src, src_w, a = self._resolve(origin, "origin")
        tgt, tgt_w, b = self._resolve(destination, "destination")
        res = self._search(self._day(date, reverse=True), tgt, -(arrive_s - tgt_w), src, src_w)
        best = -float(res[0]) if res[0] < _raptor.INF else -np.inf
        best = max(best, arrive_s - self._direct_walk_s(a, b))
        return None if not np.isfinite(best) else round(best)

    def arrive_by(
        self, origin: Place, destination: Place, *, arrive_s: int, date: dt.date
    ) -> Journey | None:
        """The journey leaving as late as possible and arriving by ``arrive_s``.

        A reverse search finds the latest departure; the journey returned is the forward
        earliest-arrival journey from that departure (it arrives by ``arrive_s``).
        """
        dep = self.latest_departure_s(origin, destination, arrive_s=arrive_s, date=date)
        if dep is None:
            return None
        j = self.earliest_arrival(origin, destination, depart_s=dep, date=date)
        if j is None or j.arrival_s > arrive_s:  # pragma: no cover - would be a router bug
            msg = (
                f"arrive-by search from {origin!r} to {destination!r} on {date} found a "
                f"departure at {dep} s that the forward search cannot reproduce."
            )
            raise RoutingError(msg)
        return j

    def departure_window(
        self,
        origin: Place,
        destination: Place,
        *,
        start_s: int,
        end_s: int,
        date: dt.date,
        step_s: int = 60,
    ) -> DepartureWindow:
        """Journey times for departures every ``step_s`` seconds in ``[start_s, end_s)``.

        Returns the spread (median and 90th percentile, seconds) of door-to-door times,
        waiting at the first stop included.
        """
        if not (end_s > start_s and step_s > 0):
            msg = (
                f"`start_s` {start_s!r}, `end_s` {end_s!r}, `step_s` {step_s!r}: need "
                "end_s > start_s and step_s > 0."
            )
            raise ValidationError(msg)
        src, src_w, a = self._resolve(origin, "origin")
        tgt, tgt_w, b = self._resolve(destination, "destination")
        day = self._day(date)
        walk = self._direct_walk_s(a, b)
        deps = np.arange(start_s, end_s, step_s, dtype=np.int64)
        # one rRAPTOR range search, equal to one search per departure
        rides = _raptor_range.range_arrivals(
            day,
            min_transfer_s=self.min_transfer_s,
            max_rounds=self.max_transfers + 1,
            src=src,
            src_walk=src_w,
            tgt=tgt,
            tgt_egress=tgt_w,
            departures=deps,
        )
        arrs = np.fmin(rides, deps + walk)
        arrs[~np.isfinite(arrs)] = np.nan
        durs = arrs - deps.astype(np.float64)
        ok = np.isfinite(durs)
        med = float(np.median(durs[ok])) if ok.any() else float("nan")
        p90 = float(np.percentile(durs[ok], 90)) if ok.any() else float("nan")
        return DepartureWindow(deps, arrs, durs, med, p90, int((~ok).sum()))

    # ----------------------------------------------------------------- legs
    def _ride_line(self, trip_id: str, stops: npt.NDArray[np.int64]) -> Any:
        """Geometry of a ride: the trip's ``shapes.txt`` line cut between the boarding and
        alighting stops when there is one, else the line through the stops ridden."""
        a, b = int(stops[0]), int(stops[-1])
        cut = self._shapes.ride(trip_id, (a, self.xy[a]), (b, self.xy[b]))
        return cut if cut is not None else self._line([self.xy[x] for x in stops])

    def _line(self, pts: Sequence[Any]) -> Any:
        pts = [p for p in pts if p is not None and np.all(np.isfinite(p))]
        if len(pts) >= 2:
            return shapely.LineString(pts)
        return shapely.Point(pts[0]) if pts else None

    def _walk_leg(
        self, a_xy: Any, b_xy: Any, from_stop: str | None, to_stop: str | None, t0: int, dur: int
    ) -> Leg:
        geom = None
        dist = dur * self.walk_speed_mps
        if (
            a_xy is not None
            and b_xy is not None
            and np.all(np.isfinite(a_xy))
            and np.all(np.isfinite(b_xy))
        ):
            if self.walk_path is not None:
                try:
                    geom = self.walk_path(tuple(a_xy), tuple(b_xy))
                except RoutingError:  # beyond the network's extent: the straight line
                    geom = shapely.LineString([tuple(a_xy), tuple(b_xy)])
            else:
                geom = shapely.LineString([tuple(a_xy), tuple(b_xy)])
        return Leg("walk", from_stop, to_stop, t0, t0 + dur, distance_m=float(dist), geometry=geom)

    def _walk_journey(self, a: Any, b: Any, depart_s: int, date: dt.date) -> Journey:
        dur = round(self._direct_walk_s(a, b))
        leg = self._walk_leg(a, b, None, None, depart_s, dur)
        return Journey(depart_s, depart_s + dur, (leg,), date, self.crs)

    def _rebuild(
        self,
        day: _raptor.DayTables,
        res: tuple[Any, ...],
        src: Any,
        src_w: Any,
        tgt: Any,
        tgt_w: Any,
        a: Any,
        b: Any,
        depart_s: int,
        date: dt.date,
    ) -> Journey:
        """Walk the labels back from the target into legs (see ``_raptor.raptor_kernel``)."""
        best, k, j, via_walk, trip_arr, walk_arr = res[:6]
        rc_pat, rc_trip, rc_bpos, rc_apos, fw_from, board, bd_round, bd_stop = res[6:]
        ids, xy = self.stop_ids, self.xy
        legs: list[Leg] = []  # built backwards
        s, t_end = int(tgt[j]), int(best)
        if b is not None:  # egress walk
            w = int(tgt_w[j])
            legs.append(self._walk_leg(xy[s], b, ids[s], None, t_end - w, w))
        if via_walk:  # footpath into the target stop
            u = int(fw_from[k, s])
            t0 = int(trip_arr[k, u])
            legs.append(self._walk_leg(xy[u], xy[s], ids[u], ids[s], t0, int(walk_arr[k, s]) - t0))
            s = u
        while k > 0:
            p, t = int(rc_pat[k, s]), int(rc_trip[k, s])
            bp, ap = int(rc_bpos[k, s]), int(rc_apos[k, s])
            L, so, to = int(day.p_len[p]), int(day.p_stop_off[p]), int(day.p_time_off[p])
            stops = day.p_stops[so + bp : so + ap + 1]
            t_board, t_alight = int(day.dep[to + t * L + bp]), int(day.arr[to + t * L + ap])
            inst = int(day.trip_ref[int(day.p_trip_off[p]) + t]) % len(self.inst_trip)
            bs = int(stops[0])
            # how the traveller reached the boarding stop: start (u == -1), a footpath
            # from stop u, or alighting there (u == bs; the change time is part of the wait)
            r, u = int(bd_round[k - 1, bs]), int(bd_stop[k - 1, bs])
            ready = int(board[k - 1, bs])
            at = int(trip_arr[r, u]) if u == bs else ready
            ride = self._ride_line(str(self.inst_trip[inst]), stops)
            legs.append(
                Leg(
                    "bus",
                    ids[bs],
                    ids[s],
                    t_board,
                    t_alight,
                    route=str(self.route_names[day.p_route[p]]),
                    trip_id=str(self.inst_trip[inst]),
                    stops=tuple(str(x) for x in ids[stops]),
                    wait_s=t_board - at,
                    distance_m=float(ride.length) if ride is not None else 0.0,
                    geometry=ride,
                )
            )
            if t_board > at:
                legs.append(
                    Leg(
                        "wait",
                        ids[bs],
                        ids[bs],
                        at,
                        t_board,
                        wait_s=t_board - at,
                        geometry=self._line([xy[bs]]),
                    )
                )
            if u == -1:
                s = bs
                break
            if u != bs:
                t0 = int(trip_arr[r, u])
                legs.append(self._walk_leg(xy[u], xy[bs], ids[u], ids[bs], t0, ready - t0))
            s, k = u, r
        if a is not None:  # access walk from the origin point
            w = int(src_w[np.flatnonzero(src == s)[0]])
            legs.append(self._walk_leg(a, xy[s], None, ids[s], depart_s, w))
        legs.reverse()
        return Journey(int(depart_s), t_end, tuple(legs), date, self.crs)

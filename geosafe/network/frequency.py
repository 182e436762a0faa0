"""Scheduled buses per hour of a route at a stop, counted in a GTFS feed (the frequency a
pupil's bus runs at, used to spread riding exposure over the buses of the route)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .gtfs import expand_frequencies

__all__ = ["BusFrequency"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusFrequency:
    """Scheduled buses per hour of a route at a stop, counted in a GTFS feed.

    The departures of the route (``route_short_name`` as the router names legs, or
    ``route_id``) from the stop on ``date``'s service day (trips of the previous service day
    running past midnight included, ``frequencies.txt`` trips expanded, stops without pickup
    left out) falling in ``windows`` (local time, end exclusive), divided by the windows'
    hours. When the boarding time lies outside the windows (none of the route's departures
    there) the hour centred on boarding is counted instead. A route the feed lacks gets
    ``fallback`` (7.5 an hour, the documented assumption) and a logged warning.
    """

    feed: Any
    date: dt.date
    windows: tuple[tuple[dt.time, dt.time], ...]
    fallback: float = 7.5
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def departures_s(self, route: str) -> pd.DataFrame | None:
        """``stop_id``, ``departure_s`` of every departure of ``route`` on the date
        (seconds after the date's GTFS midnight); ``None`` when the feed lacks the route."""
        key = str(route).upper()
        if key not in self._cache:
            f = self.feed
            routes = f.routes
            name = routes.get("route_short_name", routes["route_id"]).fillna("").astype(str)
            hit = (name.str.upper() == key) | (routes["route_id"].astype(str).str.upper() == key)
            if not hit.any():
                self._cache[key] = None
                return None
            trips = f.trips[f.trips["route_id"].isin(routes.loc[hit, "route_id"])]
            st = f.stop_times[f.stop_times["trip_id"].isin(trips["trip_id"])]
            if "pickup_type" in st.columns:
                st = st[st["pickup_type"] != 1]
            st = st[["trip_id", "stop_id", "departure_s"]]
            # frequency-based trips: the template's times shifted to every generated start
            exp = expand_frequencies(f)
            exp = exp[exp["trip_id"].isin(trips["trip_id"])]
            fixed = st[~st["trip_id"].isin(exp["trip_id"])]
            gen = st.merge(exp[["trip_id", "offset_s"]], on="trip_id")
            gen = gen.assign(departure_s=gen["departure_s"] + gen["offset_s"])
            allst = pd.concat([fixed, gen[fixed.columns]], ignore_index=True)
            allst = allst.merge(trips[["trip_id", "service_id"]], on="trip_id")
            parts = []
            for shift in (-1, 0):
                on = f.services_on(self.date + dt.timedelta(days=shift))
                rows = allst[allst["service_id"].isin(list(on))]
                parts.append(
                    pd.DataFrame(
                        {
                            "stop_id": rows["stop_id"].astype(str),
                            "departure_s": rows["departure_s"].to_numpy(np.int64) + shift * 86400,
                        }
                    )
                )
            self._cache[key] = pd.concat(parts, ignore_index=True)
        out: pd.DataFrame | None = self._cache[key]
        return out

    def per_hour(
        self, route: str | None, stop: str | None, *, board_s: float | None = None
    ) -> float:
        """Buses per hour of ``route`` at ``stop`` (``board_s``: the pupil's departure, s)."""
        deps = self.departures_s(str(route)) if route is not None else None
        if deps is None:
            log.warning(
                "route %r is not in the GTFS feed %r; assuming %.1f buses an hour for its "
                "riding exposure",
                route,
                getattr(self.feed, "path", "?"),
                self.fallback,
            )
            return self.fallback
        t = deps.loc[deps["stop_id"] == str(stop), "departure_s"].to_numpy(np.int64)
        mins = t // 60
        inside = np.zeros(len(t), dtype=bool)
        hours = 0.0
        for a, b in self.windows:
            lo, hi = a.hour * 60 + a.minute, b.hour * 60 + b.minute
            inside |= (mins >= lo) & (mins < hi)
            hours += (hi - lo) / 60.0
        n = int(inside.sum())
        if n == 0 and board_s is not None:
            n, hours = int((np.abs(t - float(board_s)) < 1800).sum()), 1.0
        if n == 0:
            warned = self._cache.setdefault("warned", set())
            if (route, stop) in warned:
                return self.fallback
            warned.add((route, stop))
            log.warning(
                "route %r has no departure from stop %r in the feed around the journey; "
                "assuming %.1f buses an hour",
                route,
                stop,
                self.fallback,
            )
            return self.fallback
        return n / hours

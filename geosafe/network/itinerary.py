"""What a bus journey is: :class:`Leg`, :class:`Journey`, :class:`DepartureWindow` and the
:class:`TransitRouter` interface every router implements (:class:`geosafe.network.transit.
RaptorRouter` here; pynigiri in the cross-checks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["DepartureWindow", "Journey", "Leg", "Place", "TransitRouter", "WalkDistances"]

#: A stop id or an ``(x, y)`` point in the router's CRS.
Place = str | tuple[float, float]


class WalkDistances(Protocol):
    """What the router needs from a walk network (e.g. ``WalkNetwork``)."""

    def distances(
        self, from_xy: tuple[float, float], to_xy: npt.ArrayLike, *, max_m: float = ...
    ) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class Leg:
    """One part of a journey.

    ``mode`` is ``walk``, ``wait`` or ``bus``. Times are seconds after midnight of the
    service day; ``wait_s`` is the time waited at ``from_stop`` before a bus leg (also
    given as a ``wait`` leg of its own). ``stops`` lists the stop ids ridden (boarding to
    alighting, inclusive) for a bus leg. ``geometry`` is a LineString (walk path, or the
    line through the stops ridden) or a Point (wait) in the router's CRS.
    """

    mode: str
    from_stop: str | None
    to_stop: str | None
    depart_s: int
    arrive_s: int
    route: str | None = None
    trip_id: str | None = None
    stops: tuple[str, ...] = ()
    wait_s: int = 0
    distance_m: float = 0.0
    geometry: Any = None

    @property
    def duration_s(self) -> int:
        """Length of the leg, seconds."""
        return self.arrive_s - self.depart_s

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (geometry as GeoJSON in the router's CRS)."""
        geom = None
        if self.geometry is not None:
            geom = shapely.geometry.mapping(self.geometry)
            geom = {
                "type": geom["type"],
                "coordinates": np.round(np.asarray(geom["coordinates"], dtype=float), 1).tolist(),
            }
        return {
            "mode": self.mode,
            "from_stop": self.from_stop,
            "to_stop": self.to_stop,
            "depart_s": self.depart_s,
            "arrive_s": self.arrive_s,
            "route": self.route,
            "trip_id": self.trip_id,
            "stops": list(self.stops),
            "wait_s": self.wait_s,
            "distance_m": round(self.distance_m, 1),
            "geometry": geom,
        }


@dataclass(frozen=True)
class Journey:
    """A door-to-door journey: leave ``departure_s``, arrive ``arrival_s`` (seconds after
    midnight of the service ``date``), through ``legs``."""

    departure_s: int
    arrival_s: int
    legs: tuple[Leg, ...]
    date: dt.date
    crs: str

    @property
    def duration_s(self) -> int:
        """Door-to-door time, seconds (waiting included)."""
        return self.arrival_s - self.departure_s

    @property
    def transfers(self) -> int:
        """Number of bus changes."""
        return max(0, sum(1 for leg in self.legs if leg.mode == "bus") - 1)

    @property
    def wait_s(self) -> int:
        """Total time spent waiting at stops, seconds."""
        return sum(leg.duration_s for leg in self.legs if leg.mode == "wait")

    def to_dict(self) -> dict[str, Any]:
        """``{"departure_s", "arrival_s", "legs": [...]}`` plus date, CRS and transfers."""
        return {
            "departure_s": self.departure_s,
            "arrival_s": self.arrival_s,
            "date": self.date.isoformat(),
            "crs": self.crs,
            "transfers": self.transfers,
            "legs": [leg.to_dict() for leg in self.legs],
        }


@dataclass(frozen=True)
class DepartureWindow:
    """Journey times over a window of departures (one search per ``step_s``).

    ``durations_s`` is NaN where no journey was found. ``median_s`` and ``p90_s`` are over
    the departures that have one (NaN if none).
    """

    departures_s: npt.NDArray[np.int64]
    arrivals_s: npt.NDArray[np.float64]
    durations_s: npt.NDArray[np.float64]
    median_s: float
    p90_s: float
    n_without_journey: int


@runtime_checkable
class TransitRouter(Protocol):
    """Timetable routing between stops or points (see module docstring)."""

    def earliest_arrival(
        self, origin: Place, destination: Place, *, depart_s: int, date: dt.date
    ) -> Journey | None: ...

    def arrive_by(
        self, origin: Place, destination: Place, *, arrive_s: int, date: dt.date
    ) -> Journey | None: ...

    def departure_window(
        self,
        origin: Place,
        destination: Place,
        *,
        start_s: int,
        end_s: int,
        date: dt.date,
        step_s: int = 60,
    ) -> DepartureWindow: ...

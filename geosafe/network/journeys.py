"""School journeys routed: walking and bus journeys between pupils' homes and a school.

:func:`route_journeys` routes every origin (:mod:`geosafe.network.origins`) to the school
arriving by the bell (``direction="to-school"``), or from the school home departing at the
bell (``direction="from-school"``): ``walk`` with one Dijkstra over the OSM walking network
(:class:`geosafe.network.walk.WalkNetwork`; the graph is undirected, so the walk home is the
walk to school reversed), ``bus`` through a ``TransitRouter`` (arrive-by in the morning,
earliest arrival in the afternoon, walking access and egress). The journeys carry their legs,
street segments and network edges but no exposure: scoring them is :mod:`geosafe.risk`'s work
(:func:`geosafe.risk.journeys.assess_journeys`). Walking speed is
:data:`geosafe.network.walk.WALK_SPEED_MPS` (1.3 m/s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from .._errors import RoutingError, ValidationError
from .origins import Origins, school_location
from .walk import WALK_SPEED_MPS, WalkNetwork, WalkRoutes

__all__ = [
    "DIRECTIONS",
    "FallbackWalk",
    "JourneyResult",
    "RoutedJourneys",
    "boarding_alternatives",
    "edges_of",
    "leg_value",
    "route_journeys",
    "street_segments",
    "transit_legs",
    "transit_shape",
]

#: ``to-school`` (arrive by the bell, the morning) or ``from-school`` (leave at the bell).
DIRECTIONS: Final = ("to-school", "from-school")


@dataclass(frozen=True)
class JourneyResult:
    """One origin's journey to (or from) the school (EPSG:27700 geometries).

    Distances are metres, durations seconds, exposures expected incidents per 1,000 journeys
    (:data:`geosafe.risk.exposure.EXPOSURE_UNITS`); ``None`` where not computed (routing
    alone leaves exposure to :mod:`geosafe.risk`). ``alt_*`` is the safer alternative: for a
    bus journey the journey itself until a safer one is found. ``direction`` says which way
    the journey goes; its geometry and legs run in that direction (home first for
    ``to-school``, school first for ``from-school``).
    """

    origin_id: str
    school_urn: str
    mode: str
    count: int
    distance_m: float | None = None
    duration_s: float | None = None
    depart_s: float | None = None
    arrive_s: float | None = None
    exposure: float | None = None
    hotspots_crossed: tuple[dict[str, Any], ...] = ()
    alt_distance_m: float | None = None
    alt_exposure: float | None = None
    geometry: BaseGeometry | None = None
    alt_geometry: BaseGeometry | None = None
    legs: tuple[dict[str, Any], ...] = ()
    snap_m: float | None = None
    error: str | None = None
    #: Edge indices of the walking network used (walk legs), for corridor counts.
    edges: tuple[int, ...] = field(default=(), repr=False)
    #: Geometry of each leg (EPSG:27700), parallel to ``legs``.
    leg_geometries: tuple[BaseGeometry | None, ...] = field(default=(), repr=False)
    direction: str = "to-school"


@dataclass(frozen=True)
class RoutedJourneys:
    """What :func:`route_journeys` found, with what scoring needs beyond the results.

    Attributes
    ----------
    results
        One :class:`JourneyResult` per origin, in the order of the origins (no exposure).
    school_xy
        The school, EPSG:27700.
    bell_s
        The bell, seconds after midnight: arrive by it (to school) or leave at it (home).
    date
        The day of travel.
    direction
        ``to-school`` or ``from-school``.
    walk_routes
        The walking routes (``walk`` mode; ``None`` when the school is off the network).
    transit
        The router's journey per origin (``bus`` mode; ``None`` where none was found).
    stop_names
        Stop id to stop name.
    """

    results: list[JourneyResult]
    school_xy: tuple[float, float]
    bell_s: float
    date: dt.date
    direction: str = "to-school"
    walk_routes: WalkRoutes | None = None
    transit: tuple[Any, ...] = ()
    stop_names: Mapping[Any, Any] = field(default_factory=dict)


def edges_of(net: WalkNetwork, nodes: npt.NDArray[np.int64]) -> tuple[int, ...]:
    """The walking-network edges between consecutive ``nodes`` of a path."""
    if len(nodes) < 2:
        return ()
    key = "edge_lookup"
    if key not in net._cache:
        from scipy import sparse

        ids = np.arange(net.n_edges) + 1
        n = net.n_nodes
        m = sparse.coo_array(
            (
                np.concatenate([ids, ids]),
                (
                    np.concatenate([net.edge_u, net.edge_v]),
                    np.concatenate([net.edge_v, net.edge_u]),
                ),
            ),
            shape=(n, n),
        ).tocsr()
        net._cache[key] = m
    m = net._cache[key]
    e = np.asarray(m[nodes[:-1], nodes[1:]]).ravel() - 1
    return tuple(int(i) for i in e if i >= 0)


def street_segments(
    net: WalkNetwork,
    edges: Sequence[int],
    edge_values: npt.NDArray[np.float64] | None = None,
) -> list[dict[str, Any]]:
    """The network part of a walk as runs of one street: name, metres, exposure, steps.

    ``edge_values`` (one number per network edge, e.g. the exposure of walking it) are
    summed per run into ``exposure``; without them ``exposure`` is ``None``. The short
    straight pieces from the door to the network are not in any segment. Unnamed ways are
    called by their ``highway`` tag in brackets (:meth:`WalkNetwork.edge_label`).
    """
    if not edges:
        return []
    e = np.asarray(edges, dtype=np.int64)
    names = net.edge_name[e]
    length = net.edge_length_m[e]
    ex = None if edge_values is None else edge_values[e]
    cut = np.flatnonzero(names[1:] != names[:-1]) + 1
    out = []
    for a, b in zip(np.r_[0, cut], np.r_[cut, len(e)], strict=True):
        out.append(
            {
                "name": str(names[a]) or f"({net.edge_highway[e[a]]})",
                "distance_m": round(float(length[a:b].sum()), 1),
                "exposure": None if ex is None else round(float(ex[a:b].sum()), 4),
                "steps": bool(net.edge_steps[e[a:b]].any()),
            }
        )
    return out


def _walk_journeys(
    urn: str,
    origins: Origins,
    school_xy: tuple[float, float],
    *,
    net: WalkNetwork,
    bell_s: float,
    max_m: float,
    speed_mps: float,
    direction: str,
) -> tuple[list[JourneyResult], WalkRoutes | None]:
    try:
        routes = net.routes_to(school_xy, origins.xy, max_m=max_m)
    except RoutingError as exc:  # the school itself is beyond the walking network
        return [
            JourneyResult(
                oid, urn, "walk", int(c), error=f"school_off_network: {exc}", direction=direction
            )
            for oid, c in zip(origins.origin_id, origins.count, strict=True)
        ], None
    home = direction == "from-school"
    out = []
    for i, oid in enumerate(origins.origin_id):
        count = int(origins.count[i])
        err = origins.error[i] or routes.reason[i]
        if err is not None:
            snap = routes.origin_snap_m[i]
            detail = f"{err}" + (
                f" (nearest walkable way {snap:.0f} m away)"
                if err == "origin_off_network" and np.isfinite(snap)
                else ""
            )
            out.append(JourneyResult(oid, urn, "walk", count, error=detail, direction=direction))
            continue
        dist = float(routes.distance_m[i])
        dur = dist / speed_mps
        nodes = routes.path_nodes[routes.path_offsets[i] : routes.path_offsets[i + 1]]
        edges = edges_of(net, nodes)
        geometry = routes.geometry[i]
        if home:  # the same streets walked the other way: school first
            edges = edges[::-1]
            geometry = shapely.reverse(geometry) if geometry is not None else None
        leg = {
            "mode": "walk",
            "distance_m": round(dist, 1),
            "duration_s": round(dur, 1),
            "exposure": None,
            "steps": bool(net.edge_steps[list(edges)].any()) if edges else False,
            "segments": street_segments(net, edges),
        }
        depart, arrive = (bell_s, bell_s + dur) if home else (bell_s - dur, bell_s)
        out.append(
            JourneyResult(
                oid,
                urn,
                "walk",
                count,
                distance_m=dist,
                duration_s=dur,
                depart_s=depart,
                arrive_s=arrive,
                geometry=geometry,
                legs=(leg,),
                snap_m=float(routes.origin_snap_m[i]),
                edges=edges,
                direction=direction,
            )
        )
    return out, routes


@dataclass(frozen=True)
class FallbackWalk:
    """Walk distances for the transit router that survive origins off the walk network.

    Uses :meth:`WalkNetwork.distances` where the point is on the network, else the
    straight-line distance times ``detour_factor`` (1.3, the transit router's own fallback),
    so a pupil living beyond the OSM extract still gets a bus journey (its access walk then
    estimated).
    """

    network: WalkNetwork
    detour_factor: float = 1.3

    @property
    def max_snap_m(self) -> float:
        """The network's snap limit, metres (see :class:`~geosafe.network.walk.WalkSettings`)."""
        return self.network.max_snap_m

    def distances(
        self, from_xy: tuple[float, float], to_xy: npt.ArrayLike, *, max_m: float = np.inf
    ) -> npt.NDArray[np.float64]:
        """Metres from ``from_xy`` to every point of ``to_xy`` (``inf`` beyond ``max_m``)."""
        b = np.asarray(to_xy, dtype=np.float64).reshape(-1, 2)
        try:
            return self.network.distances(from_xy, b, max_m=max_m)
        except RoutingError:
            d = np.hypot(b[:, 0] - from_xy[0], b[:, 1] - from_xy[1]) * self.detour_factor
            return np.asarray(np.where(d <= max_m, d, np.inf), dtype=np.float64)


def leg_value(leg: Any, name: str, default: Any = None) -> Any:
    """A field of a transit leg given as an object (:class:`~geosafe.network.transit.Leg`)
    or a dict."""
    return getattr(leg, name, leg.get(name, default) if isinstance(leg, dict) else default)


def transit_shape(journey: Any) -> tuple[BaseGeometry | None, float]:
    """A transit journey's line (MultiLineString of its legs) and its length travelled
    (walk and bus legs, metres)."""
    geoms = []
    length = 0.0
    for leg in list(leg_value(journey, "legs", []) or []):
        geom = leg_value(leg, "geometry")
        if geom is not None and geom.geom_type == "LineString":
            geoms.append(geom)
            if str(leg_value(leg, "mode", "")) != "wait":
                length += geom.length
    return (shapely.MultiLineString(geoms) if geoms else None), length


def transit_legs(journey: Any, stop_names: Mapping[Any, Any] | None = None) -> list[dict[str, Any]]:
    """A transit journey's legs as dicts (``exposure`` ``None``: scoring fills it in)."""
    stop_names = stop_names or {}
    out = []
    for leg in list(leg_value(journey, "legs", []) or []):
        geom = leg_value(leg, "geometry")
        wait_s = float(leg_value(leg, "wait_s", 0.0) or 0.0)
        out.append(
            {
                "mode": str(leg_value(leg, "mode", "")),
                "route": leg_value(leg, "route"),
                "from_stop": leg_value(leg, "from_stop"),
                "to_stop": leg_value(leg, "to_stop"),
                "from_stop_name": stop_names.get(leg_value(leg, "from_stop")),
                "to_stop_name": stop_names.get(leg_value(leg, "to_stop")),
                "depart_s": leg_value(leg, "depart_s"),
                "arrive_s": leg_value(leg, "arrive_s"),
                "wait_s": wait_s or None,
                "distance_m": round(geom.length, 1)
                if geom is not None and geom.geom_type == "LineString"
                else None,
                "exposure": None,
            }
        )
    return out


def boarding_alternatives(
    router: Any,
    net: WalkNetwork | None,
    xy: tuple[float, float],
    school_xy: tuple[float, float],
    journey: Any,
    *,
    bell_s: float,
    date: dt.date,
    direction: str = "to-school",
    n_stops: int = 4,
) -> list[Any]:
    """Journeys using another stop within walking reach of home (nearest ``n_stops`` first):
    boarding there on the way to school, alighting there on the way home."""
    stop_ids = getattr(router, "stop_ids", None)
    stop_xy = getattr(router, "xy", None)
    if stop_ids is None or stop_xy is None or net is None:
        return []
    home = direction == "from-school"
    used_key = "to_stop" if home else "from_stop"
    used = {leg_value(leg, used_key) for leg in journey.legs if leg_value(leg, "mode") == "bus"}
    max_walk = float(getattr(router, "max_walk_m", 800.0))
    speed = float(getattr(router, "walk_speed_mps", WALK_SPEED_MPS))
    try:
        d = net.distances(xy, stop_xy, max_m=max_walk)
    except RoutingError:
        return []
    order = [int(k) for k in np.argsort(d) if np.isfinite(d[k]) and stop_ids[k] not in used]
    out: list[Any] = []
    for k in order[:n_stops]:
        stop = str(stop_ids[k])
        try:
            if home:
                j = router.earliest_arrival(school_xy, stop, depart_s=int(bell_s), date=date)
            else:
                j = router.arrive_by(stop, school_xy, arrive_s=int(bell_s), date=date)
        except RoutingError:
            continue
        if j is None:
            continue
        sxy = (float(stop_xy[k, 0]), float(stop_xy[k, 1]))
        walk_s = float(d[k]) / speed
        if home:
            egress = {
                "mode": "walk",
                "from_stop": stop,
                "to_stop": None,
                "depart_s": float(j.arrival_s),
                "arrive_s": j.arrival_s + walk_s,
                "geometry": net.path_line(sxy, xy),
            }
            out.append(
                SimpleNamespace(
                    legs=[*j.legs, egress],
                    departure_s=j.departure_s,
                    arrival_s=j.arrival_s + walk_s,
                )
            )
            continue
        access = {
            "mode": "walk",
            "from_stop": None,
            "to_stop": stop,
            "depart_s": j.departure_s - walk_s,
            "arrive_s": float(j.departure_s),
            "geometry": net.path_line(xy, sxy),
        }
        out.append(
            SimpleNamespace(
                legs=[access, *j.legs], departure_s=j.departure_s - walk_s, arrival_s=j.arrival_s
            )
        )
    return out


def _no_journey_reason(router: Any, date: dt.date) -> str:
    feed = getattr(router, "feed", None)
    if feed is not None and hasattr(feed, "services_on") and not feed.services_on(date):
        # say why rather than leave every pupil with a bare "no_journey"
        return (
            f"no_journey: the timetable runs no service on {date.isoformat()}; pass a --date "
            "inside the feed's calendar (`geosafe gtfs-validate DIR` shows its dates)."
        )
    return "no_journey"


def _bus_journeys(
    urn: str,
    origins: Origins,
    school_xy: tuple[float, float],
    *,
    router: Any,
    bell_s: float,
    date: dt.date,
    direction: str,
) -> tuple[list[JourneyResult], tuple[Any, ...], dict[Any, Any]]:
    ids, labels = getattr(router, "stop_ids", None), getattr(router, "stop_names", None)
    names = dict(zip(ids, labels, strict=True)) if ids is not None and labels is not None else {}
    no_journey = _no_journey_reason(router, date)
    home = direction == "from-school"
    out = []
    raw: list[Any] = []
    for i, oid in enumerate(origins.origin_id):
        count = int(origins.count[i])
        raw.append(None)
        if origins.error[i] is not None:
            out.append(
                JourneyResult(oid, urn, "bus", count, error=origins.error[i], direction=direction)
            )
            continue
        xy = (float(origins.xy[i, 0]), float(origins.xy[i, 1]))
        try:
            if home:
                journey = router.earliest_arrival(school_xy, xy, depart_s=int(bell_s), date=date)
            else:
                journey = router.arrive_by(xy, school_xy, arrive_s=int(bell_s), date=date)
        except RoutingError as exc:
            out.append(
                JourneyResult(
                    oid, urn, "bus", count, error=f"no_journey: {exc}", direction=direction
                )
            )
            continue
        if journey is None:
            out.append(JourneyResult(oid, urn, "bus", count, error=no_journey, direction=direction))
            continue
        raw[-1] = journey
        geom, length = transit_shape(journey)
        dep, arr = float(journey.departure_s), float(journey.arrival_s)
        out.append(
            JourneyResult(
                oid,
                urn,
                "bus",
                count,
                distance_m=length,
                duration_s=arr - dep,
                depart_s=dep,
                arrive_s=arr,
                alt_distance_m=length,
                geometry=geom,
                alt_geometry=geom,
                legs=tuple(transit_legs(journey, names)),
                leg_geometries=tuple(leg_value(leg, "geometry") for leg in journey.legs),
                direction=direction,
            )
        )
    return out, tuple(raw), names


def route_journeys(
    school_urn: str,
    origins: Origins,
    *,
    mode: str,
    bell: dt.time,
    date: dt.date,
    direction: str = "to-school",
    network: WalkNetwork | None = None,
    router: Any | None = None,
    max_walk_m: float = 10_000.0,
    speed_mps: float = WALK_SPEED_MPS,
    data_dir: Path | str | None = None,
) -> RoutedJourneys:
    """Route every origin to the school arriving by the bell, or home leaving at it.

    Parameters
    ----------
    school_urn
        The school (bundled school list).
    origins
        From :func:`~geosafe.network.origins.origins_from_csv` /
        :func:`~geosafe.network.origins.origins_from_postcodes`.
    mode
        ``"walk"`` or ``"bus"``.
    bell
        Local time: the pupil must be at school by it (``to-school``), or leaves school at it
        (``from-school``).
    date
        The day of travel (service day for buses).
    direction
        ``"to-school"`` or ``"from-school"``.
    network
        Walking network (required for ``walk``).
    router
        A ``TransitRouter`` (required for ``bus``).
    max_walk_m
        Longest walk searched, metres.
    speed_mps
        Walking speed, metres per second.

    Returns
    -------
    RoutedJourneys
        One result per origin, in the order of ``origins``.
    """
    if direction not in DIRECTIONS:
        msg = f"`direction` {direction!r} is not supported; pass 'to-school' or 'from-school'."
        raise ValidationError(msg)
    xy, _ = school_location(school_urn, data_dir=data_dir)
    bell_s = float(bell.hour * 3600 + bell.minute * 60 + bell.second)
    if mode == "walk":
        if network is None:
            raise ValidationError("`network` is required for mode 'walk'; pass a WalkNetwork.")
        results, routes = _walk_journeys(
            school_urn,
            origins,
            xy,
            net=network,
            bell_s=bell_s,
            max_m=max_walk_m,
            speed_mps=speed_mps,
            direction=direction,
        )
        return RoutedJourneys(results, xy, bell_s, date, direction, walk_routes=routes)
    if mode == "bus":
        if router is None:
            raise ValidationError("`router` is required for mode 'bus'; pass a TransitRouter.")
        results, raw, names = _bus_journeys(
            school_urn, origins, xy, router=router, bell_s=bell_s, date=date, direction=direction
        )
        return RoutedJourneys(results, xy, bell_s, date, direction, transit=raw, stop_names=names)
    msg = f"`mode` {mode!r} is not supported; pass 'walk' or 'bus'."
    raise ValidationError(msg)

"""School journeys: pupil origins, walking and bus journeys to a school, scored for exposure.

Origins
-------
- points: a CSV with ``id`` and ``latitude,longitude`` (WGS84) or ``easting,northing`` (BNG)
  (:func:`origins_from_csv`);
- postcodes: Code-Point Open centroids (:func:`origins_from_postcodes`), from a school's
  uploaded list (a CSV with a ``postcode`` column; any other column is ignored and never read
  into the result, :func:`read_postcode_list`) or from the FAP referrals in the store
  (:func:`fap_home_postcodes`). Postcodes are **grouped**: one origin per distinct postcode
  with the number of pupils (``count``), so nothing downstream sees individual pupils.

Journeys
--------
:func:`plan_journeys` routes every origin to the school: ``walk`` with one Dijkstra over the
OSM walking network (:class:`geosafe.network.walk.WalkNetwork`), ``bus`` through a
``TransitRouter`` (``arrive_by`` the bell, walking access and egress), and scores each journey
with a :class:`geosafe.risk.ExposureModel` (per leg and in total) plus a safer alternative.
Riding exposure divides by the route's scheduled buses per hour at the boarding stop in the
journey's school-run window, counted in the router's GTFS feed (:class:`BusFrequency`).
Walking speed is :data:`geosafe.network.walk.WALK_SPEED_MPS` (1.3 m/s).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from .. import datasets
from .._errors import NotFoundError, RoutingError, ValidationError
from .walk import WALK_SPEED_MPS, WalkNetwork

if TYPE_CHECKING:
    from ..risk import ExposureModel

__all__ = [
    "BusFrequency",
    "FallbackWalk",
    "JourneyResult",
    "Origins",
    "fap_home_postcodes",
    "journeys_geojson",
    "origins_from_csv",
    "origins_from_postcodes",
    "plan_journeys",
    "read_postcode_list",
    "school_location",
]

log = logging.getLogger(__name__)

_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)
_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


@dataclass(frozen=True)
class Origins:
    """Journey origins (EPSG:27700).

    Attributes
    ----------
    origin_id
        Identifier per origin (the given ``id``, or the postcode).
    xy
        ``(n, 2)`` BNG metres; ``nan`` where the origin could not be placed.
    count
        Pupils at each origin.
    error
        ``None``, or why the origin has no location (``"postcode_unknown"``...).
    kind
        ``"point"``, ``"postcode"`` or ``"fap"``.
    """

    origin_id: tuple[str, ...]
    xy: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]
    error: tuple[str | None, ...]
    kind: str

    def __len__(self) -> int:
        return len(self.origin_id)


def _norm_postcode(text: object) -> str:
    return "".join(str(text).split()).upper() if text is not None else ""


def read_postcode_list(path: str | Path) -> list[str]:
    """Home postcodes from a school's CSV (``postcode`` column; other columns are not read).

    Raises
    ------
    ValidationError
        When the file has no ``postcode`` column.
    """
    path = Path(path)
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    cols = {c.strip().lower(): c for c in header.columns}
    if "postcode" not in cols:
        msg = (
            f"postcode file {str(path)!r} has columns {list(header.columns)!r}; it needs a "
            "`postcode` column (one home postcode per pupil, no names)."
        )
        raise ValidationError(msg)
    df = pd.read_csv(path, usecols=[cols["postcode"]], dtype=str, encoding="utf-8-sig")
    return [p for p in df.iloc[:, 0].fillna("").tolist() if p.strip()]


def origins_from_postcodes(
    postcodes: Iterable[str], *, data_dir: Path | str | None = None, kind: str = "postcode"
) -> Origins:
    """One origin per distinct postcode (Code-Point Open centroid) with its pupil count.

    Unknown or malformed postcodes become origins without a location and the error
    ``"postcode_unknown"``.
    """
    keys = [_norm_postcode(p) for p in postcodes]
    keys = [k for k in keys if k]
    if not keys:
        return Origins((), np.zeros((0, 2)), np.zeros(0, dtype=np.int64), (), kind)
    counts = pd.Series(keys).value_counts(sort=False)
    table = datasets.postcodes(data_dir)
    idx = counts.index
    found = idx.isin(table.index)
    xy = np.full((len(idx), 2), np.nan)
    if found.any():
        rows = table.loc[idx[found]]
        xy[found, 0] = rows["easting"].to_numpy(dtype=float)
        xy[found, 1] = rows["northing"].to_numpy(dtype=float)
    # the standard written form ("N8 0DU"), whatever spacing the input or Code-Point used
    names = [f"{k[:-3]} {k[-3:]}" if len(k) > 3 else k for k in idx]
    errors = tuple(None if f else "postcode_unknown" for f in found)
    return Origins(tuple(names), xy, np.asarray(counts.to_numpy(), dtype=np.int64), errors, kind)


def origins_from_csv(path: str | Path) -> Origins:
    """Point origins from a CSV with ``id`` and ``latitude,longitude`` or ``easting,northing``.

    Raises
    ------
    ValidationError
        When the columns are missing.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    df.columns = [c.strip().lower() for c in df.columns]
    if "id" not in df.columns:
        msg = f"origins file {str(path)!r} has no `id` column; columns are {list(df.columns)!r}."
        raise ValidationError(msg)
    if {"latitude", "longitude"} <= set(df.columns):
        lat = pd.to_numeric(df["latitude"], errors="coerce").to_numpy(dtype=float)
        lon = pd.to_numeric(df["longitude"], errors="coerce").to_numpy(dtype=float)
        x, y = _TO_BNG.transform(lon, lat)
        xy = np.column_stack([x, y])
    elif {"easting", "northing"} <= set(df.columns):
        xy = np.column_stack(
            [
                pd.to_numeric(df["easting"], errors="coerce").to_numpy(dtype=float),
                pd.to_numeric(df["northing"], errors="coerce").to_numpy(dtype=float),
            ]
        )
    else:
        msg = (
            f"origins file {str(path)!r} has columns {list(df.columns)!r}; it needs "
            "`latitude,longitude` (WGS84) or `easting,northing` (British National Grid)."
        )
        raise ValidationError(msg)
    bad = ~np.isfinite(xy).all(axis=1)
    errors = tuple("coordinates_invalid" if b else None for b in bad)
    return Origins(
        tuple(df["id"].fillna("").astype(str)),
        xy,
        np.ones(len(df), dtype=np.int64),
        errors,
        "point",
    )


def fap_home_postcodes(store: Any, school_urn: str) -> list[str]:
    """Home postcodes of the FAP referrals to ``school_urn`` in the store (one per referral).

    Parameters
    ----------
    store
        A :class:`geosafe.store.Store`.
    school_urn
        The school's URN.
    """
    fap = store.incidents(sources=["fap"], with_location=False)
    if fap.empty:
        return []
    urn = fap["school_urn"].astype(str)
    mine = fap[urn == str(school_urn)]
    out = []
    for d in mine["detail"]:
        pc = (d or {}).get("home_postcode") if isinstance(d, dict) else None
        if pc:
            out.append(str(pc))
    return out


def school_location(
    urn: str, *, data_dir: Path | str | None = None
) -> tuple[tuple[float, float], str]:
    """A bundled school's position (EPSG:27700) and name.

    Raises
    ------
    NotFoundError
        When the URN is not in the bundled school list.
    """
    schools = datasets.schools(data_dir)
    hit = schools[schools["urn"].astype(str) == str(urn)]
    if hit.empty:
        msg = (
            f"`school` {urn!r} is not in the bundled school list; pass a current DfE URN "
            "(see data/schools/schools.csv)."
        )
        raise NotFoundError(msg)
    g = hit.geometry.iloc[0]
    return (float(g.x), float(g.y)), str(hit["name"].iloc[0])


@dataclass(frozen=True)
class JourneyResult:
    """One origin's journey to the school (EPSG:27700 geometries).

    Distances are metres, durations seconds, exposures expected incidents per 1,000 journeys
    (:data:`geosafe.risk.EXPOSURE_UNITS`); ``None`` where not computed.
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


def _hotspot_dicts(
    model: ExposureModel | None, line: BaseGeometry | None
) -> tuple[dict[str, Any], ...]:
    if model is None:
        return ()
    return tuple(
        {"id": h.hotspot_id, "active": h.active, "peak_density_km2": round(h.peak_density, 1)}
        for h in model.hotspots_crossed(line)
    )


def _edges_of(net: WalkNetwork, nodes: npt.NDArray[np.int64]) -> tuple[int, ...]:
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


def _segments(
    net: WalkNetwork, edges: Sequence[int], model: ExposureModel | None
) -> list[dict[str, Any]]:
    """The network part of a walk as runs of one street: name, metres, exposure, steps.

    Exposure is per 1,000 journeys (the same units as the leg); the short straight pieces
    from the door to the network are not in any segment.
    """
    if not edges:
        return []
    e = np.asarray(edges, dtype=np.int64)
    names = net.edge_name[e]
    length = net.edge_length_m[e]
    ex = (
        model.edge_density(net)[e] * length * model.walk_factor * 1000.0
        if model is not None
        else None
    )
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
    model: ExposureModel | None,
    arrive_s: float,
    max_detour: float,
    max_m: float,
) -> list[JourneyResult]:
    from ..risk import safer_walks

    try:
        routes = net.routes_to(school_xy, origins.xy, max_m=max_m)
    except RoutingError as exc:  # the school itself is beyond the walking network
        return [
            JourneyResult(oid, urn, "walk", int(c), error=f"school_off_network: {exc}")
            for oid, c in zip(origins.origin_id, origins.count, strict=True)
        ]
    exposure = model.walk(routes.geometry).per_1000 if model is not None else None
    alt = (
        safer_walks(net, model, school_xy, origins.xy, routes, max_detour=max_detour)
        if model is not None
        else None
    )
    speed = model.speed_mps if model is not None else WALK_SPEED_MPS
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
            out.append(JourneyResult(oid, urn, "walk", count, error=detail))
            continue
        dist = float(routes.distance_m[i])
        dur = dist / speed
        nodes = routes.path_nodes[routes.path_offsets[i] : routes.path_offsets[i + 1]]
        ex = None if exposure is None else float(exposure[i])
        edges = _edges_of(net, nodes)
        leg = {
            "mode": "walk",
            "distance_m": round(dist, 1),
            "duration_s": round(dur, 1),
            "exposure": None if ex is None else round(ex, 4),
            "steps": bool(net.edge_steps[list(edges)].any()) if edges else False,
            "segments": _segments(net, edges, model),
        }
        out.append(
            JourneyResult(
                oid,
                urn,
                "walk",
                count,
                distance_m=dist,
                duration_s=dur,
                depart_s=arrive_s - dur,
                arrive_s=arrive_s,
                exposure=ex,
                hotspots_crossed=_hotspot_dicts(model, routes.geometry[i]),
                alt_distance_m=None if alt is None else float(alt.distance_m[i]),
                alt_exposure=None if alt is None else float(alt.exposure[i]),
                geometry=routes.geometry[i],
                alt_geometry=None if alt is None else alt.geometry[i],
                legs=(leg,),
                snap_m=float(routes.origin_snap_m[i]),
                edges=edges,
            )
        )
    return out


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
            from .gtfs import expand_frequencies

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
            log.warning(
                "route %r has no departure from stop %r in the feed around the journey; "
                "assuming %.1f buses an hour",
                route,
                stop,
                self.fallback,
            )
            return self.fallback
        return n / hours


def _leg_get(leg: Any, name: str, default: Any = None) -> Any:
    return getattr(leg, name, leg.get(name, default) if isinstance(leg, dict) else default)


def _score_bus(
    journey: Any,
    model: ExposureModel | None,
    stop_names: Mapping[Any, Any] | None = None,
    freq: BusFrequency | None = None,
) -> tuple[float | None, list[dict[str, Any]], BaseGeometry | None, float]:
    """Exposure of a transit journey, its legs as dicts, its geometry and its length.

    Riding exposure uses the route's scheduled buses per hour at the boarding stop from
    ``freq`` (the model's 7.5 when ``freq`` is ``None``).
    """
    stop_names = stop_names or {}
    legs_out: list[dict[str, Any]] = []
    total = 0.0
    geoms = []
    length = 0.0
    legs = list(_leg_get(journey, "legs", []) or [])
    for j, leg in enumerate(legs):
        mode = str(_leg_get(leg, "mode", ""))
        geom = _leg_get(leg, "geometry")
        depart, arrive = _leg_get(leg, "depart_s"), _leg_get(leg, "arrive_s")
        wait_s = float(_leg_get(leg, "wait_s", 0.0) or 0.0)
        e = 0.0
        tph: float | None = None
        if model is not None:
            if mode == "walk" and geom is not None:
                e = float(model.walk([geom]).expected[0])
            elif mode == "wait":
                where = geom
                if where is None and j + 1 < len(legs):
                    nxt = _leg_get(legs[j + 1], "geometry")
                    where = shapely.Point(nxt.coords[0]) if nxt is not None else None
                if where is not None:
                    c = where.centroid
                    secs = wait_s or (
                        float(arrive) - float(depart)
                        if arrive is not None and depart is not None
                        else 0.0
                    )
                    e = model.wait((c.x, c.y), secs)
            elif mode == "bus":
                route = _leg_get(leg, "route")
                if freq is not None:
                    tph = freq.per_hour(route, _leg_get(leg, "from_stop"), board_s=depart)
                e = model.ride(route, geom, trips_per_hour=tph)
        total += e
        if geom is not None and geom.geom_type == "LineString":
            geoms.append(geom)
            if mode != "wait":
                length += geom.length
        legs_out.append(
            {
                "mode": mode,
                "route": _leg_get(leg, "route"),
                "from_stop": _leg_get(leg, "from_stop"),
                "to_stop": _leg_get(leg, "to_stop"),
                "from_stop_name": stop_names.get(_leg_get(leg, "from_stop")),
                "to_stop_name": stop_names.get(_leg_get(leg, "to_stop")),
                "depart_s": depart,
                "arrive_s": arrive,
                "wait_s": wait_s or None,
                "distance_m": round(geom.length, 1)
                if geom is not None and geom.geom_type == "LineString"
                else None,
                "exposure": round(e * 1000.0, 4) if model is not None else None,
                **({"buses_per_hour": round(tph, 2)} if tph is not None else {}),
            }
        )
    geometry = shapely.MultiLineString(geoms) if geoms else None
    return (total * 1000.0 if model is not None else None), legs_out, geometry, length


def _boarding_alternatives(
    router: Any,
    net: WalkNetwork | None,
    xy: tuple[float, float],
    school_xy: tuple[float, float],
    journey: Any,
    *,
    arrive_s: float,
    date: dt.date,
    n_stops: int = 4,
) -> list[Any]:
    """Journeys boarding at another stop within walking reach (nearest ``n_stops`` first)."""
    stop_ids = getattr(router, "stop_ids", None)
    stop_xy = getattr(router, "xy", None)
    if stop_ids is None or stop_xy is None or net is None:
        return []
    boarded = {_leg_get(leg, "from_stop") for leg in journey.legs if _leg_get(leg, "mode") == "bus"}
    max_walk = float(getattr(router, "max_walk_m", 800.0))
    speed = float(getattr(router, "walk_speed_mps", WALK_SPEED_MPS))
    try:
        d = net.distances(xy, stop_xy, max_m=max_walk)
    except RoutingError:
        return []
    order = [int(k) for k in np.argsort(d) if np.isfinite(d[k]) and stop_ids[k] not in boarded]
    out: list[Any] = []
    for k in order[:n_stops]:
        try:
            j = router.arrive_by(str(stop_ids[k]), school_xy, arrive_s=int(arrive_s), date=date)
        except RoutingError:
            continue
        if j is None:
            continue
        sxy = (float(stop_xy[k, 0]), float(stop_xy[k, 1]))
        walk_s = float(d[k]) / speed
        access = {
            "mode": "walk",
            "from_stop": None,
            "to_stop": str(stop_ids[k]),
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


def _bus_journeys(
    urn: str,
    origins: Origins,
    school_xy: tuple[float, float],
    *,
    router: Any,
    model: ExposureModel | None,
    arrive_s: float,
    date: dt.date,
    net: WalkNetwork | None,
    max_detour: float,
) -> list[JourneyResult]:
    ids, labels = getattr(router, "stop_ids", None), getattr(router, "stop_names", None)
    names = dict(zip(ids, labels, strict=True)) if ids is not None and labels is not None else {}
    freq = None
    if getattr(router, "feed", None) is not None:
        from ..calendar import SCHOOL_RUN_WINDOWS
        from ..risk import journey_window

        clock = dt.time(int(arrive_s // 3600) % 24, int(arrive_s % 3600 // 60))
        windows = journey_window(clock) or SCHOOL_RUN_WINDOWS
        freq = BusFrequency(router.feed, date, tuple(windows))
    no_journey = "no_journey"
    feed = getattr(router, "feed", None)
    if feed is not None and hasattr(feed, "services_on") and not feed.services_on(date):
        # say why rather than leave every pupil with a bare "no_journey"
        no_journey = (
            f"no_journey: the timetable runs no service on {date.isoformat()}; pass a --date "
            "inside the feed's calendar (`geosafe gtfs-validate DIR` shows its dates)."
        )
    out = []
    for i, oid in enumerate(origins.origin_id):
        count = int(origins.count[i])
        if origins.error[i] is not None:
            out.append(JourneyResult(oid, urn, "bus", count, error=origins.error[i]))
            continue
        xy = (float(origins.xy[i, 0]), float(origins.xy[i, 1]))
        try:
            journey = router.arrive_by(xy, school_xy, arrive_s=int(arrive_s), date=date)
        except RoutingError as exc:
            out.append(JourneyResult(oid, urn, "bus", count, error=f"no_journey: {exc}"))
            continue
        if journey is None:
            out.append(JourneyResult(oid, urn, "bus", count, error=no_journey))
            continue
        ex, legs, geom, length = _score_bus(journey, model, names, freq)
        leg_geoms = tuple(_leg_get(leg, "geometry") for leg in journey.legs)
        dep, arr = float(journey.departure_s), float(journey.arrival_s)
        alt_d, alt_e = length, ex
        alt_geom = geom
        if model is not None and ex is not None:
            base_dur = arr - dep
            for other in _boarding_alternatives(
                router, net, xy, school_xy, journey, arrive_s=arrive_s, date=date
            ):
                oe, _, og, ol = _score_bus(other, model, names, freq)
                odur = float(other.arrival_s) - float(other.departure_s)
                if (
                    oe is not None
                    and alt_e is not None
                    and oe < alt_e
                    and odur <= base_dur * (1 + max_detour)
                ):
                    alt_d, alt_e, alt_geom = ol, oe, og
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
                exposure=ex,
                hotspots_crossed=_hotspot_dicts(model, geom),
                alt_distance_m=alt_d,
                alt_exposure=alt_e,
                geometry=geom,
                alt_geometry=alt_geom,
                legs=tuple(legs),
                leg_geometries=leg_geoms,
            )
        )
    return out


def plan_journeys(
    school_urn: str,
    origins: Origins,
    *,
    mode: str,
    arrive_by: dt.time,
    date: dt.date,
    network: WalkNetwork | None = None,
    router: Any | None = None,
    model: ExposureModel | None = None,
    max_detour: float = 0.2,
    max_walk_m: float = 10_000.0,
    data_dir: Path | str | None = None,
) -> list[JourneyResult]:
    """Journeys of every origin to a school, arriving by the bell.

    Parameters
    ----------
    school_urn
        The school (bundled school list).
    origins
        From :func:`origins_from_csv` / :func:`origins_from_postcodes`.
    mode
        ``"walk"`` or ``"bus"``.
    arrive_by
        Local time the pupil must be at school.
    date
        The day of travel (service day for buses).
    network
        Walking network (required for ``walk``).
    router
        A ``TransitRouter`` (required for ``bus``).
    model
        Exposure model; without it exposures are ``None``.
    max_detour
        Longest detour accepted for a safer alternative (share of the base length/time).
    max_walk_m
        Longest walk searched, metres.

    Returns
    -------
    list of JourneyResult
        One per origin, in the order of ``origins``.
    """
    xy, _ = school_location(school_urn, data_dir=data_dir)
    arrive_s = float(arrive_by.hour * 3600 + arrive_by.minute * 60 + arrive_by.second)
    if mode == "walk":
        if network is None:
            raise ValidationError("`network` is required for mode 'walk'; pass a WalkNetwork.")
        return _walk_journeys(
            school_urn,
            origins,
            xy,
            net=network,
            model=model,
            arrive_s=arrive_s,
            max_detour=max_detour,
            max_m=max_walk_m,
        )
    if mode == "bus":
        if router is None:
            raise ValidationError("`router` is required for mode 'bus'; pass a TransitRouter.")
        return _bus_journeys(
            school_urn,
            origins,
            xy,
            router=router,
            model=model,
            arrive_s=arrive_s,
            date=date,
            net=network,
            max_detour=max_detour,
        )
    msg = f"`mode` {mode!r} is not supported; pass 'walk' or 'bus'."
    raise ValidationError(msg)


def _wgs(geom: BaseGeometry | None) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    g = shapely.transform(geom, lambda c: np.column_stack(_TO_WGS.transform(c[:, 0], c[:, 1])))
    g = shapely.set_precision(g, 1e-6)
    mapping: dict[str, Any] = shapely.geometry.mapping(g)
    return mapping


def _num(v: float | None, nd: int = 1) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), nd)


def journeys_geojson(
    results: Sequence[JourneyResult],
    *,
    exposure_units: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS84, RFC 7946): one feature per origin.

    Properties: ``origin_id``, ``school_urn``, ``mode``, ``distance_m``, ``duration_s``,
    ``exposure``, ``exposure_units``, ``hotspots_crossed``, ``alt_distance_m``,
    ``alt_exposure`` and, for information, ``count``, ``depart_s``, ``arrive_s``,
    ``snap_m``, ``legs``, ``alt_geometry`` (WGS84); an unroutable origin has a null geometry
    and an ``error``.
    """
    from ..risk import EXPOSURE_UNITS

    units = exposure_units or EXPOSURE_UNITS
    feats = []
    for i, r in enumerate(results):
        props: dict[str, Any] = {
            "origin_id": r.origin_id,
            "school_urn": r.school_urn,
            "mode": r.mode,
            "distance_m": _num(r.distance_m),
            "duration_s": _num(r.duration_s),
            "exposure": _num(r.exposure, 4),
            "exposure_units": units,
            "hotspots_crossed": list(r.hotspots_crossed),
            "alt_distance_m": _num(r.alt_distance_m),
            "alt_exposure": _num(r.alt_exposure, 4),
            "count": r.count,
            "depart_s": _num(r.depart_s, 0),
            "arrive_s": _num(r.arrive_s, 0),
            "snap_m": _num(r.snap_m),
            "legs": list(r.legs),
            "alt_geometry": _wgs(r.alt_geometry) if r.alt_geometry is not r.geometry else None,
        }
        if r.error is not None:
            props["error"] = r.error
        feats.append(
            {"type": "Feature", "id": i, "geometry": _wgs(r.geometry), "properties": props}
        )
    out: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
    if metadata:
        out["metadata"] = metadata
    return out

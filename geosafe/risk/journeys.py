"""School journeys scored: routes from :mod:`geosafe.network.journeys` with their exposure
per leg and in total, the hotspots they cross and a safer alternative.

:func:`assess_journeys` routes (:func:`geosafe.network.journeys.route_journeys`) and scores
with an :class:`~geosafe.risk.exposure.ExposureModel`: walking by the density along the route,
waiting by the incidents near the stop, riding by the incidents on the route ridden divided by
the route's scheduled buses per hour at the boarding stop in the journey's school-run window
(:class:`geosafe.network.frequency.BusFrequency`). The safer alternative is the least exposed
walk within a bounded detour (:func:`geosafe.risk.safer.safer_walks`), or for a bus journey
the least exposed one using another stop near home.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from ..network.frequency import BusFrequency
from ..network.journeys import (
    JourneyResult,
    RoutedJourneys,
    boarding_alternatives,
    leg_value,
    route_journeys,
    street_segments,
    transit_legs,
    transit_shape,
)
from ..network.origins import Origins
from ..network.walk import WALK_SPEED_MPS, WalkNetwork
from .exposure import EXPOSURE_UNITS, ExposureModel, journey_window
from .safer import safer_walks

__all__ = ["assess_journeys", "hotspot_dicts", "journeys_geojson", "score_transit"]

_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


def hotspot_dicts(
    model: ExposureModel | None, line: BaseGeometry | None
) -> tuple[dict[str, Any], ...]:
    """The hotspots a line crosses as ``id``, ``active``, ``peak_density_km2``."""
    if model is None:
        return ()
    return tuple(
        {"id": h.hotspot_id, "active": h.active, "peak_density_km2": round(h.peak_density, 1)}
        for h in model.hotspots_crossed(line)
    )


def score_transit(
    journey: Any,
    model: ExposureModel | None,
    stop_names: Mapping[Any, Any] | None = None,
    freq: BusFrequency | None = None,
) -> tuple[float | None, list[dict[str, Any]], BaseGeometry | None, float]:
    """Exposure of a transit journey, its legs as dicts, its geometry and its length.

    Riding exposure uses the route's scheduled buses per hour at the boarding stop from
    ``freq`` (the model's 7.5 when ``freq`` is ``None``).
    """
    legs_out = transit_legs(journey, stop_names)
    geometry, length = transit_shape(journey)
    if model is None:
        return None, legs_out, geometry, length
    total = 0.0
    legs = list(leg_value(journey, "legs", []) or [])
    for j, (leg, out) in enumerate(zip(legs, legs_out, strict=True)):
        mode = out["mode"]
        geom = leg_value(leg, "geometry")
        depart, arrive = out["depart_s"], out["arrive_s"]
        e = 0.0
        tph: float | None = None
        if mode == "walk" and geom is not None:
            e = float(model.walk([geom]).expected[0])
        elif mode == "wait":
            where = geom
            if where is None and j + 1 < len(legs):
                nxt = leg_value(legs[j + 1], "geometry")
                where = shapely.Point(nxt.coords[0]) if nxt is not None else None
            if where is not None:
                c = where.centroid
                secs = out["wait_s"] or (
                    float(arrive) - float(depart)
                    if arrive is not None and depart is not None
                    else 0.0
                )
                e = model.wait((c.x, c.y), secs)
        elif mode == "bus":
            route = out["route"]
            if freq is not None:
                tph = freq.per_hour(route, out["from_stop"], board_s=depart)
            e = model.ride(route, geom, trips_per_hour=tph)
        total += e
        out["exposure"] = round(e * 1000.0, 4)
        if tph is not None:
            out["buses_per_hour"] = round(tph, 2)
    return total * 1000.0, legs_out, geometry, length


def _score_walks(
    routed: RoutedJourneys,
    origins: Origins,
    net: WalkNetwork,
    model: ExposureModel,
    max_detour: float,
) -> list[JourneyResult]:
    routes = routed.walk_routes
    if routes is None:
        return routed.results
    exposure = model.walk(routes.geometry).per_1000
    # safer_walks routes towards the school; the reverse walk home is as exposed
    alt = safer_walks(net, model, routed.school_xy, origins.xy, routes, max_detour=max_detour)
    edge_values = model.edge_density(net) * net.edge_length_m * model.walk_factor * 1000.0
    home = routed.direction == "from-school"
    out = []
    for i, r in enumerate(routed.results):
        if r.error is not None:
            out.append(r)
            continue
        ex = float(exposure[i])
        (leg,) = r.legs
        leg = {
            **leg,
            "exposure": round(ex, 4),
            "segments": street_segments(net, r.edges, edge_values),
        }
        alt_geom = alt.geometry[i]
        if alt.beta[i] == 0:  # no safer walk: the alternative is the route itself
            alt_geom = r.geometry
        elif home and alt_geom is not None:
            alt_geom = shapely.reverse(alt_geom)
        out.append(
            dataclasses.replace(
                r,
                exposure=ex,
                hotspots_crossed=hotspot_dicts(model, r.geometry),
                alt_distance_m=float(alt.distance_m[i]),
                alt_exposure=float(alt.exposure[i]),
                alt_geometry=alt_geom,
                legs=(leg,),
            )
        )
    return out


def _score_buses(
    routed: RoutedJourneys,
    origins: Origins,
    *,
    router: Any,
    net: WalkNetwork | None,
    model: ExposureModel | None,
    max_detour: float,
) -> list[JourneyResult]:
    freq = None
    if getattr(router, "feed", None) is not None:
        from ..calendar import SCHOOL_RUN_WINDOWS

        b = routed.bell_s
        clock = dt.time(int(b // 3600) % 24, int(b % 3600 // 60))
        windows = journey_window(clock) or SCHOOL_RUN_WINDOWS
        freq = BusFrequency(router.feed, routed.date, tuple(windows))
    out = []
    for i, (r, journey) in enumerate(zip(routed.results, routed.transit, strict=True)):
        if journey is None:
            out.append(r)
            continue
        ex, legs, _, length = score_transit(journey, model, routed.stop_names, freq)
        geom = r.geometry
        alt_d, alt_e, alt_geom = length, ex, geom
        if model is not None and ex is not None:
            xy = (float(origins.xy[i, 0]), float(origins.xy[i, 1]))
            base_dur = float(journey.arrival_s) - float(journey.departure_s)
            for other in boarding_alternatives(
                router,
                net,
                xy,
                routed.school_xy,
                journey,
                bell_s=routed.bell_s,
                date=routed.date,
                direction=routed.direction,
            ):
                oe, _, og, ol = score_transit(other, model, routed.stop_names, freq)
                odur = float(other.arrival_s) - float(other.departure_s)
                if (
                    oe is not None
                    and alt_e is not None
                    and oe < alt_e
                    and odur <= base_dur * (1 + max_detour)
                ):
                    alt_d, alt_e, alt_geom = ol, oe, og
        out.append(
            dataclasses.replace(
                r,
                exposure=ex,
                hotspots_crossed=hotspot_dicts(model, geom),
                alt_distance_m=alt_d,
                alt_exposure=alt_e,
                alt_geometry=alt_geom,
                legs=tuple(legs),
            )
        )
    return out


def assess_journeys(
    school_urn: str,
    origins: Origins,
    *,
    mode: str,
    bell: dt.time,
    date: dt.date,
    direction: str = "to-school",
    network: WalkNetwork | None = None,
    router: Any | None = None,
    model: ExposureModel | None = None,
    max_detour: float = 0.2,
    max_walk_m: float = 10_000.0,
    data_dir: Path | str | None = None,
) -> list[JourneyResult]:
    """Journeys of every origin to a school (arriving by the bell) or home (leaving at it),
    scored for exposure.

    Parameters
    ----------
    school_urn, origins, mode, bell, date, direction, network, router, max_walk_m
        As :func:`geosafe.network.journeys.route_journeys`.
    model
        Exposure model; without it exposures are ``None``.
    max_detour
        Longest detour accepted for a safer alternative (share of the base length/time).

    Returns
    -------
    list of JourneyResult
        One per origin, in the order of ``origins``.
    """
    routed = route_journeys(
        school_urn,
        origins,
        mode=mode,
        bell=bell,
        date=date,
        direction=direction,
        network=network,
        router=router,
        max_walk_m=max_walk_m,
        speed_mps=model.speed_mps if model is not None else WALK_SPEED_MPS,
        data_dir=data_dir,
    )
    if mode == "walk":
        if model is None or network is None:
            return routed.results
        return _score_walks(routed, origins, network, model, max_detour)
    return _score_buses(
        routed, origins, router=router, net=network, model=model, max_detour=max_detour
    )


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
    safe_places: Any = None,
    day: dt.date | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS84, RFC 7946): one feature per origin.

    With ``safe_places`` (:func:`geosafe.protect.safe_places.load_safe_places`) and the
    ``day`` of the journeys, each feature also says ``passes_safe_places`` (safe places
    open when the pupil walks by) and lists ``safe_places`` within 50 m of its walks.

    Properties: ``origin_id``, ``school_urn``, ``mode``, ``distance_m``, ``duration_s``,
    ``exposure``, ``exposure_units``, ``hotspots_crossed``, ``alt_distance_m``,
    ``alt_exposure`` and, for information, ``count``, ``depart_s``, ``arrive_s``,
    ``snap_m``, ``legs``, ``alt_geometry`` (WGS84), ``direction``; an unroutable origin has a
    null geometry and an ``error``.
    """
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
            "direction": r.direction,
        }
        if r.error is not None:
            props["error"] = r.error
        elif safe_places is not None and day is not None:
            from ..protect.safe_places import journey_safe_places

            props.update(journey_safe_places(r, safe_places, day=day))
        feats.append(
            {"type": "Feature", "id": i, "geometry": _wgs(r.geometry), "properties": props}
        )
    out: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
    if metadata:
        out["metadata"] = metadata
    return out

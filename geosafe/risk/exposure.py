"""Exposure of school journeys to incidents, hotspots crossed, and safer walking alternatives.

Method and units
----------------
The relevant incidents (sources, categories and the journey's own time window, e.g. the
``school-run`` preset of :mod:`geosafe.filters`) over an analysis period give:

- a kernel density surface λ(x), incidents per km² over the period
  (:func:`geosafe.hotspots.kde.kde_surface`);
- ``window_hours`` H: the hours of that time window inside the period (for the school run,
  5.25 h on every school day of the calendar), so μ(x) = λ(x) / H is incidents per km² per
  hour of the window, assumed uniform over the window.

**Exposure** is the expected number of relevant incidents that happen *within r metres of the
pupil* (``radius_m``, default 50 m) while the pupil makes the journey, reported **per 1,000
journeys**:

- walking at speed v (1.3 m/s): E = π r² / (H · v) · ∫ λ dℓ along the leg, with r² in km²,
  H in hours and v in metres per hour (the line integral
  of the density, midpoint rule on pieces of at most ``step_m`` = 10 m);
- waiting at a stop for w seconds: E = N_r(stop) / H · w, with N_r the relevant incidents
  within r of the stop (those geocoded to the stop by its code sit on it);
- riding a bus: E = N_ride / (H · trips_per_hour), with N_ride the relevant incidents on
  that route along the stretch ridden (route incidents spread along their line, point
  incidents carrying the route within r of the stretch) and ``trips_per_hour`` the buses
  per hour on the route: the scheduled departures of the route at the boarding stop in the
  journey's time window on the day of travel, counted in the router's GTFS feed
  (:class:`geosafe.network.journeys.BusFrequency`); 7.5 (an 8-minute headway,
  :attr:`ExposureModel.trips_per_hour`) only when the feed lacks the route. The expected
  incidents aboard the pupil's own bus.

All three are "expected incidents per journey"; :data:`EXPOSURE_UNITS` names the scale used in
outputs (× 1,000). A route outside the surface contributes nothing (its density is unknown,
not zero: see ``outside_m`` on :class:`WalkExposure`).

**Hotspots** are the connected areas of the surface's densest ``top_percent`` (default 5%)
of area (:func:`geosafe.hotspots.surfaces.hotspot_polygons`); each carries its peak density, the incidents inside it and the time of
day when they happen (:attr:`Hotspot.active`).

Safer alternatives are in :mod:`geosafe.risk.safer`, school reports in
:mod:`geosafe.risk.report`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from ..incident import CRS_BNG
from ..network.walk import WALK_SPEED_MPS, WalkNetwork

__all__ = [
    "EXPOSURE_UNITS",
    "ExposureModel",
    "Hotspot",
    "Surface",
    "WalkExposure",
    "build_exposure_model",
    "find_hotspots",
    "journey_window",
    "window_hours",
]

log = logging.getLogger(__name__)

#: How exposure values are expressed in every output.
EXPOSURE_UNITS: Final = (
    "expected relevant incidents within 50 m of the pupil (aboard, when riding) per 1,000 journeys"
)
_PER: Final = 1000.0
_M2_PER_KM2: Final = 1e6


class Surface(Protocol):
    """A density surface: what :class:`geosafe.hotspots.kde.KdeResult` provides."""

    @property
    def grid(self) -> np.ndarray: ...

    @property
    def transform(self) -> Any: ...

    def value_at(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray: ...


@dataclass(frozen=True)
class Hotspot:
    """A connected area of high incident density.

    Attributes
    ----------
    hotspot_id
        ``"HS01"``... in decreasing peak density.
    geometry
        Polygon, EPSG:27700.
    peak_density
        Highest density inside, incidents per km² over the period.
    incidents
        Relevant incidents inside (point incidents).
    active
        When its incidents happen, local time of day: ``"08:00-09:00, 15:00-17:00"`` (hours
        holding at least half the busiest hour's count), or ``"unknown"``.
    """

    hotspot_id: str
    geometry: BaseGeometry
    peak_density: float
    incidents: int
    active: str


@dataclass(frozen=True)
class WalkExposure:
    """Exposure of walking lines.

    Attributes
    ----------
    integral
        ∫ λ dℓ per line: (incidents per km²) × metres.
    expected
        Expected relevant incidents within ``radius_m`` per journey.
    outside_m
        Metres of each line outside the surface (no density known there).
    """

    integral: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    outside_m: npt.NDArray[np.float64]

    @property
    def per_1000(self) -> npt.NDArray[np.float64]:
        """Expected incidents per 1,000 journeys."""
        return self.expected * _PER


@dataclass(frozen=True)
class ExposureModel:
    """Everything needed to score journeys (see the module notes for the method).

    Attributes
    ----------
    surface
        Density, incidents per km² over the period (EPSG:27700).
    window_hours
        Hours of the journey's time window inside the analysis period.
    incidents
        The relevant incidents (``FRAME_COLUMNS``, EPSG:27700) behind the surface.
    hotspots
        The hotspots of the surface.
    radius_m
        Radius around the pupil counted as "near", metres.
    speed_mps
        Walking speed, metres per second.
    trips_per_hour
        Buses per hour on a route used for riding exposure when the caller gives no
        scheduled frequency (the timetable lacks the route); default 7.5, an 8-minute
        headway.
    params
        The filter and surface settings used (JSON-serialisable).
    """

    surface: Surface
    window_hours: float
    incidents: gpd.GeoDataFrame
    hotspots: tuple[Hotspot, ...] = ()
    radius_m: float = 50.0
    speed_mps: float = WALK_SPEED_MPS
    trips_per_hour: float = 7.5
    step_m: float = 10.0
    params: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.window_hours > 0:
            msg = (
                f"`window_hours` {self.window_hours!r} must be positive; the time window "
                "selects no hours in the period (check the dates and the calendar)."
            )
            raise ValidationError(msg)

    # ---------------------------------------------------------------- walking
    def walk(self, lines: Sequence[BaseGeometry | None] | npt.NDArray[np.object_]) -> WalkExposure:
        """Exposure of walking along each line (EPSG:27700); ``None`` lines score ``nan``."""
        geoms = np.asarray(lines, dtype=object)
        n = len(geoms)
        integral = np.full(n, np.nan)
        outside = np.full(n, np.nan)
        valid = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
        if valid.any():
            # midpoint rule on the line cut into pieces of at most ``step_m``
            dense = shapely.segmentize(geoms[valid], self.step_m)
            xy, idx = shapely.get_coordinates(dense, return_index=True)
            same = idx[1:] == idx[:-1]
            mid = (xy[1:][same] + xy[:-1][same]) / 2.0
            seg = np.hypot(*(xy[1:][same] - xy[:-1][same]).T)
            line_idx = idx[1:][same]
            val = self.surface.value_at(mid[:, 0], mid[:, 1])
            miss = ~np.isfinite(val)
            m = int(valid.sum())
            integral[valid] = np.bincount(
                line_idx, weights=np.where(miss, 0.0, val) * seg, minlength=m
            )
            outside[valid] = np.bincount(line_idx, weights=miss * seg, minlength=m)
        # μ = λ / H per km² per hour; time near each metre = 1 / (v · 3600) hours
        expected = integral * self.walk_factor
        return WalkExposure(integral=integral, expected=expected, outside_m=outside)

    @property
    def walk_factor(self) -> float:
        """Expected incidents per unit of ∫ λ dℓ ((incidents per km²) × metres) walked."""
        area_km2 = math.pi * self.radius_m**2 / _M2_PER_KM2
        return area_km2 / (self.window_hours * self.speed_mps * 3600.0)

    def edge_density(self, net: WalkNetwork) -> npt.NDArray[np.float64]:
        """Mean density along every edge of ``net``, incidents per km² (0 outside)."""
        key = f"edge_density:{net.source_sha256}:{net.n_edges}"
        if key not in self._cache:
            ex = self.walk(net.edge_geometries())
            self._cache[key] = np.nan_to_num(ex.integral / np.maximum(net.edge_length_m, 1e-9))
        out: npt.NDArray[np.float64] = self._cache[key]
        return out

    # ---------------------------------------------------------------- waiting and riding
    def _points(self) -> gpd.GeoDataFrame:
        if "points" not in self._cache:
            inc = self.incidents
            self._cache["points"] = inc[inc.geometry.notna() & (inc.geometry.geom_type == "Point")]
        pts: gpd.GeoDataFrame = self._cache["points"]
        return pts

    def wait(self, xy: tuple[float, float], wait_s: float) -> float:
        """Expected incidents within ``radius_m`` of a stop during a wait of ``wait_s`` s."""
        pts = self._points()
        if pts.empty or not wait_s > 0:
            return 0.0
        d = np.hypot(pts.geometry.x.to_numpy() - xy[0], pts.geometry.y.to_numpy() - xy[1])
        near = float(pts["weight"].to_numpy(dtype=float)[d <= self.radius_m].sum())
        return near / self.window_hours * (wait_s / 3600.0)

    def ride(
        self,
        route: str | None,
        stretch: BaseGeometry | None,
        *,
        trips_per_hour: float | None = None,
    ) -> float:
        """Expected incidents aboard the pupil's bus along a ridden stretch of ``route``.

        ``trips_per_hour`` is the route's scheduled buses per hour (from the timetable);
        ``None`` uses the model's :attr:`trips_per_hour` (7.5 unless set).
        """
        tph = self.trips_per_hour if trips_per_hour is None else float(trips_per_hour)
        if not tph > 0:
            msg = f"`trips_per_hour` {tph!r} must be positive; pass the buses per hour."
            raise ValidationError(msg)
        if route is None or stretch is None or stretch.is_empty:
            return 0.0
        inc = self.incidents
        on = inc[
            (inc["route"].astype(str).str.upper() == str(route).upper()) & inc.geometry.notna()
        ]
        if on.empty:
            return 0.0
        zone = stretch.buffer(self.radius_m)
        total = 0.0
        for geom, w in zip(on.geometry, on["weight"].to_numpy(dtype=float), strict=True):
            if geom.geom_type == "Point":
                total += w if zone.contains(geom) else 0.0
            elif geom.length > 0:
                total += w * geom.intersection(zone).length / geom.length
        return total / (self.window_hours * tph)

    # ---------------------------------------------------------------- hotspots
    def hotspots_crossed(self, line: BaseGeometry | None) -> list[Hotspot]:
        """The hotspots a line passes through, highest peak first."""
        if line is None or not self.hotspots:
            return []
        if "tree" not in self._cache:
            self._cache["tree"] = shapely.STRtree([h.geometry for h in self.hotspots])
        hit = self._cache["tree"].query(line, predicate="intersects")
        return [self.hotspots[i] for i in sorted(int(i) for i in hit)]


def _minute_mask(windows: Sequence[tuple[dt.time, dt.time]]) -> npt.NDArray[np.bool_]:
    """Minutes of the day (0..1439) inside local-time windows (end exclusive, may wrap)."""
    mask = np.zeros(1440, dtype=bool)
    minute = np.arange(1440)
    for a, b in windows:
        lo, hi = a.hour * 60 + a.minute, b.hour * 60 + b.minute
        mask |= ((minute >= lo) & (minute < hi)) if lo < hi else ((minute >= lo) | (minute < hi))
    return mask


def journey_window(arrive_by: dt.time) -> tuple[tuple[dt.time, dt.time], ...] | None:
    """The part of the school run a journey arriving at ``arrive_by`` travels in.

    The morning window (07:30-09:30) for a journey arriving in it, the afternoon one
    (14:45-18:00) likewise; ``None`` (the whole school run) when the arrival is in neither.
    """
    from ..calendar import SCHOOL_RUN_WINDOWS

    for a, b in SCHOOL_RUN_WINDOWS:
        if a <= arrive_by <= b:
            return ((a, b),)
    return None


def window_hours(
    start: dt.date,
    end: dt.date,
    *,
    preset: str | None = "school-run",
    hours: Sequence[tuple[dt.time, dt.time]] | None = None,
    weekdays: Sequence[int] | None = None,
    calendar: Any | None = None,
) -> float:
    """Hours of a time window between two dates (inclusive): what an incident filter selects.

    Parameters
    ----------
    start, end
        The analysis period (local dates).
    preset
        A key of :data:`geosafe.filters.PRESETS`; ``None`` or ``"all-day"``: no restriction.
    hours
        Extra local-time windows, combined with the preset's by AND (as
        :class:`geosafe.filters.IncidentFilter` does), e.g. only the morning of the school run.
    weekdays
        Extra weekday restriction (Monday = 0), AND-combined.
    calendar
        School calendar for presets limited to school days (default: the bundled one).

    Returns
    -------
    float
        Hours.
    """
    from .. import calendar as school_calendar
    from ..filters import PRESETS

    if end < start:
        msg = f"`end` {end.isoformat()!r} is before `start` {start.isoformat()!r}; swap them."
        raise ValidationError(msg)
    days = pd.date_range(start, end, freq="D")
    p = PRESETS.get(preset) if preset else None
    keep = np.ones(len(days), dtype=bool)
    minutes = np.ones(1440, dtype=bool)
    for wd in (p.weekdays if p else None, weekdays):
        if wd:
            keep &= np.isin(days.day_of_week, list(wd))
    for windows in (p.hours if p else None, hours):
        if windows:
            minutes &= _minute_mask(windows)
    if p is not None and p.school_days_only:
        cal = calendar or school_calendar.default_calendar()
        keep &= cal.school_day_mask(days.values.astype("datetime64[D]"))
    return float(keep.sum() * minutes.sum() / 60.0)


def _active_hours(times: pd.Series) -> str:
    """Hours of day holding at least half of the busiest hour's incidents, as ranges."""
    if times.empty:
        return "unknown"
    local = pd.to_datetime(times, utc=True).dt.tz_convert("Europe/London")
    counts = np.bincount(local.dt.hour.to_numpy(), minlength=24)
    if counts.max() == 0:
        return "unknown"
    hot = counts >= max(1, 0.5 * counts.max())
    ranges: list[str] = []
    h = 0
    while h < 24:
        if hot[h]:
            s = h
            while h < 24 and hot[h]:
                h += 1
            ranges.append(f"{s:02d}:00-{h % 24:02d}:00")
        else:
            h += 1
    return ", ".join(ranges)


def find_hotspots(
    surface: Surface,
    incidents: gpd.GeoDataFrame,
    *,
    top_percent: float = 5.0,
) -> tuple[Hotspot, ...]:
    """Hotspots: connected areas of the densest ``top_percent`` % of the surface.

    The polygons come from :func:`geosafe.hotspots.surfaces.hotspot_polygons` (cells at or
    above the density where the top share of the study area begins, 8-connected); this adds
    when each one is active.

    Parameters
    ----------
    surface
        The density surface (a :class:`geosafe.hotspots.kde.KdeResult`).
    incidents
        Relevant incidents (to count and time those inside each hotspot).
    top_percent
        Share of the surface's area called hot, percent.

    Returns
    -------
    tuple of Hotspot
        Highest peak density first.
    """
    from ..hotspots.surfaces import hotspot_polygons

    pts = incidents[incidents.geometry.notna() & (incidents.geometry.geom_type == "Point")]
    polys = hotspot_polygons(cast(Any, surface), top_percent=top_percent, points=pts)
    polys = polys.to_crs(CRS_BNG)
    out: list[Hotspot] = []
    for i, row in enumerate(polys.itertuples(), start=1):
        poly = row.geometry
        inside = pts[pts.geometry.within(poly)] if not pts.empty else pts
        minute = inside[inside["time_precision"] == "minute"] if not inside.empty else inside
        active = _active_hours(minute["occurred_from"]) if not minute.empty else "unknown"
        out.append(Hotspot(f"HS{i:02d}", poly, float(row.peak_density), int(row.incidents), active))
    return tuple(out)


def build_exposure_model(
    incidents: gpd.GeoDataFrame,
    *,
    incident_filter: Any | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    bandwidth: float = 200.0,
    cell: float = 25.0,
    study_area: BaseGeometry | None = None,
    radius_m: float = 50.0,
    top_percent: float = 5.0,
    trips_per_hour: float = 7.5,
) -> ExposureModel:
    """The exposure model of a journey's time window from incidents of the store.

    Parameters
    ----------
    incidents
        Incidents (``FRAME_COLUMNS``, EPSG:27700), e.g. ``Store(path).incidents()``.
    incident_filter
        A :class:`geosafe.filters.IncidentFilter` (sources, categories, the time window);
        default: the ``school-run`` preset, every source but ``fap`` (a referral's location
        is where its notes place it, not where the pupil travels).
    start, end
        The analysis period (local dates); default: the span of the filtered incidents.
    bandwidth, cell
        Quartic kernel support radius and grid cell, metres.
    study_area
        Polygon bounding the surface (EPSG:27700); default: the incidents' extent.
    radius_m, top_percent, trips_per_hour
        See :class:`ExposureModel` and :func:`find_hotspots`.

    Returns
    -------
    ExposureModel
    """
    from ..filters import IncidentFilter
    from ..hotspots.kde import kde_surface

    filt = incident_filter or IncidentFilter(
        sources=("dir", "asif", "cris", "police_uk"), preset="school-run"
    )
    rel = filt.apply(incidents)
    rel = rel[rel.geometry.notna()]
    if start is None or end is None:
        if rel.empty:
            msg = "no incident passes the filter; widen the filter or import incidents first."
            raise ValidationError(msg)
        local = pd.to_datetime(rel["occurred_from"], utc=True).dt.tz_convert("Europe/London")
        start = start or local.min().date()
        end = end or local.max().date()
    if rel.empty:
        xy = np.zeros((0, 2))
        surface = kde_surface(
            xy,
            bandwidth=bandwidth,
            cell=cell,
            study_area=study_area,
            bounds=study_area.bounds if study_area is not None else None,
        )
    else:
        surface = kde_surface(rel, bandwidth=bandwidth, cell=cell, study_area=study_area)
    hours = window_hours(
        start,
        end,
        preset=filt.preset,
        hours=filt.hours,
        weekdays=filt.weekdays,
        calendar=getattr(filt, "calendar", None),
    )
    hotspots = find_hotspots(surface, rel, top_percent=top_percent)
    params = {
        "filter": filt.describe(),
        "period": [start.isoformat(), end.isoformat()],
        "window_hours": hours,
        "bandwidth_m": float(surface.bandwidth_m),
        "cell_m": float(surface.cell_m),
        "kernel": surface.kernel,
        "incidents": len(rel),
        "radius_m": radius_m,
        "trips_per_hour": trips_per_hour,
    }
    return ExposureModel(
        surface=surface,
        window_hours=hours,
        incidents=rel.to_crs(CRS_BNG) if rel.crs is not None else rel,
        hotspots=hotspots,
        radius_m=radius_m,
        trips_per_hour=trips_per_hour,
        params=params,
    )

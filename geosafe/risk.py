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

**Safer alternative** (:func:`safer_walks`): Dijkstra on cost = length · (1 + β · λ̄ₑ / λ̄),
λ̄ₑ the mean density along edge e and λ̄ the length-weighted mean over the network, for a
ladder of β; per origin the route with the least exposure whose length stays within
``max_detour`` (default 20%) of the shortest is kept (the shortest itself when none is safer).
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

from ._errors import ValidationError
from .incident import CRS_BNG, FLAG_NAMES
from .network.walk import WALK_SPEED_MPS, WalkNetwork, WalkRoutes

__all__ = [
    "EXPOSURE_UNITS",
    "ExposureModel",
    "Hotspot",
    "SaferWalks",
    "Surface",
    "WalkExposure",
    "build_exposure_model",
    "find_hotspots",
    "journey_window",
    "safer_walks",
    "window_hours",
]

log = logging.getLogger(__name__)

#: How exposure values are expressed in every output.
EXPOSURE_UNITS: Final = (
    "expected relevant incidents within 50 m of the pupil (aboard, when riding) per 1,000 journeys"
)
_PER: Final = 1000.0
_M2_PER_KM2: Final = 1e6
_BETAS: Final = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


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
    from .calendar import SCHOOL_RUN_WINDOWS

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
    from . import calendar as school_calendar
    from .filters import PRESETS

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
    from .hotspots.surfaces import hotspot_polygons

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
    from .filters import IncidentFilter
    from .hotspots.kde import kde_surface

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


@dataclass(frozen=True)
class SaferWalks:
    """Safer walking alternatives, one per origin of a :class:`WalkRoutes`.

    Attributes
    ----------
    distance_m
        Length of the alternative, metres (the shortest route's when none is safer).
    exposure
        Its exposure, expected incidents per 1,000 journeys.
    geometry
        The alternative route (EPSG:27700).
    beta
        The exposure weight that produced it (0 = the shortest route itself).
    """

    distance_m: npt.NDArray[np.float64]
    exposure: npt.NDArray[np.float64]
    geometry: npt.NDArray[np.object_]
    beta: npt.NDArray[np.float64]


def safer_walks(
    net: WalkNetwork,
    model: ExposureModel,
    target_xy: tuple[float, float],
    origins_xy: npt.ArrayLike,
    shortest: WalkRoutes,
    *,
    max_detour: float = 0.2,
    betas: Sequence[float] = _BETAS,
    max_m: float = 10_000.0,
) -> SaferWalks:
    """The least-exposed walking route within a bounded detour, per origin.

    Parameters
    ----------
    net, model
        The walking network and the exposure model.
    target_xy, origins_xy
        The school and the origins (EPSG:27700), as given to ``shortest``.
    shortest
        The shortest routes (:meth:`WalkNetwork.routes_to`, with geometry).
    max_detour
        Longest accepted detour as a share of the shortest length (0.2 = 20% longer).
    betas
        Exposure weights tried (one Dijkstra each).
    max_m
        Search limit, cost units (metres for β = 0).

    Returns
    -------
    SaferWalks
    """
    if not 0 <= max_detour <= 2:
        msg = f"`max_detour` {max_detour!r} must be between 0 and 2 (0.2 = 20% longer)."
        raise ValidationError(msg)
    base = model.walk(shortest.geometry).per_1000
    best_d = shortest.distance_m.copy()
    best_e = base.copy()
    best_g = shortest.geometry.copy()
    best_b = np.zeros(len(best_d))
    dens = model.edge_density(net)
    mean = float(np.sum(dens * net.edge_length_m) / net.edge_length_m.sum())
    if not mean > 0:
        return SaferWalks(best_d, best_e, best_g, best_b)
    bound = shortest.distance_m * (1.0 + max_detour) + 1e-6
    for beta in betas:
        w = net.edge_length_m * (1.0 + beta * dens / mean)
        alt = net.routes_to(target_xy, origins_xy, max_m=np.inf, weights=w)
        e = model.walk(alt.geometry).per_1000
        better = alt.ok & shortest.ok & (alt.distance_m <= bound) & (e < best_e - 1e-12)
        best_d[better] = alt.distance_m[better]
        best_e[better] = e[better]
        best_g[better] = alt.geometry[better]
        best_b[better] = beta
    return SaferWalks(best_d, best_e, best_g, best_b)


# ---------------------------------------------------------------------------- school report
#: The FAP referral flags (``flag_`` dropped), in template order.
FAP_FLAGS: Final = FLAG_NAMES[FLAG_NAMES.index("cse") :]


@dataclass(frozen=True)
class SchoolReport:
    """A school's journeys aggregated for its report (EPSG:27700).

    Attributes
    ----------
    school_urn, school_name
        The school.
    role
        Who the report is for: ``analyst`` (exact counts) or ``school``/``neighbourhood``
        (counts of 1-9 suppressed, others rounded to the nearest 5; corridors used by fewer
        than 10 pupils left out).
    corridors
        Street segments (``kind="street"``, walking) and bus route stretches (``kind="bus"``)
        with ``pupils``.
    hotspots
        "Hotspots along this school's routes": ``rank``, ``hotspot_id``, ``pupils`` crossing,
        ``active``, ``peak_density_km2``, ``incidents``.
    need_matrix
        FAP referrals to the school by flag: ``flag``, ``referrals``.
    summary
        Counts of pupils, routed journeys by mode, unroutable origins, exposure medians, the
        exposure model's parameters.
    notes
        Plain-language notes on suppression, rounding and the data used.
    """

    school_urn: str
    school_name: str
    role: str
    corridors: gpd.GeoDataFrame
    hotspots: gpd.GeoDataFrame
    need_matrix: pd.DataFrame
    summary: dict[str, Any]
    notes: tuple[str, ...]


def _publish(values: Sequence[float] | np.ndarray, role: str) -> tuple[list[Any], list[bool]]:
    """Counts as the role may see them: exact for analysts, else suppressed and rounded."""
    arr = np.asarray(values, dtype=float)
    if role == "analyst":
        return [int(v) for v in arr], [False] * len(arr)
    from .privacy import round_counts

    out, sup = round_counts(arr)
    return [None if not np.isfinite(v) else int(v) for v in out], [bool(s) for s in sup]


def need_matrix(fap: pd.DataFrame, school_urn: str) -> pd.DataFrame:
    """FAP referrals to a school counted per flag (the "data matrix of need").

    Parameters
    ----------
    fap
        FAP incidents (``FRAME_COLUMNS``; ``flags`` tuples of flag names without ``flag_``).
    school_urn
        The school.

    Returns
    -------
    pandas.DataFrame
        ``flag``, ``referrals`` (flag Y), ``not_recorded`` (flag blank: unknown, never 0 by
        default; a referral imported before flags had three states counts as not recorded
        unless Y), with a final ``all_referrals`` row.
    """
    mine = fap[fap["school_urn"].astype(str) == str(school_urn)] if not fap.empty else fap
    counts = {f: 0 for f in FAP_FLAGS}
    unknown = {f: 0 for f in FAP_FLAGS}
    details = mine["detail"] if "detail" in mine.columns else [None] * len(mine)
    for flags, detail in zip(mine["flags"] if not mine.empty else [], details, strict=True):
        for f in flags or ():
            if f in counts:
                counts[f] += 1
        states = (detail or {}).get("flag_states") or {}
        for f in unknown:
            if states.get(f, "Y" if f in (flags or ()) else "U") == "U":
                unknown[f] += 1
    rows: list[tuple[str, int, int | None]] = [(f, n, unknown[f]) for f, n in counts.items()]
    rows.append(("all_referrals", len(mine), None))
    return pd.DataFrame(rows, columns=["flag", "referrals", "not_recorded"])


def school_report(
    school_urn: str,
    journeys: Sequence[Any],
    *,
    school_name: str,
    network: WalkNetwork,
    model: ExposureModel | None,
    fap: pd.DataFrame,
    role: str = "analyst",
    params: dict[str, Any] | None = None,
) -> SchoolReport:
    """Aggregate one school's journeys into corridors, hotspots along them and needs.

    Parameters
    ----------
    school_urn, school_name
        The school.
    journeys
        :class:`geosafe.network.journeys.JourneyResult` per origin (the mode each pupil is
        assumed to use; ``count`` pupils each).
    network
        The walking network the walk journeys used (for street segments).
    model
        The exposure model (hotspots); ``None`` gives an empty hotspot table.
    fap
        FAP incidents (for the need matrix).
    role
        ``analyst``, ``school`` or ``neighbourhood`` (disclosure control, see
        :class:`SchoolReport`).
    params
        Settings to record in the summary (date, arrival time...).

    Returns
    -------
    SchoolReport
    """
    if role not in ("analyst", "school", "neighbourhood"):
        msg = f"`role` {role!r} is unknown; pass 'analyst', 'school' or 'neighbourhood'."
        raise ValidationError(msg)
    routed = [j for j in journeys if j.error is None and j.geometry is not None]
    # -- street segments: pupils per walking-network edge, merged by street name and count
    edge_pupils = np.zeros(network.n_edges)
    for j in routed:
        if j.edges:
            np.add.at(edge_pupils, np.asarray(j.edges, dtype=np.int64), j.count)
    used = np.flatnonzero(edge_pupils > 0)
    geoms = network.edge_geometries()
    dens = model.edge_density(network) if model is not None else np.full(network.n_edges, np.nan)
    street = pd.DataFrame(
        {
            "name": [network.edge_name[e] or f"({network.edge_highway[e]})" for e in used],
            "pupils": edge_pupils[used],
            "length": network.edge_length_m[used],
            "dens": dens[used] * network.edge_length_m[used],
            "geometry": geoms[used],
        }
    )
    rows: list[dict[str, Any]] = []
    for (name, pupils), grp in street.groupby(["name", "pupils"], sort=False):
        length = float(grp["length"].sum())
        rows.append(
            {
                "kind": "street",
                "name": name,
                "pupils": float(pupils),  # type: ignore[arg-type]
                "length_m": round(length, 1),
                "mean_density_km2": round(float(grp["dens"].sum()) / length, 2)
                if model is not None and length > 0
                else None,
                "geometry": shapely.line_merge(shapely.union_all(grp["geometry"].to_numpy())),
            }
        )
    # -- bus stretches: pupils per (route, boarding stop, alighting stop)
    bus: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
    for j in journeys:
        if j.error is not None or j.mode != "bus":
            continue
        for leg, g in zip(j.legs, j.leg_geometries or [None] * len(j.legs), strict=False):
            if leg.get("mode") != "bus":
                continue
            key = (
                leg.get("route"),
                leg.get("from_stop_name") or leg.get("from_stop"),
                leg.get("to_stop_name") or leg.get("to_stop"),
            )
            item = bus.setdefault(key, {"pupils": 0.0, "geometry": g})
            item["pupils"] += j.count
    for (route, a, b), item in bus.items():
        rows.append(
            {
                "kind": "bus",
                "name": f"route {route}: {a} to {b}",
                "pupils": item["pupils"],
                "length_m": round(item["geometry"].length, 1)
                if item["geometry"] is not None
                else None,
                "mean_density_km2": None,
                "geometry": item["geometry"],
            }
        )
    corridors = gpd.GeoDataFrame(
        rows or None,
        columns=["kind", "name", "pupils", "length_m", "mean_density_km2", "geometry"],
        geometry="geometry",
        crs=CRS_BNG,
    )
    # -- hotspots along the routes
    hs_rows: list[dict[str, Any]] = []
    if model is not None:
        crossing: dict[str, float] = {}
        for j in routed:
            for h in model.hotspots_crossed(j.geometry):
                crossing[h.hotspot_id] = crossing.get(h.hotspot_id, 0.0) + j.count
        by_id = {h.hotspot_id: h for h in model.hotspots}
        ranked = sorted(crossing, key=lambda k: (-crossing[k] * by_id[k].peak_density, k))
        for rank, hid in enumerate(ranked, start=1):
            h = by_id[hid]
            hs_rows.append(
                {
                    "rank": rank,
                    "hotspot_id": hid,
                    "pupils": crossing[hid],
                    "active": h.active,
                    "peak_density_km2": round(h.peak_density, 1),
                    "incidents": float(h.incidents),
                    "geometry": h.geometry,
                }
            )
    hotspots = gpd.GeoDataFrame(
        hs_rows or None,
        columns=[
            "rank",
            "hotspot_id",
            "pupils",
            "active",
            "peak_density_km2",
            "incidents",
            "geometry",
        ],
        geometry="geometry",
        crs=CRS_BNG,
    )
    matrix = need_matrix(fap, school_urn)
    # -- disclosure control
    notes = [
        "Walking routes follow OpenStreetMap paths a pedestrian may use; bus journeys use the "
        "estimated demo-area timetable (built from TfL stop sequences, run times and headways "
        "estimated).",
        "Pupils are counted at their home postcode (grouped); each pupil is assumed to walk "
        "when the walk is short enough, else to take the bus.",
    ]
    dropped = 0
    if role != "analyst":
        for table in (corridors, hotspots):
            if not table.empty:
                pub, sup = _publish(table["pupils"].to_numpy(), role)
                table["pupils"] = pub
                table["suppressed"] = sup
        if not hotspots.empty:
            hotspots["incidents"] = _publish(hotspots["incidents"].to_numpy(), role)[0]
        if not corridors.empty:
            small = corridors["suppressed"].to_numpy(dtype=bool)
            dropped = int(small.sum())
            corridors = corridors[~small].drop(columns="suppressed").reset_index(drop=True)
        pub, sup = _publish(matrix["referrals"].to_numpy(), role)
        unrec = _publish(matrix["not_recorded"].fillna(0).to_numpy(), role)[0]
        matrix = matrix.assign(referrals=pub, suppressed=sup, not_recorded=unrec)
        notes.append(
            "Counts from 1 to 9 are suppressed (shown as 'fewer than 10') and all other counts "
            "are rounded to the nearest 5, following ONS practice, so small groups of pupils "
            "cannot be identified; rounded figures may not add up to the totals."
        )
        notes.append(
            f"{dropped} street segment(s) or bus stretch(es) used by fewer than 10 pupils are "
            "not shown."
        )
    else:
        corridors["pupils"] = corridors["pupils"].astype(int) if not corridors.empty else []
        notes.append("Analyst view: counts are exact and must not be shared outside the role.")
    exposures = [j.exposure for j in routed if j.exposure is not None]
    alts = [j.alt_exposure for j in routed if j.alt_exposure is not None]
    n_pupils = sum(j.count for j in journeys)
    summary: dict[str, Any] = {
        "pupils": n_pupils,
        "origins": len(journeys),
        "routed": {m: sum(j.count for j in routed if j.mode == m) for m in ("walk", "bus")},
        "unroutable": sum(j.count for j in journeys if j.error is not None),
        "median_exposure": float(np.median(exposures)) if exposures else None,
        "median_alt_exposure": float(np.median(alts)) if alts else None,
        "exposure_units": EXPOSURE_UNITS,
        "model": model.params if model is not None else None,
        **(params or {}),
    }
    if role != "analyst":
        for skey in ("pupils", "unroutable"):
            summary[skey] = _publish([summary[skey]], role)[0][0]
        summary["routed"] = {m: _publish([v], role)[0][0] for m, v in summary["routed"].items()}
        summary["origins"] = None
        if isinstance(summary["model"], dict) and "incidents" in summary["model"]:
            incidents = summary["model"]["incidents"]
            summary["model"] = {**summary["model"], "incidents": _publish([incidents], role)[0][0]}
    return SchoolReport(
        school_urn, school_name, role, corridors, hotspots, matrix, summary, tuple(notes)
    )

"""Named places along a school's routes, ranked: where the hotspots its pupils pass are, when
incidents happen there, how many pupils pass, and whether it is getting better or worse.

Each journey window (the morning run to school, the afternoon run home) has its own exposure
model and hotspots (:class:`~geosafe.risk.exposure.ExposureModel`). A hotspot crossed by the
window's routed journeys becomes a place, named by :class:`~geosafe.risk.naming.PlaceNamer`;
hotspots of both windows with the same name are one place. Per place:

- ``pupils``: pupils whose route passes through it (the larger of the two windows: a pupil who
  passes it both ways is one pupil);
- ``when``: the half-hours of the day holding at least half of the busiest half-hour's
  incidents there (records timed to the minute only), with the window they fall in;
- ``incidents_recent`` / ``incidents_previous``: relevant incidents inside it in the latest
  ``months`` months of the analysis period and in the ``months`` before; ``trend`` compares
  them per school-run hour (school holidays differ between the two), computed from the counts
  the role may see (rounded for non-analysts, so the trend reveals nothing the counts do not);
- ``concentration``: the peak density as a multiple of the mean density of the surface
  (plain words for ``peak_density_km2``).

Ranking: pupils passing × peak density, highest first (the order the hotspot table used).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..incident import CRS_BNG
from .exposure import ExposureModel, Hotspot, window_hours

__all__ = ["PLACE_COLUMNS", "JourneyWindow", "active_times", "rank_places", "trend_word"]

#: Columns of the ranked places table (besides ``geometry``).
PLACE_COLUMNS: Final = (
    "rank",
    "place",
    "windows",
    "pupils",
    "when",
    "incidents_recent",
    "incidents_previous",
    "trend",
    "concentration",
    "hotspot_ids",
    "peak_density_km2",
)
_BIN_MIN: Final = 30


@dataclass(frozen=True)
class JourneyWindow:
    """One journey window of a school report: its label (``morning``/``afternoon``), its
    journeys (:class:`~geosafe.network.journeys.JourneyResult`) and its exposure model."""

    label: str
    journeys: Sequence[Any]
    model: ExposureModel | None


def active_times(times: pd.Series, *, bin_min: int = _BIN_MIN) -> str:
    """Half-hours of the day (local time) holding at least half of the busiest one's
    incidents, as ranges: ``"08:00-08:30, 15:30-16:30"``; ``"not known"`` without times."""
    if times.empty:
        return "not known"
    local = pd.to_datetime(times, utc=True).dt.tz_convert("Europe/London")
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    n = 1440 // bin_min
    counts = np.bincount(minute // bin_min, minlength=n)
    hot = counts >= max(1, 0.5 * counts.max())
    ranges: list[str] = []
    i = 0
    while i < n:
        if hot[i]:
            s = i
            while i < n and hot[i]:
                i += 1
            a, b = s * bin_min, (i * bin_min) % 1440
            ranges.append(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}")
        else:
            i += 1
    return ", ".join(ranges)


def trend_word(recent: float | None, previous: float | None, hours: tuple[float, float]) -> str:
    """Compare two counts per school-run hour: ``up``, ``down``, ``about the same``, ``new``,
    or ``too few to say`` (a suppressed count, or fewer than 10 in the two periods together)."""
    if recent is None or previous is None or recent + previous < 10:
        return "too few to say"
    h_now, h_prev = hours
    if not (h_now > 0 and h_prev > 0):
        return "no earlier data"
    if previous == 0:
        return "new" if recent > 0 else "none either time"
    ratio = (recent / h_now) / (previous / h_prev)
    if ratio >= 1.25:
        return f"up (x{ratio:.1f} per school-run hour)"
    if ratio <= 0.8:
        return f"down (x{ratio:.1f} per school-run hour)"
    return "about the same"


def _months_back(day: dt.date, months: int) -> dt.date:
    m = day.month - months
    y = day.year + (m - 1) // 12
    m = (m - 1) % 12 + 1
    last = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(y, m, min(day.day, last))


def _periods(model: ExposureModel, months: int) -> tuple[tuple[dt.date, dt.date], ...]:
    """(recent, previous) periods ending at the model's period end; shortened to half the
    data span when the data does not cover two whole periods."""
    start, end = (dt.date.fromisoformat(d) for d in model.params["period"])
    span = (end.year - start.year) * 12 + end.month - start.month
    months = max(1, min(months, span // 2))
    cut = _months_back(end, months)
    first = _months_back(cut, months)
    return (cut + dt.timedelta(days=1), end), (first + dt.timedelta(days=1), cut)


def _window_hours(model: ExposureModel, period: tuple[dt.date, dt.date]) -> float:
    """School-run hours of the model's time window in a period (as the model counts them)."""
    flt = model.params.get("filter") or {}
    hours: list[tuple[dt.time, dt.time]] = []
    for text in flt.get("hours") or ():
        a, b = text.split("-")
        hours.append((dt.time.fromisoformat(a), dt.time.fromisoformat(b)))
    weekdays = flt.get("weekdays")
    return window_hours(
        period[0], period[1], preset=flt.get("preset"), hours=hours or None, weekdays=weekdays
    )


def _inside(model: ExposureModel, geom: Any) -> pd.DataFrame:
    pts = model.incidents
    pts = pts[pts.geometry.notna() & (pts.geometry.geom_type == "Point")]
    if pts.empty:
        return pts
    hit = shapely.contains_xy(geom, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
    return pts[hit]


def _local_dates(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.tz_convert("Europe/London").dt.date


def rank_places(
    windows: Sequence[JourneyWindow],
    *,
    name: Callable[[Any], str],
    publish: Callable[[Sequence[float]], list[Any]],
    months: int = 6,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The named places along the routes of every window, ranked (see the module notes).

    Parameters
    ----------
    windows
        The journey windows (morning, afternoon).
    name
        Names a hotspot polygon (:meth:`geosafe.risk.naming.PlaceNamer.name`).
    publish
        Counts as the role may see them (exact for analysts, else suppressed and rounded).
    months
        Length of the recent and previous periods compared, months.

    Returns
    -------
    (GeoDataFrame, dict)
        The places (:data:`PLACE_COLUMNS`, EPSG:27700) and the periods compared.
    """
    places: dict[str, dict[str, Any]] = {}
    periods_out: dict[str, Any] = {}
    for w in windows:
        if w.model is None:
            continue
        model = w.model
        crossing: dict[str, float] = {}
        for j in w.journeys:
            if j.error is None and j.geometry is not None:
                for h in model.hotspots_crossed(j.geometry):
                    crossing[h.hotspot_id] = crossing.get(h.hotspot_id, 0.0) + j.count
        by_id: dict[str, Hotspot] = {h.hotspot_id: h for h in model.hotspots}
        recent, previous = _periods(model, months)
        hours = (_window_hours(model, recent), _window_hours(model, previous))
        periods_out[w.label] = {
            "recent": [recent[0].isoformat(), recent[1].isoformat()],
            "previous": [previous[0].isoformat(), previous[1].isoformat()],
            "school_run_hours": [round(hours[0], 1), round(hours[1], 1)],
        }
        grid = np.asarray(model.surface.grid, dtype=float)
        mean = float(np.nanmean(grid[grid > 0])) if np.any(grid > 0) else 0.0
        for hid, pupils in crossing.items():
            h = by_id[hid]
            label = name(h.geometry)
            inside = _inside(model, h.geometry)
            days = _local_dates(inside["occurred_from"]) if not inside.empty else pd.Series([])
            n_recent = int(((days >= recent[0]) & (days <= recent[1])).sum()) if len(days) else 0
            n_prev = int(((days >= previous[0]) & (days <= previous[1])).sum()) if len(days) else 0
            timed = inside[inside["time_precision"] == "minute"] if not inside.empty else inside
            p = places.setdefault(
                label,
                {
                    "place": label,
                    "windows": [],
                    "pupils": 0.0,
                    "when": {},
                    "recent": 0,
                    "previous": 0,
                    "hours": [0.0, 0.0],
                    "score": 0.0,
                    "hotspot_ids": [],
                    "peak": 0.0,
                    "concentration": 0.0,
                    "geoms": [],
                },
            )
            if w.label not in p["windows"]:
                p["windows"].append(w.label)
                p["hours"][0] += hours[0]
                p["hours"][1] += hours[1]
            p["pupils"] = max(p["pupils"], pupils)
            p["when"].setdefault(w.label, []).append(timed["occurred_from"])
            p["recent"] += n_recent
            p["previous"] += n_prev
            p["score"] = max(p["score"], pupils * h.peak_density)
            p["hotspot_ids"].append(f"{w.label}:{hid}")
            p["peak"] = max(p["peak"], h.peak_density)
            if mean > 0:
                p["concentration"] = max(p["concentration"], h.peak_density / mean)
            p["geoms"].append(h.geometry)
    ranked: list[dict[str, Any]] = sorted(places.values(), key=lambda p: (-p["score"], p["place"]))
    pupils_pub = publish([p["pupils"] for p in ranked])
    recent_pub = publish([p["recent"] for p in ranked])
    prev_pub = publish([p["previous"] for p in ranked])
    rows = []
    for i, p in enumerate(ranked):
        rows.append(
            {
                "rank": i + 1,
                "place": p["place"],
                "windows": ", ".join(p["windows"]),
                "pupils": pupils_pub[i],
                "when": "; ".join(
                    f"{label} {active_times(pd.concat(times))}"
                    for label, times in p["when"].items()
                ),
                "incidents_recent": recent_pub[i],
                "incidents_previous": prev_pub[i],
                "trend": trend_word(recent_pub[i], prev_pub[i], tuple(p["hours"])),  # type: ignore[arg-type]
                "concentration": f"{p['concentration']:.0f} times the area's average"
                if p["concentration"] >= 1.5
                else "about the area's average",
                "hotspot_ids": ", ".join(p["hotspot_ids"]),
                "peak_density_km2": round(p["peak"], 1),
                "geometry": shapely.union_all(p["geoms"]),
            }
        )
    frame = gpd.GeoDataFrame(
        rows or None, columns=[*PLACE_COLUMNS, "geometry"], geometry="geometry", crs=CRS_BNG
    )
    return frame, periods_out

"""A school's report: its pupils' journeys aggregated into corridors, the hotspots along
them, the named places along the routes in the morning and the afternoon
(:mod:`geosafe.risk.route_places`) and the Fair Access Panel need matrix, disclosure-controlled for
non-analysts. The printable page is :mod:`geosafe.risk.report_page`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import ValidationError
from ..incident import CRS_BNG
from ..network.walk import WalkNetwork
from ..store.published_referrals import FAP_FLAGS, flag_counts
from .exposure import EXPOSURE_UNITS, ExposureModel
from .naming import PlaceNamer
from .route_places import JourneyWindow, rank_places

__all__ = [
    "FAP_FLAGS",
    "SchoolReport",
    "build_school_report",
    "need_matrix",
    "representative_school_day",
    "unroutable_reasons",
]

#: The FAP referral flags (``flag_`` dropped), in template order.


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
        FAP referrals to the school by flag: ``flag``, ``referrals`` (flag Y),
        ``not_recorded`` (flag left blank, or imported before flags had three states).
    summary
        Counts of pupils, routed journeys by mode, unroutable origins, exposure medians, the
        exposure model's parameters.
    notes
        Plain-language notes on suppression, rounding and the data used.
    places
        Named places along the routes, morning and afternoon, ranked
        (:data:`geosafe.risk.route_places.PLACE_COLUMNS`).
    safe_places
        Safe places the walks pass, per window
        (:data:`geosafe.protect.safe_places.ALONG_COLUMNS`); ``None`` when none were given.
    """

    school_urn: str
    school_name: str
    role: str
    corridors: gpd.GeoDataFrame
    hotspots: gpd.GeoDataFrame
    need_matrix: pd.DataFrame
    summary: dict[str, Any]
    notes: tuple[str, ...]
    places: gpd.GeoDataFrame | None = None
    safe_places: gpd.GeoDataFrame | None = None


def representative_school_day(
    start: dt.date,
    end: dt.date,
    *,
    calendar: Any | None = None,
    runs: Callable[[dt.date], bool] | None = None,
) -> tuple[dt.date, str]:
    """A representative term-time school day inside ``start``..``end`` to date journeys by.

    The Tuesday, Wednesday or Thursday nearest the middle of the period that is a school day
    in ``calendar`` (default: the bundled one) and on which ``runs`` (e.g. the timetable has
    a service) holds; else any such weekday; else the middle day. Returns the day and a
    sentence saying why it was chosen.
    """
    from .. import calendar as school_calendar

    cal = calendar or school_calendar.default_calendar()
    mid = start + (end - start) / 2
    days = sorted(
        (start + dt.timedelta(days=i) for i in range((end - start).days + 1)),
        key=lambda d: (abs((d - mid).days), d),
    )
    span = f"{start:%d %b %Y} to {end:%d %b %Y}"
    for weekdays in ((1, 2, 3), (0, 1, 2, 3, 4)):
        for d in days:
            if d.weekday() in weekdays and cal.is_school_day(d) and (runs is None or runs(d)):
                return d, (
                    f"A representative term-time school day: the {'mid-week ' if len(weekdays) == 3 else ''}"
                    f"school day nearest the middle of the incident data's period ({span})"
                    + (" on which the bus timetable runs." if runs is not None else ".")
                )
    return mid, f"No school day in the incident data's period ({span}): its middle day."


def _publish(values: Sequence[float] | np.ndarray, role: str) -> tuple[list[Any], list[bool]]:
    """Counts as the role may see them: exact for analysts, else suppressed and rounded."""
    arr = np.asarray(values, dtype=float)
    if role == "analyst":
        return [int(v) for v in arr], [False] * len(arr)
    from ..publish.disclosure import round_counts

    out, sup = round_counts(arr)
    return [None if not np.isfinite(v) else int(v) for v in out], [bool(s) for s in sup]


#: Why a pupil's journey could not be routed, in words (reason code: the text before any
#: detail in ``JourneyResult.error``).
UNROUTABLE_WORDS = {
    "origin_off_network": "live beyond the walking network of this area (its streets stop "
    "short of their homes)",
    "postcode_unknown": "have a home postcode that is not in the area's postcode list",
    "school_off_network": "go to a school beyond the walking network of this area",
    "no_route": "have no walking route to the school within the walking limit",
}


def unroutable_reasons(journeys: Sequence[Any], role: str) -> dict[str, int | None]:
    """Pupils whose journey could not be routed, per reason code, most first; without it a
    school read "not routable 355" and nothing more. Analysts get exact counts. Other roles
    get the count only where one reason covers them all (it is then the published total,
    1-9 suppressed as ``None``, others rounded to 5), else ``None`` per reason: counts of
    several reasons, each rounded, beside the rounded total would let a reader difference a
    suppressed one back (``tests/walk/test_report_reasons.py``)."""
    counts: dict[str, int] = {}
    for j in journeys:
        if j.error is not None:
            code = str(j.error).split(" ", 1)[0].split(":", 1)[0]
            counts[code] = counts.get(code, 0) + int(j.count)
    codes = sorted(counts, key=lambda c: (-counts[c], c))
    if role == "analyst":
        return {c: counts[c] for c in codes}
    if len(codes) == 1:
        return {codes[0]: _publish([counts[codes[0]]], role)[0][0]}
    return dict.fromkeys(codes)


def _unroutable_note(reasons: dict[str, int | None], total: int | None) -> str:
    words = [UNROUTABLE_WORDS.get(c, c.replace("_", " ")) for c in reasons]
    if all(n is not None for n in reasons.values()):
        parts = [f"{n} {w}" for n, w in zip(reasons.values(), words, strict=True)]
        return "Pupils whose journey could not be routed: " + "; ".join(parts) + "."
    count = "fewer than 10" if total is None else str(total)
    return (
        f"Pupils whose journey could not be routed ({count}, most first): they "
        + "; or ".join(words)
        + "."
    )


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
    details = mine["detail"] if "detail" in mine.columns else [None] * len(mine)
    counts, unknown = flag_counts(mine["flags"] if not mine.empty else [], details)
    rows: list[tuple[str, int, int | None]] = [(f, n, unknown[f]) for f, n in counts.items()]
    rows.append(("all_referrals", len(mine), None))
    return pd.DataFrame(rows, columns=["flag", "referrals", "not_recorded"])


def build_school_report(
    school_urn: str,
    journeys: Sequence[Any],
    *,
    school_name: str,
    network: WalkNetwork,
    model: ExposureModel | None,
    fap: pd.DataFrame,
    role: str = "analyst",
    params: dict[str, Any] | None = None,
    home: Sequence[Any] | None = None,
    home_model: ExposureModel | None = None,
    namer: PlaceNamer | None = None,
    trend_months: int = 6,
    safe_places: gpd.GeoDataFrame | None = None,
    day: dt.date | None = None,
    need: pd.DataFrame | None = None,
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
    need
        The need matrix as published (``flag``, ``referrals``, ``not_recorded``,
        ``suppressed``; a non-analyst report built from the published referrals,
        :func:`geosafe.publish.corridors.published_need`): shown as it is, ``fap`` unread.
    role
        ``analyst``, ``school`` or ``neighbourhood`` (disclosure control, see
        :class:`SchoolReport`).
    params
        Settings to record in the summary (date, arrival time...).
    home, home_model
        The journeys home (``direction="from-school"``) and the afternoon window's exposure
        model; reported next to the morning's (summary ``home``, places).
    namer
        Names hotspots and unnamed ways (:func:`geosafe.risk.naming.place_namer`); without
        it hotspots keep their ids and unnamed ways their ``highway`` tag in brackets.
    trend_months
        Length of the recent and previous periods the places' trend compares, months.
    safe_places, day
        Safe places (:func:`geosafe.protect.safe_places.load_safe_places`) and the day the
        journeys are made (default ``params["date"]``): the places each window's walks pass,
        open or not when the pupils pass (:func:`geosafe.protect.safe_places.safe_places_along`).

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
            "name": [_way_name(network, int(e), geoms[e], namer) for e in used],
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
        g = item["geometry"]
        rows.append(
            {
                "kind": "bus",
                "name": f"route {route}: {a} to {b}",
                "pupils": item["pupils"],
                "length_m": round(g.length, 1) if g is not None else None,
                # the density of incidents along the road the bus runs on, as for streets
                "mean_density_km2": _mean_density(model, g),
                "geometry": g,
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
                    **({"place": namer.name(h.geometry)} if namer is not None else {}),
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
            *(["place"] if namer is not None else []),
            "geometry",
        ],
        geometry="geometry",
        crs=CRS_BNG,
    )
    matrix = need_matrix(fap, school_urn) if need is None else need
    windows = [JourneyWindow("morning", routed, model)]
    if home is not None:
        windows.append(JourneyWindow("afternoon", home, home_model))
    places, periods = rank_places(
        windows,
        name=namer.name if namer is not None else (lambda g: "unnamed place"),
        publish=lambda v: _publish(v, role)[0],
        months=trend_months,
    )
    safe_table, safe_summary = _safe_places(
        safe_places,
        [("morning", routed), *([("afternoon", home)] if home is not None else [])],
        day if day is not None else (params or {}).get("date"),
    )
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
        if need is None:
            pub, sup = _publish(matrix["referrals"].to_numpy(), role)
            unrec = _publish(matrix["not_recorded"].fillna(0).to_numpy(), role)[0]
            unrec[-1] = None  # all_referrals: not a flag
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
    why_not = unroutable_reasons(journeys, role)
    if why_not:
        total = sum(j.count for j in journeys if j.error is not None)
        shown = total if role == "analyst" else _publish([total], role)[0][0]
        notes.append(_unroutable_note(why_not, shown))
    exposures = [j.exposure for j in routed if j.exposure is not None]
    alts = [j.alt_exposure for j in routed if j.alt_exposure is not None]
    n_pupils = sum(j.count for j in journeys)
    summary: dict[str, Any] = {
        "pupils": n_pupils,
        "origins": len(journeys),
        "routed": {m: sum(j.count for j in routed if j.mode == m) for m in ("walk", "bus")},
        "unroutable": sum(j.count for j in journeys if j.error is not None),
        "unroutable_reasons": why_not,
        "median_exposure": float(np.median(exposures)) if exposures else None,
        "median_alt_exposure": float(np.median(alts)) if alts else None,
        "exposure_units": EXPOSURE_UNITS,
        "model": model.params if model is not None else None,
        "places_periods": periods,
        **(params or {}),
    }
    if home is not None:
        summary["home"] = _window_summary(home, home_model)
    if role != "analyst":
        for skey in ("pupils", "unroutable"):
            summary[skey] = _publish([summary[skey]], role)[0][0]
        summary["routed"] = {m: _publish([v], role)[0][0] for m, v in summary["routed"].items()}
        summary["origins"] = None
        if isinstance(summary["model"], dict) and "incidents" in summary["model"]:
            incidents = summary["model"]["incidents"]
            summary["model"] = {**summary["model"], "incidents": _publish([incidents], role)[0][0]}
        if "home" in summary:
            summary["home"] = _publish_window(summary["home"], role)
    if safe_summary is not None:
        summary["safe_places"] = safe_summary
        if role != "analyst":  # every pupil count as the others: 1-9 suppressed, others to 5
            for w in safe_summary.values():
                small = w["pupils_routed"] < 10
                for k in ("pupils_routed", "pupils_passing_open"):
                    w[k] = _publish([w[k]], role)[0][0]
                if small:
                    w["median_open_passed"] = None
            if safe_table is not None and len(safe_table):
                for col in ("pupils", "pupils_open"):
                    safe_table[col] = _publish(safe_table[col].to_numpy(), role)[0]
    return SchoolReport(
        school_urn,
        school_name,
        role,
        corridors,
        hotspots,
        matrix,
        summary,
        tuple(notes),
        places,
        safe_table,
    )


def _safe_places(
    places: gpd.GeoDataFrame | None, windows: list[tuple[str, Sequence[Any]]], day: Any
) -> tuple[gpd.GeoDataFrame | None, dict[str, Any] | None]:
    """The safe places along the walks of each window (``None`` without safe places)."""
    if places is None:
        return None, None
    from ..protect.safe_places import safe_places_along

    when = dt.date.fromisoformat(str(day)[:10]) if day is not None else dt.date.today()
    return safe_places_along(windows, places, day=when)


def _way_name(net: WalkNetwork, e: int, geom: Any, namer: PlaceNamer | None) -> str:
    """A walking-network edge's street name; an unnamed way named by what it is near."""
    name = str(net.edge_name[e])
    if name:
        return name
    return namer.unnamed(geom) if namer is not None else f"({net.edge_highway[e]})"


def _mean_density(model: ExposureModel | None, line: Any) -> float | None:
    """Mean incident density along a line, incidents per km² (``None`` without a model)."""
    if model is None or line is None or line.is_empty or not line.length > 0:
        return None
    ex = model.walk([line])
    inside = line.length - float(ex.outside_m[0])
    return round(float(ex.integral[0]) / inside, 2) if inside > 0 else None


def _window_summary(journeys: Sequence[Any], model: ExposureModel | None) -> dict[str, Any]:
    routed = [j for j in journeys if j.error is None and j.geometry is not None]
    exposures = [j.exposure for j in routed if j.exposure is not None]
    alts = [j.alt_exposure for j in routed if j.alt_exposure is not None]
    return {
        "routed": {m: sum(j.count for j in routed if j.mode == m) for m in ("walk", "bus")},
        "unroutable": sum(j.count for j in journeys if j.error is not None),
        "median_exposure": float(np.median(exposures)) if exposures else None,
        "median_alt_exposure": float(np.median(alts)) if alts else None,
        "model": model.params if model is not None else None,
    }


def _publish_window(window: dict[str, Any], role: str) -> dict[str, Any]:
    out = dict(window)
    out["unroutable"] = _publish([window["unroutable"]], role)[0][0]
    out["routed"] = {m: _publish([v], role)[0][0] for m, v in window["routed"].items()}
    model = window.get("model")
    if isinstance(model, dict) and "incidents" in model:
        out["model"] = {**model, "incidents": _publish([model["incidents"]], role)[0][0]}
    return out

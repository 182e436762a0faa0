"""A school's report: its pupils' journeys aggregated into corridors, the hotspots along
them and the Fair Access Panel need matrix, disclosure-controlled for non-analysts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import ValidationError
from ..incident import CRS_BNG, FLAG_NAMES
from ..network.walk import WalkNetwork
from .exposure import EXPOSURE_UNITS, ExposureModel

__all__ = ["FAP_FLAGS", "SchoolReport", "build_school_report", "need_matrix"]

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
    from ..publish.disclosure import round_counts

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
        ``flag``, ``referrals`` (with a final ``all_referrals`` row).
    """
    mine = fap[fap["school_urn"].astype(str) == str(school_urn)] if not fap.empty else fap
    counts = {f: 0 for f in FAP_FLAGS}
    for flags in mine["flags"] if not mine.empty else []:
        for f in flags or ():
            if f in counts:
                counts[f] += 1
    rows = [*counts.items(), ("all_referrals", len(mine))]
    return pd.DataFrame(rows, columns=["flag", "referrals"])


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
        matrix = matrix.assign(referrals=pub, suppressed=sup)
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

"""The layers a school or neighbourhood sees, built from the published aggregates only.

Every incident-derived layer outside the analyst role reads ``published_counts`` (per
period, H3 resolution-8 cell, source and time window; 1-9 suppressed, others rounded to 5:
:mod:`geosafe.store.published`) over the service's reader connection
(:class:`geosafe.store.published_read.PublishedReader`: on PostGIS a login in the
``geosafe_reader`` role, which cannot read incident rows at all). Nothing here touches an
incident row, so a change of incident rows that leaves the published table as it was leaves
every non-analyst output as it was.

- ``h3-cells``: the published counts (summed per source asked for; coarser resolutions sum
  their children's published counts); Gi* recomputed from them;
- ``hotspots-kde``: a quartic surface smoothed from the published counts at the cell
  centres, bandwidth at least 1000 m (:func:`geosafe.publish.disclosure.public_kde_settings`);
- ``clusters``: connected groups of published cells (10 or more incidents each), outlined by
  the union of their cells (DBSCAN needs incident points: not available to these roles);
- ``emerging-cells``: the trend of the monthly published counts (cells suppressed in a month
  count nothing that month);
- ``journey-corridors``: pupils' walking routes per H3 resolution-8 cell (rolls, not
  incidents), exposure from the published counts;
- reference layers (schools, bus stops, safe places) as they are.

Filters: ``preset`` (a time window of the table), ``sources``, and the period: a published
``datetime`` (month, quarter, year) or, by default, the twelve months ending with the latest
published month. ``categories`` and ``flags`` are analyst filters (the table has no such
dimension) and are refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from .. import datasets
from .._errors import DisclosureError
from ..incident import CRS_BNG
from . import corridors, disclosure, hotspot_layers, places, roles
from .catalogue import AnalysisParams
from .disclosure import Viewer
from .layer import SYNTHETIC_SOURCES, Layer, LayerSource, make_layer

__all__ = [
    "GI_PUBLIC_PERMUTATIONS",
    "PublicPeriod",
    "cell_counts",
    "density_points",
    "public_excluded",
    "public_gi_star",
    "public_incidents",
    "public_layer",
    "public_period",
    "scope_key",
]

#: Value given to a suppressed count (1-9) when Gi* is recomputed from published counts.
_SUPPRESSED_AS = 5.0
#: Permutations for the public Gi* (the analyst layer's default: 0, analytic p-values).
GI_PUBLIC_PERMUTATIONS: Final = hotspot_layers.GI_PERMUTATIONS


def scope_key(principal: Any, collection: str | None = None) -> Hashable:
    """What a principal's view of a layer depends on (role, school, area); cache outputs by it.

    With ``collection``: only what that collection's view depends on, so views that are the
    same for every school (all but ``journey-corridors``) are built and kept once, not once
    per school token."""
    if (
        collection is not None
        and collection != "journey-corridors"
        and getattr(principal, "role", None) == "school"
    ):
        return ("school", None, (), None)
    return (
        getattr(principal, "role", None),
        getattr(principal, "school_urn", None),
        tuple(getattr(principal, "area_codes", ()) or ()),
        getattr(principal, "token_id", None)
        if getattr(principal, "area", None) is not None
        else None,
    )


# -- the period and filters ----------------------------------------------------------------
@dataclass(frozen=True)
class PublicPeriod:
    """A published period: its key in ``published_counts``, its months and local dates."""

    key: str
    first_month: str
    last_month: str

    @property
    def start(self) -> dt.date:
        return pd.Period(self.first_month, freq="M").start_time.date()

    @property
    def end(self) -> dt.date:
        return pd.Period(self.last_month, freq="M").end_time.date()

    @property
    def months(self) -> list[str]:
        first = pd.Period(self.first_month, freq="M")
        last = pd.Period(self.last_month, freq="M")
        return [str(first + k) for k in range((last - first).n + 1)]

    @property
    def label(self) -> str:
        return f"{self.start}/{self.end}"


def _check_filters(params: AnalysisParams) -> None:
    if params.categories or params.flags:
        msg = (
            "`categories` and `flags` are analyst filters: outside the analyst role layers "
            "are built from published counts per source and time window; drop them and use "
            "`sources` and a named `preset`."
        )
        raise DisclosureError(msg)


def public_period(svc: LayerSource, params: AnalysisParams) -> PublicPeriod | None:
    """The published period of ``params``: the whole month, quarter or year its dates span,
    or (no dates) the twelve months ending with the latest published month of its sources;
    ``None`` when nothing is published."""
    start, end = params.start, params.end
    if start is None and end is None:
        latest = svc.published.latest_month(params.sources)
        if latest is None:
            return None
        first = str(pd.Period(latest, freq="M") - 11)
        return PublicPeriod(f"L12:{latest}", first, latest)
    if start is None or end is None or start.day != 1:
        raise DisclosureError(_period_msg(start, end))
    first = pd.Period(start, freq="M")
    last = pd.Period(end, freq="M")
    if end != last.end_time.date():
        raise DisclosureError(_period_msg(start, end))
    n = (last - first).n + 1
    if n == 1:
        key = str(first)
    elif n == 3 and first.month % 3 == 1:
        key = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    elif n == 12 and first.month == 1:
        key = str(first.year)
    elif n == 12:
        key = f"L12:{last}"
    else:
        raise DisclosureError(_period_msg(start, end))
    return PublicPeriod(key, str(first), str(last))


def _period_msg(start: dt.date | None, end: dt.date | None) -> str:
    return (
        f"the period {start}/{end} is not a published period; outside the analyst role send "
        "a `datetime` naming a whole month ('2025-03'), quarter ('2025-Q1') or year ('2025')."
    )


def _window(params: AnalysisParams) -> str:
    return params.preset or "all-day"


# -- counts --------------------------------------------------------------------------------
def cell_counts(
    svc: LayerSource, params: AnalysisParams, *, sources: tuple[str, ...] | None = None
) -> tuple[pd.DataFrame, PublicPeriod | None]:
    """The published counts per cell of ``params``' period, time window and sources
    (``cell``, ``resolution``, ``count`` NaN when suppressed, ``suppressed``)."""
    _check_filters(params)
    period = public_period(svc, params)
    cols = ["cell", "resolution", "count", "suppressed"]
    if period is None:
        return pd.DataFrame({c: [] for c in cols}), None
    wanted = params.sources if sources is None else sources
    frame = svc.published.counts([period.key], _window(params), wanted)
    return frame[cols].reset_index(drop=True), period


def _centres(cells: Any) -> gpd.GeoSeries:
    pts = [h3.cell_to_latlng(c) for c in cells]
    return gpd.GeoSeries(
        gpd.points_from_xy([p[1] for p in pts], [p[0] for p in pts], crs="EPSG:4326")
    ).to_crs(CRS_BNG)


def density_points(svc: LayerSource, params: AnalysisParams) -> tuple[gpd.GeoDataFrame, float]:
    """Points for a public density surface: each published cell's centre weighted by its
    published count (suppressed cells left out), and the period's length in years."""
    counts, period = cell_counts(svc, params)
    shown = counts[counts["count"].fillna(0) > 0]
    pts = gpd.GeoDataFrame(
        {"cell": shown["cell"].astype(str).to_numpy(), "weight": shown["count"].to_numpy()},
        geometry=_centres(shown["cell"]).to_numpy(),
        crs=CRS_BNG,
    )
    years = len(period.months) / 12 if period is not None else 1.0
    return pts, years


def public_incidents(
    svc: LayerSource, params: AnalysisParams, *, sources: tuple[str, ...] | None = None
) -> tuple[gpd.GeoDataFrame, PublicPeriod | None]:
    """Stand-in incident rows for a model whose outputs go to non-analysts (journey
    exposure): per published cell exactly its published count of rows at the cell's centre,
    dated the first day of the period, already in the time window (so the model is given no
    further time filter). Built from ``published_counts`` only."""
    counts, period = cell_counts(svc, params, sources=sources)
    shown = counts[counts["count"].fillna(0) > 0]
    reps = shown["count"].astype(int).to_numpy()
    cells = np.repeat(shown["cell"].astype(str).to_numpy(), reps)
    when = pd.Timestamp(period.start if period else dt.date(1970, 1, 1), tz="Europe/London")
    lonlat = [h3.cell_to_latlng(c) for c in cells]
    frame = gpd.GeoDataFrame(
        {
            "incident_id": [f"cell:{c}:{k}" for k, c in enumerate(cells)],
            "source": "published",
            "occurred_from": pd.DatetimeIndex([when] * len(cells)).tz_convert("UTC"),
            "occurred_to": pd.DatetimeIndex([when] * len(cells)).tz_convert("UTC"),
            "time_precision": "day",
            "category": None,
            "flags": [()] * len(cells),
            "route": None,
            "h3_cell": cells,
            "precision_m": 0.0,
            "lon": [p[1] for p in lonlat],
            "lat": [p[0] for p in lonlat],
            "weight": 1.0,
        },
        geometry=_centres(cells).to_numpy() if len(cells) else [],
        crs=CRS_BNG,
    )
    return frame, period


def _synthetic(svc: LayerSource) -> bool:
    return bool(svc.published.sources() & set(SYNTHETIC_SOURCES))


# -- layers --------------------------------------------------------------------------------
def _h3_frame(svc: LayerSource, params: AnalysisParams) -> gpd.GeoDataFrame:
    counts, period = cell_counts(svc, params)
    res = min(params.resolution, disclosure.MAX_PUBLIC_H3_RESOLUTION)
    if res < disclosure.MAX_PUBLIC_H3_RESOLUTION and len(counts):
        # a coarser cell sums its children's published counts (a sum of published numbers)
        counts = counts.assign(
            cell=[c if r <= res else h3.cell_to_parent(c, res) for c, r in zip(counts["cell"], counts["resolution"], strict=True)],
            shown=counts["count"].fillna(0.0),
        )
        grouped = counts.groupby("cell", sort=True)
        counts = grouped.agg(count=("shown", "sum"), suppressed=("suppressed", "all")).reset_index()
        counts["count"] = np.where(counts["suppressed"], np.nan, counts["count"])
    cells = counts["cell"].astype(str).tolist()
    geoms = gpd.GeoSeries(
        [disclosure.cell_polygon(c) for c in cells], crs="EPSG:4326"
    ).to_crs(CRS_BNG)
    area_km2 = geoms.area.to_numpy() / 1e6 if len(cells) else np.zeros(0)
    frame = gpd.GeoDataFrame(
        {
            "cell": cells,
            "resolution": [h3.get_resolution(c) for c in cells],
            "count": counts["count"].to_numpy(dtype=float),
            "suppressed": counts["suppressed"].to_numpy(dtype=bool),
            "density": counts["count"].to_numpy(dtype=float) / np.where(area_km2 > 0, area_km2, 1),
            "place_name": places.place_names(geoms.to_numpy(), svc.data_dir),
            "period": period.label if period else "",
            "preset": params.preset or "all-day",
        },
        geometry=geoms.to_numpy(),
        crs=CRS_BNG,
    )
    if len(frame):
        frame = public_gi_star(frame)
        frame["gi_z"] = frame["gi_z"].round(1)
        frame["gi_p"] = frame["gi_p"].round(2)
    else:
        frame["gi_z"], frame["gi_p"], frame["hotspot"] = [], [], []
    frame.index = pd.Index(frame["cell"], name="id")
    return frame


def _cluster_frame(svc: LayerSource, params: AnalysisParams) -> gpd.GeoDataFrame:
    counts, period = cell_counts(svc, params)
    shown = counts[counts["count"].fillna(0) >= disclosure.SUPPRESS_BELOW]
    value = dict(zip(shown["cell"].astype(str), shown["count"].astype(float), strict=True))
    seen: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(value):
        if start in seen:
            continue
        group, todo = [], [start]
        seen.add(start)
        while todo:
            cell = todo.pop()
            group.append(cell)
            for n in h3.grid_disk(cell, 1):
                if n in value and n not in seen:
                    seen.add(n)
                    todo.append(n)
        groups.append(sorted(group))
    totals = [sum(value[c] for c in g) for g in groups]
    keep = [i for i, t in enumerate(totals) if t >= disclosure.MIN_CLUSTER_SIZE]
    geoms = [disclosure.cells_outline(groups[i]) for i in keep]
    frame = gpd.GeoDataFrame(
        {
            "cluster_id": np.arange(1, len(keep) + 1, dtype=int),
            "n_incidents": [totals[i] for i in keep],
            "cells": [len(groups[i]) for i in keep],
            "method": (
                "connected H3 resolution-8 cells whose published counts are 10 or more "
                "(rounded to 5), outlined by their union; DBSCAN over incident points is "
                "for analysts only"
            ),
            "period": period.label if period else "",
            "preset": params.preset or "all-day",
        },
        geometry=geoms,
        crs=CRS_BNG,
    )
    frame["density"] = frame["n_incidents"].astype(float) / (frame.geometry.area / 1e6)
    frame["place_name"] = places.place_names(frame.geometry.to_numpy(), svc.data_dir)
    frame.index = pd.Index([f"cluster-{i}" for i in frame["cluster_id"]], name="id")
    return frame


def _emerging_frame(svc: LayerSource, params: AnalysisParams) -> gpd.GeoDataFrame:
    from ..hotspots import emerging

    _check_filters(params)
    period = public_period(svc, params)
    cols = ("cell", "resolution", "trend", "count", "place_name", "period")
    if period is None:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=CRS_BNG)
    monthly = svc.published.counts(period.months, _window(params), params.sources)
    monthly = monthly[monthly["count"].fillna(0) > 0]
    res = min(params.resolution, disclosure.MAX_PUBLIC_H3_RESOLUTION)
    when = [
        pd.Timestamp(f"{m}-15", tz="Europe/London").tz_convert("UTC") for m in monthly["period"]
    ]
    pts = gpd.GeoDataFrame(
        {
            "occurred_from": pd.DatetimeIndex(when) if when else pd.DatetimeIndex([], tz="UTC"),
            "time_precision": "month",
            "weight": monthly["count"].to_numpy(dtype=float),
            "precision_m": 0.0,
            "source": "published",
        },
        geometry=_centres(monthly["cell"]).to_numpy() if len(monthly) else [],
        crs=CRS_BNG,
    )
    if pts.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=CRS_BNG)
    gdf = emerging.emerging_hotspots(
        pts, resolution=res, study_area=datasets.demo_area(svc.data_dir)
    ).to_crs(CRS_BNG)
    trend_col = next((c for c in ("category", "trend", "pattern") if c in gdf.columns), None)
    published, _ = disclosure.round_counts(gdf["count"].to_numpy(dtype=float))
    frame = gpd.GeoDataFrame(
        {
            "cell": gdf["h3_cell"].astype(str).to_numpy(),
            "resolution": res,
            "trend": gdf[trend_col].astype(str).to_numpy() if trend_col else "",
            "count": published,
            "place_name": places.place_names(gdf.geometry.to_numpy(), svc.data_dir),
            "period": period.label,
        },
        geometry=gdf.geometry.to_numpy(),
        crs=CRS_BNG,
    )
    frame.index = pd.Index(frame["cell"], name="id")
    return frame


def public_layer(
    svc: LayerSource, collection: str, params: AnalysisParams, principal: Viewer
) -> Layer:
    """The layer of ``collection`` as a school or neighbourhood ``principal`` sees it, built
    from the published aggregates only (see the module's description)."""
    reference = collection in ("schools", "bus-stops", "safe-places")
    synthetic = False
    if reference:
        full = svc.layer(collection, params)
        frame, synthetic = full.frame, full.synthetic
    elif collection == "hotspots-kde":
        frame = hotspot_layers.kde_layer(svc, params, public=True).frame
    elif collection == "h3-cells":
        frame = _h3_frame(svc, params)
    elif collection == "clusters":
        frame = _cluster_frame(svc, params)
    elif collection == "emerging-cells":
        frame = _emerging_frame(svc, params)
    elif collection == "journey-corridors":  # street stretches would trace home routes
        _check_filters(params)
        if principal.role == "school" and principal.school_urn in set(
            datasets.schools(svc.data_dir, demo_only=True)["urn"].astype(str)
        ):  # a school's own corridors only (the other schools' are filtered out below)
            params = replace(params, school=principal.school_urn)
        frame = corridors.corridor_cells(svc, params).frame
        frame = frame[frame["pupils"].astype(float) >= disclosure.SUPPRESS_BELOW]
        if principal.role == "school":  # never another school's pupils' journeys
            frame = frame[frame["school_urn"].astype(str) == str(principal.school_urn)]
    else:  # an analyst-only collection: refused before this by the service
        msg = f"collection {collection!r} has no published view for the {principal.role!r} role."
        raise DisclosureError(msg)
    if not reference:
        synthetic = _synthetic(svc)
    published = roles.publish_features(principal, collection, frame, reference=reference)
    return make_layer(
        collection, published, params, synthetic=synthetic, notes="disclosure-controlled"
    )


def public_gi_star(published: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Gi* recomputed from the published (rounded, suppressed) counts, so that the public
    z-scores carry nothing the public counts do not. Suppressed cells count as
    ``_SUPPRESSED_AS`` (the middle of 1-9)."""
    from ..hotspots.gistar import gi_star

    counts = published[["cell", "count"]].rename(columns={"cell": "h3_cell"}).copy()
    counts["count"] = counts["count"].astype(float).fillna(_SUPPRESSED_AS)
    counts = gpd.GeoDataFrame(counts, geometry=published.geometry.to_numpy(), crs=published.crs)
    gi = gi_star(counts, permutations=GI_PUBLIC_PERMUTATIONS, seed=0)
    out = published.copy()
    out["gi_z"] = gi["gi_z"].to_numpy(dtype=float)
    out["gi_p"] = gi["gi_p"].to_numpy(dtype=float)
    out["hotspot"] = gi["gi_class"].astype(str).to_numpy()
    return out


def public_excluded(svc: LayerSource, collection: str, params: AnalysisParams) -> dict[str, Any]:
    """Why a non-analyst's layer came out empty, from the published table only: published
    cells of the period counted by what they show (rounded like every published count)."""
    try:
        counts, period = cell_counts(svc, params)
    except DisclosureError as exc:
        return {"excluded": {}, "reason": str(exc)}
    if period is None:
        return {
            "excluded": {},
            "reason": "nothing is published yet: the store holds no located incidents; "
            "import some with `geosafe import`",
        }
    suppressed = int(counts["suppressed"].sum())
    shown = int((counts["count"].fillna(0) > 0).sum())
    excluded = {"suppressed_cells": suppressed, "published_cells": shown}
    where = f"the period {period.label} in the {_window(params)!r} time window"
    if not len(counts):
        reason = (
            f"no incident is published for {where} with these sources; choose another "
            "`datetime`, `preset` or fewer `sources`"
        )
    elif shown == 0:
        reason = (
            f"every H3 resolution-8 cell of {where} holds fewer than 10 incidents (counts of "
            "1-9 are suppressed for this role), so there is nothing to publish; choose a "
            "longer period or `preset=all-day`"
        )
    elif collection == "clusters":
        reason = "no group of published cells reaches 10 incidents"
    else:
        reason = "the method found no feature in the published counts; try other parameters"
    return {"excluded": excluded, "reason": reason}

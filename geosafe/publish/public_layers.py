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
- ``clusters``: DBSCAN over the published cell centres weighted by their published counts
  (10 or more), outlined by the union of their cells (the analyst's DBSCAN over incident
  points is not available to these roles);
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

from dataclasses import replace
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from .. import datasets
from .._errors import DisclosureError
from ..incident import CRS_BNG
from . import corridors, disclosure, hotspot_layers, places, published_counts, roles
from .catalogue import AnalysisParams
from .disclosure import Viewer
from .layer import Layer, LayerSource, make_layer
from .published_counts import cell_counts, check_filters, public_period, window
from .scope import scope_key

__all__ = [
    "GI_PUBLIC_PERMUTATIONS",
    "public_excluded",
    "public_gi_star",
    "public_layer",
    "scope_key",
]

#: Value given to a suppressed count (1-9) when Gi* is recomputed from published counts.
_SUPPRESSED_AS = 5.0
#: Permutations for the public Gi* (the analyst layer's default: 0, analytic p-values).
GI_PUBLIC_PERMUTATIONS: Final = hotspot_layers.GI_PERMUTATIONS


# -- layers --------------------------------------------------------------------------------
def _h3_frame(svc: LayerSource, params: AnalysisParams) -> gpd.GeoDataFrame:
    """Published counts over every cell of the area at the asked resolution (8 or coarser:
    a coarser cell sums its children's published counts, a sum of published numbers); cells
    without a published row count 0, as in the analyst's layer; Gi* from these counts."""
    from ..hotspots.h3grid import cells_for_area

    counts, period = cell_counts(svc, params)
    res = min(params.resolution, disclosure.MAX_PUBLIC_H3_RESOLUTION)
    counts = counts[counts["resolution"].astype(int) >= res]  # coarser records: not located
    parent = [
        c if r == res else h3.cell_to_parent(c, res)
        for c, r in zip(counts["cell"], counts["resolution"], strict=True)
    ]
    grouped = counts.assign(cell=parent, shown=counts["count"].fillna(0.0)).groupby("cell")
    per = grouped.agg(count=("shown", "sum"), suppressed=("suppressed", "all"))
    cells = sorted(
        set(cells_for_area(datasets.demo_area(svc.data_dir), resolution=res)) | set(per.index)
    )
    per = per.reindex(cells)
    suppressed = per["suppressed"].fillna(False).astype(bool).to_numpy()
    count = np.where(suppressed, np.nan, per["count"].fillna(0.0).to_numpy(dtype=float))
    geoms = gpd.GeoSeries([disclosure.cell_polygon(c) for c in cells], crs="EPSG:4326").to_crs(
        CRS_BNG
    )
    area_km2 = geoms.area.to_numpy() / 1e6
    frame = gpd.GeoDataFrame(
        {
            "cell": cells,
            "resolution": res,
            "count": count,
            "suppressed": suppressed,
            "density": count / np.where(area_km2 > 0, area_km2, 1.0),
            "place_name": places.place_names(geoms.to_numpy(), svc.data_dir),
            "period": period.label if period else "",
            "preset": params.preset or "all-day",
        },
        geometry=geoms.to_numpy(),
        crs=CRS_BNG,
    )
    frame = public_gi_star(frame)
    frame["gi_z"] = frame["gi_z"].astype(float).round(1)
    frame["gi_p"] = frame["gi_p"].astype(float).round(2)
    frame.index = pd.Index(frame["cell"], name="id")
    return frame


def _cluster_frame(svc: LayerSource, params: AnalysisParams) -> gpd.GeoDataFrame:
    """DBSCAN over the published cell centres, each weighted by its published count (10 or
    more; suppressed cells left out), with the layer's ``eps_m`` and ``min_samples``; each
    cluster outlined by the union of its cells and counted by the sum of their published
    counts. (The analyst's DBSCAN runs over incident points, which these roles cannot see.)"""
    from sklearn.cluster import DBSCAN

    counts, period = cell_counts(svc, params)
    shown = counts[counts["count"].fillna(0) >= disclosure.SUPPRESS_BELOW].reset_index(drop=True)
    cols = ("cluster_id", "n_incidents", "cells", "method", "period", "preset")
    if shown.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=CRS_BNG)
    xy = published_counts.centres(shown["cell"])
    weight = shown["count"].to_numpy(dtype=float)
    labels = (
        DBSCAN(eps=params.eps_m, min_samples=params.min_samples)
        .fit(np.column_stack([xy.x, xy.y]), sample_weight=weight)
        .labels_
    )
    groups = [sorted(shown["cell"].astype(str)[labels == k]) for k in sorted(set(labels) - {-1})]
    totals = [float(shown["count"][labels == k].sum()) for k in sorted(set(labels) - {-1})]
    keep = [i for i, t in enumerate(totals) if t >= disclosure.MIN_CLUSTER_SIZE]
    frame = gpd.GeoDataFrame(
        {
            "cluster_id": np.arange(1, len(keep) + 1, dtype=int),
            "n_incidents": [totals[i] for i in keep],
            "cells": [len(groups[i]) for i in keep],
            "method": (
                f"DBSCAN (eps {params.eps_m:g} m, at least {params.min_samples} incidents) over "
                "the published H3 resolution-8 cell centres weighted by their published counts "
                "(10 or more, rounded to 5), outlined by the union of the cells"
            ),
            "period": period.label if period else "",
            "preset": params.preset or "all-day",
        },
        geometry=[disclosure.cells_outline(groups[i]) for i in keep],
        crs=CRS_BNG,
    )
    frame["density"] = frame["n_incidents"].astype(float) / (frame.geometry.area / 1e6)
    frame["place_name"] = places.place_names(frame.geometry.to_numpy(), svc.data_dir)
    frame.index = pd.Index([f"cluster-{i}" for i in frame["cluster_id"]], name="id")
    return frame


def _emerging_frame(svc: LayerSource, params: AnalysisParams) -> gpd.GeoDataFrame:
    from ..hotspots import emerging

    check_filters(params)
    period = public_period(svc, params)
    cols = ("cell", "resolution", "trend", "count", "place_name", "period")
    if period is None:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=CRS_BNG)
    monthly = svc.published.counts(period.months, window(params), params.sources)
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
        geometry=published_counts.centres(monthly["cell"]).to_numpy() if len(monthly) else [],
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
    from .exports import integer_counts

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
        check_filters(params)
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
        synthetic = published_counts.synthetic(svc)
    published = roles.publish_features(principal, collection, frame, reference=reference)
    published = integer_counts(published, collection)  # 20, not 20.0; suppressed: null
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
    where = f"the period {period.label} in the {window(params)!r} time window"
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
    else:
        reason = "the method found no feature in the published counts; try other parameters"
    return {"excluded": excluded, "reason": reason}

"""The published aggregates as the non-analyst layers use them: the published period of a
request, the counts per cell of its period, time window and sources, and points or stand-in
rows built from those counts (for densities and the journey exposure model). Everything here
reads ``published_counts`` over the service's reader connection
(:class:`geosafe.store.published_read.PublishedReader`) and nothing else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from .._errors import DisclosureError
from ..incident import CRS_BNG
from .catalogue import AnalysisParams
from .layer import SYNTHETIC_SOURCES, LayerSource

__all__ = [
    "PublicPeriod",
    "cell_counts",
    "centres",
    "check_filters",
    "density_points",
    "document_period",
    "public_incidents",
    "public_period",
    "sources_recorded",
    "synthetic",
    "window",
]


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


def check_filters(params: AnalysisParams) -> None:
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
        return PublicPeriod(f"L12:{latest}", str(pd.Period(latest, freq="M") - 11), latest)
    if start is None or end is None or start.day != 1:
        raise DisclosureError(_period_msg(start, end))
    lo = pd.Period(start, freq="M")
    hi = pd.Period(end, freq="M")
    if end != hi.end_time.date():
        raise DisclosureError(_period_msg(start, end))
    n = (hi.year - lo.year) * 12 + hi.month - lo.month + 1
    if n == 1:
        key = str(lo)
    elif n == 3 and lo.month % 3 == 1:
        key = f"{lo.year}-Q{(lo.month - 1) // 3 + 1}"
    elif n == 12 and lo.month == 1:
        key = str(lo.year)
    elif n == 12:
        key = f"L12:{hi}"
    else:
        raise DisclosureError(_period_msg(start, end))
    return PublicPeriod(key, str(lo), str(hi))


def _period_msg(start: dt.date | None, end: dt.date | None) -> str:
    return (
        f"the period {start}/{end} is not a published period; outside the analyst role send "
        "a `datetime` naming a whole month ('2025-03'), quarter ('2025-Q1') or year ('2025')."
    )


def window(params: AnalysisParams) -> str:
    return params.preset or "all-day"


# -- counts --------------------------------------------------------------------------------
def cell_counts(
    svc: LayerSource, params: AnalysisParams, *, sources: tuple[str, ...] | None = None
) -> tuple[pd.DataFrame, PublicPeriod | None]:
    """The published counts per cell of ``params``' period, time window and sources
    (``cell``, ``resolution``, ``count`` NaN when suppressed, ``suppressed``)."""
    check_filters(params)
    period = public_period(svc, params)
    cols = ["cell", "resolution", "count", "suppressed"]
    if period is None:
        return pd.DataFrame({c: [] for c in cols}), None
    wanted = params.sources if sources is None else sources
    frame = svc.published.counts([period.key], window(params), wanted)
    return frame[cols].reset_index(drop=True), period


def centres(cells: Any) -> gpd.GeoSeries:
    """The centres of H3 cells (EPSG:27700)."""
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
        geometry=centres(shown["cell"]).to_numpy(),
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
        geometry=centres(cells).to_numpy() if len(cells) else [],
        crs=CRS_BNG,
    )
    return frame, period


def synthetic(svc: LayerSource) -> bool:
    return bool(svc.published.sources() & set(SYNTHETIC_SOURCES))


def document_period(
    svc: Any, params: AnalysisParams, principal: Any
) -> tuple[dt.date | None, dt.date | None, bool]:
    """The period (local dates, inclusive) and the synthetic flag a collection document shows
    ``principal`` before any layer is built: the analyst's from the incidents
    (``svc.period``), anyone else's the published period of ``params`` read over the reader
    connection (``None, None`` when nothing is published)."""
    if getattr(principal, "role", None) == "analyst":
        start, end = svc.period(params)
        return start, end, svc.has_synthetic()
    period = public_period(svc, params)
    if period is None:
        return None, None, synthetic(svc)
    return period.start, period.end, synthetic(svc)


def sources_recorded(svc: Any, params: AnalysisParams, principal: Any) -> list[str] | None:
    """The sources with any published incident (counted or suppressed), at any time of day,
    in the months of the period ``principal`` sees for ``params`` (:func:`document_period`):
    what a comparison of two periods must know, since a source absent from one of them is
    not a change. Read from the published monthly counts, so it tells no one more than the
    published counts per source already do. ``None`` when nothing is published."""
    start, end, _ = document_period(svc, params, principal)
    if start is None or end is None:
        return None
    first, last = pd.Period(start, freq="M"), pd.Period(end, freq="M")
    rows = svc.published.query(
        "SELECT DISTINCT source, cell FROM published_counts WHERE period >= ? AND period <= ? "
        "AND substr(period, 6, 1) IN ('0', '1') AND time_window = 'all-day' "
        "AND source <> '*'",
        [str(first), str(last)],
    )
    if getattr(principal, "area", None) is not None and rows:
        # a neighbourhood hears of its own area only: the cells its layers may show
        from shapely import Polygon

        from .disclosure import clip_to_scope

        cells = sorted({str(r[1]) for r in rows})
        frame = gpd.GeoDataFrame(
            {"cell": cells},
            geometry=[Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells],
            crs="OGC:CRS84",
        )
        inside = set(clip_to_scope(principal, frame)["cell"])
        rows = [r for r in rows if str(r[1]) in inside]
    return sorted({str(r[0]) for r in rows})

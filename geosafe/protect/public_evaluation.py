"""Did the intervention near us work? A disclosure-controlled evaluation for schools and
neighbourhood teams, built only from published aggregates.

Its only input about incidents is the table of **published** H3 resolution-8 counts per cell
and month (:func:`published_monthly_counts`: 1-9 not shown, others rounded to 5; the counts
the ``h3-cells`` collection gives any role for ``datetime=YYYY-MM&preset=all-day``), read
over the service's reader connection like the intervention's public columns: it never reads
an incident row. What it
returns is therefore a function of numbers every role can already read, and it is coarsened
further:

- **Where.** The treated area is the published cells whose centre lies in the intervention's
  area (the cell of its centre when it is smaller than a cell); the ring is their neighbouring
  cells; the comparison is the ``k`` wards of the area (cells whose centre lies in them,
  clear of the treated cells and the ring) with the most similar published pre-period counts.
- **The estimate.** The difference in differences of :mod:`geosafe.protect.did` on the monthly
  totals of those cells, a hidden cell-month taken as 5 (the middle of 1-9). The interval is
  widened by what suppression and rounding leave unknown: each rounded value's error
  (uniform on -2..2, variance 2) and each hidden value's (uniform on 1..9, variance 20/3)
  are added to the variance of its total.
- **Banded.** The change and its interval are rounded outwards to 10 percentage points.
- **Refused, with the reason,** when the treated area's published total before or after is
  under :data:`MIN_PUBLISHED`, or when hidden cell-months make up more than
  :data:`MAX_HIDDEN_SHARE` of either (the answer would rest on numbers nobody may see).

``tests/protect/test_public_evaluation.py`` changes the incidents behind the published counts
(every suppressed count from 1 to 9, rounded counts within their class) and differences two
periods and two areas: the answer never changes, so nothing hidden can be recovered from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from ..incident import CRS_BNG
from ..publish import disclosure
from .did import did_estimate
from .interventions import Intervention, interventions_geojson, list_public, log_state

__all__ = [
    "MAX_HIDDEN_SHARE",
    "MIN_PUBLISHED",
    "evaluate_published",
    "for_viewer",
    "log_state",
    "published_interventions",
    "published_monthly_counts",
]

#: The least published total of the treated cells before and after for an answer.
MIN_PUBLISHED: Final = 20
#: The largest share of a treated total that hidden (1-9) cell-months may stand for.
MAX_HIDDEN_SHARE: Final = 0.25
#: Percentages are rounded outwards to this many points.
BAND_PCT: Final = 10
#: A hidden cell-month's value in the estimate (the middle of 1-9) and the most it can be.
_HIDDEN_MID, _HIDDEN_HIGH = 5.0, 9.0
_RES: Final = disclosure.MAX_PUBLIC_H3_RESOLUTION
RULES: Final = (
    "built only from the published H3 resolution-8 monthly counts (cells with 1-9 incidents "
    "not shown, others rounded to 5); percentages rounded outwards to 10 points"
)


def published_monthly_counts(reader: Any, *, sources: Sequence[str] | None = None) -> pd.DataFrame:
    """The published counts: H3 resolution-8 cells (rows) by month (columns, Europe/London),
    each value the ``all-day`` row of ``published_counts`` for that month over every source
    (or the sum of the published counts of ``sources``; NaN: 1-9, not shown; 0: no
    incident), read over ``reader`` (the service's
    :class:`~geosafe.store.published_read.PublishedReader`: on PostGIS a ``geosafe_reader``
    login, which cannot read incident rows nor ``published_exact``). This is the only way
    incidents reach :func:`evaluate_published`."""
    wanted = [s.replace("-", "_") for s in sources or ()]
    frame = reader.monthly("all-day", wanted)
    if frame.empty:
        return pd.DataFrame()
    # a cell's months without a row held no incident (0); a suppressed one stays NaN
    marked = frame.assign(count=frame["count"].fillna(-1.0))
    wide = marked.pivot(index="cell", columns="period", values="count").fillna(0.0)
    wide = wide.where(wide >= 0)
    wide.columns = pd.PeriodIndex(list(wide.columns), freq="M")
    wide.index = wide.index.astype(str)
    return wide.sort_index(axis=1)


def _cells_in(geom: BaseGeometry) -> list[str]:
    """Published cells whose centre lies in ``geom`` (EPSG:27700); the cell of its
    representative point when none does."""
    wgs = gpd.GeoSeries([geom], crs=CRS_BNG).to_crs("EPSG:4326").iloc[0]
    cells = sorted(str(c) for c in h3.geo_to_cells(wgs.__geo_interface__, _RES))
    if not cells:
        p = wgs.representative_point()
        cells = [str(h3.latlng_to_cell(p.y, p.x, _RES))]
    return cells


def _series(counts: pd.DataFrame, cells: Sequence[str], months: pd.PeriodIndex) -> dict[str, Any]:
    """Monthly totals of ``cells`` (hidden as 5) and the bounds of the period totals."""
    sub = counts.reindex(index=list(cells), columns=months).to_numpy(dtype=float)
    known = np.asarray([c in counts.index for c in cells], dtype=bool)  # else: no incident
    present = ~np.isnan(sub)
    hidden = ~present & known[:, None]
    values = np.where(present, sub, 0.0)
    mid = values.sum(0) + _HIDDEN_MID * hidden.sum(0)
    return {
        "mid": mid,
        "rounded": (values > 0).sum(0),
        "published": values.sum(0),
        "hidden": hidden.sum(0),
    }


def _band(pct: float, how: str) -> int:
    f = {"down": math.floor, "up": math.ceil}.get(how, round)
    return int(f(pct / BAND_PCT) * BAND_PCT)


def _totals(s: dict[str, Any], post: np.ndarray) -> dict[str, Any]:
    return {
        "before": int(s["published"][~post].sum()),
        "after": int(s["published"][post].sum()),
        "hidden_cell_months_before": int(s["hidden"][~post].sum()),
        "hidden_cell_months_after": int(s["hidden"][post].sum()),
    }


def _months(counts: pd.DataFrame, iv: Intervention, pre: int, post: int) -> pd.PeriodIndex:
    present = pd.PeriodIndex(list(counts.columns), freq="M")
    if not len(present):
        raise ValidationError("no published counts to evaluate against.")
    start = pd.Period(iv.started_on, "M")
    stop = present.max() if iv.ended_on is None else pd.Period(iv.ended_on, "M")
    before = [m for m in present if start - pre <= m < start]
    after = [m for m in present if start < m <= min(stop, start + post)]
    if len(before) < 2 or len(after) < 1:
        msg = (
            f"the published months give {len(before)} month(s) before and {len(after)} after "
            f"the start ({start}); an evaluation needs 2 before and 1 after at least."
        )
        raise ValidationError(msg)
    return pd.PeriodIndex(before + after, freq="M")


#: Variance of one published value's rounding error (uniform on -2..2) and of a hidden
#: value (uniform on 1..9): measurement error added to the Poisson variance of each total.
_ROUND_VAR, _HIDDEN_VAR = 2.0, 20.0 / 3.0


def _estimate(t: dict[str, Any], c: dict[str, Any], post: np.ndarray) -> dict[str, Any]:
    """The banded estimate of the treated totals ``t`` against the comparison ``c``: the
    quasi-Poisson interval of :func:`did_estimate` with the variance of what rounding and
    suppression leave unknown added to each of the four totals."""
    est = did_estimate(t["mid"], c["mid"], post)
    extra = 0.0
    for s in (t, c):
        for part in (~post, post):
            total = max(float(s["mid"][part].sum()), 0.5)
            n_round = float(s["rounded"][part].sum())
            n_hidden = float(s["hidden"][part].sum())
            extra += (_ROUND_VAR * n_round + _HIDDEN_VAR * n_hidden) / total**2
    se = math.sqrt(est.se**2 + extra)
    q = (est.ci_high - est.log_ratio) / est.se if est.se > 0 else 0.0  # Student t quantile
    lo, hi = est.log_ratio - q * se, est.log_ratio + q * se
    pct = 100.0 * (math.exp(est.log_ratio) - 1.0)
    interval = [
        _band(100.0 * (math.exp(lo) - 1.0), "down"),
        _band(100.0 * (math.exp(hi) - 1.0), "up"),
    ]
    return {"change_pct": _band(pct, "near"), "interval_pct": interval, "lo": lo, "hi": hi}


def _refusal(t: dict[str, Any], post: np.ndarray) -> str | None:
    for name, part in (("before", ~post), ("after", post)):
        published = float(t["published"][part].sum())
        hidden = int(t["hidden"][part].sum())
        if published < MIN_PUBLISHED:
            return (
                f"too few published incidents in the intervention's cells {name} it "
                f"({published:.0f}; at least {MIN_PUBLISHED} are needed) to say whether they "
                "changed without resting on counts that are not shown; ask your analyst for "
                "the full evaluation"
            )
        if _HIDDEN_HIGH * hidden > MAX_HIDDEN_SHARE * (published + _HIDDEN_HIGH * hidden):
            return (
                f"{hidden} cell-month(s) of 1-9 incidents {name} the intervention are not "
                "shown and could change the answer; ask your analyst for the full evaluation"
            )
    return None


def evaluate_published(
    iv: Intervention,
    counts: pd.DataFrame,
    *,
    data_dir: Any = None,
    k: int = 3,
    pre_months: int = 12,
    post_months: int = 12,
) -> dict[str, Any]:
    """The disclosure-controlled evaluation of ``iv`` from ``counts``
    (:func:`published_monthly_counts`) as a JSON-ready dict: ``evaluated`` and either the
    banded ``change_pct``, ``interval_pct`` and ``reading``, or the ``reason`` it cannot say."""
    from .. import datasets

    treated = _cells_in(iv.geometry)
    ring = sorted({str(n) for c in treated for n in h3.grid_disk(c, 1)} - set(treated))
    out: dict[str, Any] = {
        "intervention": {
            "id": iv.id,
            "where_kind": iv.where_kind,
            "started": str(pd.Period(iv.started_on, "M")),
            "ended": str(pd.Period(iv.ended_on, "M")) if iv.ended_on else None,
        },
        "cells": treated,
        "rules": RULES,
        "evaluated": False,
        "reason": None,
    }
    try:
        months = _months(counts, iv, pre_months, post_months)
    except ValidationError as exc:
        out["reason"] = str(exc)
        return out
    post = np.asarray(months > pd.Period(iv.started_on, "M"))
    out["months"] = {
        "before": [str(m) for m in months[~post]],
        "after": [str(m) for m in months[post]],
    }
    t = _series(counts, treated, months)
    out["published_totals"] = {"treated": _totals(t, post)}
    why = _refusal(t, post)
    if why is not None:
        out["reason"] = why
        return out
    wards = datasets.wards(data_dir)
    wards = wards[wards.intersects(datasets.demo_area(data_dir))]
    used = set(treated) | set(ring)
    cands: dict[str, dict[str, Any]] = {}
    for name, geom in zip(wards["name"], wards.geometry, strict=True):
        cells = [c for c in _cells_in(geom) if c not in used]
        if len(cells) >= 2:
            cands[str(name)] = _series(counts, cells, months)
    if not cands:
        out["reason"] = "no ward of the area lies clear of the intervention's cells"
        return out
    pre_t = np.log1p(t["mid"][~post])
    dist = {
        n: float(np.sqrt(((np.log1p(s["mid"][~post]) - pre_t) ** 2).mean()))
        for n, s in cands.items()
    }
    chosen = sorted(cands, key=lambda n: (dist[n], n))[: max(1, k)]
    c = {
        key: sum(cands[n][key] for n in chosen) for key in ("mid", "rounded", "published", "hidden")
    }
    est = _estimate(t, c, post)
    lo, hi = est["interval_pct"]
    span = f"about {est['change_pct']:+d}% (between {lo:+d}% and {hi:+d}%)"
    if est["hi"] < 0:
        reading = (
            f"fewer incidents in the intervention's cells than the comparison predicts: {span}"
        )
    elif est["lo"] > 0:
        reading = f"more incidents in the intervention's cells than the comparison predicts: {span}"
    else:
        reading = f"no clear change against the comparison: {span}"
    r = _series(counts, ring, months)
    disp = _estimate(r, c, post) if r["mid"][~post].sum() > 0 and r["mid"][post].sum() > 0 else None
    if disp is None:
        displacement = "too few published incidents in the neighbouring cells to say"
    elif disp["lo"] > 0:
        displacement = "incidents rose in the neighbouring cells beyond the comparison's change: possible displacement"
    elif disp["hi"] < 0:
        displacement = (
            "incidents fell in the neighbouring cells too: a possible diffusion of benefit"
        )
    else:
        displacement = "no clear change in the neighbouring cells: no sign of displacement"
    out.update(
        evaluated=True,
        change_pct=est["change_pct"],
        interval_pct=[lo, hi],
        reading=reading,
        displacement=displacement,
        comparison=chosen,
    )
    out["published_totals"]["comparison"] = _totals(c, post)
    return out


def published_interventions(
    reader: Any, *, data_dir: Any = None, area: BaseGeometry | None = None
) -> dict[str, Any]:
    """Every logged intervention as a school or neighbourhood team may see it: the outline
    of its published cells (WGS84), its months and its :func:`evaluate_published` answer; not
    what was done, the exact area nor the notes (the analyst's words, which may name people).
    With ``area`` (a neighbourhood's wards, EPSG:27700), those whose cells touch it only.
    Everything is read over ``reader`` (the service's reader connection): the intervention
    columns the reader may read (:data:`~geosafe.protect.interventions.PUBLIC_COLUMNS`) and
    the published monthly counts; no incident row."""
    items = list_public(reader)
    counts = published_monthly_counts(reader) if items else pd.DataFrame()
    feats = []
    for iv in items:
        ev = evaluate_published(iv, counts, data_dir=data_dir)
        # traced by H3 in WGS84, so every vertex is a vertex of a published cell
        wgs = shapely.geometry.shape(h3.cells_to_h3shape(ev["cells"]).__geo_interface__)
        if area is not None:
            outline = gpd.GeoSeries([wgs], crs="OGC:CRS84").to_crs(CRS_BNG).iloc[0]
            if not outline.intersects(area):
                continue
        feats.append(
            {
                "type": "Feature",
                "id": iv.id,
                "geometry": shapely.geometry.mapping(shapely.set_precision(wgs, 1e-6)),
                "properties": ev,
            }
        )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "note": (
            "Interventions as published cells with their months; what was done and where "
            "exactly are in the analyst's log. " + RULES + "."
        ),
    }


def for_viewer(layers: Any, principal: Any, data_dir: Any = None) -> dict[str, Any]:
    """The interventions a map shows its viewer: the analyst's log with the last evaluations
    (:func:`~geosafe.protect.interventions.interventions_geojson`), or for other roles
    :func:`published_interventions` (a neighbourhood's: those touching its wards) read over
    the reader connection. ``layers``: the service's
    :class:`~geosafe.publish.service.LayerService` (or anything with its ``store`` and
    ``published``)."""
    if principal.role == "analyst":
        return interventions_geojson(layers.store)
    area = getattr(principal, "area", None) if principal.role == "neighbourhood" else None
    return published_interventions(layers.published, data_dir=data_dir, area=area)

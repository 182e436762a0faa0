"""Did incidents change after an intervention? Monthly counts in the treated area before and
after, against a comparison area, as a difference in differences (:mod:`geosafe.protect.did`),
with displacement checked in a ring around the treated area.

- **Months.** The ``pre_months`` whole months before the month the intervention started, and
  the whole months after it (up to ``post_months``, the month it ended and the last month of
  data). The start month itself is left out: it is partly before, partly after.
- **Counts.** Incidents of the chosen sources whose location lies in the area (a record
  known only along a stretch of bus route counts at the stretch's midpoint), by month of
  ``occurred_from`` (Europe/London). police.uk months count whole.
- **Comparison.** The areas the analyst names (2018 wards), or by default the ``k`` wards of
  the demo area (not touching the treated area or its ring) whose pre-period monthly counts are
  closest to the treated area's (root mean square difference of ``log(1 + count)``); their
  counts are summed.
- **Displacement.** The ring from the treated area's edge out to ``ring_m`` metres, evaluated
  against the same comparison: a rise there beyond the comparison's is displacement (its
  interval above 0), a fall a diffusion of benefit.
- **Pre-trend check.** A placebo: the same estimate with the pre-period split in halves, as if
  the intervention had started half-way. An interval excluding 0 warns that the areas were
  already drifting apart and the comparison is doubtful.

An evaluation holds exact counts of small areas: it is for analysts only (the API refuses
other roles; :func:`evaluation_for_role`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .._errors import ValidationError
from .did import DidEstimate, did_estimate
from .interventions import Intervention

__all__ = [
    "comparison_candidates",
    "evaluate_intervention",
    "evaluate_logged",
    "evaluation_for_role",
    "interventions_table",
    "monthly_counts",
]

log = logging.getLogger(__name__)


def _points(incidents: gpd.GeoDataFrame) -> np.ndarray:
    geoms = incidents.geometry.to_numpy()
    lines = shapely.get_type_id(geoms) == 1
    out = geoms.copy()
    if lines.any():
        out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    return out


def monthly_counts(
    incidents: gpd.GeoDataFrame, areas: dict[str, BaseGeometry], months: pd.PeriodIndex
) -> pd.DataFrame:
    """Incidents per area (rows) and month (columns) for the given months."""
    inc = incidents[incidents.geometry.notna()]
    pts = _points(inc)
    when = pd.DatetimeIndex(inc["occurred_from"])
    if when.tz is not None:
        when = when.tz_convert("Europe/London").tz_localize(None)
    month = when.to_period("M")
    keep = month.isin(months)
    pts, month = pts[keep], month[keep]
    out = pd.DataFrame(0, index=list(areas), columns=months, dtype=float)
    if not len(pts):
        return out
    tree = shapely.STRtree(pts)
    for name, geom in areas.items():
        idx = tree.query(geom, predicate="intersects")
        if len(idx):
            vc = pd.Series(month[idx]).value_counts()
            out.loc[name, vc.index] = vc.to_numpy(dtype=float)
    return out


def comparison_candidates(
    data_dir: Any, treated: BaseGeometry, ring: BaseGeometry
) -> dict[str, BaseGeometry]:
    """Wards of the demo area (2018) that touch neither the treated area nor its ring."""
    from .. import datasets

    wards = datasets.wards(data_dir)
    wards = wards[wards.intersects(datasets.demo_area(data_dir))]
    outer = shapely.union_all([treated, ring])
    keep = ~wards.intersects(outer)
    return {
        f"{n}, {b}": g
        for n, b, g in zip(
            wards["name"][keep], wards["borough"][keep], wards.geometry[keep], strict=True
        )
    }


def _months(
    incidents: gpd.GeoDataFrame, iv: Intervention, pre: int, post: int
) -> tuple[pd.PeriodIndex, np.ndarray, list[str]]:
    when = pd.DatetimeIndex(incidents["occurred_from"])
    if when.tz is not None:
        when = when.tz_convert("Europe/London").tz_localize(None)
    if not len(when):
        raise ValidationError("the store holds no located incidents to evaluate against.")
    first, last = when.min().to_period("M"), when.max().to_period("M")
    present = set(when.to_period("M"))  # a month with no record anywhere is a gap in the data
    start = pd.Period(iv.started_on, "M")
    stop = last if iv.ended_on is None else min(last, pd.Period(iv.ended_on, "M"))
    before = pd.period_range(max(first, start - pre), start - 1, freq="M")
    after = pd.period_range(start + 1, min(stop, start + post), freq="M")
    gaps = [str(m) for m in before.append(after) if m not in present]
    if gaps:
        log.warning("months with no incidents anywhere in the store left out: %s", gaps)
    before = pd.PeriodIndex([m for m in before if m in present], freq="M")
    after = pd.PeriodIndex([m for m in after if m in present], freq="M")
    if len(before) < 2 or len(after) < 1:
        msg = (
            f"intervention {iv.id} started {iv.started_on.isoformat()}: the data run from {first} to "
            f"{last}, giving {len(before)} month(s) before and {len(after)} after; an evaluation "
            "needs 2 before and 1 after at least (wait for more data, or import earlier months)."
        )
        raise ValidationError(msg)
    months = pd.PeriodIndex(before.append(after), freq="M")
    return months, np.asarray(months > start), gaps


def _reading(est: DidEstimate, what: str) -> str:
    pct = est.percent_change
    lo, hi = 100 * (est.ratio_low - 1), 100 * (est.ratio_high - 1)
    span = f"{pct:+.0f}% ({est.level:.0%} interval {lo:+.0f}% to {hi:+.0f}%)"
    if est.ci_high < 0:
        return f"{what}: fewer incidents than the comparison predicts, {span}."
    if est.ci_low > 0:
        return f"{what}: more incidents than the comparison predicts, {span}."
    return f"{what}: no clear change against the comparison, {span}."


def evaluate_intervention(
    iv: Intervention,
    incidents: gpd.GeoDataFrame,
    *,
    data_dir: Any = None,
    comparison: dict[str, BaseGeometry] | None = None,
    k: int = 3,
    pre_months: int = 12,
    post_months: int = 12,
    ring_m: float = 400.0,
    sources: Sequence[str] | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """The evaluation of one intervention as a JSON-ready dict (analysts only).

    Parameters
    ----------
    incidents
        Located incidents (EPSG:27700), e.g. ``Store.incidents()``.
    comparison
        Named comparison areas; ``None`` picks the ``k`` most similar wards.
    ring_m
        Width of the displacement ring, metres.
    """
    if not 1 <= pre_months <= 60 or not 1 <= post_months <= 60:
        raise ValidationError("`pre_months` and `post_months` must be between 1 and 60.")
    if not 50.0 <= ring_m <= 2000.0:
        raise ValidationError(f"`ring` {ring_m!r} must be between 50 and 2000 metres.")
    inc = incidents[incidents.geometry.notna()]
    if sources:
        inc = inc[inc["source"].isin([s.replace("-", "_") for s in sources])]
    treated = iv.geometry
    ring = treated.buffer(ring_m).difference(treated)
    months, post, gaps = _months(inc, iv, pre_months, post_months)
    chosen_by = "analyst"
    if comparison is None:
        cands = comparison_candidates(data_dir, treated, ring)
        if not cands:
            raise ValidationError(
                "no ward of the area lies clear of the treated area and its ring; name `comparison` areas."
            )
        counts = monthly_counts(inc, {"treated": treated, **cands}, months)
        pre = np.log1p(counts.loc[:, ~post].to_numpy())
        dist = np.sqrt(((pre[1:] - pre[0]) ** 2).mean(axis=1))
        order = np.argsort(dist, kind="stable")[: max(1, k)]
        names = [list(cands)[i] for i in order]
        comparison = {n: cands[n] for n in names}
        chosen_by = (
            f"the {len(names)} ward(s) of the area with the most similar pre-period monthly counts"
        )
    else:
        for name, geom in comparison.items():
            # sharing a (generalised) boundary is fine: more than 1% of the area is overlap
            if geom.intersection(treated).area > 0.01 * geom.area:
                raise ValidationError(
                    f"comparison area {name!r} overlaps the treated area; pick another."
                )
    counts = monthly_counts(inc, {"treated": treated, "ring": ring, **comparison}, months)
    t = counts.loc["treated"].to_numpy()
    r = counts.loc["ring"].to_numpy()
    c = counts.loc[list(comparison)].to_numpy().sum(axis=0)
    est = did_estimate(t, c, post, level=level)
    disp = did_estimate(r, c, post, level=level)
    pre_idx = np.flatnonzero(~post)
    placebo: dict[str, Any] | None = None
    if len(pre_idx) >= 4:
        half = np.arange(len(pre_idx)) >= len(pre_idx) // 2
        p_est = did_estimate(t[pre_idx], c[pre_idx], half, level=level)
        placebo = {
            **p_est.as_dict(),
            "reading": (
                "the areas were already drifting apart before the intervention: read the "
                "estimate with care"
                if not p_est.covers_zero
                else "no drift between the areas before the intervention"
            ),
        }
    if disp.ci_low > 0:
        displacement = (
            "incidents rose in the ring beyond the comparison's change: possible displacement"
        )
    elif disp.ci_high < 0:
        displacement = "incidents fell in the ring too: a possible diffusion of benefit"
    else:
        displacement = "no clear change in the ring: no sign of displacement"
    month_rows = [
        {
            "month": str(m),
            "period": "after" if p else "before",
            "treated": int(a),
            "ring": int(b),
            "comparison": int(d),
        }
        for m, p, a, b, d in zip(months, post, t, r, c, strict=True)
    ]
    return {
        "intervention": iv.as_dict(),
        "method": (
            "difference in differences: Poisson model with area and month effects (closed form), "
            "quasi-Poisson interval; the start month left out"
        ),
        "months": {
            "before": [str(m) for m in months[~post]],
            "after": [str(m) for m in months[post]],
            "left_out": {"start month": str(pd.Period(iv.started_on, "M")), "no data": gaps},
        },
        "sources": sorted(inc["source"].unique().tolist()) if sources is None else list(sources),
        "comparison": {
            "areas": list(comparison),
            "chosen_by": chosen_by,
            "area_km2": round(shapely.union_all(list(comparison.values())).area / 1e6, 3),
        },
        "treated": {"area_km2": round(treated.area / 1e6, 4)},
        "estimate": est.as_dict(),
        "reading": _reading(est, "In the treated area"),
        "displacement": {
            "ring_m": ring_m,
            "ring_km2": round(ring.area / 1e6, 4),
            "estimate": disp.as_dict(),
            "reading": displacement,
        },
        "pre_trend": placebo,
        "monthly": month_rows,
        "evaluated_on": dt.date.today().isoformat(),
    }


def evaluation_for_role(role: str) -> None:
    """Refuse an evaluation to anyone but an analyst (exact counts of small areas)."""
    from .._errors import AccessDeniedError

    if role != "analyst":
        msg = (
            "an intervention evaluation holds exact monthly counts of small areas: analysts "
            f"only (role {role!r})."
        )
        raise AccessDeniedError(msg)


def evaluate_logged(
    store: Any,
    intervention_id: int,
    *,
    compare_wards: Sequence[str] | None = None,
    data_dir: Any = None,
    incidents: gpd.GeoDataFrame | None = None,
    **options: Any,
) -> dict[str, Any]:
    """:func:`evaluate_intervention` for a logged intervention over the store's incidents
    (``store``: a :class:`geosafe.store.Store`, a SQLite path or a PostgreSQL URL); its
    summary is kept as the intervention's last evaluation (the maps show it)."""
    from .interventions import get_intervention, resolve_where, save_evaluation

    iv = get_intervention(store, intervention_id)
    comparison = None
    if compare_wards:
        comparison = {w: resolve_where("ward", w, data_dir=data_dir)[1] for w in compare_wards}
    if incidents is None:
        incidents = _store_incidents(store)
    result = evaluate_intervention(
        iv, incidents, data_dir=data_dir, comparison=comparison, **options
    )
    try:  # kept for the maps; a read-only store still answers
        save_evaluation(store, result)
    except Exception as exc:  # any database error: the answer stands
        log.warning("the evaluation of intervention %s was not kept: %s", iv.id, exc)
    return result


def _store_incidents(store: Any) -> gpd.GeoDataFrame:
    if hasattr(store, "incidents"):
        return store.incidents()
    from pathlib import Path

    if isinstance(store, str) and store.startswith(("postgresql://", "postgres://")):
        from .. import store as store_pkg

        opener = getattr(store_pkg, "open_store", None)
        if opener is None:
            msg = "this build has no PostgreSQL incident store yet (geosafe.store.open_store)."
            raise ValidationError(msg)
        return opener(store).incidents()
    from ..store import Store

    with Store(Path(store)) as s:
        return s.incidents()


#: Columns of :func:`interventions_table` (the profile report's section).
SUMMARY_COLUMNS = (
    "id",
    "what",
    "where",
    "started",
    "ended",
    "change",
    "interval",
    "displacement",
    "comparison",
)


def interventions_table(store: Any, *, incidents: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """One row per logged intervention with its evaluation in words (the analyst's problem
    profile); an intervention that cannot be evaluated yet says why in ``change``."""
    from .interventions import list_interventions

    rows = []
    items = list_interventions(store)
    if items and incidents is None:
        incidents = _store_incidents(store)
    for iv in items:
        row: dict[str, Any] = {
            "id": iv.id,
            "what": iv.what,
            "where": f"{iv.where_kind}: {iv.where_ref}",
            "started": iv.started_on.isoformat(),
            "ended": iv.ended_on.isoformat() if iv.ended_on else "running",
        }
        try:
            ev = evaluate_intervention(iv, incidents)  # type: ignore[arg-type]
        except ValidationError as exc:
            row.update(change=f"not evaluated: {exc}", interval="", displacement="", comparison="")
        else:
            e = ev["estimate"]
            row.update(
                change=f"{e['percent_change']:+.0f}%",
                interval=f"{100 * (e['ratio_low'] - 1):+.0f}% to {100 * (e['ratio_high'] - 1):+.0f}%",
                displacement=ev["displacement"]["reading"],
                comparison=", ".join(ev["comparison"]["areas"]),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

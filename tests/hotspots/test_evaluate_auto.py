"""``auto`` is never behind a fixed method on the held-out training months, and reports the
table it chose from (issue 16, item 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from geosafe.hotspots import evaluate

from .conftest import make_frame


def _data():  # type: ignore[no-untyped-def]
    """Twelve months of a fixed set of recurring points (like police.uk map points) around two
    hot areas, over 2 km x 2 km."""
    rng = np.random.default_rng(5)
    snaps = np.concatenate(
        [
            rng.normal([300, 300], 80, (40, 2)),
            rng.normal([1500, 1200], 120, (40, 2)),
            rng.uniform(0, 2000, (120, 2)),
        ]
    )
    p = np.r_[np.full(80, 0.6 / 80), np.full(120, 0.4 / 120)]
    pts, times = [], []
    for m in range(1, 13):
        for i in rng.choice(len(snaps), 70, p=p):
            pts.append(Point(*(snaps[i] + [530000, 180000])))
            times.append(f"2023-{m:02d}-{rng.integers(1, 28):02d} 10:00")
    return make_frame(pts, times=times), box(530000, 180000, 532000, 182000)


def _held_out_rate(f, area, method: str, test: str, train_months: int) -> float:  # type: ignore[no-untyped-def]
    """A fixed method's hit rate on the validation months of ``test``'s training period,
    fitted on all training months before each (as ``auto`` validates), written out here."""
    months = pd.PeriodIndex(pd.to_datetime(f["occurred_from"]).dt.tz_localize(None), freq="M")
    t = pd.Period(test, freq="M")
    n_val = max(1, min(3, train_months // 4))
    first = t - train_months
    st = dict(evaluate.DEFAULTS[method])
    tess = evaluate._tessellation_for(method, st, area, {})
    x, y = f.geometry.x.to_numpy(), f.geometry.y.to_numpy()
    rates = []
    for k in range(n_val, 0, -1):
        v = t - k
        tr = np.asarray((months >= first) & (months < v))
        te = np.asarray(months == v)
        scores = evaluate.forecast_scores(method, tess, x[tr], y[tr], st, seed=0)
        chosen = evaluate.select_cells(scores, tess.areas, share=0.05, seed=0)
        c = tess.counts(x[te], y[te])
        rates.append(c[chosen].sum() / c.sum())
    return float(np.mean(rates))


def test_auto_matches_the_best_fixed_method_on_held_out_months() -> None:
    f, area = _data()
    bt = evaluate.backtest(
        f,
        methods=["auto"],
        train_months=8,
        area=0.05,
        first_test="2023-10",
        last_test="2023-11",
        study_area=area,
    )
    chosen = bt.summary()["methods"]["auto"]["settings"]["chosen"]
    for test, c in chosen.items():
        best_fixed = max(
            _held_out_rate(f, area, m, test, 8) for m in ("kde", "grid", "gistar", "dbscan")
        )
        assert c["validation_hit_rate"] >= best_fixed - 1e-4, test
        table = c["candidates"]
        assert {r["method"] for r in table} >= {"kde", "grid", "gistar", "dbscan"}
        rates = [r["validation_hit_rate"] for r in table]
        assert rates == sorted(rates, reverse=True) and rates[0] == c["validation_hit_rate"]
        assert c["validation_months"] == [str(pd.Period(test, freq="M") - k) for k in (2, 1)]
        # fixed methods are fitted on all the training months
        assert all(r["window_months"] == 8 for r in table if r["method"] in ("gistar", "dbscan"))

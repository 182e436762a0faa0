from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geosafe._errors import ValidationError
from geosafe.hotspots import evaluate

from .conftest import make_frame


def test_measures_by_hand() -> None:
    # 10 of 40 test incidents fall in 2 % of the area
    assert evaluate.pai(10, 40, 2.0, 100.0) == pytest.approx(12.5)
    # the best 2 % could have held 16
    assert evaluate.pei(10, 16) == pytest.approx(0.625)
    # training: 30 of 200 in the same cells -> (10/30) / (40/200)
    assert evaluate.rri(10, 40, 30, 200) == pytest.approx(5 / 3)
    assert np.isnan(evaluate.pai(0, 0, 1, 1))


def test_select_cells() -> None:
    scores = np.array([5.0, 0.0, 9.0, 5.0, 1.0, 0.0])
    areas = np.ones(6)
    sel = evaluate.select_cells(scores, areas, share=0.5)
    assert sorted(sel.tolist()) == [0, 2, 3]
    assert evaluate.select_cells(scores, areas, share=1.0).size == 6
    # zero-score cells top up at random, after every scoring cell
    top = evaluate.select_cells(scores, areas, share=5 / 6)
    assert set(top.tolist()) >= {0, 2, 3, 4} and len(top) == 5
    with pytest.raises(ValidationError, match=r"`area` 1\.5"):
        evaluate.select_cells(scores, areas, share=1.5)


def _frame_for_backtest():  # type: ignore[no-untyped-def]
    # study area 1 km x 1 km of 100 m cells (100 cells). Hot cell A (x 50, y 50) gets
    # 3 incidents a month; cell B (x 550, y 550) 1 a month; test month 2024-04 has 2 in A,
    # 1 in B and 1 in an empty cell C (x 950, y 50).
    pts, times = [], []
    for month in ("2024-01", "2024-02", "2024-03"):
        for _ in range(3):
            pts.append(Point(50, 50))
            times.append(f"{month}-10 12:00")
        pts.append(Point(550, 550))
        times.append(f"{month}-11 12:00")
    for p in (Point(50, 50), Point(50, 50), Point(550, 550), Point(950, 50)):
        pts.append(p)
        times.append("2024-04-10 12:00")
    return make_frame(pts, times=times)


def test_backtest_grid_by_hand() -> None:
    f = _frame_for_backtest()
    bt = evaluate.backtest(
        f,
        methods=["grid"],
        train_months=3,
        area=0.01,  # one cell of 100
        first_test="2024-04",
        last_test="2024-04",
        study_area=box(0, 0, 1000, 1000),
        settings={"grid": {"cell_m": 100.0}},
    )
    s = bt.summary()
    assert s["test_months"] == ["2024-04"]
    g = s["methods"]["grid"]
    # chosen: cell A. hits 2 of 4 in 1 % of the area -> PAI 50; best 1 cell holds 2 -> PEI 1
    assert g["pai"]["mean"] == pytest.approx(50.0)
    assert g["pei"]["mean"] == pytest.approx(1.0)
    # RRI = (2 / 9) / (4 / 12)
    assert g["rri"]["mean"] == pytest.approx((2 / 9) / (4 / 12), abs=1e-4)
    assert g["settings"]["cell_m"] == 100.0


def test_backtest_all_methods_and_auto_uses_training_only() -> None:
    rng = np.random.default_rng(0)
    hot = np.array([[300.0, 300.0], [1500.0, 1200.0]])
    pts, times = [], []
    for m in range(1, 13):
        for _ in range(60):
            xy = (
                hot[rng.integers(0, 2)] + rng.normal(0, 60, 2)
                if rng.random() < 0.6
                else rng.uniform(0, 2000, 2)
            )
            pts.append(Point(*xy))
            times.append(f"2023-{m:02d}-{rng.integers(1, 28):02d} 10:00")
    f = make_frame(pts, times=times)
    f = f.set_geometry(f.geometry.translate(530000, 180000))
    area = box(530000, 180000, 532000, 182000)
    bt = evaluate.backtest(
        f,
        methods=["kde", "grid", "gistar", "dbscan", "auto"],
        train_months=8,
        area=0.05,
        first_test="2023-09",
        last_test="2023-12",
        study_area=area,
    )
    s = bt.summary()
    assert s["test_months"] == ["2023-09", "2023-10", "2023-11", "2023-12"]
    for name, m in s["methods"].items():
        assert m["pai"]["mean"] > 2, name  # planted hotspots are found
        assert 0 < m["pei"]["mean"] <= 1
    chosen = s["methods"]["auto"]["settings"]["chosen"]
    for c in chosen.values():
        assert c["window_months"] <= 8
        assert c["method"] in ("kde", "grid", "gistar", "dbscan")
    # auto decided on training months only: changing the test months' data can't change it
    later = f[pd.to_datetime(f["occurred_from"]).dt.month >= 12].index
    f2 = f.drop(later)
    bt2 = evaluate.backtest(
        f2,
        methods=["auto"],
        train_months=8,
        area=0.05,
        first_test="2023-11",
        last_test="2023-11",
        study_area=area,
    )
    assert bt2.summary()["methods"]["auto"]["settings"]["chosen"]["2023-11"] == chosen["2023-11"]

"""Intervention evaluation end to end on synthetic incidents with a known effect: points
drawn in real 2018 wards of the demo area, a drop injected in the treated ward after the
start (and, in one test, a rise in its ring), counted and estimated by the library."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geosafe import datasets
from geosafe._errors import AccessDeniedError, ValidationError
from geosafe.protect.evaluate import evaluate_intervention, evaluation_for_role, monthly_counts
from geosafe.protect.interventions import Intervention, resolve_where

START = dt.date(2024, 1, 15)
MONTHS = pd.period_range("2023-01", "2024-12", freq="M")


def _draw(rng: np.random.Generator, geom: shapely.Geometry, n: int) -> np.ndarray:
    x0, y0, x1, y1 = geom.bounds
    out: list[np.ndarray] = []
    while sum(len(o) for o in out) < n:
        xy = rng.uniform((x0, y0), (x1, y1), size=(4 * n + 10, 2))
        out.append(xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])])
    return np.concatenate(out)[:n]


def _incidents(
    seed: int,
    treated: shapely.Geometry,
    *,
    drop: float,
    ring_rise: float = 1.0,
    ring_m: float = 400,
) -> gpd.GeoDataFrame:
    """Poisson counts per ward and month (~1 per km² a day shared seasonality); the treated
    ward's rate times ``drop`` after the start month, its ring's times ``ring_rise``."""
    rng = np.random.default_rng(seed)
    wards = datasets.wards()
    wards = wards[wards.intersects(datasets.demo_area())]
    ring = treated.buffer(ring_m).difference(treated)
    parts = [("treated", treated), ("ring", ring)]
    rest = shapely.difference(wards.geometry.to_numpy(), treated.buffer(ring_m))
    parts += [(f"w{i}", g) for i, g in enumerate(rest) if not g.is_empty]
    xs, ts = [], []
    for i, m in enumerate(MONTHS):
        season = 1 + 0.3 * np.sin(2 * np.pi * i / 12)
        after = m > pd.Period(START, "M")
        for name, geom in parts:
            rate = 8.0 * geom.area / 1e6 * season
            if after and name == "treated":
                rate *= drop
            if after and name == "ring":
                rate *= ring_rise
            n = rng.poisson(rate)
            if n:
                xs.append(_draw(rng, geom, n))
                days = rng.integers(0, m.days_in_month, n)
                ts.append(pd.Timestamp(m.start_time) + pd.to_timedelta(days, "D"))
    xy = np.concatenate(xs)
    when = pd.DatetimeIndex(np.concatenate([t.to_numpy() for t in ts])).tz_localize("Europe/London")
    return gpd.GeoDataFrame(
        {"source": "cris", "occurred_from": when},
        geometry=shapely.points(xy),
        crs="EPSG:27700",
    )


def _iv(geom: shapely.Geometry) -> Intervention:
    return Intervention(
        1,
        "detached youth work",
        "ward",
        "Bounds Green",
        shapely.to_wkt(geom),
        START,
        None,
        None,
        "",
        None,
    )


@pytest.fixture(scope="module")
def bounds_green() -> shapely.Geometry:
    return resolve_where("ward", "Bounds Green")[1]


def test_recovers_an_injected_drop_against_the_default_comparison(bounds_green) -> None:
    inc = _incidents(1, bounds_green, drop=0.6)
    out = evaluate_intervention(_iv(bounds_green), inc)
    est = out["estimate"]
    assert est["ci_low"] <= np.log(0.6) <= est["ci_high"]
    assert est["ci_high"] < 0
    assert "fewer incidents" in out["reading"]
    assert len(out["comparison"]["areas"]) == 3
    assert "Bounds Green" not in " ".join(out["comparison"]["areas"])
    assert out["months"]["before"][0] == "2023-01" and out["months"]["after"][0] == "2024-02"
    assert "2024-01" not in out["months"]["before"] + out["months"]["after"]
    assert (
        out["displacement"]["estimate"]["ci_low"] <= 0 <= out["displacement"]["estimate"]["ci_high"]
    )
    assert out["pre_trend"]["ci_low"] <= 0 <= out["pre_trend"]["ci_high"]
    # the monthly table is the independent count: points within the ward by month
    counts = monthly_counts(inc, {"t": bounds_green}, MONTHS)
    got = {r["month"]: r["treated"] for r in out["monthly"]}
    assert all(got[str(m)] == counts.loc["t", m] for m in MONTHS if str(m) in got)


def test_displacement_to_the_ring_is_found(bounds_green) -> None:
    inc = _incidents(2, bounds_green, drop=0.6, ring_rise=1.6)
    out = evaluate_intervention(_iv(bounds_green), inc)
    d = out["displacement"]["estimate"]
    assert d["ci_low"] <= np.log(1.6) <= d["ci_high"] and d["ci_low"] > 0
    assert "displacement" in out["displacement"]["reading"]


def test_no_effect_with_analyst_comparison(bounds_green) -> None:
    inc = _incidents(3, bounds_green, drop=1.0)
    comp = {
        "Woodside": resolve_where("ward", "Woodside")[1],
        "Bowes": resolve_where("ward", "Bowes")[1],
    }
    out = evaluate_intervention(_iv(bounds_green), inc, comparison=comp)
    assert out["comparison"]["chosen_by"] == "analyst"
    assert out["estimate"]["ci_low"] <= 0 <= out["estimate"]["ci_high"]
    with pytest.raises(ValidationError, match="overlaps the treated area"):
        evaluate_intervention(_iv(bounds_green), inc, comparison={"self": bounds_green})


def test_too_little_data_is_said() -> None:
    geom = resolve_where("ward", "Woodside")[1]
    inc = _incidents(4, geom, drop=1.0)
    late = Intervention(
        2, "x", "ward", "Woodside", shapely.to_wkt(geom), dt.date(2024, 12, 3), None, None, "", None
    )
    with pytest.raises(ValidationError, match="0 after"):
        evaluate_intervention(late, inc)


def test_only_analysts_may_see_an_evaluation() -> None:
    evaluation_for_role("analyst")
    for role in ("school", "neighbourhood"):
        with pytest.raises(AccessDeniedError, match="analysts only"):
            evaluation_for_role(role)

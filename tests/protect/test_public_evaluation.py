"""The disclosure-controlled evaluation for schools and neighbourhood teams
(:mod:`geosafe.protect.public_evaluation`): built from published H3 res-8 monthly counts only.

The counts are checked against the disclosure rule written out here (h3 cell of each point,
1-9 hidden, others to the nearest 5); the attacks change what lies behind the published
counts (each hidden count from 1 to 9, a rounded count within its class) and difference two
periods and two areas: the answer must not move, so nothing hidden can be read back from it.
"""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from geosafe.protect.interventions import Intervention, resolve_where
from geosafe.protect.public_evaluation import (
    MIN_PUBLISHED,
    evaluate_published,
    published_monthly_counts,
)

from .test_evaluate import START, _incidents


def _iv(geom: shapely.Geometry, iid: int = 1, start: dt.date = START) -> Intervention:
    return Intervention(
        iid, "detached youth work", "ward", "x", shapely.to_wkt(geom), start, None, None, "", None
    )


@pytest.fixture(scope="module")
def bounds_green() -> shapely.Geometry:
    return resolve_where("ward", "Bounds Green")[1]


def _busy(seed: int, treated: shapely.Geometry, drop: float) -> gpd.GeoDataFrame:
    """Six times the incidents of ``test_evaluate._incidents`` (about 30 a cell-month): at
    its own rate most cell-months are 1-9 and the evaluation is refused, as it should be."""
    parts = [_incidents(seed * 10 + i, treated, drop=drop) for i in range(6)]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=27700)


@pytest.fixture(scope="module")
def dropped(bounds_green: shapely.Geometry) -> gpd.GeoDataFrame:
    return _busy(11, bounds_green, 0.6)


def _cell_month(inc: gpd.GeoDataFrame) -> pd.DataFrame:
    wgs = inc.geometry.to_crs("EPSG:4326")
    when = pd.DatetimeIndex(inc["occurred_from"]).tz_convert("Europe/London").tz_localize(None)
    return pd.DataFrame(
        {
            "cell": [h3.latlng_to_cell(y, x, 8) for x, y in zip(wgs.x, wgs.y, strict=True)],
            "month": when.to_period("M"),
        },
        index=inc.index,
    )


def _published(n: int) -> float:
    if n == 0:
        return 0.0
    if n < 10:
        return math.nan
    return float(math.floor(n / 5 + 0.5) * 5)


def test_counts_are_the_published_rule(dropped: gpd.GeoDataFrame) -> None:
    got = published_monthly_counts(dropped)
    raw = _cell_month(dropped).value_counts()
    assert len(raw) == int((got.fillna(1) > 0).to_numpy().sum())
    for (cell, month), n in raw.items():
        want, have = _published(int(n)), got.loc[cell, month]
        assert (math.isnan(want) and math.isnan(have)) or want == have, (cell, month, n, have)
    values = got.to_numpy()
    shown = values[~np.isnan(values)]
    assert np.all((shown == 0) | ((shown >= 10) & (shown % 5 == 0)))


def test_a_drop_is_found_and_banded(bounds_green, dropped) -> None:
    out = evaluate_published(_iv(bounds_green), published_monthly_counts(dropped))
    assert out["evaluated"], out["reason"]
    lo, hi = out["interval_pct"]
    # the drop (to 0.6) is in the ward; the cells also cover some of its ring (no drop): the
    # expected change in the cells is the area-weighted mix (rates are per km² everywhere)
    cells = gpd.GeoSeries(
        [shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(c)]) for c in out["cells"]],
        crs=4326,
    ).to_crs(27700)
    inside = float(cells.intersection(bounds_green).area.sum())
    expected = 100 * ((0.6 * inside + (cells.area.sum() - inside)) / cells.area.sum() - 1)
    assert lo <= expected <= hi and hi < 0, (expected, out)
    assert out["change_pct"] % 10 == 0 and lo % 10 == 0 and hi % 10 == 0
    assert "fewer incidents" in out["reading"]
    assert len(out["comparison"]) == 3 and "Bounds Green" not in out["comparison"]
    # only published figures: totals of multiples of 5, no monthly rows, no exact estimate
    tot = out["published_totals"]["treated"]
    assert tot["before"] % 5 == 0 and tot["after"] % 5 == 0
    assert not {"monthly", "estimate", "what", "notes"} & set(out)


def test_no_effect_covers_zero(bounds_green) -> None:
    out = evaluate_published(
        _iv(bounds_green), published_monthly_counts(_busy(12, bounds_green, 1.0))
    )
    assert out["evaluated"] and out["interval_pct"][0] <= 0 <= out["interval_pct"][1], out


def test_a_small_area_is_refused_with_the_reason(bounds_green) -> None:
    # at a sixth of the rate: a few incidents a cell-month, most of them hidden
    counts = published_monthly_counts(_incidents(13, bounds_green, drop=0.6))
    assert not evaluate_published(_iv(bounds_green), counts)["evaluated"]
    quiet = counts.fillna(5).sum(axis=1).sort_values()
    cell = next(c for c, v in quiet.items() if 0 < v < 3 * MIN_PUBLISHED)
    lat, lon = h3.cell_to_latlng(cell)
    iv = _iv(resolve_where("point", f"{lon},{lat}", radius_m=50)[1])
    out = evaluate_published(iv, counts)
    assert out["cells"] == [cell]
    assert not out["evaluated"] and "change_pct" not in out
    assert "ask your analyst" in out["reason"], out["reason"]


def _set_cell_month(inc: gpd.GeoDataFrame, cell: str, month: pd.Period, n: int) -> gpd.GeoDataFrame:
    """``inc`` with the incidents of ``cell`` in ``month`` replaced by ``n`` at its centre."""
    cm = _cell_month(inc)
    keep = inc[~((cm["cell"] == cell) & (cm["month"] == month)).to_numpy()]
    lat, lon = h3.cell_to_latlng(cell)
    pt = gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").to_crs(27700).iloc[0]
    when = pd.Timestamp(month.start_time).tz_localize("Europe/London") + pd.Timedelta(days=3)
    new = gpd.GeoDataFrame(
        {"source": ["cris"] * n, "occurred_from": [when] * n}, geometry=[pt] * n, crs=27700
    )
    return gpd.GeoDataFrame(pd.concat([keep, new], ignore_index=True), crs=27700)


def _answer(out: dict) -> tuple:
    """Everything the evaluation says, as one comparable value."""
    return tuple(sorted((k, repr(v)) for k, v in out.items()))


def test_hidden_counts_cannot_be_recovered(bounds_green, dropped) -> None:
    iv = _iv(bounds_green)
    cell = evaluate_published(iv, published_monthly_counts(dropped))["cells"][0]
    after = pd.Period("2024-05", "M")
    answers, totals = set(), set()
    for n in (1, 2, 5, 9):  # the one hidden cell-month holds 1 to 9 incidents
        out = evaluate_published(
            iv, published_monthly_counts(_set_cell_month(dropped, cell, after, n))
        )
        assert out["evaluated"], out["reason"]
        answers.add(_answer(out))
        totals.add(out["published_totals"]["treated"]["after"])
    assert len(answers) == 1, "the answer moved with a hidden count"
    # differencing two periods: with and without the hidden month, the attacker's difference
    # of the published totals is the same whatever the hidden count (it is not counted)
    diffs = set()
    for n in (1, 9):
        counts = published_monthly_counts(_set_cell_month(dropped, cell, after, n))
        short = evaluate_published(iv, counts, post_months=3)["published_totals"]["treated"]
        long = evaluate_published(iv, counts, post_months=4)["published_totals"]["treated"]
        assert long["hidden_cell_months_after"] == short["hidden_cell_months_after"] + 1
        diffs.add(long["after"] - short["after"])  # the other cells' published May counts
    assert len(diffs) == 1, diffs
    # rounding: a published 15 stands for 13-17, and 13 or 17 give the same answer
    counts = published_monthly_counts(dropped)
    row = counts.loc[cell]
    month = next(m for m, v in row.items() if m > pd.Period(START, "M") and v >= 15)
    v = int(row[month])
    same = {
        _answer(
            evaluate_published(
                iv, published_monthly_counts(_set_cell_month(dropped, cell, month, n))
            )
        )
        for n in (v - 2, v + 2)
    }
    assert len(same) == 1


def test_two_areas_differenced_do_not_give_a_hidden_cell(bounds_green, dropped) -> None:
    # the ward, and the ward with one more cell whose count in a month is hidden: the
    # difference of the two answers' totals is that cell's published counts, whatever it hides
    base = evaluate_published(_iv(bounds_green), published_monthly_counts(dropped))
    extra = next(str(c) for c in h3.grid_disk(base["cells"][0], 2) if str(c) not in base["cells"])
    ring = shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(extra)])
    ring = gpd.GeoSeries([ring], crs=4326).to_crs(27700).iloc[0]
    wider = shapely.union(bounds_green, ring.buffer(-20))
    seen = set()
    for n in (1, 4, 9):
        counts = published_monthly_counts(
            _set_cell_month(dropped, extra, pd.Period("2024-06", "M"), n)
        )
        a = evaluate_published(_iv(bounds_green), counts)["published_totals"]["treated"]
        b = evaluate_published(_iv(wider, 2), counts)
        assert extra in b["cells"]
        b = b["published_totals"]["treated"]
        seen.add(
            (b["after"] - a["after"], b["hidden_cell_months_after"] - a["hidden_cell_months_after"])
        )
    assert len(seen) == 1, seen

"""The disclosure-controlled evaluation for schools and neighbourhood teams
(:mod:`geosafe.protect.public_evaluation`): built from published H3 res-8 monthly counts only,
read over the service's reader connection.

The counts a store publishes are checked against the disclosure rule written out here (h3
cell of each point, 1-9 hidden, others to the nearest 5), and the service's evaluation runs
with a store that refuses every incident read; the attacks change what lies behind the
published counts (each hidden count from 1 to 9, a rounded count within its class) and
difference two periods and two areas: the answer must not move, so nothing hidden can be read
back from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from geosafe.protect.interventions import Intervention, add_intervention, resolve_where
from geosafe.protect.public_evaluation import (
    MIN_PUBLISHED,
    evaluate_published,
    for_viewer,
    published_monthly_counts,
)
from geosafe.publish.service import LayerService
from geosafe.store import ROW_COLUMNS, Store
from geosafe.store.published_read import PublishedReader
from tests.store.test_published_service import NoRows

from .test_evaluate import START, _incidents

ROOT = Path(__file__).resolve().parents[2]


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


def published_monthly_counts_by_hand(inc: gpd.GeoDataFrame) -> pd.DataFrame:
    """The published monthly counts of ``inc`` (cells x months) by the rule written out here:
    the attacks below feed :func:`evaluate_published` with them."""
    raw = _cell_month(inc).value_counts().unstack("month", fill_value=0)
    out = raw.apply(lambda col: col.map(_published)).astype(float)
    out.columns = pd.PeriodIndex(list(out.columns), freq="M")
    out.index = out.index.astype(str)
    return out.sort_index().sort_index(axis=1)


def _store_rows(inc: gpd.GeoDataFrame) -> pd.DataFrame:
    """``inc`` (points, CRIS, dated to the day) as rows of a store import batch."""
    n = len(inc)
    wgs = inc.geometry.to_crs(4326)
    t = pd.DatetimeIndex(inc["occurred_from"]).tz_convert("UTC")
    epoch = np.asarray((t - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1))
    refs = [f"E{i:06d}" for i in range(n)]
    x, y = inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
    rows = pd.DataFrame(
        {
            "incident_id": [f"cris:{r}" for r in refs],
            "source": "cris",
            "source_ref": refs,
            "row_no": np.arange(1, n + 1),
            "occurred_from": epoch,
            "occurred_to": epoch + 86400.0,
            "time_precision": "day",
            "category": "ASB",
            "flags": "",
            "route": None,
            "stop_code": None,
            "school_urn": None,
            "precision_m": 10.0,
            "geocode_method": "coordinates",
            "location_text": None,
            "h3_cell": [h3.latlng_to_cell(b, a, 11) for a, b in zip(wgs.x, wgs.y, strict=True)],
            "lon": wgs.x.to_numpy(),
            "lat": wgs.y.to_numpy(),
            "minx": x,
            "miny": y,
            "maxx": x,
            "maxy": y,
            "geom_wkb": None,
            "weight": 1.0,
            "detail": json.dumps({}),
            "row_hash": [int(hashlib.sha256(r.encode()).hexdigest()[:15], 16) for r in refs],
            "current": 1,
        }
    )
    return rows[list(ROW_COLUMNS)]


@pytest.fixture(scope="module")
def stored(dropped: gpd.GeoDataFrame, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A SQLite store holding ``dropped`` (its published tables written by the import)."""
    path = tmp_path_factory.mktemp("evaluation") / "geosafe.db"
    store = Store(path)
    batch = store.begin_batch("cris", "e" * 64, file_name="hand-made")
    store.stage(batch, _store_rows(dropped))
    store.commit_batch(batch, {"rows": len(dropped), "accepted": len(dropped)}, {})
    store.close()
    yield path


def test_counts_are_the_published_rule(dropped: gpd.GeoDataFrame, stored: Path) -> None:
    reader = PublishedReader(stored)
    try:
        got = published_monthly_counts(reader)
    finally:
        reader.close()
    pd.testing.assert_frame_equal(got, published_monthly_counts_by_hand(dropped), check_names=False)
    raw = _cell_month(dropped).value_counts()
    assert len(raw) == int((got.fillna(1) > 0).to_numpy().sum())
    for (cell, month), n in raw.items():
        want, have = _published(int(n)), got.loc[cell, month]
        assert (math.isnan(want) and math.isnan(have)) or want == have, (cell, month, n, have)
    values = got.to_numpy()
    shown = values[~np.isnan(values)]
    assert np.all((shown == 0) | ((shown >= 10) & (shown % 5 == 0)))


def test_a_drop_is_found_and_banded(bounds_green, dropped) -> None:
    out = evaluate_published(_iv(bounds_green), published_monthly_counts_by_hand(dropped))
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
        _iv(bounds_green), published_monthly_counts_by_hand(_busy(12, bounds_green, 1.0))
    )
    assert out["evaluated"] and out["interval_pct"][0] <= 0 <= out["interval_pct"][1], out


def test_a_small_area_is_refused_with_the_reason(bounds_green) -> None:
    # at a sixth of the rate: a few incidents a cell-month, most of them hidden
    counts = published_monthly_counts_by_hand(_incidents(13, bounds_green, drop=0.6))
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
    cell = evaluate_published(iv, published_monthly_counts_by_hand(dropped))["cells"][0]
    after = pd.Period("2024-05", "M")
    answers, totals = set(), set()
    for n in (1, 2, 5, 9):  # the one hidden cell-month holds 1 to 9 incidents
        out = evaluate_published(
            iv, published_monthly_counts_by_hand(_set_cell_month(dropped, cell, after, n))
        )
        assert out["evaluated"], out["reason"]
        answers.add(_answer(out))
        totals.add(out["published_totals"]["treated"]["after"])
    assert len(answers) == 1, "the answer moved with a hidden count"
    # differencing two periods: with and without the hidden month, the attacker's difference
    # of the published totals is the same whatever the hidden count (it is not counted)
    diffs = set()
    for n in (1, 9):
        counts = published_monthly_counts_by_hand(_set_cell_month(dropped, cell, after, n))
        short = evaluate_published(iv, counts, post_months=3)["published_totals"]["treated"]
        long = evaluate_published(iv, counts, post_months=4)["published_totals"]["treated"]
        assert long["hidden_cell_months_after"] == short["hidden_cell_months_after"] + 1
        diffs.add(long["after"] - short["after"])  # the other cells' published May counts
    assert len(diffs) == 1, diffs
    # rounding: a published 15 stands for 13-17, and 13 or 17 give the same answer
    counts = published_monthly_counts_by_hand(dropped)
    row = counts.loc[cell]
    month = next(m for m, v in row.items() if m > pd.Period(START, "M") and v >= 15)
    v = int(row[month])
    same = {
        _answer(
            evaluate_published(
                iv, published_monthly_counts_by_hand(_set_cell_month(dropped, cell, month, n))
            )
        )
        for n in (v - 2, v + 2)
    }
    assert len(same) == 1


def test_two_areas_differenced_do_not_give_a_hidden_cell(bounds_green, dropped) -> None:
    # the ward, and the ward with one more cell whose count in a month is hidden: the
    # difference of the two answers' totals is that cell's published counts, whatever it hides
    base = evaluate_published(_iv(bounds_green), published_monthly_counts_by_hand(dropped))
    extra = next(str(c) for c in h3.grid_disk(base["cells"][0], 2) if str(c) not in base["cells"])
    ring = shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(extra)])
    ring = gpd.GeoSeries([ring], crs=4326).to_crs(27700).iloc[0]
    wider = shapely.union(bounds_green, ring.buffer(-20))
    seen = set()
    for n in (1, 4, 9):
        counts = published_monthly_counts_by_hand(
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


def test_the_service_evaluates_with_a_store_that_refuses_every_incident_read(
    bounds_green: shapely.Geometry, dropped: gpd.GeoDataFrame, stored: Path
) -> None:
    """The school's and the neighbourhood's view of the log, built by the service over a
    store whose incident rows may not be read: the reader connection gives the published
    counts and the intervention's public columns, and the answer is the one the rule gives."""
    logged = add_intervention(
        stored,
        what="detached youth work, named worker",
        where_kind="ward",
        where_ref="Bounds Green",
        geometry=bounds_green,
        started_on=START,
        notes="a name that must not leave the log",
    )
    with Store(stored) as store:
        svc = LayerService(ROOT / "data", NoRows(store), store_path=stored)
        try:
            seen = [
                for_viewer(svc, SimpleNamespace(role=role, area=bounds_green), ROOT / "data")
                for role in ("school", "neighbourhood")
            ]
        finally:
            svc.published.close()
    want = evaluate_published(
        _iv(bounds_green, logged.id),
        published_monthly_counts_by_hand(dropped),
        data_dir=ROOT / "data",
    )
    assert want["evaluated"], want["reason"]
    for fc in seen:
        (feature,) = fc["features"]
        assert feature["properties"] == json.loads(json.dumps(want))
        text = json.dumps(fc)
        assert "named worker" not in text and "must not leave" not in text
        assert "Bounds Green" not in text

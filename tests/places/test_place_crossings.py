"""Reverse lookup from a place on a hand-made network and roll (expected values by hand)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely

from geosafe.risk.place_crossings import (
    SchoolRun,
    crossings,
    place_cells,
    published_cells,
    summarise,
)

from .conftest import URN


def _runs(walks: dict[str, Any]) -> list[SchoolRun]:
    return [SchoolRun(URN, "St Anne's", w, "walk", js) for w, js in walks.items()]


def test_circle_on_the_west_arm_is_exact(walks: dict[str, Any], school_xy: Any) -> None:
    x0, y0 = school_xy
    place = shapely.Point(x0 - 400, y0).buffer(50)
    cross = crossings(place, _runs(walks))
    # A (3 pupils, 800 m west) and C (5, 600 m west) walk along the west arm; B and D do not
    assert sorted(cross["origin_id"]) == ["A", "A", "C", "C"]
    (school,) = summarise(cross)
    assert school["school_urn"] == URN
    assert school["pupils"] == 8
    by = {b["window"]: b for b in school["by"]}
    # morning: arrive 08:40, the circle's west edge is 450 m from the school at 1.3 m/s
    assert by["morning"]["pupils"] == 8 and by["morning"]["mode"] == "walk"
    assert by["morning"]["first"] == by["morning"]["last"] == "08:34"
    assert by["morning"]["times"] == [{"time": "08:30-09:00", "pupils": 8}]
    # afternoon: leave 15:15, the circle's east edge is 350 m out: 269 s later
    assert by["afternoon"]["first"] == "15:19" and by["afternoon"]["pupils"] == 8
    t = cross[cross["window"] == "morning"]["time_s"].to_numpy(dtype=float)
    np.testing.assert_allclose(t, 8 * 3600 + 40 * 60 - 450 / 1.3, atol=0.01)


def test_place_nobody_passes(walks: dict[str, Any], school_xy: Any) -> None:
    x0, y0 = school_xy
    assert crossings(shapely.Point(x0 + 400, y0 + 400).buffer(50), _runs(walks)).empty


def test_north_arm_counts_b_only(walks: dict[str, Any], school_xy: Any) -> None:
    x0, y0 = school_xy
    (school,) = summarise(crossings(shapely.Point(x0, y0 + 700).buffer(30), _runs(walks)))
    assert school["pupils"] == 12


@pytest.mark.parametrize("role", ["school", "neighbourhood"])
def test_differencing_two_radii_reveals_nothing_below_10(
    walks: dict[str, Any], school_xy: Any, role: str
) -> None:
    x0, y0 = school_xy
    runs = _runs(walks)
    small = shapely.Point(x0 - 100, y0).buffer(50)
    large = shapely.Point(x0 - 100, y0).buffer(900)  # adds the whole roll's arms
    a = published_cells(small, runs, role=role, school_urn=URN)
    b = published_cells(large, runs, role=role, school_urn=URN)
    for out in (a, b):
        for row in out["cell_counts"] + out["times"]:
            assert row["pupils"] is None or (row["pupils"] >= 10 and row["pupils"] % 5 == 0)
        assert out["pupils_at_least"] == 0 or out["pupils_at_least"] >= 10
    # the larger place only adds cells; a shared cell keeps its published count
    ka = {(r["window"], r["cell"]): r["pupils"] for r in a["cell_counts"]}
    kb = {(r["window"], r["cell"]): r["pupils"] for r in b["cell_counts"]}
    assert set(ka) <= set(kb)
    assert all(kb[k] == v for k, v in ka.items())
    extra = [v for k, v in kb.items() if k not in ka]
    assert all(v is None or v >= 10 for v in extra)
    diff = b["pupils_at_least"] - a["pupils_at_least"]
    assert diff == 0 or diff >= 5  # a change in a rounded count, never an exact small group
    # the 2 pupils from the east (D) and the 3 from the far west (A) appear nowhere alone
    values = {r["pupils"] for r in b["cell_counts"] + b["times"]}
    assert not values & {2, 3, 5, 8}


def test_place_cells_cover_a_circle(school_xy: Any) -> None:
    x0, y0 = school_xy
    cells = place_cells(shapely.Point(x0, y0).buffer(1500))
    assert len(cells) >= 7  # res-8 cells are ~0.74 km² each; the circle is ~7 km²

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point

from geosafe.hotspots import compare

from .conftest import make_frame

X0, Y0 = 530000.0, 180000.0


def _blob(cx: float, cy: float, n: int, rng: np.random.Generator) -> list[Point]:
    return [Point(cx + rng.normal(0, 300), cy + rng.normal(0, 300)) for _ in range(n)]


def test_periods_became_stayed_stopped() -> None:
    rng = np.random.default_rng(0)

    def bg(n: int) -> list[Point]:
        return [
            Point(X0 + rng.uniform(-2800, 2800), Y0 + rng.uniform(-2800, 2800)) for _ in range(n)
        ]

    a = make_frame(_blob(X0, Y0, 80, rng) + _blob(X0 + 1400, Y0, 80, rng) + bg(100))
    b = make_frame(_blob(X0, Y0, 80, rng) + _blob(X0 - 1400, Y0, 80, rng) + bg(100))
    area = Point(X0, Y0).buffer(3000)
    res = compare.compare(a, b, study_area=area, bandwidth=200, cell=25, years_a=1.0, years_b=0.5)
    cells = res.cells

    def at(x: float, y: float) -> str:
        return str(cells.loc[cells.geometry.distance(Point(x, y)).idxmin(), "change"])

    assert at(X0, Y0) == "stayed_hot"
    assert at(X0 + 1400, Y0) == "stopped_hot"
    assert at(X0 - 1400, Y0) == "became_hot"
    assert sum(res.change_counts.values()) == len(cells)
    # the difference is per year: B's half year doubles
    d = res.difference.value_at(np.array([X0 - 1400, X0 + 1400]), np.array([Y0, Y0]))
    assert d[0] > 0 > d[1]
    ya = res.a.value_at(X0, Y0)[0] / 1.0
    yb = res.b.value_at(X0, Y0)[0] / 0.5
    assert res.difference.value_at(X0, Y0)[0] == pytest.approx(yb - ya, rel=1e-6, abs=1e-6)

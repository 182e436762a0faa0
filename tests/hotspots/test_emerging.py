from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geosafe._errors import ValidationError
from geosafe.hotspots import emerging

from .conftest import make_frame

X0, Y0 = 530000.0, 180000.0


def test_categorise_by_hand() -> None:
    t, f = True, False
    hot = np.array(
        [
            [f, f, f, f, f, f, f, f, f, t],  # new
            [t, t, t, t, t, t, t, t, t, t],  # persistent (trend 0)
            [t, t, t, t, t, t, t, t, t, t],  # intensifying (trend +1)
            [t, t, t, t, t, t, t, t, t, t],  # diminishing (trend -1)
            [t, f, t, f, f, t, f, f, f, t],  # sporadic
            [t, t, t, t, t, t, t, t, t, f],  # none: not hot now
            [f, f, f, f, f, f, f, f, f, f],  # none
        ]
    )
    trend = np.array([0, 0, 1, -1, 0, -1, 0])
    assert emerging.categorise(hot, trend).tolist() == [
        "new",
        "persistent",
        "intensifying",
        "diminishing",
        "sporadic",
        "none",
        "none",
    ]


def test_emerging_finds_a_growing_hotspot() -> None:
    rng = np.random.default_rng(0)
    pts, times = [], []
    for m in range(1, 13):
        # background everywhere
        for _ in range(40):
            pts.append(Point(X0 + rng.uniform(-2000, 2000), Y0 + rng.uniform(-2000, 2000)))
            times.append(f"2023-{m:02d}-05 10:00")
        # a hotspot that grows every month, and one that appears only in the last month
        for _ in range(8 * m):
            pts.append(Point(X0 + rng.normal(0, 300), Y0 + rng.normal(0, 300)))
            times.append(f"2023-{m:02d}-06 10:00")
        if m == 12:
            for _ in range(80):
                pts.append(Point(X0 + 1800 + rng.normal(0, 250), Y0 + 1800 + rng.normal(0, 250)))
                times.append("2023-12-07 10:00")
    f = make_frame(pts, times=times)
    area = Point(X0, Y0).buffer(3000)
    out = emerging.emerging_hotspots(f, resolution=9, study_area=area, permutations=0, seed=0)
    assert out.attrs["slices"][0] == "2023-01" and len(out.attrs["slices"]) == 12
    assert set(out["category"]) <= set(emerging.CATEGORIES)
    centre = out.geometry.distance(Point(X0, Y0)).idxmin()
    assert out.loc[centre, "category"] in ("intensifying", "sporadic", "persistent")
    assert out.loc[centre, "mk_tau"] > 0
    corner = out.geometry.distance(Point(X0 + 1800, Y0 + 1800)).idxmin()
    assert out.loc[corner, "category"] == "new"
    with pytest.raises(ValidationError, match="`slice` 'fortnight'"):
        emerging.emerging_hotspots(f, slice="fortnight")  # type: ignore[arg-type]
    assert pd.api.types.is_integer_dtype(out["hot_slices"])

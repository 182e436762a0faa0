"""``published_cell_codes`` (every row's published cell, once per distinct point) gives what
``published_cell`` gives row by row: points repeated, rows without a point, own cells
coarser and finer than the published resolution, an empty or missing own cell, and one point
met with two own cells."""

from __future__ import annotations

import h3
import numpy as np

from geosafe.publish.cell import published_cell, published_cell_codes


def test_codes_equal_the_rule_row_by_row() -> None:
    rng = np.random.default_rng(8)
    pts = [(-0.1 + rng.normal(0, 0.02), 51.5 + rng.normal(0, 0.02)) for _ in range(60)]
    own, lon, lat = [], [], []
    for _ in range(2_000):
        x, y = pts[int(rng.integers(len(pts)))]
        kind = int(rng.integers(6))
        if kind == 0:  # no point: the own cell's parent
            x, y = np.nan, np.nan
        cell: object = h3.latlng_to_cell(y if y == y else 51.5, x if x == x else -0.1, 9)
        if kind == 1:
            cell = h3.latlng_to_cell(51.5, -0.1, 7)  # coarser than published: kept
        elif kind == 2:
            cell = None
        elif kind == 3:
            cell = ""
        elif kind == 4:
            cell = float("nan")  # a DataFrame's missing value
        own.append(cell)
        lon.append(x)
        lat.append(y)
    # one point met with two own cells
    own += [h3.latlng_to_cell(51.5, -0.1, 9), h3.latlng_to_cell(51.6, -0.2, 10)]
    lon += [-0.15, -0.15]
    lat += [51.55, 51.55]
    names, code = published_cell_codes(
        np.asarray(own, dtype=object), np.asarray(lon), np.asarray(lat), 8
    )
    got = [None if k < 0 else names[k] for k in code.tolist()]
    want = [
        published_cell(c if isinstance(c, str) else None, x, y, 8)
        for c, x, y in zip(own, lon, lat, strict=True)
    ]
    assert got == want
    assert list(names) == sorted(set(names))

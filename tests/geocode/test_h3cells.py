"""H3 resolution rule and cells, against h3 itself."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from geosafe._errors import ValidationError
from geosafe.geocode.h3cells import cells_for_points, resolution_for_precision


@pytest.mark.parametrize(
    ("precision", "res"),
    [
        (1.0, 12),  # finer than any allowed resolution: clamped to 12
        (10.0, 12),  # res 12 edge 10.8 m
        (11.0, 11),
        (30.0, 10),  # res 11 edge 28.7 m < 30
        (100.0, 9),
        (300.0, 8),
        (1000.0, 7),
        (50_000.0, 7),  # coarser than res 7: clamped
    ],
)
def test_resolution_for_precision(precision, res):
    assert resolution_for_precision(precision) == res


def test_rule_is_finest_with_edge_at_least_precision():
    for p in np.geomspace(11, 1400, 40):
        r = resolution_for_precision(p)
        assert h3.average_hexagon_edge_length(r, unit="m") >= p
        if r < 12:
            assert h3.average_hexagon_edge_length(r + 1, unit="m") < p


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
def test_bad_precision(bad):
    with pytest.raises(ValidationError, match="precision_m"):
        resolution_for_precision(bad)


def test_cells_for_points():
    lon = np.array([-0.1236, -0.1236, np.nan, -0.11])
    lat = np.array([51.608, 51.608, 51.6, 51.61])
    prec = np.array([10.0, 1000.0, 10.0, np.nan])
    got = cells_for_points(lon, lat, prec)
    assert got[0] == h3.latlng_to_cell(51.608, -0.1236, 12)
    assert got[1] == h3.latlng_to_cell(51.608, -0.1236, 7)
    assert got[2] is None and got[3] is None
    assert h3.get_resolution(got[0]) == 12
    scalar = cells_for_points(lon[:2], lat[:2], 30.0)
    assert list(scalar) == [h3.latlng_to_cell(51.608, -0.1236, 10)] * 2


def test_cells_for_repeated_points_with_mixed_precision():
    rng = np.random.default_rng(1)
    base_lon = rng.uniform(-0.16, -0.09, 50)
    base_lat = rng.uniform(51.59, 51.63, 50)
    k = rng.integers(0, 50, 2000)
    prec = rng.choice([10.0, 30.0, 100.0, 300.0, 1000.0], 2000)
    got = cells_for_points(base_lon[k], base_lat[k], prec)
    expected_res = {10.0: 12, 30.0: 10, 100.0: 9, 300.0: 8, 1000.0: 7}
    for i in range(2000):
        want = h3.latlng_to_cell(base_lat[k[i]], base_lon[k[i]], expected_res[prec[i]])
        assert got[i] == want

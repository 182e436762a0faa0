"""A journey leg that is not one line (a multi-part line, a point for a wait at a stop) still
gives the H3 cells it passes: ``geosafe place-report --role school`` failed on such a leg."""

from __future__ import annotations

import h3
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, Point

from geosafe.risk.place_crossings import _cells_of_line

_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)
_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


def _cell(x: float, y: float) -> str:
    lon, lat = _TO_WGS.transform(x, y)
    return str(h3.latlng_to_cell(lat, lon, 8))


def test_a_point_leg_is_in_its_own_cell_at_distance_zero() -> None:
    x, y = _TO_BNG.transform(-0.1352, 51.6025)  # Enfield, by hand
    assert _cells_of_line(Point(x, y)) == [(_cell(x, y), 0.0)]


def test_a_multi_part_leg_is_walked_part_after_part() -> None:
    x, y = _TO_BNG.transform(-0.1352, 51.6025)
    first = LineString([(x, y), (x + 2000, y)])  # 2 km east: several res-8 cells (~0.5 km)
    second = LineString([(x + 2000, y + 3000), (x + 2000, y + 5000)])  # a gap, then north
    cells = _cells_of_line(MultiLineString([first, second]))
    assert cells[0] == (_cell(x, y), 0.0)
    # the second part's first cell is entered 2 km along the whole leg (the first's length)
    start2 = _cell(x + 2000, y + 3000)
    assert dict(cells)[start2] == 2000.0
    assert {c for c, _ in _cells_of_line(first)} | {c for c, _ in _cells_of_line(second)} == {
        c for c, _ in cells
    }
    assert _cells_of_line(LineString()) == []

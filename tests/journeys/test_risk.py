"""Exposure, hotspots, safer alternatives and the school report, on hand-built inputs."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from geosafe import datasets
from geosafe.incident import FRAME_COLUMNS
from geosafe.network.journeys import JourneyResult
from geosafe.network.walk import WalkNetwork
from geosafe.risk.exposure import ExposureModel, find_hotspots, window_hours
from geosafe.risk.report import build_school_report, need_matrix
from geosafe.risk.safer import safer_walks


@dataclass(frozen=True)
class GridSurface:
    """A hand-made surface: nearest-cell lookup on a grid (incidents per km²)."""

    grid: np.ndarray
    x0: float  # west edge, EPSG:27700
    y0: float  # north edge
    cell_m: float

    @property
    def transform(self) -> Affine:
        return Affine(self.cell_m, 0, self.x0, 0, -self.cell_m, self.y0)

    def value_at(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        c = np.floor((np.atleast_1d(x) - self.x0) / self.cell_m).astype(int)
        r = np.floor((self.y0 - np.atleast_1d(y)) / self.cell_m).astype(int)
        ok = (r >= 0) & (r < self.grid.shape[0]) & (c >= 0) & (c < self.grid.shape[1])
        out = np.full(r.shape, np.nan)
        out[ok] = self.grid[r[ok], c[ok]]
        return out


def _incidents(
    xy: list[tuple[float, float]], *, times: list[str] | None = None, route=None, geoms=None
):
    n = len(xy) if geoms is None else len(geoms)
    df = pd.DataFrame({c: None for c in FRAME_COLUMNS if c != "geometry"}, index=range(n))
    t = pd.DatetimeIndex(times or ["2025-03-04 08:15"] * n).tz_localize("Europe/London")
    df["source"] = "dir"
    df["incident_id"] = [f"dir:{i}" for i in range(n)]
    df["occurred_from"] = t
    df["occurred_to"] = t
    df["time_precision"] = "minute"
    df["flags"] = [()] * n
    df["weight"] = 1.0
    df["route"] = route
    geometry = geoms if geoms is not None else [shapely.Point(p) for p in xy]
    return gpd.GeoDataFrame(df, geometry=geometry, crs=27700)


def _flat(value: float) -> GridSurface:
    return GridSurface(np.full((100, 100), value), 525000, 197000, 100.0)


def test_walk_exposure_constant_surface_matches_formula() -> None:
    lam, hours, r, v = 40.0, 250.0, 50.0, 1.3
    model = ExposureModel(_flat(lam), hours, _incidents([]), radius_m=r, speed_mps=v)
    line = shapely.LineString([(529000, 192000), (529600, 192800)])  # 1,000 m
    ex = model.walk([line, None])
    # expected incidents within r of the pupil: μ·πr²·t with μ = λ/H per km² per hour
    expected = lam / hours * (math.pi * r**2 / 1e6) * (1000.0 / v / 3600.0)
    assert ex.expected[0] == pytest.approx(expected, rel=1e-12)
    assert ex.per_1000[0] == pytest.approx(1000 * expected, rel=1e-12)
    assert ex.integral[0] == pytest.approx(lam * 1000.0, rel=1e-12)
    assert ex.outside_m[0] == 0.0 and np.isnan(ex.expected[1])


def test_walk_exposure_piecewise_and_outside() -> None:
    grid = np.zeros((100, 100))
    grid[:, 50:] = 10.0  # east half: 10 per km², west half 0
    surf = GridSurface(grid, 525000, 197000, 100.0)
    model = ExposureModel(surf, 100.0, _incidents([]))
    # 300 m in the west half, 200 m in the east half (boundary x = 530000), 100 m off the grid
    line = shapely.LineString([(529700, 190000), (530200, 190000), (535100, 190000)])
    ex = model.walk([line])
    assert ex.integral[0] == pytest.approx(10.0 * (535000 - 530000), rel=1e-9)
    assert ex.outside_m[0] == pytest.approx(100.0, abs=1e-6)


def test_wait_and_ride() -> None:
    stop = (530000.0, 192000.0)
    inc = _incidents([(530010, 192010), (530000, 191960), (529970, 192000), (530100, 192000)])
    model = ExposureModel(_flat(0.0), 100.0, inc, radius_m=50.0)
    # three incidents within 50 m; 600 s wait
    assert model.wait(stop, 600.0) == pytest.approx(3 / 100.0 * (600 / 3600))
    stretch = shapely.LineString([(530000, 192000), (531000, 192000)])
    lines = [
        shapely.LineString([(530500, 192000), (531500, 192000)]),  # partly on the stretch
        shapely.LineString([(535000, 195000), (536000, 195000)]),  # elsewhere
    ]
    on_route = _incidents(
        [], geoms=[*lines, shapely.Point(530200, 192030)], route=["W3", "W3", "w3"]
    )
    model = ExposureModel(_flat(0.0), 100.0, on_route, radius_m=50.0, trips_per_hour=6.0)
    # the first line overlaps the stretch's 50 m zone (round cap) from 530500 to 531050
    assert model.ride("W3", stretch) == pytest.approx((0.55 + 0.0 + 1.0) / (100.0 * 6.0))
    assert model.ride("144", stretch) == 0.0


def test_window_hours_school_run() -> None:
    from geosafe.calendar import default_calendar

    cal = default_calendar()
    # week of the early May bank holiday 2025 (Monday 5 May): 4 days of 5.25 hours
    days = [dt.date(2025, 5, d) for d in range(5, 10)]
    assert not cal.is_school_day(days[0])
    assert all(cal.is_school_day(d) for d in days[1:])
    assert window_hours(days[0], days[-1], preset="school-run") == pytest.approx(4 * 5.25)
    assert window_hours(days[0], days[-1], preset=None) == 5 * 24
    # only the morning half of the school run (07:30-09:30 AND 07:00-09:00 -> 07:30-09:00)
    morning = ((dt.time(7), dt.time(9)),)
    assert window_hours(days[0], days[-1], hours=morning) == pytest.approx(4 * 1.5)
    # a window wrapping midnight, Fridays only
    late = ((dt.time(22), dt.time(2)),)
    assert window_hours(days[0], days[-1], preset=None, hours=late, weekdays=[4]) == 4.0
    # a Saturday and Sunday: no school run
    with pytest.raises(Exception, match="window_hours"):
        ExposureModel(
            _flat(1.0), window_hours(dt.date(2025, 5, 10), dt.date(2025, 5, 11)), _incidents([])
        )


def test_find_hotspots_two_bumps_and_active_hours() -> None:
    grid = np.zeros((40, 40))
    grid[5:8, 5:8] = 100.0  # the stronger
    grid[30:32, 30:33] = 50.0
    grid[20, 20] = 0.5  # background
    surf = GridSurface(grid, 528000, 194000, 50.0)
    inside = (528000 + 6.5 * 50, 194000 - 6.5 * 50)
    inc = _incidents(
        [inside, inside, inside, (528000 + 31 * 50, 194000 - 31 * 50)],
        times=["2025-03-04 08:10", "2025-03-05 08:40", "2025-03-05 15:20", "2025-03-06 16:00"],
    )
    # 1,600 cells: 9 at 100, 6 at 50, one at 0.5; the top 15/1600 of the area is >= 50
    hs = find_hotspots(surf, inc, top_percent=100 * 15 / 1600)
    assert [h.hotspot_id for h in hs] == ["HS01", "HS02"]
    assert hs[0].peak_density == 100.0 and hs[0].incidents == 3
    # polygons pass through WGS84 at 6 decimals (~0.1 m)
    assert hs[0].geometry.area == pytest.approx(9 * 50 * 50, rel=1e-2)
    # two at 08:xx, one at 15:xx: hours with at least half the busiest hour's count
    assert hs[0].active == "08:00-09:00, 15:00-16:00"
    assert hs[1].active == "16:00-17:00"


def test_safer_walk_avoids_a_bump(bundled_net: WalkNetwork) -> None:
    net = bundled_net
    school = datasets.schools().set_index("urn").loc["137531"].geometry
    target = (school.x, school.y)
    rng = np.random.default_rng(3)
    nodes = rng.choice(net.n_nodes, 40, replace=False)
    origins = np.column_stack([net.node_x[nodes], net.node_y[nodes]])
    base = net.routes_to(target, origins)
    # a hot disc around the middle of the first routable origin's shortest route
    mid = shapely.line_interpolate_point(base.geometry[0], 0.5, normalized=True)
    cols, rows = np.meshgrid(np.arange(700), np.arange(700))
    cx, cy = 526000 + (cols + 0.5) * 10, 196000 - (rows + 0.5) * 10
    grid = np.where(np.hypot(cx - mid.x, cy - mid.y) < 150, 500.0, 1.0)
    model = ExposureModel(GridSurface(grid, 526000, 196000, 10.0), 100.0, _incidents([]))
    alt = safer_walks(net, model, target, origins, base, max_detour=0.2)
    shortest_e = model.walk(base.geometry).per_1000
    ok = base.ok
    assert np.all(alt.exposure[ok] <= shortest_e[ok] + 1e-9)
    assert np.all(alt.distance_m[ok] <= base.distance_m[ok] * 1.2 + 1e-6)
    assert (alt.exposure[ok] < shortest_e[ok] - 1e-9).any()
    # the alternative's reported exposure is that of its own geometry
    np.testing.assert_allclose(model.walk(alt.geometry[ok]).per_1000, alt.exposure[ok])
    # a zero detour allowance keeps the shortest routes' lengths
    same = safer_walks(net, model, target, origins, base, max_detour=0.0)
    np.testing.assert_allclose(same.distance_m[ok], base.distance_m[ok], atol=1e-6)


def test_weighted_routing_matches_networkx(bundled_net: WalkNetwork) -> None:
    net = bundled_net
    rng = np.random.default_rng(5)
    w = net.edge_length_m * rng.uniform(1, 3, net.n_edges)
    g = nx.Graph()
    for u, v, c in zip(net.edge_u, net.edge_v, w, strict=True):
        g.add_edge(int(u), int(v), w=float(c))
    a, b = rng.choice(net.n_nodes, 2, replace=False)
    cost, nodes = net.shortest_path(int(a), int(b), weights=w)
    assert cost == pytest.approx(nx.dijkstra_path_length(g, int(a), int(b), weight="w"), abs=1e-6)
    assert nodes[0] == a and nodes[-1] == b


def _fap(flags_by_referral: list[tuple[str, ...]], urn: str = "137531") -> pd.DataFrame:
    return pd.DataFrame({"school_urn": urn, "flags": flags_by_referral})


def test_need_matrix_counts() -> None:
    fap = pd.concat(
        [
            _fap([("cse", "gangs"), ("gangs",), (), ("missing_home", "gangs")]),
            _fap([("cse",)], urn="999999"),
        ]
    )
    m = need_matrix(fap, "137531").set_index("flag")["referrals"]
    assert m["cse"] == 1 and m["gangs"] == 3 and m["missing_home"] == 1
    assert m["domestic_abuse"] == 0 and m["all_referrals"] == 4


def test_school_report_disclosure(bundled_net: WalkNetwork) -> None:
    net = bundled_net
    school = datasets.schools().set_index("urn").loc["137531"].geometry
    target = (school.x, school.y)
    # 12 pupils at one origin, 3 at another on a different street
    origins = np.array([[net.node_x[100], net.node_y[100]], [net.node_x[9000], net.node_y[9000]]])
    routes = net.routes_to(target, origins)
    from geosafe.network.journeys import edges_of

    results = []
    for i, count in enumerate((12, 3)):
        nodes = routes.path_nodes[routes.path_offsets[i] : routes.path_offsets[i + 1]]
        results.append(
            JourneyResult(
                f"o{i}",
                "137531",
                "walk",
                count,
                distance_m=float(routes.distance_m[i]),
                geometry=routes.geometry[i],
                edges=edges_of(net, nodes),
            )
        )
    fap = _fap([("gangs",)] * 12 + [("cse",)] * 3)
    analyst = build_school_report(
        "137531", results, school_name="X", network=net, model=None, fap=fap
    )
    assert analyst.corridors["pupils"].max() == 15 or analyst.corridors["pupils"].max() == 12
    assert set(analyst.corridors["pupils"]) <= {3, 12, 15}
    mat = analyst.need_matrix.set_index("flag")["referrals"]
    assert mat["gangs"] == 12 and mat["cse"] == 3
    school_view = build_school_report(
        "137531", results, school_name="X", network=net, model=None, fap=fap, role="school"
    )
    # 12 -> 10, 15 -> 15, 3 suppressed (and its corridor segments left out)
    assert set(school_view.corridors["pupils"]) <= {10, 15}
    pub = school_view.need_matrix.set_index("flag")
    assert pub.loc["gangs", "referrals"] == 10
    assert pd.isna(pub.loc["cse", "referrals"]) and bool(pub.loc["cse", "suppressed"])
    assert school_view.summary["pupils"] == 15 and school_view.summary["origins"] is None
    assert any("suppressed" in n for n in school_view.notes)

"""Geometry shown outside the analyst role comes from published aggregates only (issue 9,
items 1, 3 and 4): tried as an attacker would, by shrinking outlines, comparing their
vertices with the incidents, and differencing two periods, on the access demo store (real
police.uk burglaries and seeded DIR/CRIS/ASIF/FAP rows)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from scipy.spatial import cKDTree
from shapely.geometry import shape

from geosafe.publish import disclosure

TO_BNG = Transformer.from_crs("OGC:CRS84", 27700, always_xy=True)
PUBLIC_ROLES = ("school", "neighbourhood")
#: Collections whose geometry a non-analyst sees (reference layers excluded).
PUBLIC_SHAPES = ("clusters", "hotspots-kde", "h3-cells", "emerging-cells", "journey-corridors")


def _bng(geom: Any) -> Any:
    return shapely.transform(geom, lambda c: np.column_stack(TO_BNG.transform(c[:, 0], c[:, 1])))


def _items(client: TestClient, token: str, collection: str, query: str = "") -> list[Any]:
    r = client.get(
        f"/ogc/collections/{collection}/items?limit=1000{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return [f for f in r.json()["features"] if f["geometry"]]


def _incident_xy(svc: Any) -> np.ndarray:
    gdf = svc.all_incidents()
    pts = gdf.geometry.representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def _vertices(geoms: list[Any]) -> np.ndarray:
    out = [shapely.get_coordinates(g) for g in geoms if g is not None and not g.is_empty]
    # each distinct vertex once (a ring repeats its first vertex; neighbours share some)
    return np.unique(np.round(np.vstack(out), 3), axis=0) if out else np.zeros((0, 2))


def _random_in(geoms: list[Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random points inside the union of ``geoms`` (lines: along them)."""
    union = shapely.union_all([g for g in geoms if g is not None and not g.is_empty])
    if union.area == 0:  # lines
        d = rng.uniform(0, union.length, n)
        return shapely.get_coordinates(shapely.line_interpolate_point(union, d))
    x0, y0, x1, y1 = union.bounds
    shapely.prepare(union)
    got: list[np.ndarray] = []
    while sum(len(g) for g in got) < n:
        xy = rng.uniform([x0, y0], [x1, y1], size=(4 * n, 2))
        got.append(xy[shapely.contains_xy(union, xy[:, 0], xy[:, 1])])
    return np.vstack(got)[:n]


def _closer_than_random(vertices: np.ndarray, reference: np.ndarray, tree: cKDTree) -> str | None:
    """Why ``vertices`` sit closer to incidents than ``reference`` random points, or None.

    Within 10 m: no more vertices than random points would give, plus binomial
    standard deviations (four, and two more for few vertices: the grid's vertices fall near
    an incident by chance now and then); the median distance is compared
    when there are 30 vertices or more."""
    dv, _ = tree.query(vertices)
    dr, _ = tree.query(reference)
    n = len(dv)
    p = float(np.mean(dr < 10.0))
    near = int(np.sum(dv < 10.0))
    allowed = n * p + 4.0 * np.sqrt(n * p * (1 - p)) + 2.0
    if near > allowed:
        return f"{near} of {n} vertices within 10 m of an incident, random {p:.0%}"
    if n >= 30 and np.median(dv) < 0.7 * np.median(dr):
        return f"median vertex distance {np.median(dv):.1f} m, random {np.median(dr):.1f} m"
    return None


def _offset_corners(geom: Any, d: float, *, min_edge: float = 30.0) -> np.ndarray:
    """The attack on a buffered outline: shift every long straight edge inward by ``d`` and
    intersect each with the next long edge. For a hull buffered by ``d`` this gives back the
    hull's corners (incident points) exactly; for a union of cells, points inside cells."""
    out: list[tuple[float, float]] = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.geom_type != "Polygon":
            continue
        ring = np.asarray(shapely.orient_polygons(poly).exterior.coords)
        edges = []
        for p, q in itertools.pairwise(ring):
            v = q - p
            length = float(np.hypot(*v))
            if length >= min_edge:
                n = np.array([-v[1], v[0]]) / length  # interior on the left (CCW exterior)
                edges.append((p + n * d, v / length))
        for (p1, v1), (p2, v2) in zip(edges, edges[1:] + edges[:1], strict=True):
            det = v1[0] * -v2[1] - v1[1] * -v2[0]
            if abs(det) < 0.05:  # nearly parallel
                continue
            t = ((p2 - p1)[0] * -v2[1] - (p2 - p1)[1] * -v2[0]) / det
            out.append(tuple(p1 + t * v1))
    return np.array(out).reshape(-1, 2)


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_public_vertices_are_no_closer_to_incidents_than_random_points(service, role: str) -> None:
    """Item 1's test: for every published non-analyst geometry, for the same outlines
    shrunk by 25-150 m, and for the corners recovered by shifting each straight edge inward
    by 25-150 m (undoing a buffer), the points are no closer to incidents than random points
    in the same shapes."""
    app, toks = service
    client = TestClient(app)
    tree = cKDTree(_incident_xy(app.state.services.layers))
    rng = np.random.default_rng(7)
    checked = 0
    for collection in PUBLIC_SHAPES:
        geoms = [_bng(shape(f["geometry"])) for f in _items(client, toks[role], collection)]
        if not geoms:
            continue
        for shrink in (0.0, 25.0, 50.0, 100.0, 150.0):
            shapes_ = geoms if shrink == 0 else [g.buffer(-shrink) for g in geoms]
            shapes_ = [g for g in shapes_ if not g.is_empty]
            if not shapes_:
                continue
            reference = _random_in(shapes_, 2000, rng)
            why = _closer_than_random(_vertices(shapes_), reference, tree)
            assert why is None, (role, collection, shrink, why)
            if shrink and collection != "journey-corridors":  # polygons: the corner attack
                corners = np.vstack([_offset_corners(g, shrink) for g in geoms])
                if len(corners):
                    why = _closer_than_random(corners, _random_in(geoms, 2000, rng), tree)
                    assert why is None, (role, collection, "corners", shrink, why)
            checked += 1
    assert checked >= 8, "too few public geometries to test"


def test_cluster_outlines_are_unions_of_published_cells(service) -> None:
    """A school's clusters are outlined by H3 resolution-8 cells whose published count is
    shown (10 or more): every vertex is a cell vertex, every covered cell published."""
    app, toks = service
    client = TestClient(app)
    feats = _items(client, toks["school"], "clusters")
    assert feats, "the school sees no cluster on the demo store"
    svc = app.state.services.layers
    shown = disclosure.published_cells(svc.incidents(_default_params()))
    res8 = {k for c in shown.index for k in h3.cell_to_children(c, 8)}  # coarse: children
    cell_vertices = _vertices([_bng(disclosure.cell_polygon(c)) for c in res8])
    vtree = cKDTree(cell_vertices)
    for f in feats:
        g = _bng(shape(f["geometry"]))
        d, _ = vtree.query(_vertices([g]))
        assert d.max() < 1.0, (f["id"], d.max())  # H3 vertices (WGS84 rounding: < 1 m)
        centres = [
            c for c in shown.index if g.buffer(-1.0).contains(_bng(shapely.Point(_lnglat(c))))
        ]
        assert centres and 1 <= f["properties"]["cells"] <= len(centres)


def _lnglat(cell: str) -> tuple[float, float]:
    lat, lng = h3.cell_to_latlng(cell)
    return (lng, lat)


def _default_params() -> Any:
    from geosafe.publish.catalogue import DEFAULT_PARAMS

    return DEFAULT_PARAMS


def test_differencing_two_periods_gives_only_cell_edges(service) -> None:
    """Differencing attempt: the cluster outlines of a quarter minus those of one of its
    months leave pieces whose vertices are still H3 cell vertices, never an incident."""
    app, toks = service
    client = TestClient(app)
    tree = cKDTree(_incident_xy(app.state.services.layers))
    quarter = _items(client, toks["school"], "clusters", "&preset=all-day&datetime=2025-Q1")
    month = _items(client, toks["school"], "clusters", "&preset=all-day&datetime=2025-01")
    if not quarter:
        pytest.skip("no published cluster in 2025-Q1 on the demo store")
    a = shapely.union_all([_bng(shape(f["geometry"])) for f in quarter])
    b = shapely.union_all([_bng(shape(f["geometry"])) for f in month]) if month else None
    diff = a.difference(b) if b is not None else a
    verts = _vertices([diff])
    all_cells = {h3.latlng_to_cell(lat, lng, 8) for lng, lat in zip(*_wgs(verts), strict=True)}
    ring = {n for c in all_cells for n in h3.grid_disk(c, 1)}
    # on the H3 grid's lines: a cell vertex, or where GEOS nodes an edge of a cell that
    # crosses an icosahedron face (drawn with an extra vertex) against its neighbour's
    # straight edge: a point of the grid's edges, never an incident's
    edges = shapely.union_all([_bng(disclosure.cell_polygon(c)).boundary for c in ring])
    d = shapely.distance(shapely.points(verts), edges)
    assert d.max() < 1.0
    dist, _ = tree.query(verts)
    assert np.mean(dist < 10.0) < 0.2


def _wgs(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    back = Transformer.from_crs(27700, "OGC:CRS84", always_xy=True)
    return back.transform(xy[:, 0], xy[:, 1])


def test_public_density_is_smoothed_from_published_counts(service, tmp_path) -> None:
    """Item 4: the public surface is a quartic KDE of the published cell counts at the cell
    centres (checked against a direct sum of the kernel), useful (many non-zero pixels, not
    one), and says what was done."""
    import rasterio

    app, toks = service
    client = TestClient(app)
    h = {"Authorization": f"Bearer {toks['school']}"}
    feats = _items(client, toks["school"], "hotspots-kde")
    assert feats, "public hotspots are empty"
    method = feats[0]["properties"]["method"]
    assert "published" in method and "1000 m" in method
    r = client.get("/rasters/kde.tif", headers=h)
    assert r.status_code == 200
    path = tmp_path / "kde.tif"
    path.write_bytes(r.content)
    with rasterio.open(path) as ds:
        grid = ds.read(1, masked=True).filled(np.nan)
        transform = ds.transform
    assert np.count_nonzero(np.nan_to_num(grid) > 0) > 1000
    # independent reference: sum the quartic kernel over the published cells' centres
    svc = app.state.services.layers
    # the incidents of the published period the school's request gets (the twelve whole
    # months ending with the latest published month), rounded per cell by the rule
    inputs = disclosure.density_input(svc.incidents(_public_params(svc)))
    with rasterio.open(path) as ds:  # centres off the grid are not smoothed (kde_surface)
        b = ds.bounds
    inputs = inputs.cx[b.left : b.right, b.bottom : b.top]
    cx = inputs.geometry.x.to_numpy()
    cy = inputs.geometry.y.to_numpy()
    w = inputs["weight"].to_numpy()
    rows, cols = np.nonzero(np.isfinite(grid))
    pick = np.random.default_rng(1).choice(len(rows), size=min(400, len(rows)), replace=False)
    xs, ys = rasterio.transform.xy(transform, rows[pick], cols[pick])
    d2 = (np.asarray(xs)[:, None] - cx) ** 2 + (np.asarray(ys)[:, None] - cy) ** 2
    bw = 1000.0
    k = np.where(d2 < bw**2, 3.0 / (np.pi * bw**2) * (1 - d2 / bw**2) ** 2, 0.0)
    years = _period_years(svc)
    expect = (k * w).sum(axis=1) * 1e6 / years  # incidents per km² per year
    got = grid[rows[pick], cols[pick]]
    scale = np.nanmax(expect)
    assert np.nanmax(np.abs(got - expect)) < 0.05 * scale


def _public_params(svc: Any) -> Any:
    from dataclasses import replace

    from geosafe.publish.published_counts import public_period

    period = public_period(svc, _default_params())
    return replace(_default_params(), start=period.start, end=period.end)


def _period_years(svc: Any) -> float:
    start, end = svc.period(_public_params(svc))
    return round(((end - start).days + 1) / 30.4) / 12  # whole months


def test_school_report_corridors_merge_equal_published_counts(service) -> None:
    """Item 3: a school's report never splits one street where only the exact pupil count
    changes: after rounding, one feature per street, kind and published count."""
    from geosafe.publish import corridors

    from .conftest import SCHOOL_A

    app, _ = service
    svc = app.state.services.layers
    out = corridors.school_report(svc, school=SCHOOL_A, role="school")
    feats = out["corridors"]["features"]
    keys = [
        (f["properties"].get("kind"), f["properties"].get("name"), f["properties"].get("pupils"))
        for f in feats
    ]
    assert len(keys) == len(set(keys)), "a street is split between equal published counts"
    assert all(p % 5 == 0 and p >= 10 for _, _, p in keys)


def test_merge_stretches_hides_one_pupil_steps() -> None:
    """Two contiguous stretches of a street with 11 and 12 pupils publish as one stretch of
    10: the split point (where one more pupil joins) is gone."""
    a = shapely.LineString([(0, 0), (100, 0)])
    b = shapely.LineString([(100, 0), (250, 0)])
    c = shapely.LineString([(250, 0), (400, 0)])
    frame = gpd.GeoDataFrame(
        {
            "kind": ["street"] * 3,
            "name": ["Bounds Green Road"] * 3,
            "pupils": [10, 10, 15],  # published from 11, 12 and 14
            "length_m": [100.0, 150.0, 150.0],
            "mean_density_km2": [2.0, 4.0, 1.0],
        },
        geometry=[a, b, c],
        crs=27700,
    )
    out = disclosure.merge_stretches(frame)
    assert len(out) == 2
    first = out[out["pupils"] == 10].iloc[0]
    assert first.geometry.equals(shapely.LineString([(0, 0), (250, 0)]))
    assert (100.0, 0.0) not in set(map(tuple, shapely.get_coordinates(first.geometry)))
    assert first["length_m"] == 250.0 and first["mean_density_km2"] == pytest.approx(3.2)
    assert first["stretches"] == 2


def test_public_layers_say_what_was_done(service) -> None:
    app, toks = service
    client = TestClient(app)
    for collection in ("clusters", "hotspots-kde"):
        feats = _items(client, toks["school"], collection)
        assert feats and all("published" in f["properties"]["method"] for f in feats)
        text = json.dumps(feats)
        assert "CANARY" not in text

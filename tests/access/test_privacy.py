"""Disclosure control: rounding and suppression, geography, periods, per-role fields."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geosafe._errors import AccessDeniedError, DisclosureError, NotFoundError
from geosafe.access.tokens import Principal
from geosafe.publish import disclosure as privacy
from geosafe.publish import roles

ANALYST = Principal("a", "alice", "analyst")
SCHOOL = Principal("s", "school", "school", school_urn="102053")
AREA = box(528000, 190000, 531000, 193000)
HOOD = Principal("n", "hood", "neighbourhood", area_codes=("E05000267",), area=AREA)

# ---- round_count --------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**7))
def test_round_count_rules(n: int) -> None:
    out = privacy.round_count(n)
    if 1 <= n <= 9:
        assert out is None
    else:
        assert out is not None and out % 5 == 0
        assert abs(out - n) <= 2  # nearest multiple of 5 for integers
        assert not 1 <= out <= 9


@given(st.integers(min_value=0, max_value=10**6))
def test_one_more_incident_changes_by_at_most_one_step(n: int) -> None:
    a, b = privacy.round_count(n), privacy.round_count(n + 1)
    if a is None or b is None:
        assert (a is None) != (b is None) or (a is None and b is None)
    else:
        assert 0 <= b - a <= 5


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, 0), (1, None), (9, None), (10, 10), (12, 10), (13, 15), (17, 15), (18, 20), (1002, 1000)],
)
def test_round_count_table(n: int, expected: int | None) -> None:
    assert privacy.round_count(n) == expected


def test_round_counts_matches_scalar() -> None:
    values = np.arange(0, 200)
    out, suppressed = privacy.round_counts(values)
    for v, o, s in zip(values, out, suppressed, strict=True):
        ref = privacy.round_count(int(v))
        assert s == (ref is None)
        assert (np.isnan(o) and ref is None) or o == ref


def test_negative_count_refused() -> None:
    with pytest.raises(DisclosureError, match="-1"):
        privacy.round_count(-1)


# ---- aggregates -----------------------------------------------------------------------------

_LON = (-0.15, -0.10)
_LAT = (51.60, 51.63)

incident_rows = st.lists(
    st.tuples(
        st.floats(*_LON, allow_nan=False),
        st.floats(*_LAT, allow_nan=False),
        st.integers(min_value=7, max_value=12),
    ),
    min_size=1,
    max_size=120,
)


def _frame(rows: list[tuple[float, float, int]]) -> gpd.GeoDataFrame:
    lon = [r[0] for r in rows]
    lat = [r[1] for r in rows]
    cells = [h3.latlng_to_cell(y, x, res) for x, y, res in rows]
    gdf = gpd.GeoDataFrame(
        {"lon": lon, "lat": lat, "h3_cell": cells},
        geometry=gpd.points_from_xy(lon, lat, crs="EPSG:4326"),
    )
    return gdf.to_crs(27700)


def _published(gdf: gpd.GeoDataFrame) -> dict[str, float | None]:
    out = privacy.aggregate_counts(gdf)
    return {
        c: (None if s else float(v))
        for c, v, s in zip(out["cell"], out["count"], out["suppressed"], strict=True)
    }


def _reference_counts(rows: list[tuple[float, float, int]]) -> Counter[str]:
    """Independent count: each incident's own cell if coarser than 8, else its res-8 cell."""
    counts: Counter[str] = Counter()
    for x, y, res in rows:
        counts[h3.latlng_to_cell(y, x, min(res, 8))] += 1
    return counts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incident_rows, st.integers(min_value=0, max_value=10**6))
def test_published_aggregates_properties(rows: list[tuple[float, float, int]], pick: int) -> None:
    gdf = _frame(rows)
    pub = _published(gdf)
    ref = _reference_counts(rows)
    assert set(pub) == set(ref)
    for cell, value in pub.items():
        assert h3.get_resolution(cell) <= privacy.MAX_PUBLIC_H3_RESOLUTION
        assert privacy.round_count(ref[cell]) == (None if value is None else int(value))
        if value is not None:
            assert value % 5 == 0 and not 1 <= value <= 9
    # remove one incident: each published value moves by at most 5 or toggles suppression
    drop = pick % len(rows)
    fewer = _published(gdf.drop(index=gdf.index[drop]))
    for cell in set(pub) | set(fewer):
        a = pub.get(cell, 0.0)
        b = fewer.get(cell, 0.0)
        if a is None or b is None:
            continue  # suppression toggled (or stayed suppressed)
        assert abs(a - b) <= 5


def test_aggregate_by_lsoa_matches_spatial_join(data_dir) -> None:
    from geosafe import datasets

    lsoas = datasets.lsoas(data_dir)
    rng = np.random.default_rng(7)
    pts = lsoas.geometry.iloc[:3].representative_point()
    xs = np.repeat(pts.x.to_numpy(), [12, 4, 30]) + rng.normal(0, 1, 46)
    ys = np.repeat(pts.y.to_numpy(), [12, 4, 30]) + rng.normal(0, 1, 46)
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs, ys, crs=27700))
    out = privacy.aggregate_counts(gdf, by="area", areas=lsoas)
    got = out.set_index("lsoa_code")
    codes = lsoas["lsoa_code"].iloc[:3].tolist()
    assert got.loc[codes[0], "count"] == 10
    assert bool(got.loc[codes[1], "suppressed"]) and np.isnan(got.loc[codes[1], "count"])
    assert got.loc[codes[2], "count"] == 30
    assert (got.drop(index=codes)["count"] == 0).all()


def test_density_input_is_cell_centroids() -> None:
    rows = [(-0.12, 51.61, 12)] * 17 + [(-0.13, 51.62, 9)] * 12 + [(-0.14, 51.60, 10)] * 3
    out = privacy.density_input(_frame(rows))
    assert sorted(out["weight"]) == [10.0, 15.0]  # published counts; the cell of 3 dropped
    for cell, geom in zip(out["cell"], out.to_crs(4326).geometry, strict=True):
        lat, lng = h3.cell_to_latlng(cell)
        assert h3.get_resolution(cell) == 8
        assert abs(geom.x - lng) < 1e-7 and abs(geom.y - lat) < 1e-7  # ~1 cm round trip


def test_threshold_density() -> None:
    grid = np.zeros((10, 10))
    grid[2, 2] = 400.0  # 400 per km² in a 0.01 km² cell = 4 incidents
    assert not privacy.threshold_density(grid, cell_area_km2=0.01).any()
    grid[5, 5:8] = 500.0  # 3 × 5 more incidents: 19 in all
    out = privacy.threshold_density(grid, cell_area_km2=0.01)
    kept = out * 0.01
    assert kept.sum() >= 10
    assert out[2, 2] == 0.0 and (out[5, 5:8] == 500.0).all()


def test_publish_clusters() -> None:
    """Clusters of 10+ only, outlined by their published H3 resolution-8 cells."""
    rows = [(-0.12, 51.61, 12)] * 17 + [(-0.1205, 51.6102, 12)] * 3 + [(-0.14, 51.60, 12)] * 4
    incidents = _frame(rows)
    clusters = gpd.GeoDataFrame(
        {"cluster_id": [1, 2], "n_incidents": [20, 4]},
        geometry=[
            incidents.iloc[:20].union_all().convex_hull.buffer(5),
            incidents.iloc[20:].union_all().buffer(5),
        ],
        crs=27700,
    )
    out = privacy.publish_clusters(clusters, incidents)
    assert out["cluster_id"].tolist() == [1]
    assert out["n_incidents"].tolist() == [20]
    cell = h3.latlng_to_cell(51.61, -0.12, 8)
    expect = gpd.GeoSeries([privacy.cell_polygon(cell)], crs=4326).to_crs(27700).iloc[0]
    assert out.geometry.iloc[0].symmetric_difference(expect).area < 1.0


def test_cluster_outlines_do_not_reveal_incident_points() -> None:
    rng = np.random.default_rng(3)
    pts = [Point(529000 + x, 191000 + y) for x, y in rng.normal(0, 80, size=(25, 2))]
    incidents = gpd.GeoDataFrame(geometry=pts, crs=27700)
    hull = gpd.GeoSeries(pts, crs=27700).union_all().convex_hull
    clusters = gpd.GeoDataFrame({"n_incidents": [25]}, geometry=[hull], crs=27700)
    out = privacy.publish_clusters(clusters, incidents).geometry.iloc[0]
    corners = np.asarray(hull.exterior.coords)
    published = shapely.get_coordinates(out)
    gaps = np.hypot(*(corners[:, None, :] - published[None, :, :]).transpose(2, 0, 1))
    assert gaps.min() > 10.0  # no published vertex near an incident's point


# ---- periods and queries --------------------------------------------------------------------

NOW = pd.Timestamp("2026-11-28 10:00", tz="Europe/London")


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2025", "year", "2025-01-01", "2026-01-01"),
        ("2025-Q2", "quarter", "2025-04-01", "2025-07-01"),
        ("2025-03", "month", "2025-03-01", "2025-04-01"),
        ("2025-03-01T00:00:00Z/2025-03-31T23:59:59Z", "month", "2025-03-01", "2025-04-01"),
        ("2025-01-01/2025-03-31", "quarter", "2025-01-01", "2025-04-01"),
        ("2025-07-01T00:00:00/2025-10-01T00:00:00", "quarter", "2025-07-01", "2025-10-01"),
        ("2024-01-01/2024-12-31", "year", "2024-01-01", "2025-01-01"),
    ],
)
def test_published_periods(text: str, kind: str, start: str, end: str) -> None:
    p = privacy.published_period(text, now=NOW)
    assert p.kind == kind
    assert p.start == pd.Timestamp(start, tz="Europe/London")
    assert p.end == pd.Timestamp(end, tz="Europe/London")


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-02/2025-03-31",  # not a whole month
        "2025-03-01/2025-03-30",
        "2025-02-01/2025-04-30",  # three months but not a calendar quarter
        "2025-03-15T10:00:00Z",  # an instant
        "../2025-03-31",
        "2025-03-01/..",
        "2026-11",  # not finished yet
        "2026",
        "2025-13",
        "last week",
        "",
    ],
)
def test_unpublished_periods_refused(text: str) -> None:
    with pytest.raises(DisclosureError, match="datetime"):
        privacy.published_period(text, now=NOW)


def test_check_query() -> None:
    assert (
        privacy.check_query(ANALYST, {"start": "2025-03-02", "datetime": "../2025-01-01"}) is None
    )
    assert privacy.check_query(SCHOOL, {"preset": "school-run", "datetime": "2025-03"}) is not None
    for bad in ({"start": "2025-01-01"}, {"hours": "08:00-09:00"}, {"weekdays": "mon"}):
        with pytest.raises(DisclosureError, match="not available to the 'school' role"):
            privacy.check_query(SCHOOL, bad)
    with pytest.raises(DisclosureError, match="'my-window' is not a named preset"):
        privacy.check_query(HOOD, {"preset": "my-window"})
    with pytest.raises(DisclosureError, match="resolution"):
        privacy.check_query(HOOD, {"resolution": "9"})
    privacy.check_query(HOOD, {"resolution": "8"})


def test_check_school() -> None:
    privacy.check_school(SCHOOL, "102053")
    privacy.check_school(ANALYST, "137531")
    with pytest.raises(NotFoundError, match="137531"):
        privacy.check_school(SCHOOL, "137531")


# ---- per-role fields ------------------------------------------------------------------------

PERSONAL = {
    "postcode": "N11 2AA",
    "home_postcode": "N22 5QP",
    "ethnicity": "WBRI",
    "gender": "F",
    "year_group": "9",
    "notes_peer_group": "named pupils",
    "description": "free text",
    "address": "1 High Rd",
    "victim_age": 14,
    "source_ref": "DIR-1",
    "incident_id": "dir:DIR-1",
    "referral_id": "FAP-9",
    "lon": -0.12,
    "lat": 51.6,
}


def _cells_frame() -> gpd.GeoDataFrame:
    cells = ["88195da4c1fffff", "88195da4c3fffff", "88195da4c5fffff"]
    frame = gpd.GeoDataFrame(
        {"cell": cells, "count": [3, 12, 47], "gi_z": [0.1, 2.2, 3.9], "secret_x": [1, 2, 3]}
        | {k: [v] * 3 for k, v in PERSONAL.items()},
        geometry=[privacy.cell_polygon(c) for c in cells],
        crs=4326,
    ).to_crs(27700)
    return frame


@pytest.mark.parametrize("principal", [SCHOOL, HOOD])
def test_publish_features_allow_list(principal: Principal) -> None:
    frame = _cells_frame()
    if principal.role == "neighbourhood":
        principal = Principal("n", "hood", "neighbourhood", area=frame.union_all().buffer(10))
    out = roles.publish_features(principal, "h3-cells", frame)
    allowed = roles.allowed_fields(principal.role)
    assert allowed is not None
    cols = set(out.columns) - {"geometry"}
    assert cols <= allowed and not cols & set(PERSONAL) and "secret_x" not in cols
    assert out["count"].tolist()[1:] == [10, 45]
    assert pd.isna(out["count"].iloc[0]) and bool(out["suppressed"].iloc[0])


def test_publish_features_analyst_sees_everything() -> None:
    frame = _cells_frame()
    assert roles.publish_features(ANALYST, "h3-cells", frame) is frame
    assert roles.allowed_fields("analyst") is None


def test_points_and_incident_level_refused() -> None:
    pts = gpd.GeoDataFrame({"count": [20]}, geometry=[Point(529000, 191000)], crs=27700)
    with pytest.raises(DisclosureError, match="point features"):
        roles.publish_features(SCHOOL, "clusters", pts)
    with pytest.raises(AccessDeniedError, match="analyst role only"):
        roles.publish_features(HOOD, "incidents", pts, incident_level=True)
    assert roles.publish_features(HOOD, "schools", pts, reference=True) is pts


def test_neighbourhood_sees_only_its_area() -> None:
    inside = AREA.centroid.buffer(200)
    far = box(540000, 190000, 541000, 191000)
    frame = gpd.GeoDataFrame({"count": [20, 30]}, geometry=[inside, far], crs=27700)
    out = roles.publish_features(HOOD, "h3-cells", frame)
    assert out["count"].tolist() == [20]


def test_finer_cell_refused() -> None:
    with pytest.raises(DisclosureError, match="finer than H3 resolution 8"):
        roles.publish_properties(SCHOOL, {"cell": h3.latlng_to_cell(51.61, -0.12, 9), "count": 20})


_KEYS = st.sampled_from(
    sorted(roles.PERSONAL_FIELDS | roles.COUNT_FIELDS | {"cell", "gi_z", "name", "x", "notes"})
)
_VALUES = st.one_of(
    st.integers(min_value=0, max_value=10_000),
    st.floats(min_value=0, max_value=1e4),
    st.just(float("nan")),
    st.text(max_size=8),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=12), st.sampled_from([SCHOOL, HOOD]))
def test_publish_properties_property(props: dict, principal: Principal) -> None:
    props.pop("cell", None)  # a cell must be a real H3 index (tested separately)
    try:
        out = roles.publish_properties(principal, props)
    except DisclosureError:  # a value of the wrong type: refused (fail closed)
        return
    allowed = roles.allowed_fields(principal.role)
    assert allowed is not None and set(out) <= allowed | {"suppressed"}
    assert not set(out) & roles.PERSONAL_FIELDS
    for key in roles.COUNT_FIELDS & set(out):
        v = out[key]
        assert v is None or (v % 5 == 0 and not 1 <= v <= 9)


def test_coarsen_incidents_gives_published_counts_at_cell_centres() -> None:
    from geosafe.filters import IncidentFilter

    rng = np.random.default_rng(5)
    rows = [(-0.12 + dx, 51.61 + dy, 12) for dx, dy in rng.normal(0, 0.0008, size=(23, 2))]
    rows += [(-0.135, 51.62, 12)] * 4 + [(-0.14, 51.605, 12)] * 12
    gdf = _frame(rows)
    gdf["source"] = ["dir"] * (len(gdf) - 12) + ["cris"] * 12
    gdf["incident_id"] = [f"dir:{i}" for i in range(len(gdf))]
    gdf["occurred_from"] = pd.Timestamp("2025-03-03 08:15", tz="Europe/London")
    out = privacy.coarsen_incidents(gdf, IncidentFilter(sources=("dir",)))
    raw = Counter(
        h3.latlng_to_cell(y, x, 8)
        for (x, y, _), s in zip(rows, gdf["source"], strict=True)
        if s == "dir"
    )
    expected = {c: privacy.round_count(n) for c, n in raw.items() if privacy.round_count(n)}
    assert Counter(out["h3_cell"]) == expected
    assert set(out["source"]) == {"dir"}  # filtered before counting
    assert out["incident_id"].is_unique
    for cell, geom in zip(out["h3_cell"], out.to_crs(4326).geometry, strict=True):
        lat, lng = h3.cell_to_latlng(cell)
        assert abs(geom.x - lng) < 1e-7 and abs(geom.y - lat) < 1e-7

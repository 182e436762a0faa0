"""Safe places: the OSM tag rules, the analyst's list with its quarantine, opening hours,
and the places a walk passes (issue 13 item 4). Inputs are hand-made files in
``tests/protect/data`` and the real bundled OSM extracts."""

from __future__ import annotations

import bz2
import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer

from geosafe import datasets
from geosafe.protect.safe_places import (
    hours_problem,
    import_safe_places,
    is_open,
    load_safe_places,
    osm_kind,
    passes,
    quarantined_safe_places,
    read_csv,
    read_osm,
)

DATA = Path(__file__).parent / "data"
SHARED_OSM = Path("/work/shared/data/osm/clerkenwell.osm")


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"amenity": "community_centre", "community_centre": "youth_centre"}, "youth_club"),
        ({"amenity": "community_centre", "community_centre:for": "child;juvenile"}, "youth_club"),
        ({"amenity": "community_centre"}, None),
        ({"club": "youth"}, "youth_club"),
        (
            {"amenity": "social_facility", "social_facility:for": "homeless;juvenile"},
            "youth_service",
        ),
        ({"amenity": "social_facility", "social_facility:for": "senior"}, None),
        ({"amenity": "police"}, "police_station"),
        ({"railway": "station", "staffed": "yes"}, "staffed_station"),
        ({"railway": "station"}, None),
        ({"highway": "footway"}, None),
    ],
)
def test_osm_tag_rules(tags: dict[str, str], kind: str | None) -> None:
    assert osm_kind(tags) == kind


def test_read_osm_nodes_and_ways() -> None:
    got = {p.place_id: p for p in read_osm(DATA / "safe_places.osm")}
    assert set(got) == {
        "osm:node/1",
        "osm:node/2",
        "osm:node/3",
        "osm:node/6",
        "osm:node/8",
        "osm:way/100",
    }
    assert got["osm:node/1"].opening_hours == "Mo-Fr 15:00-21:00; PH off"
    assert got["osm:node/8"].opening_hours is None  # 'whenever we can': unknown, warned
    # the way is placed at the mean of its four corners (the closing node repeats the first)
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    lon = (-0.1100 * 2 - 0.1090 * 2 + -0.1100) / 5
    lat = (51.6100 * 2 + 51.6090 * 2 + 51.6100) / 5
    x, y = to_bng.transform(lon, lat)
    assert got["osm:way/100"].x == pytest.approx(x, abs=0.01)
    assert got["osm:way/100"].y == pytest.approx(y, abs=0.01)


def test_the_real_extracts_hold_no_tagged_safe_place() -> None:
    """What the bundled data contain: the demo extract is highways only; the Clerkenwell
    export has one community centre without youth tags. Counted independently with
    ElementTree."""
    demo = datasets.osm_path(None)
    with bz2.open(demo) if demo.suffix == ".bz2" else open(demo, "rb") as fh:
        root = ET.parse(fh).getroot()
    amenities = [t.get("v") for t in root.iter("tag") if t.get("k") == "amenity"]
    assert "police" not in amenities and "community_centre" not in amenities
    assert read_osm(demo) == []
    if SHARED_OSM.exists():
        root = ET.parse(SHARED_OSM).getroot()
        centres = [
            {t.get("k"): t.get("v") for t in el.iter("tag")}
            for el in root
            if any(
                t.get("k") == "amenity" and t.get("v") == "community_centre" for t in el.iter("tag")
            )
        ]
        assert len(centres) == 1 and "community_centre" not in centres[0]
        assert read_osm(SHARED_OSM) == []


def test_read_csv_quarantines_every_bad_row_with_its_reason() -> None:
    places, rejected = read_csv(DATA / "safe_places.csv")
    n_rows = len((DATA / "safe_places.csv").read_text().splitlines()) - 1
    assert len(places) + len(rejected) == n_rows == 13
    assert {p.place_id for p in places} == {"csv:SP1", "csv:SP2B", "csv:SP3", "csv:SP12"}
    assert {r.row_no: r.reason_code for r in rejected} == {
        3: "row_too_long",
        6: "name_missing",
        7: "kind_unknown",
        8: "coord_swapped",
        9: "coord_outside_aoi",
        10: "hours_invalid",
        11: "location_missing",
        12: "postcode_unknown",
        13: "ref_duplicate",
    }
    by = {p.place_id: p for p in places}
    assert (
        by["csv:SP2B"].opening_hours == "Tu,Th 16:00-20:00"
        and by["csv:SP2B"].kind == "detached_youth_work"
    )
    assert (by["csv:SP2B"].x, by["csv:SP2B"].y) == (529780.0, 191620.0)
    pc = datasets.postcodes()
    row = pc[pc["postcode"] == "N13 4QH"].iloc[0]
    assert (by["csv:SP3"].x, by["csv:SP3"].y) == (float(row["easting"]), float(row["northing"]))
    reason = next(r.reason for r in rejected if r.reason_code == "hours_invalid")
    assert "'sometimes'" in reason and "Mo-Fr 15:00-21:00" in reason


def test_opening_hours_worked_by_hand() -> None:
    club = "Mo-Fr 15:00-21:00; PH off"
    assert is_open(club, dt.datetime(2025, 2, 11, 16, 30)) is True  # a Tuesday
    assert is_open(club, dt.datetime(2025, 2, 11, 14, 59)) is False
    assert is_open(club, dt.datetime(2025, 2, 15, 16, 30)) is False  # a Saturday
    assert is_open(club, dt.datetime(2025, 5, 26, 16, 30)) is False  # Spring bank holiday
    assert is_open("Mo-Su 06:00-01:00", dt.datetime(2025, 2, 11, 0, 30)) is True  # past midnight
    assert is_open(None, dt.datetime(2025, 2, 11, 12)) is None
    assert hours_problem("Mo-Fr 25:00-26:00") and hours_problem("24/7") is None


def _places(*rows: tuple[str, float, float, str | None]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "place_id": [r[0] for r in rows],
            "name": [r[0] for r in rows],
            "kind": "youth_club",
            "opening_hours": [r[3] for r in rows],
        },
        geometry=[shapely.Point(r[1], r[2]) for r in rows],
        crs=27700,
    )


def test_places_a_walk_passes_open_when_the_pupil_walks_by() -> None:
    """A 1,300 m walk east from (0, 0) leaving 08:00 at 1.3 m/s: at x=650 it is 08:08:20.
    A bus leg further on passes a place too, which does not count (aboard a bus)."""
    walk = shapely.LineString([(0, 0), (1300, 0)])
    bus = shapely.LineString([(1300, 0), (3000, 0)])
    t0 = 8 * 3600
    j = SimpleNamespace(
        origin_id="home",
        count=4,
        error=None,
        mode="bus",
        geometry=None,
        depart_s=t0,
        arrive_s=t0 + 1400,
        legs=[
            {"mode": "walk", "depart_s": t0, "arrive_s": t0 + 1000},
            {"mode": "bus", "depart_s": t0 + 1100, "arrive_s": t0 + 1400},
        ],
        leg_geometries=[walk, bus],
    )
    places = _places(
        ("open", 650, 30, "Mo-Fr 08:05-09:00"),
        ("closed", 651, -30, "Mo-Fr 08:10-09:00"),
        ("unknown", 100, 49, None),
        ("too far", 650, 80, "24/7"),
        ("on the bus", 2000, 5, "24/7"),
    )
    got = passes([j], places, day=dt.date(2025, 2, 11), within_m=50)
    assert set(got["place_id"]) == {"open", "closed", "unknown"}
    row = got.set_index("place_id")
    assert row.loc["open", "time_s"] == pytest.approx(t0 + 500)
    assert row.loc["open", "open"] is True and row.loc["closed", "open"] is False
    assert row.loc["unknown", "open"] is None and row.loc["unknown", "pupils"] == 4
    # on a Saturday the clubs are closed
    sat = passes([j], places, day=dt.date(2025, 2, 15)).set_index("place_id")
    assert sat.loc["open", "open"] is False


def test_import_replaces_a_file_and_keeps_its_quarantine(tmp_path: Path) -> None:
    db = tmp_path / "geosafe.db"
    assert load_safe_places(db).empty and quarantined_safe_places(db) == []
    places, rejected = read_csv(DATA / "safe_places.csv")
    s = import_safe_places(db, places, rejected, source="csv", file_name="list.csv")
    assert (s["accepted"], s["quarantined"], s["hours_unknown"]) == (4, 9, 1)
    import_safe_places(db, read_osm(DATA / "safe_places.osm"), source="osm", file_name="x.osm")
    # the list again, edited: one place fewer; the OSM places stay
    s = import_safe_places(db, places[:3], rejected, source="csv", file_name="list.csv")
    got = load_safe_places(db)
    assert len(got) == 3 + 6 and got.crs.to_epsg() == 27700
    assert len(quarantined_safe_places(db)) == 9
    assert got.set_index("place_id").loc["csv:SP1", "lat"] == pytest.approx(51.5972, abs=1e-6)

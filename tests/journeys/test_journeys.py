"""Origins, journey planning (walk and bus), GeoJSON output and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geosafe import datasets
from geosafe._errors import NotFoundError, ValidationError
from geosafe.network import origins as og
from geosafe.network.journeys import FallbackWalk
from geosafe.network.walk import WalkNetwork
from geosafe.risk.exposure import ExposureModel
from geosafe.risk.journeys import assess_journeys, journeys_geojson

from ._fixtures import HERE, SCHOOL, build_store
from .test_risk import GridSurface, _incidents

REQUIRED = {
    "origin_id",
    "school_urn",
    "mode",
    "distance_m",
    "duration_s",
    "exposure",
    "exposure_units",
    "hotspots_crossed",
    "alt_distance_m",
    "alt_exposure",
}


def test_postcodes_grouped_with_counts(tmp_path: Path) -> None:
    f = tmp_path / "pupils.csv"
    f.write_text("name,postcode\nA,N22 7AY\nB,n227ay\nC,N11 2AF\nD,ZZ9 9ZZ\nE,\n")
    pcs = og.read_postcode_list(f)
    assert pcs == ["N22 7AY", "n227ay", "N11 2AF", "ZZ9 9ZZ"]
    o = og.origins_from_postcodes(pcs)
    table = pd.read_csv(datasets.osm_path().parent.parent / "postcodes" / "codepoint_n_en.csv.gz")
    by = dict(zip(o.origin_id, range(len(o)), strict=True))
    assert o.count[by["N22 7AY"]] == 2 and o.count[by["N11 2AF"]] == 1
    row = table[table["postcode"] == "N22 7AY"].iloc[0]
    assert tuple(o.xy[by["N22 7AY"]]) == (row["easting"], row["northing"])
    assert o.error[by["ZZ9 9ZZ"]] == "postcode_unknown" and np.isnan(o.xy[by["ZZ9 9ZZ"]]).all()
    # names never reach the origins
    assert not any(i == "A" for i in o.origin_id)


def test_postcode_file_without_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("pc\nN22 7AY\n")
    with pytest.raises(ValidationError, match="postcode"):
        og.read_postcode_list(f)


def test_origins_csv_latlon_and_bng(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("id,latitude,longitude\np1,51.6021426,-0.136145\np2,,\n")
    b = tmp_path / "b.csv"
    b.write_text("id,easting,northing\nq1,529181.16,190901.10\n")
    oa, ob = og.origins_from_csv(a), og.origins_from_csv(b)
    # the school's own lat/lon and BNG position (from the bundled list) agree to a metre
    np.testing.assert_allclose(oa.xy[0], ob.xy[0], atol=1.0)
    assert oa.error == (None, "coordinates_invalid")
    c = tmp_path / "c.csv"
    c.write_text("id,x,y\n1,2,3\n")
    with pytest.raises(ValidationError, match="easting,northing"):
        og.origins_from_csv(c)


def test_unknown_school() -> None:
    with pytest.raises(NotFoundError, match="'000000'"):
        og.school_location("000000")


def _model(value: float = 20.0, incidents=None) -> ExposureModel:
    surf = GridSurface(np.full((120, 120), value), 524000, 197000, 100.0)
    return ExposureModel(surf, 500.0, incidents if incidents is not None else _incidents([]))


def test_walk_journeys_and_geojson(bundled_net: WalkNetwork) -> None:
    pts = np.array([[528500.0, 191500.0], [530500.0, 192500.0], [400000.0, 100000.0]])
    origins = og.Origins(("a", "b", "far"), pts, np.array([2, 1, 1]), (None, None, None), "point")
    res = assess_journeys(
        SCHOOL,
        origins,
        mode="walk",
        bell=dt.time(8, 45),
        date=dt.date(2025, 3, 4),
        network=bundled_net,
        model=_model(),
    )
    assert [r.origin_id for r in res] == ["a", "b", "far"]
    a = res[0]
    assert a.duration_s == pytest.approx(a.distance_m / 1.3)
    assert a.depart_s == pytest.approx(8.75 * 3600 - a.duration_s)
    # constant density: exposure is proportional to length (formula in test_risk)
    assert res[1].exposure / a.exposure == pytest.approx(res[1].distance_m / a.distance_m, rel=1e-6)
    assert a.alt_distance_m == pytest.approx(a.distance_m)  # nothing safer on a flat surface
    # per segment (runs of one street): λ · length · πr² / (H · v · 3600 s/h), per 1,000
    segs = a.legs[0]["segments"]
    assert len(segs) >= 2
    for seg in segs:
        want = 20.0 * seg["distance_m"] * (np.pi * 50**2 / 1e6) / (500.0 * 1.3 * 3600) * 1000
        assert seg["exposure"] == pytest.approx(want, abs=2e-4)
    assert sum(s["distance_m"] for s in segs) <= a.distance_m
    assert res[2].error.startswith("origin_off_network")
    gj = journeys_geojson(res)
    feats = gj["features"]
    assert len(feats) == 3
    for f in feats:
        assert set(f["properties"]) >= REQUIRED
    assert feats[2]["geometry"] is None and "error" in feats[2]["properties"]
    coords = np.array(feats[0]["geometry"]["coordinates"])
    lon, lat = coords[:, 0], coords[:, 1]
    assert (
        (lon > -0.2).all() and (lon < -0.05).all() and (lat > 51.55).all() and (lat < 51.65).all()
    )
    # the last vertex is the school (WGS84, ~6 decimals)
    s = datasets.schools().set_index("urn").loc[SCHOOL]
    assert coords[-1] == pytest.approx([s.longitude, s.latitude], abs=2e-6)


@pytest.fixture(scope="module")
def router(bundled_net: WalkNetwork):
    from geosafe.network.transit import RaptorRouter

    return RaptorRouter(
        HERE / "data" / "mini_gtfs",
        walk=FallbackWalk(bundled_net),
        walk_path=bundled_net.path_line,
    )


def test_bus_journey_arrives_by_the_bell(bundled_net: WalkNetwork, router) -> None:
    origin = np.array([[528060.0, 190434.0]])  # 25 m west of Everington Road (T1)
    origins = og.Origins(("o",), origin, np.array([1]), (None,), "point")
    # incidents along route T1's stretch make riding it exposed; T2 has none
    tr = Transformer.from_crs(4326, 27700, always_xy=True)
    x = tr.transform(-0.15213396773657328, 51.59819504395378)
    s = tr.transform(-0.1342747373454127, 51.60061922296993)
    on_t1 = _incidents([], geoms=[shapely.LineString([x, s])] * 5, route=["T1"] * 5)
    model = _model(0.0, on_t1)
    kw = dict(
        mode="bus",
        bell=dt.time(8, 45),
        date=dt.date(2025, 3, 4),
        network=bundled_net,
        router=router,
        model=model,
    )
    (r,) = assess_journeys(SCHOOL, origins, max_detour=0.2, **kw)
    assert r.error is None and r.arrive_s <= 8.75 * 3600
    bus = [leg for leg in r.legs if leg["mode"] == "bus"]
    # hand-worked: the 08:30 T1 from Everington Road reaches Victoria Road at 08:38; the
    # 08:40 would arrive 08:48, too late
    assert [(b["route"], b["depart_s"], b["arrive_s"]) for b in bus] == [("T1", 30600, 31080)]
    assert r.exposure > 0
    # T1 carries 5 incidents over the whole stretch: 5 / (H · trips per hour) per ride, the
    # trips per hour from the timetable: T1 leaves Everington Road every 10 minutes from
    # 07:00 to 08:50, so 9 departures (07:30...08:50) in the 2-hour morning window: 4.5/h
    assert bus[0]["buses_per_hour"] == 4.5
    assert r.exposure == pytest.approx(5 / (500.0 * 4.5) * 1000, rel=1e-6)
    # within a 20% longer journey there is no other way: the alternative is the same
    assert r.alt_exposure == pytest.approx(r.exposure)
    # allowing a longer journey, boarding T2 at Wilton Road avoids T1's incidents
    (r2,) = assess_journeys(SCHOOL, origins, max_detour=1.5, **kw)
    assert r2.alt_exposure == pytest.approx(0.0)
    assert r2.alt_distance_m > 0


def test_cli_journeys_walk(
    tmp_path: Path,
    walk_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from geosafe.cli import main

    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(walk_cache))
    f = tmp_path / "o.csv"
    f.write_text("id,easting,northing\nx1,528500,191500\nx2,300000,100000\n")
    out = tmp_path / "j.geojson"
    argv = [
        "journeys",
        "--school",
        SCHOOL,
        "--origins",
        str(f),
        "--mode",
        "walk",
        "--arrive-by",
        "08:45",
        "--date",
        "2025-03-04",
        "--out",
        str(out),
        "--db",
        str(tmp_path / "none.db"),
    ]
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            assert main(argv) == 0
    finally:
        logging.captureWarnings(False)  # main() routes warnings to logging
    said = caplog.text + " ".join(str(w.message) for w in rec)
    assert "does not exist: exposure is not computed" in said
    gj = json.loads(out.read_text())
    p = [f["properties"] for f in gj["features"]]
    assert [q["origin_id"] for q in p] == ["x1", "x2"]
    assert p[0]["distance_m"] > 0 and p[0]["exposure"] is None
    assert gj["features"][1]["geometry"] is None and p[1]["error"].startswith("origin_off_network")


def test_cli_school_report(
    tmp_path: Path, walk_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from geosafe.cli import main

    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(walk_cache))
    db, expected = build_store(tmp_path)
    common = [
        "--school",
        SCHOOL,
        "--db",
        str(db),
        "--date",
        "2025-03-04",
        "--gtfs",
        str(HERE / "data" / "mini_gtfs"),
    ]
    out_a, out_s = tmp_path / "analyst", tmp_path / "school"
    try:
        assert main(["school-report", *common, "--out", str(out_a)]) == 0
        assert main(["school-report", *common, "--out", str(out_s), "--role", "school"]) == 0
        # --from-store journeys with exposure from the imported DIR reports
        out_j = tmp_path / "j.geojson"
        argv = ["journeys", "--school", SCHOOL, "--from-store", "--mode", "walk"]
        argv += ["--arrive-by", "08:45", "--date", "2025-03-04", "--out", str(out_j)]
        assert main([*argv, "--db", str(db)]) == 0
    finally:
        logging.captureWarnings(False)
    for d in (out_a, out_s):
        assert {p.name for p in d.iterdir()} == {
            "report.html",
            "corridors.geojson",
            "hotspots.geojson",
            "need_matrix.csv",
            "places.geojson",
            "places.csv",
        }
    m = pd.read_csv(out_a / "need_matrix.csv").set_index("flag")["referrals"]
    for flag, n in expected.items():
        assert m[flag] == n, flag
    corridors = json.loads((out_a / "corridors.geojson").read_text())
    assert "crs" not in corridors and corridors["features"]
    # 12 pupils from 4 postcodes (3 each): the segments next to the school carry all 12
    assert max(f["properties"]["pupils"] for f in corridors["features"]) == 12
    hs = json.loads((out_a / "hotspots.geojson").read_text())["features"]
    assert hs and hs[0]["properties"]["rank"] == 1 and hs[0]["properties"]["pupils"] >= 3
    # school view: 12 -> 10; 3-pupil streets suppressed and left out; need counts < 10 hidden
    pub = pd.read_csv(out_s / "need_matrix.csv").set_index("flag")
    assert pub.loc["all_referrals", "referrals"] == 10
    for flag, n in expected.items():
        if flag != "all_referrals":  # every flag is on 4 or 8 referrals: suppressed
            assert 0 < n < 10 and pd.isna(pub.loc[flag, "referrals"]), flag
    assert pub.loc["domestic_abuse", "referrals"] == 0  # zero is not disclosive
    sc = json.loads((out_s / "corridors.geojson").read_text())["features"]
    assert {f["properties"]["pupils"] for f in sc} <= {10}
    page = (out_s / "report.html").read_text()
    assert "fewer than 10" in page and "rounded to the nearest 5" in page
    for pc in pd.read_csv(tmp_path / "fap.csv")["home_postcode"]:
        assert pc not in page and pc not in (out_s / "corridors.geojson").read_text()
    # every read of incident-level data is audited
    from geosafe.access.audit import AuditLog
    from geosafe.settings import StoreSettings

    reads = AuditLog(StoreSettings(db=db).audit_path()).entries(action="read")
    assert sorted(e.endpoint for e in reads) == [
        "geosafe journeys",
        "geosafe school-report",
        "geosafe school-report",
    ]
    # the analyst's report reads the 40 DIR reports and the 12 referrals; the school's reads
    # the incidents and the referrals as published (cells), no incident or referral row
    reports = sorted(e.records for e in reads if e.endpoint == "geosafe school-report")
    assert reports == [0, 52]
    gj = json.loads(out_j.read_text())
    props = [f["properties"] for f in gj["features"]]
    assert sum(p["count"] for p in props) == 12
    assert all(p["exposure"] is not None and p["exposure"] > 0 for p in props if not p.get("error"))


def test_bus_on_a_date_outside_the_timetable_says_why(bundled_net: WalkNetwork, router) -> None:
    # mini_gtfs runs weekdays of 2025 only: a 2024 date has no service at all
    origins = og.Origins(("o",), np.array([[528060.0, 190434.0]]), np.array([1]), (None,), "point")
    (r,) = assess_journeys(
        SCHOOL,
        origins,
        mode="bus",
        bell=dt.time(8, 45),
        date=dt.date(2024, 3, 12),
        network=bundled_net,
        router=router,
        model=None,
        max_detour=0.2,
    )
    assert r.error is not None and r.error.startswith("no_journey")
    assert "no service on 2024-03-12" in r.error


def test_cli_school_report_counts_the_uploaded_roll(
    tmp_path: Path, walk_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A school's report covers all its pupils: the uploaded roll plus its FAP referrals."""
    from geosafe.cli import main

    monkeypatch.setenv("GEOSAFE_CACHE_DIR", str(walk_cache))
    db, _ = build_store(tmp_path)
    fap_homes = pd.read_csv(tmp_path / "fap.csv")["home_postcode"].tolist()
    roll = tmp_path / "roll.csv"
    roll.write_text("postcode,pupils\n" + f"{fap_homes[0]},30\n")
    try:
        assert main(["roll", "upload", "--school", SCHOOL, str(roll), "--db", str(db)]) == 0
        out = tmp_path / "report"
        argv = ["school-report", "--school", SCHOOL, "--db", str(db), "--date", "2025-03-04"]
        assert main([*argv, "--gtfs", str(HERE / "data" / "mini_gtfs"), "--out", str(out)]) == 0
    finally:
        logging.captureWarnings(False)
    corridors = json.loads((out / "corridors.geojson").read_text())["features"]
    # 12 referred pupils + 30 on the roll all reach the school's own street
    assert max(f["properties"]["pupils"] for f in corridors) == 42

"""`geosafe area build`: an area from public-format files equals the bundled demo area."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosafe import datasets
from geosafe.area import build, inputs
from geosafe.area import osm as area_osm
from geosafe.cli import main
from geosafe.network.walk import WalkNetwork

from .second_area import write_pbf

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "data"
NET_FIELDS = (
    "node_x",
    "node_y",
    "node_osmid",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_steps",
    "edge_highway",
    "edge_name",
)


@pytest.fixture(scope="module")
def demo_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled OSM XML converted to PBF with pyosmium, object by object."""
    return write_pbf(DATA, tmp_path_factory.mktemp("pbf") / "bounds_green.osm.pbf")


@pytest.fixture(scope="module")
def demo_net(tmp_path_factory: pytest.TempPathFactory) -> WalkNetwork:
    """Today's demo network: osmnx on the bundled XML."""
    return WalkNetwork.from_osm(
        datasets.osm_path(DATA), cache_dir=tmp_path_factory.mktemp("walk-cache")
    )


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory, demo_pbf: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("areas") / "demo"
    gpkg = DATA / "boundaries" / "boundaries.gpkg"
    summary = build.build_area(
        out,
        osm_file=demo_pbf,
        boundary=f"{gpkg}:demo_area",
        lads=f"{gpkg}:boroughs",
        wards=f"{gpkg}:wards_2018",
        lsoas=f"{gpkg}:lsoa_2021",
        gtfs=DATA / "gtfs" / "demo_area_estimated",
        schools=[DATA / "schools" / "schools.csv"],
        postcodes=DATA / "postcodes" / "codepoint_n_en.csv.gz",
        stops=DATA / "tfl" / "bus_stops.csv.gz",
    )
    return out, summary.to_json()


def test_pbf_area_network_equals_demo(area: tuple[Path, dict], demo_net: WalkNetwork) -> None:
    folder, summary = area
    net = WalkNetwork.from_osm(datasets.osm_path(folder), use_cache=False)
    for name in NET_FIELDS:
        assert np.array_equal(getattr(net, name), getattr(demo_net, name)), name
    assert net.dropped == demo_net.dropped
    assert summary["nodes"] == demo_net.n_nodes and summary["edges"] == demo_net.n_edges


def test_area_uses_prebuilt_graph(area: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = area
    streets = datasets.osm_path(folder)
    assert streets == folder / "osm" / "streets.osm.bz2"
    net = WalkNetwork.from_osm(streets, cache_dir=tmp_path)  # empty cache: the area's graph
    assert not list(tmp_path.iterdir())
    assert net.n_nodes > 10_000


def test_area_counts_and_manifest(area: tuple[Path, dict], demo_pbf: Path) -> None:
    folder, summary = area
    assert set(summary) >= {"area", "nodes", "edges", "schools", "stops", "postcodes"}
    bundled = datasets.schools(DATA, demo_only=True)
    assert summary["schools"] == len(bundled)
    assert set(datasets.schools(folder, demo_only=True)["urn"]) == set(bundled["urn"])
    assert datasets.gtfs_dir(folder) == folder / "gtfs" / "feed"
    assert (folder / "gtfs" / "validation.json").is_file()
    man = json.loads((folder / "area.json").read_text())
    osm_in = next(i for i in man["inputs"] if i["kind"] == "osm")
    assert osm_in["name"] == demo_pbf.name
    import hashlib

    assert osm_in["sha256"] == hashlib.sha256(demo_pbf.read_bytes()).hexdigest()
    lines = build.attribution(folder)
    assert any("OpenStreetMap contributors" in x for x in lines)
    assert any("Code-Point Open" in x for x in lines)
    pcs = datasets.postcodes(folder)
    assert pcs.loc["N227AY", "easting"] == datasets.postcodes(DATA).loc["N227AY", "easting"]


def test_xml_and_pbf_reads_agree(demo_pbf: Path) -> None:
    a = area_osm.read_highways(datasets.osm_path(DATA))
    b = area_osm.read_highways(demo_pbf)
    assert np.array_equal(a.way_id, b.way_id) and np.array_equal(a.node_id, b.node_id)
    assert np.array_equal(a.lon, b.lon) and a.way_tags == b.way_tags


def test_clip_keeps_ways_touching_the_boundary(demo_pbf: Path) -> None:
    area = datasets.demo_area(DATA)
    small = area.centroid.buffer(300)
    ways = area_osm.read_highways(demo_pbf, clip=small)
    full = area_osm.read_highways(demo_pbf)
    assert 0 < ways.n_ways < full.n_ways


def test_gias_reader_keeps_open_secondaries() -> None:
    sch, layouts = inputs.read_schools([HERE / "data" / "gias_sample.csv"])
    assert set(layouts.values()) == {"gias"}
    assert sorted(sch["urn"]) == ["900001", "900002", "900005"]
    row = sch.set_index("urn").loc["900001"]
    assert row["phase"] == "Secondary" and row["pupils"] == "1100"
    assert 51.5 < float(row["latitude"]) < 51.7 and -0.2 < float(row["longitude"]) < 0.0


def test_ks4_restricts_a_list_without_status(tmp_path: Path) -> None:
    roots = (DATA.parent.parent / "shared", DATA.parent.parent.parent / "shared")
    shared = next((r / "data" / "schools" for r in roots if r.exists()), Path("absent"))
    if not shared.exists():
        pytest.skip("../shared/data is not present")
    sch, _ = inputs.read_schools(
        [shared / "secondary_schools_north_london.csv", shared / "ks4_school_info_2024.csv"]
    )
    bundled = datasets.schools(DATA)
    assert set(sch["urn"]) == set(bundled["urn"])


def test_postcode_layouts() -> None:
    pcs, layout = inputs.read_postcodes(HERE / "data" / "onspd_sample.csv")
    assert layout == "onspd"
    assert sorted(pcs["postcode"]) == ["N11 9ZZ", "N22 1XX", "N22 7AY"]  # grid ind. 9 dropped
    assert pcs.set_index("postcode").loc["N11 9ZZ", "district"] == "E09000010"
    cp, layout = inputs.read_postcodes(HERE / "data" / "codepoint_n.csv")
    assert layout == "codepoint" and list(cp["easting"]) == [530651, 529400]
    bundled, layout = inputs.read_postcodes(DATA / "postcodes" / "codepoint_n_en.csv.gz")
    assert layout == "geosafe" and len(bundled) == len(datasets.postcodes(DATA))


def test_unknown_schools_layout_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    pd.DataFrame({"a": [1]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="not a known layout"):
        inputs.read_schools([bad])


def test_cli_build_and_journeys_with_area(
    area: tuple[Path, dict],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, _ = area
    monkeypatch.setenv("GEOSAFE_AREA", str(folder))
    roll = tmp_path / "roll.csv"
    roll.write_text("postcode\nN22 7AY\nN11 1AA\n")
    out = tmp_path / "j.geojson"
    urn = datasets.schools(folder, demo_only=True).sort_values("name")["urn"].iloc[0]
    monkeypatch.chdir(tmp_path)  # no store here: exposure is not computed (a warning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        code = main(
            [
                "journeys",
                "--area",
                str(folder),
                "--school",
                str(urn),
                "--postcodes",
                str(roll),
                "--mode",
                "walk",
                "--arrive-by",
                "08:40",
                "--date",
                "2025-03-04",
                "--out",
                str(out),
            ]
        )
    assert code == 0
    assert json.loads(out.read_text())["type"] == "FeatureCollection"


def test_onspd_area_knows_newer_postcodes(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from geosafe.geocode.postcodes import lookup_postcodes

    bnd = tmp_path / "lad.geojson"
    gpd.GeoDataFrame(
        {"LAD24CD": ["E09000014"], "LAD24NM": ["Haringey (part)"]},
        geometry=[box(529000, 190500, 531000, 192500)],
        crs=27700,
    ).to_file(bnd)
    out = tmp_path / "area"
    s = build.build_area(
        out,
        osm_file=datasets.osm_path(DATA),
        boundary=bnd,
        margin_m=0,
        postcodes=HERE / "data" / "onspd_sample.csv",
        schools=[HERE / "data" / "gias_sample.csv"],
    )
    assert s.postcodes == 3 and s.schools == 2  # the Enfield school lies outside
    man = build.read_manifest(out)
    assert [i["layout"] for i in man["inputs"] if i["kind"] == "postcodes"] == ["onspd"]
    assert any("Office for National Statistics" in x for x in build.attribution(out))
    found = lookup_postcodes(["N11 9ZZ", "N22 7AY"], data_dir=out)
    assert found["reason_code"].isna().all()  # N11 9ZZ (introduced 2023) is known
    assert datasets.boroughs(out)["name"].tolist() == ["Haringey (part)"]

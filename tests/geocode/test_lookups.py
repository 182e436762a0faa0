"""Postcodes, stop codes, wards and routes against the bundled reference files read directly."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest
from shapely.geometry import LineString

from geosafe.geocode.postcodes import lookup_postcodes, normalise_postcode
from geosafe.geocode.stops import lookup_stops


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("n22 7ay", "N22 7AY"),
        ("N227AY", "N22 7AY"),
        ("  en5   1aa ", "EN5 1AA"),
        ("W1A 0AX", "W1A 0AX"),
        ("N22", None),
        ("N22 7A", None),
        ("22N 7AY", None),
        ("N22 7CY", None),  # C is not used in inward codes
        ("", None),
    ],
)
def test_normalise_postcode(raw, norm):
    assert normalise_postcode(raw) == norm


def _codepoint(data_dir, postcode):
    with gzip.open(data_dir / "postcodes" / "codepoint_n_en.csv.gz", "rt") as f:
        df = pd.read_csv(f, dtype=str)
    row = df[df["postcode"].str.replace(" ", "") == postcode.replace(" ", "")].iloc[0]
    return float(row["easting"]), float(row["northing"])


def test_postcode_lookup(data_dir, geocoder):
    e, n = _codepoint(data_dir, "N22 7AY")
    got = lookup_postcodes(["n22 7ay", "N22", "E1 6AN", ""], data_dir=str(data_dir))
    assert (got.loc[0, "easting"], got.loc[0, "northing"]) == (e, n)
    assert list(got["reason_code"]) == [None, "postcode_malformed", "postcode_unknown", None]
    r = geocoder.from_postcode("n227ay")
    assert r.ok and r.method == "postcode" and r.precision_m == 100
    assert (r.geometry.x, r.geometry.y) == (e, n)
    bad = geocoder.from_postcode("N22")
    assert bad.reason_code == "postcode_malformed" and "'N22'" in bad.reason


def test_stop_lookup(data_dir, geocoder):
    stops = pd.read_csv(data_dir / "tfl" / "bus_stops.csv.gz", dtype=str)
    row = stops[stops["Naptan_Atco"] == "490000028C"].iloc[0]  # Bounds Green Station
    xy = (float(row["Location_Easting"]), float(row["Location_Northing"]))
    got = lookup_stops(["490000028c", row["Stop_Code_LBSL"], row["Bus_Stop_Code"], "4909999"])
    assert list(got["reason_code"]) == [None, None, "stop_code_sms", "stop_code_unknown"]
    assert (got.loc[0, "easting"], got.loc[0, "northing"]) == xy
    assert (got.loc[1, "easting"], got.loc[1, "northing"]) == xy
    r = geocoder.from_stop_code(" 490000028C ")
    assert r.method == "stop" and r.precision_m == 30 and (r.geometry.x, r.geometry.y) == xy
    assert geocoder.from_stop_code(row["Bus_Stop_Code"]).reason_code == "stop_code_sms"


def test_wards(data_dir, geocoder):
    import geopandas as gpd

    wards = gpd.read_file(data_dir / "boundaries" / "boundaries.gpkg", layer="wards_2018")
    bg = wards[wards["name"] == "Bounds Green"]
    assert len(bg) == 1
    r = geocoder.from_ward("bounds green")
    assert r.method == "ward" and r.precision_m == 1000
    assert bg.geometry.iloc[0].contains(r.geometry)
    code = geocoder.from_ward(bg["gss_code"].iloc[0])
    assert code.geometry.equals(r.geometry)
    # Woodside: Haringey (demo area, preferred) and Croydon
    assert geocoder.from_ward("Woodside").place == "Woodside, Haringey"
    assert geocoder.from_ward("Woodside, Croydon").place == "Woodside, Croydon"
    assert geocoder.from_ward("Woodside (Croydon)").place == "Woodside, Croydon"
    amb = geocoder.from_ward("Fairfield")  # Croydon and Wandsworth, neither preferred
    assert amb.reason_code == "ward_unknown" and "ambiguous" in amb.reason
    assert geocoder.from_ward("Narnia").reason_code == "ward_unknown"


def test_route_stretch(data_dir, geocoder):
    seq = pd.read_csv(data_dir / "tfl" / "bus_sequences.csv", dtype=str)
    run = seq[(seq["Route"] == "184") & (seq["Run"] == "1")].copy()
    run["Sequence"] = run["Sequence"].astype(int)
    run = run.sort_values("Sequence").reset_index(drop=True)
    a = run.index[run["Naptan_Atco"] == "490000028C"][0]  # Bounds Green Station
    b = run.index[run["Naptan_Atco"] == "490000009W"][0]  # Arnos Grove Station
    expected = LineString(
        run.loc[a:b, ["Location_Easting", "Location_Northing"]].astype(float).to_numpy()
    )
    r = geocoder.from_route("184", direction=1, from_stop="490000028C", to_stop="490000009W")
    assert r.method == "route"
    assert r.geometry.length == pytest.approx(expected.length)
    assert r.precision_m == pytest.approx(expected.length / 2)
    # without a direction, the run where the stops are in order (run 2 stops face the other way)
    rev = geocoder.from_route("184", from_stop="490000009A", to_stop="490000028D")
    assert rev.place == "route 184 run 2"
    wrong = geocoder.from_route("184", direction=1, from_stop="490000009W", to_stop="490000028C")
    assert wrong.method == "none" and "not in that order" in wrong.reason
    whole = geocoder.from_route("184", direction=1)
    from geosafe import datasets

    assert whole.geometry.within(datasets.demo_area(data_dir).buffer(1e-6))
    none = geocoder.from_route("999")
    assert none.ok and none.method == "none" and "999" in none.reason


def test_stop_at_zero_zero_is_a_known_stop_without_position(tmp_path, data_dir):
    """TfL's list has stops at (0, 0): their 2019 sequence position is used, else no place."""
    import shutil

    from geosafe.geocode import Geocoder

    (tmp_path / "tfl").mkdir()
    shutil.copy(data_dir / "tfl" / "bus_sequences.csv", tmp_path / "tfl" / "bus_sequences.csv")
    stops = pd.read_csv(data_dir / "tfl" / "bus_stops.csv.gz", dtype=str, keep_default_na=False)
    seq = pd.read_csv(data_dir / "tfl" / "bus_sequences.csv", dtype=str, keep_default_na=False)
    in_seq = stops[stops["Naptan_Atco"].isin(set(seq["Naptan_Atco"]))].index[0]
    not_in_seq = stops[~stops["Naptan_Atco"].isin(set(seq["Naptan_Atco"]))].index[0]
    stops.loc[[in_seq, not_in_seq], ["Location_Easting", "Location_Northing"]] = "0"
    stops.to_csv(tmp_path / "tfl" / "bus_stops.csv.gz", index=False)
    g = Geocoder(tmp_path)
    a = g.from_stop_code(stops.loc[in_seq, "Naptan_Atco"])
    ref = seq[seq["Naptan_Atco"] == stops.loc[in_seq, "Naptan_Atco"]].iloc[0]
    assert a.method == "stop"
    assert (a.geometry.x, a.geometry.y) == (
        float(ref["Location_Easting"]),
        float(ref["Location_Northing"]),
    )
    b = g.from_stop_code(stops.loc[not_in_seq, "Naptan_Atco"])
    assert b.ok and b.method == "none" and "no position" in b.reason

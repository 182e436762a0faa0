"""The synthetic generator: determinism, formats, time profile, places, dirty share.

References are the bundled files read directly (TfL stops and sequences, Code-Point Open,
schools, wards) and DESIGN.md's column lists, not the generator's own tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geosafe import calendar, synth
from geosafe.cli import main

# DESIGN.md "Import formats", copied by hand
DESIGN_COLUMNS = {
    "dir": "dir_ref, reported_at, route, direction, operator, stop_code, latitude, longitude, "
    "cause_code, youth_flag, vulnerability_flag, description",
    "asif": "asif_ref, occurred_at, route, location_type, stop_code, station, reporter, category, "
    "description",
    "cris": "crn, offence_code, offence, committed_from, committed_to, address, postcode, easting, "
    "northing, victim_age, suspect_age, flags",
    "fap": "referral_id, referral_date, school_urn, year_group, gender, ethnicity, home_postcode, "
    "ward, flag_cse, flag_serious_youth_violence, flag_gangs, flag_harmful_sexual_behaviour, "
    "flag_missing_education, flag_childrens_social_care, flag_domestic_abuse, "
    "flag_sexual_bullying, flag_missing_home, notes_peer_group, notes_school, "
    "notes_neighbourhood, school_response",
}
TIME_COL = {"dir": "reported_at", "asif": "occurred_at", "cris": "committed_from"}


def _read(result, source) -> pd.DataFrame:
    return pd.read_csv(result.files[source], dtype=str, keep_default_na=False)


def _dirty_rows(result) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {s: set() for s in DESIGN_COLUMNS}
    with (result.out_dir / "dirty_rows.csv").open() as f:
        for r in csv.DictReader(f):
            out[r["file"].removesuffix(".csv")].add(int(r["row"]))
    return out


def _clean(result, source) -> pd.DataFrame:
    df = _read(result, source)
    bad = _dirty_rows(result)[source]
    return df[~(df.index + 1).isin(bad)]


@pytest.mark.parametrize("source", list(DESIGN_COLUMNS))
def test_header_is_the_documented_format(synth_dir, source):
    with synth_dir.files[source].open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    # the documented columns, then the optional person columns every format accepts
    assert header == [c.strip() for c in DESIGN_COLUMNS[source].split(",")] + [
        "person_ref",
        "person_role",
    ]


def test_header_matches_ingest_readers(synth_dir):
    sources = pytest.importorskip("geosafe.sources")
    for source in DESIGN_COLUMNS:
        assert list(synth.COLUMNS[source]) == [c.name for c in sources.columns(source)]


def test_marked_synthetic(synth_dir):
    readme = (synth_dir.out_dir / "README-SYNTHETIC.md").read_text()
    assert "SYNTHETIC" in readme
    for source in DESIGN_COLUMNS:
        df = _read(synth_dir, source)
        assert df.iloc[:, 0].str.startswith("SYN-").all()


def test_volumes(synth_dir):
    rows = {s: len(_read(synth_dir, s)) for s in DESIGN_COLUMNS}
    assert 2000 <= sum(rows.values()) <= 5000
    assert rows == synth_dir.rows


def test_deterministic_by_seed(tmp_path, data_dir):
    a, da = synth.generate(seed=5, months=2, end="2025-03", data_dir=data_dir)
    b, db = synth.generate(seed=5, months=2, end="2025-03", data_dir=data_dir)
    c, _ = synth.generate(seed=6, months=2, end="2025-03", data_dir=data_dir)
    assert a == b and da == db
    assert a["dir"] != c["dir"]


@pytest.mark.parametrize("source", ["dir", "asif", "cris"])
def test_timestamps_and_school_run_peaks(synth_dir, source):
    df = _clean(synth_dir, source)
    ts = pd.to_datetime(df[TIME_COL[source]], format="%Y-%m-%d %H:%M")  # strict: raises if not
    assert ts.min() >= pd.Timestamp("2024-08-01") and ts.max() < pd.Timestamp("2025-08-01")
    school = calendar.default_calendar().school_day_mask(ts.dt.date.to_numpy())
    minutes = ts.dt.hour * 60 + ts.dt.minute
    in_peak = ((minutes >= 8 * 60) & (minutes < 9 * 60)) | (
        (minutes >= 15 * 60) & (minutes < 17 * 60 + 30)
    )
    a = int((in_peak & school).sum())
    b = int((~in_peak & school).sum())
    c = int((in_peak & ~school).sum())
    d = int((~in_peak & ~school).sum())
    # the peaks (3.5 h of 24) hold far more than their share of school-day rows...
    share = a / (a + b)
    assert share > 0.5
    assert stats.binomtest(a, a + b, p=3.5 / 24, alternative="greater").pvalue < 1e-12
    # ...and clearly more than on other days
    assert stats.fisher_exact([[a, b], [c, d]], alternative="greater").pvalue < 1e-6
    # school days carry most rows although they are ~half the days
    assert school.mean() > 0.5


def test_fap_dates_are_school_days(synth_dir):
    df = _clean(synth_dir, "fap")
    days = pd.to_datetime(df["referral_date"], format="%Y-%m-%d").dt.date.to_numpy()
    assert calendar.default_calendar().school_day_mask(days).all()


def test_dirty_share_within_bounds(synth_dir):
    dirty = _dirty_rows(synth_dir)
    for source, rows in synth_dir.rows.items():
        share = len(dirty[source]) / rows
        assert 0.015 <= share <= 0.035 or len(dirty[source]) == 1, (source, share)
    total = sum(len(v) for v in dirty.values()) / sum(synth_dir.rows.values())
    assert 0.02 <= total <= 0.03


def test_clean_rows_use_real_stops_routes_postcodes_schools(synth_dir, data_dir):
    stops = pd.read_csv(data_dir / "tfl" / "bus_stops.csv.gz", dtype=str, keep_default_na=False)
    seq = pd.read_csv(data_dir / "tfl" / "bus_sequences.csv", dtype=str, keep_default_na=False)
    atco_to_routes = seq.groupby("Naptan_Atco")["Route"].agg(set).to_dict()
    lbsl_to_atco = dict(zip(stops["Stop_Code_LBSL"], stops["Naptan_Atco"], strict=True))
    dir_ = _clean(synth_dir, "dir")
    with_stop = dir_[dir_["stop_code"] != ""]
    assert len(with_stop) > 0.5 * len(dir_)
    for code, route in zip(with_stop["stop_code"], with_stop["route"], strict=True):
        atco = code if code.startswith("490") else lbsl_to_atco[code]
        assert route in atco_to_routes[atco], (code, route)
    cp = pd.read_csv(data_dir / "postcodes" / "codepoint_n_en.csv.gz", dtype=str)
    known = set(cp["postcode"])
    assert set(_clean(synth_dir, "cris")["postcode"]) <= known
    fap = _clean(synth_dir, "fap")
    assert set(fap["home_postcode"]) <= known
    schools = pd.read_csv(data_dir / "schools" / "schools.csv", dtype=str)
    demo = set(schools.loc[schools["in_demo_area"] == "1", "urn"])
    assert set(fap["school_urn"]) <= demo


def test_fap_home_near_school_and_ward_matches(synth_dir, data_dir):
    fap = _clean(synth_dir, "fap")
    cp = pd.read_csv(data_dir / "postcodes" / "codepoint_n_en.csv.gz", dtype=str).set_index(
        "postcode"
    )
    schools = pd.read_csv(data_dir / "schools" / "schools.csv", dtype=str).set_index("urn")
    sch = gpd.GeoSeries(
        gpd.points_from_xy(
            schools.loc[fap["school_urn"], "longitude"].astype(float),
            schools.loc[fap["school_urn"], "latitude"].astype(float),
        ),
        crs=4326,
    ).to_crs(27700)
    home = gpd.GeoSeries(
        gpd.points_from_xy(
            cp.loc[fap["home_postcode"], "easting"].astype(float),
            cp.loc[fap["home_postcode"], "northing"].astype(float),
        ),
        crs=27700,
    )
    assert (home.distance(sch, align=False) <= 2500 + 1).all()
    wards = gpd.read_file(data_dir / "boundaries" / "boundaries.gpkg", layer="wards_2018")
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=home), wards, predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    expected = joined["name"].fillna("").to_numpy()
    assert (fap["ward"].to_numpy() == expected).all()


def test_flag_values_and_rates(synth_dir):
    dir_ = _clean(synth_dir, "dir")
    assert set(dir_["youth_flag"]) <= {"Y", "N", ""}  # blank: not recorded (BLANK_FLAGS)
    recorded = dir_[dir_["youth_flag"] != ""]
    youth = (recorded["youth_flag"] == "Y").mean()
    assert 0.25 < youth < 0.6
    assert 0.05 < (dir_["youth_flag"] == "").mean() < 0.40
    fap = _clean(synth_dir, "fap")
    for col in synth.FAP_FLAG_RATES:
        assert set(fap[col]) <= {"Y", "N", ""}
    cris = _clean(synth_dir, "cris")
    allowed = {"youth", "gang", "domestic", "sexual", "weapon", "hate", "online"}
    for flags in cris["flags"]:
        assert set(filter(None, flags.split(";"))) <= allowed | {"none"}
    weapon = cris[cris["offence_code"] == "POSS_WEAPON"]["flags"]
    assert weapon.str.contains("weapon").all()


def test_fap_notes_name_real_places_sometimes(synth_dir, geocoder_for_synth):
    fap = _clean(synth_dir, "fap")
    placed = [geocoder_for_synth.from_notes(t).located for t in fap["notes_neighbourhood"]]
    share = float(np.mean(placed))
    # 30% of notes name nothing and 15% carry a negation; most of the rest must be found
    assert 0.4 < share < 0.8


@pytest.fixture(scope="module")
def geocoder_for_synth(data_dir):
    from geosafe.geocode import Geocoder

    return Geocoder(data_dir)


def test_cli(tmp_path, data_dir, capsys):
    rc = main(["synth", "--out", str(tmp_path), "--seed", "3", "--months", "1", "--end", "2025-03"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["synthetic"] is True and out["rows"]["dir"] == 100
    assert (tmp_path / "README-SYNTHETIC.md").exists()
    assert main(["synth", "--out", str(tmp_path), "--seed", "3", "--end", "2025/03"]) == 2


def test_dirty_rows_are_really_defective(synth_dir):
    """Each listed defect is visible in the row, checked with plain parsing."""
    dfs = {s: _read(synth_dir, s) for s in DESIGN_COLUMNS}
    with (synth_dir.out_dir / "dirty_rows.csv").open() as f:
        listed = list(csv.DictReader(f))
    assert listed
    for r in listed:
        source = r["file"].removesuffix(".csv")
        row = dfs[source].iloc[int(r["row"]) - 1]
        defect = r["defect"]
        if defect == "swapped_latlon":
            assert abs(float(row["latitude"])) < 1 and float(row["longitude"]) > 51
        elif defect == "bng_in_latlon":
            assert float(row["latitude"]) > 100_000 and float(row["longitude"]) > 100_000
        elif defect in ("zero_latlon", "zero_en"):
            cols = ("latitude", "longitude") if defect == "zero_latlon" else ("easting", "northing")
            assert float(row[cols[0]]) == 0 == float(row[cols[1]])
        elif defect == "ddmm_date":
            col = {"dir": "reported_at", "asif": "occurred_at", "cris": "committed_from"}.get(
                source, "referral_date"
            )
            assert row[col][2] == "/" and row[col][5] == "/"
        elif defect == "impossible_date":
            with pytest.raises(ValueError):
                dt.datetime.strptime(row["reported_at"], "%Y-%m-%d %H:%M")
        elif defect == "ref_conflict":
            ref = synth.COLUMNS[source][0]
            assert (dfs[source][ref] == row[ref]).sum() == 2


def test_ingest_quarantines_exactly_the_dirty_rows(synth_dir):
    """Cross-check with the ingest readers: clean rows are accepted, listed defects are not."""
    ingest = pytest.importorskip("geosafe.ingest")
    dirty = _dirty_rows(synth_dir)
    for source in DESIGN_COLUMNS:
        gdf = ingest.read_incidents(source, [synth_dir.files[source]], with_location=False)
        assert len(gdf) == synth_dir.rows[source] - len(dirty[source]), source
        refs = set(gdf["source_ref"])
        df = _read(synth_dir, source)
        clean_refs = set(df[~(df.index + 1).isin(dirty[source])].iloc[:, 0])
        assert refs == clean_refs


def test_school_stops_cluster_in_the_school_run(synth_dir, data_dir):
    """DIR rows at stops within 400 m of a demo-area school are more common in the peaks."""
    stops = pd.read_csv(data_dir / "tfl" / "bus_stops.csv.gz", dtype=str, keep_default_na=False)
    schools = pd.read_csv(data_dir / "schools" / "schools.csv", dtype=str)
    schools = schools[schools["in_demo_area"] == "1"]
    sch = (
        gpd.GeoSeries(
            gpd.points_from_xy(
                schools["longitude"].astype(float), schools["latitude"].astype(float)
            ),
            crs=4326,
        )
        .to_crs(27700)
        .union_all()
    )
    xy = {
        code: (float(e), float(n))
        for a, lb, e, n in zip(
            stops["Naptan_Atco"],
            stops["Stop_Code_LBSL"],
            stops["Location_Easting"],
            stops["Location_Northing"],
            strict=True,
        )
        for code in (a, lb)
    }
    df = _clean(synth_dir, "dir")
    df = df[df["stop_code"] != ""]
    ts = pd.to_datetime(df["reported_at"], format="%Y-%m-%d %H:%M")
    minutes = ts.dt.hour * 60 + ts.dt.minute
    peak = (((minutes >= 480) & (minutes < 540)) | ((minutes >= 900) & (minutes < 1050))).to_numpy()
    from shapely.geometry import Point

    near = np.array([Point(*xy[c]).distance(sch) <= 400 for c in df["stop_code"]])
    table = [[int((near & peak).sum()), int((~near & peak).sum())],
             [int((near & ~peak).sum()), int((~near & ~peak).sum())]]  # fmt: skip
    assert stats.fisher_exact(table, alternative="greater").pvalue < 1e-6


def test_people_recur_across_sources_and_schools(synth_dir):
    """Synthetic person references: repeat young people across sources and schools, and
    peer groups (several people on one row)."""
    dfs = {s: _clean(synth_dir, s) for s in DESIGN_COLUMNS}
    seen: dict[str, set[str]] = {}
    for source, df in dfs.items():
        for refs in df["person_ref"]:
            for ref in filter(None, refs.split(";")):
                assert ref.startswith("SYN-P-")
                seen.setdefault(ref, set()).add(source)
    assert len(seen) > 100
    assert sum(len(v) >= 2 for v in seen.values()) > 20
    assert (dfs["dir"]["person_ref"].str.count(";") >= 1).sum() > 10
    fap = dfs["fap"]
    assert (fap["person_ref"] != "").mean() > 0.9
    schools = fap.groupby("person_ref")["school_urn"].nunique()
    assert 0 < (schools > 1).sum() < 10  # a few managed moves

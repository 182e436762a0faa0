"""The readers, one per format, and the file-level behaviour shared by all of them."""

from __future__ import annotations

import csv
import gzip

import openpyxl
import pytest
from pyproj import Transformer

from geosafe import sources
from geosafe._errors import ImportFileError
from geosafe.incident import FRAME_COLUMNS

from .conftest import reasons, settings

TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


def test_dir_reader(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("dir", "dir_good.csv")
    assert (result.rows, result.accepted, result.quarantined, result.no_location) == (4, 4, 0, 1)
    inc = store.incidents(sources=["dir"], with_location=False).set_index("source_ref")
    assert list(store.incidents().columns) == list(FRAME_COLUMNS)
    one = inc.loc["DIR-1"]
    assert one["geocode_method"] == "stop" and one["precision_m"] == 30
    assert one["flags"] == ("youth",) and one["category"] == "ASB"
    assert one["occurred_from"].isoformat() == "2025-01-13T15:42:00+00:00"
    two = inc.loc["DIR-2"]
    assert two["geocode_method"] == "coordinates" and two["category"] == "ASSAULT"
    x, y = TO_BNG.transform(-0.1245, 51.6070)
    assert two["geometry"].distance(__import__("shapely").Point(x, y)) < 0.01
    assert two["detail"]["description"] == 'Driver spat at, "again"'
    # a bus incident with only a route is the stretch of route in the area (a line)
    three = inc.loc["DIR-3"]
    assert three["geocode_method"] == "route" and three["geometry"].geom_type == "LineString"
    assert inc.loc["DIR-4", "geocode_method"] == "none" and inc.loc["DIR-4", "geometry"] is None


def test_asif_reader(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("asif", "asif_good.csv")
    assert (result.accepted, result.no_location) == (4, 1)
    inc = store.incidents(sources=["asif"], with_location=False).set_index("source_ref")
    assert inc.loc["ASIF-1", "geocode_method"] == "stop"
    assert inc.loc["ASIF-1", "category"] == "MISSILE"
    assert inc.loc["ASIF-2", "geocode_method"] == "route"
    assert inc.loc["ASIF-3", "geocode_method"] == "place"  # Bounds Green station, gazetteer
    assert inc.loc["ASIF-4", "geocode_method"] == "none"  # a station name we do not know


def test_cris_reader(imp, store) -> None:  # type: ignore[no-untyped-def]
    imp("cris", "cris_good.csv")
    inc = store.incidents(sources=["cris"], with_location=False).set_index("source_ref")
    one = inc.loc["CRIS-1"]
    assert one["geocode_method"] == "coordinates"
    assert (one["geometry"].x, one["geometry"].y) == (529850, 191530)
    assert one["flags"] == ("weapon", "youth") and one["category"] == "ROBP"
    assert (one["occurred_to"] - one["occurred_from"]).total_seconds() == 15 * 60
    two = inc.loc["CRIS-2"]
    assert two["geocode_method"] == "postcode" and two["time_precision"] == "day"
    assert (two["occurred_to"] - two["occurred_from"]).days == 1
    assert inc.loc["CRIS-3", "geocode_method"] == "none"


def test_fap_home_postcode_is_not_the_location(imp, store) -> None:  # type: ignore[no-untyped-def]
    from geosafe import datasets

    imp("fap", "fap_good.csv")
    inc = store.incidents(sources=["fap"], with_location=False).set_index("source_ref")
    one = inc.loc["FAP-1"]
    home = datasets.postcodes().loc["N227AY"]
    # a referral is not an incident at a place (issue 12): the place its notes name
    # ("outside Bounds Green station") is kept as a place named in the referral
    assert one["geocode_method"] == "none" and one["geometry"] is None
    named = one["detail"]["note_places"]
    assert [p["place"] for p in named] == ["Bounds Green Station"]
    station = __import__("shapely").Point(named[0]["x"], named[0]["y"])
    assert station.distance(__import__("shapely").Point(home.easting, home.northing)) > 300
    assert one["detail"]["home_postcode"] == "N22 7AY"
    assert one["detail"]["journey_origin"] == {"x": home.easting, "y": home.northing}
    assert one["school_urn"] == "136397"
    assert set(one["flags"]) == {"serious_youth_violence", "gangs", "childrens_social_care"}
    # notes naming no place: no location, never the home postcode
    assert inc.loc["FAP-2", "geometry"] is None and inc.loc["FAP-2", "geocode_method"] == "none"


def test_police_reader_updates_and_history(imp, store) -> None:  # type: ignore[no-untyped-def]
    jan = imp("police_uk", "police_jan.csv")
    assert (jan.rows, jan.accepted, jan.quarantined, jan.no_location) == (6, 5, 1, 1)
    assert reasons(store, jan.batch_id) == {3: "duplicate_row"}
    # two identical anti-social behaviour rows with blank Crime ID: no ref check, both kept
    inc = store.incidents(sources=["police_uk"], with_location=False)
    assert (inc["category"] == "Anti-social behaviour").sum() == 2
    assert inc["occurred_from"].iloc[0].isoformat() == "2024-01-01T00:00:00+00:00"
    assert inc["occurred_to"].iloc[0].isoformat() == "2024-02-01T00:00:00+00:00"
    feb = imp("police_uk", "police_feb.csv")
    assert (feb.accepted, feb.updated, feb.quarantined) == (1, 1, 1)
    assert reasons(store, feb.batch_id) == {2: "duplicate_row"}
    now = store.incidents(sources=["police_uk"], with_location=False).set_index("source_ref")
    a = now.loc["aaaa" + "0" * 59 + "1"]
    assert a["detail"]["last_outcome"] == "Investigation complete; no suspect identified"
    assert len(now) == 5  # the update replaced, not added
    hist = store.incidents(sources=["police_uk"], include_history=True, with_location=False)
    assert len(hist) == 6
    # rolling back February brings January's version back
    store.rollback(feb.batch_id)
    back = store.incidents(sources=["police_uk"], with_location=False).set_index("source_ref")
    assert back.loc["aaaa" + "0" * 59 + "1", "detail"]["last_outcome"] == "Under investigation"


def test_police_point_precision_and_h3(imp, store) -> None:  # type: ignore[no-untyped-def]
    import h3

    imp("police_uk", "police_jan.csv")
    row = store.incidents(sources=["police_uk"]).iloc[0]
    assert row["geocode_method"] == "police_uk" and row["precision_m"] == 100
    # 100 m -> resolution 9 (edge ~201 m), the finest whose edge is >= 100 m
    assert row["h3_cell"] == h3.latlng_to_cell(51.607012, -0.124501, 9)


@pytest.mark.parametrize("fmt", ["gz", "xlsx", "bom"])
def test_gz_xlsx_and_bom(imp, store, data, tmp_path, fmt) -> None:  # type: ignore[no-untyped-def]
    src = data / "dir_good.csv"
    if fmt == "gz":
        path = tmp_path / "dir.csv.gz"
        path.write_bytes(gzip.compress(src.read_bytes()))
    elif fmt == "xlsx":
        path = tmp_path / "dir.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        for row in csv.reader(src.read_text().splitlines()):
            ws.append(row)
        wb.save(path)
    else:
        path = data / "dir_bom.csv"
    result = imp("dir", path)
    assert result.quarantined == 0
    assert result.rows == (1 if fmt == "bom" else 4)


def test_xlsx_real_dates_are_accepted(imp, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    path = tmp_path / "dir.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([c.name for c in sources.columns("dir") if not c.optional])
    ws.append(
        [
            "X-1",
            dt.datetime(2025, 1, 13, 15, 42),
            "W3",
            1,
            "Arriva",
            "490000252S",
            None,
            None,
            "ASB",
            "Y",
            "N",
            "typed cells",
        ]
    )
    wb.save(path)
    result = imp("dir", path)
    assert result.accepted == 1
    inc = store.incidents(sources=["dir"]).iloc[0]
    assert inc["occurred_from"].isoformat() == "2025-01-13T15:42:00+00:00"


def test_column_map(imp, store, data) -> None:  # type: ignore[no-untyped-def]
    from geosafe.sources._read import load_column_map

    with pytest.raises(ImportFileError, match="dir_ref"):
        imp("dir", "dir_local_names.csv")
    cmap = load_column_map(data / "dir_column_map.json", "dir")
    assert imp("dir", "dir_local_names.csv", column_map=cmap).accepted == 1
    # the same through settings
    store.rollback(store.batches()[-1].batch_id)
    via = imp("dir", "dir_local_names.csv", settings=settings(column_maps={"dir": cmap}))
    assert via.accepted == 1


@pytest.mark.parametrize(
    ("name", "source", "match"),
    [
        ("dir_missing_column.csv", "dir", "lacks the column.*'description'"),
        ("dir_renamed_column.csv", "dir", "'description'.*incident_description"),
        ("dir_duplicated_column.csv", "dir", "'route' appears twice"),
        ("police_missing_context.csv", "police_uk", "'Context'"),
    ],
)
def test_header_drift_rejects_the_file(imp, store, name, source, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImportFileError, match=match):
        imp(source, name)
    assert store.batches(include_aborted=True) == []
    assert len(store.incidents(with_location=False)) == 0


@pytest.mark.parametrize("source", ["dir", "asif", "cris", "fap", "police-uk"])
def test_template_imports_cleanly(imp, store, tmp_path, source) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{source}.csv"
    path.write_text(sources.template_csv(source), newline="")
    rows = list(csv.reader(path.read_text().splitlines()))
    assert len(rows) == 2 and rows[1][0].startswith("EXAMPLE-")
    result = imp(source, path)
    assert (result.rows, result.accepted, result.quarantined) == (1, 1, 0)
    doc = sources.describe(source)
    for col in sources.columns(source):
        assert f"`{col.name}`" in doc
    assert "time_nonexistent" in doc


def test_read_incidents_without_a_store(data) -> None:  # type: ignore[no-untyped-def]
    from geosafe.ingest import read_incidents

    files = [data / "police_jan.csv", data / "police_feb.csv"]
    gdf = read_incidents("police-uk", files, with_location=False)
    assert list(gdf.columns) == list(FRAME_COLUMNS) and gdf.crs.to_epsg() == 27700
    assert len(gdf) == 5  # 6 + 2 rows read, 2 duplicates dropped, 1 update replaces
    assert len(read_incidents("police-uk", files)) == 4  # without the row with no location
    a = gdf.set_index("source_ref").loc["aaaa" + "0" * 59 + "1"]
    assert a["detail"]["last_outcome"].startswith("Investigation complete")
    dirs = read_incidents("dir", data / "dir_coords.csv")
    assert list(dirs["source_ref"]) == ["C-OK"]


def test_unreadable_files(imp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImportFileError, match="not a file"):
        imp("dir", tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ImportFileError, match="empty"):
        imp("dir", empty)
    bad_gz = tmp_path / "bad.csv.gz"
    bad_gz.write_bytes(b"not gzip at all")
    with pytest.raises(ImportFileError, match="gzip"):
        imp("police_uk", bad_gz)


def test_police_reordered_and_renamed_columns(imp, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "reordered.csv"
    path.write_text(
        "Month,Latitude,Longitude,crime_id,Reported by,Falls within,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context\n"
        "2024-01,51.607012,-0.124501,id-1,MPS,MPS,On or near A Road,E01002061,Haringey 010B,"
        "Burglary,,\n"
        "2024-01,0,0,id-2,MPS,MPS,On or near B Road,E01002061,Haringey 010B,Burglary,,\n"
    )
    result = imp("police_uk", path, column_map={"crime_id": "Crime ID"})
    assert (result.accepted, result.quarantined) == (1, 1)
    inc = store.incidents().iloc[0]
    assert inc["source_ref"] == "id-1" and abs(inc["lat"] - 51.607012) < 1e-9
    (q,) = store.quarantine(result.batch_id)
    assert q.reason_code == "coord_zero"
    assert q.raw["crime_id"] == "id-2" and q.raw["Location"] == "On or near B Road"
    assert q.raw["Month"] == "2024-01"


POLICE_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)


def test_police_ragged_rows_bad_bytes_and_bom(imp, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = (
        "2024-01,MPS,MPS,-0.124501,51.607012,On or near A Road,E01002061,Haringey 010B,Burglary,,"
    )
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(f"{POLICE_HEADER}\np1,{good}\np2,{good},extra\np3,{good}\n")
    r = imp("police_uk", ragged)
    assert (r.rows, r.accepted) == (3, 2)
    assert reasons(store, r.batch_id) == {2: "row_field_count"}
    bad = tmp_path / "bytes.csv"
    bad.write_bytes(
        b"\xef\xbb\xbf"
        + f"{POLICE_HEADER}\nb1,{good}\n".encode()
        + f"b2,{good}\n".replace("A Road", "B Road").encode().replace(b"B Road", b"B \xff Road")
    )
    r2 = imp("police_uk", bad)
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(r2.batch_id)}
    assert got == {2: ("encoding_invalid", "Location")}


def test_police_ragged_row_in_a_later_chunk(imp, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = (
        "2024-01,MPS,MPS,-0.124501,51.607012,On or near A Road,E01002061,Haringey 010B,Burglary,,"
    )
    lines = [f"q{i},{good}" + (",extra" if i == 4 else "") for i in range(1, 6)]
    path = tmp_path / "ragged_late.csv"
    path.write_text(POLICE_HEADER + "\n" + "\n".join(lines) + "\n")
    r = imp("police_uk", path, chunk_rows=2)
    assert (r.rows, r.accepted) == (5, 4)
    assert reasons(store, r.batch_id) == {4: "row_field_count"}
    assert sorted(store.incidents()["source_ref"]) == ["q1", "q2", "q3", "q5"]

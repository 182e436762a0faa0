"""One test per bad-input class: each hand-written broken row ends in quarantine with its
stable reason code, row number and column; good rows beside it are accepted."""

from __future__ import annotations

import pytest

from .conftest import reasons, settings

DIR_COORDS = {
    1: ("coord_bng_as_latlon", "latitude,longitude"),
    2: ("coord_swapped", "latitude,longitude"),
    3: ("coord_zero", "latitude,longitude"),
    4: ("coord_outside_aoi", "latitude,longitude"),
    5: ("coord_impossible", "latitude,longitude"),
    6: ("coord_half_pair", "latitude,longitude"),
    7: ("coord_not_number", "latitude,longitude"),
    8: ("stop_code_unknown", "stop_code"),
}

DIR_TIMES = {
    1: "time_format",
    2: "time_impossible",
    3: "time_excel_serial",
    4: "time_future",
    5: "time_before_2000",
    6: "time_nonexistent",
    7: "time_ambiguous",
    8: "time_missing",
}


@pytest.mark.parametrize(("row", "expected"), DIR_COORDS.items())
def test_dir_coordinate_classes(imp, store, row, expected) -> None:  # type: ignore[no-untyped-def]
    result = imp("dir", "dir_coords.csv")
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got[row] == expected
    assert result.accepted == 1  # C-OK, row 9
    assert 9 not in got


@pytest.mark.parametrize(("row", "code"), DIR_TIMES.items())
def test_dir_timestamp_classes(imp, store, row, code) -> None:  # type: ignore[no-untyped-def]
    result = imp("dir", "dir_times.csv")
    assert reasons(store, result.batch_id)[row] == code
    assert result.accepted == 1  # 02:30 on the spring-forward day is BST, and fine


def test_declared_format_is_the_only_other_format(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp(
        "dir", "dir_times.csv", settings=settings(datetime_formats={"dir": "%d/%m/%Y %H:%M"})
    )
    got = reasons(store, result.batch_id)
    assert 1 not in got  # 13/01/2025 15:42 now parses with the declared format
    inc = store.incidents(sources=["dir"])
    t = inc.set_index("source_ref").loc["T-DMY", "occurred_from"]
    assert (t.year, t.month, t.day, t.hour, t.minute) == (2025, 1, 13, 15, 42)


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        (1, "flag_unknown", "youth_flag"),
        (2, "value_out_of_list", "direction"),
        (3, "row_field_count", None),
        (4, "ref_missing", "dir_ref"),
        (5, "text_control_chars", "description"),
    ],
)
def test_dir_value_classes(imp, store, row, code, column) -> None:  # type: ignore[no-untyped-def]
    result = imp("dir", "dir_values.csv")
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got[row] == (code, column)


def test_text_with_newlines_quotes_and_formula_is_kept_verbatim(imp, store) -> None:  # type: ignore[no-untyped-def]
    imp("dir", "dir_values.csv")
    inc = store.incidents(sources=["dir"]).set_index("source_ref")
    assert inc.loc["V-NL", "detail"]["description"] == (
        'first line\nsecond line with "quotes", and a comma'
    )
    assert inc.loc["V-INJ", "detail"]["description"] == '=HYPERLINK("http://x.example","click")'


def test_over_long_text(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("dir", "dir_good.csv", settings=settings(max_text_length=20))
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got[1] == ("text_too_long", "description")  # 33 characters > 20
    assert got[3] == ("text_too_long", "description")


def test_unknown_code_only_with_an_allow_list(imp, store) -> None:  # type: ignore[no-untyped-def]
    plain = imp("dir", "dir_good.csv")
    assert plain.quarantined == 0
    store.rollback(plain.batch_id)
    strict = imp("dir", "dir_good.csv", settings=settings(code_lists={"dir": ["ASB", "ASSAULT"]}))
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(strict.batch_id)}
    assert got == {3: ("value_out_of_list", "cause_code")}  # MISSILE not in the list


def test_undecodable_bytes_quarantine_the_row_only(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("dir", "dir_bad_bytes.csv")
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got == {1: ("encoding_invalid", "description")}
    assert result.accepted == 1


def test_cp1252_where_configured(imp, store) -> None:  # type: ignore[no-untyped-def]
    as_utf8 = imp("dir", "dir_cp1252.csv")
    assert reasons(store, as_utf8.batch_id) == {1: "encoding_invalid"}
    store.rollback(as_utf8.batch_id)
    as_cp1252 = imp("dir", "dir_cp1252.csv", settings=settings(encoding="cp1252"))
    assert as_cp1252.accepted == 1
    desc = store.incidents(sources=["dir"]).iloc[0]["detail"]["description"]
    assert desc == "Café on the high road € euro"


def test_cris_classes(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("cris", "cris_good.csv")
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got == {
        4: ("coord_latlon_as_bng", "easting,northing"),
        5: ("postcode_malformed", "postcode"),
        6: ("postcode_unknown", "postcode"),
        7: ("value_impossible", "victim_age"),
        8: ("value_out_of_list", "flags"),
        9: ("time_order", "committed_from,committed_to"),
        10: ("coord_zero", "easting,northing"),
        11: ("coord_impossible", "easting,northing"),
    }
    assert result.accepted == 3


def test_fap_classes(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("fap", "fap_good.csv")
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got == {
        3: ("urn_malformed", "school_urn"),
        4: ("value_out_of_list", "year_group"),
        5: ("value_out_of_list", "gender"),
        6: ("value_out_of_list", "ethnicity"),
        7: ("ward_unknown", "ward"),
        8: ("postcode_malformed", "postcode"),
        9: ("time_format", "referral_date"),
    }


def test_asif_code_lists(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("asif", "asif_good.csv")
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got == {5: ("value_out_of_list", "location_type"), 6: ("value_out_of_list", "reporter")}


def test_refs_duplicate_and_conflict_in_file_and_store(imp, store, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = imp("dir", "dir_refs.csv")
    assert reasons(store, first.batch_id) == {2: "ref_duplicate", 3: "ref_conflict"}
    assert (first.accepted, first.quarantined) == (2, 2)
    # the same records in a file with other bytes: duplicates of the store's
    other = tmp_path / "again.csv"
    text = (data / "dir_refs.csv").read_text()
    other.write_text(text.replace("second", "second edited"))
    again = imp("dir", other)
    assert reasons(store, again.batch_id) == {
        1: "ref_duplicate",
        2: "ref_duplicate",
        3: "ref_conflict",
        4: "ref_conflict",
    }
    assert again.accepted == 0


def test_police_classes(imp, store) -> None:  # type: ignore[no-untyped-def]
    result = imp("police_uk", "police_bad.csv")
    got = {q.row: (q.reason_code, q.column) for q in store.quarantine(result.batch_id)}
    assert got == {
        1: ("time_impossible", "Month"),
        2: ("month_format", "Month"),
        3: ("coord_bng_as_latlon", "Longitude,Latitude"),
        4: ("coord_swapped", "Longitude,Latitude"),
        5: ("coord_zero", "Longitude,Latitude"),
        6: ("coord_outside_aoi", "Longitude,Latitude"),
        7: ("coord_half_pair", "Longitude,Latitude"),
        8: ("time_future", "Month"),
        9: ("time_before_2000", "Month"),
    }
    assert result.accepted == 1


def test_aoi_file_narrows_the_area(imp, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd
    from shapely.geometry import box

    from geosafe.ingest import load_aoi

    # a 1 km box around Bounds Green station (BNG): DIR-2 (51.6070, -0.1245) is ~600 m south-east
    aoi_file = tmp_path / "aoi.gpkg"
    gpd.GeoDataFrame(geometry=[box(528600, 192300, 529600, 193300)], crs=27700).to_file(aoi_file)
    result = imp("dir", "dir_good.csv", aoi=load_aoi(aoi_file))
    assert reasons(store, result.batch_id) == {2: "coord_outside_aoi"}

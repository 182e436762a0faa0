"""Postcode directories in both published layouts: ONSPD and OS Code-Point Open (issue 14).

The files in ``data/`` are hand-written in each layout. Their grid references are those of
OS Code-Point Open (``shared/data/postcodes``, Contains OS data (c) Crown copyright); the
ONSPD rows' other fields are illustrative. E1 6AN and E8 1DY are outside the bundled N/EN
table, as a postcode newer than the bundled 2014 table is.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from geosafe._errors import ImportFileError
from geosafe.geocode import Geocoder
from geosafe.geocode.postcodes import (
    TABLE_COLUMNS,
    lookup_postcodes,
    read_postcode_directory,
    write_postcode_table,
)

DATA = Path(__file__).resolve().parent / "data"

#: Code-Point Open's grid references of these postcodes (the reference for both layouts).
EXPECTED = {"N227AY": (529610, 190071), "E16AN": (533414, 181742), "E81DY": (534784, 184682)}


def test_onspd_layout() -> None:
    table = read_postcode_directory(DATA / "onspd_sample.csv")
    assert list(table.columns) == list(TABLE_COLUMNS)
    # E20 1AA has no grid reference (osgrdind 9): left out; E8 1DY is terminated: kept
    assert sorted(table.index) == sorted(EXPECTED)
    for key, (e, n) in EXPECTED.items():
        assert (table.loc[key, "easting"], table.loc[key, "northing"]) == (e, n)
    assert table.loc["E16AN", "postcode"] == "E1 6AN"
    assert table.loc["E16AN", "district"] == "E09000001"
    assert table.loc["N227AY", "ward"] == "E05013592"
    assert table.loc["N227AY", "quality"] == "1"


def test_codepoint_open_layouts(tmp_path: Path) -> None:
    folder = read_postcode_directory(DATA / "codepoint")  # Data/CSV/*.csv, Doc/ skipped
    assert sorted(folder.index) == ["E10AA", "E16AN", "N227AY"]
    assert tuple(folder.loc["E16AN", ["easting", "northing"]]) == EXPECTED["E16AN"]
    assert folder.loc["E16AN", "ward"] == "E05009292"
    assert folder.loc["E16AN", "quality"] == "10"
    # the zip as downloaded
    archive = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (DATA / "codepoint").rglob("*.csv"):
            zf.write(f, f.relative_to(DATA / "codepoint").as_posix())
    zipped = read_postcode_directory(archive)
    pd.testing.assert_frame_equal(zipped.sort_index(), folder.sort_index())
    # a CSV with Code-Point Open's long header names
    long = read_postcode_directory(DATA / "codepoint_long_header.csv")
    assert tuple(long.loc["E81DY", ["easting", "northing"]]) == EXPECTED["E81DY"]


def test_directory_finds_postcodes_the_bundled_table_lacks(tmp_path: Path) -> None:
    wanted = ["E1 6AN", "e8 1dy", "N22 7AY", "E20 1AA"]
    bundled = lookup_postcodes(wanted)
    assert list(bundled["reason_code"]) == [
        "postcode_unknown",
        "postcode_unknown",
        None,
        "postcode_unknown",
    ]
    table = read_postcode_directory(DATA / "onspd_sample.csv")
    found = lookup_postcodes(wanted, table=table)
    assert list(found["reason_code"]) == [None, None, None, "postcode_unknown"]
    assert (found.loc[0, "easting"], found.loc[0, "northing"]) == EXPECTED["E16AN"]
    # saved into an area folder's postcodes/, the loader every command uses reads it
    area = tmp_path / "area"
    write_postcode_table(table, area / "postcodes" / "codepoint_n_en.csv.gz")
    again = lookup_postcodes(wanted, data_dir=area)
    assert list(again["reason_code"]) == [None, None, None, "postcode_unknown"]
    located = Geocoder(area).from_postcode("E1 6AN")
    assert located.ok
    assert (located.geometry.x, located.geometry.y) == EXPECTED["E16AN"]


def test_neither_layout_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "schools.csv"
    bad.write_text("urn,name\n100001,Some School\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="neither an ONSPD CSV"):
        read_postcode_directory(bad)
    with pytest.raises(ImportFileError, match="does not exist"):
        read_postcode_directory(tmp_path / "missing.csv")

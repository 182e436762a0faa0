"""Row checks of ``geosafe._validate`` on hand-written cases (clock changes checked against
the published UK dates: 2025-03-30 01:00 GMT -> 02:00 BST, 2025-10-26 02:00 BST -> 01:00 GMT)."""

from __future__ import annotations

import pandas as pd
import pytest

from geosafe._validate import (
    Problem,
    check_code,
    csv_escape,
    parse_date,
    parse_flag,
    parse_int_in,
    parse_timestamp,
)

NOW = pd.Timestamp("2026-01-01 12:00", tz="Europe/London")


@pytest.mark.parametrize(
    ("text", "utc", "precision"),
    [
        ("2025-01-13 15:42", "2025-01-13T15:42:00+00:00", "minute"),
        ("2025-07-13T15:42:00", "2025-07-13T14:42:00+00:00", "minute"),
        ("2025-03-30 00:59", "2025-03-30T00:59:00+00:00", "minute"),
        ("2025-03-30 02:00", "2025-03-30T01:00:00+00:00", "minute"),
        ("2025-10-26 00:59", "2025-10-25T23:59:00+00:00", "minute"),
        ("2025-10-26 02:00", "2025-10-26T02:00:00+00:00", "minute"),
        ("2025-10-26T01:30+00:00", "2025-10-26T01:30:00+00:00", "minute"),
        ("2025-01-13", "2025-01-13T00:00:00+00:00", "day"),
    ],
)
def test_good_timestamps(text: str, utc: str, precision: str) -> None:
    got = parse_timestamp(text, row=1, column="t", now=NOW)
    assert not isinstance(got, Problem)
    assert got[0].tz_convert("UTC").isoformat() == utc and got[1] == precision


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2025-03-30 01:00", "time_nonexistent"),
        ("2025-03-30 01:59", "time_nonexistent"),
        ("2025-10-26 01:00", "time_ambiguous"),
        ("2025-10-26 01:59", "time_ambiguous"),
        ("2025-13-01 10:00", "time_impossible"),
        ("2025-01-13 24:30", "time_impossible"),
        ("01/13/2025 10:00", "time_format"),
        ("13-01-2025", "time_format"),
        ("Jan 13 2025", "time_format"),
        ("45678", "time_excel_serial"),
        ("45678.6354", "time_excel_serial"),
        ("2026-01-03 10:00", "time_future"),
        ("1999-12-31 23:59", "time_before_2000"),
        ("   ", "time_missing"),
    ],
)
def test_bad_timestamps(text: str, code: str) -> None:
    got = parse_timestamp(text, row=7, column="reported_at", now=NOW)
    assert isinstance(got, Problem) and got.reason_code == code
    assert got.row == 7 and got.column == "reported_at" and "reported_at" in got.reason


def test_declared_format_never_guesses_the_other_order() -> None:
    got = parse_timestamp(
        "05/04/2025 10:00", row=1, column="t", declared_format="%d/%m/%Y %H:%M", now=NOW
    )
    assert not isinstance(got, Problem) and (got[0].month, got[0].day) == (4, 5)
    bad = parse_timestamp(
        "04/13/2025 10:00", row=1, column="t", declared_format="%d/%m/%Y %H:%M", now=NOW
    )
    assert isinstance(bad, Problem) and bad.reason_code == "time_format"


def test_dates() -> None:
    assert parse_date("2025-01-13", row=1, column="d", now=NOW) == pd.Timestamp(
        "2025-01-13", tz="Europe/London"
    )
    bad = parse_date("2025-01-13 10:00", row=1, column="d", now=NOW)
    assert isinstance(bad, Problem) and bad.reason_code == "time_format"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Y", True),
        ("yes", True),
        ("TRUE", True),
        ("1", True),
        ("n", False),
        ("No", False),
        ("false", False),
        ("0", False),
        ("", None),
        ("  ", None),
    ],
)
def test_flags(text: str, value: bool | None) -> None:
    assert parse_flag(text, row=1, column="f") is value


@pytest.mark.parametrize("text", ["maybe", "2", "ja", "Y/N"])
def test_unknown_flags(text: str) -> None:
    got = parse_flag(text, row=3, column="youth_flag")
    assert (
        isinstance(got, Problem) and got.reason_code == "flag_unknown" and repr(text) in got.reason
    )


def test_codes_and_numbers() -> None:
    assert check_code(" asb ", None, row=1, column="c") == "ASB"
    assert check_code("asb", frozenset({"ASB"}), row=1, column="c") == "ASB"
    got = check_code("xyz", frozenset({"ASB"}), row=1, column="c")
    assert isinstance(got, Problem) and got.reason_code == "value_out_of_list"
    assert parse_int_in("14", row=1, column="a", low=0, high=120) == 14
    assert parse_int_in("", row=1, column="a", low=0, high=120) is None
    for bad in ("-1", "121", "14.5", "fourteen"):
        got2 = parse_int_in(bad, row=1, column="a", low=0, high=120)
        assert isinstance(got2, Problem) and got2.reason_code == "value_impossible"


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t=x"),
        ("-0.1245", "-0.1245"),
        ("+44", "+44"),
        ("plain", "plain"),
        (7, 7),
    ],
)
def test_csv_escape(value: object, escaped: object) -> None:
    assert csv_escape(value) == escaped

from __future__ import annotations

import datetime as dt
import itertools

import holidays
import pandas as pd
import pytest

from geosafe import calendar as cal
from geosafe._errors import ConfigurationError


def test_bank_holidays_match_holidays_package() -> None:
    c = cal.default_calendar()
    ref = holidays.country_holidays("GB", subdiv="ENG", years=range(2000, 2031))
    assert c.bank_holidays == frozenset(ref.keys())
    assert dt.date(2023, 5, 8) in c.bank_holidays  # coronation
    assert dt.date(2022, 9, 19) in c.bank_holidays  # state funeral


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 1, 8), True),  # Monday in spring term
        (dt.date(2024, 1, 6), False),  # Saturday
        (dt.date(2023, 10, 24), False),  # autumn half-term
        (dt.date(2023, 12, 25), False),  # Christmas
        (dt.date(2024, 5, 6), False),  # early May bank holiday in summer term
        (dt.date(2024, 5, 7), True),
        (dt.date(2024, 8, 14), False),  # summer holiday
        (dt.date(2024, 4, 2), False),  # Easter break
    ],
)
def test_is_school_day(day: dt.date, expected: bool) -> None:
    assert cal.is_school_day(day) is expected


def test_school_days_count_is_typical() -> None:
    days = cal.school_days(dt.date(2023, 9, 1), dt.date(2024, 8, 31))
    # English schools are open 190 days (+ INSET days, which the typical calendar ignores)
    assert 188 <= len(days) <= 197
    assert all(d.weekday() < 5 for d in days)
    assert days == sorted(days)


def test_easter_against_holidays_package() -> None:
    for year in range(2000, 2031):
        ref = holidays.country_holidays("GB", subdiv="ENG", years=year)
        good_friday = next(d for d, n in ref.items() if n == "Good Friday")
        assert cal._easter(year) == good_friday + dt.timedelta(days=2)


def test_terms_contain_no_overlaps_and_half_terms_inside() -> None:
    terms = cal.default_calendar().terms
    for a, b in itertools.pairwise(terms):
        assert a.end < b.start
    for t in terms:
        assert t.half_term_start is not None and t.half_term_end is not None
        assert t.start < t.half_term_start <= t.half_term_end < t.end


def test_in_school_run_windows_and_timezones() -> None:
    ts = pd.Series(
        pd.to_datetime(
            [
                "2024-01-08 07:29",
                "2024-01-08 07:30",
                "2024-01-08 09:29",
                "2024-01-08 09:30",
                "2024-01-08 14:45",
                "2024-01-08 17:59",
                "2024-01-08 18:00",
                "2024-01-13 08:00",  # Saturday
            ]
        ).tz_localize("Europe/London")
    )
    assert cal.in_school_run(ts).tolist() == [False, True, True, False, True, True, False, False]
    # 07:45 UTC in June is 08:45 BST (inside); 06:15 UTC is 07:15 BST (outside)
    utc = pd.Series(pd.to_datetime(["2024-06-10 07:45", "2024-06-10 06:15"]).tz_localize("UTC"))
    assert cal.in_school_run(utc).tolist() == [True, False]


def test_custom_calendar_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "terms.csv"
    p.write_text(
        "academic_year,term,start,end,half_term_start,half_term_end\n"
        "2024-25,autumn,2024-09-02,2024-09-13,2024-09-09,2024-09-09\n"
    )
    c = cal.load_calendar(p)
    assert c.school_days(dt.date(2024, 9, 1), dt.date(2024, 9, 30)) == [
        dt.date(2024, 9, d) for d in (2, 3, 4, 5, 6, 10, 11, 12, 13)
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("academic_year,term,start,end\nx,autumn,02/09/2024,2024-09-13\n")
    with pytest.raises(ConfigurationError, match="'02/09/2024' is not an ISO date"):
        cal.load_calendar(bad)
    with pytest.raises(ConfigurationError, match="does not exist"):
        cal.load_calendar(tmp_path / "nope.csv")


def test_calendar_setting_from_environment(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "terms.csv"
    p.write_text("academic_year,term,start,end\n2030-31,autumn,2030-09-02,2030-09-03\n")
    monkeypatch.setenv("GEOSAFE_CALENDAR", str(p))
    assert cal.default_calendar().source == str(p)
    assert cal.school_days(dt.date(2030, 9, 1), dt.date(2030, 9, 30)) == [
        dt.date(2030, 9, 2),
        dt.date(2030, 9, 3),
    ]

from __future__ import annotations

import argparse
import datetime as dt

import pytest
from shapely.geometry import Point

from geosafe._errors import ValidationError
from geosafe.filters import (
    PRESETS,
    IncidentFilter,
    add_filter_arguments,
    filter_from_args,
    parse_hours,
    parse_weekdays,
)

from .conftest import make_frame


def _frame():  # type: ignore[no-untyped-def]
    times = [
        "2024-01-08 08:15",  # Mon school day, in school run
        "2024-01-08 12:00",  # Mon school day, midday
        "2024-01-13 08:15",  # Saturday
        "2023-10-24 08:15",  # half-term Tuesday
        "2024-01-08 00:00",  # police.uk month (precision month)
        "2024-01-09 16:00",  # Tue, school run, day precision only
        "2024-01-09 23:30",  # late night
    ]
    prec = ["minute", "minute", "minute", "minute", "month", "day", "minute"]
    src = ["dir", "asif", "dir", "cris", "police_uk", "cris", "dir"]
    cat = ["ASB", "assault", "ASB", "X1", "Burglary", "X1", "ASB"]
    flags = [("youth",), (), ("gang", "youth"), (), (), ("weapon",), ()]
    return make_frame(
        [Point(530000 + i, 190000) for i in range(7)],
        times=times,
        time_precision=prec,
        source=src,
        category=cat,
        flags=flags,
    )


def _ids(gdf) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(r) for r in gdf["source_ref"]]


def test_school_run_preset_needs_minutes_and_term_time() -> None:
    out = IncidentFilter(preset="school-run").apply(_frame())
    assert _ids(out) == [0]


def test_sources_categories_flags() -> None:
    f = _frame()
    assert _ids(IncidentFilter(sources=("police-uk", "asif")).apply(f)) == [1, 4]
    assert _ids(IncidentFilter(categories=("asb",)).apply(f)) == [0, 2, 6]
    assert _ids(IncidentFilter(flags=("youth",)).apply(f)) == [0, 2]
    assert _ids(IncidentFilter(flags=("youth", "weapon"), sources=("dir",)).apply(f)) == [0, 2]


def test_dates_weekdays_hours() -> None:
    f = _frame()
    assert _ids(IncidentFilter(from_date=dt.date(2024, 1, 9)).apply(f)) == [2, 5, 6]
    assert _ids(IncidentFilter(to_date=dt.date(2024, 1, 8)).apply(f)) == [0, 1, 3, 4]
    # weekday needs day or minute precision: the police.uk month is dropped
    assert _ids(IncidentFilter(weekdays=(0,)).apply(f)) == [0, 1]
    assert _ids(IncidentFilter(hours=(parse_hours("22:00-01:00"),)).apply(f)) == [6]
    assert _ids(IncidentFilter(hours=(parse_hours("08:00-08:30"),)).apply(f)) == [0, 2, 3]


def test_parsers() -> None:
    assert parse_weekdays("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_weekdays("fri-mon") == (0, 4, 5, 6)
    assert parse_weekdays("sat,sun") == (5, 6)
    assert parse_hours("07:30-09:30") == (dt.time(7, 30), dt.time(9, 30))
    with pytest.raises(ValidationError, match=r"'7\.30-9' is not understood"):
        parse_hours("7.30-9")
    with pytest.raises(ValidationError, match="'funday'"):
        parse_weekdays("funday")
    with pytest.raises(ValidationError, match="`preset` 'brunch' is unknown"):
        IncidentFilter(preset="brunch")
    with pytest.raises(ValidationError, match="`--flag` 'purple' is unknown"):
        IncidentFilter(flags=("purple",))


def test_cli_arguments_round_trip() -> None:
    p = argparse.ArgumentParser()
    add_filter_arguments(p)
    args = p.parse_args(
        [
            "--source",
            "dir,police-uk",
            "--flag",
            "youth",
            "--from-date",
            "2024-01-01",
            "--hours",
            "07:30-09:30",
            "--hours",
            "14:45-18:00",
            "--weekdays",
            "mon-fri",
            "--preset",
            "school-run",
        ]
    )
    f = filter_from_args(args)
    assert f.sources == ("dir", "police_uk")
    assert f.flags == ("youth",)
    assert f.from_date == dt.date(2024, 1, 1)
    assert f.hours == PRESETS["school-run"].hours
    assert f.weekdays == (0, 1, 2, 3, 4)
    assert _ids(f.apply(_frame())) == [0]
    assert IncidentFilter().is_empty

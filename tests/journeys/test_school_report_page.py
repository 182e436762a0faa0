"""The school report a safeguarding lead reads: place names, times of day, trends, the dated
day, "not recorded" flags, a basemap, and disclosure control of the new tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geosafe import datasets
from geosafe.calendar import default_calendar
from geosafe.geocode.places import Gazetteer
from geosafe.risk.naming import place_namer
from geosafe.risk.report import need_matrix, representative_school_day
from geosafe.risk.route_places import active_times, trend_word

from ._fixtures import SCHOOL, school_reports


def test_place_names_from_the_bundled_map() -> None:
    namer = place_namer()
    # a small area astride Bounds Green Road next to Bounds Green station
    station = next(p for p in Gazetteer.load().places if p.name == "Bounds Green Station")
    area = station.point.buffer(60)
    name = namer.name(area)
    assert name.endswith("by Bounds Green Station") and name.split(" by ")[0] != ""
    # an unnamed way takes the name of what it is near, never "(service)"
    line = shapely.LineString(
        [(station.point.x + 5, station.point.y), (station.point.x + 30, station.point.y)]
    )
    assert namer.unnamed(line).startswith("unnamed path near ")
    # inside a registered park: the park's name
    park = datasets.parks().iloc[0]
    assert namer.name(park.geometry.representative_point().buffer(20)) == str(
        park["name"]
    ).title().replace("'S ", "'s ")


def test_active_times_by_half_hour() -> None:
    t = pd.Series(
        pd.to_datetime(
            [
                "2025-03-04 08:10",
                "2025-03-05 08:20",
                "2025-03-06 08:40",
                "2025-03-04 15:35",
                "2025-03-07 15:50",
                "2025-03-07 16:05",
            ]
        ).tz_localize("Europe/London")
    )
    # 08:00-08:30 holds 2, 08:30-09:00 1, 15:30-16:00 2, 16:00-16:30 1: the busiest is 2,
    # half of it is 1, so every half-hour with an incident counts
    assert active_times(t) == "08:00-09:00, 15:30-16:30"
    assert active_times(t.iloc[[0, 1, 1, 2]]) == "08:00-08:30"
    assert active_times(pd.Series([], dtype="datetime64[ns, Europe/London]")) == "not known"


def test_trend_words() -> None:
    assert trend_word(30, 10, (100.0, 100.0)).startswith("up (x3.0")
    assert trend_word(10, 30, (100.0, 100.0)).startswith("down (x0.3")
    assert trend_word(20, 20, (100.0, 120.0)) == "about the same"
    # per school-run hour: the same count over half the hours is twice the rate
    assert trend_word(20, 20, (50.0, 100.0)).startswith("up (x2.0")
    assert trend_word(None, 20, (1.0, 1.0)) == "too few to say"  # suppressed
    assert trend_word(3, 4, (1.0, 1.0)) == "too few to say"
    assert trend_word(15, 0, (1.0, 1.0)) == "new"


def test_representative_school_day() -> None:
    cal = default_calendar()
    day, why = representative_school_day(dt.date(2024, 9, 4), dt.date(2025, 7, 22), calendar=cal)
    assert dt.date(2024, 9, 4) <= day <= dt.date(2025, 7, 22)
    assert day.weekday() in (1, 2, 3) and cal.is_school_day(day)
    assert "middle of the incident data's period" in why
    # nearest to the middle: no school day of the right kind is closer
    mid = dt.date(2024, 9, 4) + (dt.date(2025, 7, 22) - dt.date(2024, 9, 4)) / 2
    for k in range(abs((day - mid).days)):
        for d in (mid + dt.timedelta(days=k), mid - dt.timedelta(days=k)):
            assert not (d.weekday() in (1, 2, 3) and cal.is_school_day(d))
    # a timetable that does not run on it moves the day
    day2, why2 = representative_school_day(
        dt.date(2024, 9, 4), dt.date(2025, 7, 22), calendar=cal, runs=lambda d: d != day
    )
    assert day2 != day and "bus timetable runs" in why2


def test_need_matrix_not_recorded() -> None:
    fap = pd.DataFrame(
        {
            "school_urn": [SCHOOL] * 3,
            "flags": [("cse",), (), ("gangs",)],
            "detail": [
                {"flag_states": {"cse": "Y", "gangs": "N"}},
                {"flag_states": {"cse": "N", "gangs": "U"}},
                None,  # imported before flags had three states: only its Y is known
            ],
        }
    )
    m = need_matrix(fap, SCHOOL).set_index("flag")
    assert m.loc["cse", "referrals"] == 1 and m.loc["cse", "not_recorded"] == 1
    assert m.loc["gangs", "referrals"] == 1 and m.loc["gangs", "not_recorded"] == 1
    assert m.loc["missing_home", "referrals"] == 0 and m.loc["missing_home", "not_recorded"] == 3


def test_cli_school_report_page(tmp_path: Path, report_store: tuple[Path, Any]) -> None:
    db, _ = report_store
    page, _ = school_reports(db, tmp_path)
    out_a, out_s = tmp_path / "a", tmp_path / "s"
    # the day is inside the incidents' period (the DIR reports are 3-7 March 2025) and said
    s = page.split("Journeys on ", 1)[1]
    assert s.startswith(("Monday 3", "Tuesday 4", "Wednesday 5", "Thursday 6", "Friday 7"))
    assert "March 2025" in s[:40] and "representative term-time school day" in page
    assert "(service)" not in page and "(footway)" not in page and ">nan<" not in page
    assert "Afternoon, leaving at 15:15" in page and "Morning, arriving by 08:45" in page
    # the basemap: streets drawn and named, a scale bar
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count('stroke="#b0b0b0"') >= 1 and "Road" in svg and " m</text>" in svg
    places = pd.read_csv(out_a / "places.csv")
    assert len(places) >= 1 and not places["place"].str.match(r"^HS\d+$").any()
    assert places["when"].str.contains(r"morning 08:\d\d-\d\d:\d\d").any()
    corridors = json.loads((out_a / "corridors.geojson").read_text())["features"]
    assert all(not f["properties"]["name"].startswith("(") for f in corridors)
    # school view: places counts published (suppressed or multiples of 5); the trend is
    # worked out from the published counts, so differencing the periods reveals nothing more
    pub = pd.read_csv(out_s / "places.csv")
    for col in ("pupils", "incidents_recent", "incidents_previous"):
        v = pub[col].dropna().to_numpy()
        assert np.all(v % 5 == 0) and not np.any((v > 0) & (v < 10)), col
    for _, r in pub.iterrows():
        if pd.isna(r["incidents_recent"]) or pd.isna(r["incidents_previous"]):
            assert r["trend"] == "too few to say"
    spage = (out_s / "report.html").read_text()
    for pc in pd.read_csv(tmp_path / "fap.csv")["home_postcode"]:
        assert pc not in spage and pc not in (out_s / "places.geojson").read_text()

"""Build the demo area's ESTIMATED bus timetable (GTFS) from the real TfL stop sequences.

TfL publishes no GTFS. ``datasets.bus_sequences()`` holds the real stop sequence (2019) of
every route that serves the demo area; this module turns it into a GTFS feed whose stops
and routes are real and whose *times are estimated*. The feed says so: the agency is
"London Buses (ESTIMATED timetable)", ``feed_info.txt`` names it an estimate, and every
route's ``route_desc`` repeats it. Never present its times as TfL's.

Method (all figures are documented assumptions, not measurements):

* **Routes.** Every route in the sequences except the ``UL`` routes (London Underground
  rail-replacement buses, which run only during closures): 31 of the 34. Virtual stops
  (``Virtual_Bus_Stop`` 1, timing points where nobody boards) are left out. Stop ids are
  NaPTAN ATCO codes (``LBSL:<code>`` for the two stops without one).
* **Run times** from stop-to-stop distance: straight-line BNG distance x
  :data:`ROAD_FACTOR` (1.25) at the operating speed of the trip's time band
  (:data:`SPEEDS_KMH`, stops and dwell included; London's average bus speed is about
  15 km/h, lower in the peaks). Times are rounded to whole seconds.
* **Headways** by day type and time band (:data:`HEADWAYS`), written as
  ``frequencies.txt`` rows with ``exact_times=1`` on one template trip per route,
  direction, day type and band (departures from the first stop at band start, start +
  headway, ... before band end).
* **Night routes** (``N29``, ``N91``): every 20 minutes 00:00-05:00, every day.
* **School routes** (6xx): on school days only (bundled London term calendar,
  :mod:`geosafe.calendar`), departures from the first stop at 07:15 and 07:45, and at
  15:10 and 15:35.
* **Calendars.** ``WEEKDAY`` (Monday-Friday), ``SATURDAY``, ``SUNDAY`` from
  :data:`FEED_START` to :data:`FEED_END`; on England's bank holidays the weekday service is
  removed and the Sunday service added (``calendar_dates.txt``); ``SCHOOL`` runs on the
  school days listed in ``calendar_dates.txt``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyproj

from .. import datasets
from .gtfs import write_feed

__all__ = [
    "FEED_END",
    "FEED_START",
    "HEADWAYS",
    "ROAD_FACTOR",
    "SPEEDS_KMH",
    "build_demo_feed",
    "demo_feed_tables",
]

log = logging.getLogger(__name__)

#: From the first month of the demo's data year (the twelve months to the last bundled
#: police.uk month, 2024-02: ``geosafe demo``), so that the service's default travel date,
#: the last day of the analysed period, has buses.
FEED_START: Final = dt.date(2023, 3, 1)
FEED_END: Final = dt.date(2027, 8, 31)
#: Road distance over straight-line distance between consecutive stops.
ROAD_FACTOR: Final = 1.25
#: Operating speed (km/h, stops included) by the hour a trip starts: (from hour, speed).
SPEEDS_KMH: Final = ((0, 22.0), (5, 19.0), (7, 12.0), (10, 14.0), (15, 12.0), (19, 16.0))
#: Headways (minutes) by day type: (band start, band end, headway), GTFS times
#: (24:30 is half past midnight of the next calendar day).
HEADWAYS: Final = {
    "WEEKDAY": (
        ("05:00", "07:00", 12),
        ("07:00", "10:00", 8),
        ("10:00", "15:00", 10),
        ("15:00", "19:00", 8),
        ("19:00", "24:30", 12),
    ),
    "SATURDAY": (("05:30", "08:00", 15), ("08:00", "19:00", 10), ("19:00", "24:30", 12)),
    "SUNDAY": (("06:00", "09:00", 15), ("09:00", "19:00", 12), ("19:00", "24:30", 15)),
}
NIGHT_BANDS: Final = (("00:00", "05:00", 20),)
SCHOOL_DEPARTURES: Final = ("07:15", "07:45", "15:10", "15:35")
ESTIMATED: Final = "ESTIMATED timetable"


def _hms(seconds: int) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _secs(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 3600 + int(m) * 60


def _speed_mps(start_s: int) -> float:
    hour = (start_s // 3600) % 24
    kmh = SPEEDS_KMH[0][1]
    for h, v in SPEEDS_KMH:
        if hour >= h:
            kmh = v
    return kmh / 3.6


def _clean(name: str) -> str:
    """A TfL stop name for display: title case, without TfL's ``<>`` interchange marks."""
    return " ".join(name.replace("<>", " ").replace("<", " ").replace(">", " ").split()).title()


def _stop_id(row: pd.Series) -> str:
    return str(row["Naptan_Atco"]) or f"LBSL:{row['Stop_Code_LBSL']}"


def demo_feed_tables(data_dir: Path | str | None = None) -> dict[str, pd.DataFrame]:
    """The GTFS tables of the estimated demo-area feed (see the module docstring).

    Returns
    -------
    dict
        ``{"agency": ..., "feed_info": ..., "stops": ..., ...}`` ready for
        :func:`geosafe.network.gtfs.write_feed`.
    """
    from .. import calendar as school_calendar

    seq = datasets.bus_sequences(data_dir)
    seq = seq[~seq["Route"].str.startswith("UL") & (seq["Virtual_Bus_Stop"] != "1")].copy()
    seq["stop_id"] = seq.apply(_stop_id, axis=1)
    seq = seq.sort_values(["Route", "Run", "Sequence"])
    to_wgs = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    st_first = seq.drop_duplicates("stop_id")
    lon, lat = to_wgs.transform(
        st_first["Location_Easting"].to_numpy(float), st_first["Location_Northing"].to_numpy(float)
    )
    stops = pd.DataFrame(
        {
            "stop_id": st_first["stop_id"],
            "stop_code": st_first["Stop_Code_LBSL"],
            "stop_name": st_first["Stop_Name"].map(_clean),
            "stop_lat": np.round(lat, 6),
            "stop_lon": np.round(lon, 6),
        }
    )
    agency = pd.DataFrame(
        [
            {
                "agency_id": "TFL_EST",
                "agency_name": f"London Buses ({ESTIMATED})",
                "agency_url": "https://tfl.gov.uk/",
                "agency_timezone": "Europe/London",
                "agency_lang": "en",
            }
        ]
    )
    feed_info = pd.DataFrame(
        [
            {
                "feed_publisher_name": f"geosafe: {ESTIMATED} from TfL bus sequences 2019 "
                "(Powered by TfL Open Data; real stops and routes, estimated times)",
                "feed_publisher_url": "https://tfl.gov.uk/info-for/open-data-users/",
                "feed_lang": "en",
                "feed_start_date": FEED_START.strftime("%Y%m%d"),
                "feed_end_date": FEED_END.strftime("%Y%m%d"),
                "feed_version": "estimated-1",
            }
        ]
    )
    route_rows = []
    trip_rows: list[dict[str, object]] = []
    st_rows: list[pd.DataFrame] = []
    freq_rows: list[dict[str, object]] = []
    for route_key, grp in seq.groupby("Route", sort=True):
        route = str(route_key)
        first = grp[grp["Run"] == grp["Run"].min()]
        route_rows.append(
            {
                "route_id": route,
                "agency_id": "TFL_EST",
                "route_short_name": route,
                "route_long_name": f"{_clean(first['Stop_Name'].iloc[0])} - "
                f"{_clean(first['Stop_Name'].iloc[-1])}",
                "route_desc": f"{ESTIMATED}: real TfL stop sequence, estimated times",
                "route_type": 3,
            }
        )
        night = route.startswith("N")
        school = route.startswith("6") and len(route) == 3
        for run, rg in grp.groupby("Run"):
            e = rg["Location_Easting"].to_numpy(float)
            n = rg["Location_Northing"].to_numpy(float)
            dist = np.r_[0.0, np.cumsum(np.hypot(np.diff(e), np.diff(n)))] * ROAD_FACTOR
            stop_ids = rg["stop_id"].to_numpy()

            def add_trip(
                trip_id: str,
                service: str,
                start_s: int,
                stop_ids=stop_ids,
                dist=dist,
                run=run,
                route=route,
            ) -> None:
                times = start_s + np.round(dist / _speed_mps(start_s)).astype(int)
                text = [_hms(t) for t in times]
                trip_rows.append(
                    {
                        "route_id": route,
                        "service_id": service,
                        "trip_id": trip_id,
                        "trip_headsign": stops_name(stop_ids[-1]),
                        "direction_id": int(run) - 1,
                    }
                )
                st_rows.append(
                    pd.DataFrame(
                        {
                            "trip_id": trip_id,
                            "arrival_time": text,
                            "departure_time": text,
                            "stop_id": stop_ids,
                            "stop_sequence": np.arange(1, len(stop_ids) + 1),
                            "timepoint": 0,
                        }
                    )
                )

            def stops_name(stop_id: str) -> str:
                return str(stops.loc[stops["stop_id"] == stop_id, "stop_name"].iloc[0])

            if school:
                for t in SCHOOL_DEPARTURES:
                    add_trip(f"{route}_{run}_SCHOOL_{t.replace(':', '')}", "SCHOOL", _secs(t))
                continue
            days = (
                {"WEEKDAY": NIGHT_BANDS, "SATURDAY": NIGHT_BANDS, "SUNDAY": NIGHT_BANDS}
                if night
                else HEADWAYS
            )
            for service, bands in days.items():
                for start, end, headway in bands:
                    trip_id = f"{route}_{run}_{service}_{start.replace(':', '')}"
                    add_trip(trip_id, service, _secs(start))
                    freq_rows.append(
                        {
                            "trip_id": trip_id,
                            "start_time": f"{start}:00",
                            "end_time": f"{end}:00",
                            "headway_secs": headway * 60,
                            "exact_times": 1,
                        }
                    )
    cal_rows = [
        {
            "service_id": sid,
            **{
                d: int(flag)
                for d, flag in zip(
                    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
                    flags,
                    strict=True,
                )
            },
            "start_date": FEED_START.strftime("%Y%m%d"),
            "end_date": FEED_END.strftime("%Y%m%d"),
        }
        for sid, flags in (("WEEKDAY", "1111100"), ("SATURDAY", "0000010"), ("SUNDAY", "0000001"))
    ]
    cal = school_calendar.default_calendar()
    exceptions = []
    for day in sorted(cal.bank_holidays):
        if FEED_START <= day <= FEED_END and day.weekday() < 5:
            key = day.strftime("%Y%m%d")
            exceptions += [
                {"service_id": "WEEKDAY", "date": key, "exception_type": 2},
                {"service_id": "SUNDAY", "date": key, "exception_type": 1},
            ]
    exceptions += [
        {"service_id": "SCHOOL", "date": d.strftime("%Y%m%d"), "exception_type": 1}
        for d in cal.school_days(FEED_START, FEED_END)
    ]
    return {
        "agency": agency,
        "feed_info": feed_info,
        "stops": stops.reset_index(drop=True),
        "routes": pd.DataFrame(route_rows),
        "trips": pd.DataFrame(trip_rows),
        "stop_times": pd.concat(st_rows, ignore_index=True),
        "frequencies": pd.DataFrame(freq_rows),
        "calendar": pd.DataFrame(cal_rows),
        "calendar_dates": pd.DataFrame(exceptions),
    }


def build_demo_feed(
    out_dir: Path | str | None = None, *, data_dir: Path | str | None = None
) -> Path:
    """Write the estimated demo-area feed (default ``data/gtfs/demo_area_estimated/``).

    Returns the directory written.
    """
    out = Path(out_dir) if out_dir is not None else datasets.gtfs_dir(data_dir)
    tables = demo_feed_tables(data_dir)
    write_feed(tables, out)
    (out / "README.md").write_text(
        "# Demo-area bus timetable: ESTIMATED\n\n"
        "Built by `geosafe gtfs-build` (geosafe.network.gtfs_build) from TfL's 2019 bus route "
        "stop sequences (Powered by TfL Open Data; contains OS data (c) Crown copyright).\n"
        "Stops and routes are real; **all times are estimates** (distance-based run times, "
        "assumed headways by time band). Do not present them as TfL's timetable. The method "
        "and every assumed figure are in the module docstring.\n",
        encoding="utf-8",
    )
    log.info(
        "wrote the estimated demo feed to %s (%d routes, %d template trips)",
        out,
        len(tables["routes"]),
        len(tables["trips"]),
    )
    return out

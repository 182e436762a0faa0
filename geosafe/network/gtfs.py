"""Read and validate any GTFS feed.

:func:`read_feed` loads a feed directory (or ``.zip``) into a :class:`Feed`: normalised
tables with times in seconds after midnight of the service day, service days from
``calendar.txt`` and ``calendar_dates.txt``, ``frequencies.txt`` kept for expansion and
``transfers.txt`` checked. Problems that leave the feed usable are reported, not fatal:
each becomes a :class:`ValidationIssue` in the feed's :class:`ValidationReport` and a
:class:`GtfsWarning`, and the offending rows are dropped and counted. Problems that make
the feed unusable (a required file or column missing) raise
:class:`~geosafe._errors.GtfsError`.

Example: the real TfL route 403 feed calls at stop ``490006706C13``, which is missing from
its ``stops.txt``. The reader warns, drops those stop times (the trips carry on without
that stop) and reports how many rows were dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from .._errors import GtfsError
from .gtfs_tables import (
    REQUIRED_FILES,
    WEEKDAYS,
    FeedFiles,
    GtfsWarning,
    IssueCollector,
    ValidationIssue,
    ValidationReport,
    clean_calendar,
    clean_frequencies,
    clean_stop_times,
    clean_stops,
    clean_transfers,
    parse_gtfs_time,
    read_table,
)

__all__ = [
    "Feed",
    "GtfsWarning",
    "ValidationIssue",
    "ValidationReport",
    "expand_frequencies",
    "feed_key",
    "load_pickle",
    "parse_gtfs_time",
    "read_feed",
    "save_pickle",
    "validate_feed",
    "write_feed",
]

log = logging.getLogger(__name__)

#: Part of the cache key: bump when the reader's output changes.
READER_VERSION: Final = "gtfs-reader-1"


@dataclass(frozen=True)
class Feed:
    """A GTFS feed read and cleaned by :func:`read_feed`.

    Tables are pandas DataFrames with the GTFS columns as text, except: ``stops`` has float
    ``stop_lat``/``stop_lon`` (NaN where invalid); ``stop_times`` has int ``stop_sequence``,
    ``arrival_s``/``departure_s`` (int seconds after midnight of the service day, missing
    intermediate times interpolated) and int ``pickup_type``/``drop_off_type``;
    ``frequencies`` has int ``start_s``, ``end_s``, ``headway_s``, ``exact_times``;
    ``transfers`` has int ``transfer_type`` and float ``min_transfer_time`` (seconds, NaN
    when absent). Rows that failed validation are already removed (see ``report``).
    """

    path: str
    timezone: str
    agency: pd.DataFrame
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    calendar: pd.DataFrame
    calendar_dates: pd.DataFrame
    frequencies: pd.DataFrame
    transfers: pd.DataFrame
    shapes: pd.DataFrame | None
    feed_info: pd.DataFrame | None
    report: ValidationReport
    _services_cache: dict[dt.date, frozenset[str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def services_on(self, date: dt.date) -> frozenset[str]:
        """The ``service_id`` values running on ``date``: ``calendar.txt`` weekday flags
        within ``start_date..end_date``, plus ``calendar_dates.txt`` additions
        (``exception_type`` 1), minus its removals (2)."""
        cached = self._services_cache.get(date)
        if cached is not None:
            return cached
        on: set[str] = set()
        cal = self.calendar
        if len(cal):
            day = WEEKDAYS[date.weekday()]
            key = date.strftime("%Y%m%d")
            mask = (cal[day] == "1") & (cal["start_date"] <= key) & (cal["end_date"] >= key)
            on.update(cal.loc[mask, "service_id"])
        cd = self.calendar_dates
        if len(cd):
            rows = cd[cd["date"] == date.strftime("%Y%m%d")]
            on.update(rows.loc[rows["exception_type"] == "1", "service_id"])
            on.difference_update(rows.loc[rows["exception_type"] == "2", "service_id"])
        result = frozenset(on)
        self._services_cache[date] = result
        return result

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last dates with any service according to the calendars, or ``None``."""
        keys: list[str] = []
        if len(self.calendar):
            keys += [self.calendar["start_date"].min(), self.calendar["end_date"].max()]
        if len(self.calendar_dates):
            added = self.calendar_dates[self.calendar_dates["exception_type"] == "1"]["date"]
            if len(added):
                keys += [added.min(), added.max()]
        if not keys:
            return None
        return _parse_date(min(keys)), _parse_date(max(keys))

    @property
    def is_estimated(self) -> bool:
        """``True`` when ``feed_info``/``agency`` mark the timetable as estimated."""
        text = " ".join(self.agency.get("agency_name", pd.Series(dtype=str)).tolist())
        if self.feed_info is not None:
            text += " " + " ".join(self.feed_info.astype(str).to_numpy().ravel().tolist())
        return "ESTIMATED" in text.upper()


def _parse_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()


def read_feed(path: str | Path, *, warn: bool = True, cache_dir: str | Path | None = None) -> Feed:
    """Read, validate and clean a GTFS feed.

    Parameters
    ----------
    path
        A feed directory or ``.zip`` archive.
    warn
        Emit a :class:`GtfsWarning` (``stacklevel=2``) for every recoverable problem, as
        well as recording it in ``Feed.report``.
    cache_dir
        Keep the cleaned feed in this directory, keyed by the SHA-256 of the feed's files
        (and the reader version), and reuse it while they are unchanged. The cache holds
        pickles: point it only at a directory this program owns.

    Returns
    -------
    Feed
        The cleaned tables and the :class:`ValidationReport`.

    Raises
    ------
    GtfsError
        A required file or column is missing, or nothing routable is left.
    """
    p = Path(path)
    feed: Feed | None = None
    cached: Path | None = None
    if cache_dir is not None:
        cached = Path(cache_dir) / f"gtfs-{feed_key(p)}.pkl"
        feed = load_pickle(cached)
    if feed is None:
        feed = _read_feed(p)
        if cached is not None:
            save_pickle(feed, cached)
    if warn:
        for i in feed.report.warnings:
            exs = f" (e.g. {', '.join(i.examples)})" if i.examples else ""
            warnings.warn(f"{feed.path} {i.file}.txt: {i.message}{exs}", GtfsWarning, stacklevel=2)
    return feed


def load_pickle(path: Path) -> Any:
    """What :func:`save_pickle` wrote at ``path``; ``None`` when there is no such file or it
    cannot be read (logged: the caller builds anew)."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.PickleError, EOFError, AttributeError) as exc:
        log.warning("ignoring unreadable cache %s: %s", path, exc)
        return None


def save_pickle(obj: object, path: Path) -> None:
    """Pickle ``obj`` to ``path`` atomically (a temporary file, then a rename), so a reader in
    another process never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def feed_key(path: Path) -> str:
    """SHA-256 of the reader version and the feed's files (names and bytes)."""
    h = hashlib.sha256(READER_VERSION.encode())
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    for f in files:
        h.update(f.name.encode())
        with f.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def _read_feed(p: Path) -> Feed:
    """Read and clean without warnings (see :func:`read_feed`)."""
    reader = FeedFiles(p)
    c = IssueCollector(str(p))
    tables = {name: read_table(reader, name, c, required=True) for name in REQUIRED_FILES}
    cal = read_table(reader, "calendar", c, required=False)
    cd = read_table(reader, "calendar_dates", c, required=False)
    if not reader.has("calendar") and not reader.has("calendar_dates"):
        msg = (
            f"GTFS feed {str(p)!r} has neither calendar.txt nor calendar_dates.txt; "
            "add one so service days are known."
        )
        raise GtfsError(msg)
    fr = read_table(reader, "frequencies", c, required=False)
    tr = read_table(reader, "transfers", c, required=False)
    shapes = read_table(reader, "shapes", c, required=False) if reader.has("shapes") else None
    feed_info = reader.read("feed_info") if reader.has("feed_info") else None

    agency = tables["agency"]
    tz = ""
    if "agency_timezone" in agency and len(agency):
        tz = agency["agency_timezone"].iloc[0]
    if not tz:
        c.issue("agency", "no_timezone", "agency_timezone is missing; assuming Europe/London")
        tz = "Europe/London"

    stops = clean_stops(tables["stops"], c)
    routes = tables["routes"]
    routes = c.drop(
        routes, routes["route_id"].duplicated(), "routes", "duplicate_id", routes["route_id"]
    )
    cal, cd = clean_calendar(cal, cd, c)
    trips = tables["trips"]
    trips = c.drop(trips, trips["trip_id"].duplicated(), "trips", "duplicate_id", trips["trip_id"])
    trips = c.drop(
        trips,
        ~trips["route_id"].isin(routes["route_id"]),
        "trips",
        "unknown_route",
        trips["route_id"],
    )
    services = set(cal["service_id"]) | set(cd["service_id"])
    trips = c.drop(
        trips, ~trips["service_id"].isin(services), "trips", "unknown_service", trips["service_id"]
    )
    st = clean_stop_times(tables["stop_times"], trips, stops, c)
    no_times = ~trips["trip_id"].isin(st["trip_id"])
    trips = c.drop(trips, no_times, "trips", "no_stop_times", trips["trip_id"])
    fr = clean_frequencies(fr, trips, c)
    tr = clean_transfers(tr, stops, c)
    if not len(st):
        c.issue("stop_times", "nothing_left", "no routable stop times are left", severity="error")
        msg = f"GTFS feed {str(p)!r} has no usable stop times left; see its validation report."
        raise GtfsError(msg)
    feed = Feed(
        path=str(p),
        timezone=tz,
        agency=agency,
        stops=stops,
        routes=routes.reset_index(drop=True),
        trips=trips.reset_index(drop=True),
        stop_times=st,
        calendar=cal,
        calendar_dates=cd,
        frequencies=fr,
        transfers=tr,
        shapes=shapes,
        feed_info=feed_info,
        report=c.report(),
    )
    return feed


def validate_feed(path: str | Path, *, cache_dir: str | Path | None = None) -> ValidationReport:
    """Read a feed without warnings and return its :class:`ValidationReport`.

    A feed that cannot be used at all (missing files or columns) still raises
    :class:`~geosafe._errors.GtfsError`. ``cache_dir``: keep the cleaned feed there (see
    :func:`read_feed`), so the next load skips the validation.
    """
    return read_feed(path, warn=False, cache_dir=cache_dir).report


def expand_frequencies(feed: Feed) -> pd.DataFrame:
    """Trip departures generated by ``frequencies.txt``.

    Each frequency row of a template trip yields departures at ``start_time``,
    ``start_time + headway``, ... while strictly before ``end_time``; the template's own
    stop times give the run times relative to its first departure. Both ``exact_times``
    values are expanded this way (for ``exact_times=0`` the real departures are only known
    on average, so the regular grid is the usual routing assumption).

    Returns
    -------
    pandas.DataFrame
        ``trip_id`` (the template), ``offset_s`` (seconds to add to the template's times),
        ``start_s`` (first departure of the generated trip).
    """
    fr = feed.frequencies
    if not len(fr):
        return pd.DataFrame(
            {
                "trip_id": pd.Series(dtype=str),
                "offset_s": pd.Series(dtype=np.int64),
                "start_s": pd.Series(dtype=np.int64),
            }
        )
    first = feed.stop_times.groupby("trip_id")["departure_s"].first()
    rows: list[tuple[str, int, int]] = []
    for trip, start, end, headway in fr[["trip_id", "start_s", "end_s", "headway_s"]].itertuples(
        index=False
    ):
        base = int(first[trip])
        for t in range(int(start), int(end), int(headway)):
            rows.append((trip, t - base, t))
    return pd.DataFrame(rows, columns=["trip_id", "offset_s", "start_s"])


def write_feed(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write GTFS tables (``{"stops": df, ...}``) as ``<name>.txt`` CSV files (UTF-8).

    Returns the paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = out / f"{name}.txt"
        df.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written

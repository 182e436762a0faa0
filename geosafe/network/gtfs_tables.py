"""The tables of a GTFS feed read and checked: required files and columns, the row checks
with their messages, and the validation report (used by :func:`geosafe.network.gtfs.read_feed`).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from .._errors import GtfsError

__all__ = [
    "MESSAGES",
    "REQUIRED_COLUMNS",
    "REQUIRED_FILES",
    "WEEKDAYS",
    "FeedFiles",
    "GtfsWarning",
    "IssueCollector",
    "ValidationIssue",
    "ValidationReport",
    "clean_calendar",
    "clean_frequencies",
    "clean_stop_times",
    "clean_stops",
    "clean_transfers",
    "empty_table",
    "parse_gtfs_time",
    "read_table",
]

log = logging.getLogger(__name__)

REQUIRED_FILES = ("agency", "stops", "routes", "trips", "stop_times")
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "stops": ("stop_id",),
    "routes": ("route_id",),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence"),
    "calendar": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers": ("from_stop_id", "to_stop_id", "transfer_type"),
    "shapes": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


#: Messages of the row checks, by (file, code); ``{n}`` is the number of rows dropped.
MESSAGES: Final[dict[tuple[str, str], str]] = {
    ("stops", "empty_id"): "{n} stop(s) without stop_id dropped",
    ("stops", "duplicate_id"): "{n} duplicate stop_id row(s) dropped (first kept)",
    (
        "calendar",
        "bad_row",
    ): "{n} calendar row(s) with weekday flags not 0/1 or dates not YYYYMMDD dropped",
    ("calendar", "reversed_dates"): "{n} calendar row(s) with start_date after end_date dropped",
    (
        "calendar_dates",
        "bad_row",
    ): "{n} calendar_dates row(s) with a date not YYYYMMDD or exception_type not 1/2 dropped",
    ("stop_times", "unknown_trip"): "{n} stop time(s) of trip_id values not in trips.txt dropped",
    ("stop_times", "bad_sequence"): "{n} stop time(s) with a non-numeric stop_sequence dropped",
    ("stop_times", "bad_time"): "{n} stop time(s) with a time not in HH:MM:SS form dropped",
    (
        "stop_times",
        "duplicate_sequence",
    ): "{n} stop time(s) repeating a trip's stop_sequence dropped",
    (
        "stop_times",
        "missing_times",
    ): "{n} stop time(s) of trips without a first or last time dropped",
    (
        "stop_times",
        "single_stop_trip",
    ): "{n} stop time(s) of trips left with fewer than two stops dropped",
    (
        "frequencies",
        "unknown_trip",
    ): "{n} frequency row(s) of trips not in trips.txt (or dropped) ignored",
    ("frequencies", "bad_row"): "{n} frequency row(s) with bad times or a headway not > 0 ignored",
    ("transfers", "unknown_stop"): "{n} transfer(s) between stops not in stops.txt ignored",
    ("transfers", "bad_type"): "{n} transfer(s) with a non-numeric transfer_type ignored",
    ("routes", "duplicate_id"): "{n} duplicate route_id row(s) dropped",
    ("trips", "duplicate_id"): "{n} duplicate trip_id row(s) dropped (first kept)",
    ("trips", "unknown_route"): "{n} trip(s) of route_id values not in routes.txt dropped",
    ("trips", "unknown_service"): "{n} trip(s) with a service_id in neither calendar file dropped",
    ("trips", "no_stop_times"): "{n} trip(s) left without stop times dropped",
}


class GtfsWarning(UserWarning):
    """A recoverable problem in a GTFS feed (rows dropped, values repaired)."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a feed.

    ``severity`` is ``"warning"`` (rows dropped or repaired, the feed is still usable) or
    ``"error"`` (the feed cannot be routed on). ``count`` is the number of rows affected;
    ``examples`` a few offending values.
    """

    severity: str
    file: str
    code: str
    message: str
    count: int = 0
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "severity": self.severity,
            "file": self.file,
            "code": self.code,
            "message": self.message,
            "count": self.count,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`read_feed` found: issues, rows read and rows dropped per file."""

    path: str
    issues: tuple[ValidationIssue, ...]
    rows_read: dict[str, int]
    rows_dropped: dict[str, int]

    @property
    def ok(self) -> bool:
        """``True`` when no issue is an error."""
        return not any(i.severity == "error" for i in self.issues)

    @property
    def warnings(self) -> tuple[ValidationIssue, ...]:
        """The warning-level issues."""
        return tuple(i for i in self.issues if i.severity == "warning")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "path": self.path,
            "ok": self.ok,
            "issues": [i.to_dict() for i in self.issues],
            "rows_read": dict(self.rows_read),
            "rows_dropped": dict(self.rows_dropped),
        }

    def format(self) -> str:
        """A plain-text summary, one line per issue."""
        lines = [f"GTFS feed {self.path}: {'usable' if self.ok else 'NOT usable'}"]
        for name, n in self.rows_read.items():
            dropped = self.rows_dropped.get(name, 0)
            lines.append(f"  {name}.txt: {n} rows read, {dropped} dropped")
        for i in self.issues:
            ex = f" (e.g. {', '.join(i.examples)})" if i.examples else ""
            lines.append(f"  {i.severity.upper()} {i.file} [{i.code}] {i.message}{ex}")
        return "\n".join(lines)


def parse_gtfs_time(values: Iterable[str] | pd.Series) -> np.ndarray:
    """GTFS ``HH:MM:SS`` (hours may exceed 23) to float seconds; NaN where empty or invalid.

    Examples
    --------
    >>> parse_gtfs_time(["08:05:30", "25:00:00", ""]).tolist()
    [29130.0, 90000.0, nan]
    """
    s = pd.Series(list(values) if not isinstance(values, pd.Series) else values, dtype=str)
    parts = s.str.strip().str.split(":", expand=True)
    if parts.shape[1] < 3:
        return np.full(len(s), np.nan)
    h = pd.to_numeric(parts[0], errors="coerce")
    m = pd.to_numeric(parts[1], errors="coerce")
    sec = pd.to_numeric(parts[2], errors="coerce")
    out = np.array((h * 3600 + m * 60 + sec).to_numpy(dtype=float), dtype=float, copy=True)
    bad = (m >= 60) | (sec >= 60) | (h < 0)
    out[(bad.fillna(False)).to_numpy(dtype=bool)] = np.nan
    return out


class FeedFiles:
    """Reads the member files of a feed directory or zip archive as text tables."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        if path.is_dir():
            self._names = {p.stem: p.name for p in path.glob("*.txt")}
        elif path.suffix.lower() == ".zip" and path.is_file():
            self._zip = zipfile.ZipFile(path)
            for info in self._zip.infolist():
                name = info.filename.rsplit("/", 1)[-1]
                if name.endswith(".txt"):
                    self._names[name[:-4]] = info.filename
        else:
            msg = (
                f"`gtfs` {str(path)!r} is neither a directory nor a .zip file; pass the "
                "folder holding stops.txt, trips.txt, ... or the feed's zip archive."
            )
            raise GtfsError(msg)

    def has(self, name: str) -> bool:
        return name in self._names

    def read(self, name: str) -> pd.DataFrame:
        if self._zip is not None:
            raw = io.BytesIO(self._zip.read(self._names[name]))
            df = pd.read_csv(raw, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            df = pd.read_csv(
                self.path / self._names[name],
                dtype=str,
                keep_default_na=False,
                encoding="utf-8-sig",
            )
        df.columns = [c.strip() for c in df.columns]
        for col in df.columns:
            df[col] = df[col].str.strip()
        return df


class IssueCollector:
    def __init__(self, path: str) -> None:
        self.path = path
        self.issues: list[ValidationIssue] = []
        self.rows_read: dict[str, int] = {}
        self.rows_dropped: dict[str, int] = {}

    def issue(
        self,
        file: str,
        code: str,
        message: str,
        *,
        count: int = 0,
        examples: Iterable[Any] = (),
        severity: str = "warning",
        dropped: int = 0,
    ) -> None:
        ex = tuple(str(e) for e in list(dict.fromkeys(examples))[:5])
        issue = ValidationIssue(severity, file, code, message, count, ex)
        self.issues.append(issue)
        if dropped:
            self.rows_dropped[file] = self.rows_dropped.get(file, 0) + dropped
        log.info("%s %s.txt [%s] %s", self.path, file, code, message)

    def drop(
        self,
        df: pd.DataFrame,
        bad: pd.Series,
        file: str,
        code: str,
        examples: pd.Series,
        *,
        message: str | None = None,
    ) -> pd.DataFrame:
        """Drop the ``bad`` rows of ``df``, recording an issue (message from
        :data:`MESSAGES` unless given) when there are any."""
        n = int(bad.sum())
        if not n:
            return df
        text = (message if message is not None else MESSAGES[(file, code)]).format(n=n)
        self.issue(file, code, text, count=n, examples=examples[bad], dropped=n)
        return df.loc[~bad].copy()

    def report(self) -> ValidationReport:
        return ValidationReport(self.path, tuple(self.issues), self.rows_read, self.rows_dropped)


def empty_table(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in columns})


def read_table(reader: FeedFiles, name: str, c: IssueCollector, *, required: bool) -> pd.DataFrame:
    if not reader.has(name):
        if required:
            msg = (
                f"GTFS feed {c.path!r} has no {name}.txt; a usable feed needs "
                f"{', '.join(f + '.txt' for f in REQUIRED_FILES)} and calendar.txt or "
                "calendar_dates.txt."
            )
            raise GtfsError(msg)
        return empty_table(REQUIRED_COLUMNS.get(name, ()))
    df = reader.read(name)
    missing = [col for col in REQUIRED_COLUMNS.get(name, ()) if col not in df.columns]
    if missing:
        msg = (
            f"{name}.txt in GTFS feed {c.path!r} lacks the required column(s) {missing!r}; "
            f"its columns are {list(df.columns)!r}. Fix the header row."
        )
        raise GtfsError(msg)
    c.rows_read[name] = len(df)
    return df


def clean_stops(stops: pd.DataFrame, c: IssueCollector) -> pd.DataFrame:
    stops = c.drop(
        stops,
        stops["stop_id"] == "",
        "stops",
        "empty_id",
        stops["stop_name"] if "stop_name" in stops else stops["stop_id"],
    )
    dup = stops["stop_id"].duplicated()
    stops = c.drop(stops, dup, "stops", "duplicate_id", stops["stop_id"])
    for col in ("stop_lat", "stop_lon"):
        if col not in stops:
            stops[col] = ""
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce")
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce")
    bad = lat.isna() | lon.isna() | (lat.abs() > 90) | (lon.abs() > 180) | ((lat == 0) & (lon == 0))
    loc_type = stops.get("location_type", pd.Series("", index=stops.index))
    needs_coords = loc_type.isin(["", "0", "1", "2"])
    if int((bad & needs_coords).sum()):
        n = int((bad & needs_coords).sum())
        c.issue(
            "stops",
            "bad_coordinates",
            f"{n} stop(s) with missing or impossible stop_lat/stop_lon kept without a "
            "position (no walking to or from them)",
            count=n,
            examples=stops.loc[bad & needs_coords, "stop_id"],
        )
    stops["stop_lat"] = lat.where(~bad)
    stops["stop_lon"] = lon.where(~bad)
    if "stop_name" not in stops:
        stops["stop_name"] = stops["stop_id"]
    if "parent_station" not in stops:
        stops["parent_station"] = ""
    return stops.reset_index(drop=True)


def clean_calendar(
    cal: pd.DataFrame, cd: pd.DataFrame, c: IssueCollector
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if len(cal):
        bad_flags = ~cal[list(WEEKDAYS)].isin(["0", "1"]).all(axis=1)
        dates_ok = cal["start_date"].str.fullmatch(r"\d{8}") & cal["end_date"].str.fullmatch(
            r"\d{8}"
        )
        cal = c.drop(cal, bad_flags | ~dates_ok, "calendar", "bad_row", cal["service_id"])
        rev = cal["start_date"] > cal["end_date"]
        cal = c.drop(cal, rev, "calendar", "reversed_dates", cal["service_id"])
    if len(cd):
        bad = ~cd["date"].str.fullmatch(r"\d{8}") | ~cd["exception_type"].isin(["1", "2"])
        cd = c.drop(cd, bad, "calendar_dates", "bad_row", cd["service_id"])
    return cal.reset_index(drop=True), cd.reset_index(drop=True)


def _interpolate_times(st: pd.DataFrame) -> pd.DataFrame:
    """Fill missing intermediate arrival/departure times linearly (by shape_dist_traveled
    when every row of the trip has it, else by position)."""
    arr = st["arrival_s"].to_numpy(dtype=float)
    dep = st["departure_s"].to_numpy(dtype=float)
    arr = np.where(np.isnan(arr), dep, arr)
    dep = np.where(np.isnan(dep), arr, dep)
    missing = np.isnan(arr)
    if missing.any():
        dist = pd.to_numeric(
            st.get("shape_dist_traveled", pd.Series("", index=st.index)), errors="coerce"
        ).to_numpy(dtype=float)
        trips = st["trip_id"].to_numpy()
        for trip in pd.unique(trips[missing]):
            idx = np.flatnonzero(trips == trip)
            known = ~np.isnan(arr[idx])
            x = dist[idx] if not np.isnan(dist[idx]).any() else np.arange(len(idx), dtype=float)
            if known.sum() >= 2:
                fill = np.interp(x[~known], x[known], arr[idx][known])
                a = arr[idx]
                a[~known] = np.round(fill)
                arr[idx] = a
                d = dep[idx]
                d[~known] = np.round(fill)
                dep[idx] = d
    st["arrival_s"] = arr
    st["departure_s"] = dep
    return st


def clean_stop_times(
    st: pd.DataFrame, trips: pd.DataFrame, stops: pd.DataFrame, c: IssueCollector
) -> pd.DataFrame:
    st = c.drop(
        st, ~st["trip_id"].isin(trips["trip_id"]), "stop_times", "unknown_trip", st["trip_id"]
    )
    unknown = ~st["stop_id"].isin(stops["stop_id"])
    if unknown.any():
        n_trips = st.loc[unknown, "trip_id"].nunique()
        st = c.drop(
            st,
            unknown,
            "stop_times",
            "unknown_stop",
            st["stop_id"],
            message="{n} stop time(s) at stop_id values missing from stops.txt dropped; "
            f"{n_trips} trip(s) carry on without those stops",
        )
    seq = pd.to_numeric(st["stop_sequence"], errors="coerce")
    st = c.drop(st, seq.isna(), "stop_times", "bad_sequence", st["trip_id"])
    st["stop_sequence"] = pd.to_numeric(st["stop_sequence"]).astype(np.int64)
    for col in ("arrival_time", "departure_time"):
        if col not in st:
            st[col] = ""
    st["arrival_s"] = parse_gtfs_time(st["arrival_time"])
    st["departure_s"] = parse_gtfs_time(st["departure_time"])
    bad_text = ((st["arrival_time"] != "") & np.isnan(st["arrival_s"])) | (
        (st["departure_time"] != "") & np.isnan(st["departure_s"])
    )
    st = c.drop(st, bad_text, "stop_times", "bad_time", st["trip_id"])
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    dup = st.duplicated(["trip_id", "stop_sequence"])
    st = c.drop(st, dup, "stop_times", "duplicate_sequence", st["trip_id"])
    st = _interpolate_times(st.reset_index(drop=True))
    # trips whose first or last time is missing cannot be interpolated
    no_time = st.groupby("trip_id")["arrival_s"].transform(lambda s: s.isna().any())
    st = c.drop(st, no_time.astype(bool), "stop_times", "missing_times", st["trip_id"])
    # times must not decrease along a trip
    arr = st["arrival_s"].to_numpy()
    dep = st["departure_s"].to_numpy()
    same = st["trip_id"].to_numpy()[1:] == st["trip_id"].to_numpy()[:-1]
    back = np.zeros(len(st), dtype=bool)
    back[1:] = same & (arr[1:] < dep[:-1])
    back |= dep < arr
    if back.any():
        bad_trips = set(st.loc[back, "trip_id"])
        st = c.drop(
            st,
            st["trip_id"].isin(bad_trips),
            "stop_times",
            "time_travel",
            st["trip_id"],
            message="{n} stop time(s) of " + str(len(bad_trips)) + " trip(s) whose times go "
            "backwards dropped",
        )
    short = st.groupby("trip_id")["stop_id"].transform("size") < 2
    st = c.drop(st, short.astype(bool), "stop_times", "single_stop_trip", st["trip_id"])
    st["arrival_s"] = st["arrival_s"].astype(np.int64)
    st["departure_s"] = st["departure_s"].astype(np.int64)
    for col in ("pickup_type", "drop_off_type"):
        vals = (
            pd.to_numeric(st[col], errors="coerce") if col in st else pd.Series(0, index=st.index)
        )
        st[col] = vals.fillna(0).astype(np.int64)
    keep = [
        "trip_id",
        "stop_id",
        "stop_sequence",
        "arrival_s",
        "departure_s",
        "pickup_type",
        "drop_off_type",
        "arrival_time",
        "departure_time",
    ]
    if "shape_dist_traveled" in st:
        keep.append("shape_dist_traveled")
    return st[keep].reset_index(drop=True)


def clean_frequencies(fr: pd.DataFrame, trips: pd.DataFrame, c: IssueCollector) -> pd.DataFrame:
    if not len(fr):
        return pd.DataFrame(columns=["trip_id", "start_s", "end_s", "headway_s", "exact_times"])
    fr = c.drop(
        fr, ~fr["trip_id"].isin(trips["trip_id"]), "frequencies", "unknown_trip", fr["trip_id"]
    )
    fr = fr.copy()
    fr["start_s"] = parse_gtfs_time(fr["start_time"])
    fr["end_s"] = parse_gtfs_time(fr["end_time"])
    fr["headway_s"] = pd.to_numeric(fr["headway_secs"], errors="coerce")
    bad = (
        fr["start_s"].isna()
        | fr["end_s"].isna()
        | ~(fr["headway_s"] > 0)
        | (fr["end_s"] <= fr["start_s"])
    )
    fr = c.drop(fr, bad, "frequencies", "bad_row", fr["trip_id"])
    exact = fr["exact_times"] if "exact_times" in fr else pd.Series("", index=fr.index)
    out = pd.DataFrame(
        {
            "trip_id": fr["trip_id"],
            "start_s": fr["start_s"].astype(np.int64),
            "end_s": fr["end_s"].astype(np.int64),
            "headway_s": fr["headway_s"].astype(np.int64),
            "exact_times": (exact == "1").astype(np.int64),
        }
    )
    return out.reset_index(drop=True)


def clean_transfers(tr: pd.DataFrame, stops: pd.DataFrame, c: IssueCollector) -> pd.DataFrame:
    if not len(tr):
        return pd.DataFrame(
            columns=["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"]
        )
    known = stops["stop_id"]
    bad = ~tr["from_stop_id"].isin(known) | ~tr["to_stop_id"].isin(known)
    tr = c.drop(tr, bad, "transfers", "unknown_stop", tr["from_stop_id"] + "->" + tr["to_stop_id"])
    tr = tr.copy()
    tr["transfer_type"] = pd.to_numeric(tr["transfer_type"].replace("", "0"), errors="coerce")
    tr = c.drop(tr, tr["transfer_type"].isna(), "transfers", "bad_type", tr["from_stop_id"])
    mtt = tr["min_transfer_time"] if "min_transfer_time" in tr else pd.Series("", index=tr.index)
    tr["min_transfer_time"] = pd.to_numeric(mtt, errors="coerce")
    tr["transfer_type"] = tr["transfer_type"].astype(np.int64)
    return tr[["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"]].reset_index(
        drop=True
    )

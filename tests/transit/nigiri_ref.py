"""The reference engine for the transit cross-check: MOTIS nigiri through pynigiri.

Used by ``tests/transit/test_crosscheck.py`` (a small sample) and
``benchmarks/transit_crosscheck.py`` / ``benchmarks/transit.py`` (the full runs).

Matched rules. Both engines read the same *prepared copy* of a feed:

* stop names are made unique (``name [stop_id]``) and nigiri's ``link_stop_distance`` is 0,
  so nigiri generates no footpaths of its own between same-name or nearby stops (it would
  add 2-minute links between every pair of stops sharing a name within 500 m); our router
  runs with ``transfer_walk_m=0``;
* ``transfers.txt`` is left out: nigiri turns an untimed ``transfer_type=0`` pair into a
  0-minute footpath (or 2 minutes, by rules of its own), ours walks it at walking speed.
  Both engines then change buses only at the same stop, after 2 minutes (``transfers.txt``
  handling is tested on the hand-made feed instead);
* stop times are truncated to whole minutes, because nigiri works in whole minutes (it
  drops the seconds); our router keeps seconds, which on the TriMet feed (times like
  06:45:25) would otherwise make boarding feasible in one engine and not the other;
* ``block_id`` is blanked: nigiri joins the trips of a block into one vehicle by rules of
  its own (it let riders stay seated across some terminus layovers and not others on the
  TriMet feed); our router stays seated only across a zero layover (``max_layover_s``);
* ``frequencies.txt`` is left as it is: each engine expands it itself;
* the route 403 feed's stop missing from stops.txt: both engines skip those stop times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

MAX_TRANSFERS = 6


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence nigiri's C++ log lines (written straight to file descriptor 2)."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _minutes(text: pd.Series) -> pd.Series:
    parts = text.str.split(":", expand=True)
    ok = text.str.len() > 0
    out = parts[0].str.zfill(2) + ":" + parts[1] + ":00"
    return out.where(ok, "")


def prepare_feed(src: Path, out_dir: Path | None = None) -> Path:
    """Copy a feed with unique stop names and stop times truncated to minutes."""
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="gtfs-xc-"))
    out.mkdir(parents=True, exist_ok=True)
    for f in Path(src).glob("*.txt"):
        if f.name != "transfers.txt":
            shutil.copy(f, out / f.name)
    stops = pd.read_csv(out / "stops.txt", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    stops["stop_name"] = stops["stop_name"] + " [" + stops["stop_id"] + "]"
    stops.to_csv(out / "stops.txt", index=False)
    trips = pd.read_csv(out / "trips.txt", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if "block_id" in trips:
        trips["block_id"] = ""
        trips.to_csv(out / "trips.txt", index=False)
    st = pd.read_csv(out / "stop_times.txt", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for col in ("arrival_time", "departure_time"):
        st[col] = _minutes(st[col].str.strip())
    st.to_csv(out / "stop_times.txt", index=False)
    return out


class Nigiri:
    """A pynigiri timetable of one prepared feed with minute-based stop-to-stop queries."""

    def __init__(self, feed_dir: Path, first: dt.date, last: dt.date, timezone: str) -> None:
        import pynigiri as ng

        self.ng = ng
        cfg = ng.LoaderConfig()
        cfg.link_stop_distance = 0
        cfg.default_tz = timezone
        opts = ng.FinalizeOptions()
        with quiet_stderr():
            self.tt = ng.load_timetable(
                [ng.TimetableSource("gtfs", str(feed_dir), cfg)],
                (first - dt.timedelta(days=1)).isoformat(),
                (last + dt.timedelta(days=2)).isoformat(),
                opts,
            )
        self.tz = ZoneInfo(timezone)
        self._loc: dict[str, object] = {}

    def loc(self, stop_id: str) -> object:
        if stop_id not in self._loc:
            self._loc[stop_id] = self.tt.find_location(stop_id)
        return self._loc[stop_id]

    def base_minute(self, date: dt.date) -> int:
        """Minutes since the epoch of the service day's GTFS midnight (noon minus 12 h)."""
        noon = dt.datetime(date.year, date.month, date.day, 12, tzinfo=self.tz)
        return int((noon - dt.timedelta(hours=12)).timestamp()) // 60

    def local_midnight_minute(self, date: dt.date) -> int:
        """Minutes since the epoch of the service day's local midnight."""
        return int(dt.datetime(date.year, date.month, date.day, tzinfo=self.tz).timestamp()) // 60

    def earliest_arrival_min(
        self, a: str, b: str, date: dt.date, depart_min: int, *, local_midnight: bool = False
    ) -> int | None:
        """Earliest arrival, minutes after the service day's midnight (``None``: no journey).

        ``local_midnight`` counts from the local midnight instead of GTFS's noon minus 12 h
        (they differ by an hour on daylight-saving change days).
        """
        ng = self.ng
        la, lb = self.loc(a), self.loc(b)
        if la is None or lb is None:
            return None
        base = self.local_midnight_minute(date) if local_midnight else self.base_minute(date)
        q = ng.Query()
        q.start_time = base + depart_min
        q.start = [ng.Offset(la, 0, 0)]
        q.destination = [ng.Offset(lb, 0, 0)]
        q.max_transfers = MAX_TRANSFERS
        q.use_start_footpaths = True
        journeys = ng.route(self.tt, q)
        if not journeys:
            return None
        return min(int(j.dest_time) for j in journeys) - base


def journey_is_valid(
    feed: object, journey: object, date: dt.date, min_transfer_s: int = 120
) -> bool:
    """Check a journey against the feed's own tables, independently of the router: every
    bus leg must match a trip running on ``date`` (or the day before/after, shifted by
    24 h) that departs ``from_stop`` at the leg's departure and reaches ``to_stop`` at its
    arrival (``frequencies.txt`` trips on their headway grid), and every change at one stop
    must leave ``min_transfer_s``."""
    st = feed.stop_times  # type: ignore[attr-defined]
    trips = feed.trips.set_index("trip_id")  # type: ignore[attr-defined]
    freq = feed.frequencies  # type: ignore[attr-defined]
    prev_bus = None
    for leg in journey.legs:  # type: ignore[attr-defined]
        if leg.mode != "bus":
            continue
        rows = st[st["trip_id"] == leg.trip_id].sort_values("stop_sequence")
        ids = rows["stop_id"].tolist()
        if leg.from_stop not in ids or leg.to_stop not in ids:
            return False
        i, j = ids.index(leg.from_stop), len(ids) - 1 - ids[::-1].index(leg.to_stop)
        dep0, arr0 = int(rows["departure_s"].iloc[i]), int(rows["arrival_s"].iloc[j])
        first = int(rows["departure_s"].iloc[0])
        fr = freq[freq["trip_id"] == leg.trip_id]
        starts = (
            [first]
            if fr.empty
            else [
                t
                for a, b, h in fr[["start_s", "end_s", "headway_s"]].itertuples(index=False)
                for t in range(int(a), int(b), int(h))
            ]
        )
        ok = False
        service = trips.at[leg.trip_id, "service_id"]
        for shift in (-1, 0, 1):
            if service not in feed.services_on(date + dt.timedelta(days=shift)):  # type: ignore[attr-defined]
                continue
            for t0 in starts:
                off = t0 - first + shift * 86400
                if dep0 + off == leg.depart_s and arr0 + off == leg.arrive_s:
                    ok = True
        if not ok:
            return False
        if (
            prev_bus is not None
            and prev_bus.to_stop == leg.from_stop
            and leg.depart_s - prev_bus.arrive_s < min_transfer_s
        ):
            return False
        prev_bus = leg
    return True


def is_dst_change_day(date: dt.date, tz: ZoneInfo) -> bool:
    """``True`` when the UTC offset at the end of ``date`` differs from its start."""
    a = dt.datetime(date.year, date.month, date.day, tzinfo=tz).utcoffset()
    nxt = date + dt.timedelta(days=1)
    b = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).utcoffset()
    return a != b


@dataclass
class Crosscheck:
    """Outcome of :func:`crosscheck` on one feed."""

    feed: str
    queries: int = 0
    answered: int = 0
    agree: int = 0
    only_ours: int = 0
    only_nigiri: int = 0
    differences: list[dict[str, object]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.agree / self.answered if self.answered else float("nan")

    @property
    def unexplained(self) -> list[dict[str, object]]:
        return [d for d in self.differences if d["explanation"] is None]


def crosscheck(
    src: Path, *, answered: int, seed: int = 0, max_days: int = 300, horizon_min: int = 1440
) -> Crosscheck:
    """Random stop-to-stop earliest-arrival queries on both engines.

    Draws (origin, destination, service day, departure 05:00-23:00) until ``answered``
    queries have a journey in at least one engine (journeys longer than ``horizon_min``
    minutes count as none in both). Each difference gets an explanation or ``None``:
    ``dst_change_day`` when the day is a daylight-saving change day in the feed's zone
    and the same query a week later (same weekday, not a change day) agrees;
    ``frequency_trip_after_midnight`` when our earlier journey rides a trip generated by
    ``frequencies.txt`` after 24:00 of its service day (nigiri 0.1.5 does not offer those
    departures: on the estimated demo feed, bands run to 24:30);
    ``ours_earlier_and_valid`` when ours arrives earlier and :func:`journey_is_valid`
    confirms every leg of our journey from the feed's own tables (nigiri missed it).
    """
    import random
    import warnings

    from geosafe.network.gtfs import read_feed
    from geosafe.network.transit import RaptorRouter

    prepared = prepare_feed(src)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feed = read_feed(prepared, warn=False)
        router = RaptorRouter(feed, transfer_walk_m=0, max_transfers=MAX_TRANSFERS)
        dr = feed.date_range()
        if dr is None:
            raise ValueError(f"{src} has no service dates")
        first, last = dr[0], min(dr[1], dr[0] + dt.timedelta(days=max_days))
        ref = Nigiri(prepared, first, last + dt.timedelta(days=7), feed.timezone)
        rng = random.Random(seed)
        stops = sorted(set(feed.stop_times["stop_id"]))
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        used = set(feed.trips["service_id"])
        days = [d for d in days if feed.services_on(d) & used]
        if not days:
            raise ValueError(f"{src}: no service day with trips in the first {max_days} days")
        out = Crosscheck(feed=Path(src).name)

        def ours(a: str, b: str, day: dt.date, t: int) -> int | None:
            s = router.earliest_arrival_s(a, b, depart_s=t * 60, date=day)
            m = None if s is None else s // 60
            return None if m is None or m - t > horizon_min else m

        def theirs(a: str, b: str, day: dt.date, t: int) -> int | None:
            m = ref.earliest_arrival_min(a, b, day, t)
            return None if m is None or m - t > horizon_min else m

        def draws() -> Iterator[tuple[str, str, dt.date, int]]:
            # chunks of random queries, each sorted by day so the router's per-day
            # tables are built once per chunk and day
            while True:
                chunk = [
                    (*rng.sample(stops, 2), rng.choice(days), rng.randrange(5 * 60, 23 * 60))
                    for _ in range(256)
                ]
                yield from sorted(chunk, key=lambda q: q[2])

        for a, b, day, t in draws():
            if out.answered >= answered:
                break
            if out.queries > 100 * answered:
                raise RuntimeError(f"{src}: too few queries have a journey in either engine")
            out.queries += 1
            m, r = ours(a, b, day, t), theirs(a, b, day, t)
            if m is None and r is None:
                continue
            out.answered += 1
            if m == r:
                out.agree += 1
                continue
            out.only_ours += r is None
            out.only_nigiri += m is None
            explanation = None
            freq_trips = set(feed.frequencies["trip_id"])
            if m is not None and (r is None or m < r):
                j = router.earliest_arrival(a, b, depart_s=t * 60, date=day)
                if j is not None and any(
                    leg.mode == "bus" and leg.trip_id in freq_trips and leg.depart_s >= 86400
                    for leg in j.legs
                ):
                    explanation = "frequency_trip_after_midnight"
            if explanation is None and m is not None and (r is None or m < r):
                j = router.earliest_arrival(a, b, depart_s=t * 60, date=day)
                if j is not None and journey_is_valid(feed, j, day):
                    explanation = "ours_earlier_and_valid"
            week = day + dt.timedelta(days=7)
            if explanation is None and (
                is_dst_change_day(day, ref.tz)
                and feed.services_on(week) == feed.services_on(day)
                and ours(a, b, week, t) == theirs(a, b, week, t)
            ):
                explanation = "dst_change_day"
            out.differences.append(
                {
                    "origin": a,
                    "destination": b,
                    "date": day.isoformat(),
                    "depart_min": t,
                    "ours_min": m,
                    "nigiri_min": r,
                    "explanation": explanation,
                }
            )
        return out
    finally:
        shutil.rmtree(prepared, ignore_errors=True)

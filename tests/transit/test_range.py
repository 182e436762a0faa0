"""rRAPTOR range search (``_raptor_range.range_arrivals``) equals one earliest-arrival search per
minute (``raptor_kernel``, the search every other query uses) on the bundled demo feed, the
hand-made feed and, when present, the real feeds (issue 16, item 5)."""

from __future__ import annotations

import datetime as dt
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from geosafe.network import _raptor
from geosafe.network.gtfs import read_feed
from geosafe.network.transit import RaptorRouter

ROOT = Path(__file__).resolve().parent.parent.parent


def _per_minute(router: RaptorRouter, origin, destination, deps, date) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The former ``departure_window``: one full search per departure."""
    src, src_w, a = router._resolve(origin, "origin")
    tgt, tgt_w, b = router._resolve(destination, "destination")
    day = router._day(date)
    walk = router._direct_walk_s(a, b)
    out = np.full(len(deps), np.nan)
    for i, d in enumerate(deps):
        res = router._search(day, src, d + src_w, tgt, tgt_w)
        best = min(float(res[0]) if res[0] < _raptor.INF else np.inf, d + walk)
        if np.isfinite(best):
            out[i] = best
    return out


def _check(router: RaptorRouter, pairs, date: dt.date, start_s: int, end_s: int) -> int:  # type: ignore[no-untyped-def]
    found = 0
    deps = np.arange(start_s, end_s, 60, dtype=np.int64)
    for o, d in pairs:
        w = router.departure_window(o, d, start_s=start_s, end_s=end_s, date=date)
        ref = _per_minute(router, o, d, deps, date)
        np.testing.assert_array_equal(w.arrivals_s, ref, err_msg=f"{o!r} -> {d!r}")
        found += int(np.isfinite(ref).sum())
    return found


def _running_weekday(feed) -> dt.date:  # type: ignore[no-untyped-def]
    used = set(feed.trips["service_id"])
    first, last = feed.date_range()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    running = [d for d in days if feed.services_on(d) & used]
    return next((d for d in running if d.weekday() < 5), running[0])


@pytest.fixture(scope="module")
def demo_router() -> tuple[RaptorRouter, dt.date]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = read_feed(ROOT / "data" / "gtfs" / "demo_area_estimated", warn=False)
    return RaptorRouter(feed), _running_weekday(feed)


def test_range_equals_per_minute_on_demo_stops(demo_router) -> None:  # type: ignore[no-untyped-def]
    router, day = demo_router
    rng = random.Random(3)
    stops = sorted(router.stop_index)
    pairs = [tuple(rng.sample(stops, 2)) for _ in range(25)]
    assert _check(router, pairs, day, 7 * 3600 + 15 * 60, 8 * 3600 + 15 * 60) > 500


@pytest.mark.parametrize("max_transfers", [0, 1, 2])
def test_range_under_a_tight_round_limit(demo_router, max_transfers: int) -> None:  # type: ignore[no-untyped-def]
    """A later departure's labels with more trips must not prune an earlier departure's
    labels with fewer (found on the demo feed: 490019454S to 490003712E arrived 46380 s
    instead of 41580 s with per-journey pruning across departures)."""
    base, day = demo_router
    router = RaptorRouter(base.feed, transfer_walk_m=0, max_transfers=max_transfers)
    rng = random.Random(17 + max_transfers)
    stops = sorted(router.stop_index)
    pairs = [("490019454S", "490003712E")] + [tuple(rng.sample(stops, 2)) for _ in range(30)]
    _check(router, pairs, day, 7 * 3600, 8 * 3600)


def test_range_equals_per_minute_between_points(demo_router) -> None:  # type: ignore[no-untyped-def]
    """Points: several access stops with different walks, footpaths, walking only."""
    router, day = demo_router
    rng = np.random.default_rng(5)
    xy = router.xy[np.isfinite(router.xy[:, 0])]
    pts = [tuple(map(float, xy[i] + rng.normal(0, 150, 2))) for i in rng.choice(len(xy), 24)]
    pairs = list(zip(pts[::2], pts[1::2], strict=True))
    pairs.append((pts[0], (pts[0][0] + 200.0, pts[0][1])))  # walking beats any bus
    assert _check(router, pairs, day, 15 * 3600, 16 * 3600) > 400


def test_range_at_the_end_of_service(demo_router) -> None:  # type: ignore[no-untyped-def]
    """After the last trips: the next event lies beyond the window, or none at all."""
    router, day = demo_router
    stops = sorted(router.stop_index)
    rng = random.Random(11)
    pairs = [tuple(rng.sample(stops, 2)) for _ in range(6)]
    _check(router, pairs, day, 23 * 3600, 25 * 3600 + 1800)


def test_range_on_the_hand_feed(hand_feed: Path) -> None:
    router = RaptorRouter(hand_feed, transfer_walk_m=0)
    tue = dt.date(2026, 3, 10)
    _check(router, [("A", "D"), ("A", "C"), ("B", "D"), ("D", "A")], tue, 7 * 3600, 10 * 3600)


@pytest.mark.parametrize("name", ["caltrain_2017", "trimet_vermont_2018"])
def test_range_equals_per_minute_on_real_feeds(gtfs_root: Path, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed = read_feed(gtfs_root / name, warn=False)
    router = RaptorRouter(feed)
    day = _running_weekday(feed)
    rng = random.Random(2)
    stops = sorted(set(feed.stop_times["stop_id"]))
    pairs = [tuple(rng.sample(stops, 2)) for _ in range(20)]
    assert _check(router, pairs, day, 7 * 3600, 8 * 3600) > 0

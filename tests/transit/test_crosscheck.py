"""Earliest arrivals agree with MOTIS nigiri (pynigiri) to the minute: 100 answered random
queries per real feed (the 1,000-query run is ``benchmarks/transit_crosscheck.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import REAL_FEEDS

pytest.importorskip("pynigiri")

from .nigiri_ref import crosscheck


@pytest.mark.parametrize("name", REAL_FEEDS)
def test_same_earliest_arrival_as_nigiri(gtfs_root: Path, name: str) -> None:
    res = crosscheck(gtfs_root / name, answered=100, seed=11)
    assert res.answered == 100
    # every difference is explained: a daylight-saving change day (the same query a week
    # later agrees), or our journey is earlier and every leg checks out against the feed
    assert res.unexplained == []
    assert res.agree / res.answered >= 0.95

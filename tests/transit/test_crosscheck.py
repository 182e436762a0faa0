"""Earliest arrivals agree with MOTIS nigiri (pynigiri) to the minute: 100 answered random
queries per real feed (the 1,000-query run is ``benchmarks/transit_crosscheck.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import REAL_FEEDS

pytest.importorskip("pynigiri")

from .nigiri_ref import crosscheck


@pytest.mark.parametrize("name", [*REAL_FEEDS, "demo_area_estimated"])
def test_same_earliest_arrival_as_nigiri(gtfs_root: Path, data_dir: Path, name: str) -> None:
    src = data_dir / "gtfs" / name if name == "demo_area_estimated" else gtfs_root / name
    res = crosscheck(src, answered=100, seed=11, max_days=60 if name.startswith("demo") else 300)
    assert res.answered == 100
    # every difference is explained: a daylight-saving change day (the same query a week
    # later agrees), or our journey is earlier and every leg checks out against the feed
    assert res.unexplained == []
    assert res.agree / res.answered >= 0.95

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
    # every difference is explained (daylight-saving change days, where nigiri's times
    # differ from GTFS's noon-minus-12h rule and the same query a week later agrees)
    assert res.unexplained == []
    dst = sum(1 for d in res.differences if d["explanation"] == "dst_change_day")
    assert res.agree / (res.answered - dst) >= 0.99

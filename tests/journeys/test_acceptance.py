"""Acceptance on the bundled data: FAP pupils of the synthetic store to school, walk and bus.

Slow (synthesises and imports a store, builds the estimated demo-area timetable router): run
with ``pytest -m slow tests/journeys/test_acceptance.py``. The full numbers for every demo
school come from ``benchmarks/journeys.py --store PATH``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pytest

from geosafe import datasets
from geosafe.filters import IncidentFilter
from geosafe.network import origins as og
from geosafe.network.journeys import FallbackWalk
from geosafe.network.walk import WalkNetwork
from geosafe.risk.exposure import build_exposure_model, journey_window
from geosafe.risk.journeys import assess_journeys

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from geosafe.cli import main

    d = tmp_path_factory.mktemp("synth")
    try:
        assert main(["synth", "--out", str(d), "--seed", "11", "--months", "6"]) == 0
        for source in ("dir", "asif", "cris", "fap"):
            assert main(["import", source, str(d / f"{source}.csv"), "--db", str(d / "s.db")]) == 0
    finally:
        logging.captureWarnings(False)
    return d / "s.db"


def test_fap_pupils_walk_and_bus(synthetic_store: Path, bundled_net: WalkNetwork) -> None:
    from geosafe.network.transit import RaptorRouter
    from geosafe.store import Store

    store = Store(synthetic_store)
    model = build_exposure_model(
        store.incidents(),
        incident_filter=IncidentFilter(
            sources=("dir", "asif", "cris"),
            preset="school-run",
            hours=journey_window(dt.time(8, 45)),
        ),
    )
    assert model.window_hours > 0 and model.hotspots
    router = RaptorRouter(
        datasets.gtfs_dir(), walk=FallbackWalk(bundled_net), walk_path=bundled_net.path_line
    )
    kw = {"bell": dt.time(8, 45), "date": dt.date(2025, 3, 4), "network": bundled_net}
    n_fap = 0
    walked = bused = 0
    for urn in ("137531", "102056"):  # Alexandra Park, Laurel Park
        pcs = og.fap_home_postcodes(store, urn)
        n_fap += len(pcs)
        origins = og.origins_from_postcodes(pcs, kind="fap")
        walk = assess_journeys(urn, origins, mode="walk", model=model, **kw)
        bus = assess_journeys(urn, origins, mode="bus", router=router, model=model, **kw)
        for results in (walk, bus):
            # one result per postcode, every pupil accounted for
            assert sum(r.count for r in results) == len(pcs)
            for r in results:
                if r.error is not None:
                    continue
                assert r.exposure >= 0 and r.alt_exposure <= r.exposure + 1e-9
                assert r.arrive_s <= 8.75 * 3600
        for r in walk:
            if r.error is None:
                walked += r.count
                assert r.alt_distance_m <= 1.2 * r.distance_m + 1e-6
                assert r.distance_m >= np.hypot(
                    *(np.array(r.geometry.coords[0]) - r.geometry.coords[-1])
                )
        bused += sum(r.count for r in bus if r.error is None)
    assert n_fap > 0 and walked > 0 and bused > 0

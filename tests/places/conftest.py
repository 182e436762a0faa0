"""A hand-made street network around a real demo school, and a hand-made roll."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from geosafe.network.origins import Origins, school_location
from geosafe.network.walk import WalkNetwork

URN = "102053"
BELL = dt.time(8, 40)
DAY = dt.date(2025, 3, 4)


@pytest.fixture(scope="session")
def school_xy() -> tuple[float, float]:
    return school_location(URN)[0]


@pytest.fixture(scope="session")
def plus_net(school_xy: tuple[float, float]) -> WalkNetwork:
    """A plus sign centred on the school: four straight 800 m arms (nodes every 200 m)."""
    x0, y0 = school_xy
    xs, ys, us, vs = [x0], [y0], [], []
    for dx, dy in ((-1, 0), (0, 1), (1, 0), (0, -1)):
        prev = 0
        for k in range(1, 5):
            xs.append(x0 + dx * 200.0 * k)
            ys.append(y0 + dy * 200.0 * k)
            us.append(prev)
            vs.append(len(xs) - 1)
            prev = len(xs) - 1
    x, y = np.array(xs), np.array(ys)
    u, v = np.array(us), np.array(vs)
    n = len(u)
    return WalkNetwork(
        node_x=x,
        node_y=y,
        node_osmid=np.arange(len(x)),
        edge_u=u,
        edge_v=v,
        edge_length_m=np.hypot(x[u] - x[v], y[u] - y[v]),
        edge_steps=np.zeros(n, bool),
        edge_highway=np.array(["footway"] * n),
        edge_name=np.array(
            ["West Arm"] * 4 + ["North Arm"] * 4 + ["East Arm"] * 4 + ["South Arm"] * 4
        ),
    )


@pytest.fixture(scope="session")
def roll(school_xy: tuple[float, float]) -> Origins:
    """A: west end (3 pupils); C: 600 m west (5); B: north end (12); D: east end (2)."""
    x0, y0 = school_xy
    xy = np.array([[x0 - 800, y0], [x0 - 600, y0], [x0, y0 + 800], [x0 + 800, y0]])
    return Origins(("A", "C", "B", "D"), xy, np.array([3, 5, 12, 2]), (None,) * 4, "point")


@pytest.fixture(scope="session")
def walks(plus_net: WalkNetwork, roll: Origins) -> dict[str, Any]:
    from geosafe.risk.journeys import assess_journeys

    out = {}
    for window, direction in (("morning", "to-school"), ("afternoon", "from-school")):
        bell = BELL if direction == "to-school" else dt.time(15, 15)
        out[window] = assess_journeys(
            URN, roll, mode="walk", bell=bell, date=DAY, direction=direction, network=plus_net
        )
    return out

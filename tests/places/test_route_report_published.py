"""A bus route's place report outside the analyst role: the DIR/ASIF figure comes from the
published school-run cell counts along the route, never from the route's incident rows.

Built over a store that refuses every incident read; the leak attempt is two stores that
differ only by a hidden count (one or two extra incidents on the route, in a cell with none):
the school's and the neighbourhood's answers are identical, while the analyst's (the control)
differ by one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h3
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geosafe.publish.service import LayerService
from geosafe.risk.place_lookup import _run_of_stop, build_place_report, route_line
from geosafe.store import Store, open_store
from tests.api.conftest import _fill, _hash64, _incident_rows
from tests.store.test_published_service import NoRows

ROOT = Path(__file__).resolve().parents[2]
ROUTE = "221"
_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


def _extra(rows: pd.DataFrame, at: shapely.Point, n: int) -> pd.DataFrame:
    """``n`` copies of the first DIR row moved to ``at``, recorded at a stop of the route's
    run 1 on a term-time Wednesday at 08:15 (the school run), with new refs."""
    dir_row = rows[rows["source"] == "dir"].iloc[[0]]
    out = pd.concat([dir_row] * n, ignore_index=True)
    lon, lat = _TO_WGS.transform(at.x, at.y)
    refs = [f"X{i:03d}" for i in range(n)]
    out["source_ref"] = refs
    out["incident_id"] = [f"dir:{r}" for r in refs]
    out["row_hash"] = [_hash64(r) for r in refs]
    out["row_no"] = range(30_001, 30_001 + n)
    out[["minx", "maxx"]] = at.x
    out[["miny", "maxy"]] = at.y
    out["lon"], out["lat"] = lon, lat
    out["h3_cell"] = h3.latlng_to_cell(lat, lon, 11)
    out["geom_wkb"] = None
    out["stop_code"] = next(c for c, run in _run_of_stop(ROOT / "data", ROUTE).items() if run == 1)
    when = int(pd.Timestamp("2024-01-10 08:15", tz="Europe/London").timestamp())
    out["occurred_from"] = out["occurred_to"] = when
    out["time_precision"] = "minute"
    return pd.concat([rows, out], ignore_index=True)


def _store(path: Path, rows: pd.DataFrame) -> str:
    _fill(Store(path), rows)
    return str(path)


def _answers(target: str, urn: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with open_store(target) as store:
        line = route_line(ROOT / "data", ROUTE, 1).line
        for role in ("analyst", "school", "neighbourhood"):
            svc = LayerService(
                ROOT / "data", store if role == "analyst" else NoRows(store), store_path=target
            )
            try:
                doc = build_place_report(
                    svc,
                    route=ROUTE,
                    direction=1,
                    role=role,
                    school_urn=urn if role == "school" else None,
                    scope=line.buffer(3000) if role == "neighbourhood" else None,
                )
            finally:
                svc.published.close()
            out[role] = doc["incidents"]
    return out


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    rows = _incident_rows()
    placed = rows.dropna(subset=["lon", "lat"])
    line = route_line(ROOT / "data", ROUTE, 1).line
    taken = {
        h3.latlng_to_cell(lat, lon, 8)
        for lon, lat in zip(placed["lon"], placed["lat"], strict=True)
    }
    at = None
    for frac in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8):
        p = line.interpolate(frac, normalized=True)
        lon, lat = _TO_WGS.transform(p.x, p.y)
        if h3.latlng_to_cell(lat, lon, 8) not in taken:
            at = p
            break
    assert at is not None, "no cell along the route without a hand-made incident"
    urn = "100000"
    folder = tmp_path_factory.mktemp("route")
    return {n: _answers(_store(folder / f"s{n}.db", _extra(rows, at, n)), urn) for n in (1, 2)}


def test_outside_the_analyst_role_the_route_figure_is_published_cells(
    answers: dict[int, dict[str, Any]],
) -> None:
    for role in ("school", "neighbourhood"):
        got = answers[1][role]
        assert got["school_run_total"] is None and got["by_hour"] == [] and got["by_stop"] == []
        pub = got["published_along"]
        assert pub["time_window"] == "school-run" and pub["sources"] == ["dir", "asif"]
        assert pub["cells"] > 0 and pub["incidents_in_cells"] % 5 == 0
        assert "not published" in got["note"]
    assert answers[1]["analyst"]["school_run_total"] is not None


def test_a_hidden_count_on_the_route_changes_no_public_answer(
    answers: dict[int, dict[str, Any]],
) -> None:
    # the control: the analyst counts the route's records and sees the one extra incident
    assert (
        answers[2]["analyst"]["school_run_total"] == answers[1]["analyst"]["school_run_total"] + 1
    )
    for role in ("school", "neighbourhood"):
        assert answers[1][role] == answers[2][role]

"""A school's FAP referrals as non-analysts see them: journey origins and the need matrix come
from ``published_referrals`` (homes per H3 resolution-8 cell, flags, totals; 1-9 suppressed,
others rounded to 5), read over the reader connection, never from a referral row or postcode.

The table is checked by hand against the rule; the school's and the neighbourhood's outputs
(the corridor layer and the school report) are built over a store that refuses every incident
read; and the leak attempts change what lies behind the published numbers:

- one pupil's home moved to another postcode in the same resolution-8 cell;
- a second import adding a referral in a new cell (a hidden count of 1) against one adding two
  (a hidden count of 2, the rounded total unchanged): the difference of two periods' outputs;
- two schools differenced: the second school's referrals change nothing of the first's.

Every public output stays identical, while the analyst's view (the control) sees each change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h3
import pandas as pd
import pytest
from pyproj import Transformer

from geosafe import datasets
from geosafe.access.tokens import Principal
from geosafe.publish import corridors
from geosafe.publish.catalogue import AnalysisParams
from geosafe.publish.service import LayerService
from geosafe.store import Store, open_store
from tests.api.conftest import _fill, _hash64, _incident_rows
from tests.store.test_published_service import NoRows

ROOT = Path(__file__).resolve().parents[2]
_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


def _viewer(role: str, school_urn: str | None = None) -> Principal:
    """A school's or neighbourhood team's principal, as a token gives it."""
    return Principal(token_id="t", label=role, role=role, school_urn=school_urn)


def _cell(postcode: str) -> str:
    row = datasets.postcodes().loc["".join(postcode.split()).upper()]
    lon, lat = _TO_WGS.transform(float(row["easting"]), float(row["northing"]))
    return str(h3.latlng_to_cell(lat, lon, 8))


def _rows(homes: list[str], schools: list[str] | None = None) -> pd.DataFrame:
    """``tests.api``'s hand-made incidents with its FAP referrals' homes set to ``homes``
    (and their schools to ``schools``), one referral per home."""
    rows = _incident_rows()
    other = rows[rows["source"] != "fap"]
    fap = rows[rows["source"] == "fap"].iloc[[0]]
    fap = pd.concat([fap] * len(homes), ignore_index=True)
    refs = [f"P{i:03d}" for i in range(len(homes))]
    fap["source_ref"] = refs
    fap["incident_id"] = [f"fap:{r}" for r in refs]
    fap["row_hash"] = [_hash64(r) for r in refs]
    fap["row_no"] = range(20_001, 20_001 + len(homes))
    fap["detail"] = [json.dumps({"home_postcode": h}) for h in homes]
    if schools is not None:
        fap["school_urn"] = schools
    return pd.concat([other, fap], ignore_index=True)


def _store(path: Path, rows: pd.DataFrame) -> str:
    _fill(Store(path), rows)
    return str(path)


@pytest.fixture(scope="module")
def homes() -> dict[str, Any]:
    """The base homes (three postcodes, ten referrals each, to the first demo school), a
    postcode sharing the first one's cell, and two postcodes of one cell none of them is in."""
    rows = _incident_rows()
    fap = rows[rows["source"] == "fap"]
    urn = str(fap["school_urn"].iloc[0])
    base = [json.loads(d)["home_postcode"] for d in fap["detail"]]
    three = sorted(set(base))
    pcs = datasets.postcodes().sort_values("postcode")
    lon, lat = _TO_WGS.transform(pcs["easting"].to_numpy(), pcs["northing"].to_numpy())
    cells = {
        p: str(h3.latlng_to_cell(y, x, 8))
        for p, x, y in zip(pcs["postcode"], lon, lat, strict=True)
    }
    twin = next(p for p, c in cells.items() if c == _cell(base[0]) and p != base[0])
    used = {_cell(p) for p in three}
    by_cell: dict[str, list[str]] = {}
    for p, c in cells.items():
        if c not in used:
            by_cell.setdefault(c, []).append(p)
    pair = next(ps for ps in by_cell.values() if len(ps) >= 2)[:2]
    return {"urn": urn, "base": base, "three": three, "twin": twin, "new": pair}


def _public(target: str, urn: str) -> dict[str, Any]:
    """What the school and a neighbourhood team see of ``urn``'s journeys, built over a store
    that refuses every incident read (the reader connection gives the published tables)."""
    with open_store(target) as store:
        svc = LayerService(ROOT / "data", NoRows(store), store_path=target)
        try:
            out: dict[str, Any] = {}
            for viewer in (_viewer("school", school_urn=urn), _viewer("neighbourhood")):
                layer = svc.layer("journey-corridors", AnalysisParams(school=urn), principal=viewer)
                out[viewer.role] = sorted(
                    json.dumps(json.loads(f)["properties"], sort_keys=True) for f in layer.features
                )
            rep = corridors.school_report(svc, school=urn, role="school")
            out["report"] = json.dumps(
                {k: rep[k] for k in ("summary", "need_matrix", "corridors", "hotspots")},
                sort_keys=True,
                default=str,
            )
            out["table"] = sorted(store.query("SELECT * FROM published_referrals"))
        finally:
            svc.published.close()
    return out


def _analyst(target: str, urn: str) -> tuple[Any, Any]:
    """The analyst's origins and pupils (the control: they see every change)."""
    with open_store(target) as store:
        svc = LayerService(ROOT / "data", store, store_path=target)
        journeys = corridors.school_journeys(svc, urn, AnalysisParams())
        rep = corridors.school_report(svc, school=urn, role="analyst")
    return sorted((j.origin_id, j.count) for j in journeys), rep["summary"]["pupils"]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    folder = tmp_path_factory.mktemp("origins")
    made: dict[str, str] = {}

    def make(name: str, homes: list[str], schools: list[str] | None = None) -> str:
        if name not in made:
            made[name] = _store(folder / f"{name}.db", _rows(homes, schools))
        return made[name]

    yield make


def test_the_published_referrals_by_hand(homes: dict[str, Any], build: Any) -> None:
    target = build("base", homes["base"])
    with open_store(target) as store:
        got = {
            (k, key): (n, s)
            for urn, k, key, n, s in store.query("SELECT * FROM published_referrals")
            if urn == homes["urn"]
        }
    # ten referrals at each of three postcodes, flagged gangs (the fixture's flags), nothing
    # else recorded: every count is 10 or 30, shown
    for pc in homes["three"]:
        assert got[("home", _cell(pc))] == (10, False)
    assert got[("homes", "*")] == got[("referrals", "*")] == (30, False)
    assert got[("flag", "gangs")] == (30, False) and got[("flag", "cse")] == (0, False)
    assert got[("unrecorded", "cse")] == (30, False) and got[("unrecorded", "gangs")] == (0, False)
    assert not [k for k in got if k[0] == "home" and "N" in k[1]]  # cells, never postcodes


def test_moving_a_home_within_its_cell_changes_no_public_output(
    homes: dict[str, Any], build: Any
) -> None:
    urn = homes["urn"]
    moved = [homes["twin"], *homes["base"][1:]]
    assert homes["twin"] != homes["base"][0] and _cell(homes["twin"]) == _cell(homes["base"][0])
    a, b = build("base", homes["base"]), build("moved", moved)
    before, after = _public(a, urn), _public(b, urn)
    assert before["school"] and before["report"]  # they hold something
    assert after == before
    assert _analyst(a, urn)[0] != _analyst(b, urn)[0]  # the analyst sees the move


def test_two_imports_differing_by_a_hidden_count_give_the_same_outputs(
    homes: dict[str, Any], build: Any
) -> None:
    """A later import adds one referral in a new cell, or two: 31 or 32 referrals (both
    published as 30), a new cell of 1 or 2 (suppressed). Differencing the outputs of the two
    periods finds nothing."""
    urn = homes["urn"]
    one = build("one", [*homes["base"], homes["new"][0]])
    two = build("two", [*homes["base"], *homes["new"]])
    assert _cell(homes["new"][0]) == _cell(homes["new"][1])
    assert _public(one, urn) == _public(two, urn)
    assert _analyst(one, urn)[1] == 31 and _analyst(two, urn)[1] == 32  # the control


def test_another_schools_referrals_change_nothing_of_this_school(
    homes: dict[str, Any], build: Any
) -> None:
    """Differencing two schools: referrals to a second school living in this school's cells
    leave this school's outputs as they were (each school's counts are its own)."""
    urn = homes["urn"]
    other = str(next(u for u in datasets.schools(demo_only=True)["urn"].astype(str) if u != urn))
    extra = homes["three"] * 3
    both = build(
        "both",
        [*homes["base"], *extra],
        [urn] * len(homes["base"]) + [other] * len(extra),
    )
    mine = _public(both, urn)
    base = _public(build("base", homes["base"]), urn)
    assert {k: v for k, v in mine.items() if k != "table"} == {
        k: v for k, v in base.items() if k != "table"
    }
    assert [r for r in mine["table"] if r[0] == urn] == [r for r in base["table"] if r[0] == urn]

"""People across sources: the acceptance cases with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geosafe.cli import main
from geosafe.profile.data import load_profile_data
from geosafe.profile.people import overlap, publish_count

from .conftest import store_bytes


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_two_sources_of_30_with_15_in_common(two_sources, capsys) -> None:  # type: ignore[no-untyped-def]
    db, _ = two_sources
    obj = _cli_json(capsys, "overlap", "--db", str(db), "--purpose", "test", "--format", "json")
    assert obj["people"]["distinct"] == 45
    assert obj["people"]["by_source"] == {"dir": 30, "fap": 30}
    assert obj["people"]["in_two_or_more_sources"] == 15
    inter = {tuple(r["sources"]): r["people"] for r in obj["intersections"]}
    assert inter == {("dir",): 15, ("fap",): 15, ("dir", "fap"): 15}


def test_overlap_filters(two_sources, capsys) -> None:  # type: ignore[no-untyped-def]
    db, _ = two_sources
    # the period filter: FAP referrals are dated in March, DIR reports in February
    obj = _cli_json(
        capsys, "overlap", "--db", str(db), "--purpose", "t", "--format", "json",
        "--from-date", "2025-03-01", "--to-date", "2025-03-31",
    )  # fmt: skip
    assert obj["people"]["by_source"] == {"fap": 30}
    assert obj["people"]["in_two_or_more_sources"] == 0
    # the flag filter: only FAP rows have gangs=Y
    obj = _cli_json(
        capsys, "overlap", "--db", str(db), "--purpose", "t", "--format", "json", "--flag", "gangs"
    )
    assert obj["people"]["distinct"] == 30


def test_peer_group_across_five_schools(five_schools) -> None:  # type: ignore[no-untyped-def]
    db, _ = five_schools
    res = overlap(load_profile_data(db))
    assert [g.size for g in res.groups] == [5, 2]
    big = res.groups[0]
    assert len(big.schools) == 5 and set(big.sources) == {"cris", "dir", "fap"}
    assert res.multi_school == 0  # each person is at one school
    assert res.distinct == 7


def test_partners_get_rounded_counts_and_no_network(two_sources, five_schools, capsys) -> None:  # type: ignore[no-untyped-def]
    db, _ = two_sources
    obj = _cli_json(
        capsys, "overlap", "--db", str(db), "--purpose", "t", "--format", "json",
        "--audience", "partners",
    )  # fmt: skip
    assert obj["people"]["distinct"] == 45 and obj["people"]["by_source"] == {"dir": 30, "fap": 30}
    assert obj["people"]["in_two_or_more_sources"] == 15
    assert "network" not in obj and "list" not in obj["peer_groups"]
    small, _ = five_schools
    obj = _cli_json(
        capsys, "overlap", "--db", str(small), "--purpose", "t", "--format", "json",
        "--audience", "partners",
    )  # fmt: skip
    # 7 people, 2 groups: all suppressed
    assert obj["people"]["distinct"] is None and obj["peer_groups"]["groups"] is None
    text = json.dumps(obj)
    assert "UPNHASH" not in text


def test_publish_count_10_5_rule() -> None:
    assert [publish_count(n, "partners") for n in (0, 1, 9, 10, 12, 13, 45)] == [
        0, None, None, 10, 10, 15, 45,
    ]  # fmt: skip
    assert publish_count(7, "analyst") == 7


def test_analyst_network_has_short_pseudonymous_ids(five_schools) -> None:  # type: ignore[no-untyped-def]
    db, raw = five_schools
    obj = overlap(load_profile_data(db)).to_json("analyst")
    nodes = obj["network"]["nodes"]
    assert len(nodes) == 7 and all(len(n["id"]) == 10 for n in nodes)
    assert {e["records"] for e in obj["network"]["edges"]} == {1}
    assert not any(r in json.dumps(obj) for r in raw)


def test_raw_references_never_stored(two_sources, five_schools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for db, raw in (two_sources, five_schools):
        blob = store_bytes(Path(db))
        assert not any(r.encode() in blob for r in raw)

"""``geosafe hotspots --with-referral-places``: the places named in referrals' notes counted
with the incidents, as the profile issue intended (issue 12 item 4), tested against the
store's ``referral_places`` table counted directly with SQL and placed in H3 cells with h3
itself.

The store is hand-made: DIR reports at a bus stop and FAP referrals whose notes name Wood
Green station and Alexandra Park (and one referral dated outside the period)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import h3
import pytest
from pyproj import Transformer

from geosafe.cli import main
from geosafe.ingest import import_file
from geosafe.sources import columns
from geosafe.store import Store
from tests.profile.conftest import write

PERIOD = ["--from-date", "2025-02-01", "--to-date", "2025-03-31"]
RES = 8


def _dir(i: int) -> dict[str, str]:
    return {
        "dir_ref": f"DIR-{i:03d}",
        "reported_at": f"2025-02-{1 + i % 28:02d} 15:{i % 60:02d}",
        "route": "W3",
        "direction": "1",
        "operator": "Arriva London",
        "stop_code": "490000252S",
        "cause_code": "ASB",
        "youth_flag": "Y",
        "vulnerability_flag": "N",
        "description": "Passengers arguing",
    }


def _fap(i: int, date: str, **notes: str) -> dict[str, str]:
    row = {
        "referral_id": f"FAP-{i:03d}",
        "referral_date": date,
        "school_urn": "136397",
        "year_group": "9",
        "gender": "M",
        **notes,
    }
    for c in columns("fap"):
        if c.name.startswith("flag_"):
            row[c.name] = "N"
    return row


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    faps = [
        _fap(
            i,
            f"2025-03-{1 + i:02d}",
            notes_peer_group="hangs around near Wood Green station with older boys",
            notes_neighbourhood="seen in Alexandra Park at night" if i % 2 else "",
        )
        for i in range(6)
    ]
    faps.append(_fap(9, "2024-11-05", notes_peer_group="meets friends at Wood Green station"))
    faps.append(_fap(10, "2025-03-20", notes_school="no concerns about travel"))
    db = tmp_path / "s.db"
    with Store(db) as s:
        r = import_file(s, "dir", write(tmp_path / "dir.csv", "dir", [_dir(i) for i in range(12)]))
        assert r.accepted == 12, r.reasons
        r = import_file(s, "fap", write(tmp_path / "fap.csv", "fap", faps))
        assert r.accepted == 8, r.reasons
    return db


def _sql_mentions(db: Path) -> list[tuple[str, str, float, float]]:
    """(referral, place, x, y) of every placed mention in the period, straight from SQL."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT i.source_ref, p.place, p.x, p.y FROM referral_places p "
            "JOIN incidents i ON i.batch_id = p.batch_id AND i.row_no = p.row_no "
            "WHERE p.x IS NOT NULL AND i.source = 'fap' AND i.current = 1 "
            # t_from is UTC seconds; every referral date here is in GMT (before 30 March)
            "AND date(i.t_from, 'unixepoch') BETWEEN '2025-02-01' AND '2025-03-31'"
        ).fetchall()


def _run(db: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:  # type: ignore[type-arg]
    args = ["hotspots", "--db", str(db), "--purpose", "test: named places", *PERIOD]
    args += ["--method", "gistar", "--resolution", str(RES), "--boroughs", "Haringey"]
    args += ["--out", str(out), *extra]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_named_places_are_counted_with_the_hotspots(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mentions = _sql_mentions(store)
    assert len(mentions) >= 9, "the notes name too few places: the test would prove little"
    without = _run(store, tmp_path / "a.geojson", capsys)
    assert "referral_places" not in without
    got = _run(store, tmp_path / "b.geojson", capsys, "--with-referral-places")
    rp = got["referral_places"]
    assert rp["mentions"] == len(mentions)
    assert rp["referrals"] == len({m[0] for m in mentions})
    assert rp["places"] == len({m[1] for m in mentions})
    assert "--with-referral-places" in rp["note"] and "not incidents" in rp["note"]
    # the mentions are counted with the 12 DIR reports (FAP referrals themselves have no place)
    assert without["counts"]["used"] == 12
    assert got["counts"]["used"] == 12 + len(mentions)
    # and each lands in the H3 cell of its point, as h3 places the SQL coordinates
    to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
    expected = Counter(
        h3.latlng_to_cell(lat, lon, RES)
        for lon, lat in (to_wgs.transform(x, y) for _, _, x, y in mentions)
    )
    features = json.loads((tmp_path / "b.geojson").read_text())["features"]
    by_cell = {f["properties"]["h3_cell"]: f["properties"] for f in features}
    assert {c: by_cell[c]["referral_place_mentions"] for c in expected} == dict(expected)
    assert sum(p["referral_place_mentions"] for p in by_cell.values()) == len(mentions)
    before = {
        f["properties"]["h3_cell"]: f["properties"]["count"]
        for f in json.loads((tmp_path / "a.geojson").read_text())["features"]
    }
    for cell, n in expected.items():
        assert by_cell[cell]["count"] == before.get(cell, 0) + n


def test_named_places_need_the_store(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_in = write(tmp_path / "d.csv", "dir", [_dir(i) for i in range(12)])
    args = ["hotspots", str(csv_in), "--input-source", "dir", "--method", "gistar"]
    args += ["--out", str(tmp_path / "c.geojson"), "--with-referral-places"]
    assert main(args) == 2
    assert "`--with-referral-places` reads the places named in referrals from the store" in (
        capsys.readouterr().err
    )

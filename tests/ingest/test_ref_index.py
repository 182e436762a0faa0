"""The ref rule's index of Crime IDs by 64-bit hash (issue 16 item 6): ids sharing a hash
are told apart by their text, so a store built with every hash colliding, or with hashes
cut to 997 values (ids of different chunks then share them), is the same store (current
versions, history, duplicates quarantined) as one built with real hashes."""

from __future__ import annotations

import csv
import gzip
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from geosafe.ingest import import_file
from geosafe.sources import _police_refs
from geosafe.store import Store

DATA = Path(__file__).resolve().parent / "data"
BUNDLED = Path(__file__).resolve().parents[2] / "data"
FILES = (
    "police_jan.csv",
    "police_feb.csv",
    "police_city_pairs.csv",
    "police_city_pair_located.csv",
    "police_city_pair_unlocated.csv",
)


def _one_file(tmp_path: Path) -> Path:
    """January and February in one file: updates met in later chunks of the same file."""
    jan = (DATA / "police_jan.csv").read_text().splitlines()
    feb = (DATA / "police_feb.csv").read_text().splitlines()
    width = len(feb[0].split(","))
    rows = [",".join(r.split(",")[:width]) for r in jan[1:]]
    out = tmp_path / "jan_feb.csv"
    out.write_text("\n".join([feb[0], *rows, *feb[1:]]) + "\n")
    return out


def _real_with_repeats(tmp_path: Path) -> Path:
    """300 real police.uk rows (bundled months), then 100 of them again unchanged (exact
    repeats) and 100 with the next month (updates), in chunks of 50 rows."""
    body: list[list[str]] = []
    for month_file in sorted((BUNDLED / "police").glob("*.csv.gz"))[-12:]:
        with gzip.open(month_file, "rt") as fh:
            header, *rows = list(csv.reader(fh))
        body += [r for r in rows if r[0]]
    body = body[:300]
    assert len(body) == 300
    month = header.index("Month")
    later = []
    for r in body[100:200]:
        y, m = map(int, r[month].split("-"))
        later.append([*r[:month], f"{y + m // 12}-{m % 12 + 1:02d}", *r[month + 1 :]])
    out = tmp_path / "real_repeats.csv"
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *body, *body[:100], *later])
    return out


def _store_content(tmp_path: Path, name: str) -> tuple[list[tuple], list[tuple]]:
    db = tmp_path / name
    store = Store(db)
    try:
        import_file(store, "police_uk", _real_with_repeats(tmp_path), chunk_rows=50, aoi=None)
        for f in (_one_file(tmp_path), *(DATA / f for f in FILES)):
            import_file(store, "police_uk", f, chunk_rows=2, aoi=None)
    finally:
        store.close()
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT batch_id, row_no, source_ref, current, t_from, minx, miny FROM incidents "
            "ORDER BY batch_id, row_no"
        ).fetchall()
        quarantined = con.execute(
            "SELECT batch_id, row_no, reason_code FROM quarantine ORDER BY batch_id, row_no"
        ).fetchall()
    con.close()
    return rows, quarantined


@pytest.mark.parametrize("collide", ["all", "mod997"])
def test_colliding_hashes_build_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collide: str
) -> None:
    real_rows, real_quarantine = _store_content(tmp_path, "real.db")
    real_keys = _police_refs._id_keys

    def colliding(ids: np.ndarray) -> np.ndarray:
        keys = real_keys(ids)
        return np.zeros_like(keys) if collide == "all" else keys % 997

    monkeypatch.setattr(_police_refs, "_id_keys", colliding)
    rows, quarantined = _store_content(tmp_path, "collide.db")
    assert rows == real_rows and quarantined == real_quarantine
    # the files hold updates (a history row not current) and exact repeats (quarantined)
    assert sum(r[3] == 0 for r in rows if r[0] == 1) >= 100  # the updates' old versions
    assert sum(q[2] == "duplicate_row" for q in quarantined if q[0] == 1) == 100

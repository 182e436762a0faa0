"""``published_referrals`` (the FAP referrals as non-analysts may read them) on both backends:
written in the same transaction as the import, erasure, rollback and purge that change a
referral, counted by hand, readable by a ``geosafe_reader`` login (PostGIS) that is still
refused the referral rows, and defined once (the two backends' columns agree)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import h3
import psycopg
import pytest
from pyproj import Transformer

from geosafe import datasets
from geosafe.store import open_store
from geosafe.store.published_read import PublishedReader
from geosafe.store.published_referrals import home_weights, read, source
from tests.api.conftest import _incident_rows

_TO_WGS = Transformer.from_crs(27700, 4326, always_xy=True)


def _cell(postcode: str) -> str:
    row = datasets.postcodes().loc["".join(postcode.split()).upper()]
    lon, lat = _TO_WGS.transform(float(row["easting"]), float(row["northing"]))
    return str(h3.latlng_to_cell(lat, lon, 8))


def _table(store: Any) -> dict[tuple[str, str, str], tuple[Any, bool]]:
    rows = store.query("SELECT school_urn, kind, key, count, suppressed FROM published_referrals")
    return {(u, k, key): (n, bool(s)) for u, k, key, n, s in rows}


def test_written_with_every_change_and_counted_by_hand(store_target: str) -> None:
    rows = _incident_rows()
    fap = rows[rows["source"] == "fap"]
    urn = str(fap["school_urn"].iloc[0])
    homes = [json.loads(d)["home_postcode"] for d in fap["detail"]]
    first = homes[0]
    with open_store(store_target) as store:
        batch = store.begin_batch("fap", "f" * 64, file_name="referrals")
        store.stage(batch, rows)
        store.commit_batch(batch, {"rows": len(rows), "accepted": len(rows)}, {})
        got = _table(store)
        # 30 referrals, ten at each of three homes, all flagged gangs (by hand)
        assert got[(urn, "referrals", "*")] == got[(urn, "homes", "*")] == (30, False)
        for pc in set(homes):
            assert got[(urn, "home", _cell(pc))] == (10, False)
        assert got[(urn, "flag", "gangs")] == (30, False)
        assert got[(urn, "flag", "cse")] == (0, False)
        assert got[(urn, "unrecorded", "cse")] == (30, False)
        # an erasure of one referral at the first home: 9 there (suppressed), 29 -> 30
        ref = str(fap["source_ref"].iloc[0])
        assert store.erase("fap", ref) == ["incidents"]
        got = _table(store)
        assert got[(urn, "home", _cell(first))] == (None, True)
        assert got[(urn, "referrals", "*")] == (30, False)
        # the journeys' weights: 10 + 10 shown, the rest of the published 30 on the hidden one
        with_reader = PublishedReader(store_target)
        try:
            weights = home_weights(read(with_reader, urn))
        finally:
            with_reader.close()
        assert weights[_cell(first)] == 10 and sum(weights.values()) == 30
        # a purge of everything before 2024-02-06 takes the referrals (dated 2024-02-05)
        assert store.purge("2024-02-06") > 0
        assert not [k for k in _table(store) if k[0] == urn]  # no referral left


def test_a_rollback_takes_the_referrals_out(store_target: str) -> None:
    rows = _incident_rows()
    with open_store(store_target) as store:
        batch = store.begin_batch("fap", "e" * 64, file_name="referrals")
        store.stage(batch, rows)
        store.commit_batch(batch, {"rows": len(rows), "accepted": len(rows)}, {})
        assert _table(store)
        store.rollback(batch)
        assert _table(store) == {}


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_the_reader_login_reads_them_and_no_referral(store_target: str, pg_cluster: Any) -> None:
    rows = _incident_rows()
    with open_store(store_target) as store:
        batch = store.begin_batch("fap", "d" * 64, file_name="referrals")
        store.stage(batch, rows)
        store.commit_batch(batch, {"rows": len(rows), "accepted": len(rows)}, {})
        want = _table(store)
    pg_cluster.psql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'refs_reader') THEN "
        "CREATE ROLE refs_reader LOGIN IN ROLE geosafe_reader; END IF; END $$"
    )
    reader = PublishedReader(store_target.replace("postgres@", "refs_reader@", 1))
    try:
        urn = str(rows[rows["source"] == "fap"]["school_urn"].iloc[0])
        got = read(reader, urn)
        assert len(got) == len([k for k in want if k[0] == urn]) > 0
        assert source(reader) is not None  # which postcode list placed the homes (0010)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.query("SELECT detail FROM incidents WHERE source = 'fap'")
    finally:
        reader.close()


def test_both_backends_have_the_columns_of_the_migration(tmp_path: Path, pg_database: Any) -> None:
    path = tmp_path / "store.db"
    open_store(str(path)).close()
    with sqlite3.connect(path) as conn:
        lite = [
            (r[1], r[2].upper(), bool(r[3]) or bool(r[5]))
            for r in conn.execute("PRAGMA table_info(published_referrals)")
        ]
    with psycopg.connect(pg_database()) as conn:
        pg = conn.execute(
            "SELECT column_name, upper(data_type), is_nullable = 'NO' FROM "
            "information_schema.columns WHERE table_name = 'published_referrals' "
            "ORDER BY ordinal_position"
        ).fetchall()
    assert (
        [c[0] for c in lite]
        == [c[0] for c in pg]
        == ["school_urn", "kind", "key", "count", "suppressed"]
    )
    assert [c[1:] for c in lite] == [tuple(c[1:]) for c in pg]


def test_only_changes_touching_a_referral_rewrite_them(
    store_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of other sources leaves the table alone (no rewrite: a national import's
    6,837 police.uk batches pay nothing for it); a FAP batch, its erasure and its rollback
    each rewrite it once."""
    from geosafe.store import published_referrals

    calls: list[bool] = []
    real = published_referrals.write
    monkeypatch.setattr(
        published_referrals, "write", lambda c, *, pg: (calls.append(pg), real(c, pg=pg))
    )
    rows = _incident_rows()
    with open_store(store_target) as store:
        calls.clear()  # a new SQLite store creates and fills the table when opened
        other = rows[rows["source"] != "fap"]
        batch = store.begin_batch("dir", "c" * 64, file_name="reports")
        store.stage(batch, other)
        store.commit_batch(batch, {"rows": len(other), "accepted": len(other)}, {})
        assert store.erase("dir", str(other["source_ref"].iloc[3])) == ["incidents"]
        assert calls == []
        fap = rows[rows["source"] == "fap"]
        batch = store.begin_batch("fap", "b" * 64, file_name="referrals")
        store.stage(batch, fap)
        store.commit_batch(batch, {"rows": len(fap), "accepted": len(fap)}, {})
        assert len(calls) == 1
        assert store.erase("fap", str(fap["source_ref"].iloc[0])) == ["incidents"]
        store.rollback(batch)
        assert len(calls) == 3 and _table(store) == {}


def test_the_referrals_are_found_through_their_own_index(store_target: str) -> None:
    """The rewrite reads the referrals through the partial index ``incidents_fap`` (created
    with the table on both backends), so a FAP change on a national store does not scan every
    incident."""
    from geosafe.store.published_referrals import rows_sql

    pg = store_target.startswith("postgresql")
    open_store(store_target).close()  # a new store: the table and the index
    if pg:
        with psycopg.connect(store_target) as conn:
            conn.execute("SET enable_seqscan = off")  # the planner may; it must be able to
            plan = conn.execute("EXPLAIN " + rows_sql(pg=True)).fetchall()  # type: ignore[operator]
    else:
        with sqlite3.connect(store_target) as conn:
            plan = conn.execute("EXPLAIN QUERY PLAN " + rows_sql(pg=False)).fetchall()
    assert "incidents_fap" in str(plan), plan

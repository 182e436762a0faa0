"""The tables of :mod:`geosafe.protect` have one definition: the PostGIS migration 0007, whose
``CREATE TABLE`` statements a SQLite store runs too. Both backends end up with the same columns
in the same order, the same types (as each names them), NOT NULL and primary keys."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import psycopg
import pytest
import shapely

from geosafe.protect.interventions import add_intervention, save_evaluation
from geosafe.protect.safe_places import import_safe_places
from geosafe.protect.safe_places import read_csv as read_safe_places
from geosafe.protect.sql import migration_tables
from geosafe.store import open_store

TABLES = ("interventions", "intervention_evaluations", "safe_places", "safe_places_quarantine")
DATA = Path(__file__).parent / "data"
#: How PostgreSQL names the types of the definition (information_schema.columns.data_type).
PG_TYPE = {"TEXT": "text", "INTEGER": "integer", "DOUBLE PRECISION": "double precision"}


def _write_everything(target: str) -> None:
    """Create every table the way the application does: by writing to it."""
    iv = add_intervention(
        target,
        what="patrol",
        where_kind="point",
        where_ref="530000,190000",
        geometry=shapely.Point(530000, 190000).buffer(100),
        started_on=dt.date(2024, 1, 1),
    )
    save_evaluation(
        target,
        {
            "intervention": {"id": iv.id},
            "estimate": {"percent_change": -10.0, "ratio_low": 0.8, "ratio_high": 1.0},
            "reading": "r",
            "displacement": {"reading": "d"},
            "comparison": {"areas": []},
            "months": {"before": [], "after": []},
        },
    )
    places, rejected = read_safe_places(DATA / "safe_places.csv")
    import_safe_places(target, places, rejected, source="local", file_name="list.csv")


def _sqlite_columns(path: str, table: str) -> list[tuple[str, str, bool, bool]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    # (cid, name, type, notnull, default, pk); a SQLite primary key allows NULL unless said
    return [(r[1], r[2].upper(), bool(r[3]) or bool(r[5]), bool(r[5])) for r in rows]


def _pg_columns(url: str, table: str) -> list[tuple[str, str, bool, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.column_name, c.data_type, c.is_nullable = 'NO', "
            "EXISTS (SELECT 1 FROM information_schema.key_column_usage k "
            "JOIN information_schema.table_constraints t USING (constraint_name, table_name) "
            "WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_name = c.table_name "
            "AND k.column_name = c.column_name) "
            "FROM information_schema.columns c WHERE c.table_name = %s ORDER BY c.ordinal_position",
            (table,),
        ).fetchall()
    return [(str(a), str(b), bool(c), bool(d)) for a, b, c, d in rows]


def test_both_backends_have_the_columns_of_the_one_definition(
    tmp_path: Path, pg_database: object
) -> None:
    sqlite_path = str(tmp_path / "store.db")
    open_store(sqlite_path).close()
    url = pg_database()  # type: ignore[operator]  # migrated: 0007 made the tables
    for target in (sqlite_path, url):
        _write_everything(target)
    for table in TABLES:
        lite = _sqlite_columns(sqlite_path, table)
        pg = _pg_columns(url, table)
        assert [c[0] for c in lite] == [c[0] for c in pg], table
        assert [PG_TYPE[c[1]] for c in lite] == [c[1] for c in pg], table
        assert [c[2:] for c in lite] == [c[2:] for c in pg], table
        assert lite  # the definition is not empty


def test_the_definition_is_read_from_the_migration() -> None:
    (ddl,) = migration_tables("safe_places")
    assert ddl.startswith("CREATE TABLE IF NOT EXISTS safe_places (") and "--" not in ddl
    with pytest.raises(Exception, match="creates no table"):
        migration_tables("incidents")

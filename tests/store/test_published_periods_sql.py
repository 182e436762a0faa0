"""The published counts of every period, computed in numpy
(:func:`geosafe.store.published._write_periods`), against the SQL they replaced: one
``INSERT ... SELECT ... GROUP BY`` per period, by SQLite's (or PostgreSQL's) own grouping,
kept here as the reference (:func:`rewrite_periods_sql`, the statement of the fifth wave
verbatim). Every comparison is of the whole ``published_counts`` table, values and SQLite
storage types (``typeof``) alike: hand-written exact rows around the rounding boundaries and
the odd cases, a store of real police.uk months, and PostGIS."""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from geosafe.ingest import import_file
from geosafe.store import open_store, published, published_periods
from geosafe.store.published import _Sql

ROOT = Path(__file__).resolve().parents[2]


def _round_sql(total: str) -> str:
    below, to = published._SUPPRESS_BELOW, published._ROUND_TO
    return (
        f"CASE WHEN {total} < {below} THEN NULL ELSE ((2 * {total} + {to}) / {2 * to}) * {to} END"
    )


def rewrite_periods_sql(
    db: _Sql, periods: dict[str, tuple[str, str]], cells: Sequence[str] | None = None
) -> None:
    """The reference: the published counts of ``periods`` (only ``cells`` when given) by one
    ``INSERT ... SELECT ... GROUP BY`` per period, per source and for every source together
    (``'*'``, ``UNION ALL``), after one ``DELETE`` per 500 periods (the code before the
    sixth wave; ``benchmarks/published_periods.py`` times it against the numpy version)."""
    keys = sorted(periods)
    only, only_params = db.among("cell", cells)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        db.run(f"DELETE FROM published_counts WHERE period IN ({marks}){only}", chunk + only_params)
    total = "SUM(n)"
    select = (
        "SELECT CAST(? AS TEXT), cell, MIN(resolution), {source}, time_window, "
        f"{_round_sql(total)}, {total} < {published._SUPPRESS_BELOW} FROM published_exact "
        f"WHERE month >= ? AND month <= ?{only} GROUP BY {{group}}"
    )
    insert = (
        "INSERT INTO published_counts (period, cell, resolution, source, time_window, count, "
        "suppressed) "
        + select.format(source="source", group="cell, source, time_window")
        + " UNION ALL "
        + select.format(source=f"'{published.ALL_SOURCES}'", group="cell, time_window")
    )
    for key in keys:
        first, last = periods[key]
        db.run(insert, (key, first, last, *only_params, key, first, last, *only_params))


# -- helpers -------------------------------------------------------------------------------
#: The whole table with SQLite's storage type of every value column.
TABLE = (
    "SELECT period, cell, resolution, typeof(resolution), source, time_window, count, "
    "typeof(count), suppressed, typeof(suppressed) FROM published_counts "
    "ORDER BY period, time_window, source, cell"
)
#: Three cells (strings only: the tables do not parse them) and the two resolutions.
A, B, C = "88195da49bfffff", "87195da49ffffff", "88195da4d3fffff"

#: (month, cell, resolution, source, time window, n): around the rounding boundaries (9 | 10,
#: 12 -> 10, 13 -> 15, 17 -> 15, 18 -> 20), a cell stored at two resolutions, three sources,
#: months across a year's end, periods reaching months no change touches, a zero.
EXACT = [
    ("2023-05", A, 8, "police_uk", "all-day", 4),
    ("2024-11", A, 8, "police_uk", "all-day", 9),
    ("2024-12", A, 8, "police_uk", "all-day", 1),
    ("2025-01", A, 8, "police_uk", "all-day", 12),
    ("2025-01", A, 8, "dir", "all-day", 1),
    ("2025-02", A, 7, "police_uk", "all-day", 5),
    ("2025-02", A, 8, "dir", "school-run", 17),
    ("2025-03", A, 8, "dir", "school-run", 1),
    ("2025-03", B, 7, "police_uk", "night", 10),
    ("2025-06", B, 7, "police_uk", "night", 3),
    ("2025-06", B, 7, "tfl", "night", 5),
    ("2025-12", C, 8, "tfl", "evenings", 0),
    ("2026-01", C, 8, "tfl", "evenings", 13),
    ("2026-01", A, 8, "police_uk", "all-day", 18),
]
MONTHS = sorted({r[0] for r in EXACT})


def _db(exact: list[tuple[Any, ...]]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(published._SQLITE_SCHEMA)
    conn.executemany("INSERT INTO published_exact VALUES (?, ?, ?, ?, ?, ?)", exact)
    return conn


def _both(
    exact: list[tuple[Any, ...]],
    which: list[str],
    *,
    before: list[tuple[Any, ...]] | None = None,
    cells: list[str] | None = None,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The table after the reference and after the numpy rewrite of the periods of ``which``
    (only ``cells``), each over the same exact rows; when ``before`` is given, the exact rows
    were ``before`` when every period was last written (by the reference). The numpy rewrite
    runs twice, reading every month and (as an import does) given the exact rows of
    ``which`` it has just written: both must leave the same table."""
    mine = [r for r in exact if r[0] in which and (cells is None or r[1] in cells)]

    def told(db: _Sql, periods: dict[str, tuple[str, str]], cells: Any) -> None:
        published._write_periods(db, periods, cells, known=(which, mine))

    tables = []
    for rewrite in (rewrite_periods_sql, published._write_periods, told):
        conn = _db(before if before is not None else exact)
        db = _Sql(conn, pg=False)
        if before is not None:
            rewrite_periods_sql(db, published.periods_of({r[0] for r in before}))
            conn.execute("DELETE FROM published_exact")
            conn.executemany("INSERT INTO published_exact VALUES (?, ?, ?, ?, ?, ?)", exact)
        rewrite(db, published.periods_of(which), cells)
        tables.append(conn.execute(TABLE).fetchall())
    assert tables[2] == tables[1]
    return tables[0], tables[1]


# -- hand-written exact rows ---------------------------------------------------------------
def test_every_period_of_hand_rows_equals_the_sql_grouping() -> None:
    ref, got = _both(EXACT, MONTHS)
    assert got == ref
    assert len(ref) > 100
    # the reference itself, against the rules written out by hand
    row = {(r[0], r[1], r[4], r[5]): (r[2], r[6], r[8]) for r in ref}
    assert row[("2024-11", A, "police_uk", "all-day")] == (8, None, 1)  # 9: suppressed
    assert row[("2024-Q4", A, "police_uk", "all-day")] == (8, 10, 0)  # 9 + 1
    assert row[("2025-01", A, "police_uk", "all-day")] == (8, 10, 0)  # 12
    assert row[("2025-01", A, "*", "all-day")] == (8, 15, 0)  # 13
    assert row[("2025-Q1", A, "dir", "school-run")] == (8, 20, 0)  # 17 + 1 = 18
    assert row[("2025-02", A, "dir", "school-run")] == (8, 15, 0)  # 17
    assert row[("2025-Q1", A, "police_uk", "all-day")] == (7, 15, 0)  # 17 at 8 and 7: MIN
    assert row[("2025", B, "*", "night")] == (7, 20, 0)  # 10 + 3 + 5 = 18
    assert row[("2025-06", B, "*", "night")] == (7, None, 1)  # 8
    assert row[("2025-12", C, "tfl", "evenings")] == (8, None, 1)  # a zero is a row too
    assert row[("L12:2026-01", A, "police_uk", "all-day")] == (7, 25, 0)  # 5 + 18 (from Feb.)
    assert row[("L12:2025-10", A, "police_uk", "all-day")] == (7, 25, 0)  # 9 + 1 + 12 + 5 = 27
    assert ("2023", A, "police_uk", "all-day") in row
    assert {r[3] for r in ref} == {"integer"}
    assert {r[7] for r in ref} == {"integer", "null"}
    assert {r[9] for r in ref} == {"integer"} and {r[8] for r in ref} == {0, 1}


def test_one_month_rewrites_its_periods_from_months_outside_it() -> None:
    """January 2025 changes: its month, quarter, year and the twelve L12 periods ending
    with it or after it are rewritten, from the exact rows of months no change touched
    (2024-02 .. 2025-12); every other period keeps its rows."""
    changed = [r if r[:2] != ("2025-01", A) else (*r[:5], r[5] + 5) for r in EXACT]
    changed.append(("2025-01", C, 8, "tfl", "weekends", 11))
    ref, got = _both(changed, ["2025-01"], before=EXACT)
    assert got == ref
    row = {(r[0], r[1], r[4], r[5]): r[6] for r in ref}
    assert row[("L12:2025-12", A, "police_uk", "all-day")] == 20  # 17 + 5 = 22 (2025 only)
    assert row[("L12:2024-12", A, "police_uk", "all-day")] == 10  # not rewritten: 9 + 1


def test_a_rewrite_of_some_cells_leaves_the_others() -> None:
    changed = [r for r in EXACT if r[:2] != ("2025-06", B)] + [
        ("2025-06", A, 8, "police_uk", "all-day", 30),
        ("2025-06", B, 7, "police_uk", "night", 40),  # B changed but not rewritten
    ]
    ref, got = _both(changed, ["2025-06"], before=EXACT, cells=[A, C])
    assert got == ref
    row = {(r[0], r[1], r[4], r[5]): r[6] for r in ref}
    assert row[("2025-06", A, "police_uk", "all-day")] == 30
    assert row[("2025-06", B, "police_uk", "night")] is None  # still the old 3


def test_groups_in_many_blocks_come_out_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    ref, _ = _both(EXACT, MONTHS)
    monkeypatch.setattr(published_periods, "_BLOCK_CELLS", 50)  # one or two groups a block
    assert _both(EXACT, MONTHS)[1] == ref
    # the rows come in the primary key's order (period, time window, source, cell), the
    # order SQLite inserts fastest, whatever the blocks
    rows = published_periods.period_counts(
        EXACT, published.periods_of(MONTHS), suppress_below=10, round_to=5, all_sources="*"
    ).tolist()
    assert rows == sorted(rows, key=lambda r: (r[0], r[4], r[3], r[1]))
    assert len(rows) == len(ref)


def test_random_stores_equal_the_sql_grouping() -> None:
    """Random exact rows (many cells, sources, windows, resolutions and months over four
    years) and random changes: the whole table after each equals the reference's."""
    import numpy as np

    rng = np.random.default_rng(16)
    months = [f"{y}-{m:02d}" for y in range(2021, 2025) for m in range(1, 13)]
    cells = [f"8{k:03d}" for k in range(40)] + [f"7{k:03d}" for k in range(5)]
    windows = list(published.WINDOWS)

    def pick(values: list[str]) -> str:
        return values[int(rng.integers(len(values)))]

    for case in range(6):
        keys = {
            (pick(months), pick(cells), pick(["a", "b", "c"]), pick(windows)) for _ in range(400)
        }
        exact = [
            (m, c, int(c[0]) - int(rng.random() < 0.02), s, w, int(rng.integers(1, 25)))
            for m, c, s, w in sorted(keys)
        ]
        which = sorted({str(m) for m in rng.choice(months, size=1 + case * 4)})
        only = sorted({str(c) for c in rng.choice(cells, size=7)}) if case % 2 else None
        before = [r for r in exact if rng.random() < 0.8]
        ref, got = _both(exact, which, before=before, cells=only)
        assert got == ref, (case, which, only)


# -- a store of real police.uk months --------------------------------------------------------
def _police_csv(path: Path, files: int = 0) -> Path:
    """The bundled real police.uk months (``data/police``) as one file (the first ``files``;
    0: all 159)."""
    months = sorted((ROOT / "data" / "police").glob("*.csv.gz"))
    lines: list[str] = []
    for k, f in enumerate(months[: files or None]):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            lines += fh.read().splitlines()[0 if k == 0 else 1 :]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_real_store_equals_the_sql_grouping(tmp_path: Path) -> None:
    """159 real months imported (398 periods written by the numpy rewrite at the commit):
    the whole table equals the reference's rewrite of every period, and so does a second
    rewrite of every period and of one month over the full table."""
    store: Any = open_store(str(tmp_path / "s.db"))
    import_file(store, "police_uk", _police_csv(tmp_path / "police.csv"))
    conn = store._conn  # type: ignore[attr-defined]
    months = [m for (m,) in conn.execute("SELECT DISTINCT month FROM published_exact")]
    assert len(months) == 159
    imported = conn.execute(TABLE).fetchall()
    assert len(imported) > 10_000
    db = _Sql(conn, pg=False)
    for which in (months, ["2015-06"], [months[0], months[-1]]):
        tables = []
        for rewrite in (rewrite_periods_sql, published._write_periods):
            conn.execute("BEGIN")
            rewrite(db, published.periods_of(which))
            tables.append(conn.execute(TABLE).fetchall())
            conn.execute("ROLLBACK")
        assert tables[0] == tables[1] == imported, which
    store.close()


def test_postgis_equals_the_sql_grouping(pg_database: Any, tmp_path: Path) -> None:
    """PostGIS: a store of 30 real months (its commit rewrites the cells it touched) equals
    PostgreSQL's own grouping of every period, and so does a rewrite of some cells."""
    store: Any = open_store(pg_database())
    import_file(store, "police_uk", _police_csv(tmp_path / "police.csv", 30))
    conn = store._conn  # type: ignore[attr-defined]
    table = (
        "SELECT period, cell, resolution, source, time_window, count, suppressed "
        "FROM published_counts ORDER BY period, time_window, source, cell"
    )
    imported = conn.execute(table).fetchall()
    months = [m for (m,) in conn.execute("SELECT DISTINCT month FROM published_exact")]
    cells = [c for (c,) in conn.execute("SELECT DISTINCT cell FROM published_exact")]
    assert len(months) == 30 and len(imported) > 1000
    assert {type(r[6]) for r in imported} == {bool}
    db = _Sql(conn, pg=True)
    for which, only in ((months, None), (months[3:5], sorted(cells)[::3])):
        tables = []
        for rewrite in (rewrite_periods_sql, published._write_periods):
            with conn.transaction(force_rollback=True):
                rewrite(db, published.periods_of(which), only)
                tables.append(conn.execute(table).fetchall())
        assert tables[0] == tables[1] == imported
    store.close()

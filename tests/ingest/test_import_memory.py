"""The bulk import's lower-memory forms give what the plainer forms give: line blocks, the
sorted-key membership of the ref rule, published groups counted over many chunks (fifth
wave, continued: docs/notes/perf.md)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np

from geosafe.ingest import import_file
from geosafe.sources import _police_read as rd
from geosafe.sources._police_refs import _sorted_contains
from geosafe.store import Store, published

from .test_pandas_free import HEADER, _row


def test_line_blocks_cut_every_rows_lines(tmp_path: Path) -> None:
    """Every block but the last holds exactly ``rows`` lines (the first ones the sizes of
    ``plan``); joined, the blocks are the data after the header, whatever the read size (random
    files, sizes from 1 byte)."""
    rng = random.Random(7)
    path = tmp_path / "f.csv"
    for _ in range(300):
        lines = [b"x" * rng.randint(0, 5) for _ in range(rng.randint(0, 30))]
        body = b"h\n" + b"\n".join(lines) + (b"\n" if rng.random() < 0.7 else b"")
        path.write_bytes(body)
        rows, size = rng.randint(1, 7), rng.randint(1, 9)
        plan = [rng.randint(1, 7) for _ in range(rng.randint(0, 3))]
        got = list(rd._line_blocks(path, rows, size, plan))
        assert b"".join(got) == body[body.index(b"\n") + 1 :]
        wanted = [plan[k] if k < len(plan) else rows for k in range(len(got) - 1)]
        assert [g.count(b"\n") for g in got[:-1]] == wanted
        assert all(g.endswith(b"\n") for g in got[:-1])
        assert all(got)


def test_block_plan_ends_with_small_blocks() -> None:
    """A first and a last block of a quarter of the others, the second of half, every line
    in exactly one block."""
    assert rd.block_plan(1_000_000, 100_000) == [25_000, 50_000, *[100_000] * 9, 25_000]
    assert rd.block_plan(250_000, 100_000) == [25_000, 50_000, 100_000, 50_000, 25_000]
    assert rd.block_plan(110_000, 100_000) == [25_000, 50_000, 10_000, 25_000]
    assert rd.block_plan(100_000, 100_000) == [25_000, 50_000, 25_000]
    assert rd.block_plan(100_000 - 1, 100_000) == [25_000]  # the rest: one block
    assert rd.block_plan(0, 100_000) == [25_000]
    for lines in range(0, 60):
        plan = rd.block_plan(lines, 8)
        assert all(p > 0 for p in plan)
        assert sum(plan) == lines or (lines < 8 and plan == [2])


def test_sorted_contains_is_set_membership() -> None:
    rng = np.random.default_rng(3)
    known = rng.integers(0, 2**64, 5000, dtype=np.uint64, endpoint=False)
    asked = np.concatenate([known[::7], rng.integers(0, 2**64, 3000, dtype=np.uint64)])
    asked = np.concatenate([asked, np.array([0, 2**64 - 1], dtype=np.uint64)])
    expected = np.array([int(k) in {int(v) for v in known} for k in asked])
    assert np.array_equal(_sorted_contains(np.sort(known), asked), expected)
    assert not _sorted_contains(np.empty(0, np.uint64), asked).any()


def _tables(con: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    order = "ORDER BY 1, 2, 3, 4, 5"
    return {
        t: con.execute(f"SELECT * FROM {t} {order}").fetchall()
        for t in ("published_exact", "published_counts")
    }


def test_groups_counted_over_many_chunks_equal_the_sql_grouping(tmp_path: Path) -> None:
    """Chunks of 37 rows, Crime IDs updated in later chunks (their first rows leave the
    counts), points repeated across chunks: the aggregates equal grouping the stored rows
    in SQL."""
    rows = [
        _row(f"{i:064x}", f"2023-{i % 14 % 12 + 1:02d}", f"-0.1{i % 5}", "51.55")
        for i in range(300)
    ]
    rows += [_row(f"{i:064x}", "2024-02", "-0.17", "51.56") for i in range(0, 300, 11)]
    rows += [_row("", "2024-02", "-0.1", "51.5"), _row(f"{999:064x}", "2024-01", "", "")]
    path = tmp_path / "p.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    store = Store(tmp_path / "s.db")
    result = import_file(store, "police_uk", path, chunk_rows=37)
    store.close()
    assert result.updated == len(range(0, 300, 11))
    con = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    staged = _tables(con)
    con.execute("BEGIN")
    published.write_sqlite(con, published.months_sqlite(con, "TRUE"))
    assert _tables(con) == staged
    con.execute("ROLLBACK")
    con.close()
    assert sum(r[5] for r in staged["published_exact"] if r[4] == "all-day") == 301

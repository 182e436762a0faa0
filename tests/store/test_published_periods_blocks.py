"""The periods' rewrite a block of cells at a time (more exact rows than
``published._BLOCK_ROWS``: a national store's months) leaves the table the reference SQL and
the one-block rewrite leave (sixth wave, lead: the one-block path held +95 MB on three
months of the national archive)."""

from __future__ import annotations

import pytest

from geosafe.store import published

from .test_published_periods_sql import EXACT, MONTHS, _both


@pytest.mark.parametrize("block_rows", [1, 7, 60])
def test_blocks_of_cells_equal_the_sql_grouping(
    monkeypatch: pytest.MonkeyPatch, block_rows: int
) -> None:
    ref, one_block = _both(EXACT, MONTHS)
    assert one_block == ref
    monkeypatch.setattr(published, "_BLOCK_ROWS", block_rows)
    ref_again, blocks = _both(EXACT, MONTHS)
    assert blocks == ref_again == ref
    cells = sorted({r[1] for r in EXACT})[:2]
    ref_cells, blocks_cells = _both(EXACT, MONTHS[:1], cells=cells)
    assert blocks_cells == ref_cells


def test_random_stores_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The random stores of the one-block tests, rewritten 25 exact rows at a time."""
    from . import test_published_periods_sql as one

    monkeypatch.setattr(published, "_BLOCK_ROWS", 25)
    one.test_random_stores_equal_the_sql_grouping()

"""The published counts of many periods at once, from the exact monthly rows, in numpy.

:func:`geosafe.store.published._rewrite` replaces the exact monthly counts of the months a
change touches and then every period holding them (the month, its quarter, its year and the
twelve ``L12:`` periods ending with it or after it). It used to run one ``INSERT ... SELECT
... GROUP BY`` per period (398 statements for a store of 159 months: 0.95 s of a 1M-row
import); :func:`period_counts` gives the rows of every period from one read of the exact
rows instead, and the caller writes them with one ``executemany``.

How: each (time window, source, cell) group, and each (time window, ``*``, cell) group for
every source together, becomes a row of a dense matrix over the months the periods span;
its cumulative sums over the months give the total of any period as one difference, for
every group and period at once (a period holds a group when it holds one of its exact rows:
a second cumulative sum counts them). Groups come in blocks so that the matrices stay small
whatever the store's size. The rules are those of the SQL it replaces, value for value
(``tests/store/test_published_periods_sql.py`` keeps that SQL as the reference): the total
of the exact counts; ``count`` NULL under ``suppress_below``, otherwise rounded to
``round_to`` with integer arithmetic (``((2 * total + r) // (2 * r)) * r``, halves up);
``suppressed`` when the total is under ``suppress_below``; ``resolution`` the least of the
group's rows in the period.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["month_index", "period_counts"]

#: Cells of a block's matrices (groups x months and groups x periods): ~8 MB of int64 each.
_BLOCK_CELLS = 1 << 20


def month_index(month: str) -> int:
    """Months since year 0 of ``YYYY-MM`` (consecutive months differ by one)."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def period_counts(
    exact: Sequence[Sequence[Any]],
    periods: Mapping[str, tuple[str, str]],
    *,
    suppress_below: int,
    round_to: int,
    all_sources: str,
    flag: type[bool] | type[int] = bool,
) -> np.ndarray:
    """The rows of ``published_counts`` for ``periods`` (key -> first and last month) from
    the ``exact`` rows ``(month, cell, resolution, source, time_window, n)`` of every month
    they span, as a ``(rows, 7)`` object array of ``(period, cell, resolution, source,
    time_window, count, suppressed)`` (Python ``str``, ``int`` or ``None``, and ``suppressed``
    a ``flag``: ``bool`` for PostgreSQL's ``BOOLEAN``; ``int`` 0/1 for SQLite, which stores
    either as an integer but binds an ``int`` faster), per source and for ``all_sources``, in
    the table's primary-key order (period, time window, source, cell). A period gets a row for
    each group with an exact row in its months."""
    out = np.empty((0, 7), dtype=object)
    if not exact or not periods:
        return out
    months, cells, resolutions, sources, windows, ns = zip(*exact, strict=True)
    cell, cell_names = _codes(cells)
    source, source_names = _codes((*sources, all_sources))
    window, window_names = _codes(windows)
    month, month_names = _codes(months)
    month = np.array([month_index(m) for m in month_names], dtype=np.int64)[month]
    # every exact row counts in its own source's group and in the all-sources group
    star = np.full_like(cell, source[-1])
    width = (len(source_names), len(cell_names))
    key = np.concatenate([(window * width[0] + s) * width[1] + cell for s in (source[:-1], star)])
    names, group = np.unique(key, return_inverse=True)  # group codes in primary-key order
    month = np.concatenate([month, month])
    n = np.tile(np.asarray(ns, dtype=np.int64), 2)
    res = np.tile(np.asarray(resolutions, dtype=np.int64), 2)
    period_keys = sorted(periods)
    first = np.array([month_index(periods[k][0]) for k in period_keys], dtype=np.int64)
    last = np.array([month_index(periods[k][1]) for k in period_keys], dtype=np.int64)
    base = int(first.min())
    span = int(last.max()) - base + 1
    keep = (month >= base) & (month < base + span)  # rows no period holds: none
    group, month, n, res = group[keep], month[keep] - base, n[keep], res[keep]
    parts = _blocks(
        _Rows(group, month, n, res), len(names), _Periods(first - base, last - base, span)
    )
    p, g, total, least = (np.concatenate(c) for c in zip(*parts, strict=True))
    if len(p) and np.any(np.diff(p * len(names) + g) < 0):  # several blocks: one order
        order = np.lexsort((g, p))
        p, g, total, least = p[order], g[order], total[order], least[order]
    suppressed = total < suppress_below
    count = (((2 * total + round_to) // (2 * round_to)) * round_to).astype(object)
    count[suppressed] = None
    names = names[g]
    out = np.empty((len(p), 7), dtype=object)
    out[:, 0] = np.array(period_keys, dtype=object)[p]
    out[:, 1] = np.array(cell_names, dtype=object)[names % width[1]]
    out[:, 2] = least.astype(object)
    out[:, 3] = np.array(source_names, dtype=object)[names // width[1] % width[0]]
    out[:, 4] = np.array(window_names, dtype=object)[names // width[1] // width[0]]
    out[:, 5] = count
    out[:, 6] = suppressed.astype(object) if flag is bool else suppressed.astype(np.int64)
    return out


def _codes(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Each value's rank among the distinct ``values`` (sorted as SQLite's ``BINARY``
    collation sorts them: by code point) and those distinct values."""
    names = sorted(dict.fromkeys(values))
    rank = {v: i for i, v in enumerate(names)}
    return np.fromiter(map(rank.__getitem__, values), np.int64, len(values)), names


class _Rows(NamedTuple):
    """Exact rows as arrays: group code, month (from the first month of the span), count,
    resolution."""

    group: np.ndarray
    month: np.ndarray
    n: np.ndarray
    res: np.ndarray

    def part(self, i: int, j: int, offset: int) -> _Rows:
        return _Rows(self.group[i:j] - offset, self.month[i:j], self.n[i:j], self.res[i:j])


class _Periods(NamedTuple):
    """Each period's first and last month (from the first month of the span), and the
    span's length in months."""

    first: np.ndarray
    last: np.ndarray
    span: int


_Block = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _blocks(rows: _Rows, groups: int, periods: _Periods) -> Iterator[_Block]:
    """(period, group, total, least resolution) of every period holding a group's row,
    blocks of groups at a time (period-major within a block)."""
    size = max(1, _BLOCK_CELLS // (periods.span + 1 + len(periods.first)))
    rows = _Rows(*(column[np.argsort(rows.group, kind="stable")] for column in rows))
    bounds = np.searchsorted(rows.group, np.arange(0, groups + size, size))
    yield (np.empty(0, np.int64),) * 4  # np.concatenate needs one part
    for lo in range(0, groups, size):
        i, j = bounds[lo // size], bounds[lo // size + 1]
        if i < j:
            p, g, total, least = _block(rows.part(i, j, lo), min(groups, lo + size) - lo, periods)
            yield p, g + lo, total, least


def _block(rows: _Rows, groups: int, periods: _Periods) -> _Block:
    first, last, span = periods
    cell = rows.group * span + rows.month
    # float64 sums of integer counts are exact below 2**53
    totals = np.bincount(cell, weights=rows.n, minlength=groups * span).astype(np.int64)
    present = np.bincount(cell, minlength=groups * span)
    sums = np.zeros((groups, span + 1), dtype=np.int64)
    np.cumsum(totals.reshape(groups, span), axis=1, out=sums[:, 1:])
    seen = np.zeros((groups, span + 1), dtype=np.int64)
    np.cumsum(present.reshape(groups, span), axis=1, out=seen[:, 1:])
    # period x group: transposed so that nonzero() walks periods first
    held = (seen[:, last + 1] - seen[:, first]).T > 0
    p, g = np.nonzero(held)
    total = (sums[:, last + 1] - sums[:, first]).T[p, g]
    return p, g, total, _least_resolution(rows, groups, periods, p, g)


def _least_resolution(
    rows: _Rows, groups: int, periods: _Periods, p: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """``MIN(resolution)`` of each (period ``p``, group ``g``): the group's own resolution,
    except for a group whose rows differ (a cell stored at two resolutions), taken month by
    month."""
    low = np.full(groups, np.iinfo(np.int64).max)
    high = np.full(groups, np.iinfo(np.int64).min)
    np.minimum.at(low, rows.group, rows.res)
    np.maximum.at(high, rows.group, rows.res)
    least = low[g]
    for k in np.flatnonzero(low != high):
        by_month = np.full(periods.span, np.iinfo(np.int64).max)
        mine = rows.group == k
        np.minimum.at(by_month, rows.month[mine], rows.res[mine])
        at = np.flatnonzero(g == k)
        least[at] = [by_month[periods.first[q] : periods.last[q] + 1].min() for q in p[at]]
    return least

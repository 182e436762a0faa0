"""The published aggregates per period, time window and source (both backends): hand counts,
an integer-programming differencing attack on every published value, and the rule that
non-analyst layers are built from them alone."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import h3
import numpy as np

from geosafe import calendar as school_calendar
from geosafe.filters import PRESETS
from geosafe.ingest import import_file
from geosafe.store import open_store
from geosafe.store.published import WINDOWS

DIR_HEADER = (
    "dir_ref,reported_at,route,direction,operator,stop_code,latitude,longitude,cause_code,"
    "youth_flag,vulnerability_flag,description"
)
#: A resolution-8 cell in Wood Green (inside the demo area).
CELL = h3.latlng_to_cell(51.5975, -0.1100, 8)

#: (local date and time, incidents): a school day's school run (school-run and
#: after-school), a weekday noon (all-day only), a Saturday evening (evenings, weekends).
ROWS = [
    ("2025-01-13 15:42", 7),
    ("2025-01-14 12:00", 6),
    ("2025-01-18 20:00", 5),
    ("2025-02-03 15:42", 4),
]


def _dir_file(path: Path, rows: list[tuple[str, int]], prefix: str, cell: str = CELL) -> Path:
    rng = np.random.default_rng(3)
    lat, lon = h3.cell_to_latlng(cell)
    lines = [DIR_HEADER]
    k = 0
    for when, n in rows:
        for _ in range(n):
            dy, dx = rng.uniform(-0.0002, 0.0002, 2)
            lines.append(
                f"{prefix}-{k},{when},W3,1,Arriva London,,{lat + dy:.6f},{lon + dx:.6f},"
                "ASB,Y,N,test"
            )
            k += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _table(store: Any) -> dict[tuple[str, str, str], int | None]:
    rows = store.query(
        "SELECT period, time_window, source, count, suppressed FROM published_counts "
        "WHERE cell = ?",
        (CELL,),
    )
    return {(p, w, s): (None if sup else int(c)) for p, w, s, c, sup in rows}


def test_the_windows_are_the_named_presets() -> None:
    assert set(WINDOWS) == set(PRESETS)


def test_the_hand_rows_fall_where_the_test_says() -> None:
    cal = school_calendar.default_calendar()
    assert cal.is_school_day(dt.date(2025, 1, 13)) and cal.is_school_day(dt.date(2025, 2, 3))
    assert dt.date(2025, 1, 18).weekday() == 5


def test_published_counts_per_period_window_and_source_by_hand(
    store_target: str, tmp_path: Path
) -> None:
    store = open_store(store_target)
    import_file(store, "dir", _dir_file(tmp_path / "d.csv", ROWS, "D"))
    got = _table(store)
    # written out by hand: Jan 7 + 6 + 5 = 18 -> 20; school run 7 (suppressed); Feb 4
    # (suppressed); the quarter, the year and the twelve months to February each from
    # their own exact totals: 22 -> 20, school run 7 + 4 = 11 -> 10 (though both months are
    # suppressed)
    want = {
        ("2025-01", "all-day"): 20,
        ("2025-01", "school-run"): None,
        ("2025-01", "after-school"): None,
        ("2025-01", "evenings"): None,
        ("2025-01", "weekends"): None,
        ("2025-02", "all-day"): None,
        ("2025-02", "school-run"): None,
        ("2025-02", "after-school"): None,
        ("2025-Q1", "all-day"): 20,
        ("2025-Q1", "school-run"): 10,
        ("2025-Q1", "after-school"): 10,
        ("2025-Q1", "evenings"): None,
        ("2025", "school-run"): 10,
        ("L12:2025-01", "all-day"): 20,
        ("L12:2025-02", "school-run"): 10,
        ("L12:2025-12", "all-day"): 20,
    }
    for (period, window), value in want.items():
        for source in ("dir", "*"):
            assert got[(period, window, source)] == value, (period, window, source)
    assert not any(w == "night" for _, w, _ in got)  # no incident at night: no row
    assert got[("L12:2026-01", "all-day", "dir")] is None  # February's 4 only
    assert ("L12:2026-02", "all-day", "dir") not in got  # nothing left in that period
    # every value shown is a multiple of 5 from 10 up
    assert all(v is None or (v >= 10 and v % 5 == 0) for v in got.values())
    # an erasure rewrites every period of its month in its own transaction: 17 -> 15
    assert store.erase("dir", "D-0") == ["incidents"]
    after = _table(store)
    assert after[("2025-01", "all-day", "dir")] == 15
    assert after[("2025-Q1", "school-run", "dir")] == 10  # 10 left
    assert after[("2025-Q1", "all-day", "*")] == 20  # 21 left
    store.close()


def _interval(value: int | None) -> tuple[int, int]:
    """What an attacker knows of an exact count from its published value."""
    if value is None:
        return 1, 9
    if value == 10:
        return 10, 12
    return value - 2, value + 2


def _attack(
    published: dict[tuple[str, str], int | None],
    periods: dict[str, list[str]],
    classes: dict[str, set[str]],
    months: list[str],
    target: tuple[str, str],
    exact: dict[tuple[str, str], int] | None = None,
) -> tuple[float, float]:
    """The least and greatest exact value of ``target`` (period, window) consistent with
    every published value (and the ``exact`` values, when some are known exactly): an
    integer linear program over the exact counts of each month and class of incident (a
    class: the windows its incidents fall in)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    atoms = list(itertools.product(months, classes))
    rows, lo, hi = [], [], []
    for (period, window), value in published.items():
        row = [1.0 if m in periods[period] and window in classes[c] else 0.0 for m, c in atoms]
        rows.append(row)
        a, b = (0, 0) if value == 0 else _interval(value)
        if exact and (period, window) in exact:
            a = b = exact[(period, window)]
        lo.append(a)
        hi.append(b)
    cons = LinearConstraint(np.array(rows), lo, hi)
    t = np.array(
        [1.0 if m in periods[target[0]] and target[1] in classes[c] else 0.0 for m, c in atoms]
    )
    bounds = Bounds(0, 200)
    ints = np.ones(len(atoms))
    low = milp(t, constraints=cons, integrality=ints, bounds=bounds)
    high = milp(-t, constraints=cons, integrality=ints, bounds=bounds)
    assert low.success and high.success
    return round(low.fun), round(-high.fun)


def test_differencing_periods_and_windows_recovers_no_suppressed_count(
    store_target: str, tmp_path: Path
) -> None:
    """The attacker holds every published value of the cell (months, quarter, year, every
    twelve-month period, every window, per source and all sources) and solves for the
    suppressed ones; each stays an interval of several values."""
    store = open_store(store_target)
    import_file(store, "dir", _dir_file(tmp_path / "d.csv", ROWS, "D"))
    table = _table(store)
    store.close()
    months = ["2025-01", "2025-02"]
    periods = {
        "2025-01": ["2025-01"],
        "2025-02": ["2025-02"],
        "2025-Q1": months,
        "2025": months,
        **{f"L12:2025-{m:02d}": months if m >= 2 else ["2025-01"] for m in range(1, 13)},
        **{f"L12:2026-{m:02d}": ["2025-02"] if m == 1 else [] for m in range(1, 2)},
    }
    classes = {  # the attacker is even told which window patterns occur
        "run": {"all-day", "school-run", "after-school"},
        "noon": {"all-day"},
        "saturday": {"all-day", "evenings", "weekends"},
    }
    published: dict[tuple[str, str], int | None] = {}
    for period in periods:
        for window in WINDOWS:
            # an absent row is a published zero
            published[(period, window)] = table.get((period, window, "dir"), 0)
            assert table.get((period, window, "*"), 0) == published[(period, window)]
    truth = {("2025-01", "school-run"): 7, ("2025-02", "all-day"): 4, ("2025-01", "evenings"): 5}
    for target, exact in truth.items():
        assert published[target] is None  # suppressed
        low, high = _attack(published, periods, classes, months, target)
        assert low <= exact <= high
        assert high - low >= 2, (target, low, high)
    # the attack itself works: with January's and the quarter's school-run counts exact
    # (7 and 11) it solves February's (4, suppressed) exactly
    exact = {("2025-01", "school-run"): 7, ("2025-Q1", "school-run"): 11}
    low, high = _attack(published, periods, classes, months, ("2025-02", "school-run"), exact)
    assert low == high == 4


def test_a_store_made_before_the_tables_publishes_on_open(tmp_path: Path) -> None:
    """A SQLite store of the previous build (no published tables) gets them, filled, when
    opened; opening it again writes nothing."""
    path = tmp_path / "old.db"
    store = open_store(str(path))
    import_file(store, "dir", _dir_file(tmp_path / "d.csv", ROWS, "D"))
    store.close()
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE published_counts")
        conn.execute("DROP TABLE published_exact")
    store = open_store(str(path))
    assert _table(store)[("2025-Q1", "school-run", "dir")] == 10
    store.close()
    before = path.stat().st_mtime_ns, Path(f"{path}-wal").stat().st_size
    open_store(str(path)).close()
    assert (path.stat().st_mtime_ns, Path(f"{path}-wal").stat().st_size) == before

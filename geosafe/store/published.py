"""Published aggregates: the only incident-derived data outside the analyst role, kept in the
store itself (SQLite and PostGIS alike) and rewritten in the same transaction as every change.

Two tables, the same on both backends:

``published_exact`` (never shown; on PostGIS readable by the owner and analyst roles only)
    per month (Europe/London), published H3 cell, source and time window, the exact number of
    current committed incidents. A change rewrites the months it touches from the rows.
``published_counts`` (what non-analyst requests read; on PostGIS the ``geosafe_reader`` role
    reads it and nothing else of the incidents) per *period*, cell, source and time window,
    the count with the disclosure rules applied: 1-9 suppressed (``count`` NULL), others
    rounded to the nearest 5 (halves up), each value from the *exact* total of its own
    incidents (a period's count is rounded once, never a sum of rounded months).

Dimensions (exactly what the non-analyst filters can ask for):

- **cell**: H3 resolution 8, or an incident's own coarser cell when its location is less
  precise (:func:`geosafe.publish.disclosure.published_cell`);
- **period**: the periods a non-analyst ``datetime`` can name: a month ``2025-03``, a
  quarter ``2025-Q1``, a year ``2025``, and the default period, the twelve months ending
  with a month, ``L12:2025-03``;
- **source**: each source, and ``*`` for every source together (rounded from the exact
  total, so a layer over every source loses nothing to per-source suppression);
- **time window**: each named preset of :data:`geosafe.filters.PRESETS` (``all-day``,
  ``school-run``, ``after-school``, ``evenings``, ``night``, ``weekends``), decided with the
  same rules as the analyst's filter (a time window needs the clock time; ``school-run``
  needs a school day of the calendar in use).

Categories and flags are not dimensions: they are analyst filters (one more dimension would
suppress most cells and multiply what differencing can compare).

``published_h3_counts`` (PostGIS, schema 3) is now a view of the monthly ``all-day`` rows of
each source.

A change that touches a FAP referral also rewrites ``published_referrals``
(:mod:`geosafe.store.published_referrals`) in the same transaction: the months functions
below (:func:`months`, :func:`touched`, :func:`months_sqlite`) return :class:`Months`, which
say whether the rows they looked at hold a referral, and :func:`write` / :func:`write_sqlite`
act on it, so every change's hook serves both tables.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import psycopg

__all__ = [
    "ALL_SOURCES",
    "PUBLISHED_RESOLUTION",
    "WINDOWS",
    "Months",
    "PreparedSqlite",
    "backfill",
    "counts_frame",
    "ensure_sqlite",
    "exact_counts",
    "months",
    "months_of_hours",
    "months_sqlite",
    "periods_of",
    "prepare_sqlite",
    "published_cells",
    "read_published_counts",
    "refresh",
    "touched",
    "write",
    "write_prepared_sqlite",
    "write_sqlite",
]

#: Resolution of the published H3 counts (``disclosure.MAX_PUBLIC_H3_RESOLUTION``).
PUBLISHED_RESOLUTION: Final = 8
_LONDON: Final = zoneinfo.ZoneInfo("Europe/London")
#: The disclosure rules (``disclosure.SUPPRESS_BELOW``, ``ROUND_TO``): 1-9 suppressed,
#: rounded to 5 (:mod:`.published_periods` applies them; tests/store checks them by hand).
_SUPPRESS_BELOW: Final = 10
_ROUND_TO: Final = 5
#: The ``source`` of the rows counting every source together.
ALL_SOURCES: Final = "*"
_MONTH: Final = "to_char(to_timestamp(t_from) AT TIME ZONE 'Europe/London', 'YYYY-MM')"
#: Advisory lock held while a transaction rewrites published months (PostGIS).
_WRITE_LOCK: Final = 0x6E05B00
#: Values bound in one multi-row ``INSERT`` (SQLite allows 32,766 from 3.32, 999 before).
_VALUES_PER_STATEMENT: Final = 3500
_VISIBLE: Final = "batch_id IN (SELECT batch_id FROM batches WHERE status = 'committed')"


#: The time windows counted: the named presets of :data:`geosafe.filters.PRESETS` (a test
#: checks they are the same; not imported here, so opening a store stays light).
WINDOWS: Final = ("school-run", "all-day", "after-school", "evenings", "night", "weekends")

#: Tables of the SQLite store (PostGIS: migration 0004). ``WITHOUT ROWID`` (stores made
#: since the seventh wave; earlier ones keep their tables, read and written alike): the rows
#: live in their primary key's order, with no second copy in an index (a 1M-row import's
#: 262,592 published counts and 46,529 exact rows are written in ~0.29 s, ~0.39 s before).
_SQLITE_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS published_exact (
    month TEXT NOT NULL, cell TEXT NOT NULL, resolution INTEGER NOT NULL,
    source TEXT NOT NULL, time_window TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (month, cell, source, time_window)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS published_counts (
    period TEXT NOT NULL, cell TEXT NOT NULL, resolution INTEGER NOT NULL,
    source TEXT NOT NULL, time_window TEXT NOT NULL, count INTEGER,
    suppressed BOOLEAN NOT NULL,
    PRIMARY KEY (period, time_window, source, cell)
) WITHOUT ROWID;
"""


class Months(list[str]):
    """The months (``YYYY-MM``) a change touches, and whether it touches a FAP referral
    (``fap``: then :func:`write` / :func:`write_sqlite` rewrite the published referrals)."""

    fap: bool = False


def _months_of(rows: Iterable[Sequence[Any]]) -> Months:
    """:class:`Months` of ``(month, is_fap, ...)`` rows (a month ``None``: no time)."""
    rows = list(rows)
    out = Months(sorted({str(r[0]) for r in rows if r[0] is not None}))
    out.fap = any(bool(r[1]) for r in rows)
    return out


def _referrals(c: Any, which: Sequence[str], *, pg: bool) -> None:
    if getattr(which, "fap", False):
        from . import published_referrals

        published_referrals.write(c, pg=pg)


# -- cells ---------------------------------------------------------------------------------
def _number(value: Any) -> float:
    """A coordinate as a float (NaN when missing or not a number)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def published_cells(rows: Any) -> list[str | None]:
    """Each row's published H3 cell (:func:`geosafe.publish.cell.published_cell` at
    resolution 8), computed once per distinct point
    (:func:`geosafe.publish.cell.published_cell_codes`). ``rows``: a DataFrame or a mapping
    with the columns ``h3_cell``, ``lon``, ``lat``."""
    import numpy as np

    from ..publish.cell import published_cell_codes

    own = np.asarray(list(rows["h3_cell"]), dtype=object)
    lon = np.fromiter(map(_number, rows["lon"]), dtype=float, count=len(own))
    lat = np.fromiter(map(_number, rows["lat"]), dtype=float, count=len(own))
    names, code = published_cell_codes(own, lon, lat, PUBLISHED_RESOLUTION)
    return [None if k < 0 else str(names[k]) for k in code.tolist()]


# -- periods -------------------------------------------------------------------------------
def _month_offset(month: str, k: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def periods_of(months: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The published periods holding any of ``months``: key -> (first month, last month)."""
    out: dict[str, tuple[str, str]] = {}
    for m in sorted(set(months)):
        year, month = int(m[:4]), int(m[5:7])
        q = (month - 1) // 3
        out[m] = (m, m)
        out[f"{year}-Q{q + 1}"] = (f"{year}-{3 * q + 1:02d}", f"{year}-{3 * q + 3:02d}")
        out[str(year)] = (f"{year}-01", f"{year}-12")
        for k in range(12):  # the twelve-month periods ending with m .. m + 11
            end = _month_offset(m, k)
            out[f"L12:{end}"] = (_month_offset(end, -11), end)
    return out


def _local_month(t_from: float) -> str:
    return dt.datetime.fromtimestamp(t_from, _LONDON).strftime("%Y-%m")


#: One row of ``published_exact``: month, cell, resolution, source, time window, count.
Exact = tuple[str, str, int, str, str, int]


def exact_counts(rows: Any) -> list[Exact]:
    """Exact counts per month, cell, source and time window of grouped incident rows
    (``cell``, ``source``, ``t_from`` epoch seconds, ``time_precision``, ``n``; a DataFrame or
    a mapping of columns): the rows of ``published_exact``, each row counted in every window
    it falls in (:data:`WINDOWS`)."""
    import h3

    columns = [list(rows[c]) for c in ("cell", "source", "t_from", "time_precision", "n")]
    months: dict[float, str] = {}
    totals: dict[tuple[str, str, str, str], int] = {}
    fine: list[tuple[str, str, str, float, str, int]] = []
    for cell, source, t_from, precision, n in zip(*columns, strict=True):
        if not isinstance(cell, str) or t_from is None or t_from != t_from:
            continue
        t = float(t_from)
        month = months.get(t) or months.setdefault(t, _local_month(t))
        key = (month, cell, str(source), "all-day")
        totals[key] = totals.get(key, 0) + int(n)
        # a window needs the day (weekends) or the clock time: only rows dated to the day
        # or the minute can fall in one (police.uk months are counted in "all-day" only)
        if precision in ("minute", "day"):
            fine.append((month, cell, str(source), t, str(precision), int(n)))
    if fine:
        _window_counts(fine, totals)
    resolution: dict[str, int] = {}
    return [
        (m, c, resolution.get(c) or resolution.setdefault(c, int(h3.get_resolution(c))), s, w, n)
        for (m, c, s, w), n in totals.items()
    ]


def _window_counts(
    fine: list[tuple[str, str, str, float, str, int]],
    totals: dict[tuple[str, str, str, str], int],
) -> None:
    """Add the rows dated to the day or minute to the windows other than ``all-day`` they
    fall in (:class:`geosafe.filters.IncidentFilter`)."""
    import numpy as np
    import pandas as pd

    from ..filters import IncidentFilter

    frame = pd.DataFrame(fine, columns=["month", "cell", "source", "t_from", "time_precision", "n"])
    frame["occurred_from"] = pd.to_datetime(
        frame["t_from"].to_numpy(dtype=float), unit="s", utc=True
    )
    for name in WINDOWS:
        if name == "all-day":
            continue
        keep = np.asarray(IncidentFilter(preset=name).mask(frame), dtype=bool)
        for month, cell, source, n in zip(
            frame["month"][keep],
            frame["cell"][keep],
            frame["source"][keep],
            frame["n"][keep],
            strict=True,
        ):
            key = (month, cell, source, name)
            totals[key] = totals.get(key, 0) + int(n)


class _Sql:
    """One connection of either backend with ``?`` placeholders."""

    def __init__(self, conn: Any, *, pg: bool) -> None:
        self.conn = conn
        self.pg = pg

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s") if self.pg else sql, tuple(params))

    def among(self, column: str, values: Sequence[str] | None) -> tuple[str, list[Any]]:
        """A condition ``AND column IN values`` and its parameters (nothing when ``None``)."""
        if values is None:
            return "", []
        if self.pg:
            return f" AND {column} = ANY(?)", [list(values)]
        return f" AND {column} IN ({', '.join('?' * len(values))})", list(values)

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """``sql`` for each of ``rows`` (any iterable, read as the driver goes)."""
        if self.pg:
            self.conn.cursor().executemany(sql.replace("?", "%s"), rows)
        else:
            self.conn.executemany(sql, rows)

    def insert(
        self, table: str, columns: str, types: str, rows: Sequence[Sequence[Any]] | np.ndarray
    ) -> None:
        """Insert ``rows`` (a list of tuples, or a 2-D object array) into ``table``'s
        ``columns`` (comma-separated; ``types``: their PostgreSQL types, the same way).

        SQLite: many rows a statement, in one ``executemany`` (a statement a row costs the
        driver ~1 us a row more: 0.45 s against 0.26 s for the 262,592 published counts of a
        159-month store). PostgreSQL: one binary ``COPY`` (sending the rows as ``INSERT``
        statements took 1.2-2x the CPU of the per-period ``INSERT ... SELECT`` it replaced:
        docs/notes/perf.md, sixth wave)."""
        if not len(rows):
            return
        if self.pg:
            sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
            with self.conn.cursor().copy(sql) as copy:
                copy.set_types(types.split(", "))
                for row in rows.tolist() if hasattr(rows, "tolist") else rows:
                    copy.write_row(row)
            return
        width = len(rows[0])
        # SQLite before 3.32 allowed 999 values a statement
        bound = min(_VALUES_PER_STATEMENT, self.conn.getlimit(9))  # SQLITE_LIMIT_VARIABLE_NUMBER
        per = max(1, bound // width)
        full = len(rows) // per * per
        values = f"({', '.join('?' * width)})"

        def flat(part: Any) -> list[Any]:
            return part.ravel().tolist() if hasattr(part, "ravel") else [v for r in part for v in r]

        head = f"INSERT INTO {table} ({columns}) VALUES"
        if full:
            self.many(
                f"{head} {', '.join([values] * per)}",
                (flat(rows[i : i + per]) for i in range(0, full, per)),
            )
        if len(rows) > full:
            self.run(f"{head} {', '.join([values] * (len(rows) - full))}", flat(rows[full:]))


def _rewrite(db: _Sql, which: Sequence[str], rows: Any, cells: Sequence[str] | None = None) -> None:
    """Replace the exact counts of the months ``which`` by those of ``rows`` (every current
    committed located incident of those months, or of those ``cells`` in them) and rewrite
    every period holding them (only those cells: each value is of one cell)."""
    exact = _exact_rows(which, rows)
    _replace_exact(db, which, exact, cells)
    _write_periods(db, periods_of(which), cells, known=(which, exact))


def _exact_rows(which: Sequence[str], rows: Any) -> list[Exact]:
    """The exact counts (:func:`exact_counts`) of ``rows`` in the months ``which``."""
    wanted = set(which)
    return [row for row in exact_counts(rows) if row[0] in wanted]


def _replace_exact(
    db: _Sql, which: Sequence[str], exact: Sequence[Exact], cells: Sequence[str] | None = None
) -> None:
    """Replace the exact counts of the months ``which`` (of ``cells`` only, when given)."""
    marks = ", ".join("?" * len(which))
    only, only_params = db.among("cell", cells)
    db.run(f"DELETE FROM published_exact WHERE month IN ({marks}){only}", [*which, *only_params])
    db.insert(
        "published_exact",
        "month, cell, resolution, source, time_window, n",
        "text, text, int2, text, text, int4",
        exact,
    )


def _write_periods(
    db: _Sql,
    periods: dict[str, tuple[str, str]],
    cells: Sequence[str] | None = None,
    *,
    known: tuple[Sequence[str], list[Exact]] | None = None,
) -> None:
    """Rewrite the published counts of ``periods`` (only of ``cells`` when given) from the
    exact rows of every month they span: one read, every period aggregated at once
    (:func:`geosafe.store.published_periods.period_counts`), one write (:meth:`_Sql.insert`).
    ``known``: months whose exact rows (of ``cells``) the caller has just written, and those
    rows: only the other months are read (their rows are already in ``published_exact``).
    More than :data:`_BLOCK_ROWS` rows to make: the same a block of cells at a time."""
    from .published_periods import month_index

    only, only_params = db.among("cell", cells)
    _delete_periods(db, periods, cells)
    first = min(a for a, _ in periods.values())
    span = month_index(max(b for _, b in periods.values())) - month_index(first) + 1
    written, exact = (set(known[0]), list(known[1])) if known else (set(), [])
    others = [m for m in (_month_offset(first, k) for k in range(span)) if m not in written]
    months, months_params = db.among("month", others) if others else ("", [])
    held = (
        db.run(
            f"SELECT COUNT(*) FROM published_exact WHERE TRUE{months}{only}",
            [*months_params, *only_params],
        ).fetchone()[0]
        if others
        else 0
    )
    select = "SELECT month, cell, resolution, source, time_window, n FROM published_exact "
    # a month is in at most 15 periods (itself, its quarter and year, twelve L12): the rows
    # made are at most that many per exact row
    made = (held + len(exact)) * min(len(periods), 15)
    if made <= _BLOCK_ROWS:  # one read, one aggregation, one write
        if others:
            exact += db.run(
                f"{select}WHERE TRUE{months}{only}", [*months_params, *only_params]
            ).fetchall()
        _insert_periods(db, exact, periods)
        return
    # many exact rows (a national store's months): a block of cells at a time, so that the
    # rows read and the published rows made stay bounded (each group is of one cell)
    names = {str(r[1]) for r in exact}
    if others:
        names.update(
            str(c)
            for (c,) in db.run(
                f"SELECT DISTINCT cell FROM published_exact WHERE TRUE{months}{only}",
                [*months_params, *only_params],
            ).fetchall()
        )
    ordered = sorted(names)
    per_cell = max(1, made // max(1, len(ordered)))
    step = max(1, min(_BLOCK_CELLS_MAX, _BLOCK_ROWS // per_cell))
    mine: dict[str, list[Exact]] = {}
    for row in exact:
        mine.setdefault(str(row[1]), []).append(row)
    for i in range(0, len(ordered), step):
        block = ordered[i : i + step]
        rows: list[Any] = [r for c in block for r in mine.get(c, ())]
        if others:
            in_block, block_params = db.among("cell", block)
            rows += db.run(
                f"{select}WHERE TRUE{months}{in_block}", [*months_params, *block_params]
            ).fetchall()
        _insert_periods(db, rows, periods)


def _delete_periods(
    db: _Sql, periods: dict[str, tuple[str, str]], cells: Sequence[str] | None = None
) -> None:
    """Delete the published counts of ``periods`` (only of ``cells`` when given)."""
    keys = sorted(periods)
    if cells is None and not db.pg and _periods_held(db) <= set(keys):
        db.run("DELETE FROM published_counts")  # every row: SQLite drops the pages at once
        return
    among, among_params = db.among("period", keys)
    only, only_params = db.among("cell", cells)
    db.run(f"DELETE FROM published_counts WHERE TRUE{among}{only}", [*among_params, *only_params])


def _insert_periods(db: _Sql, exact: Sequence[Any], periods: dict[str, tuple[str, str]]) -> None:
    """The published counts of ``periods`` from these exact rows, written."""
    _insert_counts(db, _period_rows(exact, periods, pg=db.pg))


def _period_rows(
    exact: Sequence[Any], periods: dict[str, tuple[str, str]], *, pg: bool
) -> np.ndarray:
    """The published counts of ``periods`` from these exact rows, the disclosure rules
    applied (:func:`geosafe.store.published_periods.period_counts`)."""
    from .published_periods import period_counts

    return period_counts(
        exact,
        periods,
        suppress_below=_SUPPRESS_BELOW,
        round_to=_ROUND_TO,
        all_sources=ALL_SOURCES,
        flag=bool if pg else int,
    )


def _insert_counts(db: _Sql, rows: np.ndarray) -> None:
    db.insert(
        "published_counts",
        "period, cell, resolution, source, time_window, count, suppressed",
        "text, text, int2, text, text, int4, bool",
        rows,
    )


#: Published rows :func:`_write_periods` makes at once (at most 15 per exact row); more are
#: made a block of cells at a time (three months of the national archive made them all in
#: one go: +95 MB of peak RSS over the per-period SQL; with 250,000 rows a block +45 MB).
_BLOCK_ROWS: Final = 250_000
#: At most this many cells in one block's ``IN (...)`` (SQLite's variable limit is 32,766).
_BLOCK_CELLS_MAX: Final = 10_000


def _periods_held(db: _Sql) -> set[str]:
    """The periods ``published_counts`` holds (one primary-key seek per period)."""
    rows = db.run(
        "WITH RECURSIVE held(period) AS (SELECT MIN(period) FROM published_counts UNION ALL "
        "SELECT (SELECT MIN(period) FROM published_counts WHERE period > held.period) "
        "FROM held WHERE held.period IS NOT NULL) SELECT period FROM held "
        "WHERE period IS NOT NULL"
    ).fetchall()
    return {str(p) for (p,) in rows}


# -- PostGIS -------------------------------------------------------------------------------
def months(c: psycopg.Connection[Any], where: str, params: Sequence[Any]) -> Months:
    """The months (``YYYY-MM``, Europe/London) of the incident rows ``where`` selects."""
    rows = c.execute(
        f"SELECT DISTINCT {_MONTH}, source = 'fap' FROM incidents WHERE ({where})",  # type: ignore[arg-type]
        tuple(params),
    ).fetchall()
    return _months_of(rows)


def _span(which: Sequence[str]) -> tuple[float, float]:
    first, last = min(which), _month_offset(max(which), 1)
    start = dt.datetime(int(first[:4]), int(first[5:7]), 1, tzinfo=_LONDON)
    end = dt.datetime(int(last[:4]), int(last[5:7]), 1, tzinfo=_LONDON)
    return start.timestamp(), end.timestamp()


def touched(
    c: psycopg.Connection[Any], where: str, params: Sequence[Any]
) -> tuple[list[str], list[str]]:
    """The months and the published cells of the incident rows ``where`` selects: the only
    (month, cell) values a change of those rows can alter (PostGIS)."""
    rows = c.execute(
        f"SELECT DISTINCT {_MONTH}, source = 'fap', pub_cell FROM incidents WHERE ({where})",  # type: ignore[arg-type]
        tuple(params),
    ).fetchall()
    cells = {str(r[2]) for r in rows if r[2] is not None and r[0] is not None}
    return _months_of(rows), sorted(cells)


def write(
    c: psycopg.Connection[Any], which: Sequence[str], cells: Sequence[str] | None = None
) -> None:
    """Rewrite the published aggregates of the months ``which`` (in the caller's
    transaction, PostGIS), only of ``cells`` when given (:func:`touched`: a batch's commit
    rewrites the cells it changed, not every cell of fifteen periods); the published referrals
    too when ``which`` says a referral was touched (:class:`Months`)."""
    _referrals(c, which, pg=True)
    if not which or (cells is not None and not cells):
        return
    # concurrent writers rewrite one month after the other: each statement below then sees
    # the rows the other committed (READ COMMITTED), so a month is never written twice
    c.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
    lo, hi = _span(which)
    # grouped in the server: police.uk rows of one cell and month share their time
    in_cells = "pub_cell IS NOT NULL" if cells is None else "pub_cell = ANY(%s)"
    found = c.execute(
        "SELECT pub_cell, source, t_from, time_precision, COUNT(*) FROM incidents "  # type: ignore[arg-type]
        f"WHERE t_from >= %s AND t_from < %s AND current = 1 AND {in_cells} "
        f"AND {_VISIBLE} GROUP BY pub_cell, source, t_from, time_precision",
        (lo, hi) if cells is None else (lo, hi, list(cells)),
    ).fetchall()
    names = ("cell", "source", "t_from", "time_precision", "n")
    rows = {k: [r[i] for r in found] for i, k in enumerate(names)}
    _rewrite(_Sql(c, pg=True), which, rows, cells)


def refresh(c: psycopg.Connection[Any], where: str, params: Sequence[Any]) -> None:
    """Rewrite the months of the rows ``where`` selects."""
    write(c, months(c, where, params))


def backfill(c: psycopg.Connection[Any]) -> None:
    """Give rows stored before schema 3 their published cell and rebuild every month (in
    the caller's transaction)."""
    rows = c.execute(
        "SELECT id, h3_cell, lon, lat FROM incidents WHERE pub_cell IS NULL "
        "AND (h3_cell IS NOT NULL OR lon IS NOT NULL)"
    ).fetchall()
    if rows:
        import pandas as pd

        frame = pd.DataFrame(rows, columns=["id", "h3_cell", "lon", "lat"])
        cells = published_cells(frame)
        c.cursor().executemany(
            "UPDATE incidents SET pub_cell = %s WHERE id = %s",
            [(cell, int(i)) for cell, i in zip(cells, frame["id"], strict=True) if cell],
        )
    refresh(c, "TRUE", ())


def counts_frame(conn: psycopg.Connection[Any]) -> pd.DataFrame:
    """``published_h3_counts`` (the monthly all-day counts per source) as a frame: ``cell``,
    ``resolution``, ``month``, ``source``, ``count`` (float, NaN when suppressed),
    ``suppressed``."""
    import pandas as pd

    cols = ["cell", "resolution", "month", "source", "count", "suppressed"]
    rows = conn.execute(
        f"SELECT {', '.join(cols)} FROM published_h3_counts ORDER BY month, cell, source"  # type: ignore[arg-type]
    ).fetchall()
    frame = pd.DataFrame(rows, columns=cols)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype(float)
    return frame


def read_published_counts(url: str) -> pd.DataFrame:
    """The published monthly H3 counts read over ``url`` as it is: meant for the service's
    non-analyst database user (a member of ``geosafe_reader``, which can read nothing else)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return counts_frame(conn)


# -- SQLite --------------------------------------------------------------------------------
def months_sqlite(c: Any, where: str, params: Sequence[Any] = ()) -> Months:
    """The months (``YYYY-MM``, Europe/London) of the incident rows ``where`` selects
    (SQLite; whole hours are enough to place a time in its local month), and whether they
    hold a FAP referral (one scan)."""
    rows = c.execute(
        f"SELECT DISTINCT CAST(t_from / 3600 AS INTEGER), source = 'fap' FROM incidents "
        f"WHERE ({where})",
        tuple(params),
    ).fetchall()
    hours = [h for h, _ in rows if h is not None]
    return _months_of([(m, False) for m in months_of_hours(hours)] + [(None, f) for _, f in rows])


def months_of_hours(hours: Iterable[int]) -> list[str]:
    """The local months (``YYYY-MM``) of whole hours since the epoch (``t_from / 3600``)."""
    return sorted({_local_month(float(h) * 3600) for h in hours})


#: The columns of a batch's grouped rows (:func:`write_sqlite`'s ``found``).
_FOUND: Final = ("h3_cell", "lon", "lat", "source", "t_from", "time_precision", "n")


def write_sqlite(
    c: Any,
    which: Sequence[str],
    found: Sequence[Sequence[Any]] | Mapping[str, Sequence[Any]] | None = None,
) -> None:
    """Rewrite the published aggregates of the months ``which`` (in the caller's
    transaction, SQLite: the published cell is computed here from each row's cell and
    point, once per distinct pair); the published referrals too when ``which`` says a
    referral was touched (:class:`Months`). ``found``: the rows of the ``GROUP BY`` below when
    the caller already has them (a bulk load into an empty store counts its rows as it stages
    them; or those rows' columns by name, as
    :meth:`geosafe.store._sqlite_rows.BatchAggregate.found` gives them, already grouped by
    published cell)."""
    _referrals(c, which, pg=False)
    if not which:
        return
    lo, hi = _span(which)
    found = (
        found
        if found is not None
        else c.execute(
            "SELECT h3_cell, lon, lat, source, t_from, time_precision, COUNT(*) FROM incidents "
            "WHERE t_from >= ? AND t_from < ? AND current = 1 "
            f"AND (h3_cell IS NOT NULL OR lon IS NOT NULL) AND {_VISIBLE} "
            # t_from first: the sorter's comparisons end sooner (police.uk rows share a few
            # months): 1.3 s against 2.1 s for a 1M-row batch (docs/notes/perf.md, fifth wave)
            "GROUP BY t_from, h3_cell, lon, lat, source, time_precision",
            (lo, hi),
        ).fetchall()
    )
    _rewrite(_Sql(c, pg=False), which, _grouped(found))


def _grouped(found: Sequence[Sequence[Any]] | Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """A batch's grouped rows (:data:`_FOUND`, as rows or as columns by name) as columns,
    with each row's published ``cell``."""
    raw: dict[str, Any] = (
        {k: found[k] for k in _FOUND}
        if isinstance(found, Mapping)
        else {k: [r[i] for r in found] for i, k in enumerate(_FOUND)}
    )
    raw["cell"] = published_cells(raw)
    return raw


class PreparedSqlite(NamedTuple):
    """The rows :func:`write_sqlite` writes for a batch that is all a store holds, made before
    the commit's transaction (:func:`prepare_sqlite`) and written in it
    (:func:`write_prepared_sqlite`): a bulk load makes them while its writer process builds
    the indexes."""

    which: Sequence[str]
    exact: list[Exact]
    periods: dict[str, tuple[str, str]]
    counts: np.ndarray


#: Published rows :func:`prepare_sqlite` makes ahead at most (at most 15 per exact row; a
#: 1M-row police.uk file of 159 months makes 262,592 from 46,529 exact rows); more are left to
#: the commit, which makes them a block of cells at a time.
_PREPARED_ROWS_MAX: Final = 1_000_000


def prepare_sqlite(
    which: Sequence[str], found: Mapping[str, Sequence[Any]]
) -> PreparedSqlite | None:
    """The published rows of the months ``which`` from ``found`` (columns as
    :meth:`geosafe.store._sqlite_rows.BatchAggregate.found` gives them), as
    :func:`write_sqlite` would make them in a store holding no other published month;
    ``None`` when there is nothing to write or too much to hold (:data:`_PREPARED_ROWS_MAX`)."""
    if not which:
        return None
    # in the table's primary-key order: SQLite then appends to its index (~half the time)
    exact = sorted(_exact_rows(which, _grouped(found)), key=lambda r: (r[0], r[1], r[3], r[4]))
    periods = periods_of(which)
    if len(exact) * min(len(periods), 15) > _PREPARED_ROWS_MAX:
        return None
    return PreparedSqlite(list(which), exact, periods, _period_rows(exact, periods, pg=False))


def write_prepared_sqlite(c: Any, prepared: PreparedSqlite) -> bool:
    """Write :func:`prepare_sqlite`'s rows in the caller's transaction, as
    :func:`write_sqlite` would have: only when ``published_exact`` holds no month but
    ``prepared.which`` (the other months the periods span would count too); ``False``, having
    written nothing, otherwise."""
    which = list(prepared.which)
    marks = ", ".join("?" * len(which))
    if c.execute(
        f"SELECT 1 FROM published_exact WHERE month NOT IN ({marks}) LIMIT 1", which
    ).fetchone():
        return False
    _referrals(c, which, pg=False)
    db = _Sql(c, pg=False)
    _replace_exact(db, which, prepared.exact)
    _delete_periods(db, prepared.periods)
    _insert_counts(db, prepared.counts)
    return True


def ensure_sqlite(conn: Any) -> None:
    """Create the published tables of a SQLite store when missing, and publish every month
    of a store made before them (one transaction; opening an up-to-date store writes
    nothing)."""
    from . import published_referrals

    published_referrals.ensure_sqlite(conn)
    have = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'published_counts'"
    ).fetchone()
    if have:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SQLITE_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        write_sqlite(conn, months_sqlite(conn, "1 = 1"))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

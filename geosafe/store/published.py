"""Published aggregates in the PostGIS store: the only incident-derived data the service's
non-analyst database role (``geosafe_reader``) can read.

``incidents.pub_cell`` is each located incident's published H3 cell (resolution 8, or its own
coarser cell when its location is less precise: the rule of
:func:`geosafe.publish.disclosure.aggregate_counts`), filled when rows are staged.
``published_h3_counts`` holds, per cell, month (Europe/London) and source, the count of
current committed incidents with the disclosure rules applied (1-9 suppressed, others rounded
to the nearest 5, halves up). :class:`~geosafe.store.postgis.PostgisStore` rewrites the months
a change touches inside the change's own transaction (commit, rollback, erasure, purge), so a
reader never sees counts of rows it could not see, nor miss a committed batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "PUBLISHED_RESOLUTION",
    "backfill",
    "counts_frame",
    "months",
    "published_cells",
    "read_published_counts",
    "refresh",
    "touched",
    "write",
]

#: Resolution of the published H3 counts (``disclosure.MAX_PUBLIC_H3_RESOLUTION``).
PUBLISHED_RESOLUTION: Final = 8
#: The disclosure rules (``disclosure.SUPPRESS_BELOW``, ``ROUND_TO``): 1-9 suppressed,
#: rounded to 5 (the SQL below applies them; tests/store checks them by hand).
_SUPPRESS_BELOW: Final = 10
_ROUND_TO: Final = 5
_MONTH: Final = "to_char(to_timestamp(t_from) AT TIME ZONE 'Europe/London', 'YYYY-MM')"
#: Advisory lock held while a transaction rewrites published months.
_WRITE_LOCK: Final = 0x6E05B00
_VISIBLE: Final = "batch_id IN (SELECT batch_id FROM batches WHERE status = 'committed')"


def published_cells(rows: pd.DataFrame) -> list[str | None]:
    """Each row's published H3 cell (:func:`geosafe.publish.disclosure.published_cell` at
    resolution 8), computed once per distinct cell and point."""
    from ..publish.disclosure import published_cell

    frame = pd.DataFrame(
        {
            "cell": rows["h3_cell"].to_numpy(dtype=object),
            "lon": pd.to_numeric(rows["lon"], errors="coerce").to_numpy(dtype=float),
            "lat": pd.to_numeric(rows["lat"], errors="coerce").to_numpy(dtype=float),
        }
    )
    # each distinct (cell, point) once: police.uk points repeat (snap points)
    groups = frame.groupby(["cell", "lon", "lat"], dropna=False, sort=False).ngroup()
    firsts = frame.drop_duplicates()
    out = [
        published_cell(cell, x, y, PUBLISHED_RESOLUTION)
        for cell, x, y in firsts.itertuples(index=False)
    ]
    return np.asarray(out, dtype=object)[groups.to_numpy()].tolist()  # type: ignore[no-any-return]


def months(c: psycopg.Connection[Any], where: str, params: Sequence[Any]) -> list[str]:
    """The months (``YYYY-MM``, Europe/London) of the incident rows ``where`` selects."""
    rows = c.execute(
        f"SELECT DISTINCT {_MONTH} FROM incidents WHERE ({where}) AND t_from IS NOT NULL",  # type: ignore[arg-type]
        tuple(params),
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def touched(
    c: psycopg.Connection[Any], where: str, params: Sequence[Any]
) -> tuple[list[str], list[str]]:
    """The months and the published cells of the incident rows ``where`` selects: the only
    (month, cell) counts a change of those rows can alter."""
    rows = c.execute(
        f"SELECT DISTINCT {_MONTH}, pub_cell FROM incidents WHERE ({where}) "  # type: ignore[arg-type]
        "AND t_from IS NOT NULL",
        tuple(params),
    ).fetchall()
    return sorted({str(m) for m, _ in rows}), sorted({str(p) for _, p in rows if p is not None})


def write(
    c: psycopg.Connection[Any], which: Sequence[str], cells: Sequence[str] | None = None
) -> None:
    """Rewrite ``published_h3_counts`` for the months ``which`` (in the caller's transaction),
    only for ``cells`` when given (see :func:`touched`)."""
    if not which:
        return
    # concurrent writers rewrite one month after the other: each statement below then sees
    # the rows the other committed (READ COMMITTED), so a month is never written twice
    c.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
    only = () if cells is None else (list(cells),)
    c.execute(
        "DELETE FROM published_h3_counts WHERE month = ANY(%s)"  # type: ignore[arg-type]
        + ("" if cells is None else " AND cell = ANY(%s)"),
        (list(which), *only),
    )
    # one pass over the rows of exactly these months (a time-index range per run of
    # consecutive months, not the span from the first to the last: a batch updating a row of
    # years ago rescanned every month between), or of these cells in them (the cell index:
    # an import batch's few thousand rows, not every force's rows of its month); each row's
    # month computed once, and no filter on it (the spans hold exactly these months: a filter
    # on the computed month misled the planner's row estimates)
    spans = _spans(which)
    c.execute(
        "INSERT INTO published_h3_counts (cell, resolution, month, source, count, suppressed) "
        "SELECT pub_cell, position(substr(pub_cell, 2, 1) IN '0123456789abcdef') - 1, month, "
        "source, CASE WHEN COUNT(*) < %s THEN NULL "
        "ELSE (floor(COUNT(*) / %s::float8 + 0.5) * %s)::int END, COUNT(*) < %s "
        f"FROM (SELECT pub_cell, source, {_MONTH} AS month FROM incidents "
        f"WHERE ({' OR '.join(['(t_from >= %s AND t_from < %s)'] * len(spans))}) "
        "AND current = 1 AND "
        + ("pub_cell IS NOT NULL" if cells is None else "pub_cell = ANY(%s)")
        + f" AND {_VISIBLE}) AS rows GROUP BY pub_cell, month, source",  # type: ignore[arg-type]
        (
            _SUPPRESS_BELOW,
            _ROUND_TO,
            _ROUND_TO,
            _SUPPRESS_BELOW,
            *(t for span in spans for t in span),
            *only,
        ),
    )


def _spans(which: Sequence[str]) -> list[tuple[float, float]]:
    """Epoch-second ranges ``[start, end)`` covering the months ``which`` (Europe/London),
    one per run of consecutive months."""
    spans: list[tuple[float, float]] = []
    for month in sorted(set(which)):
        start = pd.Timestamp(f"{month}-01", tz="Europe/London")
        end = (start + pd.offsets.MonthBegin(1)).timestamp()
        if spans and spans[-1][1] == start.timestamp():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start.timestamp(), end))
    return spans


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
        frame = pd.DataFrame(rows, columns=["id", "h3_cell", "lon", "lat"])
        cells = published_cells(frame)
        c.cursor().executemany(
            "UPDATE incidents SET pub_cell = %s WHERE id = %s",
            [(cell, int(i)) for cell, i in zip(cells, frame["id"], strict=True) if cell],
        )
    refresh(c, "TRUE", ())


def counts_frame(conn: psycopg.Connection[Any]) -> pd.DataFrame:
    """``published_h3_counts`` as a frame: ``cell``, ``resolution``, ``month``, ``source``,
    ``count`` (float, NaN when suppressed), ``suppressed``."""
    cols = ["cell", "resolution", "month", "source", "count", "suppressed"]
    rows = conn.execute(
        f"SELECT {', '.join(cols)} FROM published_h3_counts ORDER BY month, cell, source"  # type: ignore[arg-type]
    ).fetchall()
    frame = pd.DataFrame(rows, columns=cols)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype(float)
    return frame


def read_published_counts(url: str) -> pd.DataFrame:
    """The published H3 counts read over ``url`` as it is: meant for the service's
    non-analyst database user (a member of ``geosafe_reader``, which can read nothing else)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return counts_frame(conn)

"""A bulk police.uk load publishes what grouping its stored rows in SQL publishes: the
counts kept while staging (per published cell and month, each distinct point mapped once)
against :func:`geosafe.store.published.write_sqlite`'s own ``GROUP BY`` over the rows, on
real months (sixth wave: docs/notes/perf.md)."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest

from geosafe.ingest import import_file
from geosafe.store import Store, published


def _tables(con: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall()
        for t in ("published_exact", "published_counts")
    }


def _regrouped(
    db: Path,
) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, list[tuple[object, ...]]]]:
    """The published tables as the import left them, and as the SQL grouping writes them."""
    con = sqlite3.connect(db, isolation_level=None)
    staged = _tables(con)
    con.execute("BEGIN")
    published.write_sqlite(con, published.months_sqlite(con, "TRUE"))
    grouped = _tables(con)
    con.execute("ROLLBACK")
    con.close()
    return staged, grouped


def _one_file(files: list[Path], out: Path) -> int:
    """The months as one CSV (one header): later months repeat earlier Crime IDs (updates)."""
    lines: list[str] = []
    for k, p in enumerate(files):
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt", encoding="utf-8", newline="") as fh:
            text = fh.read().splitlines()
        lines.extend(text if k == 0 else text[1:])
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


@pytest.mark.parametrize(
    ("folder", "months"),
    [("met_burglary_north_london", slice(100, 124)), ("city_of_london", slice(0, 36))],
)
def test_staged_counts_equal_the_sql_grouping_on_real_months(
    shared_data: Path, tmp_path: Path, folder: str, months: slice
) -> None:
    files = sorted((shared_data / "police" / folder).glob("*.csv*"))[months]
    assert files
    path = tmp_path / "months.csv"
    rows = _one_file(files, path)
    store = Store(tmp_path / "s.db")
    result = import_file(store, "police_uk", path, chunk_rows=997)  # many chunks
    store.close()
    assert result.rows == rows
    staged, grouped = _regrouped(tmp_path / "s.db")
    assert staged == grouped
    assert len(staged["published_counts"]) > 100


def test_a_point_superseded_out_of_its_last_group(tmp_path: Path) -> None:
    """An update moving a crime's only row away from a point and month: that group leaves
    the counts entirely (no row of count 0), and the new point's group gains it."""
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
        "LSOA code,LSOA name,Crime type,Last outcome category,Context"
    )

    def row(crime: str, month: str, lon: str, lat: str) -> str:
        return f"{crime},{month},Met,Met,{lon},{lat},On or near X,E01,L,Burglary,,"

    lines = [row(f"{i:064x}", "2023-05", "-0.1", "51.5") for i in range(12)]
    lines.append(row(f"{99:064x}", "2023-05", "-0.2", "51.6"))  # alone at its point
    lines.append(row(f"{99:064x}", "2023-05", "-0.1", "51.5"))  # ... then moved
    path = tmp_path / "p.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    store = Store(tmp_path / "s.db")
    result = import_file(store, "police_uk", path, chunk_rows=5)
    store.close()
    assert result.updated == 1
    staged, grouped = _regrouped(tmp_path / "s.db")
    assert staged == grouped
    exact = [r for r in staged["published_exact"] if r[4] == "all-day"]
    assert [r[5] for r in exact] == [13]  # one cell: the lone point's group is gone

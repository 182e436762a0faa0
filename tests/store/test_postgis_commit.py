"""The PostGIS commit path: a batch rewrites exactly the published counts its rows and the
versions it supersedes touch (months and cells), without scanning the whole table, and the
counts equal a hand count of the current incidents after every step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h3
import pytest

from geosafe.ingest import import_file
from geosafe.store import open_store
from tests.store.test_postgis import _published

pytestmark = pytest.mark.usefixtures("pg_cluster")

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context"
)
#: Two resolution-8 cells in Wood Green (inside the default area).
CELL_A = h3.latlng_to_cell(51.5975, -0.1100, 8)
CELL_B = h3.latlng_to_cell(51.6070, -0.1245, 8)


def _row(crime_id: str, month: str, cell: str, k: int, crime: str = "Burglary") -> str:
    lat, lon = h3.cell_to_latlng(cell)
    lat += 0.00001 * (k % 7)
    return (
        f"{crime_id},{month},Metropolitan Police Service,Metropolitan Police Service,"
        f"{lon:.6f},{lat:.6f},On or near High Road,E01000001,Haringey 001A,{crime},,"
    )


def _file(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_an_update_rewrites_the_superseded_versions_month_and_cell(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database()
    store = open_store(url)
    ids = [f"{k:064x}" for k in range(1, 14)]
    jan = _file(tmp_path / "jan.csv", [_row(i, "2024-01", CELL_A, k) for k, i in enumerate(ids)])
    # February: 12 new crimes in cell B, and crime 0 again, moved to cell B (an update: the
    # later month wins, January's version becomes history)
    feb_rows = [_row(f"{k + 100:064x}", "2024-02", CELL_B, k) for k in range(12)]
    feb = _file(tmp_path / "feb.csv", [*feb_rows, _row(ids[0], "2024-02", CELL_B, 3, "Arson")])
    import_file(store, "police_uk", jan)
    # hand count: 13 in A in January -> 15 (12.5 rounds up)
    assert _published(url, "police_uk") == {(CELL_A, "2024-01"): 15.0}
    second = import_file(store, "police_uk", feb)
    assert second.updated == 1
    # January A: 12 current -> 10 (the superseded version's month and cell, which the batch's
    # own rows do not hold); February B: 13 -> 15
    assert _published(url, "police_uk") == {(CELL_A, "2024-01"): 10.0, (CELL_B, "2024-02"): 15.0}
    # a third file touching only February's cell B leaves January's counts as they are
    mar = _file(
        tmp_path / "mar.csv", [_row(f"{k + 200:064x}", "2024-02", CELL_B, k) for k in range(3)]
    )
    import_file(store, "police_uk", mar)
    assert _published(url, "police_uk") == {
        (CELL_A, "2024-01"): 10.0,
        (CELL_B, "2024-02"): 15.0,
    }  # 16 -> 15
    # April: three more January crimes move to cell B, and ten new ones there: January and
    # April are rewritten (two separate month ranges), February is not touched
    apr_rows = [_row(f"{k + 300:064x}", "2024-04", CELL_B, k) for k in range(10)]
    moved = [_row(i, "2024-04", CELL_B, 5, "Arson") for i in ids[1:4]]
    assert (
        import_file(store, "police_uk", _file(tmp_path / "apr.csv", apr_rows + moved)).updated == 3
    )
    assert _published(url, "police_uk") == {
        (CELL_A, "2024-01"): None,  # 9: suppressed
        (CELL_B, "2024-02"): 15.0,
        (CELL_B, "2024-04"): 15.0,  # 13
    }
    # the rows themselves, counted independently per (cell, month)
    frame = store.incidents()
    cells = [
        h3.latlng_to_cell(lat, lon, 8) for lat, lon in zip(frame["lat"], frame["lon"], strict=True)
    ]
    months = frame["occurred_from"].dt.tz_convert("Europe/London").dt.strftime("%Y-%m")
    got: dict[tuple[str, str], int] = {}
    for key in zip(cells, months, strict=True):
        got[key] = got.get(key, 0) + 1
    assert got == {(CELL_A, "2024-01"): 9, (CELL_B, "2024-02"): 16, (CELL_B, "2024-04"): 13}
    # rolling February back restores crime 0's January version (9 -> 10) and leaves the 3
    # rows of the third file in February (suppressed)
    store.rollback(second.batch_id)
    assert _published(url, "police_uk") == {
        (CELL_A, "2024-01"): 10.0,
        (CELL_B, "2024-02"): None,
        (CELL_B, "2024-04"): 15.0,
    }
    store.close()

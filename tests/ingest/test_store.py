"""The store: queries, batches, erase, purge, recovery of an interrupted import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from geosafe.store import Store, open_store


def test_bbox_and_time_queries(imp, store) -> None:  # type: ignore[no-untyped-def]
    imp("dir", "dir_good.csv")
    imp("cris", "cris_good.csv")
    every = store.incidents()
    # bbox around CRIS-1's grid reference only
    near = store.incidents(bbox=(529800, 191500, 529900, 191560))
    assert "CRIS-1" in set(near["source_ref"])
    assert all(
        g.intersects(__import__("shapely").box(529800, 191500, 529900, 191560))
        for g in near.geometry
    )
    far = store.incidents(bbox=(500000, 150000, 500100, 150100))
    assert far.empty
    jan14 = store.incidents(start="2025-01-14", end="2025-01-15")
    assert set(jan14["source_ref"]) == {"DIR-2", "CRIS-2"}
    assert len(every) == len(store.incidents(start=pd.Timestamp("2000-01-01", tz="UTC")))
    assert set(store.incidents(sources=["cris"])["source"]) == {"cris"}
    # the line geometry of the route stretch is found by a box it crosses
    line = every.set_index("source_ref").loc["DIR-3", "geometry"]
    mx, my = line.interpolate(0.5, normalized=True).coords[0]
    assert "DIR-3" in set(store.incidents(bbox=(mx - 1, my - 1, mx + 1, my + 1))["source_ref"])


def test_erase_and_purge(imp, store) -> None:  # type: ignore[no-untyped-def]
    imp("dir", "dir_refs.csv")
    imp("police_uk", "police_jan.csv")
    imp("police_uk", "police_feb.csv")
    a = "aaaa" + "0" * 59 + "1"
    assert store.erase("police-uk", a) == ["incidents", "history"]
    assert store.erase("dir", "DUP-1") == ["incidents", "quarantine"]
    assert store.erase("dir", "DUP-1") == []
    assert "DUP-1" not in set(store.incidents(with_location=False)["source_ref"])
    n_police = len(
        store.incidents(sources=["police_uk"], with_location=False, include_history=True)
    )
    removed = store.purge("2024-06-01")
    assert removed == n_police
    assert store.incidents(sources=["police_uk"], with_location=False).empty


def test_abandoned_staging_batch_is_invisible_and_recovered(imp, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    imp("dir", "dir_good.csv")
    # a process that stages rows and dies before committing
    code = (
        "import os, sys\n"
        "from geosafe.store import open_store\n"
        "from geosafe.ingest import _rows_frame\n"
        "import pandas as pd\n"
        "s = open_store(sys.argv[1])\n"
        "b = s.begin_batch('dir', 'f' * 64, file_name='x.csv')\n"
        "s.stage_quarantine(b, 'dir', [(1, None, 'ref_missing', 'x', None, '{}')])\n"
        "os._exit(9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, store.target], check=False)
    assert proc.returncode == 9
    assert [b.status for b in store.batches()] == ["committed"]
    assert len(store.quarantine()) == 0
    aborted = store.recover()
    assert len(aborted) == 1
    assert store.batch(aborted[0]).status == "aborted"
    assert os.getpid()  # the current process's own staging batches are never recovered
    with open_store(store.target) as again:
        assert len(again.incidents(with_location=False)) == 4


def test_opening_a_store_does_not_modify_it(tmp_path: Path) -> None:
    """Readers open stores all the time; caches are keyed on the file's state."""
    import time

    path = tmp_path / "s.db"
    Store(path).close()
    before = (path.stat().st_mtime_ns, path.stat().st_size)
    time.sleep(0.02)
    Store(path).close()
    assert (path.stat().st_mtime_ns, path.stat().st_size) == before

"""Real data: every month of the shared Met burglary set imports with >= 97 % accepted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from geosafe.ingest import import_file
from geosafe.store import Store


@pytest.mark.slow
def test_all_met_burglary_months(shared_data: Path, tmp_path: Path) -> None:
    files = sorted((shared_data / "police" / "met_burglary_north_london").glob("*.csv.gz"))
    assert len(files) == 159
    store = Store(tmp_path / "real.db")
    totals: Counter[str] = Counter()
    for p in files:
        r = import_file(store, "police_uk", p)
        totals.update(
            rows=r.rows, accepted=r.accepted, quarantined=r.quarantined, updated=r.updated
        )
        assert r.accepted + r.quarantined == r.rows
    assert totals["rows"] == 219_552
    assert totals["accepted"] / totals["rows"] >= 0.97
    # independent reference with plain pandas: police.uk's rule applied to the whole set
    df = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in files])
    with_id = df[df["Crime ID"] != ""]
    repeats = with_id.duplicated()
    assert totals["quarantined"] == int(repeats.sum())  # identical rows: duplicate_row
    distinct = with_id[~repeats]
    assert totals["updated"] == len(distinct) - distinct["Crime ID"].nunique()
    # every current Crime ID appears once; updates kept their earlier versions as history
    current = store.incidents(sources=["police_uk"], with_location=False)
    ids = current["source_ref"][~current["source_ref"].str.startswith("anon-")]
    assert ids.is_unique
    history = store.incidents(sources=["police_uk"], with_location=False, include_history=True)
    assert len(history) - len(current) == totals["updated"]
    store.close()

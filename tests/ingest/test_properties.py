"""Property tests: every row ends accepted or quarantined; importing twice equals once."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geosafe.ingest import import_file
from geosafe.sources import columns
from geosafe.store import Store

HEADER = [c.name for c in columns("dir") if not c.optional]

# values drawn from hand-picked good and bad cells, plus arbitrary text
cells = {
    "dir_ref": st.sampled_from(["R1", "R2", "R3", "", "R1 "]),
    "reported_at": st.sampled_from(
        [
            "2025-01-13 15:42",
            "2025-03-30 01:30",
            "13/01/2025",
            "45678",
            "2099-01-01",
            "",
            "2025-01-13T08:00:00",
        ]
    ),
    "route": st.sampled_from(["W3", "184", "403", ""]),
    "direction": st.sampled_from(["1", "2", "3", ""]),
    "operator": st.text(max_size=5),
    "stop_code": st.sampled_from(["490000252S", "201", "490999999Z", "12345", ""]),
    "latitude": st.sampled_from(["51.607", "", "191530", "-0.1245", "0", "x"]),
    "longitude": st.sampled_from(["-0.1245", "", "529850", "51.607", "0"]),
    "cause_code": st.sampled_from(["ASB", "missile", ""]),
    "youth_flag": st.sampled_from(["Y", "n", "maybe", ""]),
    "vulnerability_flag": st.sampled_from(["1", "false", "?", ""]),
    "description": st.text(max_size=30),
}
rows = st.lists(st.fixed_dictionaries(cells), min_size=0, max_size=12)


def _write(path: Path, data: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    for r in data:
        w.writerow([r[h] for h in HEADER])
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


@contextmanager
def _fresh(data: list[dict[str, str]]) -> Iterator[tuple[Store, Path]]:
    """A file of these rows and an empty store, in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dir.csv"
        _write(path, data)
        store = Store(Path(tmp) / "s.db")
        try:
            yield store, path
        finally:
            store.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_every_row_is_accepted_or_quarantined(data: list[dict[str, str]]) -> None:
    with _fresh(data) as (store, path):
        r = import_file(store, "dir", path)
        # independent count with the csv module: data records that are not blank
        records = list(csv.reader(io.StringIO(path.read_text(), newline="")))[1:]
        assert r.rows == sum(1 for rec in records if any(c.strip() for c in rec))
        assert r.accepted + r.quarantined == r.rows
        assert len(store.quarantine(r.batch_id)) == r.quarantined
        assert len(store.incidents(with_location=False)) == r.accepted
        assert r.no_location == int(
            (store.incidents(with_location=False)["geocode_method"] == "none").sum()
        )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_importing_twice_equals_importing_once(data: list[dict[str, str]]) -> None:
    with _fresh(data) as (store, path):
        first = import_file(store, "dir", path)
        before = store.incidents(with_location=False)
        quarantine_before = store.quarantine()
        second = import_file(store, "dir", path)
        assert second.duplicate_batch and second.batch_id == first.batch_id
        assert (second.rows, second.accepted, second.quarantined) == (
            first.rows,
            first.accepted,
            first.quarantined,
        )
        after = store.incidents(with_location=False)
        assert list(after["incident_id"]) == list(before["incident_id"])
        assert store.quarantine() == quarantine_before
        assert len(store.batches()) == 1

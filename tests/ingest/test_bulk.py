"""The fast police.uk path: content hashes, whitespace, control characters, and bulk loads
into an empty store that build their indexes at the end (also when killed mid-load)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geosafe.store.sqlite as gstore
from geosafe._siphash import hash_array
from geosafe.ingest import import_file
from geosafe.sources import police_uk as puk
from geosafe.sources._police_read import factorize
from geosafe.store import open_store

from .._stores import DEFERRED, INDEXES, backend_of
from .._stores import index_names as _indexes
from .._stores import staged_rows as _staged_rows
from .conftest import DATA, reasons
from .test_crash import _big_file, kill_mid_import


def test_row_hashes_are_pandas_hashes() -> None:
    # repeated values, blanks, non-ASCII and a lone surrogate-free mix, written by hand
    df = pd.DataFrame(
        {
            "Crime ID": ["a1", "", "a1", "b2", "ÿé"],
            "Month": ["2024-01", "2024-01", "2024-02", "2024-01", "2024-01"],
            "Location": ["On or near X", "On or near X", "", "Café, Rd", "On or near X"],
        },
        dtype=object,
    )
    expected = pd.util.hash_pandas_object(df, index=False).to_numpy().view(np.int64)
    per_value = [hash_array(df[n].tolist()) for n in df.columns]
    assert (puk.row_hashes(per_value) == expected).all()
    # each distinct value hashed once, spread to rows by its codes (as the import does)
    factorized = []
    for n in df.columns:
        codes, uniques = factorize(df[n].tolist())
        factorized.append(hash_array(uniques)[codes])
    assert (puk.row_hashes(factorized) == expected).all()


@pytest.mark.parametrize(
    "values",
    [
        ["abc", "def", ""],
        [" abc", "def ", "x"],
        ["a\tb", "c", "d"],  # inner whitespace: values unchanged
        ["\x1cabc", "d\x1f", "e"],  # str.strip removes these ASCII separators too
        ["\xa0abc", "déf\u2003", "g"],  # non-ASCII whitespace
        ["ÿ", "é ", " ü"],
    ],
)
def test_strip_matches_str_strip(values: list[str]) -> None:
    arr = np.asarray(values, dtype=object)
    assert list(puk._strip(arr)) == [v.strip() for v in values]


def test_control_characters_found_with_and_without_the_file_scan(tmp_path: Path) -> None:
    text = (DATA / "police_feb.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) >= 3
    cells = lines[1].split(",")
    cells[6] = "On or near \x07Bell Road"
    bad = tmp_path / "ctl.csv"
    bad.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    _, header, chunks = puk.iter_chunks(bad)
    (chunk,) = list(chunks)
    assert chunk.control_free is False
    now = dt.datetime.now(zoneinfo.ZoneInfo("Europe/London"))
    res = puk.process_chunk(chunk, header=header, dedupe=puk.Deduper(None), aoi=None, now=now)
    assert [(p[0], p[2], p[1]) for p in res.problems if p[0] == 1] == [
        (1, "text_control_chars", "Location")
    ]
    _, _, chunks = puk.iter_chunks(DATA / "police_feb.csv")
    assert [c.control_free for c in chunks] == [True]


def test_bulk_load_defers_and_rebuilds_indexes(imp, store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(gstore, "BULK_LOAD_ROWS", 1)
    dropped: list[bool] = []
    kind = backend_of(store.target)
    real = type(store).defer_indexes

    def spy(self, expected_rows: int, **kw: object) -> bool:  # type: ignore[no-untyped-def]
        dropped.append(real(self, expected_rows, **kw))
        if dropped[-1]:
            assert not _indexes(self.target) & DEFERRED[kind]
        return dropped[-1]

    monkeypatch.setattr(type(store), "defer_indexes", spy)
    jan = imp("police_uk", "police_jan.csv")
    assert dropped == [True]  # the store was empty
    assert _indexes(store.target) >= INDEXES[kind]
    # the result is what the usual path gives (the reader tests' figures)
    assert (jan.rows, jan.accepted, jan.quarantined, jan.no_location) == (6, 5, 1, 1)
    assert reasons(store, jan.batch_id) == {3: "duplicate_row"}
    feb = imp("police_uk", "police_feb.csv")
    assert dropped == [True, False]  # the store holds rows: indexes kept up
    assert (feb.accepted, feb.updated, feb.quarantined) == (1, 1, 1)
    assert len(store.incidents(sources=["police_uk"], with_location=False)) == 5
    assert imp("police_uk", "police_jan.csv").duplicate_batch


def test_failed_bulk_load_rebuilds_indexes(store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(gstore, "BULK_LOAD_ROWS", 1)

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(store), "commit_batch", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(store, "police_uk", DATA / "police_jan.csv")
    assert _indexes(store.target) >= INDEXES[backend_of(store.target)]
    assert [b.status for b in store.batches(include_aborted=True)] == ["aborted"]
    assert store.incidents(with_location=False).empty


def test_sigkill_mid_bulk_load_into_an_empty_store(tmp_path: Path, store_target: str) -> None:
    src = tmp_path / "big.csv"
    _big_file(src, 60_000)  # more than BULK_LOAD_ROWS: the indexes are deferred
    db = store_target
    open_store(db).close()
    kill_mid_import(db, src)
    assert _staged_rows(db) > 0
    assert "incidents_ref" not in _indexes(db)  # killed while deferred
    store = open_store(db)  # opening the store builds them again
    assert _indexes(db) >= INDEXES[backend_of(db)]
    assert store.incidents(with_location=False).empty
    result = import_file(store, "police_uk", src, chunk_rows=5000)
    assert (result.rows, result.accepted, result.quarantined) == (60_000, 60_000, 0)
    assert [b.status for b in store.batches(include_aborted=True)] == ["aborted", "committed"]
    assert len(store.incidents(with_location=False)) == 60_000
    assert _staged_rows(db) == 0
    store.close()


def test_police_over_long_text_is_quarantined(imp, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = (DATA / "police_feb.csv").read_text(encoding="utf-8").splitlines()
    long_id, long_place = lines[1].split(","), lines[1].split(",")
    long_id[0] = "f" * 201  # the Crime ID, unique per row: checked value by value
    long_place[0], long_place[6] = "b" * 64, "On or near " + "x" * 4000  # a repeated column
    src = tmp_path / "long.csv"
    src.write_text(
        "\n".join([lines[0], ",".join(long_id), ",".join(long_place), lines[1]]) + "\n",
        encoding="utf-8",
    )
    result = imp("police_uk", src)
    assert (result.rows, result.accepted, result.quarantined) == (3, 1, 2)
    assert {(q.row, q.reason_code, q.column) for q in store.quarantine(result.batch_id)} == {
        (1, "text_too_long", "Crime ID"),
        (2, "text_too_long", "Location"),
    }

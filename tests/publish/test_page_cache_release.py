"""The layer service frees its thread's SQLite page cache after a build (the store's
connections cache up to 64 MB for imports; a served layer never rereads those pages)."""

from __future__ import annotations

import _sqlite3
import ctypes
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from geosafe import datasets
from geosafe.ingest import import_file
from geosafe.publish.catalogue import DEFAULT_PARAMS
from geosafe.publish.service import LayerService
from geosafe.store import Store


def _sqlite_heap() -> int:
    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return int(used())


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    db = tmp_path / "geosafe.db"
    with Store(db) as store:
        for f in datasets.police_files()[-12:]:
            import_file(store, "police_uk", f)
    return db


def test_release_memory_frees_the_pages_a_read_cached(store_path: Path) -> None:
    with Store(store_path) as store:
        before = _sqlite_heap()
        assert len(store.incidents(with_location=True)) > 300
        cached = _sqlite_heap() - before
        store.release_memory()
        assert cached > 20_000 and _sqlite_heap() - before < cached / 2


def test_the_service_releases_after_the_frame_and_each_build(
    store_path: Path, monkeypatch: Any
) -> None:
    calls: list[int] = []
    original = Store.release_memory

    def counted(self: Store) -> None:
        calls.append(1)
        original(self)

    monkeypatch.setattr(Store, "release_memory", counted)
    svc = LayerService(datasets._dir(None), lambda: Store(store_path), store_path=store_path)
    params = replace(DEFAULT_PARAMS, preset="all-day")  # police.uk dates are months
    layer = svc.layer("incidents", params)
    assert len(layer.ids) > 300
    built = len(calls)
    assert built >= 2  # the incident frame, then the layer
    svc.layer("incidents", params)  # cached: nothing built, nothing released
    assert len(calls) == built

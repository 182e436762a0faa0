"""Fixtures for the ingest tests: hand-written files in ``data/`` and a fresh store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from geosafe.ingest import ImportResult, import_file
from geosafe.settings import IngestSettings
from geosafe.store import Store, open_store

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture()
def data() -> Path:
    """The hand-written import files."""
    return DATA


@pytest.fixture()
def store(store_target: str) -> Iterator[Store]:
    """A fresh, empty store, on each backend (SQLite file, PostGIS database)."""
    s = open_store(store_target)
    yield s  # type: ignore[misc]
    s.close()


@pytest.fixture()
def imp(store: Store):  # type: ignore[no-untyped-def]
    """``imp(source, name, **kw)`` imports ``data/name`` into the fresh store."""

    def run(source: str, name: str | Path, **kw: object) -> ImportResult:
        path = name if isinstance(name, Path) else DATA / name
        return import_file(store, source, path, **kw)  # type: ignore[arg-type]

    return run


def reasons(store: Store, batch_id: int | None) -> dict[int, str]:
    """Quarantine reason code by data row number."""
    return {q.row: q.reason_code for q in store.quarantine(batch_id)}


def settings(**kw: object) -> IngestSettings:
    """IngestSettings without reading the environment's GEOSAFE_INGEST_* values."""
    return IngestSettings(**kw)  # type: ignore[arg-type]

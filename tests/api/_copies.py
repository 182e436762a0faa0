"""An app over a copy of the session's test store (its auth file too), for tests that write
into the store's database (the intervention log, safe places) without touching the shared one."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from api import create_app

from .conftest import make_settings


@contextmanager
def client_on_copy(
    store_path: Path, tmp: Path, prepare: Callable[[Path], None] | None = None
) -> Iterator[tuple[TestClient, Path]]:
    """A client of an app on a copy of ``store_path`` in ``tmp`` (``prepare(db)`` first)."""
    db = tmp / store_path.name
    _copy(store_path, db)
    auth = store_path.name + ".auth.sqlite"
    _copy(store_path.with_name(auth), tmp / auth)
    if prepare is not None:
        prepare(db)
    with TestClient(create_app(make_settings(db, tmp))) as c:
        yield c, db


def _copy(src: Path, dst: Path) -> None:
    """A consistent copy of SQLite file ``src``, its write-ahead log included (a copy of the
    file alone misses what a connection kept open has not checkpointed yet, e.g. new tokens)."""
    with (
        contextlib.closing(sqlite3.connect(src)) as a,
        contextlib.closing(sqlite3.connect(dst)) as b,
    ):
        a.backup(b)

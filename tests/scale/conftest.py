"""Fixtures of the scale tests: each shared-state backend (a SQLite file in a temporary
folder, or a database of the session's throwaway cluster, ``pg_cluster`` in
``tests/conftest.py``)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from geosafe.store import throwaway

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where shared access state lives: a SQLite path or a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite")
    cluster: throwaway.Cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"shared_{next(_names)}", postgis=False)


@pytest.fixture(autouse=True)
def _audit_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL audit logs keep their key files in the test's folder, not ``~/.geosafe``."""
    monkeypatch.setenv("GEOSAFE_AUDIT_KEY_DIR", str(tmp_path / "audit-keys"))

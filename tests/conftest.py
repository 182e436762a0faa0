"""Shared fixtures. Domain fixtures live in each test package's own ``conftest.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The synthetic files name people (person_ref): imports re-key them with the person key, which
# a deployment keeps outside the store (geosafe.profile.keys). Tests use a fixed one.
os.environ.setdefault("GEOSAFE_PERSON_KEY", "geosafe-tests-person-key-not-secret")
#: ``../shared/data`` beside the checkout, or ``GEOSAFE_SHARED_DATA`` (a worktree elsewhere).
SHARED = Path(os.environ.get("GEOSAFE_SHARED_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The bundled dataset."""
    return ROOT / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only shared real data beside the project (skip when absent)."""
    if not SHARED.exists():
        pytest.skip("../shared/data is not present")
    return SHARED

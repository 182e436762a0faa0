"""Fixtures of the access tests: token stores, audit logs and demo tokens in tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosafe.audit import AuditLog
from geosafe.auth import TokenStore, create_demo_tokens

#: Two demo-area schools (bundled list) and two wards of the demo area.
SCHOOL_A = "102053"
SCHOOL_B = "137531"
WARDS = ("E05000267", "E05000266")


@pytest.fixture
def tokens(tmp_path: Path) -> TokenStore:
    """An empty token store."""
    return TokenStore(tmp_path / "geosafe.db.auth.sqlite")


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    """An empty audit log."""
    return AuditLog(tmp_path / "geosafe.db.audit.sqlite")


@pytest.fixture
def demo_tokens(tokens: TokenStore) -> dict[str, str]:
    """One token per role (school A, the two demo wards)."""
    return create_demo_tokens(tokens, school_urn=SCHOOL_A, area_codes=list(WARDS))

"""Fixtures of the access tests: token stores, audit logs and demo tokens in tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosafe.access.audit import AuditLog
from geosafe.access.limits import LoginThrottle, RateLimiter
from geosafe.access.tokens import TokenStore, create_demo_tokens
from tests.api.test_browser import browser  # noqa: F401  (the shared Chromium fixture)

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


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A store with real police.uk burglaries and hand-made DIR/CRIS rows (see ``_demo``)."""
    from ._demo import build_store

    return build_store(tmp_path_factory.mktemp("access-demo"), data_dir=data_dir)


@pytest.fixture(scope="session")
def service(demo_db: Path, data_dir: Path):  # type: ignore[no-untyped-def]
    """The real app from ``api.create_app`` on the demo store, and one token per role."""
    from api import create_app
    from api.settings import ServiceSettings

    settings = ServiceSettings(db=demo_db, data_dir=data_dir, work_dir=demo_db.parent / "work")
    app = create_app(settings)
    # many requests per token across the session: lift the per-token rate limit
    app.state.access.limiter = RateLimiter(10**9)
    app.state.access.logins = LoginThrottle(10**9)  # the matrix sends many bad tokens
    toks = create_demo_tokens(app.state.access.tokens, school_urn=SCHOOL_A, area_codes=list(WARDS))
    return app, toks

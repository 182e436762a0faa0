"""The README's locked-down PostgreSQL roles ("PostGIS and several workers"), checked on a
throwaway cluster: the database's owner migrates the store and runs ``geosafe access-setup``; the service role then works with
tokens, sessions and shared limits but cannot even read the audit log; the audit role can
append and read it but the database itself refuses it any change or deletion."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from geosafe import datasets
from geosafe._errors import StoreError
from geosafe.access.audit import AuditLog
from geosafe.access.shared import SharedLimits
from geosafe.access.tokens import TokenStore
from geosafe.cli import main
from geosafe.ingest import import_file
from geosafe.store import open_store, throwaway


@pytest.fixture
def roles(pg_cluster: throwaway.Cluster) -> dict[str, str]:
    """The README's roles and database; a URL per role."""
    c = pg_cluster
    c.psql("CREATE ROLE geosafe_admin LOGIN CREATEROLE; CREATE ROLE geosafe_service LOGIN")
    c.psql("CREATE ROLE geosafe_audit LOGIN")
    c.psql("CREATE DATABASE geosafe OWNER geosafe_admin")
    c.psql("CREATE EXTENSION IF NOT EXISTS postgis", database="geosafe")
    # the store's group role owns its tables: it needs CREATE on the schema (the README's step
    # 1; the role already exists in this session's cluster, made by another test's migration)
    c.psql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'geosafe_owner') "
        "THEN CREATE ROLE geosafe_owner NOLOGIN; END IF; END $$; "
        "GRANT CREATE ON SCHEMA public TO geosafe_owner",
        database="geosafe",
    )
    return {r: c.url("geosafe", user=f"geosafe_{r}") for r in ("admin", "service", "audit")}


def test_service_and_audit_roles_get_only_what_they_need(
    roles: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the admin migrates the store (its group roles), runs access-setup, lets the service read
    with open_store(roles["admin"]) as store:
        import_file(store, "police_uk", datasets.police_files()[-1])
    code = main(
        ["access-setup", "--db", roles["admin"], "--service-role", "geosafe_service",
         "--audit-role", "geosafe_audit"]
    )  # fmt: skip
    assert code == 0 and "GRANT SELECT, INSERT ON geosafe_audit.audit" in capsys.readouterr().out
    with psycopg.connect(roles["admin"], autocommit=True) as con:
        con.execute("GRANT geosafe_analyst TO geosafe_service")
    with open_store(roles["service"]) as store:
        assert len(store.incidents()) > 0

    # the service role: tokens, sessions and limits work
    tokens = TokenStore(roles["service"])
    issued = tokens.create("analyst", label="alice", rate_per_minute=5)
    value, _ = tokens.open_session(issued.token)
    assert tokens.authenticate_session(value).label == "alice"
    shared = SharedLimits(roles["service"])
    assert [shared.take("k", 2, 1e6) for _ in range(3)][:2] == [0.0, 0.0]
    assert shared.lease("me", 2, 2e6, 1e6) == 0
    # ... and the audit log is out of its reach
    with pytest.raises(StoreError, match="may not use the audit log"):
        AuditLog(roles["service"], key_path=tmp_path / "k").record(
            "read", label="x", role="analyst", endpoint="/x"
        )
    with (
        psycopg.connect(roles["service"]) as con,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        con.execute("SELECT count(*) FROM geosafe_audit.audit")

    # the audit role appends and reads; the database refuses it any change
    audit = AuditLog(roles["audit"], key_path=tmp_path / "audit.key")
    audit.record("read", label="alice", role="analyst", endpoint="/x", records=2)
    audit.record("export", label="alice", role="analyst", endpoint="/y", records=3)
    assert audit.check().ok and [e.action for e in audit.entries()] == ["read", "export"]
    for sql in (
        "UPDATE geosafe_audit.audit SET records = 0",
        "DELETE FROM geosafe_audit.audit",
        "TRUNCATE geosafe_audit.audit",
        "SELECT count(*) FROM geosafe_access.tokens",
    ):
        with (
            psycopg.connect(roles["audit"]) as con,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            con.execute(sql)
    # not even the owner rewrites a row unnoticed: the triggers refuse it
    with psycopg.connect(roles["admin"]) as con, pytest.raises(psycopg.errors.RaiseException):
        con.execute("DELETE FROM geosafe_audit.audit")
    assert audit.count() == 2

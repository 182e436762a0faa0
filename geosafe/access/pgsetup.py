"""Roles of a locked-down PostgreSQL deployment: the database owner creates the access
schemas and grants each role only what it needs (``geosafe access-setup``).

- ``geosafe_access`` (tokens, sessions, rate buckets, heavy slots): the service role reads and
  writes its rows;
- ``geosafe_audit`` (the audit log): the audit role may only read and append (``SELECT``,
  ``INSERT``); triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` to everyone but the
  owner, and the service role has no right on the schema at all.

The incident store's own schema and its roles are the store's (:mod:`geosafe.store`).
"""

from __future__ import annotations

import re
from pathlib import Path

from .._errors import ValidationError
from .audit import AuditLog
from .db import PgSchema
from .shared import SharedLimits
from .tokens import TokenStore

__all__ = ["grant_access"]

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_access(
    url: str, *, service_role: str, audit_role: str, key_path: Path | None = None
) -> list[str]:
    """Create the access schemas at ``url`` (connected as the database owner) and grant the
    two roles their rights; returns the statements run.

    Raises
    ------
    ValidationError
        When a role name is not a plain lower-case identifier, or both are the same role.
    """
    for name, role in (("service_role", service_role), ("audit_role", audit_role)):
        if not _ROLE.match(role):
            msg = f"`{name}` {role!r} is not a plain role name (lower case, digits, _)."
            raise ValidationError(msg)
    if service_role == audit_role:
        msg = f"`audit_role` {audit_role!r} must differ from the service role: give it its own."
        raise ValidationError(msg)
    access: list[PgSchema] = []
    for made in (TokenStore(url)._db, SharedLimits(url).db):
        assert isinstance(made, PgSchema)
        with made.connect():  # creates the schema and tables as the owner
            pass
        access.append(made)
    audit = AuditLog(url, key_path=key_path)._db
    assert isinstance(audit, PgSchema)
    with audit.connect():
        pass
    s, a = access[0].schema, audit.schema
    statements = [
        f"GRANT USAGE ON SCHEMA {s} TO {service_role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {service_role}",
        f"REVOKE ALL ON SCHEMA {a} FROM PUBLIC",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {a} FROM {service_role}",
        f"GRANT USAGE ON SCHEMA {a} TO {audit_role}",
        f"GRANT SELECT, INSERT ON {a}.audit TO {audit_role}",
        f"GRANT SELECT, INSERT, UPDATE ON {a}.audit_head TO {audit_role}",
        f"GRANT USAGE ON SEQUENCE {a}.audit_id_seq TO {audit_role}",
    ]
    with audit.connect() as con:
        for sql in statements:
            con.raw.execute(sql)
    return statements

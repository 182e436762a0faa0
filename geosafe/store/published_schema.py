"""Table definitions written once, in the PostGIS migrations (``geosafe/store/migrations``),
and run by a SQLite store too: :func:`migration_tables` gives the ``CREATE TABLE IF NOT
EXISTS`` statements of named tables, so the two backends cannot drift apart
(``tests/protect/test_protect_ddl.py``, ``tests/store/test_published_referrals.py`` compare
their columns)."""

from __future__ import annotations

import re
from importlib import resources
from typing import Final

from .._errors import StoreError

__all__ = ["migration_tables"]

_CREATE: Final = re.compile(r"\s*CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", re.IGNORECASE)


def migration_tables(migration: str, *tables: str) -> tuple[str, ...]:
    """The ``CREATE TABLE IF NOT EXISTS`` (or ``CREATE INDEX IF NOT EXISTS``) statements
    named ``tables`` in the store migration file ``migration`` (e.g. ``"0007_protect.sql"``),
    comments removed, in the order asked."""
    path = resources.files("geosafe.store").joinpath("migrations", migration)
    plain = "\n".join(line.split("--", 1)[0] for line in path.read_text("utf-8").splitlines())
    found = {}
    for statement in plain.split(";"):
        m = _CREATE.match(statement)
        if m:
            found[m.group(1)] = statement.strip()
    missing = [t for t in tables if t not in found]
    if missing:
        msg = (
            f"the migration {migration!r} creates no table or index {missing!r}; it has "
            f"{sorted(found)}."
        )
        raise StoreError(msg)
    return tuple(found[t] for t in tables)

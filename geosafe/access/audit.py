"""The audit log: an append-only record of who read, exported, imported or erased what.

It lives in its own SQLite file (:meth:`geosafe.settings.StoreSettings.audit_path`, by
default ``<db>.audit.sqlite``), so a running import, which holds the store's write lock, never
blocks an audit write or a read of the log; with a PostgreSQL store, in the ``geosafe_audit``
schema of its database (or another URL, ``GEOSAFE_AUDIT_DB``, e.g. with a role of its own
that the service's role cannot write). Rows cannot be changed: triggers refuse
every ``UPDATE`` and ``DELETE`` (and, in PostgreSQL, ``TRUNCATE``) on the table, and each row carries an HMAC-SHA256 of its
content chained to the previous row's, under a key kept **outside** the audit file (the key
file ``<audit>.key``, mode 0600). The key file also anchors the chain's head (row count and
last MAC, themselves under the key), so someone who can write the audit file but not the key
file cannot delete rows at the end, append rows, or edit a row and recompute the chain
without :meth:`AuditLog.check` saying so.

Every row says who (token label and role, or the operating-system user for the CLI), when
(UTC), what (action, endpoint or command, parameters), how many records and why (the
``purpose``; analysts must give one for incident-level reads and exports).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._env import audit_path
from .._errors import StoreError, ValidationError
from .db import PgSchema, SqliteFile, open_database

if TYPE_CHECKING:
    from ..settings import StoreSettings

__all__ = [
    "ACTIONS",
    "AuditCheck",
    "AuditEntry",
    "AuditKey",
    "AuditLog",
    "SqliteFile",
    "audit_log",
    "cli_actor",
    "record_import",
]

log = logging.getLogger(__name__)

#: What an audit row can record.
ACTIONS: Final[tuple[str, ...]] = ("read", "export", "import", "erase", "purge", "token")

_TABLE = """
CREATE TABLE IF NOT EXISTS audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    action    TEXT NOT NULL,
    label     TEXT NOT NULL,
    role      TEXT NOT NULL,
    token_id  TEXT,
    endpoint  TEXT NOT NULL,
    params    TEXT NOT NULL,
    records   INTEGER,
    purpose   TEXT,
    prev_hash TEXT NOT NULL,
    row_hash  TEXT NOT NULL
);
"""

#: The anchored head when the key is given by the deployment (``GEOSAFE_AUDIT_KEY_FILE``):
#: one row, under the key, moved in every write transaction (shared by every writer).
_HEAD_TABLE: Final = """
CREATE TABLE IF NOT EXISTS audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    count      BIGINT NOT NULL,
    head       TEXT NOT NULL,
    keyed_from BIGINT NOT NULL,
    mac        TEXT NOT NULL
);
"""

_SCHEMA = (
    _TABLE
    + _HEAD_TABLE
    + """
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only: DELETE refused'); END;
"""
)

#: The same table in PostgreSQL (64-bit ids and counts), append-only by trigger, TRUNCATE too.
_PG_SCHEMA: Final = (
    _TABLE.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").replace(
        "records   INTEGER", "records   BIGINT"
    )
    + _HEAD_TABLE
    + """
CREATE OR REPLACE FUNCTION {schema}.audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit rows are append-only: % refused', TG_OP; END $$;
CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION {schema}.audit_refuse();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.audit_refuse();
"""
)

_GENESIS = "0" * 64
#: The advisory lock serialising writers of a PostgreSQL audit log (no table privilege
#: beyond INSERT and SELECT needed).
_PG_WRITE_LOCK: Final = 0x6765_6F73_6166_65  # "geosafe"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row. ``at`` is UTC; ``records`` is ``None`` when unknown."""

    id: int
    at: datetime
    action: str
    label: str
    role: str
    token_id: str | None
    endpoint: str
    params: dict[str, Any]
    records: int | None
    purpose: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``at`` as ISO 8601)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="seconds"),
            "action": self.action,
            "label": self.label,
            "role": self.role,
            "token_id": self.token_id,
            "endpoint": self.endpoint,
            "params": self.params,
            "records": self.records,
            "purpose": self.purpose,
        }


def _row_hash(prev: str, fields: tuple[Any, ...], key: bytes | None = None) -> str:
    """The chained MAC of a row (plain SHA-256 for rows written before logs were keyed)."""
    payload = json.dumps([prev, *fields], separators=(",", ":"), default=str).encode("utf-8")
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """The result of :meth:`AuditLog.check`: ``ok`` when every row's MAC and the anchored head
    agree; otherwise ``problems`` says what is wrong (``bad_rows``: ids of broken rows)."""

    rows: int
    bad_rows: list[int]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """Nothing wrong."""
        return not self.problems


class AuditKey:
    """The audit log's secret key and anchored head, in a 0600 JSON file beside the log.

    ``{"key", "count", "head", "keyed_from", "mac"}``: ``count`` rows end in MAC ``head``;
    rows with id below ``keyed_from`` were written before the log was keyed (plain SHA-256);
    ``mac`` is the HMAC of the rest under the key, so the head cannot be rewritten either.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self, con: Any = None) -> bool:
        """Whether the key file exists."""
        return self.path.exists()

    def load(self, con: Any = None) -> dict[str, Any]:
        """The key file's content (``key`` as bytes).

        Raises
        ------
        StoreError
            When the file is unreadable or its own MAC does not match.
        """
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            key = bytes.fromhex(raw["key"])
            state = {k: raw[k] for k in ("count", "head", "keyed_from")}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            msg = f"audit key file {str(self.path)!r} cannot be read ({exc}); restore it."
            raise StoreError(msg) from exc
        if not hmac.compare_digest(raw.get("mac", ""), self._mac(key, state)):
            msg = f"audit key file {str(self.path)!r} was altered: its head MAC does not match."
            raise StoreError(msg)
        return {"key": key, **state}

    def create(self, *, count: int, head: str, keyed_from: int, con: Any = None) -> dict[str, Any]:
        """A new key, anchoring the log as it stands."""
        key = secrets.token_bytes(32)
        self.save(key, count=count, head=head, keyed_from=keyed_from)
        return {"key": key, "count": count, "head": head, "keyed_from": keyed_from}

    def save(self, key: bytes, *, count: int, head: str, keyed_from: int, con: Any = None) -> None:
        """Write the key and head atomically, readable by the owner only."""
        state = {"count": count, "head": head, "keyed_from": keyed_from}
        body = json.dumps({"key": key.hex(), **state, "mac": self._mac(key, state)})
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
        os.replace(tmp, self.path)

    @staticmethod
    def _mac(key: bytes, state: dict[str, Any]) -> str:
        text = json.dumps(state, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return hmac.new(key, b"head:" + text, hashlib.sha256).hexdigest()


class SharedAuditKey:
    """The audit key given once by the deployment (``GEOSAFE_AUDIT_KEY_FILE``: a secret file,
    mode 0600, the same on every machine), with the anchored head in the audit database
    (``audit_head``, under the key, moved inside each write transaction): workers on several
    machines write one log. The head's MAC needs the key, so a writer of the database
    without the key cannot move it; the rows themselves stay append-only (triggers, grants).

    ``legacy``: the log's own key file of the single-machine layout; a log it keyed is taken
    over (its head copied into the database) when the shared key is the same key.
    """

    def __init__(self, path: Path, legacy: AuditKey) -> None:
        self.path = path
        self.legacy = legacy

    def secret(self) -> bytes:
        """The key: the file's 64 hex characters, or its bytes (at least 32)."""
        try:
            mode = self.path.stat().st_mode
            raw = self.path.read_bytes().strip()
        except OSError as exc:
            msg = (
                f"audit key file {str(self.path)!r} (GEOSAFE_AUDIT_KEY_FILE) cannot be read "
                f"({exc}); give every worker the same secret file."
            )
            raise StoreError(msg) from exc
        if mode & 0o077:
            msg = (
                f"audit key file {str(self.path)!r} is readable by others (mode "
                f"{mode & 0o777:o}); `chmod 600` it."
            )
            raise StoreError(msg)
        if re.fullmatch(rb"[0-9a-fA-F]{64}", raw):
            return bytes.fromhex(raw.decode())
        if len(raw) < 32:
            msg = (
                f"audit key file {str(self.path)!r} holds {len(raw)} bytes; it needs 64 hex "
                "characters (e.g. `openssl rand -hex 32 > FILE`) or at least 32 bytes."
            )
            raise StoreError(msg)
        return raw

    def exists(self, con: Any = None) -> bool:
        """Whether the head is anchored in the database (``con``: an open connection)."""
        if con is None:
            return True
        return con.execute("SELECT 1 FROM audit_head WHERE id = 1").fetchone() is not None

    def load(self, con: Any = None) -> dict[str, Any]:
        """The key and the anchored head read from the database."""
        key = self.secret()
        row = con.execute(
            "SELECT count, head, keyed_from, mac FROM audit_head WHERE id = 1"
        ).fetchone()
        if row is None:
            msg = "the audit log has no anchored head in the database (`audit_head` is empty)."
            raise StoreError(msg)
        state = {"count": int(row[0]), "head": str(row[1]), "keyed_from": int(row[2])}
        if not hmac.compare_digest(str(row[3]), AuditKey._mac(key, state)):
            msg = (
                "the audit log's anchored head in the database was altered (its MAC does not "
                f"match under the key of {str(self.path)!r})."
            )
            raise StoreError(msg)
        return {"key": key, **state}

    def create(self, *, count: int, head: str, keyed_from: int, con: Any = None) -> dict[str, Any]:
        """Anchor the log as it stands under the shared key (taking over a log keyed by its
        own key file when that key is the same)."""
        key = self.secret()
        if self.legacy.exists():
            old = self.legacy.load()
            if not hmac.compare_digest(old["key"], key):
                msg = (
                    f"the audit log was keyed by {str(self.legacy.path)!r}, not by the key of "
                    f"{str(self.path)!r}; put that file's `key` value in GEOSAFE_AUDIT_KEY_FILE "
                    "(or start a new audit database)."
                )
                raise StoreError(msg)
            keyed_from = int(old["keyed_from"])
        state = {"count": count, "head": head, "keyed_from": keyed_from}
        con.execute(
            "INSERT INTO audit_head (id, count, head, keyed_from, mac) VALUES (1, ?, ?, ?, ?)",
            (count, head, keyed_from, AuditKey._mac(key, state)),
        )
        return {"key": key, **state}

    def save(self, key: bytes, *, count: int, head: str, keyed_from: int, con: Any = None) -> None:
        """Move the head (inside the caller's write transaction)."""
        state = {"count": count, "head": head, "keyed_from": keyed_from}
        con.execute(
            "UPDATE audit_head SET count = ?, head = ?, keyed_from = ?, mac = ? WHERE id = 1",
            (count, head, keyed_from, AuditKey._mac(key, state)),
        )


@dataclass(slots=True)
class _Pending:
    """A row waiting for its group commit (:meth:`AuditLog.record`)."""

    fields: tuple[Any, ...]
    row_id: int = 0
    done: bool = False
    error: BaseException | None = None


class AuditLog:
    """Append-only audit rows in their own SQLite file or PostgreSQL schema.

    Parameters
    ----------
    path
        The audit database (created on first use): a SQLite path, or a PostgreSQL URL
        (schema ``geosafe_audit``; ``URL#schema`` names another).
    key_path
        The key file holding the HMAC key and the anchored head (default ``<path>.key``; for
        PostgreSQL ``$GEOSAFE_AUDIT_KEY_DIR/audit-<host>-<port>-<database>-<schema>.key``,
        ``~/.geosafe`` by default: every worker writing the log must see the same file);
        keep it where writers of the audit database cannot write. Without ``key_path``,
        ``GEOSAFE_AUDIT_KEY_FILE`` (a secret file the deployment gives every worker) holds
        the key and the head is anchored in the database (:class:`SharedAuditKey`): workers
        on several machines write one log.
    """

    def __init__(self, path: Path | str, *, key_path: Path | str | None = None) -> None:
        self._db: SqliteFile | PgSchema = open_database(
            path,
            sqlite_schema=_SCHEMA,
            pg_schema="geosafe_audit",
            pg_ddl=_PG_SCHEMA,
            what="audit log",
            timeout_s=30.0,
        )
        if isinstance(self._db, SqliteFile):
            self.path: Path | str = self._db.path
            default_key = self._db.path.with_name(self._db.path.name + ".key")
        else:
            self.path = str(path)
            default_key = _pg_key_path(self._db)
        own = AuditKey(Path(key_path) if key_path else default_key)
        shared = os.environ.get("GEOSAFE_AUDIT_KEY_FILE")
        self.key: AuditKey | SharedAuditKey = (
            SharedAuditKey(Path(shared), own) if shared and not key_path else own
        )
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._flush_lock = threading.Lock()

    def _connect(self) -> contextlib.AbstractContextManager[Any]:
        return self._db.connect()

    def record(
        self,
        action: str,
        *,
        label: str,
        role: str,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        records: int | None = None,
        purpose: str | None = None,
        token_id: str | None = None,
    ) -> int:
        """Append one row and return its id.

        Parameters
        ----------
        action
            One of :data:`ACTIONS`.
        label, role
            Who: the token's label and role (``operator`` for the command line).
        endpoint
            What: the API path or the CLI command.
        params
            The request's parameters (JSON-serialisable; other values are stringified).
        records
            How many incident records were read, exported, imported or removed.
        purpose
            Why (the ``X-Purpose`` header, or ``--purpose`` on the command line).
        """
        if action not in ACTIONS:
            msg = f"`action` {action!r} is not an audit action; use one of {', '.join(ACTIONS)}."
            raise ValidationError(msg)
        params_json = json.dumps(dict(params or {}), sort_keys=True, default=str)
        with self._queue_lock:  # ids follow the order of the timestamps
            at = datetime.now(UTC).isoformat(timespec="microseconds")
            row = _Pending(
                (at, action, label, role, token_id, endpoint, params_json, records, purpose)
            )
            self._queue.append(row)
        self._flush(row)
        if row.error is not None:
            raise row.error
        row_id = row.row_id
        log.info("audit %s #%d: %s %s by %s", action, row_id, endpoint, records, label)
        return row_id

    def _flush(self, row: _Pending) -> None:
        """Write ``row``, and the rows queued with it by other threads, in one transaction
        (group commit: one disk flush and one key-file update for all of them). Returns when
        ``row`` is committed (or its write failed: ``row.error``)."""
        with self._flush_lock:
            if row.done:  # another thread wrote it with its own
                return
            with self._queue_lock:
                batch, self._queue = self._queue, []
            try:
                ids = self._write(batch)
            except BaseException as exc:
                for pending in batch:
                    pending.error = exc
                    pending.done = True
                raise
            for pending, row_id in zip(batch, ids, strict=True):
                pending.row_id = row_id
                pending.done = True

    def _write(self, batch: list[_Pending]) -> list[int]:
        """Append ``batch`` to the chain in one transaction; their ids."""
        ids: list[int] = []
        with self._db.transaction() as con:
            if self._db.postgres:  # one writer at a time (SQLite: BEGIN IMMEDIATE); reads go on
                con.execute("SELECT pg_advisory_xact_lock(?)", (_PG_WRITE_LOCK,))
            last = con.execute("SELECT id, row_hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            prev = last[1] if last else _GENESIS
            count = int(con.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
            if self.key.exists(con):
                state = self.key.load(con)
            else:  # a new log, or one written before logs were keyed: anchor it now
                keyed_from = (int(last[0]) + 1) if last else 1
                state = self.key.create(count=count, head=prev, keyed_from=keyed_from, con=con)
            for pending in batch:
                row_hash = _row_hash(prev, pending.fields, state["key"])
                (row_id,) = con.execute(
                    "INSERT INTO audit (at, action, label, role, token_id, endpoint, params, "
                    "records, purpose, prev_hash, row_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                    "RETURNING id",
                    (*pending.fields, prev, row_hash),
                ).fetchone()
                ids.append(int(row_id))
                prev = row_hash
            # the head moves inside the write transaction: writers are serialised by it
            self.key.save(
                state["key"],
                count=count + len(batch),
                head=prev,
                keyed_from=state["keyed_from"],
                con=con,
            )
        return ids

    def entries(
        self,
        *,
        since: datetime | None = None,
        action: str | None = None,
        label: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Rows, oldest first (the last ``limit`` rows when ``limit`` is given)."""
        where, args = [], []
        if since is not None:
            where.append("at >= ?")
            args.append(since.astimezone(UTC).isoformat(timespec="microseconds"))
        if action is not None:
            where.append("action = ?")
            args.append(action)
        if label is not None:
            where.append("label = ?")
            args.append(label)
        sql = (
            "SELECT id, at, action, label, role, token_id, endpoint, params, records, purpose "
            "FROM audit"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as con:
            rows = con.execute(sql, args).fetchall()
        return [
            AuditEntry(
                id=r[0],
                at=datetime.fromisoformat(r[1]),
                action=r[2],
                label=r[3],
                role=r[4],
                token_id=r[5],
                endpoint=r[6],
                params=json.loads(r[7]),
                records=r[8],
                purpose=r[9],
            )
            for r in reversed(rows)
        ]

    def count(self) -> int:
        """Number of rows."""
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    def verify(self) -> list[int]:
        """Ids of rows whose MAC chain is broken (empty when every row is intact); see
        :meth:`check` for truncation and appended rows."""
        return self.check().bad_rows

    def check(self) -> AuditCheck:
        """Check every row's chained MAC under the key and the chain's head against the
        anchored count and last MAC: detects edited rows (even with the chain recomputed
        without the key), rows appended by someone without the key, and deleted rows."""
        bad: list[int] = []
        problems: list[str] = []
        state: dict[str, Any] | None = None
        prev = _GENESIS
        rows = 0
        with self._connect() as con:
            if self.key.exists(con):
                try:
                    state = self.key.load(con)
                except StoreError as exc:
                    problems.append(str(exc))
            for row in con.execute(
                "SELECT id, at, action, label, role, token_id, endpoint, params, records, "
                "purpose, prev_hash, row_hash FROM audit ORDER BY id"
            ).fetchall():
                rows += 1
                fields = tuple(row[1:10])
                keyed = state is not None and int(row[0]) >= int(state["keyed_from"])
                key = state["key"] if keyed and state is not None else None
                expected = _row_hash(prev, fields, key)
                if row[10] != prev or not hmac.compare_digest(str(row[11]), expected):
                    bad.append(int(row[0]))
                prev = row[11]
        if bad:
            problems.append(f"MAC chain broken at row(s) {bad[:20]}")
        if state is None and rows and not problems:
            problems.append(
                f"no key file {str(self.key.path)!r}: the log's {rows} rows cannot be verified "
                "(restore the key file)"
            )
        elif state is not None:
            if rows < int(state["count"]):
                problems.append(
                    f"{int(state['count']) - rows} row(s) missing: the anchored head says "
                    f"{state['count']} rows, the log holds {rows} (rows were deleted)"
                )
            elif rows > int(state["count"]):
                problems.append(
                    f"{rows - int(state['count'])} row(s) beyond the anchored head of "
                    f"{state['count']} rows (rows were appended without the key)"
                )
            elif rows and prev != state["head"]:
                problems.append("the last row is not the anchored head (the chain was rewritten)")
        return AuditCheck(rows=rows, bad_rows=bad, problems=problems)


def _pg_key_path(db: PgSchema) -> Path:
    """Where the key of a PostgreSQL audit log lives by default (one file per database and
    schema, in ``$GEOSAFE_AUDIT_KEY_DIR`` or ``~/.geosafe``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(db.url)
    name = f"{parts.hostname or 'local'}-{parts.port or 5432}-{parts.path.strip('/')}-{db.schema}"
    folder = Path(os.environ.get("GEOSAFE_AUDIT_KEY_DIR") or Path.home() / ".geosafe")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"audit-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.key"


def audit_log(store: StoreSettings) -> AuditLog:
    """The audit log named by the store settings (built at the edge)."""
    return AuditLog(store.audit_path())


def cli_actor() -> str:
    """Who runs a command-line action: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user database (some containers)
        return "cli:unknown"


def record_import(
    db: Path | str,
    result: Any,
    *,
    label: str | None = None,
    role: str = "operator",
    endpoint: str = "geosafe import",
) -> int:
    """Audit one finished import (a :class:`geosafe.ingest.ImportResult`) of the store at
    ``db``: who, when, which file (name and SHA-256), batch, rows read, accepted (the
    ``records``) and quarantined."""
    fields = ("source", "path", "file_sha256", "batch_id", "rows", "quarantined")
    params = {k: getattr(result, k, None) for k in fields}
    params["duplicate_batch"] = bool(getattr(result, "duplicate_batch", False))
    audit = AuditLog(audit_path(db))
    return audit.record(
        "import",
        label=label or cli_actor(),
        role=role,
        endpoint=endpoint,
        params=params,
        records=int(getattr(result, "accepted", 0) or 0),
    )

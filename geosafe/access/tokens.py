"""Authentication: opaque bearer tokens with a role and a scope, and browser sessions.

A token is a random string (:func:`secrets.token_urlsafe`, 256 bits) shown once when it is
created; only its SHA-256 hash is kept, in its own SQLite file (by default beside the store,
``<db>.auth.sqlite``) or, for a PostgreSQL store, in the ``geosafe_access`` schema of its
database (so every worker of a service sees the same tokens and sessions). Every token
carries a role:

- ``analyst``: everything, including incident-level data (audited);
- ``school``: bound to one school URN (6 digits); sees only its own pupils' journeys,
  aggregated;
- ``neighbourhood``: bound to an area, one or more 2018 ward GSS codes or a GeoJSON polygon;
  sees aggregated layers of that area only.

Browsers exchange a token once for a session (another random value, also stored only as a
hash) carried in an HttpOnly, SameSite=Strict cookie; :mod:`api.security` accepts either.

Examples
--------
>>> store = TokenStore(tmp_path / "t.sqlite")  # doctest: +SKIP
>>> issued = store.create("analyst", label="alice")  # doctest: +SKIP
>>> store.authenticate(issued.token).role  # doctest: +SKIP
'analyst'
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
import secrets
import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import shapely
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from shapely.geometry.base import BaseGeometry

from .._errors import AuthenticationError, NotFoundError, ValidationError
from ..settings import StoreSettings, beside_store
from ..sqlite_watch import SqliteWatch
from .db import PgSchema, SqliteFile, is_postgres, open_database

__all__ = [
    "ROLES",
    "AccessSettings",
    "IssuedToken",
    "PgTokenWatch",
    "Principal",
    "TokenInfo",
    "TokenStore",
    "TokenStoreWatch",
    "create_demo_tokens",
    "hash_secret",
    "token_store",
]

log = logging.getLogger(__name__)

Role = Literal["analyst", "school", "neighbourhood"]
ROLES: Final[tuple[str, ...]] = ("analyst", "school", "neighbourhood")

_URN = re.compile(r"^\d{6}$")
_GSS = re.compile(r"^E\d{8}$")


class AccessSettings(BaseSettings):
    """Tokens, sessions, disclosure control and request limits (``GEOSAFE_ACCESS_`` prefix).

    Every limit is a setting so tests and load runs can raise them.
    """

    model_config = SettingsConfigDict(env_prefix="GEOSAFE_ACCESS_", extra="ignore")

    #: Token database: a SQLite path, or a PostgreSQL URL (tables in its ``geosafe_access``
    #: schema). Default: beside a SQLite store, ``<db>.auth.sqlite``; a PostgreSQL store's own
    #: database.
    token_db: Path | str | None = None
    #: Shared limits (rate buckets, heavy-computation slots) every service worker counts in:
    #: a SQLite path or a PostgreSQL URL. Default: beside a SQLite store,
    #: ``<db>.limits.sqlite``; a PostgreSQL store's own database.
    limits_db: Path | str | None = None
    #: A heavy-computation slot of a worker that died is free again after this many seconds
    #: (live workers renew their leases every third of it).
    heavy_lease_s: float = Field(default=30.0, ge=1.0)
    #: Default lifetime of a new token, days.
    token_days: int = Field(default=90, ge=1, le=3650)
    #: Lifetime of a browser session, hours (never beyond the token's own expiry).
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    #: Name of the session cookie.
    cookie_name: str = "geosafe_session"
    #: The cookie's ``Secure`` flag: ``None`` (default) sets it whenever the request came
    #: over HTTPS or through a proxy saying so (``X-Forwarded-Proto: https``); ``true`` or
    #: ``false`` force it (``GEOSAFE_ACCESS_COOKIE_SECURE``).
    cookie_secure: bool | None = None
    #: Largest bbox a request may name, km².
    max_bbox_km2: float = Field(default=400.0, gt=0)
    #: Largest request body (uploads), bytes.
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    #: Longest a request may run before it is answered 408, seconds.
    request_timeout_s: float = Field(default=60.0, gt=0)
    #: Requests per minute per token (token bucket; bursts up to this many).
    rate_per_minute: int = Field(default=600, ge=1)
    #: Failed logins (bad token or session) per minute per client address before that
    #: address is refused for a while.
    login_failures_per_minute: int = Field(default=10, ge=1)
    #: Largest density grid one request may ask for, cells (about 8 bytes each, several
    #: copies during the convolution).
    max_grid_cells: int = Field(default=4_000_000, ge=10_000)
    #: Largest kernel one request may ask for, cells.
    max_kernel_cells: int = Field(default=1_000_000, ge=100)
    #: Most origins one journey request may route, per role.
    max_journeys_analyst: int = Field(default=200, ge=1)
    max_journeys_school: int = Field(default=50, ge=1)
    #: Heavy computations (layer builds, rasters, downloads, journeys) running at once;
    #: others wait up to ``heavy_wait_s`` then get 429 with ``Retry-After``.
    heavy_slots: int = Field(default=2, ge=1, le=64)
    heavy_wait_s: float = Field(default=20.0, ge=0)
    #: Finest H3 resolution published outside the analyst role.
    max_public_h3_resolution: int = Field(default=8, ge=0, le=15)
    #: Counts below this (and above 0) are suppressed outside the analyst role.
    suppress_below: int = Field(default=10, ge=1)
    #: Published counts are rounded to the nearest multiple of this.
    round_to: int = Field(default=5, ge=1)
    #: Smallest cluster (incidents) published outside the analyst role.
    min_cluster_size: int = Field(default=10, ge=2)

    def token_path(self, store: StoreSettings) -> Path | str:
        """The token database: a path (beside a SQLite store unless set) or a PostgreSQL URL."""
        return _beside(self.token_db, store, ".auth.sqlite")

    def limits_path(self, store: StoreSettings) -> Path | str:
        """The shared limits database: a path (beside a SQLite store unless set) or a
        PostgreSQL URL."""
        return _beside(self.limits_db, store, ".limits.sqlite")


def _beside(value: Path | str | None, store: StoreSettings, suffix: str) -> Path | str:
    """``value`` as a path or URL; unset: the PostgreSQL store's URL, or ``<db><suffix>``."""
    if value is not None:
        return str(value) if is_postgres(str(value)) else Path(value)
    if is_postgres(str(store.db)):
        return str(store.db)
    return beside_store(store.db, suffix)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the identity behind a valid token or session.

    ``area`` is the neighbourhood's area (EPSG:27700) or ``None``.
    """

    token_id: str
    label: str
    role: str
    school_urn: str | None = None
    area_codes: tuple[str, ...] = ()
    area: BaseGeometry | None = None
    #: The purpose bound to the token at creation (``geosafe token create --purpose``):
    #: incident-level reads by a client that cannot send ``X-Purpose`` are audited with it.
    purpose: str | None = None
    #: This token's own rate limit, requests a minute (``--rate-per-minute``); ``None``: the
    #: service's ``GEOSAFE_ACCESS_RATE_PER_MINUTE``.
    rate_per_minute: float | None = None

    @property
    def is_analyst(self) -> bool:
        """Whether this principal may see incident-level data."""
        return self.role == "analyst"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A stored token's metadata (never the token itself)."""

    token_id: str
    label: str
    role: str
    school_urn: str | None
    area_codes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked and not expired."""
        return self.revoked_at is None and self.expires_at > datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A newly created token: ``token`` is shown once and never stored."""

    token: str
    info: TokenInfo


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a token or session value."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _parse_ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id   TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('analyst', 'school', 'neighbourhood')),
    school_urn TEXT,
    area_codes TEXT NOT NULL DEFAULT '[]',
    area_wkb   BLOB,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    purpose    TEXT,
    rate_per_minute REAL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,
    token_id     TEXT NOT NULL REFERENCES tokens(token_id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
"""

#: The same tables in PostgreSQL, with a version every change bumps (what
#: :class:`PgTokenWatch` reads: one row, no scan).
_PG_SCHEMA = (
    _SCHEMA.replace("area_wkb   BLOB", "area_wkb   BYTEA").replace(
        "rate_per_minute REAL", "rate_per_minute DOUBLE PRECISION"
    )
    + """
CREATE TABLE IF NOT EXISTS token_state (id INTEGER PRIMARY KEY, version BIGINT NOT NULL);
INSERT INTO token_state (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION {schema}.bump_token_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE {schema}.token_state SET version = version + 1 WHERE id = 1; RETURN NULL; END $$;
CREATE OR REPLACE TRIGGER tokens_changed AFTER INSERT OR UPDATE OR DELETE ON tokens
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.bump_token_state();
CREATE OR REPLACE TRIGGER sessions_changed AFTER INSERT OR UPDATE OR DELETE ON sessions
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.bump_token_state();
"""
)

#: Columns added since the first token databases (SQLite files migrated in place).
_ADDED_COLUMNS = (("purpose", "TEXT"), ("rate_per_minute", "REAL"))


class TokenStore:
    """Tokens and sessions in a small SQLite file (WAL, short transactions) or a PostgreSQL
    schema.

    Parameters
    ----------
    path
        The token database (created on first use): a SQLite path or a PostgreSQL URL.
    data_dir
        Bundled data, used to resolve ward GSS codes and check school URNs.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        data_dir: Path | str | None = None,
        token_days: float = 90,
        session_hours: float = 12.0,
    ) -> None:
        self._db: SqliteFile | PgSchema = open_database(
            path,
            sqlite_schema=_SCHEMA,
            pg_schema="geosafe_access",
            pg_ddl=_PG_SCHEMA,
            what="token store",
        )
        self.path: Path | str = self._db.path if isinstance(self._db, SqliteFile) else str(path)
        self.data_dir = data_dir
        self.token_days = token_days
        self.session_hours = session_hours
        self._migrated = False

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        with self._db.connect() as con:
            if not self._migrated and isinstance(self._db, SqliteFile):
                # token databases made before tokens carried a purpose or their own rate
                cols = {r[1] for r in con.execute("PRAGMA table_info(tokens)")}
                for name, kind in _ADDED_COLUMNS:
                    if name not in cols:
                        with contextlib.suppress(sqlite3.OperationalError):  # another process
                            con.execute(f"ALTER TABLE tokens ADD COLUMN {name} {kind}")
            self._migrated = True
            yield con

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        if not self._migrated:
            with self._connect():
                pass
        with self._db.transaction() as con:
            yield con

    def watch(self) -> TokenStoreWatch | PgTokenWatch:
        """A watcher telling whether the database changed (for caches of principals)."""
        if isinstance(self._db, PgSchema):
            return PgTokenWatch(self._db)
        return TokenStoreWatch(self._db.path)

    def expires_at(self, token_id: str) -> datetime | None:
        """The token's expiry (UTC), ``None`` when unknown."""
        with self._connect() as con:
            row = con.execute(
                "SELECT expires_at FROM tokens WHERE token_id = ?", (token_id,)
            ).fetchone()
        return _parse_ts(row[0]) if row else None

    # -- tokens -------------------------------------------------------------------------
    def create(
        self,
        role: str,
        *,
        school_urn: str | None = None,
        area_codes: Sequence[str] | None = None,
        area: BaseGeometry | None = None,
        expires_days: float | None = None,
        label: str | None = None,
        purpose: str | None = None,
        rate_per_minute: float | None = None,
    ) -> IssuedToken:
        """Create a token and return it (the only time it is visible).

        Parameters
        ----------
        role
            ``analyst``, ``school`` or ``neighbourhood``.
        school_urn
            The school (6-digit DfE URN); required for, and only for, ``school``.
        area_codes
            2018 ward GSS codes (``E05...``) of a ``neighbourhood`` token.
        area
            Or the neighbourhood's polygon (EPSG:27700), e.g. from :func:`read_area_file`.
        expires_days
            Lifetime, days (default :attr:`AccessSettings.token_days`).
        label
            Who holds it (shown in the audit log); default ``"<role>-<id>"``.
        purpose
            A purpose bound to the token (analyst only): incident-level reads by tools that
            cannot send ``X-Purpose`` (QGIS, GDAL) are audited with it.
        rate_per_minute
            This token's own rate limit (requests a minute, counted across every worker);
            default the service's ``GEOSAFE_ACCESS_RATE_PER_MINUTE``.
        """
        role, school_urn, codes, geom = _check_scope(
            role, school_urn, area_codes, area, data_dir=self.data_dir
        )
        days = self.token_days if expires_days is None else expires_days
        purpose = (purpose or "").strip() or None
        if purpose is not None and (role != "analyst" or len(purpose) > 500):
            msg = (
                f"`purpose` {purpose[:40]!r} can only be bound to an analyst token, in under "
                "500 characters; other roles never read incident-level data."
            )
            raise ValidationError(msg)
        if not days > 0:
            msg = f"`expires` {expires_days!r} must be a positive number of days."
            raise ValidationError(msg)
        if rate_per_minute is not None and not 1 <= rate_per_minute <= 1e9:
            msg = (
                f"`rate_per_minute` {rate_per_minute!r} must be between 1 and 1e9 requests a "
                "minute; leave it out for the service's limit."
            )
            raise ValidationError(msg)
        token = secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        created = _now()
        expires = created + timedelta(days=float(days))
        label = label or f"{role}-{token_id}"
        with self._connect() as con:
            con.execute(
                "INSERT INTO tokens (token_id, token_hash, role, school_urn, area_codes, "
                "area_wkb, label, created_at, expires_at, purpose, rate_per_minute) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    token_id,
                    hash_secret(token),
                    role,
                    school_urn,
                    json.dumps(list(codes)),
                    None if geom is None else shapely.to_wkb(geom),
                    label,
                    _ts(created),
                    _ts(expires),
                    purpose,
                    None if rate_per_minute is None else float(rate_per_minute),
                ),
            )
        log.info("created %s token %s (%s)", role, token_id, label)
        info = TokenInfo(token_id, label, role, school_urn, codes, created, expires, None)
        return IssuedToken(token=token, info=info)

    def authenticate(self, token: str) -> Principal:
        """The principal of a valid token.

        Raises
        ------
        AuthenticationError
            When the token is unknown, revoked or expired.
        """
        if not token:
            raise AuthenticationError("no token given; send `Authorization: Bearer <token>`.")
        with self._connect() as con:
            row = con.execute(
                "SELECT token_id, label, role, school_urn, area_codes, area_wkb, expires_at, "
                "revoked_at, purpose, rate_per_minute FROM tokens WHERE token_hash = ?",
                (hash_secret(token),),
            ).fetchone()
        return _principal_from_row(row)

    def list_tokens(self) -> list[TokenInfo]:
        """Every token (active or not), oldest first."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT token_id, label, role, school_urn, area_codes, created_at, expires_at, "
                "revoked_at FROM tokens ORDER BY created_at, token_id"
            ).fetchall()
        return [
            TokenInfo(
                r[0],
                r[1],
                r[2],
                r[3],
                tuple(json.loads(r[4])),
                _parse_ts(r[5]) or _now(),
                _parse_ts(r[6]) or _now(),
                _parse_ts(r[7]),
            )
            for r in rows
        ]

    def revoke(self, token_id_or_label: str) -> list[str]:
        """Revoke a token by id or label (every active token with that label).

        Returns the ids revoked; their sessions end too.

        Raises
        ------
        NotFoundError
            When no active token has that id or label.
        """
        with self._transaction() as con:
            ids = [
                r[0]
                for r in con.execute(
                    "SELECT token_id FROM tokens WHERE (token_id = ? OR label = ?) "
                    "AND revoked_at IS NULL",
                    (token_id_or_label, token_id_or_label),
                ).fetchall()
            ]
            if not ids:
                msg = (
                    f"no active token has id or label {token_id_or_label!r}; "
                    "see `geosafe token list`."
                )
                raise NotFoundError(msg)
            for tid in ids:
                con.execute(
                    "UPDATE tokens SET revoked_at = ? WHERE token_id = ?", (_ts(_now()), tid)
                )
                con.execute("DELETE FROM sessions WHERE token_id = ?", (tid,))
        _area_from_wkb.cache_clear()
        return ids

    # -- sessions -----------------------------------------------------------------------
    def open_session(self, token: str, *, hours: float | None = None) -> tuple[str, Principal]:
        """Exchange a valid token for a session value (for an HttpOnly cookie).

        Returns the session value and its principal. The session never outlives its token.
        """
        principal = self.authenticate(token)
        hours = self.session_hours if hours is None else hours
        value = secrets.token_urlsafe(32)
        now = _now()
        with self._connect() as con:
            (tok_exp,) = con.execute(
                "SELECT expires_at FROM tokens WHERE token_id = ?", (principal.token_id,)
            ).fetchone()
            expires = min(now + timedelta(hours=hours), _parse_ts(tok_exp) or now)
            con.execute(
                "INSERT INTO sessions (session_hash, token_id, created_at, expires_at) "
                "VALUES (?,?,?,?)",
                (hash_secret(value), principal.token_id, _ts(now), _ts(expires)),
            )
        return value, principal

    def authenticate_session(self, value: str) -> Principal:
        """The principal of a valid session cookie value."""
        if not value:
            raise AuthenticationError("no session; log in with a token first.")
        with self._connect() as con:
            row = con.execute(
                "SELECT t.token_id, t.label, t.role, t.school_urn, t.area_codes, t.area_wkb, "
                "CASE WHEN t.expires_at < s.expires_at THEN t.expires_at ELSE s.expires_at END, "
                "t.revoked_at, t.purpose, t.rate_per_minute FROM sessions s "
                "JOIN tokens t ON t.token_id = s.token_id WHERE s.session_hash = ?",
                (hash_secret(value),),
            ).fetchone()
        return _principal_from_row(row, what="session")

    def close_session(self, value: str) -> None:
        """End a session (log out)."""
        with self._connect() as con:
            con.execute("DELETE FROM sessions WHERE session_hash = ?", (hash_secret(value),))


def _principal_from_row(row: tuple | None, *, what: str = "token") -> Principal:
    if row is None:
        msg = f"the {what} is not valid; ask an administrator for a token (`geosafe token create`)."
        raise AuthenticationError(msg)
    token_id, label, role, urn, codes, wkb, expires_at, revoked_at, purpose, rate = row
    if revoked_at is not None:
        raise AuthenticationError(f"the {what} of {label!r} was revoked at {revoked_at}.")
    expires = _parse_ts(expires_at)
    if expires is None or expires <= _now():
        raise AuthenticationError(f"the {what} of {label!r} expired at {expires_at}.")
    return Principal(
        token_id=token_id,
        label=label,
        role=role,
        school_urn=urn,
        area_codes=tuple(json.loads(codes)),
        area=_area_from_wkb(None if wkb is None else bytes(wkb)),
        purpose=purpose,
        rate_per_minute=None if rate is None else float(rate),
    )


@functools.lru_cache(maxsize=256)
def _area_from_wkb(wkb: bytes | None) -> BaseGeometry | None:
    return None if wkb is None else shapely.from_wkb(wkb)


def read_area_file(path: Path | str) -> BaseGeometry:
    """A neighbourhood area from a GeoJSON (or any OGR) polygon file, as EPSG:27700.

    A file without a CRS is taken as WGS84 (RFC 7946).
    """
    import geopandas as gpd

    p = Path(path)
    if not p.exists():
        msg = f"`--area` file {str(p)!r} does not exist; pass ward GSS codes or a GeoJSON file."
        raise ValidationError(msg)
    gdf = gpd.read_file(p)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    geom = gdf.to_crs("EPSG:27700").geometry.union_all()
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"`--area` file {str(p)!r} holds no polygon; give a (Multi)Polygon GeoJSON."
        raise ValidationError(msg)
    return geom


def _check_scope(
    role: str,
    school_urn: str | None,
    area_codes: Sequence[str] | None,
    area: BaseGeometry | None,
    *,
    data_dir: Path | str | None,
) -> tuple[str, str | None, tuple[str, ...], BaseGeometry | None]:
    if role not in ROLES:
        msg = f"`role` {role!r} is not a role; use one of {', '.join(ROLES)}."
        raise ValidationError(msg)
    codes = tuple(c.strip().upper() for c in (area_codes or ()) if c.strip())
    if role == "school":
        if not school_urn or not _URN.match(str(school_urn).strip()):
            msg = f"`school` {school_urn!r} is not a 6-digit DfE URN; a school token needs one."
            raise ValidationError(msg)
        if codes or area is not None:
            raise ValidationError("a school token is bound to its URN; drop `--area`.")
        school_urn = str(school_urn).strip()
        _warn_unknown_school(school_urn, data_dir)
        return role, school_urn, (), None
    if school_urn:
        msg = f"`school` {school_urn!r} is only for a school token (role {role!r})."
        raise ValidationError(msg)
    if role == "analyst":
        if codes or area is not None:
            raise ValidationError("an analyst token sees everything; drop `--area`.")
        return role, None, (), None
    if codes and area is not None:
        raise ValidationError("give ward codes or an area polygon, not both.")
    if codes:
        return role, None, codes, ward_area(codes, data_dir=data_dir)
    if area is None or area.is_empty:
        msg = "a neighbourhood token needs `--area` (ward GSS codes, comma-separated, or a file)."
        raise ValidationError(msg)
    return role, None, (), area


def ward_area(codes: Sequence[str], *, data_dir: Path | str | None = None) -> BaseGeometry:
    """The union of 2018 London wards (EPSG:27700) with these GSS codes."""
    from .. import datasets

    for code in codes:
        if not _GSS.match(code):
            msg = f"ward code {code!r} is not a GSS code like 'E05000268'."
            raise ValidationError(msg)
    wards = datasets.wards(data_dir)
    known = set(wards["gss_code"])
    unknown = [c for c in codes if c not in known]
    if unknown:
        msg = (
            f"ward code(s) {unknown!r} are not 2018 London wards; see the `gss_code` column of "
            "`geosafe.datasets.wards()`."
        )
        raise ValidationError(msg)
    return wards.loc[wards["gss_code"].isin(codes)].geometry.union_all()


def _warn_unknown_school(urn: str, data_dir: Path | str | None) -> None:
    from .. import datasets

    try:
        schools = datasets.schools(data_dir)
    except Exception:  # bundled list unavailable: nothing to check against
        return
    col = "urn" if "urn" in schools.columns else None
    if col is not None and urn not in set(schools[col].astype(str)):
        warnings.warn(
            f"school URN {urn!r} is not in the bundled school list; its journeys will be empty.",
            stacklevel=3,
        )


def token_store(
    settings: AccessSettings,
    store: StoreSettings,
    *,
    data_dir: Path | str | None = None,
) -> TokenStore:
    """The token store named by the settings (built at the edge: CLI, ``create_app``)."""
    return TokenStore(
        settings.token_path(store),
        data_dir=data_dir,
        token_days=settings.token_days,
        session_hours=settings.session_hours,
    )


class PgTokenWatch:
    """Whether a PostgreSQL token schema changed since the last look: its ``token_state``
    version, bumped by a trigger on every change of tokens or sessions (by any worker)."""

    def __init__(self, db: PgSchema) -> None:
        self.db = db

    def state(self) -> tuple[int, int] | None:
        """``(0, version)``; ``None`` when the database cannot be read."""
        try:
            with self.db.connect() as con:
                row = con.execute("SELECT version FROM token_state WHERE id = 1").fetchone()
        except Exception:  # unavailable: no caching until it is back
            log.warning("token store %r cannot be read", self.db, exc_info=True)
            return None
        return None if row is None else (0, int(row[0]))


class TokenStoreWatch(SqliteWatch):
    """Whether a SQLite token database changed since the last look (:class:`SqliteWatch`:
    ``PRAGMA data_version`` on one long-lived connection, and the file's inode)."""


def create_demo_tokens(
    tokens: TokenStore,
    *,
    school_urn: str | None = None,
    area_codes: Sequence[str] | None = None,
    expires_days: float = 7,
    data_dir: Path | str | None = None,
) -> dict[str, str]:
    """One token per role for a demo run: ``{"analyst": ..., "school": ..., ...}``.

    The school defaults to the first bundled school inside the demo area, the area to the
    wards that cover the demo area's centre.
    """
    from .. import datasets

    if school_urn is None:
        schools = datasets.schools(data_dir, demo_only=True)
        school_urn = str(schools.sort_values("urn")["urn"].iloc[0])
    if area_codes is None:
        wards = datasets.wards(data_dir)
        centre = datasets.demo_area(data_dir).centroid
        area_codes = list(wards.loc[wards.intersects(centre.buffer(1000)), "gss_code"])
    return {
        "analyst": tokens.create("analyst", expires_days=expires_days, label="demo-analyst").token,
        "school": tokens.create(
            "school", school_urn=school_urn, expires_days=expires_days, label="demo-school"
        ).token,
        "neighbourhood": tokens.create(
            "neighbourhood",
            area_codes=area_codes,
            expires_days=expires_days,
            label="demo-neighbourhood",
        ).token,
    }

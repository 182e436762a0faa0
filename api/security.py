"""Authentication, authorisation, limits and audit for the HTTP service.

Usage in the app factory and the routers::

    from api import security

    app = FastAPI(...)
    security.install(app, store=StoreSettings(db=settings.db), data_dir=settings.data_dir)

    @router.get("/collections")
    def collections(principal: Principal = Depends(security.require())): ...

    @router.get("/maps/schools/{urn}")
    def school_map(urn: str, principal = Depends(security.require("analyst", "school"))): ...

- :func:`require` (a dependency factory) answers 401 without a valid token (``Authorization:
  Bearer <token>`` or the ``geosafe_session`` cookie), 403 for a role not listed, 404 when a
  school token names another school's URN (path or query ``urn``/``school``), 429 past the
  per-token rate, and 400 when a non-analyst sends a free time window or a ``datetime`` that
  is not a whole published month/quarter/year (:func:`geosafe.publish.disclosure.check_query`).
- :func:`incident_access` / :func:`incident_read` gate incident-level reads and exports:
  analyst only (403), an ``X-Purpose`` header (400 without), and exactly one audit row per
  request (:class:`AuditedRead`).
- :func:`install` keeps the :class:`AccessContext` on ``app.state.access``, adds
  :class:`LimitsMiddleware` (upload size 413, bbox area 400, request time 408) and the session
  routes: ``POST /session`` exchanges a token for an HttpOnly SameSite=Strict cookie,
  ``GET /session`` says who is logged in, ``DELETE /session`` logs out, ``GET /login`` is a
  minimal login page.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, Security
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geosafe._errors import AuthenticationError, DisclosureError, NotFoundError
from geosafe.access.audit import AuditLog
from geosafe.access.tokens import ROLES, AccessSettings, Principal, TokenStore, hash_secret
from geosafe.publish import disclosure as privacy
from geosafe.settings import StoreSettings

__all__ = [
    "SESSION_COOKIE",
    "AccessContext",
    "AuditedRead",
    "LimitsMiddleware",
    "PrincipalCache",
    "RateLimiter",
    "access_context",
    "incident_access",
    "incident_read",
    "install",
    "require",
    "session_router",
]

log = logging.getLogger(__name__)

#: The browser session cookie (HttpOnly, SameSite=Strict).
SESSION_COOKIE: Final = "geosafe_session"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from `geosafe token create`: `Authorization: Bearer <token>`.",
)
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="Session cookie set by `POST /session` (browsers).",
)

#: Responses every protected route can give (documented in the OpenAPI spec).
AUTH_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "Parameter not allowed for this role, or missing `X-Purpose`."},
    401: {"description": "No valid token or session."},
    403: {"description": "This role may not use this route."},
    404: {"description": "Not found (or another school's object)."},
    408: {"description": "The request took longer than the configured limit."},
    413: {"description": "The request body is larger than the configured limit."},
    429: {"description": "Too many requests for this token; retry after `Retry-After`."},
}


class RateLimiter:
    """Token bucket per token id: ``rate_per_minute`` requests a minute, bursts up to that."""

    def __init__(self, rate_per_minute: int) -> None:
        self.rate = float(rate_per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Take one request; return 0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (self.rate, now))
            level = min(self.rate, level + (now - last) * self.rate / 60.0)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (1.0 - level) * 60.0 / self.rate


class PrincipalCache:
    """Principals of recently seen bearer tokens, valid while the token database is unchanged,
    so a repeated request costs one ``PRAGMA data_version`` instead of a new SQLite connection
    and a lookup.

    Every lookup reads ``PRAGMA data_version`` on one long-lived connection (it changes
    whenever any other connection commits: a token created or revoked, a session opened, an
    expiry edited) and the file's inode (it changes when the file is replaced); either change
    empties the cache. An entry also ends at its token's expiry and after ``max_age_s``.
    Tokens are held by their SHA-256 only.
    """

    def __init__(self, tokens: TokenStore, *, size: int = 256, max_age_s: float = 60.0) -> None:
        self.tokens = tokens
        self.size = size
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None
        self._ino: int | None = None
        self._state: tuple[int, int] | None = None
        self._hits: OrderedDict[str, tuple[Principal, datetime]] = OrderedDict()

    def _db_state(self) -> tuple[int, int] | None:
        """(inode, data_version) of the token database; ``None`` when it cannot be read."""
        try:
            ino = os.stat(self.tokens.path).st_ino
            if self._con is None or self._ino != ino:
                if self._con is not None:
                    self._con.close()
                self._con = sqlite3.connect(
                    self.tokens.path, check_same_thread=False, isolation_level=None, timeout=1.0
                )
                self._ino = ino
            (version,) = self._con.execute("PRAGMA data_version").fetchone()
        except (OSError, sqlite3.Error):
            return None
        return ino, int(version)

    def authenticate(self, token: str) -> Principal:
        """:meth:`TokenStore.authenticate`, answered from the cache while it is valid."""
        key = hash_secret(token)
        now = datetime.now(UTC)
        with self._lock:
            state = self._db_state()
            if state is None or state != self._state:
                self._hits.clear()
                self._state = state
            hit = self._hits.get(key)
            if hit is not None and hit[1] > now:
                self._hits.move_to_end(key)
                return hit[0]
        principal = self.tokens.authenticate(token)
        with self._lock:
            if state is None or self._state != state or self._con is None:
                return principal
            try:
                row = self._con.execute(
                    "SELECT expires_at FROM tokens WHERE token_id = ?", (principal.token_id,)
                ).fetchone()
            except sqlite3.Error:
                return principal
            expires = datetime.fromisoformat(row[0]) if row and row[0] else None
            if expires is not None:
                until = min(expires, now + timedelta(seconds=self.max_age_s))
                self._hits[key] = (principal, until)
                while len(self._hits) > self.size:
                    self._hits.popitem(last=False)
        return principal


@dataclass
class AccessContext:
    """What the security layer needs at request time (kept on ``app.state.access``)."""

    settings: AccessSettings
    tokens: TokenStore
    audit: AuditLog
    limiter: RateLimiter = field(init=False)
    principals: PrincipalCache = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.rate_per_minute)
        self.principals = PrincipalCache(self.tokens)


def _context_for(
    access: AccessSettings | None,
    store: StoreSettings | None,
    data_dir: Path | str | None,
) -> AccessContext:
    access = access or AccessSettings()
    store = store or StoreSettings()
    return AccessContext(
        settings=access,
        tokens=TokenStore(access.token_path(store), data_dir=data_dir),
        audit=AuditLog(store.audit_path()),
    )


_install_lock = threading.Lock()


def install(
    app: FastAPI,
    *,
    access: AccessSettings | None = None,
    store: StoreSettings | None = None,
    data_dir: Path | str | None = None,
    login_page: bool = True,
) -> AccessContext:
    """Attach the security layer to an app (call in the app factory, before it starts).

    Parameters
    ----------
    access
        Token, session and limit settings (default: from the environment).
    store
        Store settings: the token database and audit log sit beside ``store.db``.
    data_dir
        Bundled data (ward boundaries for neighbourhood tokens).
    login_page
        Also serve ``GET /login`` (a minimal page that exchanges a token for a session).
    """
    ctx = _context_for(access, store, data_dir)
    app.state.access = ctx
    app.add_middleware(LimitsMiddleware)
    app.include_router(session_router)
    if login_page:
        app.include_router(_login_router)
    return ctx


def access_context(app: Any) -> AccessContext:
    """The app's :class:`AccessContext`; built from ``app.state.settings`` or
    ``app.state.services.settings`` (``db``, ``data_dir``), else the environment, when
    :func:`install` was not called."""
    ctx = getattr(app.state, "access", None)
    if ctx is None:
        with _install_lock:
            ctx = getattr(app.state, "access", None)
            if ctx is None:
                svc = getattr(app.state, "settings", None)
                if svc is None:  # the service keeps its settings on app.state.services
                    svc = getattr(getattr(app.state, "services", None), "settings", None)
                db = getattr(svc, "db", None)
                store = StoreSettings(db=db) if db is not None else None
                ctx = _context_for(None, store, getattr(svc, "data_dir", None))
                app.state.access = ctx
    return ctx


# -- authentication -----------------------------------------------------------------------
def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def authenticate(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    session: str | None,
) -> Principal:
    """The principal behind the request's bearer token, else its session cookie (401)."""
    ctx = access_context(request.app)
    header = request.headers.get("authorization")
    try:
        if bearer is not None:
            return ctx.principals.authenticate(bearer.credentials)
        # WORKAROUND(web): accept HTTP Basic with the token as the password (QGIS 3.22 auth
        # configs) until helper `access` lands its own Basic support; drop this on merge.
        if header and header[:6].lower() == "basic ":
            import base64
            import binascii

            try:
                _, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                password = ""
            if password:
                return ctx.principals.authenticate(password)
        if header:
            raise AuthenticationError(
                "the `Authorization` header must be `Bearer <token>`; "
                "create a token with `geosafe token create`."
            )
        if session:
            principal = ctx.tokens.authenticate_session(session)
            _check_origin(request)
            return principal
    except AuthenticationError as exc:
        raise _unauthorised(str(exc)) from exc
    raise _unauthorised(
        "this route needs a token: send `Authorization: Bearer <token>` or log in at /login."
    )


def _check_origin(request: Request) -> None:
    """Cookie-authenticated writes must come from this site's own pages."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(403, f"cross-site request from origin {origin!r} refused.")


def require(*roles: str) -> Callable[..., Principal]:
    """A FastAPI dependency returning the request's :class:`~geosafe.access.tokens.Principal`.

    Parameters
    ----------
    roles
        Roles allowed on the route (none given: every role).

    Answers 401 (no valid token or session), 403 (role not allowed), 404 (a school token
    naming another URN), 429 (per-token rate), 400 (a non-analyst's free time window,
    unpublished period, raw filter or too fine a resolution).
    """
    for role in roles:
        if role not in ROLES:
            msg = f"`roles` {role!r} is not a role; use {', '.join(ROLES)}."
            raise ValueError(msg)
    allowed = tuple(roles) or ROLES

    def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        session: Annotated[str | None, Security(_cookie)],
    ) -> Principal:
        principal = authenticate(request, bearer, session)
        if principal.role not in allowed:
            msg = (
                f"the {principal.role!r} role may not use {request.url.path!r}; "
                f"it is for {', '.join(allowed)}."
            )
            raise HTTPException(status_code=403, detail=msg)
        ctx = access_context(request.app)
        wait = ctx.limiter.hit(principal.token_id)
        if wait > 0:
            msg = (
                f"rate limit of {ctx.settings.rate_per_minute} requests a minute reached for "
                f"{principal.label!r}; retry in {math.ceil(wait)} s."
            )
            raise HTTPException(429, msg, headers={"Retry-After": str(math.ceil(wait))})
        check_request_scope(request, principal)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{'_'.join(allowed)}"
    return dependency


def check_request_scope(request: Request, principal: Principal) -> None:
    """404 for another school's URN; 400 for parameters the role may not send."""
    for name in ("urn", "school", "school_urn"):
        value = request.path_params.get(name) or request.query_params.get(name)
        if value is not None:
            try:
                privacy.check_school(principal, str(value))
            except NotFoundError as exc:
                raise HTTPException(404, str(exc)) from exc
    try:
        privacy.check_query(principal, request.query_params)
    except DisclosureError as exc:
        raise HTTPException(400, str(exc)) from exc


# -- incident-level reads -----------------------------------------------------------------
class AuditedRead:
    """One incident-level read or export: :meth:`record` writes its single audit row."""

    def __init__(
        self, audit: AuditLog, principal: Principal, request: Request, action: str, purpose: str
    ) -> None:
        self.audit = audit
        self.principal = principal
        self.action = action
        self.purpose = purpose
        self.endpoint = request.url.path
        self.params: dict[str, Any] = {**request.path_params, **dict(request.query_params)}
        self.recorded = False
        self._lock = threading.Lock()

    def record(self, records: int | None) -> None:
        """Write the audit row (once; later calls do nothing)."""
        with self._lock:
            if self.recorded:
                return
            self.recorded = True
        self.audit.record(
            self.action,
            label=self.principal.label,
            role=self.principal.role,
            token_id=self.principal.token_id,
            endpoint=self.endpoint,
            params=self.params,
            records=records,
            purpose=self.purpose,
        )


def incident_access(request: Request, principal: Principal, *, action: str = "read") -> AuditedRead:
    """Check an incident-level read or export: analyst only (403) with an ``X-Purpose``
    header (400). Call :meth:`AuditedRead.record` with the number of records served."""
    if not principal.is_analyst:
        msg = (
            f"{request.url.path!r} serves incident-level data, for the analyst role only "
            f"(this token's role is {principal.role!r}); use the aggregated layers."
        )
        raise HTTPException(403, msg)
    purpose = (request.headers.get("x-purpose") or "").strip()
    if not purpose:
        msg = (
            "incident-level reads and exports need a purpose: send an `X-Purpose` header, "
            "e.g. `X-Purpose: case review 2025-031`."
        )
        raise HTTPException(400, msg)
    if len(purpose) > 500:
        raise HTTPException(400, f"`X-Purpose` is {len(purpose)} characters; keep it under 500.")
    return AuditedRead(access_context(request.app).audit, principal, request, action, purpose)


def incident_read(action: str = "read") -> Callable[..., Iterator[AuditedRead]]:
    """A dependency for routes that only serve incident-level data: analyst role, purpose,
    and exactly one audit row even when the route fails before calling ``record``."""

    def dependency(
        request: Request, principal: Annotated[Principal, Depends(require("analyst"))]
    ) -> Iterator[AuditedRead]:
        read = incident_access(request, principal, action=action)
        try:
            yield read
        finally:
            read.record(None)

    return dependency


# -- sessions -----------------------------------------------------------------------------
class SessionRequest(BaseModel):
    """A token to exchange for a session cookie."""

    token: str = Field(min_length=1, max_length=200)


class SessionInfo(BaseModel):
    """Who a session or token belongs to."""

    label: str
    role: str
    school_urn: str | None = None
    area_codes: list[str] = Field(default_factory=list)


def _info(p: Principal) -> SessionInfo:
    return SessionInfo(
        label=p.label, role=p.role, school_urn=p.school_urn, area_codes=list(p.area_codes)
    )


session_router = APIRouter(tags=["session"])


@session_router.post(
    "/session",
    response_model=SessionInfo,
    responses={401: {"description": "The token is not valid."}},
)
def open_session(body: SessionRequest, request: Request, response: Response) -> SessionInfo:
    """Exchange a token for an HttpOnly, SameSite=Strict session cookie (browsers)."""
    ctx = access_context(request.app)
    _check_origin(request)  # no logging a browser in from another site
    try:
        value, principal = ctx.tokens.open_session(body.token, hours=ctx.settings.session_hours)
    except AuthenticationError as exc:
        raise _unauthorised(str(exc)) from exc
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(ctx.settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=ctx.settings.cookie_secure,
        path="/",
    )
    return _info(principal)


@session_router.get(
    "/session", response_model=SessionInfo, responses={401: {"description": "Not logged in."}}
)
def who_am_i(principal: Annotated[Principal, Depends(require())]) -> SessionInfo:
    """The logged-in identity (role, label, school, area codes)."""
    return _info(principal)


@session_router.delete(
    "/session", status_code=204, responses={401: {"description": "Not logged in."}}
)
def close_session(
    request: Request, principal: Annotated[Principal, Depends(require())]
) -> Response:
    """Log out: the session ends and its cookie is cleared."""
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        access_context(request.app).tokens.close_session(value)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


_LOGIN_HTML: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>geosafe: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 30em; margin: 3em auto">
<h1>geosafe</h1>
<form id="login">
<label for="token">Access token</label><br>
<input id="token" name="token" type="password" autocomplete="off" size="48" required>
<button type="submit">Log in</button>
</form>
<p id="status" role="status"></p>
<script>
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const token = document.getElementById("token").value.trim();
  const r = await fetch("/session", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({token})});
  const status = document.getElementById("status");
  if (r.ok) { const who = await r.json(); status.textContent = "Logged in as " + who.label;
    window.location.assign("/"); }
  else { status.textContent = "That token is not valid."; }
});
</script></body></html>
"""

_login_router = APIRouter(tags=["session"])


@_login_router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page() -> HTMLResponse:
    """The login page: asks for a token once, exchanges it for a session cookie."""
    return HTMLResponse(_LOGIN_HTML, headers={"Cache-Control": "no-store"})


# -- limits -------------------------------------------------------------------------------
class _BodyTooLarge(Exception):
    pass


def bbox_area_km2(text: str, crs: str | None = None) -> float | None:
    """Area of an OGC ``bbox`` (``minx,miny,maxx,maxy`` in WGS84 lon/lat, or in metres when
    ``crs`` names EPSG:27700), km²; ``None`` when it cannot be parsed (the route says why)."""
    try:
        v = [float(p) for p in text.split(",")]
    except ValueError:
        return None
    if len(v) == 6:
        v = [v[0], v[1], v[3], v[4]]
    if len(v) != 4 or not all(math.isfinite(x) for x in v):
        return None
    x0, y0, x1, y1 = v
    if crs and "27700" in crs:
        return abs(x1 - x0) * abs(y1 - y0) / 1e6
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        return None
    from pyproj import Geod

    lons = [x0, x1, x1, x0]
    lats = [y0, y0, y1, y1]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    return abs(area) / 1e6


def _json_response(
    status: int, detail: str, headers: dict[str, str] | None = None
) -> tuple[Message, Message]:
    body = json.dumps({"code": status, "detail": detail}).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return (
        {"type": "http.response.start", "status": status, "headers": hdrs},
        {"type": "http.response.body", "body": body},
    )


class LimitsMiddleware:
    """Request body size (413), bbox area (400) and request time (408), from the app's
    :class:`AccessContext` settings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = access_context(scope["app"])
        limits = ctx.settings
        problem = self._check_head(scope, limits)
        if problem is not None:
            for msg in _json_response(*problem):
                await send(msg)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limits.max_upload_bytes:
                    raise _BodyTooLarge
            return message

        # The app runs in its own task; when the time limit passes before it has started its
        # response, the client gets the 408 at once and whatever the app sends later (a sync
        # handler cannot be cancelled: it runs on in its thread) is dropped.
        started = abandoned = False
        lock = anyio.Lock()
        finished = anyio.Event()
        error: BaseException | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal started
            async with lock:
                if abandoned:
                    return
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

        async def run() -> None:
            nonlocal error
            try:
                await self.app(scope, counting_receive, tracking_send)
            except BaseException as exc:  # re-raised below, outside the task group
                error = exc
            finally:
                finished.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            with anyio.move_on_after(limits.request_timeout_s):
                await finished.wait()
            if not finished.is_set():
                async with lock:
                    if not started:
                        abandoned = True
                        detail = (
                            f"the request took longer than {limits.request_timeout_s:g} s; "
                            "narrow the bbox or period, or raise "
                            "GEOSAFE_ACCESS_REQUEST_TIMEOUT_S."
                        )
                        for msg in _json_response(408, detail):
                            await send(msg)
        if isinstance(error, _BodyTooLarge):
            if not started:
                for msg in _json_response(413, _too_large(limits)):
                    await send(msg)
            return
        if error is not None:
            if abandoned:
                log.warning("%s failed after its 408: %r", scope.get("path"), error)
                return
            raise error

    @staticmethod
    def _check_head(scope: Scope, limits: AccessSettings) -> tuple[int, str] | None:
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limits.max_upload_bytes:
            return 413, _too_large(limits)
        query = scope.get("query_string", b"").decode("latin-1")
        if "bbox=" in query:
            from urllib.parse import parse_qs

            qs = parse_qs(query)
            crs = (qs.get("bbox-crs") or [None])[0]
            for text in qs.get("bbox", []):
                area = bbox_area_km2(text, crs)
                if area is not None and area > limits.max_bbox_km2:
                    return 400, (
                        f"`bbox` {text!r} covers {area:,.0f} km², more than the limit of "
                        f"{limits.max_bbox_km2:g} km²; request a smaller area or raise "
                        "GEOSAFE_ACCESS_MAX_BBOX_KM2."
                    )
        return None


def _too_large(limits: AccessSettings) -> str:
    return (
        f"the request body is larger than {limits.max_upload_bytes:,} bytes; split the upload "
        "or raise GEOSAFE_ACCESS_MAX_UPLOAD_BYTES."
    )

"""The HTTP glue of :mod:`geosafe.access`: credentials, role guard, audited incident reads,
sessions, and the middleware that applies the limits and the security headers.

Usage in the app factory and the routers::

    from api import security

    security.install(app, access=AccessSettings(), store=StoreSettings(db=...))

    @router.get("/collections")
    def collections(principal: Principal = Depends(security.require())): ...

- :func:`require` (a dependency factory) returns the caller's
  :class:`~geosafe.access.Principal` from ``Authorization: Bearer <token>``,
  ``Authorization: Basic`` with the token as the password (QGIS and GDAL), or the session
  cookie; it raises the library's exceptions, which ``api/errors.py`` maps to statuses (401
  no valid credentials, 403 role, 404 another school's object, 429 rate, 400 a non-analyst's
  free time window or unpublished period).
- :func:`incident_access` / :func:`incident_read` gate incident-level reads and exports:
  analyst only, with a purpose (``X-Purpose``, else the Basic user name, else the purpose
  bound to the token), and exactly one audit row per request (:class:`AuditedRead`).
- :func:`install` keeps the :class:`~geosafe.access.context.AccessContext` on
  ``app.state.access``, adds :class:`LimitsMiddleware` (body size 413, bbox area 400, request
  time 408, at most ``heavy_slots`` heavy computations at once, 429 past that) and
  :class:`HeadersMiddleware` (CSP and frame protection on HTML, ``no-store`` on incident-level
  responses and downloads), and the session routes: ``POST /session`` exchanges a token for
  an HttpOnly SameSite=Strict cookie, ``GET /session`` says who is logged in, ``DELETE
  /session`` logs out, ``GET /login`` is a minimal login page.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Response, Security
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyCookie
from fastapi.security.http import HTTPBase
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geosafe._errors import (
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    GeosafeError,
    RequestTimeoutError,
    RequestTooLargeError,
    ValidationError,
)
from geosafe.access import limits
from geosafe.access.audit import AuditLog
from geosafe.access.context import AccessContext
from geosafe.access.tokens import ROLES, AccessSettings, Principal
from geosafe.publish import disclosure as privacy
from geosafe.settings import StoreSettings

from .errors import error_headers, install_error_handlers, status_for

__all__ = [
    "SESSION_COOKIE",
    "AccessContext",
    "AuditedRead",
    "HeadersMiddleware",
    "LimitsMiddleware",
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

_credentials = HTTPBase(
    scheme="bearer",
    auto_error=False,
    scheme_name="token",
    description=(
        "A token from `geosafe token create`: `Authorization: Bearer <token>`, or HTTP Basic "
        "with the token as the password (any user name, or the purpose of the read)."
    ),
)
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="Session cookie set by `POST /session` (browsers).",
)

#: Responses every protected route can give (documented in the OpenAPI spec).
AUTH_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "Parameter not allowed for this role or too costly, or no purpose."},
    401: {"description": "No valid token or session."},
    403: {"description": "This role may not use this route."},
    404: {"description": "Not found (or another school's object)."},
    408: {"description": "The request took longer than the configured limit."},
    413: {"description": "The request body is larger than the configured limit."},
    429: {"description": "Too many requests; retry after `Retry-After`."},
}

#: Paths whose requests may compute (layers, rasters, downloads, maps, journeys): at most
#: ``heavy_slots`` of them run at once.
_HEAVY_PREFIXES: Final = ("/ogc/collections/", "/rasters/", "/downloads/", "/maps/", "/journeys")
_LIGHT_COLLECTIONS: Final = ("/ogc/collections/schools", "/ogc/collections/bus-stops")

#: Content-Security-Policy of every HTML page: only this site's scripts, styles and images.
CSP: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def install(
    app: FastAPI,
    *,
    access: AccessSettings | None = None,
    store: StoreSettings | None = None,
    data_dir: Path | str | None = None,
    login_page: bool = True,
) -> AccessContext:
    """Attach the access layer to an app (call in the app factory, before it starts).

    Parameters
    ----------
    access
        Token, session and limit settings (``None``: from the environment, here at the edge).
    store
        Store settings: the token database and audit log sit beside ``store.db``.
    data_dir
        Bundled data (ward boundaries for neighbourhood tokens).
    login_page
        Also serve ``GET /login`` (a minimal page that exchanges a token for a session).
    """
    ctx = AccessContext.from_settings(
        access if access is not None else AccessSettings(),
        store if store is not None else StoreSettings(),
        data_dir=data_dir,
    )
    app.state.access = ctx
    install_error_handlers(app)
    app.add_middleware(LimitsMiddleware)
    app.add_middleware(HeadersMiddleware)
    app.include_router(session_router)
    if login_page:
        app.include_router(_login_router)
    return ctx


def access_context(app: Any) -> AccessContext:
    """The app's :class:`AccessContext` (set by :func:`install`)."""
    ctx = getattr(app.state, "access", None)
    if ctx is None:
        msg = "the app has no access layer; call api.security.install(app, ...) in its factory."
        raise ConfigurationError(msg)
    return ctx  # type: ignore[no-any-return]


# -- authentication -----------------------------------------------------------------------
def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _basic(credentials: str) -> tuple[str, str]:
    """``(user, password)`` of an HTTP Basic credential."""
    try:
        user, sep, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep, user, password = "", "", ""
    if not sep:
        msg = "the `Authorization: Basic` value is not base64 of 'user:password'."
        raise AuthenticationError(msg)
    return user, password


def authenticate(
    request: Request, scheme: str | None, credentials: str | None, session: str | None
) -> Principal:
    """The principal behind the request's token (Bearer, or the Basic password), else its
    session cookie. Failed attempts count against the client address (login throttling)."""
    ctx = access_context(request.app)
    address = _client(request)
    ctx.logins.check(address)
    try:
        if scheme is not None and credentials:
            if scheme.lower() == "bearer":
                return ctx.principals.authenticate(credentials)
            if scheme.lower() == "basic":
                user, password = _basic(credentials)
                principal = ctx.principals.authenticate(password)
                request.state.basic_user = user.strip()
                return principal
        if request.headers.get("authorization"):
            raise AuthenticationError(
                "the `Authorization` header must be `Bearer <token>` or Basic with the token "
                "as the password; create a token with `geosafe token create`."
            )
        if session:
            principal = ctx.tokens.authenticate_session(session)
            check_same_origin(request)
            return principal
    except AuthenticationError:
        ctx.logins.failed(address)
        raise
    raise AuthenticationError(
        "this route needs a token: send `Authorization: Bearer <token>` (or Basic with the "
        "token as the password) or log in at /login."
    )


def _site_hosts(request: Request) -> set[str]:
    hosts = {request.headers.get("host", "").lower()}
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded:
        hosts.add(forwarded.split(",")[0].strip().lower())
    return hosts - {""}


def check_same_origin(request: Request, *, required: bool = True) -> None:
    """Cookie-authenticated state changes must come from this site's own pages: a matching
    ``Origin``, or without one a matching ``Referer``; neither refuses the request (unless
    not ``required``: the login itself, which carries its token in the body)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("origin")
    source, what = (
        (origin, "origin")
        if origin and origin != "null"
        else (
            request.headers.get("referer"),
            "referer",
        )
    )
    if not source and not required:
        return
    if not source:
        msg = (
            "a browser request that changes data must carry an `Origin` or `Referer` header of "
            "this site; send it from the geosafe page."
        )
        raise AccessDeniedError(msg)
    if urlsplit(source).netloc.lower() not in _site_hosts(request):
        raise AccessDeniedError(f"cross-site request from {what} {source!r} refused.")


def require(*roles: str) -> Callable[..., Principal]:
    """A FastAPI dependency returning the request's :class:`~geosafe.access.Principal`.

    Parameters
    ----------
    roles
        Roles allowed on the route (none given: every role).
    """
    for role in roles:
        if role not in ROLES:
            msg = f"`roles` {role!r} is not a role; use {', '.join(ROLES)}."
            raise ValueError(msg)
    allowed = tuple(roles) or ROLES

    def dependency(
        request: Request,
        credentials: Annotated[Any, Security(_credentials)],
        session: Annotated[str | None, Security(_cookie)],
    ) -> Principal:
        scheme = getattr(credentials, "scheme", None)
        value = getattr(credentials, "credentials", None)
        principal = authenticate(request, scheme, value, session)
        if principal.role not in allowed:
            msg = (
                f"the {principal.role!r} role may not use {request.url.path!r}; "
                f"it is for {', '.join(allowed)}."
            )
            raise AccessDeniedError(msg)
        ctx = access_context(request.app)
        ctx.limiter.check(
            principal.token_id,
            who=principal.label,
            what="requests",
            setting="GEOSAFE_ACCESS_RATE_PER_MINUTE"
            if principal.rate_per_minute is None
            else "the token's --rate-per-minute",
            rate=principal.rate_per_minute,
        )
        check_request_scope(request, principal)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{'_'.join(allowed)}"
    return dependency


def check_request_scope(request: Request, principal: Principal) -> None:
    """404 for another school's URN (path or query); 400 for parameters the role may not send."""
    for name in ("urn", "school", "school_urn"):
        value = request.path_params.get(name) or request.query_params.get(name)
        if value is not None:
            privacy.check_school(principal, str(value))
    privacy.check_query(principal, request.query_params)


# -- incident-level reads -----------------------------------------------------------------
class AuditedRead:
    """One incident-level read or export: :meth:`record` writes its single audit row."""

    def __init__(
        self,
        audit: AuditLog,
        principal: Principal,
        request: Request,
        action: str,
        purpose: str,
        purpose_from: str = "header",
    ) -> None:
        self.audit = audit
        self.principal = principal
        self.action = action
        self.purpose = purpose
        self.endpoint = request.url.path
        self.params: dict[str, Any] = {**request.path_params, **dict(request.query_params)}
        if purpose_from != "header":
            self.params["purpose_from"] = purpose_from
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


def _purpose(request: Request, principal: Principal) -> tuple[str, str]:
    """The purpose of an incident-level read and where it came from."""
    header = (request.headers.get("x-purpose") or "").strip()
    if header:
        return header, "header"
    user = str(getattr(request.state, "basic_user", "") or "").strip()
    if user:
        return user, "basic-user"
    if principal.purpose:
        return principal.purpose, "token"
    msg = (
        "incident-level reads and exports need a purpose: send an `X-Purpose` header (e.g. "
        "`X-Purpose: case review 2025-031`), put it as the user name of a Basic login, or bind "
        "one to the token (`geosafe token create --purpose ...`)."
    )
    raise ValidationError(msg)


def incident_access(request: Request, principal: Principal, *, action: str = "read") -> AuditedRead:
    """Check an incident-level read or export: analyst only (403) with a purpose (400). Call
    :meth:`AuditedRead.record` with the number of records served. The response is marked
    ``Cache-Control: no-store``."""
    if not principal.is_analyst:
        msg = (
            f"{request.url.path!r} serves incident-level data, for the analyst role only "
            f"(this token's role is {principal.role!r}); use the aggregated layers."
        )
        raise AccessDeniedError(msg)
    purpose, source = _purpose(request, principal)
    if len(purpose) > 500:
        raise ValidationError(f"the purpose is {len(purpose)} characters; keep it under 500.")
    request.state.no_store = True
    ctx = access_context(request.app)
    return AuditedRead(ctx.audit, principal, request, action, purpose, source)


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


def _secure(request: Request, setting: bool | None) -> bool:
    """The cookie's Secure flag: the setting, else whether the request came over HTTPS."""
    if setting is not None:
        return setting
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or proto == "https"


session_router = APIRouter(tags=["session"])


@session_router.post(
    "/session",
    response_model=SessionInfo,
    responses={401: {"description": "The token is not valid."}},
)
def open_session(body: SessionRequest, request: Request, response: Response) -> SessionInfo:
    """Exchange a token for an HttpOnly, SameSite=Strict session cookie (browsers)."""
    ctx = access_context(request.app)
    check_same_origin(request, required=False)  # no logging a browser in from another site
    address = _client(request)
    ctx.logins.check(address)
    try:
        value, principal = ctx.tokens.open_session(body.token)
    except AuthenticationError:
        ctx.logins.failed(address)
        raise
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(ctx.tokens.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=_secure(request, ctx.settings.cookie_secure),
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
  else { status.textContent = r.status === 429 ? "Too many attempts; wait a minute."
    : "That token is not valid."; }
});
</script></body></html>
"""

_login_router = APIRouter(tags=["session"])


@_login_router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page() -> HTMLResponse:
    """The login page: asks for a token once, exchanges it for a session cookie."""
    return HTMLResponse(_LOGIN_HTML, headers={"Cache-Control": "no-store"})


# -- middleware ---------------------------------------------------------------------------
def _error_messages(exc: GeosafeError) -> tuple[Message, Message]:
    status = status_for(exc)
    body = json.dumps({"code": status, "detail": str(exc)}).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.lower().encode(), v.encode()) for k, v in error_headers(exc, status).items()]
    return (
        {"type": "http.response.start", "status": status, "headers": hdrs},
        {"type": "http.response.body", "body": body},
    )


async def _answer(send: Send, exc: GeosafeError) -> None:
    for message in _error_messages(exc):
        await send(message)


def _is_heavy(scope: Scope) -> bool:
    """Whether the request takes a heavy slot before it starts. OGC documents and item reads
    do not: an item read takes one only while it builds a layer that is not cached yet
    (:func:`heavy_slot`), so paging through a built layer never queues behind a build."""
    path: str = scope.get("path", "")
    if scope.get("method") == "GET" and path.startswith(_LIGHT_COLLECTIONS):
        return False
    if path.startswith("/ogc/collections/") and not path.rstrip("/").endswith(".gpkg"):
        return False
    return path.startswith(_HEAVY_PREFIXES)


def heavy_slot(request: Request) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """The heavy-computation slot of the request's app, for
    :meth:`geosafe.publish.service.LayerService.layer`'s ``gate`` (held while a layer is
    built; refused with 429 after ``heavy_wait_s`` like the middleware's)."""
    return access_context(request.app).heavy.slot


class LimitsMiddleware:
    """Body size (413, also for chunked uploads: the body is read, up to the limit, before
    the app sees it), bbox area (400), request time (408) and heavy computations at once
    (429 after waiting ``heavy_wait_s``), from the app's access settings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = access_context(scope["app"])
        settings = ctx.settings
        try:
            self._check_head(scope, ctx)
            body = await self._read_body(scope, receive, settings.max_upload_bytes)
        except GeosafeError as exc:
            await _answer(send, exc)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if body is None:
                return await receive()
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # http.disconnect

        heavy = _is_heavy(scope)
        ticket = None
        if heavy:
            try:
                ticket = await anyio.to_thread.run_sync(ctx.heavy.acquire)
            except GeosafeError as exc:
                await _answer(send, exc)
                return
        try:
            await self._run_with_deadline(scope, replay, send, settings.request_timeout_s)
        finally:
            if heavy:
                with anyio.CancelScope(shield=True):  # a shared slot is a database write
                    await anyio.to_thread.run_sync(ctx.heavy.release, ticket)

    async def _run_with_deadline(
        self, scope: Scope, receive: Receive, send: Send, timeout_s: float
    ) -> None:
        # The app runs in its own task; when the time limit passes before it has started its
        # response, the client gets the 408 at once and whatever the app sends later (a sync
        # handler cannot be cancelled: it runs on in its thread, keeping its heavy slot, so
        # runaway work never exceeds the slots) is dropped.
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
                await self.app(scope, receive, tracking_send)
            except BaseException as exc:  # re-raised below, outside the task group
                error = exc
            finally:
                finished.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            with anyio.move_on_after(timeout_s):
                await finished.wait()
            if not finished.is_set():
                async with lock:
                    if not started:
                        abandoned = True
                        msg = (
                            f"the request took longer than {timeout_s:g} s; narrow the bbox or "
                            "period, or raise GEOSAFE_ACCESS_REQUEST_TIMEOUT_S."
                        )
                        await _answer(send, RequestTimeoutError(msg))
        if error is not None:
            if abandoned:
                log.warning("%s failed after its 408: %r", scope.get("path"), error)
                return
            raise error

    @staticmethod
    async def _read_body(scope: Scope, receive: Receive, most: int) -> bytes | None:
        """The whole request body (``None`` for methods without one); 413 past ``most``."""
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > most:
                raise RequestTooLargeError(_too_large(most))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _check_head(scope: Scope, ctx: AccessContext) -> None:
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        most = ctx.settings.max_upload_bytes
        if length is not None and length.isdigit() and int(length) > most:
            raise RequestTooLargeError(_too_large(most))
        query = scope.get("query_string", b"").decode("latin-1")
        if "bbox" in query:
            qs = parse_qs(query, keep_blank_values=True)
            crs = (qs.get("bbox-crs") or [None])[0]
            for text in qs.get("bbox", []):
                try:
                    box = limits.parse_bbox(text, crs)
                except ValidationError:
                    continue  # the route says what is wrong with it
                limits.check_bbox_area(box, limits=ctx.costs)


def _too_large(most: int) -> str:
    return (
        f"the request body is larger than {most:,} bytes; split the upload or raise "
        "GEOSAFE_ACCESS_MAX_UPLOAD_BYTES."
    )


class HeadersMiddleware:
    """Security headers: a Content-Security-Policy and frame protection on HTML pages,
    ``nosniff`` everywhere, and ``Cache-Control: no-store`` on incident-level responses
    (marked by :func:`incident_access`) and on downloads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (k.lower() == b"cache-control" and self._no_store(scope, path))
                ]
                kinds = {k.lower(): v for k, v in headers}
                extra = [(b"x-content-type-options", b"nosniff")]
                if kinds.get(b"content-type", b"").startswith(b"text/html"):
                    extra += [
                        (b"content-security-policy", CSP.encode()),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"same-origin"),
                    ]
                if self._no_store(scope, path):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def _no_store(scope: Scope, path: str) -> bool:
        state = scope.get("state") or {}
        return bool(state.get("no_store")) or path.startswith(
            ("/downloads/", "/ogc/collections/incidents", "/session", "/login")
        )

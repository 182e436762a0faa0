"""One table mapping geosafe's domain errors to HTTP status codes.

Every error answers with a JSON body ``{"code": <status>, "detail": <message>}``; the domain
error's message already names the offending value and how to fix it.
"""

from __future__ import annotations

import logging
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geosafe import _errors as e

__all__ = ["STATUS", "error_headers", "install_error_handlers", "status_for"]

log = logging.getLogger(__name__)

#: Domain error -> HTTP status. Looked up along the exception's MRO, most specific first.
STATUS: Final[dict[type[e.GeosafeError], int]] = {
    e.ValidationError: 400,
    e.GeocodeError: 400,
    e.ImportFileError: 400,
    e.GtfsError: 422,
    e.AuthenticationError: 401,
    e.AccessDeniedError: 403,
    e.DisclosureError: 400,
    e.NotFoundError: 404,
    e.RequestCostError: 400,
    e.RequestTimeoutError: 408,
    e.RequestTooLargeError: 413,
    e.LimitExceededError: 429,
    e.RoutingError: 422,
    e.StoreError: 503,
    e.ConfigurationError: 503,
    e.GeosafeError: 500,
}


def status_for(exc: e.GeosafeError) -> int:
    """The HTTP status of a domain error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 500


def error_headers(exc: e.GeosafeError, status: int) -> dict[str, str]:
    """Headers an error answer carries: the auth challenge on 401, ``Retry-After`` when the
    library says when to retry."""
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(int(retry))
    return headers


def _body(status: int, detail: str) -> dict[str, object]:
    return {"code": status, "detail": detail}


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors, HTTP errors and request validation errors as ``{"code","detail"}``."""

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        status = status_for(exc) if isinstance(exc, e.GeosafeError) else 500
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        headers = error_headers(exc, status) if isinstance(exc, e.GeosafeError) else None
        return JSONResponse(_body(status, str(exc)), status_code=status, headers=headers)

    async def http(request: Request, exc: Exception) -> JSONResponse:
        code = getattr(exc, "status_code", 500)
        return JSONResponse(
            _body(code, str(getattr(exc, "detail", exc))),
            status_code=code,
            headers=getattr(exc, "headers", None),
        )

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        parts = []
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        for err in errors:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body"))
            parts.append(f"`{where}` {err.get('input')!r}: {err.get('msg')}")
        return JSONResponse(_body(400, "; ".join(parts) or "invalid request"), status_code=400)

    app.add_exception_handler(e.GeosafeError, domain)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(RequestValidationError, invalid)

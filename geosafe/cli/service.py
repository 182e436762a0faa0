"""`geosafe serve`: the HTTP service (OGC API - Features, maps, downloads, the web page)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.settings import ServiceSettings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``geosafe serve``."""
    p = sub.add_parser(
        "serve",
        help="serve the API and the map page",
        description="Serve the OGC API, maps, downloads and the web page with uvicorn. "
        "Settings come from GEOSAFE_* environment variables (see api/settings.py); the "
        "options below override them.",
    )
    p.add_argument(
        "--db",
        default=None,
        help="incident store: SQLite file or postgresql:// URL (default GEOSAFE_DB)",
    )
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default 1, GEOSAFE_WORKERS); they share the store, tokens, "
        "sessions, rate limits and heavy-computation slots through the databases",
    )
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api import create_app
    from api.settings import ServiceSettings

    options = (("db", args.db), ("host", args.host), ("port", args.port), ("workers", args.workers))
    changes = {k: v for k, v in options if v}
    settings = ServiceSettings(**changes)
    if settings.workers == 1:
        app = create_app(settings)
        _announce(settings)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
        return 0
    # Several workers: uvicorn starts each in its own process and calls the app factory
    # there, which reads its settings from the environment: pass the options on through it.
    for key, value in changes.items():
        os.environ[f"GEOSAFE_{key.upper()}"] = str(value)
    _announce(settings)
    uvicorn.run(
        "api:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
    )
    return 0


def _announce(settings: ServiceSettings) -> None:
    from geosafe.store import describe

    workers = f", {settings.workers} workers" if settings.workers > 1 else ""
    print(
        f"geosafe: serving http://{settings.host}:{settings.port}/ "
        f"(store {describe(settings.db)}{workers})",
        flush=True,
    )

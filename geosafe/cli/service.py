"""`geosafe serve`: the HTTP service (OGC API - Features, maps, downloads, the web page)."""

from __future__ import annotations

import argparse


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
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api import create_app
    from api.settings import ServiceSettings
    from geosafe.store import describe

    changes = {k: v for k, v in (("db", args.db), ("host", args.host), ("port", args.port)) if v}
    settings = ServiceSettings(**changes)
    app = create_app(settings)
    print(
        f"geosafe: serving http://{settings.host}:{settings.port}/ (store {describe(settings.db)})",
        flush=True,
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0

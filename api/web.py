"""The web page at ``/``, its static assets, vendored Leaflet and the OpenAPI page at ``/api``.

Everything the browser loads comes from this app: ``/static`` serves ``web/static``,
``/static/vendor/leaflet`` the ``leaflet`` npm package's ``dist`` folder and
``/static/vendor/swagger-ui`` the ``swagger-ui-dist`` package (``npm ci`` in ``web/``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp

from geosafe._errors import ConfigurationError

from .deps import services
from .settings import ServiceSettings

__all__ = ["mount_static", "router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["web"])

LEAFLET_URL = "/static/vendor/leaflet"
SWAGGER_URL = "/static/vendor/swagger-ui"


@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    """The map page (its data comes from the OGC API with the caller's token)."""
    return FileResponse(services(request).settings.web_dir / "index.html", media_type="text/html")


@router.get("/favicon.ico", include_in_schema=False)
def favicon(request: Request) -> Response:
    """The site's icon (an SVG map pin), where browsers ask for it on every page; without it
    each page load logged a 404 in the browser's console."""
    path = services(request).settings.web_dir / "static" / "favicon.svg"
    return FileResponse(path, media_type="image/svg+xml", headers={"Cache-Control": VENDOR_CACHE})


@router.get("/api", include_in_schema=False)
def api_docs() -> HTMLResponse:
    """Swagger UI of the OpenAPI document, with local assets."""
    return get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="geosafe API",
        swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
        swagger_favicon_url=f"{LEAFLET_URL}/images/marker-icon.png",
    )


#: Vendored packages change only with ``web/package-lock.json``: browsers keep them a day.
VENDOR_CACHE = "public, max-age=86400"
#: The page's own script and style: kept, but revalidated (ETag) on every load.
PAGE_CACHE = "no-cache"


class _Assets(StaticFiles):
    """Static files sent with a ``Cache-Control`` header (ETag and Last-Modified come from
    :class:`StaticFiles`, so revalidation answers 304)."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response


def _assets(directory: Path, cache_control: str) -> ASGIApp:
    """``directory`` served gzip-compressed to clients that accept it (Leaflet's script is
    ~147 kB, ~42 kB compressed), with ``cache_control``."""
    return GZipMiddleware(_Assets(directory=directory, cache_control=cache_control), 512)


def mount_static(app: FastAPI, settings: ServiceSettings) -> None:
    """Mount ``/static`` (page assets) and the vendored npm packages."""
    web = settings.web_dir
    modules = web / "node_modules"
    leaflet = modules / "leaflet" / "dist"
    if not leaflet.is_dir():
        msg = (
            f"vendored Leaflet is missing at {str(leaflet)!r}; run `npm ci` in {str(web)!r} "
            "(scripts/setup.sh does this)."
        )
        raise ConfigurationError(msg)
    app.mount(LEAFLET_URL, _assets(leaflet, VENDOR_CACHE), name="leaflet")
    swagger = modules / "swagger-ui-dist"
    if swagger.is_dir():
        app.mount(SWAGGER_URL, _assets(swagger, VENDOR_CACHE), name="swagger-ui")
    app.mount("/static", _assets(web / "static", PAGE_CACHE), name="static")

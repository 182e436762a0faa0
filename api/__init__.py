"""The geosafe HTTP service: :func:`create_app` builds a FastAPI app from settings.

Nothing is built at import: ``geosafe serve`` (or a test) makes the settings and calls
:func:`create_app`. Routers are thin: they parse, call :mod:`geosafe`, and format.

- ``/healthz``: liveness (no token needed)
- ``/api``: OpenAPI documentation (``/api/openapi.json``)
- ``/ogc``: OGC API - Features Part 1 Core
- ``/maps``: Folium maps with local assets and an offline basemap
- ``/downloads``, ``/rasters``: GeoPackage, GeoJSON, CSV; KDE Cloud-Optimised GeoTIFF
- ``/journeys``, ``/jobs``: journeys over HTTP; background jobs
- ``/schools/{urn}/roll``: a school's roll upload (home postcodes only)
- ``/``: the web page; ``/static``: its assets and vendored Leaflet
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from geosafe.access import AccessSettings
    from geosafe.publish.service import IncidentStore

    from .settings import ServiceSettings

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(
    settings: ServiceSettings | None = None,
    *,
    access: AccessSettings | None = None,
    store: IncidentStore | Callable[[], IncidentStore] | None = None,
) -> FastAPI:
    """Build the FastAPI application.

    Parameters
    ----------
    settings
        :class:`api.settings.ServiceSettings`; ``None`` reads them from the environment.
    access
        :class:`geosafe.access.AccessSettings` (tokens, sessions, limits); ``None`` reads
        them from the environment.
    store
        The incident store, or a zero-argument callable returning it. ``None``: a
        :func:`geosafe.store.open_store` on ``settings.db`` (a SQLite file or a PostGIS
        URL), opened on first use in each thread.

    Returns
    -------
    fastapi.FastAPI
    """
    from fastapi import FastAPI

    from geosafe.access import AccessSettings
    from geosafe.jobs import JobRunner
    from geosafe.publish.builder import builder_for
    from geosafe.publish.service import LayerService
    from geosafe.settings import StoreSettings
    from geosafe.store.published_read import open_reader

    from . import (
        downloads,
        interventions,
        jobs,
        journeys,
        maps,
        ogc,
        places,
        rasters,
        reports,
        schools,
        security,
        web,
    )
    from .deps import Services
    from .errors import install_error_handlers
    from .settings import ServiceSettings

    settings = settings if settings is not None else ServiceSettings()
    builder = None
    if store is None:
        store = _store_opener(settings.db)
        builder = builder_for(
            settings.layer_builder,
            settings.db,
            settings.data_dir,
            reader_db=settings.reader_db,
            idle_s=settings.builder_idle_s,
            cache_size=min(settings.cache_size, 16),
        )
    layer_service = LayerService(
        settings.data_dir,
        store,
        store_path=settings.db,
        cache_size=settings.cache_size,
        # non-analyst layers read the published aggregates over their own connection
        reader=open_reader(settings.db, settings.reader_db),
        builder=builder,
    )
    runner = JobRunner(workers=settings.job_workers)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runner.shutdown()
        layer_service.close()
        if ctx.heavy.leases is not None:  # no renewing thread left behind
            ctx.heavy.leases.stop()

    app = FastAPI(
        title="geosafe",
        version="0.1.0",
        description="Hotspot and journey-risk mapping for contextual safeguarding "
        "(OGC API - Features, maps, downloads).",
        docs_url=None,
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = Services(settings=settings, layers=layer_service, jobs=runner)
    app.state.settings = settings
    install_error_handlers(app)
    ctx = security.install(
        app,
        access=access if access is not None else AccessSettings(),
        store=StoreSettings(db=settings.db),
        data_dir=settings.data_dir,
    )
    runner.store = ctx.shared  # job statuses any worker can answer

    @app.get("/healthz", tags=["service"], summary="Liveness")
    def healthz() -> dict[str, str]:
        """``{"status": "ok"}`` while the process serves requests."""
        return {"status": "ok"}

    routers = (ogc, maps, downloads, rasters, journeys, schools, jobs, reports, places, web)
    for module in (*routers, interventions):
        app.include_router(module.router)
    web.mount_static(app, settings)
    from .idle import TrimWhenIdle

    # outermost: once no request is in flight for a second, glibc gives back the pages a
    # layer build or a download freed (-13 MB of 274 after a borough-scale load run)
    if settings.idle_trim_s > 0:
        app.add_middleware(TrimWhenIdle, delay=settings.idle_trim_s)
    return app


def _store_opener(db: Any) -> Callable[[], IncidentStore]:
    def opener() -> IncidentStore:
        from geosafe.store import open_store

        return open_store(db)  # type: ignore[return-value]

    return opener

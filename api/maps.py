"""Folium maps (``/maps/hotspots``, ``/maps/schools/{urn}``) and the offline basemap as
GeoJSON (``/maps/basemap.json``) for the web page. All assets are served by this app."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from geosafe._errors import NotFoundError
from geosafe._lazy import LazyModule
from geosafe.publish import catalogue as gl
from geosafe.publish import disclosure, pages
from geosafe.publish.scope import scope_key

from .deps import ALL_ROLES, Svc, check_role, require_roles
from .params import analysis_params, check_known
from .web import LEAFLET_URL

# maps are drawn on demand: their libraries load with the first map
ge = LazyModule("geosafe.publish.exports")
glabels = LazyModule("geosafe.publish.labels")

__all__ = ["router"]

router = APIRouter(prefix="/maps", tags=["maps"])
Caller = Annotated[Any, Depends(require_roles(*ALL_ROLES))]


def _not_modified(request: Request, page: pages.Page) -> bool:
    """Whether the request's ``If-None-Match`` names either representation of ``page``."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or page.etag in tags or page.etag_gz in tags


def _send(request: Request, page: pages.Page, media: str, cache_control: str) -> Response:
    """The cached page, gzip-compressed when the client accepts it (a map page is ~0.8 MB of
    GeoJSON; compressed ~8 times smaller), or ``304 Not Modified`` without a body when the
    client's ``If-None-Match`` names it. Responses vary by credentials and are ``private``:
    shared caches never keep them."""
    gz = "gzip" in request.headers.get("accept-encoding", "")
    headers = {
        "Vary": "Accept-Encoding, Authorization, Cookie",
        "Cache-Control": cache_control,
        "ETag": page.etag_gz if gz else page.etag,
    }
    if _not_modified(request, page):
        return Response(status_code=304, headers=headers)
    if gz:
        return Response(page.gz, media_type=media, headers={**headers, "Content-Encoding": "gzip"})
    return Response(page.raw, media_type=media, headers=headers)


#: Map pages: the browser keeps them but revalidates every time (a cheap 304 when unchanged),
#: so new data, another login or a revoked token is never answered from its cache.
_PAGE_CACHE = "private, no-cache"


@router.get("/basemap.json", summary="Offline basemap layers")
def basemap(request: Request, principal: Caller, svc: Svc) -> Response:
    """Streets (OSM highways), parks, ward boundaries and schools of the demo area as GeoJSON
    FeatureCollections (WGS84), drawn by the web page instead of map tiles."""
    from geosafe.publish import maps as gm  # folium (~18 MB) on the first map

    entry = pages.cached_page(
        svc.html_cache,
        ("basemap", None),
        lambda: json.dumps(gm.basemap(svc.settings.data_dir).as_dict()),
        size=svc.settings.cache_size,
    )
    return _send(request, entry, "application/json", "private, max-age=3600")


@router.get("/labels.json", summary="Offline map labels")
def labels(request: Request, principal: Caller, svc: Svc) -> Response:
    """Street names (along the OSM streets) and names of stations, stops, parks, schools and
    neighbourhoods as GeoJSON (WGS84), placed by the web page as basemap labels."""
    entry = pages.cached_page(
        svc.html_cache,
        ("labels", None),
        lambda: json.dumps(glabels.map_labels(svc.settings.data_dir)),
        size=svc.settings.cache_size,
    )
    return _send(request, entry, "application/json", "private, max-age=3600")


@router.get("/hotspots", response_class=HTMLResponse, summary="Hotspot map")
def hotspots(request: Request, principal: Caller, svc: Svc) -> Response:
    """A Folium map of kernel density hotspots (query parameters as ``hotspots-kde`` items)."""
    sp = gl.spec("hotspots-kde")
    check_role(principal, sp.roles, sp.id)
    check_known(request, sp.params)
    params = analysis_params(request, sp)
    # cache key first: a cached page needs neither the layer nor a render
    key = (
        "hotspots",
        params.key(),
        svc.layers.collection_state(sp.id),
        scope_key(principal, sp.id),
        _interventions_state(svc, principal),
    )

    def make() -> str:
        from geosafe.protect import public_evaluation as ivmaps  # scipy: on the first map
        from geosafe.publish import maps as gm  # folium (~18 MB) on the first map

        layer = svc.layers.layer(sp.id, params, principal=principal)
        m = gm.hotspot_map(
            json.loads(ge.geojson_text(layer)),
            base=gm.basemap(svc.settings.data_dir),
            asset_url=LEAFLET_URL,
            synthetic=layer.synthetic,
            interventions=ivmaps.for_viewer(svc.layers, principal, svc.settings.data_dir),
        )
        return gm.render(m)

    return _send(
        request,
        pages.cached_page(svc.html_cache, key, make, size=svc.settings.cache_size),
        "text/html; charset=utf-8",
        _PAGE_CACHE,
    )


@router.get("/schools/{urn}", response_class=HTMLResponse, summary="A school's map")
def school(urn: str, request: Request, principal: Caller, svc: Svc) -> Response:
    """A school's journey corridors and the hotspots along them."""
    disclosure.check_school(principal, urn)  # another school's map: 404, as everywhere
    sp = gl.spec("journey-corridors")
    check_role(principal, sp.roles, sp.id)
    check_known(request, [p for p in sp.params if p != "school"])
    params = analysis_params(request, sp)
    schools = svc.layers.layer("schools")
    pos = schools.index.get(urn)
    if pos is None:
        msg = f"school {urn!r} is not a demo-area school; pick a URN from /ogc/collections/schools/items."
        raise NotFoundError(msg)
    feat = json.loads(schools.features[pos])
    info = {
        **feat["properties"],
        "lon": feat["geometry"]["coordinates"][0],
        "lat": feat["geometry"]["coordinates"][1],
    }
    state = svc.layers.collection_state("journey-corridors")  # store and school rolls
    key = (
        "school",
        urn,
        params.key(),
        state,
        scope_key(principal),
        _interventions_state(svc, principal),
    )

    def make() -> str:
        from geosafe.protect import public_evaluation as ivmaps  # scipy: on the first map
        from geosafe.publish import maps as gm  # folium (~18 MB) on the first map

        corridors = svc.layers.layer(
            "journey-corridors", gl.replace_params(params, school=urn), principal=principal
        )
        hot = svc.layers.layer("hotspots-kde", params, principal=principal)
        m = gm.school_map(
            info,
            json.loads(ge.geojson_text(corridors)),
            json.loads(ge.geojson_text(hot)),
            base=gm.basemap(svc.settings.data_dir),
            asset_url=LEAFLET_URL,
            synthetic=hot.synthetic or corridors.synthetic,
            interventions=ivmaps.for_viewer(svc.layers, principal, svc.settings.data_dir),
        )
        return gm.render(m)

    return _send(
        request,
        pages.cached_page(svc.html_cache, key, make, size=svc.settings.cache_size),
        "text/html; charset=utf-8",
        _PAGE_CACHE,
    )


def _interventions_state(svc: Svc, principal: Any) -> Any:
    """The intervention log's state as ``principal``'s map draws it (a map's cache key
    part; a non-analyst's read over the reader connection), read without loading the
    evaluation's libraries."""
    from geosafe.protect.interventions import viewer_log_state

    return viewer_log_state(svc.layers, principal)

"""OGC API - Features Part 1 Core under ``/ogc``.

Landing page, conformance, collections, items (``bbox``, ``bbox-crs``, ``datetime``,
``limit``, ``offset``, ``crs``, ``f``) and single features, as JSON/GeoJSON or HTML. The
layers come from :class:`geosafe.publish.service.LayerService`; this module parses and formats only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from geosafe._errors import ValidationError
from geosafe.area.manifest import attribution, licence_expression
from geosafe.publish import catalogue as gl
from geosafe.publish import pages, roles, styles
from geosafe.publish.scope import scope_key

from .deps import ALL_ROLES, Services, Svc, check_role, require_roles
from .params import (
    analysis_params,
    check_known,
    parse_bbox,
    parse_datetime,
    parse_int,
    wants_html,
)
from .security import heavy_slot, incident_access
from .web import LEAFLET_URL

__all__ = ["CONFORMANCE", "router"]

CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON: Final = "application/geo+json"
CONFORMANCE: Final = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
]
_ITEM_PARAMS: Final = frozenset({"bbox", "bbox-crs", "datetime", "limit", "offset", "f", "crs"})

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])


_OGC_PARAMS = [
    pages.query_parameter(
        "bbox",
        "minlon,minlat,maxlon,maxlat (CRS84) or in `bbox-crs`",
        {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
    ),
    pages.query_parameter(
        "bbox-crs", "CRS of `bbox`: CRS84 (default) or EPSG:27700 URI", {"type": "string"}
    ),
    pages.query_parameter(
        "datetime", "instant or interval `start/end`, `..` for an open end", {"type": "string"}
    ),
    pages.query_parameter(
        "limit", "page size; clamped to the server maximum", {"type": "integer", "minimum": 1}
    ),
    pages.query_parameter("offset", "features to skip", {"type": "integer", "minimum": 0}),
    pages.query_parameter("crs", "output CRS: CRS84 only", {"type": "string"}),
    pages.query_parameter(
        "f", "json (default) or html", {"type": "string", "enum": ["json", "html"]}
    ),
]
_ANALYSIS_PARAMS = [
    pages.query_parameter(
        name, f"{text} (collections that take it; see `geosafe:parameters`)", {"type": "string"}
    )
    for name, text in gl.describe_params().items()
]
Caller = Annotated[Any, Depends(require_roles(*ALL_ROLES))]


def _url(request: Request, path: str, params: Mapping[str, str] | None = None) -> str:
    base = str(request.base_url).rstrip("/")
    query = f"?{urlencode(params)}" if params else ""
    return f"{base}{path}{query}"


def _respond(
    request: Request, doc: dict[str, Any], *, title: str, media: str = "application/json"
) -> Response:
    if wants_html(request):
        return HTMLResponse(pages.ogc_html(doc, title, leaflet_url=LEAFLET_URL))
    return Response(
        json.dumps(doc, ensure_ascii=False),
        media_type=media,
        headers={"Content-Crs": f"<{CRS84}>"} if media == GEOJSON else None,
    )


def _alt_links(
    request: Request, path: str, media: str = "application/json"
) -> list[dict[str, str]]:
    own = {k: v for k, v in request.query_params.items() if k != "f"}
    html_self = wants_html(request)
    return [
        {
            "href": _url(request, path, {**own, "f": "json"}),
            "rel": "alternate" if html_self else "self",
            "type": media,
            "title": "this document as JSON",
        },
        {
            "href": _url(request, path, {**own, "f": "html"}),
            "rel": "self" if html_self else "alternate",
            "type": "text/html",
            "title": "this document as HTML",
        },
    ]


@router.get("", summary="Landing page")
@router.head("", include_in_schema=False)
def landing(request: Request, principal: Caller) -> Response:
    """The OGC API landing page."""
    check_known(request, {"f"})
    doc = {
        "title": "geosafe",
        "description": "Hotspots, incidents and journey corridors for contextual safeguarding "
        "(OGC API - Features).",
        "links": [
            *_alt_links(request, "/ogc"),
            {
                "href": _url(request, "/api/openapi.json"),
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "OpenAPI definition",
            },
            {
                "href": _url(request, "/api"),
                "rel": "service-doc",
                "type": "text/html",
                "title": "API documentation",
            },
            {
                "href": _url(request, "/ogc/conformance"),
                "rel": "conformance",
                "type": "application/json",
                "title": "conformance classes",
            },
            {
                "href": _url(request, "/ogc/collections"),
                "rel": "data",
                "type": "application/json",
                "title": "collections",
            },
        ],
    }
    return _respond(request, doc, title="geosafe OGC API")


@router.get("/conformance", summary="Conformance classes")
@router.head("/conformance", include_in_schema=False)
def conformance(request: Request, principal: Caller) -> Response:
    """The conformance classes implemented."""
    check_known(request, {"f"})
    doc = {"conformsTo": CONFORMANCE, "links": _alt_links(request, "/ogc/conformance")}
    return _respond(request, doc, title="Conformance")


def _collection_doc(
    request: Request,
    svc: Services,
    sp: gl.CollectionSpec,
    params: gl.AnalysisParams,
    principal: Any,
) -> dict[str, Any]:
    own = {k: v for k, v in request.query_params.items() if k in sp.params}
    if sp.params and not sp.temporal:  # computed on demand: the demo area and the period
        bbox = svc.layers.compute("area_extent")
        start, end, synthetic = svc.layers.compute(
            "document_period", params=params, principal=principal
        )
    else:
        layer = svc.layers.layer(sp.id, params, principal=principal)
        bbox = layer.extent or svc.layers.compute("area_extent")
        synthetic = layer.synthetic
    if sp.temporal:
        t0, t1 = layer.interval
    elif sp.params:
        t0 = pages.local_midnight(start) if start else None
        # the local midnight ending the last day (not 24 h later: DST)
        t1 = pages.local_midnight(end + dt.timedelta(days=1)) if end else None
    else:
        t0 = t1 = None
    items = f"/ogc/collections/{sp.id}/items"
    doc: dict[str, Any] = {
        "id": sp.id,
        "title": sp.title,
        "description": sp.description_for(getattr(principal, "role", "analyst"))
        + (" Includes synthetic data." if synthetic else ""),
        "itemType": "feature",
        "geosafe:synthetic": synthetic,
        # the area's data sources (area.json): OGC API - Common collection fields
        "attribution": "; ".join(attribution(svc.layers.data_dir)),
        "license": licence_expression(svc.layers.data_dir),
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {
            "spatial": {"bbox": [list(bbox)], "crs": CRS84},
            "temporal": {
                "interval": [[pages.iso_utc(t0), pages.iso_utc(t1)]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            },
        },
        "links": [
            {
                "href": _url(request, f"/ogc/collections/{sp.id}", own),
                "rel": "self",
                "type": "application/json",
                "title": sp.title,
            },
            {
                "href": _url(request, items, own),
                "rel": "items",
                "type": GEOJSON,
                "title": f"{sp.title} (GeoJSON)",
            },
            {
                "href": _url(request, items, {**own, "f": "html"}),
                "rel": "items",
                "type": "text/html",
                "title": f"{sp.title} (HTML)",
            },
            {
                "href": _url(request, f"/ogc/collections/{sp.id}/schema"),
                "rel": "describedby",
                "type": "application/schema+json",
                "title": "the features' schema (geometry type, properties and their types)",
            },
            {
                "href": _url(request, f"/downloads/{sp.id}.gpkg", own),
                "rel": "enclosure",
                "type": "application/geopackage+sqlite3",
                "title": "GeoPackage (EPSG:27700)",
            },
        ],
        "geosafe:parameters": {p: gl.describe_params()[p] for p in sp.params},
        "geosafe:geometryType": sp.geometry_for(getattr(principal, "role", "analyst")),
    }
    return doc


def _cached_response(
    request: Request, svc: Services, principal: Any, build: Callable[[], Response]
) -> Response:
    """The response of a catalogue document (``/collections``, a collection), built once
    per store state, URL, viewer's scope and representation: these change only when the
    store does, and QGIS asks for them on every connection."""
    key = (
        "ogc-doc",
        request.url.path,
        str(request.base_url),
        tuple(sorted(request.query_params.multi_items())),
        wants_html(request),
        scope_key(principal),
        svc.layers.collection_state("journey-corridors"),  # the store and the school rolls
    )
    body, media, headers = svc.layers.memo(key, lambda: _freeze(build()))
    return Response(body, media_type=media, headers=headers)


def _freeze(response: Response) -> tuple[bytes, str | None, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k.lower() == "content-crs"}
    return bytes(response.body), response.media_type, headers


@router.get("/collections", summary="Collections")
@router.head("/collections", include_in_schema=False)
def collections(request: Request, principal: Caller, svc: Svc) -> Response:
    """Every collection the caller may read, with its extent."""
    check_known(request, {"f"})

    def build() -> Response:
        docs = []
        for sp in pages.visible(getattr(principal, "role", None)):
            docs.append(_collection_doc(request, svc, sp, gl.DEFAULT_PARAMS, principal))
        doc = {"collections": docs, "links": _alt_links(request, "/ogc/collections")}
        return _respond(request, doc, title="Collections")

    return _cached_response(request, svc, principal, build)


@router.get("/collections/{collection_id}", summary="A collection")
@router.head("/collections/{collection_id}", include_in_schema=False)
def collection(collection_id: str, request: Request, principal: Caller, svc: Svc) -> Response:
    """One collection: its extent (CRS84 bbox, temporal interval) and links."""
    sp = gl.spec(collection_id)
    check_role(principal, sp.roles, sp.id)
    check_known(request, {"f", *sp.params})
    params = analysis_params(request, sp)

    def build() -> Response:
        doc = _collection_doc(request, svc, sp, params, principal)
        doc["links"] = doc["links"] + _alt_links(request, f"/ogc/collections/{sp.id}")[1:]
        return _respond(request, doc, title=sp.title)

    return _cached_response(request, svc, principal, build)


@router.get("/collections/{collection_id}/legend", summary="The classes a collection is drawn with")
@router.head("/collections/{collection_id}/legend", include_in_schema=False)
def legend(collection_id: str, request: Request, principal: Caller, svc: Svc) -> Response:
    """The classes of the layer for these parameters as this role sees it (graduated:
    ``lower``/``upper``/``colour``/``label``; categorised: ``value``/``colour``/``label``),
    the same classes as the QGIS style in its GeoPackage download
    (:func:`geosafe.publish.styles.legend_for`)."""
    sp = gl.spec(collection_id)
    check_role(principal, sp.roles, sp.id)
    check_known(request, {"f", *sp.params})
    params = analysis_params(request, sp)
    if sp.id in styles.GRADUATED:  # only graduated classes depend on the data
        doc = svc.layers.compute("legend", sp.id, params=params, principal=principal)
    else:  # never read incidents here
        doc = styles.legend_for(sp.id, None).as_dict()
    return Response(json.dumps(doc), media_type="application/json")


@router.get("/collections/{collection_id}/schema", summary="The schema of a collection")
@router.head("/collections/{collection_id}/schema", include_in_schema=False)
def schema(collection_id: str, request: Request, principal: Caller) -> Response:
    """The JSON Schema of the collection's features (geometry type and every property with
    its type, declared even when the collection is empty), as this role receives them."""
    sp = gl.spec(collection_id)
    check_role(principal, sp.roles, sp.id)
    check_known(request, {"f"})
    role = getattr(principal, "role", "analyst")
    doc = sp.json_schema(roles.allowed_fields(role), role=role)
    return Response(json.dumps(doc), media_type="application/schema+json")


def _check_crs(request: Request) -> None:
    crs = request.query_params.get("crs")
    if crs is not None and crs not in (CRS84, "CRS84", "OGC:CRS84"):
        msg = f"`crs` {crs!r} is not supported; the only output CRS is {CRS84!r} (omit `crs`)."
        raise ValidationError(msg)


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    openapi_extra={"parameters": _OGC_PARAMS + _ANALYSIS_PARAMS},
)
@router.head("/collections/{collection_id}/items", include_in_schema=False)
def items(collection_id: str, request: Request, principal: Caller, svc: Svc) -> Response:
    """A page of features as a GeoJSON FeatureCollection (``application/geo+json``).

    Query parameters: ``bbox`` (minlon,minlat,maxlon,maxlat in CRS84, or in ``bbox-crs``),
    ``datetime`` (an instant or an interval ``start/end`` with ``..`` for an open end),
    ``limit`` (clamped to the server maximum), ``offset``, and the collection's analysis
    parameters (see the collection's ``geosafe:parameters``).
    """
    sp = gl.spec(collection_id)
    check_role(principal, sp.roles, sp.id)
    check_known(request, _ITEM_PARAMS | set(sp.params))
    _check_crs(request)
    params = analysis_params(request, sp)
    q = request.query_params
    settings = svc.settings
    limit = parse_int(q.get("limit"), "limit", settings.default_page_size)
    limit = max(1, min(limit, settings.max_page_size))
    offset = max(0, parse_int(q.get("offset"), "offset", 0))
    bbox, bbox_crs = parse_bbox(q.get("bbox"), q.get("bbox-crs"))
    interval = parse_datetime(q.get("datetime"))
    audited = incident_access(request, principal) if sp.incident_level else None
    layer = svc.layers.layer(sp.id, params, principal=principal, gate=heavy_slot(request))
    hits = layer.select(bbox=bbox, interval=interval, bbox_crs=bbox_crs)
    page = hits[offset : offset + limit]
    if audited is not None:
        audited.record(len(page))
    path = f"/ogc/collections/{sp.id}/items"
    own = dict(q.items())
    links = [
        {
            "href": _url(request, path, {**own, "f": "json"} if "f" in own else own),
            "rel": "self",
            "type": GEOJSON,
            "title": "this page",
        },
        {
            "href": _url(request, path, {**own, "f": "html"}),
            "rel": "alternate",
            "type": "text/html",
            "title": "this page as HTML",
        },
        {
            "href": _url(request, f"/ogc/collections/{sp.id}"),
            "rel": "collection",
            "type": "application/json",
            "title": sp.title,
        },
    ]
    if offset + limit < len(hits):
        nxt = {**own, "offset": str(offset + limit), "limit": str(limit)}
        links.append(
            {"href": _url(request, path, nxt), "rel": "next", "type": GEOJSON, "title": "next page"}
        )
    if offset > 0:
        prev = {**own, "offset": str(max(0, offset - limit)), "limit": str(limit)}
        links.append(
            {
                "href": _url(request, path, prev),
                "rel": "prev",
                "type": GEOJSON,
                "title": "previous page",
            }
        )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # an empty answer says why (counts by reason), never silently nothing
    why = svc.layers.excluded(sp.id, params, principal=principal) if not layer.ids else None
    # the sources recorded in the period: two periods compare like for like only over these
    recorded = None
    if sp.params:
        recorded = svc.layers.compute("sources_recorded", params=params, principal=principal)
    if wants_html(request):
        doc = {
            "type": "FeatureCollection",
            "numberMatched": len(hits),
            "numberReturned": len(page),
            "features": [json.loads(layer.features[i]) for i in page],
            "links": links,
            **(
                {"geosafe:reason": why["reason"], "geosafe:excluded": why["excluded"]}
                if why
                else {}
            ),
            **({"geosafe:sourcesRecorded": recorded} if recorded is not None else {}),
        }
        return HTMLResponse(
            pages.ogc_html(
                doc,
                f"{sp.title}: features {offset + 1}-{offset + len(page)}",
                leaflet_url=LEAFLET_URL,
            )
        )
    body = (
        '{"type":"FeatureCollection","features":['
        + ",".join(layer.features[i] for i in page)
        + f'],"numberMatched":{len(hits)},"numberReturned":{len(page)},'
        + f'"timeStamp":"{stamp}","links":{json.dumps(links)}'
        + (
            f',"geosafe:reason":{json.dumps(why["reason"])},'
            f'"geosafe:excluded":{json.dumps(why["excluded"])}'
            if why
            else ""
        )
        + (f',"geosafe:sourcesRecorded":{json.dumps(recorded)}' if recorded is not None else "")
        + "}"
    )
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{CRS84}>"})


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
@router.head("/collections/{collection_id}/items/{feature_id}", include_in_schema=False)
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    principal: Caller,
    svc: Svc,
) -> Response:
    """One feature by its id (ids are stable for the same parameters and store content)."""
    sp = gl.spec(collection_id)
    check_role(principal, sp.roles, sp.id)
    check_known(request, {"f", "crs", *sp.params})
    _check_crs(request)
    params = analysis_params(request, sp)
    audited = incident_access(request, principal) if sp.incident_level else None
    layer = svc.layers.layer(sp.id, params, principal=principal, gate=heavy_slot(request))
    pos = layer.index.get(feature_id)
    if audited is not None:
        audited.record(int(pos is not None))
    if pos is None:
        from geosafe._errors import NotFoundError

        msg = f"feature {feature_id!r} is not in collection {sp.id!r} for these parameters."
        raise NotFoundError(msg)
    feature = json.loads(layer.features[pos])
    own = {k: v for k, v in request.query_params.items() if k in sp.params}
    path = f"/ogc/collections/{sp.id}/items/{feature_id}"
    feature["links"] = [
        {"href": _url(request, path, own), "rel": "self", "type": GEOJSON},
        {
            "href": _url(request, f"/ogc/collections/{sp.id}", own),
            "rel": "collection",
            "type": "application/json",
        },
    ]
    if wants_html(request):
        return HTMLResponse(
            pages.ogc_html(feature, f"{sp.title}: {feature_id}", leaflet_url=LEAFLET_URL)
        )
    return JSONResponse(feature, media_type=GEOJSON, headers={"Content-Crs": f"<{CRS84}>"})

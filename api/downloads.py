"""Downloads of every collection: GeoPackage 1.2 (EPSG:27700, with a default QGIS style),
GeoJSON (RFC 7946) and CSV (WKT in EPSG:27700, ``crs`` column)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from geosafe._errors import NotFoundError
from geosafe.publish import catalogue as gl
from geosafe.publish import qgis as gq
from geosafe.publish import styles
from geosafe.publish.layer import geojson_text
from geosafe.publish.scope import scope_key

from .deps import ALL_ROLES, Svc, check_role, require_roles
from .params import analysis_params, check_known
from .security import incident_access

__all__ = ["router"]

router = APIRouter(prefix="/downloads", tags=["downloads"])
Caller = Annotated[Any, Depends(require_roles(*ALL_ROLES))]

_FORMATS = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
}


@router.get("/qgis/geosafe-connection.xml", summary="QGIS connection to this server")
def qgis_connection(request: Request, principal: Caller) -> Response:
    """The OGC API - Features connection for QGIS ("Manage connections > Load"); it uses the
    Basic authentication configuration ``geosafe`` (password: your token)."""
    check_known(request, ())
    text = gq.connection_xml(str(request.base_url))
    headers = {"Content-Disposition": 'attachment; filename="geosafe-connection.xml"'}
    return Response(text, media_type="application/xml", headers=headers)


@router.get("/qgis/geosafe.qgs", summary="QGIS project with every layer this role may see")
def qgis_project(request: Request, principal: Caller, svc: Svc) -> Response:
    """A QGIS project: every collection the caller's role may read as an OGC API - Features
    layer (Basic authentication configuration ``geosafe``), styled with the classes of its
    GeoPackage download."""
    check_known(request, ())
    role = getattr(principal, "role", None)
    visible = [sp for sp in gl.COLLECTIONS.values() if role in sp.roles]
    order = ("hotspots-kde", "clusters", "h3-cells", "emerging-cells", "journey-corridors")
    visible.sort(key=lambda sp: order.index(sp.id) if sp.id in order else -1)
    qml = {}
    for sp in visible:
        geometry_type = sp.geometry_for(str(role))
        if sp.id in ("hotspots-kde", "clusters"):  # the classes of the default view's data
            qml[sp.id] = svc.layers.compute(
                "qml", sp.id, geometry_type, params=gl.DEFAULT_PARAMS, principal=principal
            )
        else:
            qml[sp.id] = styles.qml(styles.default_legend(sp.id), geometry_type)
    geometry = {sp.id: sp.geometry_for(str(role)) for sp in visible}
    text = gq.project_qgs(str(request.base_url), visible, qml, geometry=geometry)
    headers = {"Content-Disposition": 'attachment; filename="geosafe.qgs"'}
    return Response(text, media_type="application/x-qgis-project", headers=headers)


@router.get("/{filename}", summary="Download a collection")
@router.head("/{filename}", include_in_schema=False)
def download(filename: str, request: Request, principal: Caller, svc: Svc) -> Response:
    """``/downloads/{collection}.gpkg|.geojson|.csv`` with the collection's analysis
    parameters as query parameters (the same as its OGC items)."""
    collection, _, ext = filename.rpartition(".")
    if ext not in _FORMATS:
        msg = f"download {filename!r} has no known format; end it in .gpkg, .geojson or .csv."
        raise NotFoundError(msg)
    sp = gl.spec(collection)
    check_role(principal, sp.roles, sp.id)
    check_known(request, sp.params)
    params = analysis_params(request, sp)
    audited = incident_access(request, principal, action="export") if sp.incident_level else None
    layer = svc.layers.layer(sp.id, params, principal=principal)
    if audited is not None:
        audited.record(len(layer.ids))
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if ext == "geojson":
        return Response(geojson_text(layer), media_type=_FORMATS[ext], headers=headers)
    if ext == "csv":  # written by the builder's process (pandas)
        text = svc.layers.compute("csv", sp.id, params=params, principal=principal, keep=False)
        return Response(text, media_type=_FORMATS[ext], headers=headers)
    key = hashlib.sha256(
        repr(
            (sp.id, params.key(), svc.layers.collection_state(sp.id), scope_key(principal, sp.id))
        ).encode()
    ).hexdigest()[:20]
    out_dir = Path(svc.settings.work_dir) / "downloads"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{sp.id}-{key}.gpkg"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=out_dir)
        os.close(fd)
        svc.layers.compute(  # written by the builder's process (pyogrio, GDAL)
            "geopackage", sp.id, tmp, params=params, principal=principal, keep=False
        )
        os.replace(tmp, path)
    return FileResponse(path, media_type=_FORMATS[ext], filename=filename)

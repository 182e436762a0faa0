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
from geosafe.publish import exports as ge
from geosafe.publish.service import scope_key

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
    audited = incident_access(request, principal, action="export") if sp.id == "incidents" else None
    layer = svc.layers.layer(sp.id, params, principal=principal)
    if audited is not None:
        audited.record(len(layer.ids))
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if ext == "geojson":
        return Response(ge.geojson_text(layer), media_type=_FORMATS[ext], headers=headers)
    if ext == "csv":
        return Response(ge.csv_text(layer), media_type=_FORMATS[ext], headers=headers)
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
        ge.write_geopackage(layer, Path(tmp))
        os.replace(tmp, path)
    return FileResponse(path, media_type=_FORMATS[ext], filename=filename)

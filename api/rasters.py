"""Kernel density rasters: ``/rasters/kde.tif`` is a Cloud-Optimised GeoTIFF (EPSG:27700,
incidents per km²) with the same query parameters as the ``hotspots-kde`` collection, served
with HTTP Range support so GDAL's ``/vsicurl/`` reads only the tiles it needs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from geosafe.publish import catalogue as gl

from .deps import ALL_ROLES, Svc, check_role, require_roles
from .params import analysis_params, check_known

__all__ = ["router"]

router = APIRouter(prefix="/rasters", tags=["rasters"])
Caller = Annotated[Any, Depends(require_roles(*ALL_ROLES))]


@router.get("/kde.tif", summary="Kernel density COG")
@router.head("/kde.tif", include_in_schema=False)
def kde_tif(request: Request, principal: Caller, svc: Svc) -> Response:
    """The density surface behind ``hotspots-kde`` as a Cloud-Optimised GeoTIFF."""
    sp = gl.spec("hotspots-kde")
    check_role(principal, sp.roles, sp.id)
    check_known(request, sp.params)
    params = analysis_params(request, sp)
    public = principal.role != "analyst"
    area = getattr(principal, "area", None) if public else None
    from geosafe.publish.hotspot_layers import kde_cog  # the density libraries, on demand

    path = kde_cog(svc.layers, params, svc.settings.work_dir / "rasters", public=public, area=area)
    return FileResponse(
        path,
        media_type="image/tiff; application=geotiff; profile=cloud-optimized",
        filename="kde.tif",
    )

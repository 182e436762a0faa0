"""What a role's GIS client and the web page ask of the service in one session (the
catalogue, each collection, its items, schema, legend and GeoJSON download; the page's
basemap, labels and published interventions): shared by the builder tests and their
fresh-interpreter probe, so it imports nothing heavy itself."""

from __future__ import annotations

from typing import Any

HEAVY = ("pandas", "geopandas", "scipy", "sklearn", "pyproj", "rasterio", "pyogrio")

# the paths a GIS client, the web page's feature layers and the downloads of GeoJSON take
BBOX = "bbox=-0.13,51.55,-0.10,51.57"


def gis_session(client: Any, token: str) -> list[str]:
    """Every document and page a role's GIS client asks for: the catalogue, each collection,
    its items (all, a box, a second page), its schema and legend, its GeoJSON download."""
    docs = client.get("/ogc/collections", headers={"Authorization": f"Bearer {token}"}).json()[
        "collections"
    ]
    out = ["/ogc/collections", "/ogc/", "/ogc/conformance"]
    # the web page's own calls besides the items: its offline basemap, labels, interventions
    out += ["/maps/basemap.json", "/maps/labels.json", "/interventions/published"]
    out += ["/downloads/qgis/geosafe.qgs"]
    for d in docs:
        c = d["id"]
        out += [
            f"/ogc/collections/{c}",
            f"/ogc/collections/{c}/items",
            f"/ogc/collections/{c}/items?{BBOX}",
            f"/ogc/collections/{c}/items?limit=5&offset=5",
            f"/ogc/collections/{c}/items?preset=school-run",
            f"/ogc/collections/{c}/schema",
            f"/ogc/collections/{c}/legend",
            f"/downloads/{c}.geojson",
            f"/downloads/{c}.csv",
            f"/downloads/{c}.gpkg",
        ]
    return out

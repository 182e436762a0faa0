"""QGIS as a first-class client: a downloadable OGC API - Features connection (the XML that
QGIS's "Manage connections > Load" reads) and a ``.qgs`` project holding every collection a
role may see, each with the style of its GeoPackage download (:mod:`geosafe.publish.styles`).

QGIS 3.22 sends credentials only through its authentication configurations; both files name
the Basic configuration ``geosafe`` (user name: anything, or the purpose of an analyst's
reads; password: the token), which the README's QGIS steps create. The token itself is never
written into either file.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Final

from .catalogue import CollectionSpec

__all__ = ["AUTHCFG", "connection_xml", "project_qgs"]

#: The id of the QGIS authentication configuration the files refer to (QGIS ids are seven
#: characters; create the Basic configuration with this id).
AUTHCFG: Final = "geosafe"


def connection_xml(base_url: str, *, name: str = "geosafe") -> str:
    """The OGC API - Features connection of this server, as QGIS exports it (a WFS
    connection of version ``OGC_API_FEATURES``)."""
    url = html.escape(_ogc_url(base_url), quote=True)
    return (
        "<!DOCTYPE connections>\n"
        '<qgsWFSConnections version="1.0">\n'
        f'  <wfs name="{html.escape(name, quote=True)}" url="{url}" version="OGC_API_FEATURES" '
        f'authcfg="{AUTHCFG}" username="" password="" pagesize="1000" pagingEnabled="true" '
        'maxnumfeatures="" ignoreAxisOrientation="false" invertAxisOrientation="false" '
        'preferCoordinatesForWfsT11="false" referer=""/>\n'
        "</qgsWFSConnections>\n"
    )


def _ogc_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/ogc"


#: British National Grid as QGIS writes it in a project (it reads the CRS back from these).
_BNG: Final = (
    "<spatialrefsys><wkt></wkt>"
    "<proj4>+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 "
    "+ellps=airy +units=m +no_defs</proj4><srsid>2437</srsid><srid>27700</srid>"
    "<authid>EPSG:27700</authid><description>OSGB36 / British National Grid</description>"
    "<projectionacronym>tmerc</projectionacronym><ellipsoidacronym>EPSG:7001</ellipsoidacronym>"
    "<geographicflag>false</geographicflag></spatialrefsys>"
)
_QGIS_GEOMETRY: Final = {"Point": "Point", "LineString": "Line", "Polygon": "Polygon"}


def project_qgs(
    base_url: str,
    collections: Sequence[CollectionSpec],
    styles_qml: dict[str, str],
    *,
    title: str = "geosafe",
    geometry: dict[str, str] | None = None,
) -> str:
    """A QGIS project with one OGC API - Features layer per collection (drawn in the order
    given, the first on top), each styled with ``styles_qml[collection id]`` (a QML
    document), in British National Grid.

    ``geometry`` overrides a collection's declared geometry type (a role may see
    corridors as H3 cells rather than lines)."""
    url = _ogc_url(base_url)
    tree: list[str] = []
    layers: list[str] = []
    for sp in collections:
        lid = "geosafe_" + re.sub(r"[^A-Za-z0-9]", "_", sp.id)
        source = html.escape(
            f"url='{url}' typename='{sp.id}' authcfg='{AUTHCFG}' restrictToRequestBBOX='0'",
            quote=True,
        )
        kind = _QGIS_GEOMETRY.get((geometry or {}).get(sp.id, sp.geometry), "Polygon")
        renderer = _renderer(styles_qml.get(sp.id, ""))
        tree.append(
            f'<layer-tree-layer id="{lid}" name="{html.escape(sp.title, quote=True)}" '
            f'source="{source}" providerKey="OAPIF" checked="Qt::Checked" expanded="1"/>'
        )
        layers.append(
            f'<maplayer type="vector" geometry="{kind}" autoRefreshEnabled="0">'
            f"<id>{lid}</id><datasource>{source}</datasource>"
            f"<layername>{html.escape(sp.title)}</layername>"
            "<srs><spatialrefsys><authid>EPSG:4326</authid></spatialrefsys></srs>"
            '<provider encoding="UTF-8">OAPIF</provider>'
            f"{renderer}</maplayer>"
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis projectname="{html.escape(title, quote=True)}" version="3.22.0">'
        f"<title>{html.escape(title)}</title>"
        f"<projectCrs>{_BNG}</projectCrs>"
        f"<layer-tree-group>{''.join(tree)}</layer-tree-group>"
        f"<projectlayers>{''.join(layers)}</projectlayers>"
        # without ProjectionsEnabled QGIS 3.22 ignores projectCrs
        '<properties><SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled>'
        "</SpatialRefSys></properties>"
        "</qgis>\n"
    )


def _renderer(qml: str) -> str:
    """The ``<renderer-v2>`` element of a QML document (a project layer carries it inline)."""
    start = qml.find("<renderer-v2")
    end = qml.rfind("</renderer-v2>")
    return qml[start : end + len("</renderer-v2>")] if start >= 0 and end > start else ""

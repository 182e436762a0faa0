"""Folium maps with local assets and an offline vector basemap.

No tile server is reachable from where geosafe runs, and no asset may come from a CDN: every
map loads Leaflet from ``asset_url`` (the service serves the ``leaflet`` npm package there)
and draws its basemap from the bundled data: OSM highways as lines, registered parks,
ward boundaries and schools. Maps use only Leaflet's own features (GeoJSON layers, circle
markers, tooltips, the layer control), so no jQuery, Bootstrap or Font Awesome is needed.
"""

from __future__ import annotations

import bz2
import functools
import html
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from .. import datasets
from ..area.manifest import attribution
from ..incident import CRS_BNG, CRS_WGS84

__all__ = [
    "Basemap",
    "basemap",
    "hotspot_map",
    "render",
    "school_map",
]

log = logging.getLogger(__name__)

#: Density classes of the legend, incidents per km² (lower bounds) and their colours.
DENSITY_CLASSES: Final = (
    (0.0, "#fee5d9"),
    (20.0, "#fcae91"),
    (50.0, "#fb6a4a"),
    (100.0, "#de2d26"),
    (200.0, "#a50f15"),
)
_STREET_WEIGHT: Final = {
    "primary": 2.2,
    "secondary": 1.8,
    "tertiary": 1.5,
    "trunk": 2.5,
    "residential": 1.0,
}


@dataclass(frozen=True)
class Basemap:
    """The offline basemap layers (WGS84 GeoJSON text, coordinates rounded to 5 decimals)."""

    streets: str
    parks: str
    wards: str
    schools: str
    bounds: tuple[float, float, float, float]
    #: The area's data attribution (:func:`geosafe.area.build.attribution`): full and short.
    attribution: tuple[str, ...] = ()
    attribution_short: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """One GeoJSON FeatureCollection per layer, the bounds and the attribution."""
        return {
            "streets": json.loads(self.streets),
            "parks": json.loads(self.parks),
            "wards": json.loads(self.wards),
            "schools": json.loads(self.schools),
            "bounds": list(self.bounds),
            "attribution": list(self.attribution),
            "attribution_short": list(self.attribution_short),
        }


def _osm_streets(path: Path) -> gpd.GeoDataFrame:
    """Highways of an OSM XML file (plain or ``.bz2``) as WGS84 lines with ``highway``, ``name``."""
    opener = bz2.open if path.suffix == ".bz2" else open
    nodes: dict[str, tuple[float, float]] = {}
    lines: list[Any] = []
    kinds: list[str] = []
    names: list[str] = []
    with opener(path, "rb") as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag == "node":
                nodes[elem.attrib["id"]] = (float(elem.attrib["lon"]), float(elem.attrib["lat"]))
                elem.clear()
            elif elem.tag == "way":
                tags = {t.attrib["k"]: t.attrib["v"] for t in elem.findall("tag")}
                kind = tags.get("highway")
                refs = [nd.attrib["ref"] for nd in elem.findall("nd")]
                coords = [nodes[r] for r in refs if r in nodes]
                if kind and len(coords) >= 2:
                    lines.append(shapely.LineString(coords))
                    kinds.append(kind)
                    names.append(tags.get("name", ""))
                elem.clear()
    return gpd.GeoDataFrame({"highway": kinds, "name": names}, geometry=lines, crs=CRS_WGS84)


def _fc(gdf: gpd.GeoDataFrame, columns: Sequence[str], *, simplify_deg: float = 0.0) -> str:
    geoms = np.asarray(gdf.geometry.to_crs(CRS_WGS84).array, dtype=object)
    if simplify_deg:
        geoms = shapely.simplify(geoms, simplify_deg, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, 5))
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    texts = shapely.to_geojson(geoms)
    records = gdf[list(columns)].astype(str).to_dict(orient="records")
    feats = [
        f'{{"type":"Feature","geometry":{t},"properties":{json.dumps(r, ensure_ascii=False)}}}'
        for t, r in zip(texts, records, strict=True)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


@functools.cache
def _basemap(data_dir: Path) -> Basemap:
    area = datasets.demo_area(data_dir)
    frame = area.buffer(500)
    streets = _osm_streets(datasets.osm_path(data_dir))
    streets = streets[streets["highway"] != "proposed"]
    parks = datasets.parks(data_dir)
    parks = parks[parks.intersects(frame)]
    wards = datasets.wards(data_dir)
    wards = wards[wards.intersects(frame)]
    schools = datasets.schools(data_dir, demo_only=True)
    b = gpd.GeoSeries([frame], crs=CRS_BNG).to_crs(CRS_WGS84).total_bounds
    return Basemap(
        streets=_fc(streets, ["highway"], simplify_deg=0.00004),
        parks=_fc(parks, ["name"], simplify_deg=0.00002),
        wards=_fc(wards, ["name", "gss_code"], simplify_deg=0.00005),
        schools=_fc(schools, ["urn", "name"]),
        bounds=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
        attribution=tuple(attribution(data_dir)),
        attribution_short=tuple(attribution(data_dir, short=True)),
    )


def basemap(data_dir: Path | str | None = None) -> Basemap:
    """The offline basemap of the demo area from the bundled data (built once per folder)."""
    return _basemap(Path(data_dir) if data_dir is not None else datasets.default_data_dir())


def _new_map(base: Basemap, asset_url: str) -> folium.Map:
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=14)
    m.default_js = [("leaflet", f"{asset_url}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{asset_url}/leaflet.css")]
    x0, y0, x1, y1 = base.bounds
    m.fit_bounds([[y0, x0], [y1, x1]])
    _Attribution(base).add_to(m)
    # the attribution lines ran under the scale bar (bottom left): keep them to the right
    style = (
        "<style>.leaflet-control-attribution{max-width:calc(100% - 140px);font-size:10px}</style>"
    )
    root: Any = m.get_root()
    root.header.add_child(Element(style))
    return m


class _Attribution(MacroElement):  # type: ignore[misc]
    """The area's data attribution in the map's attribution control (short text; the full
    lines as its tooltip)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.short }});
        {{ this._parent.get_name() }}.attributionControl.getContainer().title = {{ this.full }};
        {% endmacro %}"""
    )

    def __init__(self, base: Basemap) -> None:
        super().__init__()
        self._name = "Attribution"
        # JSON inside a <script>: no "</" may close it early
        self.short = json.dumps(html.escape(" · ".join(base.attribution_short)))
        self.short = self.short.replace("</", "<\\/")
        self.full = json.dumps("\n".join(base.attribution)).replace("</", "<\\/")


def _add_basemap(m: folium.Map, base: Basemap) -> None:
    folium.GeoJson(
        json.loads(base.wards),
        name="Basemap: ward boundaries (GLA 2018)",
        style_function=lambda f: {
            "color": "#9e9ac8",
            "weight": 1,
            "fill": False,
            "dashArray": "4 3",
        },
        tooltip=folium.GeoJsonTooltip(["name"], labels=False),
    ).add_to(m)
    folium.GeoJson(
        json.loads(base.parks),
        name="Basemap: parks (Historic England)",
        style_function=lambda f: {
            "color": "#74c476",
            "weight": 0.5,
            "fillColor": "#c7e9c0",
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(["name"], labels=False),
    ).add_to(m)
    folium.GeoJson(
        json.loads(base.streets),
        name="Basemap: streets (OpenStreetMap)",
        style_function=lambda f: {
            "color": "#bdbdbd",
            "weight": _STREET_WEIGHT.get(f["properties"]["highway"], 0.6),
            "opacity": 0.9,
        },
    ).add_to(m)
    schools = folium.FeatureGroup(name="Schools")
    for feat in json.loads(base.schools)["features"]:
        lon, lat = feat["geometry"]["coordinates"]
        folium.CircleMarker(
            [lat, lon],
            radius=5,
            color="#08519c",
            fill=True,
            fill_opacity=0.9,
            tooltip=f"{feat['properties']['name']} (URN {feat['properties']['urn']})",
        ).add_to(schools)
    schools.add_to(m)


def _density_colour(value: float | None) -> str:
    colour = DENSITY_CLASSES[0][1]
    for lo, c in DENSITY_CLASSES:
        if value is not None and value >= lo:
            colour = c
    return colour


def _legend(m: folium.Map, title: str, rows: Sequence[tuple[str, str]], source_note: str) -> None:
    items = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c};'
        f'border:1px solid #555;margin-right:6px;vertical-align:middle"></span>{html.escape(label)}</div>'
        for c, label in rows
    )
    box = (
        # top left under the zoom buttons: at the bottom the attribution lines covered it
        '<div class="geosafe-legend" style="position:fixed;top:84px;left:12px;z-index:1000;'
        "background:rgba(255,255,255,0.92);padding:8px 10px;border:1px solid #888;border-radius:4px;"
        f'font:12px/1.4 sans-serif;max-width:280px"><b>{html.escape(title)}</b>{items}'
        f'<div style="margin-top:6px;color:#a50f15"><b>{html.escape(source_note)}</b></div></div>'
    )
    root: Any = m.get_root()
    root.html.add_child(Element(box))


def _source_note(synthetic: bool) -> str:
    if synthetic:
        return (
            "Data: SYNTHETIC DIR/ASIF/CRIS/FAP records (demo) with real police.uk burglary; "
            "streets © OpenStreetMap contributors"
        )
    return "Data: police.uk (real); streets © OpenStreetMap contributors"


def _density_rows() -> list[tuple[str, str]]:
    rows = []
    for i, (lo, c) in enumerate(DENSITY_CLASSES):
        hi = DENSITY_CLASSES[i + 1][0] if i + 1 < len(DENSITY_CLASSES) else None
        rows.append(
            (c, f"{lo:g}-{hi:g} incidents per km²" if hi else f"≥ {lo:g} incidents per km²")
        )
    return rows


def _density_of(props: dict[str, Any]) -> float | None:
    for key in ("density_per_km2", "density", "mean_density_per_km2", "max_density_per_km2"):
        if props.get(key) is not None:
            return float(props[key])
    return None


def _add_collection(m: folium.Map, fc: dict[str, Any], name: str, *, kind: str) -> None:
    if not fc.get("features"):
        return
    keys = [k for k in fc["features"][0].get("properties", {}) if not k.startswith("_")][:6]
    if kind == "density":
        style = lambda f: {  # noqa: E731
            "color": "#67000d",
            "weight": 1,
            "fillColor": _density_colour(_density_of(f["properties"])),
            "fillOpacity": 0.6,
        }
    elif kind == "corridor":
        style = lambda f: {"color": "#3f007d", "weight": 4, "opacity": 0.8}  # noqa: E731
    else:
        style = lambda f: {"color": "#e6550d", "weight": 2, "fillOpacity": 0.3}  # noqa: E731
    folium.GeoJson(
        fc,
        name=name,
        style_function=style,
        tooltip=folium.GeoJsonTooltip(keys) if keys else None,
    ).add_to(m)


def _fit(m: folium.Map, *collections: dict[str, Any] | None) -> None:
    """Zoom onto what the map is about (the features of ``collections``), when there is any;
    the whole area otherwise (:func:`_new_map`)."""
    geoms = [
        shapely.geometry.shape(f["geometry"])
        for fc in collections
        if fc
        for f in fc.get("features", [])
        if f.get("geometry")
    ]
    if geoms:
        x0, y0, x1, y1 = shapely.union_all(geoms).bounds
        # 60 px top and bottom: the attribution lines cover the foot of the map
        m.fit_bounds([[y0, x0], [y1, x1]], padding=(30, 60), max_zoom=15)


def _intervention_tip(f: dict[str, Any]) -> str:
    """A tooltip line for an intervention: the analyst's log entry (``what``, dates, last
    evaluation) or the published view (cells, months, the banded answer or the reason)."""
    p = f.get("properties", {})
    if "what" in p:
        ev = p.get("evaluation")
        when = f"{p.get('started_on')} to {p.get('ended_on') or 'running'}"
        said = ev["reading"] if ev else "not evaluated yet (geosafe intervention evaluate)"
        return f"Intervention {p.get('id')}: {p['what']} ({p.get('where_kind')}: {p.get('where_ref')}); {when}; {said}"
    iv = p.get("intervention", {})
    said = p.get("reading") if p.get("evaluated") else f"change not shown: {p.get('reason')}"
    return (
        f"Intervention {iv.get('id')} ({len(p.get('cells', []))} published cells); "
        f"{iv.get('started')} to {iv.get('ended') or 'running'}; {said}"
    )


def _add_interventions(m: folium.Map, fc: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Interventions as dashed green outlines with their tooltip; the legend row (none when
    there are none)."""
    if not fc or not fc.get("features"):
        return []
    group = folium.FeatureGroup(name="Interventions")
    for f in fc["features"]:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": [{**f, "properties": {}}]},
            style_function=lambda _f: {
                "color": "#006d2c",
                "weight": 2,
                "dashArray": "6 4",
                "fill": False,
            },
            tooltip=html.escape(_intervention_tip(f)),
        ).add_to(group)
    group.add_to(m)
    return [("#006d2c", f"interventions ({len(fc['features'])}), dashed outline")]


def hotspot_map(
    hotspots: dict[str, Any],
    *,
    base: Basemap,
    asset_url: str,
    synthetic: bool,
    title: str = "Kernel density hotspots",
    clusters: dict[str, Any] | None = None,
    interventions: dict[str, Any] | None = None,
) -> folium.Map:
    """A hotspot map: the offline basemap, hotspot polygons (``hotspots``, a GeoJSON
    FeatureCollection in WGS84, coloured by incidents per km²), optionally DBSCAN clusters
    and interventions (the analyst's log or its published view, WGS84), with a legend and a
    layer control."""
    m = _new_map(base, asset_url)
    _add_basemap(m, base)
    _add_collection(m, hotspots, title, kind="density")
    if clusters is not None:
        _add_collection(m, clusters, "DBSCAN clusters (convex hulls)", kind="other")
    rows = [*_density_rows(), *_add_interventions(m, interventions)]
    _legend(m, f"{title}: density", rows, _source_note(synthetic))
    _fit(m, hotspots, clusters, interventions)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def school_map(
    school: dict[str, Any],
    corridors: dict[str, Any],
    hotspots: dict[str, Any],
    *,
    base: Basemap,
    asset_url: str,
    synthetic: bool,
    interventions: dict[str, Any] | None = None,
) -> folium.Map:
    """A school's map: its walking corridors (exposure along them), the hotspots they cross,
    the school itself and optionally interventions, over the offline basemap."""
    m = _new_map(base, asset_url)
    _add_basemap(m, base)
    _add_collection(m, hotspots, "Hotspots (incidents per km²)", kind="density")
    _add_collection(m, corridors, f"Journey corridors to {school.get('name', '')}", kind="corridor")
    lon, lat = school["lon"], school["lat"]
    folium.CircleMarker(
        [lat, lon],
        radius=9,
        color="#000",
        weight=3,
        fill=True,
        fill_color="#08519c",
        tooltip=f"{school.get('name', '')} (URN {school.get('urn', '')})",
    ).add_to(m)
    cells = any(
        str((f.get("geometry") or {}).get("type", "")).endswith("Polygon")
        for f in corridors.get("features", [])
    )
    rows = [
        *_density_rows(),
        # a school sees H3 cells, not streets (the page's legend says the same)
        ("#807dba", "areas on pupils' walks (10 or more pupils)")
        if cells
        else ("#3f007d", "walking corridor (line width not to scale)"),
        *_add_interventions(m, interventions),
    ]
    _legend(
        m, f"{school.get('name', 'School')}: journeys and hotspots", rows, _source_note(synthetic)
    )
    here = {"type": "Point", "coordinates": [lon, lat]}
    _fit(m, corridors, {"features": [{"geometry": here}]})
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def render(m: folium.Map) -> str:
    """The map as a standalone HTML page."""
    return m.get_root().render()

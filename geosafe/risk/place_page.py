"""The place report as a printable page with a map (``geosafe place-report --out``,
``GET /places/report?...&f=html``).

The map is drawn offline like the school report's (:func:`geosafe.risk.svgmap.svg_map`: the
bundled OSM streets, parks and names): the place in red; for analysts the journeys crossing
it (walks blue, bus purple); for school and neighbourhood roles only the published H3 cells
with their published counts (no route line, which would trace a home); safe places in green;
the schools whose pupils pass it as black dots.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from ..area.build import attribution_html
from ..incident import CRS_BNG
from .place_crossings import SchoolRun, cell_polygon
from .report_page import (
    intervention_overlay,
    interventions_near,
    interventions_section,
    page_css,
    safe_place_overlay,
)
from .svgmap import Overlay, svg_map

__all__ = ["place_map", "place_page"]

_TO_BNG = Transformer.from_crs("OGC:CRS84", CRS_BNG, always_xy=True)


def _bounds(
    geoms: Sequence[BaseGeometry], min_m: float = 800.0
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = shapely.union_all([g for g in geoms if g is not None]).bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0, min_m) / 2 * 1.12
    return cx - half, cy - half, cx + half, cy + half


def place_map(
    doc: dict[str, Any],
    area: BaseGeometry,
    runs: Sequence[SchoolRun],
    *,
    network: Any,
    data_dir: Any = None,
    width: int = 720,
    interventions: Sequence[tuple[dict[str, Any], BaseGeometry]] = (),
) -> str:
    """The SVG map of a place report ``doc`` (see the module notes); ``interventions`` from
    :func:`geosafe.risk.report_page.interventions_near`."""
    overlays: list[Overlay] = []
    extent: list[BaseGeometry] = [area]
    if doc["role"] == "analyst":
        for mode, colour in (("walk", "#1565c0"), ("bus", "#7b1fa2")):
            lines = [
                j.geometry
                for r in runs
                if r.mode == mode
                for j in r.journeys
                if j.error is None and j.geometry is not None and j.geometry.intersects(area)
            ]
            if lines:
                overlays.append(
                    Overlay(
                        lines,
                        f'fill="none" stroke="{colour}" stroke-opacity="0.5" stroke-width="1.5"',
                    )
                )
    else:
        best: dict[str, int | None] = {}
        for row in doc["published"]["cell_counts"]:
            v = row["pupils"]
            old = best.get(row["cell"])
            best[row["cell"]] = v if old is None else max(old, v) if v is not None else old
        cells = [cell_polygon(c) for c in doc["published"]["cells"]]
        labels = ["<10" if best.get(c) is None else str(best[c]) for c in doc["published"]["cells"]]
        if cells:
            overlays.append(
                Overlay(
                    cells,
                    'fill="#ff9800" fill-opacity="0.25" stroke="#e65100" stroke-width="1"',
                    labels=labels,
                )
            )
            extent += cells
    overlays.append(
        Overlay([area], 'fill="#e53935" fill-opacity="0.25" stroke="#b71c1c" stroke-width="2"')
    )
    safe = [
        shapely.Point(*_TO_BNG.transform(p["lon"], p["lat"])) for p in doc.get("safe_places", [])
    ]
    if safe:
        overlays.append(safe_place_overlay(safe))
    if interventions:
        overlays.append(intervention_overlay(list(interventions)))
    from .. import datasets

    schools = datasets.schools(data_dir, demo_only=True)
    urns = {str(s.get("school_urn")) for s in doc.get("schools", [])}
    dots = [
        g.buffer(40)
        for u, g in zip(schools["urn"].astype(str), schools.geometry, strict=True)
        if u in urns
    ]
    if dots:
        overlays.append(Overlay(dots, 'fill="#000" stroke="#fff" stroke-width="2"'))
    return svg_map(
        _bounds(extent),
        overlays,
        network=network,
        data_dir=data_dir,
        width=width,
        n_street_labels=14,
        title="map of the place and who passes it",
    )


def _rows(doc: dict[str, Any]) -> str:
    if doc["role"] == "analyst":
        head = ["School", "Journey", "Routed", "Passes", "Pupils", "First", "Last"]
        body = [
            [
                s["school_name"],
                b["window"],
                b["routing"],
                b["mode"],
                b["pupils"],
                b["first"] or "-",
                b["last"] or "-",
            ]
            for s in doc["schools"]
            for b in s["by"]
        ]
    else:
        head = ["H3 cell", "Who", "Journey", "Pupils"]
        body = [
            [
                r["cell"],
                r["school_name"],
                r["window"],
                "fewer than 10" if r["pupils"] is None else r["pupils"],
            ]
            for r in doc["published"]["cell_counts"]
        ]
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    tr = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in body
    )
    if not body:
        return "<p>No pupils' journeys pass this place in these windows.</p>"
    return f"<table><thead><tr>{th}</tr></thead><tbody>{tr}</tbody></table>"


def place_page(
    doc: dict[str, Any],
    area: BaseGeometry,
    runs: Sequence[SchoolRun],
    *,
    data_dir: Any = None,
    svc: Any = None,
    network: Any = None,
    interventions: dict[str, Any] | None = None,
) -> str:
    """The printable HTML page of a place report (map, tables, how to read them).
    ``interventions``: what the report's role may see of the log
    (:func:`geosafe.protect.public_evaluation.for_viewer`); those at the place are drawn and
    listed."""
    if network is None:
        from ..publish.corridors import walk_network

        network = walk_network(svc)
    place = doc["place"]
    title = (
        place.get("name")
        or place.get("hotspot_id")
        or (
            f"route {place['route']} direction {place['direction']}"
            if place["kind"] == "bus_route"
            else f"{place.get('radius_m', 0):g} m around {place.get('lon')}, {place.get('lat')}"
        )
    )
    safe = doc.get("safe_places", [])
    safe_html = (
        "<ul>"
        + "".join(
            f"<li>{html.escape(p['name'])} ({html.escape(p['kind'])}), {p['distance_m']:g} m; "
            f"hours {html.escape(p['opening_hours'] or 'unknown')}</li>"
            for p in safe
        )
        + "</ul>"
        if safe
        else "<p>No safe place lies within 100 m (or none has been imported).</p>"
    )
    note = doc.get("published", {}).get("note", "Analyst view: exact counts; do not share.")
    ivs = interventions_near(interventions, area, role=doc["role"])
    iv_legend = (
        "; dashed green outlines (I1, I2...): interventions"
        + ("" if doc["role"] == "analyst" else ", as the published H3 cells they cover")
        if ivs
        else ""
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Who passes {html.escape(str(title))}</title><style>{page_css()}</style></head><body>
<h1>Who passes {html.escape(str(title))}</h1>
<p class="muted">{html.escape(doc["window"])}. View for role <b>{html.escape(doc["role"])}</b>.
Pupils passing: at least {html.escape(str(doc["pupils"]))}.</p>
{place_map(doc, area, runs, network=network, data_dir=data_dir, interventions=ivs)}
<p class="muted">Red: the place; {"blue: walks, purple: bus journeys crossing it" if doc["role"] == "analyst" else "orange: the H3 cells it touches, with their published pupil counts"};
green: safe places{iv_legend}; black dots: the schools. Background: OpenStreetMap
contributors (ODbL), drawn offline.</p>
<h2>Pupils passing</h2>
{_rows(doc)}
<h2>Safe places at this place</h2>
{safe_html}
{interventions_section(ivs, role=doc["role"], where="this place")}
<p class="muted">{html.escape(note)}</p>
{attribution_html(data_dir)}
</body></html>
"""

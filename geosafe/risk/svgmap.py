"""A printable SVG map for reports, drawn offline from the bundled data: streets of the OSM
extract (main roads wider), registered parks, street and station names, then the report's
own layers (routes, numbered places, the school) and a scale bar. No tiles, no network.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .. import datasets
from ..geocode.places import Gazetteer, read_osm_streets
from ..network.walk import WalkNetwork

__all__ = ["Overlay", "svg_map"]

_MAJOR: Final = frozenset(
    {"trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link", "tertiary"}
)
_PATHS: Final = frozenset({"footway", "path", "cycleway", "steps", "pedestrian", "track"})


@dataclass(frozen=True)
class Overlay:
    """A report layer: geometries (EPSG:27700) drawn with one SVG style.

    ``labels`` (same length as ``geoms``, optional) are drawn in a circle at each geometry's
    representative point, filled ``label_fill``; ``widths`` (optional) override
    ``stroke-width`` per geometry.
    """

    geoms: Sequence[BaseGeometry | None]
    style: str
    labels: Sequence[str] | None = None
    widths: Sequence[float] | None = None
    label_fill: str = "#b71c1c"


class _Frame:
    def __init__(self, bounds: tuple[float, float, float, float], width: int) -> None:
        x0, y0, x1, y1 = bounds
        self.x0, self.y1 = x0, y1
        self.scale = width / max(x1 - x0, 1.0)
        self.width = width
        self.height = round((y1 - y0) * self.scale)
        self.box = shapely.box(*bounds)

    def pts(self, coords: Any) -> str:
        c = np.asarray(coords)[:, :2]
        x = (c[:, 0] - self.x0) * self.scale
        y = (self.y1 - c[:, 1]) * self.scale
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x0) * self.scale, (self.y1 - y) * self.scale

    def path(self, geom: BaseGeometry | None) -> str:
        if geom is None or geom.is_empty:
            return ""
        if hasattr(geom, "geoms"):
            return "".join(self.path(g) for g in geom.geoms)
        if geom.geom_type == "Polygon":
            rings = [geom.exterior, *geom.interiors]
            return "".join("M" + self.pts(r.coords) + "Z" for r in rings)
        if geom.geom_type == "LineString":
            return "M" + self.pts(geom.coords)
        return ""


def _text(x: float, y: float, text: str, *, size: float, fill: str, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" font-weight="{weight}" '
        'text-anchor="middle" paint-order="stroke" stroke="#fff" stroke-width="3" '
        f'stroke-linejoin="round">{html.escape(text)}</text>'
    )


def _basemap(frame: _Frame, net: WalkNetwork, data_dir: Any) -> list[str]:
    out: list[str] = []
    for geom in datasets.parks(data_dir).geometry:
        if geom.intersects(frame.box):
            out.append(f'<path d="{frame.path(geom.intersection(frame.box))}" fill="#dcedc8"/>')
    geoms = net.edge_geometries()
    hit = shapely.STRtree(geoms).query(frame.box)
    kinds = net.edge_highway[hit]
    for sel, style in (
        (
            np.isin(kinds, list(_PATHS)),
            'stroke="#cfcfcf" stroke-width="0.6" stroke-dasharray="2 2"',
        ),
        (~np.isin(kinds, list(_PATHS | _MAJOR)), 'stroke="#c8c8c8" stroke-width="1.2"'),
        (np.isin(kinds, list(_MAJOR)), 'stroke="#b0b0b0" stroke-width="2.6"'),
    ):
        d = "".join(frame.path(g) for g in geoms[hit[sel]])
        if d:
            out.append(f'<path d="{d}" fill="none" {style} stroke-linecap="round"/>')
    return out


def _labels(frame: _Frame, data_dir: Any, *, n_streets: int) -> list[str]:
    """Street names (the longest inside the frame first) and station / park names."""
    out: list[str] = []
    pieces = []
    for name, lines in read_osm_streets(datasets.osm_path(data_dir)).items():
        inside = shapely.intersection(shapely.union_all(lines), frame.box)
        if not inside.is_empty and inside.length > 0:
            pieces.append((inside.length, name, inside))
    taken: list[BaseGeometry] = []
    for _, name, geom in sorted(pieces, key=lambda p: (-p[0], p[1]))[:n_streets]:
        parts = list(getattr(geom, "geoms", [geom]))
        longest = max(parts, key=lambda g: g.length)
        pt = longest.interpolate(0.5, normalized=True)
        spot = pt.buffer(120)
        if any(spot.intersects(t) for t in taken):
            continue
        taken.append(spot)
        x, y = frame.xy(pt.x, pt.y)
        out.append(_text(x, y, name, size=9, fill="#555", weight="normal"))
    for p in Gazetteer.load(data_dir).places:
        if p.kind in ("station", "park") and frame.box.contains(p.point):
            spot = p.point.buffer(150)
            if any(spot.intersects(t) for t in taken):
                continue
            taken.append(spot)
            x, y = frame.xy(p.point.x, p.point.y)
            colour = "#2e7d32" if p.kind == "park" else "#1a237e"
            out.append(_text(x, y, p.name, size=10, fill=colour, weight="bold"))
    return out


def _scale_bar(frame: _Frame) -> str:
    metres = frame.width / frame.scale
    bar = next((b for b in (2000, 1000, 500, 200, 100) if b <= metres / 4), 100)
    px = bar * frame.scale
    y = frame.height - 14
    label = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar} m"
    return (
        f'<g><rect x="8" y="{y - 12}" width="{px + 16:.0f}" height="22" fill="#fff" '
        f'fill-opacity="0.8"/><path d="M16 {y}h{px:.1f}" stroke="#000" stroke-width="3"/>'
        f'<text x="{16 + px / 2:.1f}" y="{y - 3}" font-size="10" text-anchor="middle">'
        f"{label}</text></g>"
    )


def svg_map(
    bounds: tuple[float, float, float, float],
    overlays: Sequence[Overlay],
    *,
    network: WalkNetwork,
    data_dir: Any = None,
    width: int = 720,
    n_street_labels: int = 18,
    title: str = "map",
) -> str:
    """An SVG map of ``bounds`` (EPSG:27700) with the offline basemap under ``overlays``."""
    frame = _Frame(bounds, width)
    body = _basemap(frame, network, data_dir)
    for layer in overlays:
        widths: Sequence[float | None] = layer.widths or [None] * len(layer.geoms)
        for g, w in zip(layer.geoms, widths, strict=True):
            d = frame.path(g)
            if d:
                extra = f' stroke-width="{w:.1f}"' if w is not None else ""
                body.append(f'<path d="{d}" {layer.style}{extra}/>')
    body += _labels(frame, data_dir, n_streets=n_street_labels)
    for layer in overlays:
        if not layer.labels:
            continue
        fill = html.escape(layer.label_fill)
        for g, text in zip(layer.geoms, layer.labels, strict=True):
            if g is None or g.is_empty:
                continue
            p = g.representative_point()
            x, y = frame.xy(p.x, p.y)
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{fill}" stroke="#fff" '
                f'stroke-width="1.5"/><text x="{x:.1f}" y="{y + 3.5:.1f}" font-size="10" '
                f'fill="#fff" text-anchor="middle" font-weight="bold">{html.escape(text)}</text>'
            )
    body.append(_scale_bar(frame))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{frame.width}" height="{frame.height}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="{html.escape(title)}" font-family="sans-serif">'
        f'<rect width="100%" height="100%" fill="#f7f5f0"/>{"".join(body)}'
        f'<rect width="100%" height="100%" fill="none" stroke="#999"/></svg>'
    )

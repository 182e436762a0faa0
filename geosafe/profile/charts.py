"""Charts and the map of the problem profile, drawn offline as inline SVG and HTML (no
script, no web fonts, no network): an hour-by-weekday heat table, a monthly trend, overlap
bars and the hotspot map."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

__all__ = ["heat_table", "hotspot_map", "overlap_bars", "trend_chart"]

WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PALETTE: Final = ("#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#2e4057")


def _shown(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "<10"
    return str(int(v)) if isinstance(v, int | float | np.integer | np.floating) else str(v)


def heat_table(counts: pd.DataFrame) -> str:
    """An hour (rows 0-23) by weekday (columns) table shaded by count. ``counts`` has the
    weekday names as columns and hours as index; ``None`` cells are shown as ``<10``."""
    vals = counts.to_numpy(dtype=float)
    top = np.nanmax(vals) if np.isfinite(vals).any() else 0.0
    head = "".join(f"<th>{d}</th>" for d in counts.columns)
    rows = []
    for hour, row in zip(
        counts.index.to_numpy(dtype=int), counts.itertuples(index=False), strict=True
    ):
        cells = []
        for v in row:
            f = float(v) if v is not None and not pd.isna(v) else np.nan
            share = 0.0 if not np.isfinite(f) or top <= 0 else f / top
            bg = f"rgba(209,73,91,{0.08 + 0.85 * share:.2f})" if np.isfinite(f) else "#eee"
            cells.append(f'<td style="background:{bg}">{_shown(None if np.isnan(f) else f)}</td>')
        rows.append(f"<tr><th>{int(hour):02d}:00</th>{''.join(cells)}</tr>")
    return (
        f'<table class="heat"><thead><tr><th>hour</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def trend_chart(monthly: pd.DataFrame, *, width: int = 640, height: int = 220) -> str:
    """Lines of records per month, one per column of ``monthly`` (index: ``YYYY-MM``)."""
    if monthly.empty:
        return "<p>No records in the period.</p>"
    left, right, top, bottom = 44, 130, 12, 36
    w, h = width - left - right, height - top - bottom
    vals = monthly.to_numpy(dtype=float)
    ymax = max(1.0, float(np.nanmax(vals)) if np.isfinite(vals).any() else 1.0)
    n = len(monthly.index)
    xs = [left + (w * i / max(1, n - 1)) for i in range(n)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="records per month">',
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#444"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#444"/>',
    ]
    for frac in (0, 0.5, 1):
        y = top + h - h * frac
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{ymax * frac:.0f}</text>"
        )
    step = max(1, n // 8)
    for i, label in enumerate(monthly.index):
        if i % step == 0 or i == n - 1:
            parts.append(
                f'<text x="{xs[i]:.1f}" y="{top + h + 16}" font-size="10" '
                f'text-anchor="middle">{html.escape(str(label))}</text>'
            )
    for k, col in enumerate(monthly.columns):
        colour = _PALETTE[k % len(_PALETTE)]
        pts = [
            (xs[i], top + h - h * float(v) / ymax)
            for i, v in enumerate(monthly[col])
            if v is not None and not pd.isna(v)
        ]
        if pts:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
            for x, y in pts:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        ly = top + 14 * k + 6
        parts.append(
            f'<rect x="{left + w + 12}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{left + w + 26}" y="{ly + 1}" font-size="11">{html.escape(str(col))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def overlap_bars(rows: Sequence[tuple[Sequence[str], int | None]], *, width: int = 640) -> str:
    """UpSet-style bars: people in exactly each combination of sources, with the
    combination drawn as filled dots under the source names."""
    if not rows:
        return "<p>No people named in the period.</p>"
    sources = sorted({s for combo, _ in rows for s in combo})
    label_w, bar_left = 150, 150 + 16 * len(sources) + 10
    row_h = 20
    height = 30 + row_h * len(rows)
    vals = [v for _, v in rows if v is not None]
    vmax = max(vals) if vals else 1
    w = width - bar_left - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="people by combination of sources">'
    ]
    for j, s in enumerate(sources):
        x = label_w + 16 * j + 8
        parts.append(
            f'<text x="{x}" y="22" font-size="9" transform="rotate(-35 {x} 22)">{html.escape(s)}</text>'
        )
    for i, (combo, v) in enumerate(rows):
        y = 30 + row_h * i
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="10">{html.escape(" & ".join(combo))}</text>'
        )
        for j, s in enumerate(sources):
            fill = "#2e4057" if s in combo else "#ddd"
            parts.append(f'<circle cx="{label_w + 16 * j + 8}" cy="{y + 9}" r="5" fill="{fill}"/>')
        if v is None:
            parts.append(f'<text x="{bar_left}" y="{y + 13}" font-size="10">fewer than 10</text>')
            continue
        bw = w * v / vmax if vmax else 0
        parts.append(
            f'<rect x="{bar_left}" y="{y + 2}" width="{bw:.1f}" height="{row_h - 6}" fill="#1b6ca8"/>'
        )
        parts.append(f'<text x="{bar_left + bw + 4:.1f}" y="{y + 13}" font-size="10">{v}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hotspot_map(
    *,
    context: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    extent: BaseGeometry | None = None,
    width: int = 640,
    max_height: int = 560,
) -> str:
    """A map in EPSG:27700: area outlines (``context``), hotspot cells shaded by
    ``incidents`` and labelled by rank, and (analysts) incident points and named places."""
    layers = [g for g in (cells, points, places) if g is not None and not g.empty]
    if extent is None:
        bounds = (
            np.array([g.total_bounds for g in layers])
            if layers
            else np.array([context.total_bounds])
        )
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    else:
        x0, y0, x1, y1 = extent.bounds
    pad = max(300.0, 0.08 * max(x1 - x0, y1 - y0))
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    scale = min(width / (x1 - x0), max_height / (y1 - y0))
    width = int((x1 - x0) * scale) + 1
    height = int((y1 - y0) * scale) + 1

    def xy(x: float, y: float) -> str:
        return f"{(x - x0) * scale:.1f},{(y1 - y) * scale:.1f}"

    def path(geom: BaseGeometry) -> str:
        polys = getattr(geom, "geoms", [geom])
        out = []
        for p in polys:
            for ring in (p.exterior, *p.interiors):
                out.append("M" + " L".join(xy(x, y) for x, y in ring.coords) + "Z")
        return " ".join(out)

    from shapely.geometry import box

    frame = box(x0, y0, x1, y1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="hotspot map">'
        f'<rect width="{width}" height="{height}" fill="#f7f7f2"/>'
    ]
    for geom, name in zip(context.geometry, context.get("name", [""] * len(context)), strict=False):
        clipped = geom.intersection(frame)
        if clipped.is_empty or clipped.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        parts.append(f'<path d="{path(clipped)}" fill="none" stroke="#999" stroke-width="0.8"/>')
        c = clipped.representative_point()
        parts.append(
            f'<text x="{(c.x - x0) * scale:.1f}" y="{(y1 - c.y) * scale:.1f}" font-size="9" '
            f'fill="#777" text-anchor="middle">{html.escape(str(name))}</text>'
        )
    if not cells.empty:
        top = float(np.nanmax(cells["incidents"].to_numpy(dtype=float))) or 1.0
        for rank, (geom, n) in enumerate(zip(cells.geometry, cells["incidents"], strict=True), 1):
            share = 0.0 if pd.isna(n) else float(n) / top
            parts.append(
                f'<path d="{path(geom)}" fill="rgba(209,73,91,{0.25 + 0.6 * share:.2f})" '
                f'stroke="#a02035" stroke-width="0.8"/>'
            )
            c = geom.centroid
            parts.append(
                f'<text x="{(c.x - x0) * scale:.1f}" y="{(y1 - c.y) * scale + 3:.1f}" '
                f'font-size="9" font-weight="bold" text-anchor="middle">{rank}</text>'
            )
    if points is not None and not points.empty:
        for g in points.geometry:
            p = g.representative_point() if g.geom_type != "Point" else g
            parts.append(
                f'<circle cx="{(p.x - x0) * scale:.1f}" cy="{(y1 - p.y) * scale:.1f}" r="1.6" '
                'fill="#1b6ca8" fill-opacity="0.6"/>'
            )
    if places is not None and not places.empty:
        for g in places.geometry:
            px, py = (g.x - x0) * scale, (y1 - g.y) * scale
            parts.append(
                f'<path d="M{px:.1f},{py - 5:.1f} L{px + 4.5:.1f},{py + 3:.1f} '
                f'L{px - 4.5:.1f},{py + 3:.1f}Z" fill="#edae49" stroke="#6b4e00" stroke-width="0.6"/>'
            )
    parts.append("</svg>")
    return "".join(parts)

"""The school report as files: a printable HTML page (one A4-friendly page of plain language,
a map drawn offline, the ranked places, corridors and the need matrix) and its tables as
GeoJSON (WGS84, RFC 7946) and CSV.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..area.build import attribution_html
from ..network.walk import WalkNetwork
from ..publish.exports import neutralise_formulas
from .report import SchoolReport
from .svgmap import Overlay, svg_map

__all__ = ["page_css", "report_map", "write_school_report"]

_CSS = """
body{font-family:sans-serif;max-width:60rem;margin:1rem auto;color:#222;line-height:1.35}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.2rem 0 .3rem;
break-after:avoid}table{border-collapse:collapse;margin:.4rem 0;width:100%;font-size:.9rem}
td,th{border:1px solid #bbb;padding:.2rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}tr{break-inside:avoid}.facts{display:flex;gap:1rem;flex-wrap:wrap}
.facts div{border:1px solid #ccc;border-radius:4px;padding:.3rem .6rem}
.muted{color:#555;font-size:.9rem}svg{max-width:100%;height:auto}
@page{size:A4;margin:12mm}@media print{body{margin:0;max-width:none;font-size:10pt}
a{color:inherit;text-decoration:none}}
"""


def page_css() -> str:
    """The printable pages' style sheet (A4, tables kept whole across pages)."""
    return _CSS + ".statement{border:2px solid #333;padding:.4rem .6rem;background:#fff8e1}"


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _to_wgs(gdf: gpd.GeoDataFrame | None) -> str:
    """RFC 7946 GeoJSON: WGS84 lon/lat to ~6 decimals, no ``crs`` member, integer counts."""
    feats = []
    if gdf is not None and not gdf.empty:
        wgs = gdf.to_crs(4326)
        geoms = shapely.set_precision(wgs.geometry.to_numpy(), 1e-6)
        props = wgs.drop(columns=wgs.geometry.name)
        for i, (g, (_, row)) in enumerate(zip(geoms, props.iterrows(), strict=True)):
            p = {k: _plain(v) for k, v in row.items()}
            for key in ("pupils", "incidents", "rank", "incidents_recent", "incidents_previous"):
                if isinstance(p.get(key), float):
                    p[key] = int(p[key])
            feats.append(
                {
                    "type": "Feature",
                    "id": i,
                    "geometry": shapely.geometry.mapping(g) if g is not None else None,
                    "properties": p,
                }
            )
    return json.dumps({"type": "FeatureCollection", "features": feats})


def _count(v: Any) -> str:
    return "fewer than 10" if v is None or (isinstance(v, float) and v != v) else f"{int(v):,}"


def _cell(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return html.escape("-" if v is None or (isinstance(v, float) and v != v) else str(v))


def _table(rows: list[list[Any]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _bounds(
    report: SchoolReport, school_xy: tuple[float, float]
) -> tuple[float, float, float, float]:
    """The school, the ten top places and the busiest corridors, padded."""
    geoms: list[Any] = [shapely.Point(school_xy).buffer(400)]
    if report.places is not None and not report.places.empty:
        geoms += list(report.places.geometry.head(10))
    if not report.corridors.empty:
        top = report.corridors.sort_values("pupils", ascending=False, na_position="last")
        geoms += [g for g in top.geometry.head(15) if g is not None]
    x0, y0, x1, y1 = shapely.union_all([g for g in geoms if g is not None]).bounds
    pad = 0.06 * max(x1 - x0, y1 - y0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def report_map(
    report: SchoolReport,
    school_xy: tuple[float, float],
    *,
    network: WalkNetwork,
    data_dir: Any = None,
    width: int = 720,
) -> str:
    """The report's map: offline basemap, corridors (width by pupils), the ranked places
    numbered as in the table, and the school."""
    overlays = []
    c = report.corridors
    if not c.empty:
        pupils = c["pupils"].fillna(0).to_numpy(dtype=float)
        top = max(float(pupils.max()), 1.0)
        for kind, colour in (("street", "#1565c0"), ("bus", "#7b1fa2")):
            sel = (c["kind"] == kind).to_numpy()
            overlays.append(
                Overlay(
                    list(c.geometry[sel]),
                    f'fill="none" stroke="{colour}" stroke-opacity="0.75" stroke-linecap="round"',
                    widths=list(1.0 + 6.0 * pupils[sel] / top),
                )
            )
    if report.places is not None and not report.places.empty:
        p = report.places
        overlays.append(
            Overlay(
                list(p.geometry),
                'fill="#e53935" fill-opacity="0.35" stroke="#b71c1c" stroke-width="1"',
                labels=[str(r) for r in p["rank"]],
            )
        )
    if report.safe_places is not None and not report.safe_places.empty:
        overlays.append(safe_place_overlay(report.safe_places.geometry))
    overlays.append(
        Overlay(
            [shapely.Point(school_xy).buffer(45)],
            'fill="#000" stroke="#fff" stroke-width="2"',
        )
    )
    return svg_map(
        _bounds(report, school_xy),
        overlays,
        network=network,
        data_dir=data_dir,
        width=width,
        title=f"map of {report.school_name}'s routes and the places along them",
    )


def safe_place_overlay(points: Any) -> Overlay:
    """Safe places on a report map: green discs with a white edge (30 m)."""
    return Overlay(
        [g.buffer(30) for g in points if g is not None and not g.is_empty],
        'fill="#2e7d32" stroke="#fff" stroke-width="2"',
    )


def _safe_places_section(report: SchoolReport) -> str:
    """The "Safe places along the routes" table and sentence per window."""
    sp = report.safe_places
    info = report.summary.get("safe_places")
    if sp is None or info is None:
        return (
            '<h2>Safe places along the routes</h2><p class="muted">No safe places have been '
            "imported (<code>geosafe safe-places import</code>), so none are counted.</p>"
        )
    lines = []
    for window, w in info.items():
        med = w.get("median_open_passed")
        med_text = "not shown (fewer than 10 pupils)" if med is None else f"{med:g}"
        lines.append(
            f"<li>{html.escape(window.capitalize())}: a pupil passes on foot a median of "
            f"{html.escape(med_text)} safe place(s) open at the time; "
            f"{_count(w.get('pupils_passing_open'))} of {_count(w.get('pupils_routed'))} pupils "
            f"pass at least one (within {w.get('within_m', 50):g} m of the walk or of a stop "
            "where they wait).</li>"
        )
    rows = [
        [
            _cell(r["name"]),
            _cell(r["kind"]),
            _cell(r["window"]),
            _cell(r["open_when_passed"]),
            _cell(f"{r['first'] or '?'}-{r['last'] or '?'}"),
            _count(r["pupils"]),
            _count(r["pupils_open"]),
            _cell(r["opening_hours"] if isinstance(r["opening_hours"], str) else "hours unknown"),
        ]
        for _, r in sp.iterrows()
    ]
    head = [
        "Safe place",
        "Kind",
        "Journey",
        "Open when pupils pass?",
        "When they pass",
        "Pupils passing",
        "Pupils passing while open",
        "Opening hours",
    ]
    table = _table(rows, head) if rows else "<p>No safe place lies along these walks.</p>"
    return f"<h2>Safe places along the routes</h2><ul>{''.join(lines)}</ul>{table}"


def _day(text: Any) -> str:
    try:
        d = dt.date.fromisoformat(str(text))
    except ValueError:
        return str(text)
    return f"{d:%A} {d.day} {d:%B %Y}"


def _exposure(v: Any) -> str:
    return "-" if v is None else f"{float(v):.2f}"


def _places_table(report: SchoolReport) -> str:
    p = report.places
    if p is None or p.empty:
        return "<p>No hotspot lies on this school's routes in the period.</p>"
    rows = [
        [
            _cell(r["rank"]),
            f"<b>{_cell(r['place'])}</b>",
            _cell(r["when"]),
            _count(r["pupils"]),
            _count(r["incidents_recent"]),
            _count(r["incidents_previous"]),
            _cell(r["trend"]),
            _cell(r["concentration"]),
        ]
        for _, r in p.iterrows()
    ]
    return _table(
        rows,
        [
            "#",
            "Place",
            "When incidents happen there (local time)",
            "Pupils whose route passes here",
            "Incidents, recent period",
            "Incidents, previous period",
            "Trend",
            "How concentrated",
        ],
    )


def _corridor_table(report: SchoolReport) -> str:
    """The busiest streets and bus stretches, one row per name (its pieces merged: the most
    pupils on any piece, total length, length-weighted density)."""
    c = pd.DataFrame(report.corridors.drop(columns="geometry", errors="ignore"))
    if c.empty:
        return "<p>No journeys were routed.</p>"
    c["weighted"] = c["mean_density_km2"].astype(float) * c["length_m"].astype(float)
    g = c.groupby(["kind", "name"], sort=False, as_index=False).agg(
        pupils=("pupils", "max"), length_m=("length_m", "sum"), weighted=("weighted", "sum")
    )
    dens = g["weighted"] / g["length_m"].where(g["length_m"] > 0)
    g["mean_density_km2"] = dens.round(1)
    g["length_m"] = g["length_m"].round(0)
    top = g.sort_values("pupils", ascending=False, na_position="last").head(20)
    rows = [
        [
            "walk" if r["kind"] == "street" else "bus",
            _cell(r["name"]),
            _count(r["pupils"]),
            _cell(r["length_m"]),
            _cell(r["mean_density_km2"]),
        ]
        for _, r in top.iterrows()
    ]
    return _table(
        rows,
        [
            "On foot or bus",
            "Street or bus stretch",
            "Pupils using it",
            "Length (m)",
            "Incidents per km² along it (period)",
        ],
    )


def _need_table(report: SchoolReport) -> str:
    m = report.need_matrix
    rows = []
    for _, r in m.iterrows():
        flag = str(r["flag"]).replace("_", " ")
        unrec = r.get("not_recorded")
        if r["flag"] == "all_referrals":
            rows.append([f"<b>{html.escape(flag)}</b>", _count(r["referrals"]), ""])
            continue
        yes = _count(r["referrals"])
        if r["referrals"] == 0 and unrec not in (0, None) and unrec == unrec:
            yes = "none recorded"
        rows.append([html.escape(flag), yes, "-" if unrec == 0 else _count(unrec)])
    return _table(rows, ["Concern (flag)", "Referrals where it was recorded", "Not recorded"])


def _window_line(label: str, s: dict[str, Any]) -> str:
    routed = s.get("routed") or {}
    return (
        f"<div><b>{html.escape(label)}</b>: walking {_count(routed.get('walk'))}, by bus "
        f"{_count(routed.get('bus'))}, not routable {_count(s.get('unroutable'))}; median "
        f"exposure {_exposure(s.get('median_exposure'))} (safer alternatives "
        f"{_exposure(s.get('median_alt_exposure'))})</div>"
    )


def write_school_report(
    report: SchoolReport,
    out_dir: Path,
    *,
    school_xy: tuple[float, float],
    network: WalkNetwork,
    data_dir: Any = None,
) -> list[Path]:
    """Write ``report.html`` (printable), ``corridors.geojson``, ``hotspots.geojson``,
    ``places.geojson``, ``places.csv`` and ``need_matrix.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out_dir / name
        for name in (
            "report.html",
            "corridors.geojson",
            "hotspots.geojson",
            "need_matrix.csv",
            "places.geojson",
            "places.csv",
        )
    }
    paths["corridors.geojson"].write_text(_to_wgs(report.corridors))
    paths["hotspots.geojson"].write_text(_to_wgs(report.hotspots))
    paths["places.geojson"].write_text(_to_wgs(report.places))
    # CSV opened in a spreadsheet: no cell may start a formula
    neutralise_formulas(report.need_matrix).to_csv(paths["need_matrix.csv"], index=False)
    places = report.places if report.places is not None else gpd.GeoDataFrame()
    neutralise_formulas(pd.DataFrame(places.drop(columns="geometry", errors="ignore"))).to_csv(
        paths["places.csv"], index=False
    )
    s = report.summary
    model = s.get("model") or {}
    period = model.get("period") or ["?", "?"]
    spans = s.get("places_periods") or {}
    first = next(iter(spans.values()), None)
    span_text = (
        f"recent period {_day(first['recent'][0])} to {_day(first['recent'][1])}, previous "
        f"period {_day(first['previous'][0])} to {_day(first['previous'][1])}"
        if first
        else "no periods compared"
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    home = s.get("home")
    windows = _window_line(f"Morning, arriving by {s.get('arrive_by')}", s)
    if home:
        windows += _window_line(f"Afternoon, leaving at {s.get('depart')}", home)
    date_why = html.escape(str(s.get("date_reason") or ""))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>School journeys report: {html.escape(report.school_name)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(report.school_name)} (URN {html.escape(report.school_urn)}): pupils' journeys
and the places along them</h1>
<p class="muted">Journeys on {html.escape(_day(s.get("date")))}. {date_why} Incidents from
{html.escape(_day(period[0]))} to {html.escape(_day(period[1]))}, in the school-run window of
each journey. View for role <b>{html.escape(report.role)}</b>.</p>
<div class="facts"><div><b>Pupils</b>: {_count(s.get("pupils"))}</div>{windows}</div>
<p class="muted">Exposure: {html.escape(str(s.get("exposure_units")))}.</p>
<h2>Places to know about along your pupils' routes</h2>
<p class="muted">Ranked by pupils passing and how concentrated incidents are; numbers match
the map. Counts compare {html.escape(span_text)}.</p>
{_places_table(report)}
<h2>Map</h2>
{report_map(report, school_xy, network=network, data_dir=data_dir)}
<p class="muted">Blue: streets walked, purple: bus stretches (thicker = more pupils); red:
the numbered places; green: safe places; black dot: the school. Background: OpenStreetMap
contributors (ODbL), drawn offline.</p>
{_safe_places_section(report)}
<h2>Busiest corridors (journeys to school)</h2>
{_corridor_table(report)}
<h2>Data matrix of need (Fair Access Panel referrals)</h2>
<p class="muted">"Not recorded" means the referral left the flag blank (unknown), which is
not the same as "no".</p>
{_need_table(report)}
<h2>About these figures</h2><ul>{notes}</ul>
{attribution_html(data_dir)}
</body></html>
"""
    paths["report.html"].write_text(page)
    return list(paths.values())

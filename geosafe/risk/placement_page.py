"""The placement check as printable pages: one page per candidate school (journeys, places
crossed with times of day, places named in the referral near the routes, a map), and the
whole check as ``placement.json``. Every page says it supports and does not recommend."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import shapely

from .._errors import ValidationError
from ..area.build import attribution_html
from ..network.walk import WalkNetwork
from .placement import CandidateCheck, PlacementCheck, candidate_bounds, placement_json
from .report_page import page_css
from .svgmap import Overlay, svg_map

__all__ = ["placement_page", "write_placement"]


def _clock(s: float | None) -> str:
    if s is None:
        return "-"
    m = round(s / 60.0)
    return f"{m // 60 % 24:02d}:{m % 60:02d}"


def _cell(v: Any) -> str:
    return html.escape("-" if v is None else str(v))


def _rows(rows: list[list[str]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _safe(check: PlacementCheck, j: Any) -> str:
    got = check.safe_places_of(j)
    if not got:
        return "-"
    names = ", ".join(
        f"{p['name']} ({p['at'] or '?'}, {'open' if p['open'] else 'closed' if p['open'] is False else 'hours unknown'})"
        for p in got["safe_places"]
    )
    return html.escape(f"passes {got['passes_safe_places']} open" + (f": {names}" if names else ""))


def _journeys(c: CandidateCheck, check: PlacementCheck) -> str:
    rows = []
    for label, j in c.journeys.items():
        if j.error is not None:
            rows.append([html.escape(label), "not possible", _cell(j.error), "", "", "", "", ""])
            continue
        rows.append(
            [
                html.escape(label),
                f"{_clock(j.depart_s)} to {_clock(j.arrive_s)}",
                f"{(j.duration_s or 0) / 60:.0f} min",
                f"{(j.distance_m or 0) / 1000:.1f} km",
                "-" if j.exposure is None else f"{j.exposure:.2f}",
                "-" if j.alt_exposure is None else f"{j.alt_exposure:.2f}",
                html.escape(", ".join(h["id"] for h in j.hotspots_crossed) or "none"),
                _safe(check, j),
            ]
        )
    return _rows(
        rows,
        [
            "Journey",
            "Leaves / arrives",
            "Time",
            "Distance",
            "Exposure",
            "With the safer alternative",
            "Hotspots crossed",
            "Safe places passed on foot or waiting",
        ],
    )


def _places(c: CandidateCheck) -> str:
    if c.places.empty:
        return "<p>No hotspot lies on these journeys in the period.</p>"
    rows = [
        [
            _cell(r["rank"]),
            f"<b>{_cell(r['place'])}</b>",
            _cell(r.get("journeys")),
            _cell(r["when"]),
            _cell(r["incidents_recent"]),
            _cell(r["incidents_previous"]),
            _cell(r["trend"]),
        ]
        for _, r in c.places.iterrows()
    ]
    return _rows(
        rows,
        [
            "#",
            "Place",
            "On which journeys",
            "When incidents happen there",
            "Incidents, recent period",
            "Incidents, previous period",
            "Trend",
        ],
    )


def _referral(c: CandidateCheck, check: PlacementCheck) -> str:
    if not check.notes_places:
        return "<p>The referral's notes name no place the gazetteer knows.</p>"
    if not c.referral_places:
        names = ", ".join(p["name"] for p in check.notes_places)
        return f"<p>None of the places named in the referral ({html.escape(names)}) lies near these journeys.</p>"
    rows = [
        [
            f"<b>{html.escape(r['name'])}</b> ({html.escape(r['kind'])})",
            html.escape(r["field"].replace("_", " ")),
            html.escape(", ".join(r["journeys"])),
            f"{r['distance_m']:.0f} m",
        ]
        for r in c.referral_places
    ]
    return _rows(rows, ["Place named in the referral", "In", "Near which journeys", "Closest"])


def _map(c: CandidateCheck, check: PlacementCheck, net: WalkNetwork, data_dir: Any) -> str:
    walk = [j.geometry for k, j in c.journeys.items() if "walk" in k and j.error is None]
    bus = [j.geometry for k, j in c.journeys.items() if "bus" in k and j.error is None]
    overlays = [
        Overlay(bus, 'fill="none" stroke="#7b1fa2" stroke-width="3" stroke-opacity="0.7"'),
        Overlay(walk, 'fill="none" stroke="#1565c0" stroke-width="3" stroke-opacity="0.8"'),
    ]
    if not c.places.empty:
        overlays.append(
            Overlay(
                list(c.places.geometry),
                'fill="#e53935" fill-opacity="0.35" stroke="#b71c1c"',
                labels=[str(r) for r in c.places["rank"]],
            )
        )
    if c.referral_places:
        overlays.append(
            Overlay(
                [r["point"].buffer(60) for r in c.referral_places],
                'fill="#ff8f00" fill-opacity="0.6" stroke="#e65100" stroke-width="2"',
            )
        )
    if check.safe_places is not None:  # the safe places these journeys pass, in green
        routes = shapely.union_all([g for g in walk + bus if g is not None]).buffer(50)
        near = [g for g in check.safe_places.geometry if g.intersects(routes)]
        if near:
            from .report_page import safe_place_overlay

            overlays.append(safe_place_overlay(near))
    overlays.append(
        Overlay(
            [shapely.Point(c.school_xy).buffer(45), shapely.Point(check.home_xy).buffer(45)],
            'fill="#000" stroke="#fff" stroke-width="2"',
        )
    )
    return svg_map(
        candidate_bounds(c, check.home_xy),  # type: ignore[arg-type]
        overlays,
        network=net,
        data_dir=data_dir,
        width=700,
        title=f"journeys between the home and {c.school_name}",
    )


def _page(c: CandidateCheck, check: PlacementCheck, net: WalkNetwork, data_dir: Any) -> str:
    others = [o.school_name for o in check.candidates if o is not c]
    ref = f"referral {check.referral_id}, " if check.referral_id else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Placement check: {html.escape(c.school_name)}</title><style>{page_css()}</style></head>
<body>
<p class="statement"><b>{html.escape(check.statement)}</b></p>
<h1>Placement check: {html.escape(c.school_name)} (URN {html.escape(c.school_urn)})</h1>
<p class="muted">For {html.escape(ref)}home {html.escape(check.home_label)}. Journeys on
{html.escape(check.date.strftime("%A %d %B %Y"))}: to school arriving by
{check.arrive_by:%H:%M}, home leaving at {check.depart:%H:%M}. {html.escape(check.date_reason)}
Other candidates: {html.escape(", ".join(others) or "none")} (one page each, laid out alike).
Exposure: expected relevant incidents within 50 m of the pupil per 1,000 journeys.
Analyst only: this page names the home postcode and places from the referral.</p>
<h2>Journeys</h2>{_journeys(c, check)}
<h2>Places along these journeys</h2>{_places(c)}
<h2>Places named in the referral near these journeys</h2>{_referral(c, check)}
<h2>Map</h2>{_map(c, check, net, data_dir)}
<p class="muted">Blue: walking, purple: bus; red: hotspots (numbered as above); orange: places
named in the referral; green: safe places; black dots: home and school. Background: OpenStreetMap contributors
(ODbL), drawn offline.</p>
{attribution_html(data_dir)}
</body></html>
"""


def placement_page(
    check: PlacementCheck, school_urn: str, *, network: WalkNetwork, data_dir: Any = None
) -> str:
    """One candidate's printable page (HTML)."""
    for c in check.candidates:
        if c.school_urn == str(school_urn):
            return _page(c, check, network, data_dir)
    msg = f"`page` {school_urn!r} is not one of the candidates; pass one of their URNs."
    raise ValidationError(msg)


def write_placement(
    check: PlacementCheck, out_dir: Path, *, network: WalkNetwork, data_dir: Any = None
) -> list[Path]:
    """Write ``placement-<URN>.html`` per candidate and ``placement.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for c in check.candidates:
        p = out_dir / f"placement-{c.school_urn}.html"
        p.write_text(_page(c, check, network, data_dir))
        paths.append(p)
    j = out_dir / "placement.json"
    j.write_text(json.dumps(placement_json(check), indent=2, default=str))
    return [*paths, j]

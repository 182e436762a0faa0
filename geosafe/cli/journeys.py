"""`geosafe` subcommands: ``journeys`` and ``school-report``.

``geosafe journeys --school URN (--origins FILE | --postcodes FILE | --from-store)
--mode walk|bus --arrive-by HH:MM --date YYYY-MM-DD --out FILE.geojson [--db PATH]``
writes one GeoJSON feature per origin (see :func:`geosafe.risk.journeys.journeys_geojson`).

``geosafe school-report --school URN --out DIR [--db PATH] [--role analyst|school|...]``
writes ``report.html``, ``corridors.geojson``, ``hotspots.geojson`` and ``need_matrix.csv``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from .. import datasets
from .._errors import ConfigurationError, ValidationError
from ..filters import IncidentFilter, add_filter_arguments, filter_from_args
from ._args import clock_arg, date_arg

log = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--school", required=True, metavar="URN", help="the school's DfE URN")
    p.add_argument("--db", type=Path, metavar="PATH", help="incident store (default GEOSAFE_DB)")
    p.add_argument("--osm", type=Path, metavar="FILE", help="OSM XML (default: bundled extract)")
    p.add_argument(
        "--gtfs", type=Path, metavar="DIR", help="GTFS feed (default: bundled demo feed)"
    )
    p.add_argument(
        "--max-detour",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="longest detour for a safer alternative (0.2 = 20%% longer; default 0.2)",
    )
    p.add_argument(
        "--bandwidth", type=float, default=200.0, metavar="M", help="KDE bandwidth, metres"
    )
    p.add_argument("--purpose", metavar="TEXT", help="why the incident data is read (audited)")
    add_filter_arguments(p)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    p = sub.add_parser(
        "journeys",
        help="pupils' journeys to a school (walk or bus) with exposure and safer alternatives",
        description=(
            "Route every origin to the school arriving by the bell and score the exposure "
            "(expected relevant incidents per 1,000 journeys; default time window: the "
            "school run). Walking speed 1.3 m/s."
        ),
    )
    _common(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--origins", type=Path, metavar="FILE", help="CSV: id + lat/lon or E/N")
    src.add_argument("--postcodes", type=Path, metavar="FILE", help="CSV with a postcode column")
    src.add_argument(
        "--from-store", action="store_true", help="the school's FAP referrals' home postcodes"
    )
    p.add_argument("--mode", required=True, choices=("walk", "bus"))
    p.add_argument("--arrive-by", required=True, type=clock_arg, metavar="HH:MM")
    p.add_argument("--date", required=True, type=date_arg, metavar="YYYY-MM-DD")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.geojson")
    p.set_defaults(func=cmd_journeys)

    r = sub.add_parser(
        "school-report",
        help="one school's journeys as corridors, hotspots along them and the FAP need matrix",
    )
    _common(r)
    r.add_argument("--out", required=True, type=Path, metavar="DIR")
    r.add_argument(
        "--role",
        default="analyst",
        choices=("analyst", "school", "neighbourhood"),
        help="disclosure control: exact counts for analysts only (default analyst)",
    )
    r.add_argument("--arrive-by", type=clock_arg, default=dt.time(8, 45), metavar="HH:MM")
    r.add_argument("--date", type=date_arg, metavar="YYYY-MM-DD", help="default: next Monday")
    r.add_argument(
        "--walk-max-m",
        type=float,
        default=2000.0,
        metavar="M",
        help="pupils with a longer walk are assumed to take the bus (default 2000)",
    )
    r.set_defaults(func=cmd_school_report)


# ------------------------------------------------------------------------ shared steps
def _store(args: argparse.Namespace, *, required: bool) -> Any:
    from ..settings import StoreSettings
    from ..store import Store

    path = args.db or StoreSettings().db
    if not Path(path).exists():
        if required:
            msg = f"store {str(path)!r} does not exist; pass --db PATH or import incidents first."
            raise ConfigurationError(msg)
        warnings.warn(f"store {str(path)!r} does not exist: exposure is not computed", stacklevel=2)
        return None
    return Store(path)


def _network(args: argparse.Namespace) -> Any:
    from ..network.walk import WalkNetwork, WalkSettings

    return WalkNetwork.from_osm(args.osm or datasets.osm_path(), settings=WalkSettings())


def _router(args: argparse.Namespace, net: Any) -> Any | None:
    path = args.gtfs or datasets.gtfs_dir()
    if not Path(path).exists():
        return None
    from ..network.journeys import FallbackWalk
    from ..network.transit import RaptorRouter, TransitSettings

    settings = TransitSettings()
    return RaptorRouter(
        path,
        walk=FallbackWalk(net),
        walk_path=net.path_line,
        max_walk_m=settings.max_walk_m,
        transfer_walk_m=settings.transfer_walk_m,
        min_transfer_s=settings.min_transfer_s,
        max_transfers=settings.max_transfers,
    )


def _model(args: argparse.Namespace, store: Any | None) -> tuple[Any | None, int]:
    """The exposure model and the number of incident records read for it."""
    from ..risk.exposure import build_exposure_model, journey_window

    if store is None:
        return None, 0
    filt = filter_from_args(args)
    if filt.preset is None and not filt.hours:
        # default: the journey's own half of the school run (morning for an 08:45 bell)
        filt = IncidentFilter(
            sources=filt.sources or ("dir", "asif", "cris", "police_uk"),
            categories=filt.categories,
            flags=filt.flags,
            from_date=filt.from_date,
            to_date=filt.to_date,
            weekdays=filt.weekdays,
            hours=journey_window(args.arrive_by),
            preset="school-run",
            calendar=filt.calendar,
        )
    incidents = store.incidents()
    try:
        model = build_exposure_model(
            incidents,
            incident_filter=filt,
            start=filt.from_date,
            end=filt.to_date,
            bandwidth=args.bandwidth,
            study_area=None,
        )
    except ValidationError as exc:
        warnings.warn(f"exposure is not computed: {exc}", stacklevel=2)
        model = None
    return model, len(incidents)


def _audit(args: argparse.Namespace, command: str, store: Any | None, records: int) -> None:
    """Record the read of incident-level data (FAP referrals, incidents) in the audit log."""
    if store is None:
        return
    from ..access.audit import AuditLog, cli_actor
    from ..settings import StoreSettings

    AuditLog(StoreSettings(db=Path(store.path)).audit_path()).record(
        "read",
        label=cli_actor(),
        role="operator",
        endpoint=f"geosafe {command}",
        params={"school": args.school, "from_store": bool(getattr(args, "from_store", True))},
        records=records,
        purpose=args.purpose,
    )


# ------------------------------------------------------------------------ journeys
def cmd_journeys(args: argparse.Namespace) -> int:
    """``geosafe journeys``."""
    from ..network import origins as og
    from ..risk.journeys import assess_journeys, journeys_geojson

    store = _store(args, required=bool(args.from_store))
    if args.origins:
        origins = og.origins_from_csv(args.origins)
    elif args.postcodes:
        origins = og.origins_from_postcodes(og.read_postcode_list(args.postcodes))
    else:
        origins = og.origins_from_postcodes(og.fap_home_postcodes(store, args.school), kind="fap")
    net = _network(args)
    router = _router(args, net) if args.mode == "bus" else None
    if args.mode == "bus" and router is None:
        msg = (
            f"no GTFS feed at {str(args.gtfs or datasets.gtfs_dir())!r}; pass --gtfs DIR or "
            "build the demo feed (`geosafe gtfs build`)."
        )
        raise ConfigurationError(msg)
    model, n_read = _model(args, store)
    _audit(args, "journeys", store, n_read + (sum(origins.count) if args.from_store else 0))
    results = assess_journeys(
        args.school,
        origins,
        mode=args.mode,
        bell=args.arrive_by,
        date=args.date,
        network=net,
        router=router,
        model=model,
        max_detour=args.max_detour,
    )
    meta = {
        "school_urn": args.school,
        "mode": args.mode,
        "arrive_by": args.arrive_by.strftime("%H:%M"),
        "date": args.date.isoformat(),
        "exposure_model": model.params if model is not None else None,
        "timetable": "estimated (TfL stop sequences, estimated run times and headways)"
        if args.mode == "bus" and not args.gtfs
        else None,
    }
    out = journeys_geojson(results, metadata=meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out))
    ok = [r for r in results if r.error is None]
    print(
        f"{len(results)} origins ({sum(r.count for r in results)} pupils): {len(ok)} routed, "
        f"{len(results) - len(ok)} unroutable -> {args.out}"
    )
    return 0


# ------------------------------------------------------------------------ school report
def _next_monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


def cmd_school_report(args: argparse.Namespace) -> int:
    """``geosafe school-report``."""
    from ..network import origins as og
    from ..risk.journeys import assess_journeys
    from ..risk.report import build_school_report
    from ..rolls import roll_postcodes

    store = _store(args, required=True)
    xy, name = og.school_location(args.school)
    # all the school's pupils: its uploaded roll (if any) plus its FAP referrals' homes
    homes = roll_postcodes(store.path, args.school) + og.fap_home_postcodes(store, args.school)
    origins = og.origins_from_postcodes(homes, kind="postcode")
    net = _network(args)
    model, n_read = _model(args, store)
    date = args.date or _next_monday()
    common = {"bell": args.arrive_by, "date": date, "network": net, "model": model}
    walks = assess_journeys(args.school, origins, mode="walk", max_detour=args.max_detour, **common)
    router = _router(args, net)
    chosen = list(walks)
    far = [
        i
        for i, w in enumerate(walks)
        if w.error is not None or (w.distance_m or 0.0) > args.walk_max_m
    ]
    if router is not None and far:
        sub = og.Origins(
            tuple(origins.origin_id[i] for i in far),
            origins.xy[far],
            origins.count[far],
            tuple(origins.error[i] for i in far),
            origins.kind,
        )
        buses = assess_journeys(
            args.school, sub, mode="bus", router=router, max_detour=args.max_detour, **common
        )
        for i, b in zip(far, buses, strict=True):
            if b.error is None or walks[i].error is not None:
                chosen[i] = b
    fap = store.incidents(sources=["fap"], with_location=False)
    _audit(args, "school-report", store, n_read + len(fap))
    report = build_school_report(
        args.school,
        chosen,
        school_name=name,
        network=net,
        model=model,
        fap=fap,
        role=args.role,
        params={
            "arrive_by": args.arrive_by.strftime("%H:%M"),
            "date": date.isoformat(),
            "walk_max_m": args.walk_max_m,
            "timetable": "estimated" if router is not None and not args.gtfs else None,
        },
    )
    paths = write_school_report(report, args.out, school_xy=xy)
    print(f"school report for {args.school} ({name}): " + ", ".join(str(p) for p in paths))
    return 0


def _to_wgs(gdf: gpd.GeoDataFrame) -> str:
    """RFC 7946 GeoJSON: WGS84 lon/lat to ~6 decimals, no ``crs`` member, integer counts."""
    feats = []
    if not gdf.empty:
        wgs = gdf.to_crs(4326)
        geoms = shapely.set_precision(wgs.geometry.to_numpy(), 1e-6)
        props = wgs.drop(columns=wgs.geometry.name)
        for i, (g, (_, row)) in enumerate(zip(geoms, props.iterrows(), strict=True)):
            p = {k: _plain(v) for k, v in row.items()}
            for key in ("pupils", "incidents", "rank"):
                if isinstance(p.get(key), float):
                    p[key] = int(p[key])
            feats.append(
                {
                    "type": "Feature",
                    "id": i,
                    "geometry": shapely.geometry.mapping(g),
                    "properties": p,
                }
            )
    return json.dumps({"type": "FeatureCollection", "features": feats})


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _svg(report: Any, school_xy: tuple[float, float], size: int = 640) -> str:
    """A printable SVG map: corridors (width by pupils), hotspots, the school."""
    layers = [g for g in (report.corridors, report.hotspots) if not g.empty]
    if layers:
        bounds = np.array([g.total_bounds for g in layers])
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    else:
        x0, y0, x1, y1 = (
            school_xy[0] - 500,
            school_xy[1] - 500,
            school_xy[0] + 500,
            school_xy[1] + 500,
        )
    pad = 0.05 * max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    scale = size / max(x1 - x0, y1 - y0)

    def pts(coords: Any) -> str:
        c = np.asarray(coords)
        return " ".join(f"{(x - x0) * scale:.1f},{(y1 - y) * scale:.1f}" for x, y in c[:, :2])

    def paths(geom: Any) -> list[str]:
        if geom is None or geom.is_empty:
            return []
        if hasattr(geom, "geoms"):
            return [p for g in geom.geoms for p in paths(g)]
        if geom.geom_type == "Polygon":
            return [
                "M"
                + pts(geom.exterior.coords)
                + "Z"
                + "".join("M" + pts(r.coords) + "Z" for r in geom.interiors)
            ]
        return ["M" + pts(geom.coords)]

    body = []
    for _, h in report.hotspots.iterrows():
        for d in paths(h.geometry):
            body.append(f'<path d="{d}" fill="#d7301f" fill-opacity="0.45" stroke="#b30000"/>')
        c = h.geometry.representative_point()
        body.append(
            f'<text x="{(c.x - x0) * scale:.1f}" y="{(y1 - c.y) * scale:.1f}" '
            f'font-size="11" fill="#7f0000">{html.escape(str(h.hotspot_id))}</text>'
        )
    if not report.corridors.empty:
        pupils = report.corridors["pupils"].fillna(0).to_numpy(dtype=float)
        top = max(float(pupils.max()), 1.0)
        for (_, c), p in zip(report.corridors.iterrows(), pupils, strict=True):
            colour = "#2c7fb8" if c["kind"] == "street" else "#7a0177"
            width = 1.0 + 5.0 * p / top
            for d in paths(c.geometry):
                body.append(
                    f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width:.1f}" '
                    'stroke-linecap="round"/>'
                )
    sx, sy = (school_xy[0] - x0) * scale, (y1 - school_xy[1]) * scale
    body.append(f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="6" fill="#000"/>')
    h_px = (y1 - y0) * scale
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{h_px:.0f}" '
        f'viewBox="0 0 {size} {h_px:.0f}" role="img" aria-label="map of routes and hotspots">'
        f'<rect width="100%" height="100%" fill="#fafafa" stroke="#ccc"/>{"".join(body)}</svg>'
    )


def _count(v: Any) -> str:
    return "fewer than 10" if v is None else str(int(v))


def _table(df: Any, columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in columns:
            v = r.get(c)
            if c in ("pupils", "referrals", "incidents") and (v is None or v != v):
                v = "fewer than 10" if bool(r.get("suppressed", False)) else "-"
            elif isinstance(v, float) and v.is_integer():
                v = int(v)
            cells.append(f"<td>{html.escape(str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def write_school_report(
    report: Any, out_dir: Path, *, school_xy: tuple[float, float]
) -> list[Path]:
    """Write ``report.html``, ``corridors.geojson``, ``hotspots.geojson``, ``need_matrix.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    corridors = out_dir / "corridors.geojson"
    hotspots = out_dir / "hotspots.geojson"
    matrix = out_dir / "need_matrix.csv"
    page = out_dir / "report.html"
    corridors.write_text(_to_wgs(report.corridors))
    hotspots.write_text(_to_wgs(report.hotspots))
    from ..publish.exports import neutralise_formulas

    neutralise_formulas(report.need_matrix).to_csv(matrix, index=False)
    s = report.summary
    top = report.corridors.sort_values("pupils", ascending=False, na_position="last").head(20)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    units = html.escape(str(s.get("exposure_units")))
    med = s.get("median_exposure")
    alt = s.get("median_alt_exposure")
    model = s.get("model") or {}
    page.write_text(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>School journeys report: {html.escape(report.school_name)}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:1rem auto;color:#222}}
table{{border-collapse:collapse;margin:.5rem 0}}td,th{{border:1px solid #bbb;padding:.2rem .5rem;
text-align:left}}@media print{{body{{margin:0}}}}</style></head><body>
<h1>{html.escape(report.school_name)} (URN {html.escape(report.school_urn)})</h1>
<p>Journeys to school arriving by {html.escape(str(s.get("arrive_by")))} on
{html.escape(str(s.get("date")))}; view for role <b>{html.escape(report.role)}</b>.</p>
<p>Pupils: {_count(s.get("pupils"))}; walking: {_count(s.get("routed", {}).get("walk"))};
by bus: {_count(s.get("routed", {}).get("bus"))}; not routable:
{_count(s.get("unroutable"))}.</p>
<p>Median exposure {"-" if med is None else f"{med:.2f}"}, with the safer alternatives
{"-" if alt is None else f"{alt:.2f}"} ({units}). Incidents counted: time window
{html.escape(str((model.get("filter") or {}).get("preset")))}, period
{html.escape(" to ".join(model.get("period") or []))}.</p>
<h2>Map</h2>{_svg(report, school_xy)}
<p>Blue: streets walked (thicker = more pupils); purple: bus stretches; red: hotspots; black dot:
the school.</p>
<h2>Hotspots along this school's routes</h2>
{_table(report.hotspots, ["rank", "hotspot_id", "pupils", "active", "peak_density_km2", "incidents"])}
<h2>Busiest corridors</h2>
{_table(top, ["kind", "name", "pupils", "length_m", "mean_density_km2"])}
<h2>Data matrix of need (Fair Access Panel referrals)</h2>
{_table(report.need_matrix, ["flag", "referrals"])}
<h2>About these figures</h2><ul>{notes}</ul>
</body></html>
"""
    )
    return [page, corridors, hotspots, matrix]

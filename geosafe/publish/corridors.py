"""Journeys for the service: the ``journey-corridors`` layer, journeys over HTTP and a whole
school's report (run as a background job).

Origins of a school's corridors and report are the home postcodes of the pupils on its
uploaded roll (:mod:`geosafe.rolls`, postcodes only) plus those of its Fair Access Panel
referrals in the store (:func:`geosafe.network.origins.fap_home_postcodes`), grouped by
postcode, so no individual pupil is ever an origin of its own. Outside the analyst role the
referrals' homes are the published H3 resolution-8 cells of
:mod:`geosafe.store.published_referrals` read over the reader connection
(:func:`published_fap_origins`), and the need matrix is the published one
(:func:`published_need`): no referral row or postcode is read for them. Routing, exposure and the report come
from :mod:`geosafe.network` and :mod:`geosafe.risk`; this module assembles them and
caches the expensive parts (walking network, transit router, exposure model) per service.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .. import datasets, periods
from .._errors import ConfigurationError, NotFoundError, ValidationError
from ..area.manifest import attribution as area_attribution
from ..incident import CRS_BNG, SOURCES
from . import disclosure
from .catalogue import FILTER_PARAMS, AnalysisParams
from .layer import Layer, LayerSource, is_synthetic, make_layer, to_geojson_features

__all__ = [
    "corridor_layer",
    "dumps",
    "exposure_model",
    "joined_origins",
    "plan_journeys",
    "published_fap_origins",
    "published_need",
    "school_journeys",
    "school_report",
    "walk_network",
]

log = logging.getLogger(__name__)

_TO_BNG = Transformer.from_crs("OGC:CRS84", CRS_BNG, always_xy=True)
#: Default bell time (local) for corridors and reports.
DEFAULT_ARRIVE_BY = dt.time(8, 40)
#: The bell that ends the school day (journeys home leave then).
DEFAULT_DEPART = dt.time(15, 15)


def walk_network(svc: LayerSource) -> Any:
    """The demo area's walking network (built once, cached on disk by its own module)."""

    def build() -> Any:
        from ..network.walk import WalkNetwork, WalkSettings

        return WalkNetwork.from_osm(datasets.osm_path(svc.data_dir), settings=WalkSettings())

    return svc.memo(("walk-network", str(svc.data_dir)), build)


def transit_router(svc: LayerSource) -> Any:
    """The RAPTOR router over the estimated demo-area GTFS feed."""

    def build() -> Any:
        from ..network.gtfs_cache import cached_router, matrix_walk, router_cache_dir

        path = datasets.gtfs_dir(svc.data_dir)
        if not path.exists():
            msg = f"no GTFS feed at {str(path)!r}; build it with `geosafe gtfs build`."
            raise ConfigurationError(msg)
        net = walk_network(svc)
        # kept on disk under the feed's SHA-256 (an area's gtfs/cache): seconds, not minutes;
        # access, egress and transfer walks through the many-to-many preprocessing
        return cached_router(
            path,
            cache_dir=router_cache_dir(svc.data_dir),
            walk=matrix_walk(net, svc.data_dir),
            walk_path=net.path_line,
        )

    return svc.memo(("transit-router", str(svc.data_dir)), build)


def exposure_model(svc: LayerSource, params: AnalysisParams, *, public: bool = False) -> Any:
    """The exposure model (:func:`geosafe.risk.exposure.build_exposure_model`) for ``params``' filters:
    the relevant incidents of every source but FAP in the period and time window; ``public``
    (outputs for non-analysts): built from published cell counts at H3 cell centres
    (:func:`geosafe.publish.disclosure.coarsen_incidents`)."""
    params = params.only((*FILTER_PARAMS, "bandwidth_m", "cell_m"))
    key = ("exposure", params.key(), svc.public_state() if public else svc.store_state(), public)

    def build() -> Any:
        from ..filters import IncidentFilter
        from ..risk import exposure as risk_exposure

        flt = IncidentFilter(
            sources=params.sources or tuple(s for s in SOURCES if s != "fap"),
            categories=params.categories or None,
            flags=params.flags or None,
            preset=params.preset,
        )
        if public:
            return public_exposure_model(svc, params, flt)
        start, end = svc.period(params)
        incidents = svc.all_incidents()
        return risk_exposure.build_exposure_model(
            incidents,
            incident_filter=flt,
            start=start,
            end=end,
            bandwidth=params.bandwidth_m,
            cell=params.cell_m,
            study_area=datasets.demo_area(svc.data_dir),
        )

    return svc.memo(key, build)


def public_exposure_model(svc: LayerSource, params: AnalysisParams, flt: Any) -> Any:
    """The exposure model for non-analyst outputs: from the published counts of the period
    and time window at the H3 cell centres (:func:`public_layers.public_incidents`; no
    incident row is read), with the time window's hours of ``flt``."""
    from dataclasses import replace as _replace

    from ..filters import IncidentFilter
    from ..risk import exposure as risk_exposure
    from .published_counts import public_incidents

    rows, period = public_incidents(svc, params, sources=flt.sources)
    start = period.start if period else None
    end = period.end if period else None
    if start is None or end is None:  # nothing published: no incident to read either
        start = end = dt.date.today()
    model = risk_exposure.build_exposure_model(
        rows,
        incident_filter=IncidentFilter(),  # already in the window: the table's own rows
        start=start,
        end=end,
        bandwidth=params.bandwidth_m,
        cell=params.cell_m,
        study_area=datasets.demo_area(svc.data_dir),
    )
    hours = risk_exposure.window_hours(start, end, preset=flt.preset, hours=None, weekdays=None)
    described = {**model.params, "filter": flt.describe(), "window_hours": hours}
    return _replace(model, window_hours=hours, params=described)


def _travel_date(
    svc: LayerSource, params: AnalysisParams, date: str | None, *, public: bool = False
) -> dt.date:
    """``date``, else the last day of the analysed period: for non-analyst outputs
    (``public``) the published period's, read over the reader connection."""
    if date:
        return periods.parse_date(date, name="date")
    if public:
        from .published_counts import public_period

        period = public_period(svc, params)
        return period.end if period is not None else dt.date.today()
    return svc.period(params)[1] or dt.date.today()


def _time(text: str) -> dt.time:
    return periods.parse_clock(text, name="arrive_by")


def school_journeys(
    svc: LayerSource,
    urn: str,
    params: AnalysisParams,
    *,
    arrive_by: dt.time = DEFAULT_ARRIVE_BY,
    mode: str = "walk",
    public: bool = False,
    direction: str = "to-school",
) -> list[Any]:
    """Journeys of a school's pupils from their home postcodes, grouped by postcode: the
    school's uploaded roll (:mod:`geosafe.rolls`, if any) plus the home postcodes of its FAP
    referrals in the store, each postcode weighted by its pupils (``public``: exposures from
    the disclosure-controlled model). ``direction="from-school"``: the journeys home leaving
    at ``arrive_by`` (then the bell that ends the day)."""
    from .. import rolls
    from ..network import origins as net_origins
    from ..risk import journeys as risk_journeys

    key = (
        "school-journeys",
        urn,
        params.only(FILTER_PARAMS).key(),
        svc.store_state(),
        rolls.roll_state(svc.store_path, urn),  # an upload or deletion re-plans the journeys
        arrive_by,
        mode,
        public,
        direction,
    )

    def build() -> list[Any]:
        roll = rolls.roll_postcodes(svc.store_path, urn)
        kind = "roll" if roll else "fap"
        if public:  # the referrals' homes as published (cells), never their postcodes
            origins = joined_origins(
                net_origins.origins_from_postcodes(roll, data_dir=svc.data_dir, kind=kind),
                published_fap_origins(svc, urn),
            )
        else:
            postcodes = roll + net_origins.fap_home_postcodes(svc.store, urn)
            origins = net_origins.origins_from_postcodes(
                postcodes, data_dir=svc.data_dir, kind=kind
            )
        if len(origins) == 0:
            return []
        return risk_journeys.assess_journeys(
            urn,
            origins,
            mode=mode,
            bell=arrive_by,
            date=_travel_date(svc, params, None, public=public),
            direction=direction,
            network=walk_network(svc),
            router=transit_router(svc) if mode == "bus" else None,
            model=exposure_model(svc, params, public=public),
            data_dir=svc.data_dir,
        )

    result: list[Any] = svc.memo(key, build)
    return result


def published_fap_origins(svc: LayerSource, urn: str) -> Any:
    """A school's FAP referrals' homes as journey origins for non-analyst outputs, read over
    the reader connection (:mod:`geosafe.store.published_referrals`): the centre of each
    published H3 resolution-8 home cell weighted by
    :func:`~geosafe.store.published_referrals.home_weights` (homes whose postcode is not in
    the area's list: unplaced, as unknown postcodes are)."""
    import h3

    from ..network.origins import Origins
    from ..store import published_referrals as pr

    weights = pr.home_weights(pr.read(svc.published, urn, getattr(svc, "data_dir", None)))
    cells = sorted(weights)
    xy = np.full((len(cells), 2), np.nan)
    placed = [i for i, c in enumerate(cells) if c != pr.UNKNOWN]
    if placed:
        lat, lon = np.array([h3.cell_to_latlng(cells[i]) for i in placed]).T
        xy[placed, 0], xy[placed, 1] = _TO_BNG.transform(lon, lat)
    return Origins(
        tuple(f"cell {c}" for c in cells),
        xy,
        np.asarray([weights[c] for c in cells], dtype=np.int64),
        tuple("postcode_unknown" if c == pr.UNKNOWN else None for c in cells),
        "fap",
    )


def joined_origins(a: Any, b: Any) -> Any:
    """Two :class:`~geosafe.network.origins.Origins` as one (``a``'s kind)."""
    from ..network.origins import Origins

    return Origins(
        a.origin_id + b.origin_id,
        np.concatenate([a.xy.reshape(-1, 2), b.xy.reshape(-1, 2)]),
        np.concatenate([a.count, b.count]).astype(np.int64),
        a.error + b.error,
        a.kind,
    )


def published_need(svc: LayerSource, urn: str) -> pd.DataFrame:
    """A school's need matrix as published (``flag``, ``referrals``, ``not_recorded``,
    ``suppressed``; ``None`` for 1-9), read over the reader connection: what
    :func:`geosafe.risk.report.build_school_report` shows a non-analyst."""
    from ..store import published_referrals as pr

    got = pr.read(svc.published, urn)
    value = {(k, key): (c, s) for k, key, c, s in got.itertuples(index=False)}

    def cell(kind: str, key: str) -> tuple[int | None, bool]:
        count, hidden = value.get((kind, key), (0.0, False))
        return (None if hidden or pd.isna(count) else int(count)), bool(hidden)

    rows = []
    for f in pr.FAP_FLAGS:
        n, hidden = cell("flag", f)
        rows.append((f, n, cell("unrecorded", f)[0], hidden))
    n, hidden = cell("referrals", "*")
    rows.append(("all_referrals", n, None, hidden))
    return pd.DataFrame(rows, columns=["flag", "referrals", "not_recorded", "suppressed"])


def _report(
    svc: LayerSource, urn: str, params: AnalysisParams, journeys: Sequence[Any], role: str
) -> Any:
    from ..network import origins as net_origins
    from ..protect.safe_places import public_safe_places
    from ..risk import report as risk_report
    from ..risk.naming import place_namer

    _, name = net_origins.school_location(urn, data_dir=svc.data_dir)
    public = role != "analyst"
    # a non-analyst's need matrix: the published referrals (no referral row is read)
    fap = pd.DataFrame() if public else svc.store.incidents(sources=["fap"], with_location=False)
    safe = public_safe_places(svc.published)  # public places, counted along the walks
    return risk_report.build_school_report(
        urn,
        journeys,
        school_name=name,
        network=walk_network(svc),
        model=exposure_model(svc, params, public=public),
        fap=fap,
        role=role,
        safe_places=safe if len(safe) else None,
        day=_travel_date(svc, params, None, public=public),
        need=published_need(svc, urn) if public else None,
        # unnamed ways and hotspots by place, as `geosafe school-report` names them (without
        # it the service's reports said "(primary)", "(service)" and HS10)
        namer=place_namer(svc.data_dir),
    )


def corridor_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """Walking corridors to each school of the area (or ``params.school``): street stretches
    with the pupils whose journeys use them and the mean density along them (incidents per
    km²), from :func:`geosafe.risk.report.build_school_report` (analyst view; other roles get the
    disclosure-controlled view from :class:`~geosafe.layers.LayerService`)."""
    schools = datasets.schools(svc.data_dir, demo_only=True)
    urns = _school_urns(schools, params.school)
    frames = []
    for urn in urns:
        journeys = school_journeys(svc, urn, params)
        if not journeys:
            continue
        rep = _report(svc, urn, params, journeys, "analyst")
        c = rep.corridors
        if c.empty:
            continue
        frames.append(
            gpd.GeoDataFrame(
                {
                    "school_urn": urn,
                    "school_name": rep.school_name,
                    "mode": np.where(c["kind"] == "bus", "bus", "walk"),
                    "name": c["name"].astype(str).to_numpy(),
                    "pupils": c["pupils"].to_numpy(dtype=float),
                    "density": c["mean_density_km2"].to_numpy(dtype=float),
                    "length_m": c["length_m"].to_numpy(dtype=float),
                },
                geometry=c.geometry.to_numpy(),
                crs=CRS_BNG,
            )
        )
    if frames:
        frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=CRS_BNG)
        frame = frame[frame.geometry.notna()]
        frame.index = pd.Index([f"{u}-{i}" for i, u in enumerate(frame["school_urn"])], name="id")
    else:
        cols = ("school_urn", "school_name", "mode", "name", "pupils", "density", "length_m")
        frame = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=CRS_BNG)
    from .exports import integer_counts  # pupils as integers

    frame = integer_counts(frame, "journey-corridors")
    return make_layer(
        "journey-corridors", frame, params, synthetic=is_synthetic(svc.all_incidents())
    )


def corridor_cells(svc: LayerSource, params: AnalysisParams) -> Layer:
    """The corridors as non-analysts see them: H3 resolution-8 cells (edge ~0.5 km) with the
    pupils and journeys whose walking routes cross each cell; the caller drops cells with
    fewer than 10 pupils and rounds the rest (:mod:`geosafe.publish.disclosure`)."""
    import h3

    res = disclosure.MAX_PUBLIC_H3_RESOLUTION
    schools = datasets.schools(svc.data_dir, demo_only=True)
    urns = _school_urns(schools, params.school)
    names = dict(zip(schools["urn"].astype(str), schools["name"], strict=True))
    to_wgs = Transformer.from_crs(CRS_BNG, "OGC:CRS84", always_xy=True)
    rows: list[dict[str, Any]] = []
    for urn in urns:
        pupils: dict[str, float] = {}
        trips: dict[str, int] = {}
        for j in school_journeys(svc, urn, params, public=True):
            if j.error is not None or j.geometry is None or j.geometry.is_empty:
                continue
            line = j.geometry
            steps = np.linspace(0.0, line.length, max(2, int(line.length // 25) + 1))
            pts = np.array([line.interpolate(d).coords[0] for d in steps])
            lon, lat = to_wgs.transform(pts[:, 0], pts[:, 1])
            for cell in {h3.latlng_to_cell(b, a, res) for a, b in zip(lon, lat, strict=True)}:
                pupils[cell] = pupils.get(cell, 0.0) + float(j.count)
                trips[cell] = trips.get(cell, 0) + 1
        for cell in sorted(pupils):
            rows.append(
                {
                    "id": f"{urn}-{cell}",
                    "school_urn": urn,
                    "school_name": names.get(urn, ""),
                    "cell": cell,
                    "resolution": res,
                    "pupils": pupils[cell],
                    "journeys": trips[cell],
                }
            )
    cols = ("school_urn", "school_name", "cell", "place_name", "resolution", "pupils", "journeys")
    if rows:
        from .places import place_names

        polys = [
            shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(r["cell"])])
            for r in rows
        ]
        frame = gpd.GeoDataFrame(rows, geometry=polys, crs="OGC:CRS84").to_crs(CRS_BNG)
        frame["place_name"] = place_names(frame.geometry.to_numpy(), svc.data_dir)
        frame = frame.set_index("id")
    else:
        frame = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=CRS_BNG)
    from .published_counts import synthetic

    return make_layer("journey-corridors", frame, params, synthetic=synthetic(svc))


def _school_urns(schools: gpd.GeoDataFrame, school: str | None) -> list[str]:
    known = sorted(schools["urn"].astype(str))
    if school is None:
        return known
    if school not in known:
        msg = (
            f"`school` {school!r} is not a school of this area; pick a URN from "
            "/ogc/collections/schools/items."
        )
        raise NotFoundError(msg)
    return [school]


def _origins(items: Sequence[str | tuple[float, float]], data_dir: Any) -> Any:
    from ..network.origins import Origins, origins_from_postcodes

    postcodes = [o for o in items if isinstance(o, str)]
    points = [o for o in items if not isinstance(o, str)]
    if postcodes and points:
        msg = "`origins` mixes postcodes and points; send one kind per request."
        raise ValidationError(msg)
    if postcodes:
        return origins_from_postcodes(postcodes, data_dir=data_dir)
    lon = np.array([p[0] for p in points], dtype=float)
    lat = np.array([p[1] for p in points], dtype=float)
    x, y = _TO_BNG.transform(lon, lat)
    return Origins(
        tuple(f"point-{i + 1}" for i in range(len(points))),
        np.column_stack([x, y]),
        np.ones(len(points), dtype=np.int64),
        tuple(None for _ in points),
        "point",
    )


def plan_journeys(
    svc: LayerSource,
    *,
    school: str,
    origins: Sequence[str | tuple[float, float]],
    mode: str = "walk",
    arrive_by: str = "08:40",
    date: str | None = None,
    preset: str | None = "school-run",
    public: bool = False,
) -> dict[str, Any]:
    """Routes from ``origins`` (postcodes, or WGS84 ``(lon, lat)`` points) to a school,
    arriving by ``arrive_by``, as an RFC 7946 FeatureCollection: one feature per origin with
    its legs (mode, metres, seconds, exposure per 1,000 journeys) and a safer alternative."""
    from ..risk import journeys as risk_journeys

    params = AnalysisParams(preset=preset)
    model = exposure_model(svc, params, public=public)
    results = risk_journeys.assess_journeys(
        school,
        _origins(origins, svc.data_dir),
        mode=mode,
        bell=_time(arrive_by),
        date=_travel_date(svc, params, date, public=public),
        network=walk_network(svc),
        router=transit_router(svc) if mode == "bus" else None,
        model=model,
        data_dir=svc.data_dir,
    )
    fc: dict[str, Any] = risk_journeys.journeys_geojson(
        results, metadata={"school": school, "mode": mode, "arrive_by": arrive_by}
    )
    _name_hotspots(fc, model, svc.data_dir)
    for f in fc["features"]:
        f["id"] = str(f["id"])
    return fc


def _name_hotspots(fc: dict[str, Any], model: Any, data_dir: Any) -> None:
    """Give every crossed hotspot of ``fc`` its ``place`` (the reports' naming): an id such
    as ``HS10`` alone told a school nothing."""
    crossed = {
        h["id"] for f in fc["features"] for h in f["properties"].get("hotspots_crossed") or ()
    }
    if model is None or not crossed:
        return
    from ..risk.naming import place_namer

    namer = place_namer(data_dir)
    names = {
        h.hotspot_id: namer.name(h.geometry) for h in model.hotspots if h.hotspot_id in crossed
    }
    for f in fc["features"]:
        for h in f["properties"].get("hotspots_crossed") or ():
            h["place"] = names.get(h["id"], "")


def school_report(
    svc: LayerSource,
    *,
    school: str,
    arrive_by: str = "08:40",
    mode: str = "walk",
    role: str = "analyst",
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """A whole school's report as JSON (a background job): summary, corridors and hotspots
    along the routes (GeoJSON, WGS84), the FAP need matrix and notes; counts disclosure-
    controlled for non-analyst ``role``."""

    def report(fraction: float, message: str = "") -> None:
        if progress is not None:
            progress(fraction, message)

    params = AnalysisParams()
    report(0.05, "loading the walking network")
    walk_network(svc)
    public = role != "analyst"
    report(0.3, "building the exposure model")
    exposure_model(svc, params, public=public)
    report(0.5, "routing the journeys")
    journeys = school_journeys(
        svc, school, params, arrive_by=_time(arrive_by), mode=mode, public=public
    )
    report(0.85, "aggregating the report")
    rep = _report(svc, school, params, journeys, role)
    out = {
        "school_urn": rep.school_urn,
        "school_name": rep.school_name,
        "role": rep.role,
        "summary": _plain(rep.summary),
        "notes": list(rep.notes),
        "need_matrix": _plain(rep.need_matrix.to_dict(orient="records")),
        "corridors": _fc(disclosure.merge_stretches(rep.corridors) if public else rep.corridors),
        "hotspots": _fc(rep.hotspots),
        "attribution": area_attribution(svc.data_dir),
    }
    if rep.safe_places is not None:  # public places; pupil counts published as the others
        out["safe_places"] = _fc(rep.safe_places)
    report(1.0, "done")
    return out


def _plain(value: Any) -> Any:
    return json.loads(
        json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


def _fc(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    gdf = gdf[gdf.geometry.notna()] if len(gdf) else gdf
    feats, _ = to_geojson_features(gdf, [str(i) for i in range(len(gdf))])
    return {"type": "FeatureCollection", "features": [json.loads(f) for f in feats]}


def dumps(doc: dict[str, Any]) -> str:
    """Compact JSON text of a GeoJSON document."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def placement_check(
    svc: LayerSource,
    *,
    schools: Sequence[str],
    home_postcode: str | None = None,
    referral: str | None = None,
    arrive_by: str = "08:45",
    depart: str = "15:15",
    date: str | None = None,
) -> Any:
    """The placement check over the service (analyst only): the home from ``home_postcode``
    or the FAP ``referral``'s, exposure from the service's (analyst) school-run model; see
    :func:`geosafe.risk.placement.check_placement`."""
    from ..geocode.postcodes import lookup_postcodes
    from ..protect.safe_places import load_safe_places
    from ..risk.naming import place_namer
    from ..risk.placement import check_placement, referral_home_and_notes

    notes: dict[str, str] = {}
    if referral:
        home_postcode, notes = referral_home_and_notes(svc.store, referral)
    if not home_postcode:
        raise ValidationError("pass the home postcode in `origins`, or a `referral`.")
    found = lookup_postcodes([home_postcode], data_dir=svc.data_dir)
    if found["reason_code"].iloc[0] is not None:
        msg = (
            f"home postcode {home_postcode!r} is not in this area's postcode list; pass a "
            "postcode inside the area (or build the area with a newer ONS Postcode Directory)."
        )
        raise ValidationError(msg)
    params = AnalysisParams()
    model = exposure_model(svc, params)
    day = _travel_date(svc, params, date)
    return check_placement(
        (float(found["easting"].iloc[0]), float(found["northing"].iloc[0])),
        schools,
        home_label=" ".join(str(home_postcode).upper().split()),
        network=walk_network(svc),
        router=transit_router(svc),
        morning=model,
        afternoon=model,
        arrive_by=_time(arrive_by),
        depart=_time(depart),
        date=day,
        date_reason="The last day of the analysis period unless a date was given.",
        notes=notes,
        referral_id=referral,
        namer=place_namer(svc.data_dir),
        data_dir=svc.data_dir,
        safe_places=load_safe_places(svc.store),
    )

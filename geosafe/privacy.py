"""Disclosure control: what each role may see, and how aggregates are published.

Outside the analyst role (``school``, ``neighbourhood``) every output obeys these rules:

- no incident points, no free text, no personal or referral fields (postcode, ethnicity,
  gender, year group, notes, refs, ages, addresses): properties pass through a per-role
  pydantic model that only *has* the allowed fields (:data:`ROLE_MODELS`), so an unknown or
  personal field cannot slip through;
- counts of 1-9 are suppressed (published as ``null`` with ``suppressed: true``) and all
  others rounded to the nearest 5 (ONS practice); totals are rounded independently from the
  unrounded total (:func:`round_count`);
- nothing finer than H3 resolution 8 or LSOA (:func:`coarsen_cell`, :func:`aggregate_counts`);
- density surfaces are computed from aggregated (cell-centroid) inputs and thresholded
  (:func:`density_input`, :func:`threshold_density`);
- clusters only with at least 10 incidents and only as hulls (:func:`publish_clusters`);
- ``datetime`` must be a whole, already published month, quarter or year and filters are
  named presets (:func:`published_period`, :func:`check_query`), so two overlapping requests
  cannot be subtracted to reveal a small count.

Analysts see incident-level data; every such read is audited (:mod:`geosafe.access.audit`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from . import periods
from ._errors import AccessDeniedError, DisclosureError, NotFoundError
from .access.tokens import Principal

__all__ = [
    "MAX_PUBLIC_H3_RESOLUTION",
    "PERSONAL_FIELDS",
    "ROLE_MODELS",
    "AnalystProperties",
    "NeighbourhoodProperties",
    "Period",
    "SchoolProperties",
    "aggregate_counts",
    "allowed_fields",
    "check_query",
    "check_school",
    "clip_to_scope",
    "coarsen_cell",
    "coarsen_incidents",
    "density_input",
    "mask_to_area",
    "publish_clusters",
    "publish_feature_collection",
    "publish_features",
    "publish_properties",
    "published_period",
    "round_count",
    "round_counts",
    "threshold_density",
]

#: Finest H3 resolution published outside the analyst role (edge ~0.46 km, area ~0.74 km²).
MAX_PUBLIC_H3_RESOLUTION: Final = 8
#: Counts from 1 to ``SUPPRESS_BELOW - 1`` are suppressed.
SUPPRESS_BELOW: Final = 10
#: Published counts are multiples of this.
ROUND_TO: Final = 5
#: Smallest published cluster, incidents.
MIN_CLUSTER_SIZE: Final = 10

#: Fields that never leave the analyst role (personal, referral, free text, refs, exact place).
PERSONAL_FIELDS: Final = frozenset(
    {
        "postcode",
        "home_postcode",
        "ethnicity",
        "gender",
        "year_group",
        "notes",
        "notes_peer_group",
        "notes_school",
        "notes_neighbourhood",
        "school_response",
        "description",
        "offence",
        "address",
        "location_text",
        "station",
        "victim_age",
        "suspect_age",
        "age",
        "detail",
        "incident_id",
        "source_ref",
        "dir_ref",
        "asif_ref",
        "crn",
        "referral_id",
        "lon",
        "lat",
        "latitude",
        "longitude",
        "easting",
        "northing",
        "stop_code",
        "batch_id",
        "occurred_from",
        "occurred_to",
    }
)

#: Query parameters a non-analyst may not send: free time windows and raw filters (use a
#: named ``preset`` and a published ``datetime`` period instead).
FORBIDDEN_PARAMS: Final = frozenset(
    {
        "start",
        "end",
        "from",
        "to",
        "from_date",
        "to_date",
        "from-date",
        "to-date",
        "date",
        "time",
        "hours",
        "weekdays",
        "filter",
        "filter-lang",
        "ids",
        "incident_id",
        "eps_m",
        "min_samples",
    }
)


# -- counts -------------------------------------------------------------------------------
def round_count(
    n: float | None, *, base: int = ROUND_TO, suppress_below: int = SUPPRESS_BELOW
) -> int | None:
    """A count as published: ``None`` (suppressed) for 1..``suppress_below``-1, else the
    nearest multiple of ``base`` (halves round up). Zero stays zero.

    Examples
    --------
    >>> [round_count(n) for n in (0, 1, 9, 10, 12, 13, 17, 18)]
    [0, None, None, 10, 10, 15, 15, 20]
    """
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return None
    value = float(n)
    if value < 0:
        msg = f"count {n!r} is negative; counts are numbers of incidents."
        raise DisclosureError(msg)
    if value == 0:
        return 0
    if value < suppress_below:
        return None
    return int(math.floor(value / base + 0.5) * base)


def round_counts(
    counts: Iterable[float], *, base: int = ROUND_TO, suppress_below: int = SUPPRESS_BELOW
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`round_count`: published values (float, NaN where suppressed) and a
    boolean ``suppressed`` array."""
    c = np.asarray(list(counts) if not isinstance(counts, np.ndarray) else counts, dtype=float)
    if np.any(c < 0):
        raise DisclosureError(f"counts {c[c < 0][:3].tolist()!r} are negative.")
    suppressed = (c > 0) & (c < suppress_below)
    out = np.floor(c / base + 0.5) * base
    out[suppressed] = np.nan
    return out, suppressed


# -- geography ----------------------------------------------------------------------------
def coarsen_cell(cell: str, *, max_resolution: int = MAX_PUBLIC_H3_RESOLUTION) -> str:
    """The cell itself, or its parent at ``max_resolution`` when it is finer."""
    res = h3.get_resolution(cell)
    return h3.cell_to_parent(cell, max_resolution) if res > max_resolution else cell


def _cells_of(gdf: gpd.GeoDataFrame, resolution: int) -> pd.Series:
    """One H3 cell per incident at ``resolution`` or its own coarser cell (never finer than
    the incident's precision allows)."""
    out: list[str | None] = []
    has_cell = "h3_cell" in gdf.columns
    if "lon" in gdf.columns and "lat" in gdf.columns:
        lon = gdf["lon"].to_numpy(dtype=float)
        lat = gdf["lat"].to_numpy(dtype=float)
    else:
        wgs = gdf.geometry.to_crs("EPSG:4326").representative_point()
        lon, lat = wgs.x.to_numpy(), wgs.y.to_numpy()
    cells = gdf["h3_cell"].tolist() if has_cell else [None] * len(gdf)
    for x, y, own in zip(lon, lat, cells, strict=True):
        if isinstance(own, str) and own and h3.get_resolution(own) <= resolution:
            out.append(own)
        elif np.isfinite(x) and np.isfinite(y):
            out.append(h3.latlng_to_cell(float(y), float(x), resolution))
        elif isinstance(own, str) and own:
            out.append(h3.cell_to_parent(own, resolution))
        else:
            out.append(None)
    return pd.Series(out, index=gdf.index, dtype=object)


def aggregate_counts(
    incidents: gpd.GeoDataFrame,
    *,
    by: str = "h3",
    resolution: int = MAX_PUBLIC_H3_RESOLUTION,
    areas: gpd.GeoDataFrame | None = None,
    area_id: str = "lsoa_code",
    weight: str | None = None,
) -> gpd.GeoDataFrame:
    """Incidents counted per H3 cell (``by="h3"``) or per area (``by="area"``: LSOAs by
    default), published: ``count`` rounded to 5 with 1-9 suppressed, ``suppressed`` flag.

    Parameters
    ----------
    incidents
        Incident frame (:data:`geosafe.incident.FRAME_COLUMNS`, EPSG:27700).
    by
        ``"h3"`` or ``"area"``.
    resolution
        H3 resolution; capped at :data:`MAX_PUBLIC_H3_RESOLUTION`. Incidents whose own cell is
        coarser (imprecise locations) are counted in that coarser cell.
    areas
        Polygons (EPSG:27700) for ``by="area"``; default the bundled 2021 LSOAs.
    weight
        Optional column of weights (incident counts are the sum, rounded after summing).

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell`` (or ``area_id``), ``count`` (float, NaN when suppressed), ``suppressed``,
        geometry (the cell or area polygon, EPSG:27700).
    """
    resolution = min(int(resolution), MAX_PUBLIC_H3_RESOLUTION)
    w = (
        incidents[weight].to_numpy(dtype=float)
        if weight is not None
        else np.ones(len(incidents), dtype=float)
    )
    if by == "h3":
        cells = _cells_of(incidents, resolution) if len(incidents) else pd.Series([], dtype=object)
        frame = pd.DataFrame({"cell": cells.to_numpy(), "w": w}).dropna(subset=["cell"])
        sums = frame.groupby("cell", sort=True)["w"].sum()
        geoms = [_cell_polygon(c) for c in sums.index]
        out = gpd.GeoDataFrame(
            {
                "cell": sums.index.astype(str),
                "resolution": [h3.get_resolution(c) for c in sums.index],
            },
            geometry=gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs("EPSG:27700"),
        )
        raw = sums.to_numpy()
    elif by == "area":
        if areas is None:
            from . import datasets

            areas = datasets.lsoas()
        pts = incidents.loc[incidents.geometry.notna()].copy()
        pts["w"] = w[incidents.geometry.notna().to_numpy()]
        pts["geometry"] = pts.geometry.representative_point()
        joined = gpd.sjoin(pts[["w", "geometry"]], areas[[area_id, "geometry"]], predicate="within")
        sums = joined.groupby(area_id)["w"].sum()
        out = areas[[area_id, "geometry"]].copy()
        raw = out[area_id].map(sums).fillna(0.0).to_numpy()
    else:
        raise DisclosureError(f"`by` {by!r} is not supported; use 'h3' or 'area'.")
    published, suppressed = round_counts(raw)
    out["count"] = published
    out["suppressed"] = suppressed
    return out.reset_index(drop=True)


def _cell_polygon(cell: str) -> Any:
    from shapely.geometry import Polygon

    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
    return Polygon(ring)


# -- density and clusters -----------------------------------------------------------------
def density_input(
    incidents: gpd.GeoDataFrame, *, resolution: int = MAX_PUBLIC_H3_RESOLUTION
) -> gpd.GeoDataFrame:
    """Aggregated points for a public density surface: one point per H3 cell centroid
    (EPSG:27700) with ``weight`` = the cell's *published* count (rounded to 5; cells of 1-9
    dropped). Kernel density over these never locates an incident more finely than its cell,
    and inverting the kernel recovers at most the published counts."""
    resolution = min(int(resolution), MAX_PUBLIC_H3_RESOLUTION)
    cells = _cells_of(incidents, resolution).dropna()
    raw = cells.value_counts().sort_index()
    published, _ = round_counts(raw.to_numpy(dtype=float))
    counts = pd.Series(published, index=raw.index)
    counts = counts[np.isfinite(counts) & (counts > 0)]
    pts = [h3.cell_to_latlng(c) for c in counts.index]
    geom = gpd.points_from_xy([p[1] for p in pts], [p[0] for p in pts], crs="EPSG:4326")
    return gpd.GeoDataFrame(
        {"cell": counts.index.astype(str), "weight": counts.to_numpy(dtype=float)},
        geometry=geom,
    ).to_crs("EPSG:27700")


def threshold_density(
    grid: np.ndarray, *, cell_area_km2: float, min_incidents: float = SUPPRESS_BELOW
) -> np.ndarray:
    """A density grid (incidents per km²) with every value whose cell holds less than
    ``min_incidents`` expected incidents set to 0 (published surfaces show only areas with
    enough incidents behind them)."""
    g = np.asarray(grid, dtype=float).copy()
    expected = g * cell_area_km2
    total = float(np.nansum(expected))
    if total < min_incidents:
        return np.zeros_like(g)
    # Keep a cell only if the densest cells down to it hold at least min_incidents together.
    order = np.argsort(g, axis=None)[::-1]
    cum = np.cumsum(np.nan_to_num(expected.ravel()[order]))
    keep = np.zeros(g.size, dtype=bool)
    first = int(np.searchsorted(cum, min_incidents))
    # every cell at or above the density reached when min_incidents is accumulated
    cutoff = g.ravel()[order[min(first, g.size - 1)]]
    keep[np.flatnonzero(g.ravel() >= cutoff)] = True
    g.ravel()[~keep] = 0.0
    return np.nan_to_num(g)


def coarsen_incidents(
    incidents: gpd.GeoDataFrame,
    incident_filter: Any = None,
    *,
    resolution: int = MAX_PUBLIC_H3_RESOLUTION,
) -> gpd.GeoDataFrame:
    """Incident rows fit to feed a model whose outputs go to non-analysts (journey exposure,
    school reports): filtered first, then per H3 cell (resolution 8, or an incident's own
    coarser cell) exactly the cell's *published* count of rows (1-9 dropped, others rounded to
    5 by repeating or dropping rows), every one placed at the cell's centre. Times, sources,
    categories, routes and ``precision_m`` are kept, so time-window filters and a model's
    precision rules still apply; ids are renumbered.

    Parameters
    ----------
    incidents
        Incident frame (:data:`geosafe.incident.FRAME_COLUMNS`, EPSG:27700).
    incident_filter
        Applied before counting (an :class:`geosafe.filters.IncidentFilter` or ``None``), so
        the per-cell counts are those of the rows the model will use.
    resolution
        H3 resolution, capped at :data:`MAX_PUBLIC_H3_RESOLUTION`.
    """
    resolution = min(int(resolution), MAX_PUBLIC_H3_RESOLUTION)
    rel = incident_filter.apply(incidents) if incident_filter is not None else incidents
    rel = rel[rel.geometry.notna()]
    if rel.empty:
        return rel.copy()
    cells = _cells_of(rel, resolution).to_numpy()
    parts = []
    for cell in sorted({c for c in cells if isinstance(c, str)}):
        group = rel[cells == cell]
        published = round_count(len(group)) or 0
        if published == 0:
            continue
        part = group.iloc[np.resize(np.arange(len(group)), published)].copy()
        lat, lng = h3.cell_to_latlng(cell)
        part["lon"], part["lat"], part["h3_cell"] = lng, lat, cell
        if "incident_id" in part.columns:
            part["incident_id"] = [f"cell:{cell}:{k}" for k in range(published)]
        part["geometry"] = (
            gpd.GeoSeries(gpd.points_from_xy([lng] * published, [lat] * published, crs="EPSG:4326"))
            .to_crs(rel.crs or "EPSG:27700")
            .to_numpy()
        )
        parts.append(part)
    if not parts:
        return rel.iloc[0:0].copy()
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=rel.crs)


def mask_to_area(grid: np.ndarray, transform: Any, area: Any) -> np.ndarray:
    """A raster grid with every cell whose centre lies outside ``area`` (same CRS as the
    grid's ``transform``) set to NaN: a neighbourhood's surfaces stop at its boundary."""
    from rasterio.features import geometry_mask

    g = np.asarray(grid, dtype=float)
    outside = geometry_mask([area], out_shape=g.shape, transform=transform, invert=False)
    return np.where(outside, np.nan, g)


def publish_clusters(
    clusters: gpd.GeoDataFrame,
    *,
    count_column: str = "n_incidents",
    min_size: int = MIN_CLUSTER_SIZE,
    blur_m: float = 100.0,
) -> gpd.GeoDataFrame:
    """Clusters as non-analysts see them: only those with at least ``min_size`` incidents,
    only as hulls, counts rounded.

    A convex hull's corners are incident locations, so each hull is grown by ``blur_m``
    metres (EPSG:27700) and simplified: no published vertex is an incident's point, and the
    shape stays within ``blur_m`` of the cluster."""
    if count_column not in clusters.columns:
        msg = f"clusters have no `{count_column}` column; pass `count_column=` naming it."
        raise DisclosureError(msg)
    keep = clusters[clusters[count_column].astype(float) >= min_size].copy()
    if len(keep):
        crs = keep.crs
        geom = (
            keep.geometry if crs is None or crs.to_epsg() == 27700 else keep.geometry.to_crs(27700)
        )
        blurred = geom.convex_hull.buffer(blur_m, quad_segs=4).simplify(blur_m / 10.0)
        keep["geometry"] = blurred if crs is None or crs.to_epsg() == 27700 else blurred.to_crs(crs)
    keep[count_column] = round_counts(keep[count_column].to_numpy(dtype=float))[0]
    return keep


# -- time and query -----------------------------------------------------------------------
# Periods are parsed in one place (geosafe.periods), for the check and the analysis alike.
Period = periods.Period
published_period = periods.published_period
whole_period = periods.whole_period


def _presets() -> tuple[str, ...]:
    try:
        from .filters import PRESETS

        return tuple(PRESETS)
    except Exception:  # hotspots' filters unavailable: the documented core presets
        return ("school-run", "all-day", "evenings")


def check_query(principal: Principal, params: Mapping[str, str]) -> Period | None:
    """Refuse query parameters a non-analyst may not send; return the published period.

    Non-analysts: ``datetime`` must be a whole published month/quarter/year; ``preset`` one
    of :data:`geosafe.filters.PRESETS`; free time windows and raw filters
    (:data:`FORBIDDEN_PARAMS`) are refused; ``resolution`` at most 8.

    Raises
    ------
    DisclosureError
        Naming the parameter and what to send instead.
    """
    if principal.is_analyst:
        return None
    bad = sorted(k for k in params if k.lower() in FORBIDDEN_PARAMS)
    if bad:
        msg = (
            f"parameter(s) {bad!r} are not available to the {principal.role!r} role; use a "
            "named `preset` and a published `datetime` period (month, quarter or year)."
        )
        raise DisclosureError(msg)
    preset = params.get("preset")
    presets = _presets()
    if preset is not None and preset not in presets:
        msg = f"`preset` {preset!r} is not a named preset; use one of {', '.join(presets)}."
        raise DisclosureError(msg)
    res = params.get("resolution")
    if res is not None:
        try:
            res_i = int(res)
        except ValueError:
            res_i = 99
        if res_i > MAX_PUBLIC_H3_RESOLUTION:
            msg = (
                f"`resolution` {res!r} is finer than this role may see; use H3 resolution "
                f"{MAX_PUBLIC_H3_RESOLUTION} or coarser."
            )
            raise DisclosureError(msg)
    dt_text = params.get("datetime")
    return published_period(dt_text) if dt_text is not None else None


def check_school(principal: Principal, urn: str | None) -> None:
    """A school principal may only name its own URN: any other answers 404 (not 403, which
    would confirm the other school's existence)."""
    if principal.role == "school" and urn is not None and str(urn) != principal.school_urn:
        raise NotFoundError(f"school {urn!r} not found.")


def clip_to_scope(principal: Principal, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows a neighbourhood principal may see (those intersecting its area, EPSG:27700);
    every row for other roles."""
    if principal.role != "neighbourhood" or principal.area is None or gdf.empty:
        return gdf
    frame = gdf if gdf.crs is None or gdf.crs.to_epsg() == 27700 else gdf.to_crs("EPSG:27700")
    return gdf.loc[frame.intersects(principal.area).to_numpy()]


# -- per-role response models -------------------------------------------------------------
class _Published(BaseModel):
    """Properties every non-analyst may see (aggregated layers)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cell: str | None = None
    resolution: int | None = None
    lsoa_code: str | None = None
    ward_code: str | None = None
    name: str | None = None
    borough: str | None = None
    period: str | None = None
    preset: str | None = None
    source: str | None = None
    category: str | None = None
    count: int | None = None
    total: int | None = None
    suppressed: bool | None = None
    density: float | None = None
    level: str | None = None
    rank: int | None = None
    gi_z: float | None = None
    gi_p: float | None = None
    hotspot: str | None = None
    trend: str | None = None
    cluster_id: int | None = None
    hotspot_id: int | None = None
    n_incidents: int | None = None
    incidents: int | None = None
    peak_density_km2: float | None = None
    mean_density: float | None = None
    active: str | list[Any] | None = None
    threshold: float | None = None
    synthetic: bool | None = None
    note: str | None = None


class NeighbourhoodProperties(_Published):
    """What a neighbourhood token sees on a feature: aggregates of its area only."""


class SchoolProperties(_Published):
    """What a school token sees: the neighbourhood aggregates plus its own journeys'
    aggregated exposure (never a pupil's origin or route)."""

    school_urn: str | None = None
    school_name: str | None = None
    route: str | None = None
    leg: str | None = None
    mode: str | None = None
    exposure: float | None = None
    exposure_units: str | None = None
    pupils: int | None = None
    journeys: int | None = None
    minutes: float | None = None
    distance_m: float | None = None
    duration_s: float | None = None
    depart_s: float | None = None
    arrive_s: float | None = None
    snap_m: float | None = None
    legs: list[dict[str, Any]] | None = None
    hotspots_crossed: list[Any] | None = None
    alt_distance_m: float | None = None
    alt_exposure: float | None = None
    alt_geometry: dict[str, Any] | None = None
    error: str | None = None
    kind: str | None = None
    length_m: float | None = None
    mean_density_km2: float | None = None


class AnalystProperties(BaseModel):
    """Analysts see every property (incident-level, audited)."""

    model_config = ConfigDict(extra="allow", frozen=True)


ROLE_MODELS: Final[dict[str, type[BaseModel]]] = {
    "analyst": AnalystProperties,
    "school": SchoolProperties,
    "neighbourhood": NeighbourhoodProperties,
}

#: Count-like properties rounded and suppressed for non-analysts.
COUNT_FIELDS: Final = frozenset(
    {"count", "total", "n_incidents", "incidents", "pupils", "journeys"}
)


def allowed_fields(role: str) -> frozenset[str] | None:
    """Property names a role may receive; ``None`` means all (analyst)."""
    model = ROLE_MODELS.get(role)
    if model is None:
        raise AccessDeniedError(f"role {role!r} is not a role.")
    if model is AnalystProperties:
        return None
    return frozenset(model.model_fields) - PERSONAL_FIELDS


def publish_properties(principal: Principal, props: Mapping[str, Any]) -> dict[str, Any]:
    """One feature's properties as the principal's role may see them: through the role's
    model (unknown and personal fields dropped), count fields rounded / suppressed."""
    if principal.is_analyst:
        return dict(props)
    model = ROLE_MODELS[principal.role]
    clean: dict[str, Any] = {}
    for key, value in props.items():
        if key in PERSONAL_FIELDS or key not in model.model_fields:
            continue
        if key in COUNT_FIELDS and value is not None:
            try:
                v = float(value)
            except (TypeError, ValueError):
                msg = f"count field `{key}` holds {value!r}, not a number; it cannot be published."
                raise DisclosureError(msg) from None
            value = None if math.isnan(v) else round_count(v)
            if value is None and key == "count":
                clean["suppressed"] = True
        elif isinstance(value, float) and math.isnan(value):
            value = None
        clean[key] = value
    cell = clean.get("cell")
    if (
        isinstance(cell, str)
        and h3.is_valid_cell(cell)
        and h3.get_resolution(cell) > MAX_PUBLIC_H3_RESOLUTION
    ):
        msg = f"cell {cell!r} is finer than H3 resolution {MAX_PUBLIC_H3_RESOLUTION}."
        raise DisclosureError(msg)
    try:
        return model.model_validate(clean).model_dump(exclude_none=True)
    except PydanticValidationError as exc:  # fail closed: never publish what does not fit
        msg = (
            f"properties {sorted(clean)!r} do not fit the {principal.role!r} response model "
            f"({exc.error_count()} error(s), first: {exc.errors()[0]['msg']}); fix the layer's types."
        )
        raise DisclosureError(msg) from None


def publish_features(
    principal: Principal,
    collection_id: str,
    gdf: gpd.GeoDataFrame,
    *,
    incident_level: bool = False,
    reference: bool = False,
) -> gpd.GeoDataFrame:
    """A layer's features as the principal may see them.

    Parameters
    ----------
    principal
        Who asks.
    collection_id
        The collection (used in messages).
    gdf
        The layer (EPSG:27700), properties as columns.
    incident_level
        Whether rows are individual incidents (``incidents`` collection, downloads): refused
        for every role but analyst.
    reference
        Public reference data (schools, bus stops, wards): passed through unchanged.

    Raises
    ------
    AccessDeniedError
        Incident-level data for a non-analyst.
    DisclosureError
        A point geometry in an incident-derived layer for a non-analyst.
    """
    if principal.is_analyst:
        return gdf
    if incident_level:
        msg = (
            f"collection {collection_id!r} holds incident-level data, available to the "
            f"analyst role only (this token's role is {principal.role!r})."
        )
        raise AccessDeniedError(msg)
    if reference:
        return gdf
    scoped = clip_to_scope(principal, gdf)
    if len(scoped) and scoped.geometry.notna().any():
        kinds = set(scoped.geometry.dropna().geom_type)
        if kinds & {"Point", "MultiPoint"}:
            msg = (
                f"collection {collection_id!r} has point features; non-analyst roles get "
                "aggregates only (cells, areas, hulls)."
            )
            raise DisclosureError(msg)
    rows = [
        publish_properties(principal, r) for r in scoped.drop(columns="geometry").to_dict("records")
    ]
    props = (
        pd.DataFrame.from_records(rows, index=scoped.index)
        if rows
        else pd.DataFrame(index=scoped.index)
    )
    return gpd.GeoDataFrame(props, geometry=scoped.geometry.to_numpy(), crs=scoped.crs)


def publish_feature_collection(principal: Principal, fc: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (a dict) as the principal may see it: each feature's
    properties through :func:`publish_properties`; point features refused outside the
    analyst role; collection-level members other than ``type``/``features``/``links`` kept
    only for analysts."""
    if principal.is_analyst:
        return fc
    features = []
    for f in fc.get("features", []):
        geom = f.get("geometry") or {}
        if geom.get("type") in ("Point", "MultiPoint"):
            msg = "a point feature cannot be published to a non-analyst role."
            raise DisclosureError(msg)
        features.append(
            {**f, "properties": publish_properties(principal, f.get("properties") or {})}
        )
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if "links" in fc:
        out["links"] = fc["links"]
    return out

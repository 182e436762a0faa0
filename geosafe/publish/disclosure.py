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
- every geometry is built from the published aggregates, never from incident coordinates:
  density surfaces are smoothed from the published cell counts at the cell centres with a
  kernel wider than the cell spacing (:func:`density_input`, :func:`public_kde_settings`);
  clusters (10 or more incidents) are outlined by the union of their published cells
  (:func:`publish_clusters`); corridor stretches are merged by street and published count
  (:func:`merge_stretches`);
- ``datetime`` must be a whole, already published month, quarter or year and filters are
  named presets (:func:`published_period`, :func:`check_query`), so two overlapping requests
  cannot be subtracted to reveal a small count.

Analysts see incident-level data; every such read is audited (:mod:`geosafe.access.audit`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import h3
import numpy as np
import shapely

from .. import periods
from .._errors import DisclosureError, NotFoundError
from .._lazy import LazyModule
from .cell import published_cell
from .scope import MAX_PUBLIC_H3_RESOLUTION

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
else:  # the serving process checks queries with neither (api/security.py)
    gpd = LazyModule("geopandas")
    pd = LazyModule("pandas")

__all__ = [
    "MAX_PUBLIC_H3_RESOLUTION",
    "Period",
    "Viewer",
    "aggregate_counts",
    "cell_polygon",
    "cells_outline",
    "check_query",
    "check_school",
    "clip_to_scope",
    "coarsen_cell",
    "coarsen_incidents",
    "density_input",
    "mask_to_area",
    "merge_stretches",
    "public_kde_settings",
    "publish_clusters",
    "published_cell",
    "published_cells",
    "published_period",
    "round_count",
    "round_counts",
    "suppressed_incidents",
    "threshold_density",
]


class Viewer(Protocol):
    """Who asks (a :class:`geosafe.access.tokens.Principal` or anything with its attributes)."""

    @property
    def role(self) -> str: ...

    @property
    def school_urn(self) -> str | None: ...

    @property
    def area(self) -> Any: ...

    @property
    def is_analyst(self) -> bool: ...


#: Counts from 1 to ``SUPPRESS_BELOW - 1`` are suppressed.
SUPPRESS_BELOW: Final = 10
#: Published counts are multiples of this.
ROUND_TO: Final = 5
#: Smallest published cluster, incidents.
MIN_CLUSTER_SIZE: Final = 10

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
        out.append(published_cell(own, x, y, resolution))
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
        geoms = [cell_polygon(c) for c in sums.index]
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
            from .. import datasets

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


def cell_polygon(cell: str) -> Any:
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
    incidents: gpd.GeoDataFrame,
    *,
    count_column: str = "n_incidents",
    min_size: int = MIN_CLUSTER_SIZE,
    resolution: int = MAX_PUBLIC_H3_RESOLUTION,
) -> gpd.GeoDataFrame:
    """Clusters as non-analysts see them: only those with at least ``min_size`` incidents,
    each outlined by the union of the *published* H3 cells (resolution 8; cells whose
    published count is at least 10) that hold its incidents, counts rounded.

    A hull, however buffered, is drawn around incident points and can be shrunk back to
    them; a union of published cells has only the H3 grid's vertices, which say nothing
    the published cell counts do not. A cluster none of whose cells is published is left
    out.

    Parameters
    ----------
    clusters
        The analyst's clusters (EPSG:27700 hulls) with ``count_column``.
    incidents
        The incidents the clusters were made from (EPSG:27700); an incident belongs to the
        cluster whose hull covers it.
    """
    if count_column not in clusters.columns:
        msg = f"clusters have no `{count_column}` column; pass `count_column=` naming it."
        raise DisclosureError(msg)
    keep = clusters[clusters[count_column].astype(float) >= min_size].copy()
    if keep.crs is not None and keep.crs.to_epsg() != 27700:
        keep = keep.to_crs(27700)
    shown = published_cells(incidents, resolution=resolution)
    cells = _cells_of(incidents, resolution) if len(incidents) else pd.Series([], dtype=object)
    reps = (
        incidents.geometry.representative_point().to_numpy()
        if len(incidents)
        else np.array([], dtype=object)
    )
    geoms: list[Any] = []
    n_cells: list[int] = []
    for hull in keep.geometry:
        inside = shapely.covers(hull, reps) if len(reps) else np.zeros(0, dtype=bool)
        mine = sorted({c for c in cells.to_numpy()[inside] if c in shown.index})
        n_cells.append(len(mine))
        geoms.append(cells_outline(mine) if mine else None)
    keep["geometry"] = geoms
    keep["cells"] = n_cells
    keep = keep[keep["cells"] > 0]
    keep[count_column] = round_counts(keep[count_column].to_numpy(dtype=float))[0]
    keep["method"] = (
        f"outline: union of the published H3 resolution-{resolution} cells (10 or more "
        "incidents, rounded to 5) holding the cluster's incidents"
    )
    return gpd.GeoDataFrame(keep, geometry="geometry", crs=27700)


def suppressed_incidents(
    incidents: gpd.GeoDataFrame, *, resolution: int = MAX_PUBLIC_H3_RESOLUTION
) -> int:
    """How many ``incidents`` lie in H3 cells whose count (1-9) is suppressed."""
    if len(incidents) == 0:
        return 0
    sizes = _cells_of(incidents, resolution).value_counts()
    return int(sizes[(sizes > 0) & (sizes < SUPPRESS_BELOW)].sum())


def cells_outline(cells: list[str]) -> Any:
    """The union of H3 cells as one EPSG:27700 (Multi)Polygon, traced by H3 itself so its
    vertices are exactly the cells' vertices (a union computed after projecting each cell
    would add vertices where projected neighbours' edges do not quite meet)."""
    from shapely.geometry import shape

    res = max(h3.get_resolution(c) for c in cells)  # a coarser cell by its children
    same = sorted({k for c in cells for k in h3.cell_to_children(c, res)})
    outline = shape(h3.cells_to_h3shape(same).__geo_interface__)
    return gpd.GeoSeries([outline], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]


def published_cells(
    incidents: gpd.GeoDataFrame, *, resolution: int = MAX_PUBLIC_H3_RESOLUTION
) -> gpd.GeoSeries:
    """The H3 cells whose published count is shown (10 or more incidents; 1-9 are
    suppressed): their polygons (EPSG:27700) indexed by cell id."""
    counts = aggregate_counts(incidents, resolution=resolution)
    shown = counts[counts["count"].fillna(0) >= SUPPRESS_BELOW]
    return gpd.GeoSeries(shown.geometry.to_numpy(), index=shown["cell"].to_numpy(), crs=27700)


def merge_stretches(
    corridors: gpd.GeoDataFrame,
    *,
    value: str = "pupils",
    by: tuple[str, ...] = ("kind", "name"),
) -> gpd.GeoDataFrame:
    """Corridor stretches (published, rounded ``value``) merged per ``by`` and published
    value, so where a street is split says no more than the rounded counts do: two
    stretches of one street whose exact counts differ by one pupil but round alike become
    one feature. ``length_m`` is summed and ``mean_density_km2`` length-weighted."""
    if corridors.empty:
        return corridors
    keys = [k for k in by if k in corridors.columns] + [value]
    frame = corridors.copy()
    frame["_key"] = list(zip(*(frame[k].astype(str) for k in keys), strict=True))
    rows = []
    for _, grp in frame.groupby("_key", sort=False):
        row = grp.iloc[0].drop(labels=["_key"]).to_dict()
        geoms = grp.geometry.dropna().to_numpy()
        merged = shapely.union_all(geoms) if len(geoms) else None
        if merged is not None and merged.geom_type == "MultiLineString":
            merged = shapely.line_merge(merged)
        if merged is not None:  # drop the vertices left where stretches met in a straight line
            merged = shapely.simplify(merged, 0.0)
        row["geometry"] = merged
        if "length_m" in grp.columns:
            lengths = grp["length_m"].astype(float)
            row["length_m"] = round(float(lengths.sum()), 1)
            if "mean_density_km2" in grp.columns:
                dens = grp["mean_density_km2"].astype(float)
                ok = dens.notna() & (lengths > 0)
                row["mean_density_km2"] = (
                    round(float((dens[ok] * lengths[ok]).sum() / lengths[ok].sum()), 2)
                    if ok.any()
                    else None
                )
        row["stretches"] = len(grp)
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=corridors.crs).reset_index(drop=True)


#: Smallest kernel bandwidth of a public density surface, metres: wider than the spacing of
#: the H3 resolution-8 cell centres it smooths (~800 m), so the surface is a smooth blend of
#: neighbouring published counts rather than one bump per cell.
PUBLIC_MIN_BANDWIDTH_M: Final = 1000.0
#: Smallest grid cell of a public density surface, metres.
PUBLIC_MIN_CELL_M: Final = 50.0


def public_kde_settings(bandwidth_m: float, cell_m: float) -> tuple[float, float, str]:
    """The bandwidth and cell (metres) a public density surface is computed with, and the
    sentence the layer carries to say what was done."""
    bw = max(float(bandwidth_m), PUBLIC_MIN_BANDWIDTH_M)
    cell = max(float(cell_m), PUBLIC_MIN_CELL_M)
    text = (
        f"smoothed from the published H3 resolution-{MAX_PUBLIC_H3_RESOLUTION} cell counts "
        f"(1-9 suppressed, others rounded to 5) placed at the cell centres, quartic kernel "
        f"of bandwidth {bw:g} m on a {cell:g} m grid"
    )
    if bw != float(bandwidth_m) or cell != float(cell_m):
        text += (
            f" (asked for {float(bandwidth_m):g} m and {float(cell_m):g} m: widened for this role)"
        )
    return bw, cell, text


# -- time and query -----------------------------------------------------------------------
# Periods are parsed in one place (geosafe.periods), for the check and the analysis alike.
Period = periods.Period
published_period = periods.published_period
whole_period = periods.whole_period


def _presets() -> tuple[str, ...]:
    try:
        from ..filters import PRESETS

        return tuple(PRESETS)
    except Exception:  # hotspots' filters unavailable: the documented core presets
        return ("school-run", "all-day", "evenings")


def check_query(principal: Viewer, params: Mapping[str, str]) -> Period | None:
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
    presets = _presets() if preset is not None else ()
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


def check_school(principal: Viewer, urn: str | None) -> None:
    """A school principal may only name its own URN: any other answers 404 (not 403, which
    would confirm the other school's existence)."""
    if principal.role == "school" and urn is not None and str(urn) != principal.school_urn:
        raise NotFoundError(f"school {urn!r} not found.")


def clip_to_scope(principal: Viewer, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows a neighbourhood principal may see (those intersecting its area, EPSG:27700);
    every row for other roles."""
    if principal.role != "neighbourhood" or principal.area is None or gdf.empty:
        return gdf
    frame = gdf if gdf.crs is None or gdf.crs.to_epsg() == 27700 else gdf.to_crs("EPSG:27700")
    return gdf.loc[frame.intersects(principal.area).to_numpy()]

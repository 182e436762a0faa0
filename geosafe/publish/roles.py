"""What each role may see of a feature: per-role property models (a field that the role's
model does not have cannot slip through), counts rounded and suppressed, point features
refused outside the analyst role (:func:`publish_features`,
:func:`publish_feature_collection`). The aggregation rules themselves are in
:mod:`geosafe.publish.disclosure`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import h3
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from .._errors import AccessDeniedError, DisclosureError
from .._lazy import LazyModule
from .disclosure import MAX_PUBLIC_H3_RESOLUTION, Viewer, clip_to_scope, round_count

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
else:  # the serving process reads the fields each role may see with neither
    gpd = LazyModule("geopandas")
    pd = LazyModule("pandas")

__all__ = [
    "COUNT_FIELDS",
    "PERSONAL_FIELDS",
    "ROLE_MODELS",
    "AnalystProperties",
    "NeighbourhoodProperties",
    "SchoolProperties",
    "allowed_fields",
    "publish_feature_collection",
    "publish_features",
    "publish_properties",
]

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
    method: str | None = None
    units: str | None = None
    area_km2: float | None = None
    cells: int | None = None
    stretches: int | None = None
    place_name: str | None = None
    #: a report's name of a hotspot (the same naming as ``place_name``)
    place: str | None = None
    density_class: int | None = None


class NeighbourhoodProperties(_Published):
    """What a neighbourhood token sees on a feature: aggregates of its area only, and which
    school a published corridor cell belongs to (the feature's id already says it: without
    the name a neighbourhood's corridors were stacked, unlabelled cells)."""

    school_urn: str | None = None
    school_name: str | None = None


class SchoolProperties(NeighbourhoodProperties):
    """What a school token sees: the neighbourhood aggregates plus its own journeys'
    aggregated exposure (never a pupil's origin or route)."""

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


def publish_properties(principal: Viewer, props: Mapping[str, Any]) -> dict[str, Any]:
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
    principal: Viewer,
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


def publish_feature_collection(principal: Viewer, fc: dict[str, Any]) -> dict[str, Any]:
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

"""Layers read as they are: the bundled schools and bus stops, and the incidents of the store
(analyst only), published as separate collections by geometry type (points; route stretches
as lines), so a GIS never has to guess one geometry type for mixed features."""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import datasets
from ..incident import CRS_BNG
from .catalogue import INCIDENT_SCHEMA, AnalysisParams
from .layer import Layer, LayerSource, is_synthetic, make_layer

__all__ = [
    "bus_stops_layer",
    "incident_routes_layer",
    "incidents_layer",
    "referral_places_layer",
    "safe_places_layer",
    "schools_layer",
]


def schools_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    gdf = datasets.schools(svc.data_dir, demo_only=True)
    cols = [c for c in ("urn", "name", "address", "postcode", "pupils") if c in gdf.columns]
    frame = gdf[[*cols, "geometry"]].copy()
    if "pupils" in frame.columns:  # a number, not text (blank: unknown)
        frame["pupils"] = pd.to_numeric(frame["pupils"], errors="coerce").astype("Int64")
    frame.index = pd.Index(frame["urn"].astype(str), name="id")
    frame = frame[~frame.index.duplicated()]
    return make_layer("schools", frame, params, synthetic=False)


def bus_stops_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    df = datasets.bus_stops(svc.data_dir, demo_only=True)
    df = df[df["in_demo_area"] & (df["Location_Easting"] > 0) & (df["Location_Northing"] > 0)]
    frame = gpd.GeoDataFrame(
        {
            "stop_code": df["Stop_Code_LBSL"].to_numpy(),
            "naptan_atco": df["Naptan_Atco"].to_numpy(),
            "name": df["Stop_Name"].to_numpy(),
        },
        geometry=gpd.points_from_xy(df["Location_Easting"], df["Location_Northing"]),
        crs=CRS_BNG,
    )
    ids = np.where(frame["naptan_atco"] != "", frame["naptan_atco"], frame["stop_code"])
    frame.index = pd.Index(ids.astype(str), name="id")
    frame = frame[~frame.index.duplicated()]
    return make_layer("bus-stops", frame, params, synthetic=False)


def safe_places_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """The imported safe places (:mod:`geosafe.protect.safe_places`): public places, no
    free-text notes, read over the reader connection for every role."""
    from ..protect.safe_places import KINDS, public_safe_places

    gdf = public_safe_places(svc.published)
    frame = gpd.GeoDataFrame(
        {
            "name": gdf["name"].to_numpy(),
            "kind": gdf["kind"].to_numpy(),
            "kind_label": gdf["kind"].map(KINDS).to_numpy(),
            "opening_hours": gdf["opening_hours"].to_numpy(),
            "source": gdf["source"].to_numpy(),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=CRS_BNG,
        index=pd.Index(gdf["place_id"].astype(str), name="id"),
    )
    return make_layer("safe-places", frame, params, synthetic=False)


_INCIDENT_PROPS: Final = tuple(name for name, _ in INCIDENT_SCHEMA)


def _incident_layer(
    collection: str, svc: LayerSource, params: AnalysisParams, kinds: tuple[str, ...]
) -> Layer:
    gdf = svc.incidents(params)
    gdf = gdf[gdf.geometry.geom_type.isin(kinds).to_numpy()]
    gdf = gdf.sort_values(["occurred_from", "incident_id"])
    frame = gdf[[*_INCIDENT_PROPS, "geometry"]].copy()
    frame["flags"] = frame["flags"].map(lambda f: ";".join(f) if f else "")
    frame["occurred_from"] = pd.to_datetime(frame["occurred_from"], utc=True)
    frame["occurred_to"] = pd.to_datetime(frame["occurred_to"], utc=True)
    frame.index = pd.Index(gdf["incident_id"].astype(str), name="id")
    return make_layer(
        collection,
        frame,
        params,
        synthetic=is_synthetic(gdf),
        times=(frame["occurred_from"], frame["occurred_to"]),
    )


def incidents_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """Incidents located at a point (analyst only)."""
    return _incident_layer("incidents", svc, params, ("Point",))


def incident_routes_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """Incidents known only along a stretch of bus route, as lines (analyst only)."""
    return _incident_layer("incident-routes", svc, params, ("LineString", "MultiLineString"))


#: ``referral-places`` columns from :func:`geosafe.profile.places.place_table`'s.
_PLACE_COLUMNS: Final = {
    "place": "place",
    "kind": "kind",
    "referrals": "referrals",
    "peer group": "named_in_peer_group_notes",
    "school": "named_in_school_notes",
    "neighbourhood": "named_in_neighbourhood_notes",
    "schools": "schools",
}


def referral_places_layer(svc: LayerSource, params: AnalysisParams) -> Layer:
    """Places named in Fair Access Panel referrals' notes (analyst only): places of concern,
    not incidents; one point per place with the referrals that name it in the period, by the
    note that names it, and the schools those referrals come from."""
    from ..filters import IncidentFilter
    from ..profile.data import load_profile_data
    from ..profile.places import places_layer

    empty = gpd.GeoDataFrame(
        {c: pd.Series([], dtype=object) for c in _PLACE_COLUMNS.values()},
        geometry=[],
        crs=CRS_BNG,
    )
    if svc.store_path is None:
        return make_layer("referral-places", empty, params, synthetic=False)
    start, end = svc.period(params)
    data = load_profile_data(
        svc.store_path, filt=IncidentFilter(sources=("fap",), from_date=start, to_date=end)
    )
    gdf = places_layer(data)
    if gdf.empty:
        return make_layer("referral-places", empty, params, synthetic=is_synthetic(data.incidents))
    frame = gdf.to_crs(CRS_BNG).rename(columns=_PLACE_COLUMNS)
    frame = frame[[*_PLACE_COLUMNS.values(), "geometry"]]
    frame.index = pd.Index(frame["place"].astype(str), name="id")
    return make_layer("referral-places", frame, params, synthetic=is_synthetic(data.incidents))

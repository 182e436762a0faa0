"""Places named in referrals: places of concern, not incidents.

A FAP referral's notes (peer group, school, neighbourhood) may name places: every one of them
is kept (:mod:`geosafe.profile.tables`, ``referral_places``) with the note it came from and the
matched text. They form a table and a layer of their own, shown beside hotspots. Incident
analyses include them only when asked (:func:`places_as_incidents`), and say so.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import pandas as pd

from ..incident import CRS_WGS84
from .data import ProfileData

__all__ = ["NOTE_TYPES", "place_table", "places_as_incidents", "places_layer"]

#: Note column -> note type as shown.
NOTE_TYPES: Final = {
    "notes_peer_group": "peer group",
    "notes_school": "school",
    "notes_neighbourhood": "neighbourhood",
}


def _named(data: ProfileData) -> pd.DataFrame:
    inc = data.incidents[["incident_id", "school_urn", "occurred_from"]]
    out = data.places.merge(inc, on="incident_id")
    out["note_type"] = out["note"].map(NOTE_TYPES).fillna(out["note"])
    return out


def place_table(data: ProfileData) -> pd.DataFrame:
    """Referrals per named place: ``place``, ``kind``, ``referrals``, per note type
    (``peer group``, ``school``, ``neighbourhood``) and ``schools`` (distinct schools whose
    referrals name it), most named first."""
    named = _named(data)
    cols = ["place", "kind", "referrals", *NOTE_TYPES.values(), "schools"]
    if named.empty:
        return pd.DataFrame(columns=cols)
    base = named.groupby("place").agg(
        kind=("kind", "first"),
        referrals=("incident_id", "nunique"),
        schools=("school_urn", lambda s: s.dropna().astype(str).replace("", pd.NA).nunique()),
    )
    by_note = (
        named.groupby(["place", "note_type"])["incident_id"]
        .nunique()
        .unstack("note_type", fill_value=0)
        .reindex(columns=list(NOTE_TYPES.values()), fill_value=0)
    )
    out = base.join(by_note).reset_index()
    out = out.sort_values(["referrals", "place"], ascending=[False, True])
    return out[cols].reset_index(drop=True)


def places_layer(data: ProfileData) -> gpd.GeoDataFrame:
    """The analysts' layer: one point per place with its referral counts (WGS84)."""
    table = place_table(data)
    pts = data.places.dropna(subset=["place"]).drop_duplicates("place")
    pts = pts[pts.geometry.notna()][["place", "geometry"]]
    gdf = gpd.GeoDataFrame(table.merge(pts, on="place"), geometry="geometry", crs=data.places.crs)
    return gdf.to_crs(CRS_WGS84)


def places_as_incidents(data: ProfileData) -> gpd.GeoDataFrame:
    """Named places as extra incident-like points (one per referral and place), for an
    incident analysis that asks for them: ``source`` ``fap_place``, the referral's date,
    ``place``, the ``note`` type naming it, the matched text as ``location_text``,
    ``geocode_method`` of the place. Callers must say they included them."""
    named = _named(data)
    named = named[named.geometry.notna()]
    return gpd.GeoDataFrame(
        {
            "incident_id": named["incident_id"] + "#" + named["place"].astype(str),
            "source": "fap_place",
            "occurred_from": named["occurred_from"],
            "school_urn": named["school_urn"],
            "location_text": named["matched_text"],
            "place": named["place"],
            "note": named["note_type"],
            "geocode_method": named["method"],
            "precision_m": named["precision_m"],
        },
        geometry=named.geometry.to_numpy(),
        crs=data.places.crs,
    )

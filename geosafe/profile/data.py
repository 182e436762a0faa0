"""What the profile analyses read: the filtered incidents (with or without a location), the
people each record names, the three-state flags and the places named in referrals.

The filters are the hotspot commands' (:class:`geosafe.filters.IncidentFilter`: period,
sources, flags, time windows) plus an area. A record without a location (a FAP referral, a
people-list entry) is in the area when its school, or a place its notes name, lies in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..filters import IncidentFilter
from ..incident import CRS_BNG

if TYPE_CHECKING:
    from ..store import IncidentStore

__all__ = ["ProfileData", "load_profile_data", "source_label"]

_VISIBLE: Final = (
    "i.current = 1 AND i.batch_id IN (SELECT batch_id FROM batches WHERE status = 'committed')"
)


def source_label(source: str, category: object) -> str:
    """The name a record's source has in overlaps: the source, or ``people:<list>`` for a
    people list (each list counts as a source of its own)."""
    return f"people:{category}" if source == "people" else source


@dataclass(frozen=True)
class ProfileData:
    """The records one profile run reads (all EPSG:27700).

    Attributes
    ----------
    incidents
        Filtered current incidents, with or without a location, plus ``label`` (the source
        as counted in overlaps).
    links
        ``incident_id``, ``person_key`` (HMAC, never the reference), ``role``.
    flags
        ``incident_id``, ``source``, ``flag``, ``state`` (``Y``, ``N``, ``U``).
    places
        Places named in the referrals kept: ``incident_id``, ``note``, ``matched_text``,
        ``place``, ``kind``, ``method``, ``precision_m``, geometry (a point or ``None``).
    filter, area
        What selected them.
    """

    incidents: gpd.GeoDataFrame
    links: pd.DataFrame
    flags: pd.DataFrame
    places: gpd.GeoDataFrame
    filter: IncidentFilter
    area: BaseGeometry | None = None


def _side(store: IncidentStore, sql: str, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(store.query(sql), columns=columns)


def _in_area(inc: gpd.GeoDataFrame, places: gpd.GeoDataFrame, area: BaseGeometry) -> np.ndarray:
    """Records in the area: by geometry, else by school or a named place."""
    shapely.prepare(area)
    geoms = inc.geometry.to_numpy()
    keep = np.array([g is not None and area.intersects(g) for g in geoms], dtype=bool)
    unplaced = ~np.array([g is not None for g in geoms], dtype=bool)
    if unplaced.any():
        from .. import datasets

        schools = datasets.schools().set_index("urn")
        in_school = schools.geometry.apply(area.contains)
        urns = inc["school_urn"].astype(object).fillna("").astype(str)
        by_school = urns.map(in_school).fillna(False).astype(bool).to_numpy()
        named = set()
        if not places.empty:
            pts = places[places.geometry.notna()]
            named = set(pts.loc[pts.geometry.apply(area.contains), "incident_id"])
        by_place = inc["incident_id"].isin(named).to_numpy()
        keep |= unplaced & (by_school | by_place)
    return keep


def load_profile_data(
    db: Path | str,
    *,
    filt: IncidentFilter | None = None,
    area: BaseGeometry | None = None,
) -> ProfileData:
    """Read what the profile needs from the store, filtered.

    Parameters
    ----------
    db
        The incident store, a SQLite file or a PostGIS URL (opened through
        :func:`geosafe.store.open_store`, which migrates an older schema first).
    filt
        Period, sources, flags, time windows (the hotspot commands' filter).
    area
        Area of interest (EPSG:27700), or ``None`` for everything.
    """
    from ..store import open_store

    filt = filt or IncidentFilter()
    start = pd.Timestamp(filt.from_date) if filt.from_date else None
    end = pd.Timestamp(filt.to_date + dt.timedelta(days=1)) if filt.to_date else None
    with open_store(db) as store:
        inc = store.incidents(
            sources=list(filt.sources) if filt.sources else None,
            start=start,
            end=end,
            with_location=False,
        )
        key = "i.source || ':' || i.source_ref"
        join = "JOIN incidents i ON i.batch_id = t.batch_id AND i.row_no = t.row_no"
        links = _side(
            store,
            f"SELECT {key}, t.person_key, t.role FROM people_links t {join} WHERE {_VISIBLE}",
            ["incident_id", "person_key", "role"],
        )
        flags = _side(
            store,
            f"SELECT {key}, i.source, t.flag, t.state FROM flag_states t {join} WHERE {_VISIBLE}",
            ["incident_id", "source", "flag", "state"],
        )
        places = _side(
            store,
            f"SELECT {key}, t.note, t.matched_text, t.place, t.kind, t.method, t.precision_m, "
            f"t.x, t.y FROM referral_places t {join} WHERE {_VISIBLE}",
            [
                "incident_id",
                "note",
                "matched_text",
                "place",
                "kind",
                "method",
                "precision_m",
                "x",
                "y",
            ],
        )
    inc = filt.apply(inc)
    x = pd.to_numeric(places.pop("x"), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(places.pop("y"), errors="coerce").to_numpy(dtype=float)
    pts = np.full(len(places), None, dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    pts[ok] = shapely.points(x[ok], y[ok])
    place_gdf = gpd.GeoDataFrame(places, geometry=gpd.GeoSeries(pts, crs=CRS_BNG), crs=CRS_BNG)
    if area is not None and len(inc):
        inc = inc[_in_area(inc, place_gdf, area)]
    ids = set(inc["incident_id"])
    inc = inc.copy()
    inc["label"] = [source_label(s, c) for s, c in zip(inc["source"], inc["category"], strict=True)]
    return ProfileData(
        incidents=inc,
        links=links[links["incident_id"].isin(ids)].reset_index(drop=True),
        flags=flags[flags["incident_id"].isin(ids)].reset_index(drop=True),
        places=place_gdf[place_gdf["incident_id"].isin(ids)].reset_index(drop=True),
        filter=filt,
        area=area,
    )

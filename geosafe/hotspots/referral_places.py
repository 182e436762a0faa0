"""Places named in referrals, counted with the incidents of a hotspot analysis when asked.

A Fair Access Panel referral's notes may name places (peer group, school, neighbourhood
notes; :mod:`geosafe.profile.places`). They are places of concern, not incidents, and stay
out of every analysis unless the analyst asks for them (``geosafe hotspots
--with-referral-places``, as ``geosafe profile`` and ``geosafe overlap`` do). Then each
mention (one referral naming one place) becomes one point at the place, dated on the
referral, carrying the place's name and the text the note matched, and is counted with the
incidents; the output says so and how many were added.

Analyst only: the points come from referral notes read from the store (the CLI audits the
read).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from ..filters import IncidentFilter
from ..incident import CRS_BNG

__all__ = ["ReferralPlaces", "mentions_in", "referral_places", "with_referral_places"]


@dataclass(frozen=True)
class ReferralPlaces:
    """The places named in the referrals an analysis selects, as incident-like points.

    Attributes
    ----------
    points
        One row per (referral, place) mention with a known point, EPSG:27700: ``source``
        ``fap_place``, ``incident_id`` ``<referral>#<place>``, ``occurred_from`` (the
        referral date), ``place``, ``location_text`` (the matched text), ``note`` (peer
        group, school or neighbourhood), ``geocode_method`` and ``precision_m`` of the place.
    referrals
        Distinct referrals naming at least one place.
    """

    points: gpd.GeoDataFrame
    referrals: int

    @property
    def places(self) -> int:
        """Distinct places named."""
        return int(self.points["place"].nunique()) if len(self.points) else 0

    def note(self) -> str:
        """What was added, for the output's metadata and a report's method notes."""
        return (
            f"Places named in referrals ({len(self.points)} mentions of {self.places} places "
            f"in {self.referrals} referrals) are counted with the incidents in these hotspots, "
            "as asked (--with-referral-places); they are places of concern, not incidents."
        )

    def as_json(self) -> dict[str, Any]:
        """``mentions``, ``places``, ``referrals`` and ``note``."""
        return {
            "mentions": len(self.points),
            "places": self.places,
            "referrals": self.referrals,
            "note": self.note(),
        }


def referral_places(
    db: Path | str, *, filt: IncidentFilter | None = None, area: BaseGeometry | None = None
) -> ReferralPlaces:
    """The places named in the store's referrals, selected like the incidents of an analysis.

    Parameters
    ----------
    db
        The incident store.
    filt
        The analysis's filter (period, flags, time windows...); its ``sources`` are replaced
        by FAP, whose referrals are the ones whose notes name places.
    area
        Study area (EPSG:27700): only places inside it.
    """
    from ..profile.data import load_profile_data
    from ..profile.places import places_as_incidents

    fap = dataclasses.replace(filt or IncidentFilter(), sources=("fap",))
    data = load_profile_data(db, filt=fap)
    pts = places_as_incidents(data).to_crs(CRS_BNG)
    if area is not None and len(pts):
        pts = pts[pts.geometry.intersects(area)]
    pts = pts.reset_index(drop=True)
    # incident_id is "<referral>#<place>"
    referrals = {i[: -len(p) - 1] for i, p in zip(pts["incident_id"], pts["place"], strict=True)}
    return ReferralPlaces(points=pts, referrals=len(referrals))


def with_referral_places(incidents: gpd.GeoDataFrame, places: ReferralPlaces) -> gpd.GeoDataFrame:
    """``incidents`` followed by the place mentions (EPSG:27700; columns the incidents lack
    are left empty on the places' rows)."""
    if not len(places.points):
        return incidents
    both = pd.concat([incidents.to_crs(CRS_BNG), places.points], ignore_index=True)
    return gpd.GeoDataFrame(both, geometry="geometry", crs=CRS_BNG)


def mentions_in(features: gpd.GeoDataFrame, places: ReferralPlaces) -> np.ndarray:
    """How many place mentions fall in each feature (a polygon or cell), in feature order."""
    out = np.zeros(len(features), dtype=np.int64)
    if not len(features) or not len(places.points):
        return out
    shapes = features.to_crs(CRS_BNG).geometry.reset_index(drop=True)
    hit = places.points.sindex.query(shapes, predicate="contains")
    np.add.at(out, hit[0], 1)
    return out

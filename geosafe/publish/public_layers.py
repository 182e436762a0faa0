"""The layers a school or neighbourhood sees: each built from the published aggregates of
the full layer (rounded, suppressed H3 resolution-8 counts), never from incident
coordinates; see :mod:`geosafe.publish.disclosure` for the rules."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from typing import Any, Final

import geopandas as gpd
import numpy as np

from .. import datasets
from . import corridors, disclosure, hotspot_layers, places, roles
from .catalogue import AnalysisParams
from .disclosure import Viewer
from .layer import Layer, LayerSource, make_layer

__all__ = ["GI_PUBLIC_PERMUTATIONS", "public_gi_star", "public_layer", "scope_key"]


def scope_key(principal: Any, collection: str | None = None) -> Hashable:
    """What a principal's view of a layer depends on (role, school, area); cache outputs by it.

    With ``collection``: only what that collection's view depends on, so views that are the
    same for every school (all but ``journey-corridors``) are built and kept once, not once
    per school token."""
    if (
        collection is not None
        and collection != "journey-corridors"
        and getattr(principal, "role", None) == "school"
    ):
        return ("school", None, (), None)
    return (
        getattr(principal, "role", None),
        getattr(principal, "school_urn", None),
        tuple(getattr(principal, "area_codes", ()) or ()),
        getattr(principal, "token_id", None)
        if getattr(principal, "area", None) is not None
        else None,
    )


def public_layer(
    svc: LayerSource, collection: str, params: AnalysisParams, principal: Viewer
) -> Layer:
    """The layer of ``collection`` as a school or neighbourhood ``principal`` sees it
    (built from published aggregates; see :mod:`geosafe.publish.disclosure`)."""
    if collection == "hotspots-kde":
        full = hotspot_layers.kde_layer(svc, params, public=True)
    elif collection == "journey-corridors":  # street stretches would trace home routes
        if principal.role == "school" and principal.school_urn in set(
            datasets.schools(svc.data_dir, demo_only=True)["urn"].astype(str)
        ):  # a school's own corridors only (the other schools' are filtered out below)
            params = replace(params, school=principal.school_urn)
        full = corridors.corridor_cells(svc, params)
    else:
        full = svc.layer(collection, params)
    frame = full.frame
    if collection == "clusters":
        frame = disclosure.publish_clusters(
            frame.rename_axis("id"), svc.incidents(params), count_column="n_incidents"
        )
        # named from the published outline, not the analyst's hull
        frame["place_name"] = places.place_names(frame.geometry.to_numpy(), svc.data_dir)
    if collection == "journey-corridors":
        frame = frame[frame["pupils"].astype(float) >= disclosure.SUPPRESS_BELOW]
        if principal.role == "school":  # never another school's pupils' journeys
            frame = frame[frame["school_urn"].astype(str) == str(principal.school_urn)]
        frame = (
            disclosure.clip_to_scope(principal, frame)
            if principal.role == "neighbourhood"
            else frame
        )
    reference = collection in ("schools", "bus-stops", "safe-places")
    published = roles.publish_features(principal, collection, frame, reference=reference)
    if collection in ("h3-cells", "clusters", "emerging-cells") and "density" in published:
        # density × area would give back the exact count: derive it from the published one
        counts = next((c for c in ("count", "n_incidents") if c in published.columns), None)
        area_km2 = published.geometry.area.to_numpy() / 1e6
        published["density"] = (
            published[counts].astype(float).to_numpy() / area_km2 if counts else np.nan
        )
    if collection == "h3-cells" and "gi_z" in published.columns and len(published):
        published = public_gi_star(published)
    for col, decimals in (("gi_z", 1), ("gi_p", 2)):
        # coarse statistics: exact z-scores of many neighbouring cells could be solved back
        # towards the exact counts they were computed from
        if col in published.columns:
            published[col] = published[col].astype(float).round(decimals)
    return make_layer(
        collection, published, params, synthetic=full.synthetic, notes="disclosure-controlled"
    )


#: Value given to a suppressed count (1-9) when Gi* is recomputed from published counts.
_SUPPRESSED_AS = 5.0


def public_gi_star(published: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Gi* recomputed from the published (rounded, suppressed) counts, so that the public
    z-scores carry nothing the public counts do not: exact z-scores of neighbouring cells
    could otherwise be solved back to the exact counts. Suppressed cells count as
    ``_SUPPRESSED_AS`` (the middle of 1-9)."""
    from ..hotspots.gistar import gi_star

    counts = published[["cell", "count"]].rename(columns={"cell": "h3_cell"}).copy()
    counts["count"] = counts["count"].astype(float).fillna(_SUPPRESSED_AS)
    counts = gpd.GeoDataFrame(counts, geometry=published.geometry.to_numpy(), crs=published.crs)
    gi = gi_star(counts, permutations=GI_PUBLIC_PERMUTATIONS, seed=0)
    out = published.copy()
    out["gi_z"] = gi["gi_z"].to_numpy(dtype=float)
    out["gi_p"] = gi["gi_p"].to_numpy(dtype=float)
    if "hotspot" in out.columns:
        out["hotspot"] = gi["gi_class"].astype(str).to_numpy()
    return out


#: Permutations for the public Gi* (the analyst layer's default: 0, analytic p-values).
GI_PUBLIC_PERMUTATIONS: Final = hotspot_layers.GI_PERMUTATIONS

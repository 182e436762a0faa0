"""One incident's published H3 cell (light: h3 and numpy only, so the store's commit, which
publishes aggregates, does not load the disclosure module's geopandas)."""

from __future__ import annotations

import h3
import numpy as np

__all__ = ["published_cell"]


def published_cell(own: object, lon: float, lat: float, resolution: int) -> str | None:
    """One incident's published H3 cell: its own cell when that is ``resolution`` or coarser
    (an imprecise location), else the cell of its point at ``resolution``, else its own cell's
    parent; ``None`` without a location. (The PostGIS store's published counts use it too.)"""
    if isinstance(own, str) and own and h3.get_resolution(own) <= resolution:
        return own
    if np.isfinite(lon) and np.isfinite(lat):
        return str(h3.latlng_to_cell(float(lat), float(lon), resolution))
    if isinstance(own, str) and own:
        return str(h3.cell_to_parent(own, resolution))
    return None

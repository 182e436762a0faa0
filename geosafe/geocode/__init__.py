"""Geocoding: coordinates, postcodes, bus stops, wards, bus routes and place names in notes.

Modules: :mod:`.points` (WGS84/BNG detection, vectorised), :mod:`.postcodes`, :mod:`.stops`,
:mod:`.wards`, :mod:`.routes`, :mod:`.places` (the gazetteer for free text),
:mod:`.h3cells`. :class:`Geocoder` geocodes one record; :class:`GeocodeResult` is its result.
"""

from __future__ import annotations

from . import h3cells as h3cells
from . import points as points
from . import postcodes as postcodes
from . import routes as routes
from . import stops as stops
from . import wards as wards
from .geocoder import Geocoder as Geocoder
from .result import GeocodeResult as GeocodeResult

__all__ = [
    "GeocodeResult",
    "Geocoder",
    "h3cells",
    "points",
    "postcodes",
    "routes",
    "stops",
    "wards",
]

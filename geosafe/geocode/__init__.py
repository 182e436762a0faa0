"""Geocoding: coordinates, postcodes, bus stops, wards, bus routes and place names in notes.

Modules: :mod:`.points` (WGS84/BNG detection, vectorised), :mod:`.postcodes`, :mod:`.stops`,
:mod:`.wards`, :mod:`.routes`, :mod:`.places` (the gazetteer for free text),
:mod:`.h3cells`. :class:`Geocoder` geocodes one record; :class:`GeocodeResult` is its result.

Submodules load on first use (PEP 562): a police.uk import needs only :mod:`.points` and
:mod:`.h3cells`, not the gazetteer's fuzzy matching.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._h3import import preload_version

if TYPE_CHECKING:
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

_CLASSES = {"Geocoder": ".geocoder", "GeocodeResult": ".result"}

preload_version()  # before h3cells imports h3: h3's version without importlib.metadata


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name], __name__), name)
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

"""Routing only: walking over OSM (:mod:`.walk`), GTFS feeds (:mod:`.gtfs`), buses
(:mod:`.transit`), pupils' homes (:mod:`.origins`) and school journeys (:mod:`.journeys`).
Never imports :mod:`geosafe.risk`. Importing does no I/O, and each module is imported on first
use (walking corridors do not load the transit router's numba: ~50 MB of a server)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import gtfs as gtfs
    from . import journeys as journeys
    from . import origins as origins
    from . import transit as transit
    from . import walk as walk

__all__ = ["gtfs", "journeys", "origins", "transit", "walk"]


def __getattr__(name: str) -> Any:
    """Import a submodule on first access (PEP 562)."""
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

"""An area folder built from public downloads: streets (OSM PBF/XML), schools, postcodes,
bus stops and timetables (GTFS), boundaries and a manifest (``area.json``). Importing does no
I/O.

:func:`geosafe.area.build.build_area` makes one (``geosafe area build``);
:func:`geosafe.area.build.attribution` gives the licence lines to show on maps and reports.
Submodules are imported on first use (``osm`` brings scipy.sparse, which a service reading
an area's attribution does not need).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["build", "inputs", "osm"]


def __getattr__(name: str) -> Any:
    """Import a submodule on first access (PEP 562)."""
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

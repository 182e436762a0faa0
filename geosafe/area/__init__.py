"""An area folder built from public downloads: streets (OSM PBF/XML), schools, postcodes,
bus stops and timetables (GTFS), boundaries and a manifest (``area.json``). Importing does no
I/O.

:func:`geosafe.area.build.build_area` makes one (``geosafe area build``);
:func:`geosafe.area.build.attribution` gives the licence lines to show on maps and reports.
"""

from __future__ import annotations

from . import build as build
from . import inputs as inputs
from . import osm as osm

__all__ = ["build", "inputs", "osm"]

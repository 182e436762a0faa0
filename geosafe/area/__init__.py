"""An area folder built from public downloads: streets (OSM PBF/XML), schools, postcodes,
bus stops and timetables (GTFS), boundaries and a manifest (``area.json``). Importing does no
I/O."""

from __future__ import annotations

from . import osm as osm

__all__ = ["osm"]

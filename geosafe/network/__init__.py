"""Networks: walking over OSM (:mod:`.walk`), buses over GTFS (:mod:`.gtfs`, :mod:`.transit`)
and school journeys (:mod:`.journeys`). Importing does no I/O."""

from __future__ import annotations

from . import journeys as journeys
from . import walk as walk

__all__ = ["journeys", "walk"]

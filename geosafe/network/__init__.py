"""Networks: walking over OSM (:mod:`.walk`), buses over GTFS, and school journeys."""

from __future__ import annotations

from . import walk as walk

__all__ = ["walk"]

"""Routing only: walking over OSM (:mod:`.walk`), GTFS feeds (:mod:`.gtfs`), buses
(:mod:`.transit`), pupils' homes (:mod:`.origins`) and school journeys (:mod:`.journeys`).
Never imports :mod:`geosafe.risk`. Importing does no I/O."""

from __future__ import annotations

from . import gtfs as gtfs
from . import journeys as journeys
from . import origins as origins
from . import transit as transit
from . import walk as walk

__all__ = ["gtfs", "journeys", "origins", "transit", "walk"]

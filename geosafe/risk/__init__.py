"""Risk along school journeys: the exposure model (:mod:`.exposure`), safer walking
alternatives (:mod:`.safer`), scored journeys (:mod:`.journeys`) and school reports
(:mod:`.report`). Depends on :mod:`geosafe.network`, never the reverse. Importing does no I/O."""

from __future__ import annotations

from . import exposure as exposure
from . import journeys as journeys
from . import report as report
from . import safer as safer

__all__ = ["exposure", "journeys", "report", "safer"]

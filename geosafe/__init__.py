"""geosafe: geospatial hotspot and journey-risk mapping for contextual safeguarding.

The package re-exports modules, not functions::

    import geosafe
    geosafe.hotspots.kde.kde_surface(...)
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

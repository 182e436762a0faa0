"""Hotspot analyses: kernel density, clusters, H3 counts, Gi*, emerging hotspots, comparison
and predictive accuracy. Modules are re-exported, not functions::

    from geosafe.hotspots import kde
    kde.kde_surface(points, bandwidth=300, cell=25)
"""

from __future__ import annotations

from . import kde as kde

__all__ = ["kde"]

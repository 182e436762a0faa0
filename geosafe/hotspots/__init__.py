"""Hotspot analyses: kernel density, clusters, H3 counts, Gi*, emerging hotspots, comparison
and predictive accuracy. Modules are re-exported, not functions::

    from geosafe.hotspots import kde
    kde.kde_surface(points, bandwidth=300, cell=25)
"""

from __future__ import annotations

from . import compare as compare
from . import dbscan as dbscan
from . import emerging as emerging
from . import evaluate as evaluate
from . import gistar as gistar
from . import h3grid as h3grid
from . import kde as kde
from . import surfaces as surfaces

__all__ = ["compare", "dbscan", "emerging", "evaluate", "gistar", "h3grid", "kde", "surfaces"]

"""Hotspot analyses: kernel density, clusters, H3 counts, Gi*, emerging hotspots, comparison
and predictive accuracy. Modules are re-exported, not functions, and imported on first use
(a server that draws only densities never loads the cluster or Gi* dependencies)::

    from geosafe.hotspots import kde
    kde.kde_surface(points, bandwidth=300, cell=25)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import compare as compare
    from . import dbscan as dbscan
    from . import emerging as emerging
    from . import evaluate as evaluate
    from . import gistar as gistar
    from . import h3grid as h3grid
    from . import kde as kde
    from . import surfaces as surfaces

__all__ = ["compare", "dbscan", "emerging", "evaluate", "gistar", "h3grid", "kde", "surfaces"]


def __getattr__(name: str) -> Any:
    """Import a submodule on first access (PEP 562)."""
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

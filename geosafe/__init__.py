"""geosafe: geospatial hotspot and journey-risk mapping for contextual safeguarding.

The package re-exports modules, not functions, and imports each on first use (an import
stays light)::

    import geosafe
    geosafe.hotspots.kde.kde_surface(...)

Subpackages: :mod:`~geosafe.sources`, :mod:`~geosafe.geocode`, :mod:`~geosafe.hotspots`,
:mod:`~geosafe.network`, :mod:`~geosafe.risk`, :mod:`~geosafe.profile`,
:mod:`~geosafe.publish`, :mod:`~geosafe.access`, :mod:`~geosafe.area`, :mod:`~geosafe.synth`;
modules: :mod:`~geosafe.periods`, :mod:`~geosafe.incident`, :mod:`~geosafe.store`,
:mod:`~geosafe.ingest`, :mod:`~geosafe.filters`, :mod:`~geosafe.calendar`,
:mod:`~geosafe.rolls`, :mod:`~geosafe.settings`. See ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "access",
    "area",
    "calendar",
    "filters",
    "geocode",
    "hotspots",
    "incident",
    "ingest",
    "network",
    "periods",
    "profile",
    "publish",
    "risk",
    "rolls",
    "settings",
    "sources",
    "store",
    "synth",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    """Import a documented submodule on first access (PEP 562)."""
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    msg = f"module 'geosafe' has no attribute {name!r}"
    raise AttributeError(msg)

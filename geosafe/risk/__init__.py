"""Risk along school journeys: the exposure model (:mod:`.exposure`), safer walking
alternatives (:mod:`.safer`), scored journeys (:mod:`.journeys`) and school reports
(:mod:`.report`). Depends on :mod:`geosafe.network`, never the reverse. Importing does no I/O,
and each module is imported on first use (a layer that only names places through
:mod:`.naming` does not load the walking router's scipy.sparse graph: ~13 MB of a server)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import exposure as exposure
    from . import journeys as journeys
    from . import report as report
    from . import safer as safer

__all__ = ["exposure", "journeys", "report", "safer"]


def __getattr__(name: str) -> Any:
    """Import a submodule on first access (PEP 562)."""
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

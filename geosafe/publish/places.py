"""Hotspots named by place: "Bounds Green Road by Bounds Green Station" rather than HS01.

Names come from the package's one naming function, :func:`geosafe.risk.naming.place_names`
(the school report, the placement check and the place report use the same one). Names are
computed from the published geometry itself, so a non-analyst's name says nothing its shape
does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["place_names"]


def place_names(geometries: Sequence[Any] | np.ndarray, data_dir: Path | str | None) -> list[str]:
    """A place name per geometry (EPSG:27700), ``""`` for an empty one
    (:func:`geosafe.risk.naming.place_names`)."""
    from ..risk.naming import place_names as names

    return names(list(geometries), data_dir)

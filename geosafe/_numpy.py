"""Small numpy helpers of the import path."""

from __future__ import annotations

import numpy as np

__all__ = ["distinct"]


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)``, sorted distinct values, without importing ``numpy.ma``: numpy's
    plain ``unique`` asks ``np.ma.is_masked`` and so loads the masked-array module (~7 ms of
    a small import); asked for the counts as well, it does not."""
    return np.unique(values, return_counts=True)[0]

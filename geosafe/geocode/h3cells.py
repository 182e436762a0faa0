"""H3 cells for geocoded points, at a resolution their precision justifies.

The rule (DESIGN.md "Precision"): a record's cell is at the *finest* H3 resolution whose
average hexagon edge length (``h3.average_hexagon_edge_length``, metres) is at least the
record's ``precision_m``, clamped to resolutions 7..12. So an exact coordinate (10 m) gets
resolution 12 (edge 10.8 m), a bus stop (30 m) resolution 10 (75.9 m), a postcode (100 m)
resolution 9 (200.8 m), a street (300 m) resolution 8 (531 m) and a ward centroid (1 km)
resolution 7 (1,406 m).
"""

from __future__ import annotations

import functools
import math

import h3
import numpy as np
import numpy.typing as npt

from .._errors import ValidationError
from .._numpy import distinct

__all__ = ["MAX_RESOLUTION", "MIN_RESOLUTION", "cells_for_points", "resolution_for_precision"]

MIN_RESOLUTION = 7
MAX_RESOLUTION = 12


@functools.cache
def _edges_m() -> tuple[float, ...]:
    return tuple(
        float(h3.average_hexagon_edge_length(r, unit="m"))
        for r in range(MIN_RESOLUTION, MAX_RESOLUTION + 1)
    )


@functools.lru_cache(maxsize=1 << 17)
def _cell(lat: float, lng: float, res: int) -> str:
    """``h3.latlng_to_cell``, remembered for the most recent points."""
    return str(h3.latlng_to_cell(lat, lng, res))


def resolution_for_precision(precision_m: float) -> int:
    """The finest H3 resolution (7..12) whose average edge length is >= ``precision_m``.

    Parameters
    ----------
    precision_m
        Location precision, metres (> 0).

    Returns
    -------
    int
        H3 resolution between 7 and 12.

    Examples
    --------
    >>> resolution_for_precision(10.0), resolution_for_precision(1000.0)
    (12, 7)
    """
    p = float(precision_m)
    if not math.isfinite(p) or p <= 0:
        msg = f"`precision_m` {precision_m!r} must be a positive number of metres."
        raise ValidationError(msg)
    best = MIN_RESOLUTION
    for offset, edge in enumerate(_edges_m()):
        if edge >= p:
            best = MIN_RESOLUTION + offset
    return best


def cells_for_points(
    lon: npt.ArrayLike, lat: npt.ArrayLike, precision_m: npt.ArrayLike | float
) -> npt.NDArray[np.object_]:
    """H3 cells (hex strings) of WGS84 points at the resolution their precision allows.

    Parameters
    ----------
    lon, lat
        WGS84 degrees, same length; NaN where a row has no point.
    precision_m
        One precision in metres for all points, or one per point (NaN where no point).

    Returns
    -------
    numpy.ndarray
        Object array of H3 cell strings, ``None`` where the point or precision is missing.
    """
    x = np.asarray(lon, dtype=float).ravel()
    y = np.asarray(lat, dtype=float).ravel()
    if x.shape != y.shape:
        msg = f"`lon` and `lat` have different lengths ({x.size} and {y.size}); pass pairs."
        raise ValidationError(msg)
    p = np.broadcast_to(np.asarray(precision_m, dtype=float), x.shape)
    out = np.full(x.shape, None, dtype=object)
    good = np.isfinite(x) & np.isfinite(y) & np.isfinite(p) & (p > 0) & (np.abs(y) <= 90)
    if not good.any():
        return out
    res = np.full(x.shape, -1, dtype=int)
    edges = np.asarray(_edges_m())
    # finest resolution whose edge >= p: count of edges >= p, minus one, offset by 7
    counts = (edges[None, :] >= p[good, None]).sum(axis=1)
    res[good] = MIN_RESOLUTION + np.maximum(counts - 1, 0)
    latlng_to_cell = _cell
    # repeated points (police.uk map points, stops, postcodes) are looked up once per call,
    # and points seen in recent calls (the chunks of one big file) come from a cache
    for r in distinct(res[good]):
        idx = np.flatnonzero(good & (res == r))
        uniq, codes = np.unique(y[idx] + 1j * x[idx], return_inverse=True)
        cells = np.array(
            [latlng_to_cell(float(z.real), float(z.imag), int(r)) for z in uniq], dtype=object
        )
        out[idx] = cells[codes]
    return out

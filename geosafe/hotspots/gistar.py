"""Getis-Ord Gi* on H3 cells with analytic (or permutation) inference and FDR control.

Gi* (Getis & Ord 1992; Ord & Getis 1995) compares the weighted sum of counts in each cell's
neighbourhood *including the cell itself* with what a random arrangement of the same counts
would give. Neighbours are H3 k-rings (k = 1: the six adjacent hexagons), binary weights plus
the cell itself.

- ``gi_z``: the analytical z-score (computed here with sparse matrices; identical to
  ``esda.G_Local(..., star=True).Zs``, which the tests check).
- ``gi_p``: two-sided p-value. By default (``permutations=0``) it is the normal
  approximation of ``gi_z``, ``2 * norm.sf(|z|)``, as ArcGIS's Hot Spot Analysis reports it
  (``2 * esda.G_Local(...).p_norm``). With ``permutations >= 999`` it is the pseudo p-value of
  that many conditional random permutations with ``seed`` (esda's scheme, ``esda.crand``,
  vectorised in numpy): ``min(1, 2 * p_sim)``.
- ``gi_class``: ``hot_99``/``hot_95``/``hot_90`` (or ``cold_...``) when ``gi_p`` is at or
  below the Benjamini-Hochberg false discovery rate cut-off (``esda.fdr``) at 1 %, 5 % or 10 %
  and the z-score is positive (negative); otherwise ``not_significant``.

Why analytic by default
-----------------------
A permutation p-value can never fall below ``2 / (permutations + 1)`` (two-sided). Under FDR
over ``m`` cells the most significant cell must reach ``alpha / m``: with 199 permutations and
209 cells that is 0.01 against a cut of 0.0005, so nothing could ever be significant, however
high z is. The analytic p reaches ``2 * norm.sf(sqrt(n - 1))`` (``|z|`` is at most
``sqrt(n - 1)``: z is ``sqrt(n - 1)`` times the cosine between the centred weights and the
centred counts), far below any FDR cut. Every result states its method and its smallest
reachable p (``attrs["p_method"]``, ``attrs["p_min"]``) and whether FDR can reach it
(``attrs["fdr_reachable"]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy.special import ndtr

from .._errors import ValidationError
from .h3grid import h3_neighbours

__all__ = [
    "CLASSES",
    "MIN_PERMUTATIONS",
    "classify",
    "gi_star",
    "gi_star_z",
    "neighbour_matrix",
    "p_floor",
]

CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99")

#: Fewest permutations accepted when permutation inference is chosen (0 = analytic).
MIN_PERMUTATIONS = 999

#: FDR levels of the classes, loosest first.
_LEVELS = (("90", 0.10), ("95", 0.05), ("99", 0.01))


def neighbour_matrix(cells: Sequence[str], *, k: int = 1) -> sp.csr_matrix:
    """Binary sparse weights (no self) between ``cells`` by H3 k-ring adjacency."""
    nb = h3_neighbours(cells, k=k)
    index = {c: i for i, c in enumerate(cells)}
    rows = [index[c] for c in cells for _ in nb[c]]
    cols = [index[n] for c in cells for n in nb[c]]
    n = len(cells)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def gi_star_z(y: np.ndarray, w: sp.spmatrix) -> np.ndarray:
    """Analytical Gi* z-scores for values ``y`` and binary weights ``w`` (self added)."""
    y = np.asarray(y, dtype=float)
    n = y.size
    ws = sp.csr_matrix(w, dtype=float) + sp.identity(n, format="csr")
    xbar = y.mean()
    s = np.sqrt((y**2).mean() - xbar**2)
    wsum = np.asarray(ws.sum(axis=1)).ravel()
    w2sum = np.asarray(ws.multiply(ws).sum(axis=1)).ravel()
    num = ws @ y - xbar * wsum
    den = s * np.sqrt(np.maximum(n * w2sum - wsum**2, 0) / (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(den > 0, num / den, 0.0)
    return np.asarray(z)


def fdr_cutoff(p: np.ndarray, alpha: float) -> float:
    """The p-value cut-off controlling the false discovery rate at ``alpha``
    (Benjamini-Hochberg; ``alpha / n`` when no test passes): ``esda.fdr``'s rule, here so that
    classifying cells does not import esda (and with it numba, llvmlite and scikit-learn:
    ~85 MB of a server's memory)."""
    n = len(p)
    descending = np.sort(p)[::-1]
    bounds = np.arange(n, 0, -1) * alpha / n
    passing = np.flatnonzero(descending < bounds)
    return float(alpha / n) if len(passing) == 0 else float(bounds[passing[0]])


def classify(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``gi_class`` labels from z-scores and two-sided p-values with FDR control."""
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    out = np.full(z.shape, "not_significant", dtype=object)
    if p.size == 0:
        return out
    for level, alpha in _LEVELS:
        cut = fdr_cutoff(p, alpha)
        sig = p <= cut
        out[sig & (z > 0)] = f"hot_{level}"
        out[sig & (z < 0)] = f"cold_{level}"
    return out


def p_floor(n_cells: int, *, permutations: int = 0) -> float:
    """The smallest two-sided ``gi_p`` reachable with ``n_cells`` cells.

    ``2 / (permutations + 1)`` for permutation inference; ``2 * norm.sf(sqrt(n - 1))`` for the
    analytic p (``|z|`` cannot exceed ``sqrt(n - 1)``).
    """
    if permutations:
        return min(1.0, 2.0 / (permutations + 1))
    return float(2 * ndtr(-np.sqrt(max(n_cells - 1, 0))))


def gi_star(
    counts: gpd.GeoDataFrame,
    *,
    value: str = "count",
    k: int = 1,
    permutations: int = 0,
    seed: int | None = 0,
) -> gpd.GeoDataFrame:
    """Gi* for every cell of an :func:`~geosafe.hotspots.h3grid.h3_counts` frame.

    Parameters
    ----------
    counts
        Frame with ``h3_cell`` and the ``value`` column (zero cells included).
    value
        Column to test (weighted incident counts).
    k
        H3 ring distance of the neighbourhood.
    permutations
        0 (default): analytic p-values from the z-score (normal approximation, as ArcGIS).
        Otherwise the number of conditional random permutations, at least
        :data:`MIN_PERMUTATIONS` (999).
    seed
        Seed of the permutations.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``gi_z``, ``gi_p``, ``gi_class``. ``attrs``: ``k``, ``permutations``,
        ``seed``, ``p_method`` (``"analytic"`` or ``"permutation"``), ``p_method_text`` (one
        sentence for a legend), ``p_min`` (smallest reachable ``gi_p``), ``cells_tested``,
        ``fdr_reachable`` (whether one cell at ``p_min`` passes FDR at 10 % over these cells),
        ``fdr_cells_needed_at_floor`` (how many cells must share ``p_min`` before any passes),
        ``significant`` (cells in a hot or cold class).

    Notes
    -----
    Permutation p-values below 999 permutations are refused: their floor
    ``2 / (permutations + 1)`` is too coarse for FDR over more than a handful of cells.
    """
    if permutations < 0 or 0 < permutations < MIN_PERMUTATIONS:
        msg = (
            f"`permutations` {permutations!r} is not allowed: pass 0 for analytic p-values "
            f"(the default) or at least {MIN_PERMUTATIONS} permutations (a permutation p-value "
            f"cannot fall below 2 / (permutations + 1), too coarse for FDR)."
        )
        raise ValidationError(msg)
    cells = list(counts["h3_cell"])
    if len(cells) < 3:
        msg = f"Gi* needs at least 3 cells, got {len(cells)}; use a larger study area or finer resolution."
        raise ValidationError(msg)
    y = counts[value].to_numpy(dtype=float)
    w = neighbour_matrix(cells, k=k)
    out = counts.copy()
    z = gi_star_z(y, w)
    if y.sum() <= 0 or np.allclose(y, y[0]):
        p = np.ones_like(z)
    elif permutations:
        p = _permutation_p(y, w, permutations=permutations, seed=seed)
    else:
        p = np.asarray(2 * ndtr(-np.abs(z)))  # scipy's norm.sf(x) is ndtr(-x)
    out["gi_z"] = z
    out["gi_p"] = p
    out["gi_class"] = classify(z, p)
    n = len(cells)
    floor = p_floor(n, permutations=permutations)
    if permutations:
        text = (
            f"pseudo p-values from {permutations} conditional permutations (two-sided; "
            f"smallest possible {floor:.2g}), FDR-controlled over {n} cells"
        )
    else:
        text = (
            f"analytic p-values from the Gi* z-score (normal approximation, two-sided, as "
            f"ArcGIS Hot Spot Analysis), FDR-controlled over {n} cells"
        )
    out.attrs = dict(counts.attrs) | {
        "k": k,
        "permutations": permutations,
        "seed": seed if permutations else None,
        "p_method": "permutation" if permutations else "analytic",
        "p_method_text": text,
        "p_min": floor,
        "cells_tested": n,
        "fdr_reachable": bool(floor <= _LEVELS[0][1] / n),
        "fdr_cells_needed_at_floor": max(1, math.ceil(floor * n / _LEVELS[0][1] - 1e-9)),
        "significant": int((out["gi_class"] != "not_significant").sum()),
    }
    return out


def _permutation_p(
    y: np.ndarray, w: sp.csr_matrix, *, permutations: int, seed: int | None
) -> np.ndarray:
    """Folded one-sided pseudo p-values of Gi* by conditional randomisation, doubled.

    As ``esda.crand``: for each cell ``i`` with ``k_i`` neighbours, ``y_i`` stays and ``k_i``
    values are drawn without replacement from the other ``n - 1`` cells; one draw of ids is
    shared by all cells in a permutation (shifted past ``i``). Vectorised in numpy (esda's
    numba kernel takes ~40 s to compile in every new process).
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y, dtype=float)
    n = y.size
    wb = sp.csr_matrix(w)
    k = np.diff(wb.indptr)
    kmax = int(k.max()) if n else 0
    observed = y + wb @ y
    larger = np.zeros(n)
    if kmax == 0:
        return np.ones(n)
    cols = np.arange(kmax)[None, :] < k[:, None]
    ids = np.arange(n)[:, None]
    for _ in range(permutations):
        rid = rng.choice(n - 1, size=kmax, replace=False)[None, :]
        idx = rid + (rid >= ids)  # skip the cell itself
        sim = y + np.where(cols, y[idx], 0.0).sum(axis=1)
        larger += sim >= observed - 1e-12 * np.abs(observed)
    low = (permutations - larger) < larger
    larger[low] = permutations - larger[low]
    p_one = (larger + 1) / (permutations + 1)
    return np.asarray(np.minimum(1.0, 2 * p_one))

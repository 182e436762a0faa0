"""Getis-Ord Gi* on H3 cells with permutation inference and false discovery rate control.

Gi* (Getis & Ord 1992; Ord & Getis 1995) compares the weighted sum of counts in each cell's
neighbourhood *including the cell itself* with what a random arrangement of the same counts
would give. Neighbours are H3 k-rings (k = 1: the six adjacent hexagons), binary weights plus
the cell itself.

- ``gi_z``: the analytical z-score (computed here with sparse matrices; identical to
  ``esda.G_Local(..., star=True).Zs``, which the tests check).
- ``gi_p``: two-sided pseudo p-value from ``permutations`` conditional random permutations
  with ``seed``, esda's scheme (``esda.crand``) vectorised in numpy: ``min(1, 2 * p_sim)``. With ``permutations=0`` the normal
  approximation of ``gi_z`` is used instead.
- ``gi_class``: ``hot_99``/``hot_95``/``hot_90`` (or ``cold_...``) when ``gi_p`` is at or
  below the Benjamini-Hochberg false discovery rate cut-off (``esda.fdr``) at 1 %, 5 % or 10 %
  and the z-score is positive (negative); otherwise ``not_significant``.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy import stats

from .._errors import ValidationError
from .h3grid import h3_neighbours

__all__ = ["CLASSES", "classify", "gi_star", "gi_star_z", "neighbour_matrix"]

CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99")


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


def classify(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``gi_class`` labels from z-scores and two-sided p-values with FDR control."""
    from esda import fdr

    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    out = np.full(z.shape, "not_significant", dtype=object)
    if p.size == 0:
        return out
    for level, alpha in (("90", 0.10), ("95", 0.05), ("99", 0.01)):
        cut = fdr(p, alpha)
        sig = p <= cut
        out[sig & (z > 0)] = f"hot_{level}"
        out[sig & (z < 0)] = f"cold_{level}"
    return out


def gi_star(
    counts: gpd.GeoDataFrame,
    *,
    value: str = "count",
    k: int = 1,
    permutations: int = 999,
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
        Conditional random permutations for ``gi_p`` (0: normal approximation).
    seed
        Seed of the permutations.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``gi_z``, ``gi_p``, ``gi_class``.
    """
    if permutations < 0:
        msg = f"`permutations` {permutations!r} must be >= 0 (999 is usual)."
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
        p = 2 * stats.norm.sf(np.abs(z))
    out["gi_z"] = z
    out["gi_p"] = p
    out["gi_class"] = classify(z, p)
    out.attrs = dict(counts.attrs) | {"k": k, "permutations": permutations, "seed": seed}
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

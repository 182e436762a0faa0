"""Undirected graphs as arrays, and their ``.npz`` caches (private to :mod:`geosafe.network`).

One place for what the walking network (:mod:`.walk`) and its many-to-many preprocessing
(:mod:`.many`) both do: turn undirected edges ``u - v`` into both directed halves, build a CSR
graph from them (scipy's for csgraph, or plain ``ptr/nbr/wgt`` arrays for numba kernels), and
save or load a set of arrays with a JSON header, atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = ["both_directions", "csr_arrays", "csr_matrix", "load_arrays", "save_arrays"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def both_directions(u: I64, v: I64, w: F64) -> tuple[I64, I64, F64]:
    """The directed halves ``u -> v`` then ``v -> u`` of undirected edges, with their weights."""
    return np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])


def csr_matrix(n: int, u: I64, v: I64, w: F64) -> sparse.csr_array:
    """The symmetric ``n x n`` adjacency matrix of undirected edges ``u - v`` weighing ``w``
    (for :mod:`scipy.sparse.csgraph`, which reads an explicit zero as no edge: a zero weight
    becomes 1e-9)."""
    rows, cols, ww = both_directions(u, v, np.maximum(w, 1e-9))
    return sparse.csr_array((ww, (rows, cols)), shape=(n, n))


def csr_arrays(n: int, u: I64, v: I64, w: F64) -> tuple[I64, I64, F64]:
    """The same graph as plain CSR arrays for numba kernels: node ``x``'s neighbours are
    ``nbr[ptr[x]:ptr[x+1]]`` at distances ``wgt[...]`` (edges kept in input order per node,
    zero weights kept)."""
    src, dst, ww = both_directions(u, v, w)
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return ptr, dst[order].astype(np.int64), ww[order].astype(np.float64)


def save_arrays(
    path: Path, arrays: Mapping[str, npt.NDArray[Any]], meta: Mapping[str, Any]
) -> Path:
    """Write ``arrays`` and a JSON ``meta`` header to ``path`` (``.npz``), atomically (a
    temporary file of this process, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **{**arrays, "meta": np.array(json.dumps(meta))})  # type: ignore[arg-type]
    tmp.replace(path)
    return path


def load_arrays(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read :func:`save_arrays`' file: its arrays and its header (``KeyError`` if it has
    none, ``OSError``/``ValueError`` if it is not an ``.npz`` file)."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return {k: z[k] for k in z.files if k != "meta"}, meta

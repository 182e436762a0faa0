"""The shared graph arrays and caches of geosafe.network (``_csr``): the numba CSR arrays
equal scipy's matrix of the same edges, and the walk matrix cache round-trips and refuses
another network's file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from geosafe.network._csr import csr_arrays, csr_matrix, load_arrays, save_arrays
from geosafe.network.many import WalkMatrix
from geosafe.network.walk import WalkNetwork


def test_csr_arrays_equal_scipy_on_a_hand_made_graph() -> None:
    # a triangle 0-1-2 with a tail 2-3 and an isolated node 4; one zero-length edge
    u = np.array([0, 1, 2, 2], dtype=np.int64)
    v = np.array([1, 2, 0, 3], dtype=np.int64)
    w = np.array([1.5, 2.0, 4.0, 0.0])
    ptr, nbr, wgt = csr_arrays(5, u, v, w)
    assert ptr.tolist() == [0, 2, 4, 7, 8, 8]
    dense = np.zeros((5, 5))
    for x in range(5):
        for e in range(ptr[x], ptr[x + 1]):
            dense[x, nbr[e]] = wgt[e]
    ref = sparse.coo_array((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(5, 5)).toarray()
    np.testing.assert_array_equal(dense, ref)
    m = csr_matrix(5, u, v, w).toarray()
    assert m[2, 3] == m[3, 2] == 1e-9  # csgraph reads an explicit zero as no edge
    np.testing.assert_array_equal(np.where(ref > 0, m, 0), ref)


def test_save_load_arrays_keeps_arrays_and_header(tmp_path: Path) -> None:
    arrays = {"a": np.arange(3), "names": np.array(["x", "Wood Green"])}
    path = save_arrays(tmp_path / "sub" / "g.npz", arrays, {"version": "v", "n": 3})
    got, meta = load_arrays(path)
    assert meta == {"version": "v", "n": 3}
    np.testing.assert_array_equal(got["a"], arrays["a"])
    np.testing.assert_array_equal(got["names"], arrays["names"])
    assert [p.name for p in path.parent.iterdir()] == ["g.npz"]  # no temporary file left


def test_walk_matrix_cache_round_trip_and_refusal(bundled_net: WalkNetwork, tmp_path: Path) -> None:
    built = WalkMatrix.for_network(bundled_net, cache_dir=tmp_path)
    (path,) = tmp_path.glob("walk-matrix-*.npz")
    loaded = WalkMatrix.load(path, bundled_net)
    for k in ("core_of", "node_chain", "node_off", "chain_len", "ptr", "nbr", "wgt"):
        np.testing.assert_array_equal(getattr(loaded, k), getattr(built, k))
    other = replace(bundled_net, source_sha256="0" * 64)
    with pytest.raises(ValueError, match="another network or version; rebuild it"):
        WalkMatrix.load(path, other)

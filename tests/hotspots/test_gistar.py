from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from esda import fdr
from esda.getisord import G_Local
from libpysal.weights import W
from shapely.geometry import Point

from geosafe.hotspots import gistar, h3grid

X0, Y0 = 530000.0, 180000.0


@pytest.fixture(scope="module")
def cells() -> list[str]:
    return h3grid.cells_for_area(Point(X0, Y0).buffer(2500), resolution=9)


def _counts(cells: list[str], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.poisson(2, len(cells)).astype(float)
    centre = h3grid.cells_of_points(np.array([X0]), np.array([Y0]), resolution=9)[0]
    import h3

    for c in h3.grid_disk(centre, 2):
        if c in cells:
            y[cells.index(c)] += 12
    return y


def test_z_equals_esda_on_the_same_weights(cells: list[str]) -> None:
    y = _counts(cells)
    w = W(h3grid.h3_neighbours(cells, k=1), silence_warnings=True)
    ref = G_Local(y, w, transform="B", star=True, permutations=0)
    z = gistar.gi_star_z(y, gistar.neighbour_matrix(cells, k=1))
    np.testing.assert_allclose(z, ref.Zs, atol=1e-10)
    w2 = W(h3grid.h3_neighbours(cells, k=2), silence_warnings=True)
    ref2 = G_Local(y, w2, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(
        gistar.gi_star_z(y, gistar.neighbour_matrix(cells, k=2)), ref2.Zs, atol=1e-10
    )


def test_gi_star_finds_the_planted_hotspot(cells: list[str]) -> None:
    y = _counts(cells)
    out = gistar.gi_star(gpd.GeoDataFrame({"h3_cell": cells, "count": y}), permutations=999, seed=1)
    hot = out[out["gi_class"].str.startswith("hot")]
    assert len(hot) >= 7
    assert set(out["gi_class"]) <= set(gistar.CLASSES)
    assert (out.loc[hot.index, "gi_z"] > 0).all()
    again = gistar.gi_star(
        gpd.GeoDataFrame({"h3_cell": cells, "count": y}), permutations=999, seed=1
    )
    np.testing.assert_array_equal(out["gi_p"], again["gi_p"])  # seeded


def test_classify_uses_fdr() -> None:
    p = np.array([0.001, 0.004, 0.02, 0.04, 0.3, 0.6, 0.9, 0.08, 0.5, 0.7])
    z = np.array([3.0, -3.0, 2.5, 2.0, 1.0, 0.1, -0.2, 1.8, 0.0, 0.3])
    cls = gistar.classify(z, p)
    for i in range(len(p)):
        for level, alpha in (("99", 0.01), ("95", 0.05), ("90", 0.10)):
            if p[i] <= fdr(p, alpha):
                assert cls[i] == ("hot_" if z[i] > 0 else "cold_") + level
                break
        else:
            assert cls[i] == "not_significant"


def test_permutation_p_agrees_with_a_naive_reference(cells: list[str]) -> None:
    """Conditional randomisation written out cell by cell (y_i fixed, k_i others drawn)."""
    y = _counts(cells, seed=3)
    nb = h3grid.h3_neighbours(cells, k=1)
    ours = gistar.gi_star(
        gpd.GeoDataFrame({"h3_cell": cells, "count": y}), permutations=999, seed=5
    )
    rng = np.random.default_rng(11)
    idx = {c: i for i, c in enumerate(cells)}
    for i in rng.choice(len(cells), 25, replace=False):
        others = np.delete(y, i)
        k = len(nb[cells[i]])
        obs = y[i] + sum(y[idx[n]] for n in nb[cells[i]])
        sims = np.array([y[i] + rng.choice(others, k, replace=False).sum() for _ in range(999)])
        larger = (sims >= obs).sum()
        larger = min(larger, 999 - larger)
        p_ref = min(1.0, 2 * (larger + 1) / 1000)
        # two independent Monte Carlo estimates of 999 draws each: allow 4.5 standard errors
        q = p_ref / 2
        tol = 4.5 * 2 * np.sqrt(2 * q * (1 - q) / 999) + 0.004
        assert abs(ours["gi_p"].iloc[i] - p_ref) < tol

"""Gi* inference: analytic p-values by default, permutations only when enough to pass FDR.

References: esda's ``G_Local`` (star, binary weights) for the analytic p (``p_norm``, one-sided,
doubled here) and for the permutation z (``z_sim``); the FDR cut is ``esda.fdr``.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pytest
from esda import fdr
from esda.getisord import G_Local
from libpysal.weights import W
from shapely.geometry import Point

from geosafe._errors import ValidationError
from geosafe.hotspots import gistar, h3grid

X0, Y0 = 530000.0, 180000.0


@pytest.fixture(scope="module")
def cells() -> list[str]:
    # about 209 resolution-9 cells: the size of the demo area's Gi* layer in issue 11
    return h3grid.cells_for_area(Point(X0, Y0).buffer(2300), resolution=9)


def _planted(cells: list[str], *, extra: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.poisson(2, len(cells)).astype(float)
    centre = h3grid.cells_of_points(np.array([X0]), np.array([Y0]), resolution=9)[0]
    for c in h3.grid_disk(centre, 1):
        y[cells.index(c)] += extra
    return y


def _frame(cells: list[str], y: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"h3_cell": cells, "count": y})


def test_default_p_is_esda_analytic_p_and_fdr_classes(cells: list[str]) -> None:
    y = _planted(cells, extra=6)
    out = gistar.gi_star(_frame(cells, y))
    ref = G_Local(
        y,
        W(h3grid.h3_neighbours(cells), silence_warnings=True),
        transform="B",
        star=True,
        permutations=0,
    )
    np.testing.assert_allclose(out["gi_p"], 2 * ref.p_norm, rtol=1e-9, atol=1e-15)
    assert out.attrs["p_method"] == "analytic"
    assert out.attrs["permutations"] == 0
    assert "analytic" in out.attrs["p_method_text"]
    # classes are Benjamini-Hochberg on those p-values (esda.fdr), signed by z
    p = 2 * ref.p_norm
    for alpha, level in ((0.01, "99"), (0.05, "95"), (0.10, "90")):
        sig = p <= fdr(p, alpha)
        for i in np.flatnonzero(sig):
            assert out["gi_class"].iloc[i][:-3] in ("hot", "cold")
            assert int(out["gi_class"].iloc[i][-2:]) >= int(level)
    assert out.attrs["significant"] == int((out["gi_class"] != "not_significant").sum())


def test_analytic_finds_a_strong_hotspot_that_permutations_at_199_could_not(
    cells: list[str],
) -> None:
    """Issue 11: z = 6.8 and 209 cells, yet 199 permutations left every cell not significant."""
    n = len(cells)
    assert 180 <= n <= 240
    y = _planted(cells, extra=12)
    out = gistar.gi_star(_frame(cells, y))
    top = out["gi_z"].idxmax()
    assert out["gi_z"].max() > 5
    assert out.loc[top, "gi_class"] == "hot_99"
    # significant cells are exactly the highest |z| (analytic p is monotone in |z|)
    sig = out["gi_class"] != "not_significant"
    assert sig.any()
    assert out.loc[sig, "gi_z"].abs().min() > out.loc[~sig, "gi_z"].abs().max()
    # the floor of 199 permutations cannot pass FDR over n cells unless ~n/10 cells share it
    floor = gistar.p_floor(n, permutations=199)
    assert floor == pytest.approx(0.01)
    assert floor > 0.10 / n
    assert out.attrs["fdr_reachable"] is True
    assert out.attrs["p_min"] == pytest.approx(gistar.p_floor(n)) and out.attrs["p_min"] < 1e-20


@pytest.mark.parametrize("perms", [-1, 1, 99, 199, 998])
def test_too_few_permutations_are_refused(cells: list[str], perms: int) -> None:
    with pytest.raises(ValidationError, match=r"`permutations`.*at least 999"):
        gistar.gi_star(_frame(cells, _planted(cells, extra=3)), permutations=perms)


def test_permutation_mode_states_its_floor(cells: list[str]) -> None:
    y = _planted(cells, extra=12, seed=4)
    out = gistar.gi_star(_frame(cells, y), permutations=999, seed=2)
    n = len(cells)
    assert out.attrs["p_method"] == "permutation"
    assert out.attrs["p_min"] == pytest.approx(0.002)
    assert out["gi_p"].min() >= 0.002 - 1e-12
    assert out.attrs["fdr_reachable"] is (0.10 / n >= 0.002)
    assert out.attrs["fdr_cells_needed_at_floor"] == int(np.ceil(0.002 * n / 0.10 - 1e-9))
    assert "999" in out.attrs["p_method_text"]


@pytest.mark.slow  # esda compiles its numba kernel (~15-40 s)
def test_permutation_p_tracks_esda_z_sim(cells: list[str]) -> None:
    """Our permutation p against esda's own permutation run (numba, 999 draws). Both are
    random, so they agree statistically: p-values correlate, differ by a small median, and
    where esda's simulated z is beyond 3.5 both are within a few draws of the floor; esda's
    z_sim tracks the analytic z (why the analytic p is a fair default)."""
    y = _planted(cells, extra=8, seed=7)
    w = W(h3grid.h3_neighbours(cells), silence_warnings=True)
    ref = G_Local(y, w, transform="B", star=True, permutations=999, seed=3, n_jobs=1)
    ours = gistar.gi_star(_frame(cells, y), permutations=999, seed=3)
    p = ours["gi_p"].to_numpy()
    esda_two_sided = np.minimum(1, 2 * ref.p_sim)  # esda's p_sim is one-sided (folded)
    assert np.corrcoef(p, esda_two_sided)[0, 1] > 0.98
    assert np.median(np.abs(p - esda_two_sided)) < 0.03
    strong = np.abs(ref.z_sim) > 3.5
    assert strong.sum() >= 3
    assert (p[strong] <= 0.012).all() and (esda_two_sided[strong] <= 0.012).all()
    assert np.corrcoef(ref.z_sim, ours["gi_z"])[0, 1] > 0.95

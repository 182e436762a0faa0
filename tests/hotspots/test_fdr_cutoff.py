"""Gi* classes use the Benjamini-Hochberg cut-off without importing esda (a server keeps
numba, llvmlite and scikit-learn out of memory); the cut-off is esda's, tested against it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from esda import fdr

from geosafe.hotspots.gistar import fdr_cutoff


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.10])
def test_cutoff_equals_esda(seed: int, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    # a mix of true signals (tiny p) and nulls (uniform), with ties
    p = np.concatenate([rng.uniform(0, 1, n), rng.uniform(0, 1e-4, n // 10), [0.002] * 5])
    assert fdr_cutoff(p, alpha) == pytest.approx(fdr(p, alpha), rel=0, abs=0)


def test_cutoff_when_nothing_passes_is_bonferroni() -> None:
    p = np.array([0.9, 0.8, 0.95])
    assert fdr_cutoff(p, 0.05) == fdr(p, 0.05) == pytest.approx(0.05 / 3)


def test_classifying_cells_does_not_import_esda() -> None:
    code = (
        "import sys, numpy as np\n"
        "from geosafe.hotspots import gistar\n"
        "gistar.classify(np.array([3.0, -3.0, 0.1]), np.array([0.001, 0.001, 0.9]))\n"
        "heavy = sorted(m for m in ('esda', 'numba', 'llvmlite', 'sklearn', 'libpysal') "
        "if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

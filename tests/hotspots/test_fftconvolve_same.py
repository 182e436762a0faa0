"""The KDE's convolution (:func:`geosafe.hotspots.kde.fftconvolve_same`, scipy.fft only) is
``scipy.signal.fftconvolve(mode="same")`` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from geosafe.hotspots.kde import fftconvolve_same


@pytest.mark.parametrize(
    ("grid", "kern"),
    [
        ((50, 70), (9, 9)),
        ((123, 97), (31, 31)),
        ((8, 8), (21, 21)),
        ((1, 40), (5, 5)),
        ((30, 1), (1, 1)),
    ],
)
def test_equals_scipy_signal(grid: tuple[int, int], kern: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(grid) + sum(kern))
    a = rng.poisson(0.3, grid).astype(float)
    k = rng.uniform(0, 1, kern)
    assert np.array_equal(fftconvolve_same(a, k), fftconvolve(a, k, mode="same"))

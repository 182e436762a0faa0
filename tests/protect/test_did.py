"""The difference-in-differences estimator (issue 13 item 4's acceptance).

Reference: statsmodels' Poisson GLM with area and month effects (an independent fit of the
same model). Synthetic series here are test data for the estimator, drawn with known effects.
"""

from __future__ import annotations

import numpy as np
import pytest

from geosafe._errors import ValidationError
from geosafe.protect.did import did_arrays, did_estimate

T_PRE, T_POST = 12, 12
POST = np.r_[np.zeros(T_PRE, bool), np.ones(T_POST, bool)]


def _series(
    rng: np.random.Generator, n: int, *, effect: float, dispersion: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` trials of a treated area (~20 a month) and a comparison (~60 a month) sharing a
    seasonal month effect; the treated rate multiplied by ``effect`` after the start.
    ``dispersion``: negative binomial counts with that size parameter instead of Poisson."""
    months = np.arange(T_PRE + T_POST)
    season = np.exp(0.3 * np.sin(2 * np.pi * months / 12) + 0.01 * months)
    mu_t = 20.0 * season * np.where(POST, effect, 1.0)
    mu_c = 60.0 * season
    if dispersion is None:
        return rng.poisson(mu_t, (n, mu_t.size)), rng.poisson(mu_c, (n, mu_c.size))

    def nb(mu: np.ndarray) -> np.ndarray:
        return rng.negative_binomial(dispersion, dispersion / (dispersion + mu), (n, mu.size))

    return nb(mu_t), nb(mu_c)


def test_matches_statsmodels_poisson_glm() -> None:
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(7)
    y, c = _series(rng, 1, effect=0.7, dispersion=5.0)
    y, c = y[0], c[0]
    n = y.size
    counts = np.r_[y, c]
    area = np.r_[np.ones(n), np.zeros(n)]
    month = np.tile(np.arange(n), 2)
    treat = area * np.tile(POST, 2)
    x = np.column_stack([np.ones(2 * n), area, np.eye(n)[month][:, 1:], treat])
    fit = sm.GLM(counts, x, family=sm.families.Poisson()).fit()
    est = did_estimate(y, c, POST)
    assert est.log_ratio == pytest.approx(fit.params[-1], abs=1e-8)
    quasi = sm.GLM(counts, x, family=sm.families.Poisson()).fit(scale="X2")
    assert quasi.scale > 1  # overdispersed counts: the quasi-Poisson scale applies
    assert est.dispersion == pytest.approx(quasi.scale, rel=1e-6)
    assert est.se == pytest.approx(quasi.bse[-1], rel=1e-6)
    assert est.se / np.sqrt(est.dispersion) == pytest.approx(fit.bse[-1], rel=1e-6)


def test_recovers_an_injected_drop_within_its_interval() -> None:
    rng = np.random.default_rng(13)
    y, c = _series(rng, 1, effect=0.6)
    est = did_estimate(y[0], c[0], POST)
    assert est.ci_low <= np.log(0.6) <= est.ci_high
    assert est.ci_high < 0  # a 40% drop on ~20 a month is detected
    assert est.percent_change == pytest.approx(-40, abs=15)
    # and over 200 seeded trials the interval holds the true drop at least 90% of the time
    y, c = _series(np.random.default_rng(14), 200, effect=0.6)
    r = did_arrays(y, c, POST)
    held = (r["ci_low"] <= np.log(0.6)) & (np.log(0.6) <= r["ci_high"])
    assert held.mean() >= 0.90


@pytest.mark.parametrize("dispersion", [None, 8.0])
def test_no_effect_interval_covers_zero_in_90_percent_of_200_trials(
    dispersion: float | None,
) -> None:
    y, c = _series(np.random.default_rng(2025), 200, effect=1.0, dispersion=dispersion)
    r = did_arrays(y, c, POST)
    covers = (r["ci_low"] <= 0) & (r["ci_high"] >= 0)
    assert covers.mean() >= 0.90, covers.mean()
    if dispersion is None:  # Poisson counts: not so wide that it also covers a 40% drop
        assert (r["ci_low"] <= np.log(0.6)).mean() < 0.2


def test_zero_cells_are_corrected_and_said() -> None:
    y = np.r_[np.zeros(6), np.zeros(6)]
    c = np.full(12, 5.0)
    est = did_estimate(y, c, np.arange(12) >= 6)
    assert est.corrected and np.isfinite(est.log_ratio) and est.covers_zero


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(ValidationError, match="`post` needs months both before and after"):
        did_estimate(np.ones(5), np.ones(5), np.ones(5, bool))
    with pytest.raises(ValidationError, match="must share"):
        did_estimate(np.ones(5), np.ones(4), np.arange(5) > 2)

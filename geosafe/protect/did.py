"""Difference in differences for monthly counts: did incidents fall in the treated area after
an intervention, compared with a comparison area over the same months?

The model is the Poisson regression with an area effect, a month effect and the treatment
effect: ``log E[y_{a,t}] = alpha_a + gamma_t + beta * treated_a * post_t`` for the treated area
``a = 1`` and the comparison area ``a = 0`` (the comparison's areas summed). Conditional on each
month's total, the treated count is binomial with a log-odds of ``alpha + beta * post_t``, so
the maximum-likelihood estimate has a closed form, the log ratio of ratios::

    beta = log(Y_post / C_post) - log(Y_pre / C_pre)

with ``Y``/``C`` the treated/comparison totals before and after, and the Poisson standard error
``sqrt(1/Y_pre + 1/C_pre + 1/Y_post + 1/C_post)``. Overdispersion (counts more variable than
Poisson, the usual case for crime) is taken into account quasi-Poisson fashion: the standard
error is multiplied by ``sqrt(phi)``, ``phi = max(1, Pearson chi^2 / (T - 2))`` for ``T`` months,
and the interval uses Student's t with ``T - 2`` degrees of freedom. The statsmodels GLM fit
of the same model gives the same ``beta`` and standard error (``tests/protect/test_did.py``).

Everything is vectorised over leading axes, so 200 seeded trials are one call.

A zero total in any of the four cells makes the ratio undefined: 0.5 is then added to each
(Haldane's correction) and ``corrected`` says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._errors import ValidationError

__all__ = ["DidEstimate", "did_arrays", "did_estimate"]


@dataclass(frozen=True)
class DidEstimate:
    """A difference-in-differences estimate of one treated area against its comparison.

    Attributes
    ----------
    log_ratio
        ``beta``: the change in the treated area's log rate beyond the comparison's.
    se
        Its standard error (quasi-Poisson).
    ci_low, ci_high
        The ``level`` interval of ``log_ratio``.
    ratio, ratio_low, ratio_high
        ``exp`` of the three: the treated area's incidents after, as a multiple of what the
        comparison's change predicts (0.7: 30% fewer).
    percent_change
        ``100 * (ratio - 1)``.
    dispersion
        ``phi`` (1 when the counts are no more variable than Poisson).
    """

    log_ratio: float
    se: float
    ci_low: float
    ci_high: float
    ratio: float
    ratio_low: float
    ratio_high: float
    percent_change: float
    dispersion: float
    level: float
    months_pre: int
    months_post: int
    treated_pre: float
    treated_post: float
    comparison_pre: float
    comparison_post: float
    corrected: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float):
                out[k] = round(v, 4)
        return out

    @property
    def covers_zero(self) -> bool:
        """Whether the interval includes "no change"."""
        return self.ci_low <= 0.0 <= self.ci_high


def did_arrays(
    treated: np.ndarray,
    comparison: np.ndarray,
    post: np.ndarray,
    *,
    level: float = 0.95,
) -> dict[str, np.ndarray]:
    """The estimate for counts over the last axis (months); leading axes are independent
    series (e.g. seeded trials).

    Parameters
    ----------
    treated, comparison
        Monthly counts, shape ``(..., T)``.
    post
        Boolean, shape ``(T,)``: the months after the intervention.
    level
        Interval coverage.

    Returns
    -------
    dict of arrays ``log_ratio``, ``se``, ``ci_low``, ``ci_high``, ``dispersion``,
    ``corrected`` and the four totals, each of the leading shape.
    """
    y = np.asarray(treated, dtype=float)
    c = np.asarray(comparison, dtype=float)
    post = np.asarray(post, dtype=bool)
    if y.shape != c.shape or y.shape[-1] != post.shape[-1] or post.ndim != 1:
        msg = (
            f"`treated` {y.shape}, `comparison` {c.shape} and `post` {post.shape} must share "
            "the month axis (the last)."
        )
        raise ValidationError(msg)
    n_months = post.size
    if post.all() or not post.any() or n_months < 3:
        msg = f"`post` needs months both before and after, and 3 months at least (got {n_months})."
        raise ValidationError(msg)
    if not 0.5 < level < 1.0:
        raise ValidationError(f"`level` {level!r} must be between 0.5 and 1.")
    cells = np.stack(
        [
            y[..., ~post].sum(-1),
            c[..., ~post].sum(-1),
            y[..., post].sum(-1),
            c[..., post].sum(-1),
        ]
    )
    corrected = (cells <= 0).any(axis=0)
    adj = np.where(corrected, cells + 0.5, cells)
    y0, c0, y1, c1 = adj
    beta = np.log(y1 / c1) - np.log(y0 / c0)
    se0 = np.sqrt(1 / y0 + 1 / c0 + 1 / y1 + 1 / c1)
    # Pearson chi^2 of the fitted model: month totals split by the period's share
    share = np.where(post, (y1 / (y1 + c1))[..., None], (y0 / (y0 + c0))[..., None])
    n = y + c
    mu_y, mu_c = n * share, n * (1 - share)
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = np.where(mu_y > 0, (y - mu_y) ** 2 / mu_y, 0.0) + np.where(
            mu_c > 0, (c - mu_c) ** 2 / mu_c, 0.0
        )
    df = n_months - 2
    phi = np.maximum(1.0, x2.sum(-1) / df)
    se = se0 * np.sqrt(phi)
    from scipy import stats  # on first use: scipy.stats is ~60 MB a service would hold

    q = float(stats.t.ppf(0.5 + level / 2.0, df))
    return {
        "log_ratio": beta,
        "se": se,
        "ci_low": beta - q * se,
        "ci_high": beta + q * se,
        "dispersion": phi,
        "corrected": corrected,
        "treated_pre": cells[0],
        "comparison_pre": cells[1],
        "treated_post": cells[2],
        "comparison_post": cells[3],
    }


def did_estimate(
    treated: np.ndarray, comparison: np.ndarray, post: np.ndarray, *, level: float = 0.95
) -> DidEstimate:
    """:func:`did_arrays` for one treated series and its comparison (1-D)."""
    t = np.asarray(treated, dtype=float)
    if t.ndim != 1:
        raise ValidationError(f"`treated` must be one series of months (shape {t.shape}).")
    r = did_arrays(t, comparison, post, level=level)
    b, lo, hi = float(r["log_ratio"]), float(r["ci_low"]), float(r["ci_high"])
    post = np.asarray(post, dtype=bool)
    return DidEstimate(
        log_ratio=b,
        se=float(r["se"]),
        ci_low=lo,
        ci_high=hi,
        ratio=float(np.exp(b)),
        ratio_low=float(np.exp(lo)),
        ratio_high=float(np.exp(hi)),
        percent_change=float(100.0 * (np.exp(b) - 1.0)),
        dispersion=float(r["dispersion"]),
        level=level,
        months_pre=int((~post).sum()),
        months_post=int(post.sum()),
        treated_pre=float(r["treated_pre"]),
        treated_post=float(r["treated_post"]),
        comparison_pre=float(r["comparison_pre"]),
        comparison_post=float(r["comparison_post"]),
        corrected=bool(r["corrected"]),
    )

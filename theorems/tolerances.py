"""The one shared module for tolerances and statistics. Every threshold a check uses comes from here.

- Identities: ``c * eps(dtype) * n_ops * scale`` (a standard forward-error model: each of ``n_ops`` roundings
  contributes at most eps relative error of the operands' magnitude). ``c`` is stated at the call site.
- Statistical claims: confidence bounds at a stated false-fail rate (exact binomial, Hoeffding, Chebyshev, DKW).
- Rates: a least-squares slope of log-quantities with its standard error; a band is stated by the claim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats as _st


def eps(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).eps)


def identity_tolerance(dtype: torch.dtype, n_ops: int | float, scale: float, c: float = 8.0) -> float:
    """Round-off allowance for an exact identity: ``c * eps * n_ops * scale``.

    ``n_ops`` is the length of the longest chain of dependent roundings (reduction sizes multiplied through the
    computation), ``scale`` the magnitude of the operands (e.g. the sum of absolute values of the terms). ``c = 8``
    covers the two sides of the identity being computed by different orderings plus the exp/division roundings.
    """
    return float(c) * eps(dtype) * max(float(n_ops), 1.0) * max(float(scale), torch.finfo(dtype).tiny)


def max_abs_error(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {tuple(a.shape)} vs {tuple(b.shape)}")
    return float((a - b).abs().max()) if a.numel() else 0.0


# ---------------------------------------------------------------- statistical bounds at a false-fail rate
def normal_quantile(two_sided_rate: float) -> float:
    """z such that P(|Z| > z) = rate for a standard normal."""
    return float(_st.norm.isf(two_sided_rate / 2))


def chebyshev_k(rate: float) -> float:
    """k with P(|X - EX| >= k sd) <= 1/k^2 = rate, for any distribution with finite variance."""
    return 1.0 / math.sqrt(rate)


def hoeffding_radius(n: int, value_range: float, rate: float) -> float:
    """Two-sided Hoeffding: P(|mean - E| >= r) <= rate for n i.i.d. variables in an interval of length value_range."""
    return value_range * math.sqrt(math.log(2.0 / rate) / (2.0 * n))


def dkw_radius(n: int, rate: float) -> float:
    """Dvoretzky–Kiefer–Wolfowitz (Massart): sup|F_n - F| <= r with probability >= 1 - rate."""
    return math.sqrt(math.log(2.0 / rate) / (2.0 * n))


def clopper_pearson(successes: int, n: int, rate: float) -> tuple[float, float]:
    """Exact two-sided binomial confidence interval with total miss probability <= rate."""
    if n <= 0:
        raise ValueError("n must be positive")
    lo = 0.0 if successes == 0 else float(_st.beta.ppf(rate / 2, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(_st.beta.isf(rate / 2, successes + 1, n - successes))
    return lo, hi


def binomial_acceptance(n: int, p: float, rate: float) -> tuple[int, int]:
    """Counts [lo, hi] such that a Binomial(n, p) count falls outside with probability <= rate (two-sided)."""
    lo = int(_st.binom.ppf(rate / 2, n, p))
    hi = int(_st.binom.isf(rate / 2, n, p))
    # ppf/isf are conservative on the discrete grid; widen by one so each tail is at most rate/2.
    return max(lo - 1, 0), min(hi + 1, n)


def t_upper_mean(x: np.ndarray | list[float], rate: float) -> float:
    """One-sided Student-t upper confidence bound on a mean (for seed-level summaries of trained claims)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 2:
        raise ValueError("need at least two samples")
    return float(x.mean() + _st.t.isf(rate, n - 1) * x.std(ddof=1) / math.sqrt(n))


def t_lower_mean(x: np.ndarray | list[float], rate: float) -> float:
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 2:
        raise ValueError("need at least two samples")
    return float(x.mean() - _st.t.isf(rate, n - 1) * x.std(ddof=1) / math.sqrt(n))


# ---------------------------------------------------------------- fitted rates
@dataclass(frozen=True)
class SlopeFit:
    slope: float
    intercept: float
    stderr: float  # standard error of the slope (nan for two points)
    r2: float

    def ci(self, rate: float, n: int) -> tuple[float, float]:
        """Two-sided t confidence interval of the slope at miss probability ``rate``."""
        if n <= 2 or not math.isfinite(self.stderr):
            return (-math.inf, math.inf)
        half = float(_st.t.isf(rate / 2, n - 2)) * self.stderr
        return (self.slope - half, self.slope + half)


def fit_slope(x: np.ndarray | list[float], y: np.ndarray | list[float], log: bool = True) -> SlopeFit:
    """Least-squares slope of ``log y`` against ``log x`` (``log=True``) or of y against x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if log:
        if (x <= 0).any() or (y <= 0).any():
            raise ValueError("log-log fit needs positive values")
        x, y = np.log(x), np.log(y)
    n = len(x)
    if n < 2:
        raise ValueError("need at least two points to fit a slope")
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - ym)).sum() / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    sst = float(((y - ym) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / sst if sst > 0 else 1.0
    stderr = math.sqrt(float((resid**2).sum()) / (n - 2) / sxx) if n > 2 else math.nan
    return SlopeFit(slope, intercept, stderr, r2)


# ---------------------------------------------------------------- median of means (heavy-tailed Monte-Carlo)
@dataclass(frozen=True)
class MedianOfMeansPlan:
    groups: int  # odd number of groups g
    k: float  # Chebyshev multiplier: each group statistic misses by > k sd with probability <= 1/k^2

    def radius(self, group_sd: float) -> float:
        """Bound on |median of the group statistics - their mean| at the plan's false-fail rate."""
        return self.k * float(group_sd)


def median_of_means_plan(n: int, rate: float, max_groups: int = 401) -> MedianOfMeansPlan:
    """Split n i.i.d. samples into g (odd) groups of m = n // g. Each group mean is farther than k sd/sqrt(m) from the
    mean with probability <= p = 1/k^2 (Chebyshev, needs only the variance); the median is that far only if at least
    (g+1)/2 groups are, so P(miss) <= P(Binomial(g, p) >= (g+1)/2) = BetaCDF(p; (g+1)/2, (g+1)/2) <= rate.
    Chooses g minimising the radius k sqrt(g/n) (in units of the per-sample sd). Robust for heavy tails (log-normal
    features), where a normal-approximation band has no guaranteed rate."""
    if n < 1:
        raise ValueError("n must be positive")
    best = None
    for g in range(1, min(max_groups, n) + 1, 2):
        j = (g + 1) // 2
        p = float(_st.beta.ppf(rate, j, g - j + 1))
        if p <= 0:
            continue
        k = 1.0 / math.sqrt(p)
        cost = k / math.sqrt(n // g)
        if best is None or cost < best[0]:
            best = (cost, g, k)
    return MedianOfMeansPlan(best[1], best[2])

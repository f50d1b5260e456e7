"""The one shared module for tolerances and statistics. Every threshold a check uses comes from here.

- Identities: ``c * eps(dtype) * n_ops * scale`` (a standard forward-error model: each of ``n_ops`` roundings
  contributes at most eps relative error of the operands' magnitude). ``c`` is stated at the call site.
- Statistical claims: confidence bounds at a stated false-fail rate (exact binomial, Hoeffding, Chebyshev, DKW).
- Rates: a least-squares slope of log-quantities with its standard error; a band is stated by the claim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

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


# ---------------------------------------------------------------- three verdicts at a stated rate and resolution
# The model is tensorflow_probability's ``statistical_testing``: every assertion comes with the smallest discrepancy it
# detects (``min_discrepancy``) and the samples it needs (``min_num_samples``). A claim "theta <= b" (or ">= b") with
# false-fail rate alpha, power 1 - beta and resolution delta is decided from one-sided confidence limits at level alpha:
#   violated      the limit on the claim's side excludes b          (P(violated | claim true) <= alpha)
#   held          the estimate is within b and the other limit within b +- delta
#                 (a violation of size >= delta is excluded; a sample outside its bound is never held)
#   inconclusive  neither: the sample is too small for this rate and resolution; says so with the numbers.
# ``min_discrepancy`` is the delta that a sample of this size attains with power 1 - beta (both ways: it would call a
# violation of that size violated, and a true claim at the bound held, each with probability >= 1 - beta).
SIDES = ("at_most", "at_least")


def _decide(estimate: float, lower: float, upper: float, bound: float, side: str, delta: float, rate: float,
            power: float, n: int, what: str, unit: str, min_discrepancy: float, **extra) -> "Outcome":
    from theorems.core import Outcome

    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    conf = f"{100 * (1 - rate):.6g}%"
    if side == "at_most":
        violated, held = lower > bound, estimate <= bound and upper <= bound + delta
        rule = (f"{what}: violated if the lower {conf} confidence limit > {bound:.4g}; held if the estimate <= "
                f"{bound:.4g} and the upper limit <= {bound:.4g} + resolution {delta:.3g}; else inconclusive "
                f"({n} {unit})")
        margin = min(bound - estimate, bound + delta - upper) if not violated else bound - lower
    else:
        violated, held = upper < bound, estimate >= bound and lower >= bound - delta
        rule = (f"{what}: violated if the upper {conf} confidence limit < {bound:.4g}; held if the estimate >= "
                f"{bound:.4g} and the lower limit >= {bound:.4g} - resolution {delta:.3g}; else inconclusive "
                f"({n} {unit})")
        margin = min(estimate - bound, lower - (bound - delta)) if not violated else upper - bound
    verdict = False if violated else (True if held else None)
    details = {"rule": rule, "estimate": estimate, "lower": lower, "upper": upper, "n": n, "unit": unit,
               "false_fail_rate": rate, "power": power, "resolution": delta, "min_discrepancy": min_discrepancy,
               **extra}
    return Outcome(float(estimate), float(bound), float(margin), verdict, details=details)


def min_discrepancy_mean(n: int, sd: float, rate: float, power: float) -> float:
    """Smallest shift of a mean detected with probability ``power`` from n i.i.d. samples of this sd (one-sided t
    limits at level ``rate``): (t_{1-rate} + t_{power}) sd / sqrt(n)."""
    if n < 2:
        return math.inf
    dof = n - 1
    return float((_st.t.isf(rate, dof) + _st.t.ppf(power, dof)) * sd / math.sqrt(n))


def min_num_samples_mean(delta: float, sd: float, rate: float, power: float, n_max: int = 10**7) -> int:
    """Fewest samples whose :func:`min_discrepancy_mean` is <= delta."""
    if delta <= 0:
        raise ValueError("delta must be positive")
    return _fewest(2, lambda n: min_discrepancy_mean(n, sd, rate, power) <= delta, n_max)


def _fewest(start: int, enough: Callable[[int], bool], n_max: int) -> int:
    """The smallest n >= start with enough(n), for enough monotone in n (doubling, then bisection); n_max caps it."""
    n = start
    while not enough(n):
        n *= 2
        if n > n_max:
            return n_max
    lo, hi = max(n // 2, start - 1), n
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def mean_verdict(samples, bound: float, side: str, *, rate: float, power: float, resolution: float,
                 what: str = "mean", unit: str = "samples") -> "Outcome":
    """Decide "mean <= bound" (side at_most) or ">= bound" from i.i.d. samples: the unit of replication (for a trained
    claim, one value per separately trained seed). Student-t limits; fewer than two samples is inconclusive."""
    x = np.asarray(samples, dtype=float).ravel()
    n = len(x)
    if n < 2 or not np.isfinite(x).all():
        est = float(x.mean()) if n else math.nan
        return _decide(est, -math.inf, math.inf, bound, side, resolution, rate, power, n, what, unit, math.inf,
                       note="too few (finite) samples for a confidence limit")
    sd = float(x.std(ddof=1))
    half = float(_st.t.isf(rate, n - 1)) * sd / math.sqrt(n)
    return _decide(float(x.mean()), float(x.mean()) - half, float(x.mean()) + half, bound, side, resolution, rate,
                   power, n, what, unit, min_discrepancy_mean(n, sd, rate, power), sd=sd)


def mean_verdict_from_summary(estimate: float, se: float, n: int, bound: float, side: str, *, rate: float,
                              power: float, resolution: float, what: str = "mean",
                              unit: str = "samples") -> "Outcome":
    """:func:`mean_verdict` when only the estimate and its standard error over n i.i.d. samples are at hand (a
    Monte-Carlo routine that returns a summary): one-sided Student-t limits estimate -+ t_{rate, n-1} se."""
    if n < 2 or not (math.isfinite(estimate) and math.isfinite(se)):
        return _decide(estimate, -math.inf, math.inf, bound, side, resolution, rate, power, n, what, unit, math.inf,
                       note="too few (finite) samples for a confidence limit")
    half = float(_st.t.isf(rate, n - 1)) * se
    sd = se * math.sqrt(n)
    return _decide(estimate, estimate - half, estimate + half, bound, side, resolution, rate, power, n, what, unit,
                   min_discrepancy_mean(n, sd, rate, power), sd=sd)


def min_discrepancy_binomial(n: int, p0: float, rate: float, power: float, side: str = "at_most") -> float:
    """Smallest distance d such that a Binomial(n, p0 + d) count (side at_most; p0 - d for at_least) puts the one-sided
    Clopper-Pearson limit at level ``rate`` beyond p0 with probability >= power."""
    lo, hi = 0.0, (1.0 - p0) if side == "at_most" else p0
    if hi <= 0:
        return math.inf

    def detects(d: float) -> bool:
        p = p0 + d if side == "at_most" else p0 - d
        k = _st.binom.ppf(1 - power, n, p) if side == "at_most" else _st.binom.ppf(power, n, p)
        k = int(k)
        lim = (float(_st.beta.ppf(rate, k, n - k + 1)) if k > 0 else 0.0) if side == "at_most" else \
              (float(_st.beta.isf(rate, k + 1, n - k)) if k < n else 1.0)
        return lim > p0 if side == "at_most" else lim < p0

    if not detects(hi):
        return math.inf
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if detects(mid) else (mid, hi)
    return hi


def min_num_samples_binomial(p0: float, delta: float, rate: float, power: float, side: str = "at_most",
                             n_max: int = 10**7) -> int:
    """Fewest trials whose :func:`min_discrepancy_binomial` is <= delta."""
    return _fewest(8, lambda n: min_discrepancy_binomial(n, p0, rate, power, side) <= delta, n_max)


def binomial_verdict(k: int, n: int, bound: float, side: str, *, rate: float, power: float, resolution: float,
                     what: str = "rate", unit: str = "trials") -> "Outcome":
    """Decide "p <= bound" (at_most) or "p >= bound" (at_least) from k successes in n independent trials, with
    one-sided Clopper-Pearson limits at level ``rate``. Use it only where the trials are the random unit (prompts of
    a fixed model are not independent draws of the model: see mean_verdict over seeds)."""
    k, n = int(k), int(n)
    if n <= 0:
        return _decide(math.nan, -math.inf, math.inf, bound, side, resolution, rate, power, 0, what, unit, math.inf,
                       note="no trials")
    lower = 0.0 if k == 0 else float(_st.beta.ppf(rate, k, n - k + 1))
    upper = 1.0 if k == n else float(_st.beta.isf(rate, k + 1, n - k))
    return _decide(k / n, lower, upper, bound, side, resolution, rate, power, n, what, unit,
                   min_discrepancy_binomial(n, bound, rate, power, side), successes=k)

"""The shared three-verdict helpers (theorems/tolerances.py): a sample just outside its bound is violated or
inconclusive, never held; the printed rule is the one applied; resolution and sample size agree."""
from __future__ import annotations

import math

import numpy as np
import pytest

from theorems import tolerances as tol

RATE, POWER = 1e-3, 0.95


@pytest.mark.parametrize("side", tol.SIDES)
def test_binomial_just_outside_the_bound_is_never_held(side):
    n, bound = 2000, 0.05
    for k in range(0, n + 1, 7):
        p = k / n
        out = tol.binomial_verdict(k, n, bound, side, rate=RATE, power=POWER, resolution=0.02)
        outside = p > bound if side == "at_most" else p < bound
        if outside:
            assert out.holds is not True, (k, out.details)
        if out.holds is True:  # held means the limit on the other side is within the resolution
            lim = out.details["upper"] if side == "at_most" else out.details["lower"]
            assert (lim <= bound + 0.02) if side == "at_most" else (lim >= bound - 0.02)


def test_issue_12_cases_are_no_longer_passed():
    """L-T33's "error <= 0.05" used to pass 6.75% over n = 2000; L-P42's ">= 90%" passed 79%."""
    assert tol.binomial_verdict(135, 2000, 0.05, "at_most", rate=RATE, power=POWER, resolution=0.02).holds is False
    assert tol.binomial_verdict(79, 100, 0.9, "at_least", rate=RATE, power=POWER, resolution=0.05).holds is not True


@pytest.mark.parametrize("side", tol.SIDES)
def test_mean_just_outside_the_bound_is_never_held(side):
    rng = np.random.default_rng(0)
    for shift in (1e-3, 0.01, 0.1, 1.0):
        x = rng.normal(0, 0.05, 5)
        x = x - x.mean() + (shift if side == "at_most" else -shift)  # sample mean just outside the bound 0
        out = tol.mean_verdict(x, 0.0, side, rate=RATE, power=POWER, resolution=1e-4)
        assert out.holds is not True, out.details


def test_mean_verdict_states_its_rule_and_three_seeds_say_little():
    out = tol.mean_verdict([0.10, 0.12, 0.11], 0.2, "at_most", rate=RATE, power=POWER, resolution=0.05)
    d = out.details
    assert "upper limit <= 0.2 + resolution 0.05" in d["rule"] and "(3 samples)" in d["rule"]
    assert out.holds is True and d["upper"] <= 0.25  # sd 0.01: even t_{0.999, 2} = 22.3 leaves the limit at 0.239
    # the same mean with a seed-to-seed spread of 0.05: the 99.9% limit is far above the bound, so inconclusive
    wide = tol.mean_verdict([0.05, 0.11, 0.17], 0.2, "at_most", rate=RATE, power=POWER, resolution=0.05)
    assert wide.holds is None and wide.details["min_discrepancy"] > 0.05


def test_too_few_samples_are_inconclusive_not_a_crash():
    out = tol.mean_verdict([0.1], 0.2, "at_most", rate=RATE, power=POWER, resolution=0.05)
    assert out.holds is None and "too few" in out.details["note"]
    assert tol.binomial_verdict(0, 0, 0.1, "at_most", rate=RATE, power=POWER, resolution=0.05).holds is None


def test_min_discrepancy_and_min_num_samples_agree():
    n = tol.min_num_samples_binomial(0.05, 0.02, RATE, POWER)
    assert tol.min_discrepancy_binomial(n, 0.05, RATE, POWER) <= 0.02 < tol.min_discrepancy_binomial(n - 1, 0.05,
                                                                                                      RATE, POWER)
    m = tol.min_num_samples_mean(0.1, 1.0, RATE, POWER)
    assert tol.min_discrepancy_mean(m, 1.0, RATE, POWER) <= 0.1 < tol.min_discrepancy_mean(m - 1, 1.0, RATE, POWER)
    assert math.isinf(tol.min_discrepancy_mean(1, 1.0, RATE, POWER))


def test_resolution_is_attained_with_the_stated_power():
    """At the min_discrepancy, a violation of that size is called violated in >= 95% of simulated samples."""
    rng = np.random.default_rng(1)
    n, sd = 12, 1.0
    delta = tol.min_discrepancy_mean(n, sd, 0.01, POWER)
    hits = sum(tol.mean_verdict(rng.normal(delta, sd, n), 0.0, "at_most", rate=0.01, power=POWER,
                                resolution=delta).holds is False for _ in range(2000))
    assert hits / 2000 >= POWER - 0.02

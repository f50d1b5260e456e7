"""Negative controls for ren2024: each claim's control (``Claim.control``) is a mutant of the catalogue
(mutants/ren2024.py), a small bug in the *model*, that the claim reports as violated at a cheap example where the
reference holds. Plus tests of the checks' own arithmetic at the edge of their tolerances (the generator laws, the
symbolic derivations) and of assumption handling."""
from __future__ import annotations

import math

import pytest
import torch

import mutants
from theorems import Status, all_claims, get_claim, run_claim
from theorems import ren2024 as R
from theorems import ren2024_symbolic as sym

CLAIMS = [c.id for c in all_claims("ren2024")]


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_control_mutant_is_reported_as_violation(claim_id):
    claim = get_claim(claim_id)
    assert claim.control is not None, f"{claim_id} has no negative control"
    c = claim.control
    assert run_claim(claim, c.config, seed=c.seed).holds is True, "the reference must hold at the control's example"
    ev = run_claim(claim, c.config, seed=c.seed, impl=mutants.get(c.mutant).impl())
    assert ev.holds is False, f"{claim_id} did not detect {c.mutant} ({mutants.get(c.mutant).bug})\n{ev.describe()}"


def test_catalogue_is_large_and_applies():
    cat = mutants.catalogue("ren2024")
    assert len(cat) >= 14 and len({m.id for m in cat}) == len(cat)
    for m in cat:
        mutants.patched_source(m)  # StaleMutant if the patch no longer applies
    assert not mutants.known_survivors("ren2024")


@pytest.mark.parametrize("claim_id, config, unmet", [
    ("R-T31", {"features": "taylor", "taylor_order": 3}, "taylor_order even"),
    ("R-T31", {"residual": True, "d_i": 3, "d_o": 2}, "residual needs d_o == d_i"),
])
def test_violated_assumption_is_reported(claim_id, config, unmet):
    ev = run_claim(get_claim(claim_id), R.SMALL | config, seed=0)
    assert ev.status == "assumption not met" and unmet in ev.unmet_assumptions


def test_symbolic_derivations_detect_wrong_formulas():
    """The sympy parts can fail: a wrong claimed formula leaves non-vanishing residual entries."""
    assert sym.dual_gradient_identity(update_scale=2).nonzero_update > 0
    assert sym.dual_gradient_identity(loss_scale=2).nonzero_prediction > 0
    assert sym.linear_kernel_reduction(update_scale=2) > 0
    assert sym.least_squares_bridge(update_scale=2)[1] > 0
    assert sym.prf_moments(False).nonzero_mean > 0 and sym.prf_moments(False).nonzero_variance > 0


def test_generator_laws_accept_the_law_and_reject_a_wrong_one():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4000, generator=g, dtype=torch.float64)
    assert R._normal_law(z, "z").holds is True
    assert R._normal_law(z * math.sqrt(2), "z").holds is False  # variance 2: a missing 1/sqrt(d_i)
    assert R._normal_law(z * 0.8, "z").holds is False
    u = torch.rand(4000, generator=g, dtype=torch.float64)
    assert R._uniform_law(u, "u").holds is True
    assert R._uniform_law(u / 2, "u").holds is False  # half the range
    assert R._uniform_law(u.sqrt(), "u").holds is False  # radius law r U^{1/2} read as U
    assert R._uniform_law(u * 1.01, "u").holds is False  # outside [0, 1]


def test_comparisons_fail_on_shape_or_nan():
    a = torch.zeros(2, 3, dtype=torch.float64)
    assert R._err(a, torch.zeros(2, 4, dtype=torch.float64)) == math.inf
    assert R._err(a, torch.full_like(a, float("nan"))) == math.inf
    assert R._rel_err(a, torch.zeros(3, 2, dtype=torch.float64), torch.ones(3, 2)) == math.inf


def test_ml_overflow_is_an_unmet_assumption_not_a_violation():
    """Four layers at weight scale 2: exp(q.k) overflows float64 in the stack itself (a thorough run found it)."""
    cfg = {"L": 4, "M": 1, "N": 1, "batch": 16, "causal": False, "d_i": 1, "d_o": 1, "d_r": 1, "eta": 1.0,
           "residual": False, "scale": 2.0, "token_bound": 1.0}
    ev = run_claim(get_claim("R-ML"), cfg, seed=0)
    assert ev.status == Status.ASSUMPTION_NOT_MET.value and ev.unmet_assumptions == [R.FINITE_STACK]


def test_interval_verdicts_have_three_outcomes():
    """_equality_verdict (median of means) and _dkw_verdict: an interval that excludes the target is violated, one
    inside the resolution held, one that straddles the target but reaches past the resolution inconclusive."""
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    kw = dict(rate=1e-6, power=0.9, what="x", unit="instance", res_text="0.1")

    def verdict(est, radius):
        return R._equality_verdict(t(est), t(est - radius), t(est + radius), t(1.0), t(0.1),
                                   min_discrepancy=t(2 * radius), **kw).holds

    assert verdict(1.02, 0.05) is True
    assert verdict(1.06, 0.05) is False  # just outside: the interval [1.01, 1.11] excludes 1
    assert verdict(1.04, 0.07) is None  # contains 1 but reaches 1.11 > 1 + 0.1
    g = torch.Generator().manual_seed(0)
    u = torch.rand(4000, generator=g, dtype=torch.float64)
    assert R._dkw_verdict(u, "u", rate=1e-6, power=0.9, resolution=0.2).holds is True
    assert R._dkw_verdict(u.sqrt(), "u", rate=1e-6, power=0.9, resolution=0.2).holds is False
    assert R._dkw_verdict(u[:64], "u", rate=1e-6, power=0.9, resolution=0.2).holds is None  # too few draws

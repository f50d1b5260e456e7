"""Negative controls for the yang2024 claims. Every claim's control (``Claim.control``) is a mutant of the catalogue
(mutants/yang2024.py) that breaks the implementation, not the assertion; the cheap ones run here, all of them in the
generic control test. The rest: violated hypotheses are "assumption not met", and tolerance-edge tests of the checks'
own arithmetic. Small sizes; deterministic seeds."""
from __future__ import annotations

import math

import pytest
import torch

import mutants
from models import yang2024 as m
from theorems import CheckContext, Cost, Status, get_claim, run_claim
from theorems import impl as impls
from theorems.registry import all_claims

SEED = 3
CHEAP_CONTROLS = [c.id for c in all_claims("yang2024") if c.control and c.cost is not Cost.SLOW]


@pytest.mark.parametrize("claim_id", CHEAP_CONTROLS)
def test_control_mutant_is_caught_and_the_reference_holds(claim_id):
    claim = get_claim(claim_id)
    ctl = claim.control
    ev = run_claim(claim, dict(ctl.config), seed=ctl.seed, impl=mutants.get(ctl.mutant).impl())
    assert ev.status == Status.VIOLATED.value, ev.describe()
    ref = run_claim(claim, dict(ctl.config), seed=ctl.seed)
    assert ref.status == Status.HELD.value, ref.describe()


def unmet(claim_id: str, cfg: dict, assumption: str) -> None:
    ev = run_claim(get_claim(claim_id), cfg, seed=SEED)
    assert ev.status == Status.ASSUMPTION_NOT_MET.value and assumption in ev.unmet_assumptions, ev.describe()


def violated_despite_unmet(claim_id: str, cfg: dict) -> None:
    """Run the check itself on a config that violates a hypothesis (bypassing the assumption gate): it must fail."""
    claim = get_claim(claim_id)
    ctx = CheckContext(torch.device("cpu"), SEED, impl=impls.reference("yang2024"))
    out = claim.check(claim.config(cfg), ctx)
    assert not (out.holds and math.isfinite(out.margin)), out


# ---------------------------------------------------------------- hypotheses of the theorems
def test_a2_fewer_heads_than_prompt_tokens():
    cfg = {"H": 2, "N": 4}
    unmet("Y-A2", cfg, "H >= N")
    violated_despite_unmet("Y-A2", cfg)  # rank <= H < N and L* is not reachable at Q^(0)


def test_p1_fewer_heads():
    unmet("Y-P1", {"H": 3, "N": 4}, "H >= N")
    violated_despite_unmet("Y-P1", {"H": 3, "N": 4})


@pytest.mark.parametrize("floors, status", [(0.5, Status.HELD), (1e3, Status.VIOLATED)])
def test_p1_zeta_bound_allows_eigvalsh_round_off_only(monkeypatch, floors, status):
    """zeta_0 >= lambda_min(G) sigma_N^2 is checked with eigvalsh's absolute error floor (8 eps N H ||G|| sigma_1^2):
    a zeta_0 computed low by half that floor (as CUDA's eigvalsh did once) holds; by 1000 floors it is violated."""
    exact = m.zeta

    def low_zeta(S, inst):
        sv1 = torch.linalg.svdvals(m.C_matrices(S))[..., 0].pow(2).amax(-1)
        N, H = S.shape[-3], S.shape[-2]
        return exact(S, inst) - floors * 8 * torch.finfo(torch.float64).eps * N * H * inst.G_norm * sv1

    monkeypatch.setattr(m, "zeta", low_zeta)
    ev = run_claim(get_claim("Y-P1"), {"d": 2, "N": 6, "K": 7, "m": 1, "tau": 1.0, "H": 6, "beta": 0.3046875},
                   seed=0)
    assert ev.status == status.value, ev.describe()


@pytest.mark.parametrize("floors, status", [(0.5, Status.HELD), (1e3, Status.VIOLATED)])
def test_l10_gradient_difference_allows_round_off_of_the_gradients_only(monkeypatch, floors, status):
    """Y-L10's attained-L_w part takes a difference of two gradients: its allowance is 8 eps (N K + H) times the
    gradients' norms. The difference shortened by half that allowance holds; by 1000 of them it is violated."""
    exact, calls = m.grad_analytic, []

    def shortened_third_gradient(Q, w, inst, *a, **kw):
        out = exact(Q, w, inst, *a, **kw)
        calls.append(out[1])
        if len(calls) == 3:  # dw3: move it towards dw1 by `floors` allowances
            dw1, dw3 = calls[0], out[1]
            diff = dw3 - dw1
            n_ops = inst.N * inst.K + w.shape[1]
            allowance = 8 * torch.finfo(torch.float64).eps * n_ops * (dw1.flatten(1).norm(dim=1)
                                                                        + dw3.flatten(1).norm(dim=1))
            unit = diff / diff.flatten(1).norm(dim=1).view(-1, 1, 1)
            out = (out[0], dw3 - floors * allowance.view(-1, 1, 1) * unit, out[2])
        return out

    monkeypatch.setattr(m, "grad_analytic", shortened_third_gradient)
    ev = run_claim(get_claim("Y-L10"), {"tau": 0.002, "w_scale": 1.0, "H": 1, "N": 2, "K": 3, "d": 2, "m": 1},
                   seed=SEED)
    assert ev.status == status.value, ev.describe()


def test_multihead_bound_fails_with_N_heads():
    unmet("Y-MH", {"H": 4, "N": 4}, "H == 1")
    violated_despite_unmet("Y-MH", {"H": 4, "N": 4, "steps": 10})  # with H = N the best w reaches L*


def test_l2_l8_need_unit_tokens():
    unmet("Y-L2", {"token_norm": 2.0}, "token_norm == 1")
    unmet("Y-L8", {"token_norm": 3.0}, "token_norm == 1")


T_CFG = dict(d=8, N=2, K=5, m=3, tau=0.5, H=3, batch=3, max_efold=300.0)


def test_t1_step_too_large_and_too_few_heads():
    unmet("Y-T1", T_CFG | {"c": 40.0}, "c <= 1")
    violated_despite_unmet("Y-T1", T_CFG | {"c": 40.0, "max_efold": 1e6})  # GD diverges: Delta increases
    unmet("Y-T1", T_CFG | {"H": 1}, "H >= N")


def test_trained_claims_without_a_conditioned_instance_are_not_evidence():
    """A filter nothing passes is "assumption not met" with the numbers, never a silent pass or a crash."""
    ev = run_claim(get_claim("Y-T1"), T_CFG | {"kappa_max": 1.0}, seed=0)
    assert ev.status == Status.ASSUMPTION_NOT_MET.value and "conditioning" in ev.unmet_assumptions[0], ev.describe()


def test_f4_with_N_two_heads_do_not_plateau():
    cfg = {"N": 2, "steps": 400, "heads": "1,2,8,64"}
    unmet("Y-F4", cfg, "N >= 3")


def test_f4_whose_largest_H_is_stable_is_a_violation():
    """H_ref = 8 is the largest H: its eta L_w0 is 1, so the instability the figure shows is not reproduced."""
    ev = run_claim(get_claim("Y-F4"), {"heads": "1,2,6,8", "steps": 300}, seed=SEED)
    assert ev.status == Status.VIOLATED.value, ev.describe()


def test_f5_without_training_is_an_unmet_assumption():
    unmet("Y-F5", {"steps": 0}, "steps >= 1")


def test_statements_have_no_control_characters():
    for claim in all_claims("yang2024"):
        assert not any(ord(ch) < 32 for ch in claim.statement), claim.id

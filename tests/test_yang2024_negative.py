"""Negative controls for every yang2024 claim: the same check, run on a broken model, a broken generator or a
violated hypothesis, must report a violation (or "assumption not met"). Small sizes; deterministic seeds."""
from __future__ import annotations

import math

import pytest
import torch

from models import yang2024 as m
from theorems import CheckContext, Status, get_claim, run_claim
from theorems import yang2024 as Y

SEED = 3


def violated(claim_id: str, cfg: dict | None = None, check=None, seed: int = SEED) -> None:
    ev = run_claim(get_claim(claim_id), cfg or {}, seed=seed, check=check)
    assert ev.status == Status.VIOLATED.value, ev.describe()


def unmet(claim_id: str, cfg: dict, assumption: str) -> None:
    ev = run_claim(get_claim(claim_id), cfg, seed=SEED)
    assert ev.status == Status.ASSUMPTION_NOT_MET.value and assumption in ev.unmet_assumptions, ev.describe()


def violated_despite_unmet(claim_id: str, cfg: dict) -> None:
    """Run the check itself on a config that violates a hypothesis (bypassing the assumption gate): it must fail."""
    claim = get_claim(claim_id)
    out = claim.check(claim.config(cfg), CheckContext(torch.device("cpu"), SEED))
    assert not (out.holds and math.isfinite(out.margin)), out


def unnormalised_softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """A broken attention map: exp without the normalisation (rows do not lie in the simplex)."""
    return torch.exp(x)


# ---------------------------------------------------------------- generator contracts
def test_a1_unstandardised_uniform_fails():
    def variance_one_third(law, B, n, dm, g, dtype=torch.float64):  # uniform on [-1, 1] without the sqrt(3)
        return torch.rand(B, n, dm, generator=g, dtype=dtype) * 2 - 1

    violated("Y-A1", {"law": "uniform"}, Y.make_check_a1(sample=variance_one_third))


def _duplicate_prompt_token(*args, **kw) -> m.Instance:
    inst = m.make_instance(*args, **kw)
    V = inst.V.clone()
    V[..., 1] = V[..., 0]  # two identical prompt tokens: Assumption 3 fails
    return m.Instance(V, inst.Zt, inst.N, inst.tau)


def test_a3_duplicate_token_fails():
    violated("Y-A3", {}, Y.make_check_a3(make=_duplicate_prompt_token))


def test_a4_unclipped_out_of_domain_tasks_fail():
    violated("Y-A4", {"law": "ood", "B": 3.0, "m": 4}, Y.make_check_a4(clip=lambda lam, B: lam))


# ---------------------------------------------------------------- Assumption 2, Proposition 1, multi-head
def test_a2_fewer_heads_than_prompt_tokens():
    cfg = {"H": 2, "N": 4}
    unmet("Y-A2", cfg, "H >= N")
    violated_despite_unmet("Y-A2", cfg)  # rank <= H < N and L* is not reachable at Q^(0)


def test_p1_fewer_heads_and_duplicate_tokens():
    unmet("Y-P1", {"H": 3, "N": 4}, "H >= N")
    violated_despite_unmet("Y-P1", {"H": 3, "N": 4})
    violated("Y-P1", {"H": 6, "N": 4}, Y.make_check_p1(make=_duplicate_prompt_token))  # rank N - 1


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


# ---------------------------------------------------------------- lemmas
def test_l1_wrong_sign_softmax_jacobian_fails():
    violated("Y-L1", {}, Y.make_check_l1(vjp=lambda S, U: -m.softmax_vjp(S, U)))


def test_l2_unnormalised_softmax_fails():
    violated("Y-L2", {}, Y.make_check_l2(softmax=unnormalised_softmax))


def test_l2_l8_need_unit_tokens():
    unmet("Y-L2", {"token_norm": 2.0}, "token_norm == 1")
    unmet("Y-L8", {"token_norm": 3.0}, "token_norm == 1")


def test_l4_transformer_penalty_in_place_of_the_oracle_fails():
    violated("Y-L4", {"N": 4, "m": 2}, Y.make_check_l4(oracle_penalty=lambda inst: inst.m * inst.tau))


def test_l5_paper_c_prime_without_unseen_noise_fails():
    def without_unseen_noise(Ah, inst):  # the paper's printed c'_k: no + m tau per unseen target
        return m.loss_of_ahat(Ah, inst) - 0.5 * inst.m * inst.tau * (inst.K - inst.N)

    violated("Y-L5", {"tau": 1.0, "K": 12, "N": 3, "m": 4}, Y.make_check_l5(loss_of_ahat=without_unseen_noise))


def test_l6_wrong_step_scaling_fails():
    violated("Y-L6", {"gamma": 3.0}, Y.make_check_l6(w_step_factor=lambda gamma: gamma))


@pytest.mark.parametrize("claim_id, factory", [("Y-L7", Y.make_check_l7), ("Y-L8", Y.make_check_l8),
                                               ("Y-L9", Y.make_check_l9)])
def test_unnormalised_softmax_breaks_the_bounds(claim_id, factory):
    violated(claim_id, {}, factory(softmax=unnormalised_softmax))


def test_l10_bound_without_the_H_factor_fails():
    violated("Y-L10", {"H": 8, "beta": 0.3}, Y.make_check_l10(bound=lambda inst, H: inst.G_norm))


# ---------------------------------------------------------------- theorems
T_CFG = dict(d=8, N=2, K=5, m=3, tau=0.5, H=3, batch=3, max_efold=300.0)


def test_t1_step_too_large_and_too_few_heads():
    unmet("Y-T1", T_CFG | {"c": 40.0}, "c <= 1")
    violated_despite_unmet("Y-T1", T_CFG | {"c": 40.0, "max_efold": 1e6})  # GD diverges: Delta increases
    unmet("Y-T1", T_CFG | {"H": 1}, "H >= N")


def test_t2_ridge_penalty_tau_over_2_fails():
    """The oracle's penalty tau/2 (c = N tau) in place of m tau/(2N): not the trained model's fixed point (N != m)."""
    violated("Y-T2", T_CFG | {"n_prompts": 50}, Y.make_check_t2(ridge_penalty=lambda inst: inst.N * inst.tau))


def test_t2_untrained_model_fails():
    violated("Y-T2", T_CFG | {"n_prompts": 50}, Y.make_check_t2(untrained=True))


def test_t2_laurent_massart_without_deviation_terms_fails():
    violated("Y-T2", T_CFG | {"n_prompts": 200, "delta": 0.01}, Y.make_check_t2(chi2_bound=lambda N, d: N))


# ---------------------------------------------------------------- figures
def test_f2_untrained_models_fail():
    violated("Y-F2", {"steps": 4, "lr_1layer": 1e-9, "lr_4layer": 1e-9})


def test_f3_penalty_tau_breaks_the_zero_gap_at_N_equal_m():
    violated("Y-F3", {"m": 8, "K": 24, "batch": 8}, Y.make_check_f3(transformer_penalty=lambda dm, N, tau: tau))


def test_f4_with_N_two_heads_do_not_plateau():
    cfg = {"N": 2, "steps": 400, "heads": "1,2,8,64"}
    unmet("Y-F4", cfg, "N >= 3")
    violated_despite_unmet("Y-F4", cfg)


def test_f4_whose_largest_H_is_stable_is_a_violation():
    """H_ref = 8 is the largest H: its eta L_w0 is 1, so the instability the figure shows is not reproduced."""
    violated("Y-F4", {"heads": "1,2,6,8", "steps": 300})


def test_f5_without_training_is_an_unmet_assumption():
    unmet("Y-F5", {"steps": 0}, "steps >= 1")


def test_f5_the_one_layer_model_needs_N_heads():
    one_layer = lambda inst, H, g: m.OneLayerAttention(inst, H, 1.0, g)  # noqa: E731
    violated("Y-F5", {"heads": "1,8", "steps": 150, "lr_4layer": 1e-2}, Y.make_check_f5(model_factory=one_layer))


def test_young_without_the_factor_l_fails():
    violated("Y-L3", {"l": 3}, Y.make_check_l3(factor=lambda l: 1.0))

"""Negative controls for ren2024: every claim's own check, run through ``run_claim`` on a broken variant of a model
function (``check=partial(check_x, f=broken)``) or on a config violating an assumption, must report a violation.

Each broken variant is a plausible mistake, named for what it breaks; the check itself is never copied.
"""
from __future__ import annotations

import math
from functools import partial

import pytest
import torch

from models import ren2024 as m
from theorems import Status, get_claim, run_claim
from theorems import ren2024 as R
from theorems import ren2024_symbolic as sym


# ---------------------------------------------------------------- broken variants
def one_step_normalised_by_N(W0, X, Y, D, eta, **kw):
    """W1 with the wrong normaliser: von Oswald's 1/N instead of the kernel normaliser 1/D."""
    return m.dual_one_step(W0, X, Y, torch.full_like(D, X.shape[-1]), eta, **kw)


def attention_with_constant_normaliser(H, W_Q, W_K, W_V, Wr, N, **kw):
    """Same values, but the normaliser D is treated as a constant of the query (its gradient is dropped)."""
    ka = m.kernel_attention(H, W_Q, W_K, W_V, Wr, N, **kw)
    return ka._replace(h=ka.h * ka.D[:, None] / ka.D.detach()[:, None])


def softmax_over_wrong_axis(H, W_Q, W_K, W_V):
    """Softmax over the batch of instances instead of over the T+1 positions."""
    K, q = W_K @ H, W_Q @ H[..., -1:]
    a = torch.softmax((K.transpose(-1, -2) @ q).squeeze(-1) / math.sqrt(W_Q.shape[1]), dim=0)
    return (W_V @ H @ a.unsqueeze(-1)).squeeze(-1)


def prf_without_gaussian_factor(x, Wr):
    """Random features without exp(-|x|^2/2): E phi(x)^T phi(y) = e^{|x+y|^2/2}, not e^{x.y}."""
    return torch.exp(Wr @ x) / math.sqrt(Wr.shape[-2])


def sgd_missing_one_token(W0, X, Y, D, eta, order):
    """N one-token steps in which the first token is fed twice and the last one never."""
    return m.sequential_sgd(W0, X, Y, D, eta, torch.cat([order[:, :1], order[:, :-1]], 1))


def bound_at_rate_one_over_N(N, B_W, B_V, B_phi, delta):
    """The generalisation bound with its 1/sqrt(N) terms replaced by 1/N."""
    return R.t32_bound(N, B_W, B_V, B_phi, delta) / math.sqrt(N)


def lift_labels_only(A, W0, Y):
    """Lifted dual problem with the FFN applied to the labels but not to the initialisation W_0."""
    return W0, A @ Y


def layer_fed_initial_tokens(hs, layer):
    """Every layer's dual model trained on the initial tokens instead of the previous layer's outputs."""
    return hs[0]


def stack_ignoring_causal_mask(H, layers, causal=False, residual=False):
    """A stack that lets every position attend to later tokens even when asked to be causal."""
    return m.attention_stack(H, layers, causal=False, residual=residual)


def step_with_regulariser_alpha_over_eta(W0, X, Y, D, eta, reg_alpha=0.0, **kw):
    """Regulariser alpha/eta |W|^2 instead of alpha/(2 eta) |W|^2."""
    return m.dual_one_step(W0, X, Y, D, eta, reg_alpha=2 * reg_alpha, **kw)


def attention_augmenting_keys_only(H, W_Q, W_K, W_V, Wr, N, g_K, g_V, augment_query=False, **kw):
    """Augmented attention that applies the views to the keys only (values left linear)."""
    return m.augmented_attention(H, W_Q, W_K, W_V, Wr, N, g_K, None, augment_query, **kw)


def step_with_negatives_added(W0, X, Y, D, eta, Y_neg=None, beta=0.0, **kw):
    """Dual loss with the negatives' sign flipped (y_i + beta ybar_i)."""
    return m.dual_one_step(W0, X, Y, D, eta, Y_neg=Y_neg, beta=-beta, **kw)


def training_that_diverges(model, d, N, steps, batch, generator, **kw):
    return [0], [float("nan")]


# ---------------------------------------------------------------- cases: (claim, broken check or None, config)
SMALL = dict(d_i=3, d_o=3, N=6, M=2, d_r=16, batch=4)
PRF_SMALL = dict(samples=1 << 13, rate_seeds=12, dr_max=1024, batch=4)
F3_SMALL = dict(train_steps=0, train_batch=8, train_d_r=4, batch=4)

CASES = [
    ("R-T31", "W1 normalised by N instead of D", partial(R.check_t31, one_step=one_step_normalised_by_N), SMALL),
    ("R-T31", "attention gradient ignores dD/dq (Jacobian cross-check)",
     partial(R.check_t31, attention=attention_with_constant_normaliser), SMALL),
    ("R-T31", "softmax over the batch axis (Taylor-feature bound)",
     partial(R.check_t31, softmax=softmax_over_wrong_axis), SMALL | {"features": "taylor", "taylor_order": 2}),
    ("R-T31", "symbolic: claimed update twice the gradient step",
     partial(R.check_t31, symbolic=partial(sym.dual_gradient_identity, update_scale=2)), SMALL),
    ("R-PRF", "features without exp(-|x|^2/2)", partial(R.check_prf, features=prf_without_gaussian_factor),
     PRF_SMALL | {"radius": 0.5}),
    ("R-PRF", "softmax over the batch axis (error does not fall with d_r)",
     partial(R.check_prf, softmax=softmax_over_wrong_axis), PRF_SMALL),
    ("R-PRF", "symbolic: Gaussian integrals of the unnormalised features",
     partial(R.check_prf, moments=partial(sym.prf_moments, False)), PRF_SMALL),
    ("R-SEQ", "one token fed twice, another never", partial(R.check_seq, sgd=sgd_missing_one_token), SMALL),
    ("R-T32", "bound with 1/N instead of 1/sqrt(N)", partial(R.check_t32, bound=bound_at_rate_one_over_N),
     dict(trials=50, N_max=512, support=256, d_r=8)),
    ("R-FFN", "FFN lifts the labels but not W_0", partial(R.check_ffn, lift=lift_labels_only), SMALL),
    ("R-ML", "layer l fed the initial tokens", partial(R.check_ml, dual_tokens=layer_fed_initial_tokens),
     SMALL | {"L": 3}),
    ("R-ML", "stack ignores the causal mask", partial(R.check_ml, stack=stack_ignoring_causal_mask),
     SMALL | {"L": 2, "causal": True}),
    ("R-REG", "regulariser alpha/eta instead of alpha/(2 eta)",
     partial(R.check_reg, one_step=step_with_regulariser_alpha_over_eta), SMALL | {"alpha": 0.5}),
    ("R-AUG", "views applied to the keys only", partial(R.check_aug, attention=attention_augmenting_keys_only),
     SMALL),
    ("R-NEG", "negatives with the wrong sign", partial(R.check_neg, one_step=step_with_negatives_added),
     SMALL | {"beta": 1.0}),
    ("R-F3", "one token fed twice, another never", partial(R.check_f3, sgd=sgd_missing_one_token), F3_SMALL),
    ("R-F3", "right panel: a modification diverges", partial(R.check_f3, train=training_that_diverges), F3_SMALL),
]


@pytest.mark.parametrize("claim_id, broken, check, config", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
@pytest.mark.parametrize("seed", [0, 1])
def test_broken_variant_is_reported_as_violation(claim_id, broken, check, config, seed):
    claim = get_claim(claim_id)
    assert run_claim(claim, config, seed=seed).holds is True, "the sound model must pass on this config"
    ev = run_claim(claim, config, seed=seed, check=check)
    assert ev.holds is False, f"{claim_id} did not detect: {broken}\n{ev.describe()}"


@pytest.mark.parametrize("claim_id, config, unmet", [
    ("R-T31", {"features": "taylor", "taylor_order": 3}, "taylor_order even"),
])
def test_violated_assumption_is_reported(claim_id, config, unmet):
    ev = run_claim(get_claim(claim_id), SMALL | config, seed=0)
    assert ev.status == "assumption not met" and unmet in ev.unmet_assumptions


def test_every_claim_has_a_negative_control():
    from theorems import all_claims

    assert {c.id for c in all_claims("ren2024")} <= {case[0] for case in CASES}


def test_symbolic_derivations_detect_wrong_formulas():
    """The sympy parts can fail: a wrong claimed formula leaves non-vanishing residual entries."""
    assert sym.dual_gradient_identity(update_scale=2).nonzero_update > 0
    assert sym.dual_gradient_identity(loss_scale=2).nonzero_prediction > 0
    assert sym.linear_kernel_reduction(update_scale=2) > 0
    assert sym.least_squares_bridge(update_scale=2)[1] > 0
    assert sym.prf_moments(False).nonzero_mean > 0 and sym.prf_moments(False).nonzero_variance > 0


def test_ml_overflow_is_an_unmet_assumption_not_a_violation():
    """Four layers at weight scale 2: exp(q.k) overflows float64 in the stack itself (a thorough run found it)."""
    cfg = {"L": 4, "M": 1, "N": 1, "batch": 16, "causal": False, "d_i": 1, "d_o": 1, "d_r": 1, "eta": 1.0,
           "residual": False, "scale": 2.0, "token_bound": 1.0}
    ev = run_claim(get_claim("R-ML"), cfg, seed=0)
    assert ev.status == Status.ASSUMPTION_NOT_MET.value and ev.unmet_assumptions == [R.FINITE_STACK]

"""Negative controls for li2024: every claim's check, run on a broken model, broken data or a violated assumption,
must report a violation (``holds is False``) or "assumption not met". Each control goes through the same check
(``run_claim(claim, cfg, seed, check=broken_variant)`` or a config such as ``steps = 0``, the untrained model).

The trained world of the default config is cached in theorems/li2024.py, so the controls that need a trained model
share one training.
"""
from __future__ import annotations

import functools

import pytest
import torch

from models import li2024 as m
from theorems import get_claim, run_claim
from theorems import li2024 as L
from theorems.core import CheckContext

UNTRAINED = {"steps": 0}


def violated(claim_id: str, overrides: dict | None = None, check=None, seed: int = 0):
    ev = run_claim(get_claim(claim_id), overrides or {}, seed=seed, check=check)
    assert ev.holds is False, ev.describe()
    return ev


def failing_parts(ev) -> set[str]:
    return {k for k, v in ev.details["parts"].items() if not v["holds"]}


# ---------------------------------------------------------------------------------------------------- theorem claims
@pytest.mark.parametrize("claim_id", ["L-T33", "L-P41", "L-P42", "L-C43", "L-F-ATTN", "L-F-MLP"])
def test_untrained_model_fails(claim_id):
    violated(claim_id, UNTRAINED)


def test_untrained_model_fails_t33_in_error_and_hinge():
    ev = violated("L-T33", UNTRAINED)
    assert failing_parts(ev) == {"held-out 0-1 error", "held-out hinge"}


def test_untrained_attention_does_not_concentrate():
    ev = violated("L-P41", UNTRAINED)
    assert "ID: mass on same-pattern contexts after training" in failing_parts(ev)
    assert "ID: rise over training" in failing_parts(ev)


def test_shuffled_label_training_fails_t33():
    ev = violated("L-T33", check=functools.partial(L.check_t33, labels="shuffled"))
    assert "held-out 0-1 error" in failing_parts(ev)


def test_ood_generalisation_fails_at_s1_half():
    claim = get_claim("L-T34")
    cfg = claim.config({"S1": 0.5, "s1_bad": 0.3})
    assert run_claim(claim, cfg, seed=0).status == "assumption not met"  # Theorem 3.4 needs S1 >= 1
    out = L.check_t34(cfg, CheckContext(torch.device("cpu"), 0))  # the check itself, assumption bypassed
    assert out.holds is False
    assert not out.details["parts"]["0-1 error at S1 = 0.5"]["holds"]


def test_untrained_model_fails_ood_generalisation():
    violated("L-T34", UNTRAINED)


def test_pruning_the_largest_fails_the_magnitude_bound():
    ev = violated("L-T37", check=functools.partial(L.check_t37, magnitude="largest"))
    assert {"pruning the small group: hinge cost <= slack",
            "random pruning no better than magnitude pruning"} <= failing_parts(ev)


def test_lexicographic_task_set_violates_condition_32():
    violated("L-C32", check=functools.partial(L.check_c32, cover="lexicographic"))


# ---------------------------------------------------------------------------------------------------- figure claims
def test_pruning_figure_fails_when_magnitude_prunes_the_largest():
    ev = violated("L-F-PRUNE", check=functools.partial(L.check_f_prune, magnitude="largest"))
    assert "magnitude pruning at R = 0.05: hinge cost <= slack" in failing_parts(ev)


def test_pruning_vs_alpha_fails_with_the_order_reversed():
    violated("L-F-PRUNE-ALPHA", check=functools.partial(L.check_f_prune_alpha, alpha_primes=(1.0, 0.8, 0.6)))


def test_scale_fails_when_alpha_and_beta_are_ignored():
    ev = violated("L-F-SCALE", check=functools.partial(L.check_f_scale, vary=False))
    assert failing_parts(ev) == {"iterations vs alpha: log-log slope meets the band", "iterations decrease with beta"}


def test_classic_fails_for_the_untrained_model():
    violated("L-F-CLASSIC", {"steps": 0, "n_classic": 100})


def test_deep_s1_figure_fails_for_the_untrained_model():
    violated("L-F-S1", {"n_test": 300}, check=functools.partial(L.check_f_s1, untrained=True))


def test_deep_3l_fails_for_the_untrained_model():
    violated("L-F-3L", {"n_test": 200}, check=functools.partial(L.check_f_3l, untrained=True))


@pytest.mark.parametrize("domain", ["ID", "OOD"])
def test_deep_length_figure_fails_for_the_untrained_model(domain):
    violated("L-F-ALPHA", {"n_test": 300, "domain": domain}, check=functools.partial(L.check_f_alpha, untrained=True))


# ---------------------------------------------------------------------------------------------------- exact claims
def _query_attending_forward(p, P, keep=None, validate=False):
    """Broken model: the softmax runs over the l contexts and the query; only the contexts' weights are returned."""
    S, n = P.shape[:2]
    u = P[..., -1, :] @ p.W_Q.transpose(-1, -2) @ p.W_K
    attn_all = torch.softmax((P @ u.unsqueeze(-1)).squeeze(-1), dim=-1)
    attn = attn_all[..., :-1]
    pooled = (attn_all.unsqueeze(-2) @ P).squeeze(-2)
    h = pooled @ p.W_V.transpose(-1, -2)
    pre = h @ p.W_O.transpose(-1, -2)
    return m.Forward(attn, pooled, h, pre, m.output(pre, p.a, keep))


def _positional_forward(p, P, keep=None, validate=False):
    """Broken model: a positional encoding added to the context rows."""
    pos = torch.arange(P.shape[-2], dtype=P.dtype, device=P.device).view(-1, 1) * 0.1
    return m.forward(p, P + pos, keep)


def _biased_forward(p, P, keep=None, validate=False):
    """Broken model: a bias inside the ReLU (breaks positive homogeneity in W_O)."""
    f = m.forward(p, P, keep)
    return f._replace(F=m.output(f.pre + 0.1, p.a, keep))


def _off_by_one_prune(p, idx):
    return m.prune(p, (idx + 1) % p.a.shape[1])


def _sign_flipped_hinge(F, z):
    return torch.relu(1 + z * F)


def _alpha_shrinking_sampler(cfg, domain, n, gen, **kw):
    kw["alpha"] = 0.8 * cfg.alpha
    return m.sample_prompts(cfg, domain, n, gen, **kw)


@pytest.mark.parametrize("claim_id, broken", [
    ("L-E-ATTN", functools.partial(L.check_e_attn, forward=_query_attending_forward)),
    ("L-E-PERM", functools.partial(L.check_e_perm, forward=_positional_forward)),
    ("L-E-HOMOG", functools.partial(L.check_e_homog, forward=_biased_forward)),
    ("L-E-PRUNE", functools.partial(L.check_e_prune, prune=_off_by_one_prune)),
    ("L-E-HINGE", functools.partial(L.check_e_hinge, hinge=_sign_flipped_hinge)),
    ("L-E-LABEL", functools.partial(L.check_e_label, flip_keys=False)),  # the spec's literal E9
    ("L-E-DATA", functools.partial(L.check_e_data, sampler=_alpha_shrinking_sampler)),
], ids=lambda x: x if isinstance(x, str) else "")
def test_broken_model_fails_exact_claim(claim_id, broken):
    for seed in (0, 1, 2):
        violated(claim_id, check=broken, seed=seed)


def test_every_li2024_claim_has_a_negative_control():
    import inspect
    import sys

    src = inspect.getsource(sys.modules[__name__])
    from theorems import all_claims

    assert all(f'"{c.id}"' in src for c in all_claims("li2024"))

"""Negative controls for li2024: a broken implementation (a mutant of mutants/li2024.py), never a broken assertion,
must be reported as violated. Every claim's own control (``Claim.control``) is run by the lead's generic test; here:
the cheap controls (exact claims and the generator contract) on several seeds, the assumption gates of the theorems,
and edge tests of this module's own statistics (a sample just outside its bound is never *held*).
"""
from __future__ import annotations

import pytest
import torch

import mutants
from theorems import all_claims, get_claim, run_claim
from theorems import li2024 as L


def violated(claim_id: str, mutant: str, overrides: dict | None = None, seed: int = 0):
    ev = run_claim(get_claim(claim_id), overrides or {}, seed=seed, impl=mutants.get(mutant).impl())
    assert ev.holds is False, ev.describe()
    return ev


# ---------------------------------------------------------------------------------------------------- exact claims
@pytest.mark.parametrize("claim_id, mutant", [
    ("L-C32", "L-M24"),  # lexicographic T_tr: Condition 3.2 fails
    ("L-C32", "L-M25"),  # held-out set = all tasks
    ("L-E-ATTN", "L-M01"),  # the query attends to itself
    ("L-E-ATTN", "L-M02"),  # scores / sqrt(d)
    ("L-E-ATTN", "L-M05"),  # ReLU -> identity
    ("L-E-PERM", "L-M03"),  # softmax over the wrong axis
    ("L-E-HOMOG", "L-M36"),  # squared ReLU
    ("L-E-PRUNE", "L-M11"),  # magnitude pruning removes the largest
    ("L-E-PRUNE", "L-M12"),  # L1 neuron norm
    ("L-E-PRUNE", "L-M15"),  # delete_neurons keeps the wrong a_i
    ("L-E-HINGE", "L-M09"),  # max(0, 1 + zF)
    ("L-E-LABEL", "L-M04"),  # W_K transposed in the score
    ("L-E-DATA", "L-M16"),  # the query's label disagrees with its pattern
    ("L-E-DATA", "L-M20"),  # the alpha' override ignored
    ("L-E-DATA", "L-M21"),  # the l_ts override ignored
    ("L-E-DATA", "L-M27"),  # ODR coefficient sum 2 S1
    ("L-E-DATA", "L-M28"),  # ODI not rotated
    ("L-E-GRAD", "L-M05"),  # ReLU -> identity: dF/dW_O loses its gate
    ("L-E-GRAD", "L-M09"),  # max(0, 1 + zF): the hinge's subgradient flips sign
    ("L-E-GRAD", "L-M31"),  # train_sgd freezes W_Q, W_K
    ("L-E-GPT", "L-M34"),  # the deeper model read out at the first token
    ("L-E-GPT", "L-M35"),  # Adam updates only the read-out
    ("L-E-GPT", "L-M38"),  # the deeper model's attentions returned transposed
])
def test_exact_claim_kills_mutant(claim_id, mutant):
    for seed in (0, 1, 2):
        violated(claim_id, mutant, seed=seed)


def test_every_claim_has_a_control_from_the_catalogue():
    ids = {mu.id for mu in mutants.catalogue("li2024")}
    for c in all_claims("li2024"):
        assert c.reported or (c.control is not None and c.control.mutant in ids), c.id


def test_statements_are_printable_latex():
    for c in all_claims("li2024"):
        assert not any(ch in c.statement for ch in "\a\b\f\t\r\v"), c.id


# ---------------------------------------------------------------------------------------------------- assumptions
def test_ood_generalisation_needs_s1_at_least_one():
    ev = run_claim(get_claim("L-T34"), {"S1": 0.5, "s1_bad": 0.3}, seed=0)
    assert ev.status == "assumption not met"


def test_lexicographic_cover_is_not_condition_32():
    ev = run_claim(get_claim("L-T33"), {"task_cover": "lexicographic"}, seed=0)
    assert ev.status == "assumption not met"


# ---------------------------------------------------------------------------------------------------- statistics
def test_error_just_above_its_bound_is_never_held():
    """L-T33's 'error <= 0.05': 8 seeds at 6.75% each (over 2000 prompts) are violated or inconclusive, never held."""
    x = torch.zeros(8, 2000)
    for s in range(8):
        x[s, : 130 + s] = 1.0  # 6.5% ... 6.85%
    out = L.at_most(x, 0.05, 1e-3)
    assert out.holds is not True
    assert "confidence limit" in out.details["rule"] and "8 seeds" in out.details["rule"]


def test_one_seed_is_never_held():
    """The unit of replication is the seed: one trained model, however many prompts, decides nothing."""
    assert L.at_most(torch.zeros(1, 2000), 0.05, 1e-3).holds is None


def test_fraction_just_below_its_bound_is_never_held():
    """'>= 90%': 79% aligned in every seed is never held."""
    hits = torch.zeros(8, 200, dtype=torch.bool)
    hits[:, :158] = True
    assert L.fraction_at_least(hits, torch.ones_like(hits), 0.9, 1e-3).holds is not True


def test_effect_of_zero_is_never_held():
    out = L.effect_verdict(torch.zeros(8, 500), 0.01, 1e-3)
    assert out.holds is False


def test_deeper_model_that_did_not_learn_is_assumption_not_met():
    from types import SimpleNamespace

    from theorems.core import AssumptionNotMet

    z = torch.ones(8, 100)
    err = torch.tensor([0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5]).view(8, 1)
    F = torch.where(torch.arange(100).view(1, -1) < 100 * err, -1.0, 1.0)  # 3 of 8 seeds learned
    cfg = {"l_test": 20, "alpha_test": 0.8, "learn_max": 0.1, "min_learned": 4}
    with pytest.raises(AssumptionNotMet, match="model did not learn"):
        L.learned_seeds(lambda **kw: (SimpleNamespace(z=z), F), cfg)
    ok, _ = L.learned_seeds(lambda **kw: (SimpleNamespace(z=z), F), cfg | {"min_learned": 3})
    assert ok.tolist() == [True] * 3 + [False] * 5


def test_slope_verdict_rejects_a_positive_slope_for_a_decrease():
    x = [0.0, 1.0, 2.0, 3.0] * 3
    y = [0.1 * v for v in x]
    out = L.slope_verdict(x, y, -0.2, "at_most", 1e-3, resolution=0.1, seeds=3)
    assert out.holds is not True


def test_symbolic_identity_test_is_not_vacuous():
    """L-E-GRAD's rule check (exact rational evaluation at random points) rejects a wrong closed form: the softmax
    Jacobian without its -attn_i attn_j term, and a hinge subgradient of the wrong sign."""
    import sympy as sp

    from theorems.li2024_symbolic import _is_zero

    s0, s1 = sp.symbols("s0 s1", real=True)
    pts = [{s0: sp.log(sp.Integer(2)), s1: sp.log(sp.Integer(5))}, {s0: sp.log(sp.Integer(7)), s1: 0}]
    a0 = sp.exp(s0) / (sp.exp(s0) + sp.exp(s1))
    assert _is_zero(sp.diff(a0, s0) - a0 * (1 - a0), pts)
    assert not _is_zero(sp.diff(a0, s0) - a0, pts)

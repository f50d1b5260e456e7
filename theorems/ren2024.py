"""Claims of ren2024 (Ren & Liu, NeurIPS 2024). Spec: ../shared/papers/ren2024.md.

The full text was not available: every formula is reconstructed (DERIVED); STATED would cover only the existence of
a result. Each check builds a batch of independent instances from the seed and reports the worst one.
"""
from __future__ import annotations

import torch

from models import ren2024 as m
from theorems.core import Assumption, CheckContext, Claim, Cost, Kind, Outcome, Param, Provenance
from theorems.registry import register
from theorems.tolerances import identity_tolerance, max_abs_error

PAPER = "ren2024"
F64 = torch.float64

# Parameters shared by the identity claims (spec §4.0 ranges).
INSTANCE_PARAMS = (
    Param("d_i", int, min=1, max=64, doc="token dimension"),
    Param("d_o", int, min=1, max=64, doc="key/query/value dimension"),
    Param("N", int, min=1, max=4096, doc="demonstration tokens"),
    Param("M", int, min=1, max=64, doc="query-side tokens T+1-N (the last one is the query)"),
    Param("d_r", int, min=1, max=1 << 16, doc="random features"),
    Param("scale", float, gt=0, max=10, doc="weights are N(0,1)/sqrt(d_i) * scale"),
    Param("token_bound", float, gt=0, max=10, doc="token entries uniform in [-token_bound, token_bound]"),
    Param("batch", int, min=1, max=4096, doc="independent instances checked in one vectorised pass"),
)
INSTANCE_DEFAULTS = dict(d_i=6, d_o=4, N=15, M=3, d_r=64, scale=1.0, token_bound=1.0, batch=16)


def _instance(cfg: dict, ctx: CheckContext, dtype=F64):
    return m.random_instance(cfg["batch"], cfg["d_i"], cfg["d_o"], cfg["N"], cfg["M"], cfg["d_r"], cfg["scale"],
                             cfg["token_bound"], ctx.generator(), dtype=dtype, device=ctx.device)


def _identity_tol(cfg: dict, ka: m.KernelAttention) -> float:
    """eps(float64) * (reduction length: T+1 tokens times d_r features times d_o) * (magnitude of the terms)."""
    n_ops = (cfg["N"] + cfg["M"]) * cfg["d_r"] + cfg["d_o"]
    scale = float((ka.Y.abs().amax() + ka.W0.abs().amax() * ka.D.amax()).clamp(min=1.0))
    return identity_tolerance(F64, n_ops, scale)


# ---------------------------------------------------------------- R-T31
def check_t31(cfg: dict, ctx: CheckContext) -> Outcome:
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    ka = m.kernel_attention(H, W_Q, W_K, W_V, Wr, cfg["N"])
    W1 = m.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, cfg["eta"])
    y_test = m.dual_predict(W1, ka.phi_q)
    tol = _identity_tol(cfg, ka)
    W1_other_eta = m.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, cfg["eta"] * 7.0)
    closed_form_update = ka.Y @ ka.X.transpose(-1, -2) / ka.D[:, None, None]
    parts = {
        "y_test == h'": Outcome.at_most(max_abs_error(y_test, ka.h), tol),
        "W1 independent of eta": Outcome.at_most(max_abs_error(W1, W1_other_eta), tol),
        "W1 - W0 == Y X^T / D": Outcome.at_most(max_abs_error(W1 - ka.W0, closed_form_update), tol),
        "D > 0": Outcome.at_least(float(ka.D.min()), 0.0),
        "weights sum to 1": Outcome.at_most(float((ka.weights.sum(-1) - 1).abs().max()), tol),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


register(Claim(
    id="R-T31",
    paper=PAPER,
    reference="Theorem 3.1",
    title="Kernelised softmax attention equals the dual model's output after one GD step",
    statement=(
        r"\hat h'_{T+1} = W_1\,\phi(W_Q h_{T+1}),\quad W_1 = W_0 - \eta\nabla_W \mathcal{L}(W_0),\quad "
        r"\mathcal{L}(W) = -\frac{1}{\eta D}\sum_{i=1}^{N} y_i^\top W\phi(x_i)"
    ),
    provenance=Provenance.DERIVED_HIGH,
    kind=Kind.IDENTITY,
    check=check_t31,
    params=INSTANCE_PARAMS + (Param("eta", float, gt=0, doc="dual learning rate (cancels)"),),
    defaults=INSTANCE_DEFAULTS | {"eta": 0.1},
    assumptions=(Assumption("M >= 1", lambda c: c["M"] >= 1, "the query is a query-side token"),),
    cost=Cost.CHEAP,
    tolerance="8 eps(float64) x ((N+M) d_r + d_o) x max(|Y|, |W0| D, 1); gradient by autograd",
    notes="The paper states the existence of the equivalence; the construction (W0 from the query-side tokens, "
          "the d_o^{-1/4} scaling, the loss normalisation eta*D) is reconstructed.",
))

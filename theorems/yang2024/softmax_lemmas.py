"""Lemmas 1, 2, 3, 8 and 9: the softmax gradient, its Lipschitz bounds and the boundedness of b and delta."""
from __future__ import annotations

import torch
from torch import Tensor

from theorems.core import CheckContext, Claim, Control, Cost, Kind, Outcome, Param, Provenance
from theorems.registry import register
from theorems.tolerances import identity_tolerance
from theorems.yang2024.common import (F64, INSTANCE_DEFAULTS, INSTANCE_PARAMS, PAPER, RANDOM_W, THETA_PARAMS,
                                      UNIT_TOKENS, _instance, _random_theta, _symbolic, _sympy_chain_rule_vs_autograd,
                                      _tol, _worst, maps_part, reference_gradient)


def check_l1(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    from theorems.yang2024_symbolic import s1_chain_rule, s1_softmax_jacobian

    inst = _instance(cfg, ctx)
    Q, w = _random_theta(m, inst, cfg, ctx.generator(1))
    dQ, dw, _ = m.grad_analytic(Q, w, inst)
    aQ, aw = m.grad_autograd(Q, w, inst)
    rQ, rw, R = reference_gradient(inst, Q, w)
    # |dL/dQ_h| <= sum_{n,k} |w_{h,k}| |r_{n,k}| (unit tokens, |s| <= 1): the magnitude the roundings scale with
    scale = float((w.abs().unsqueeze(1) * R.abs().unsqueeze(2)).sum((1, 3)).max())
    n_ops = inst.N + inst.K + cfg["H"] + inst.d
    err_sym, _ = _sympy_chain_rule_vs_autograd(ctx.generator(2))
    parts = {
        "dL/dQ: Lemma 1 vs autograd of the in-check loss": Outcome.at_most(float((dQ - rQ).abs().max()),
                                                                           _tol(n_ops, scale)),
        "dL/dw: analytic vs autograd of the in-check loss": Outcome.at_most(float((dw - rw).abs().max()),
                                                                           _tol(n_ops, scale)),
        "the model's autograd gradient = autograd of the in-check loss": Outcome.at_most(
            max(float((aQ - rQ).abs().max()), float((aw - rw).abs().max())), _tol(n_ops, scale)),
        "S1: sympy ds/dQ vs autograd (d=2, N=3)": Outcome.at_most(err_sym, _tol(3 * 2 * 2, 1.0)),
        "S1: sympy ds_j/dx_i = s_j(delta_ij - s_i) and the chain rule close": _symbolic(
            s1_softmax_jacobian(), s1_chain_rule()),
    }
    return Outcome.all_of(parts, instances=inst.batch)


register(Claim(
    id="Y-L1", paper=PAPER, reference="Lemma 1",
    title="Softmax gradient: ds_j/dQ = s_j (v_j - sum_i s_i v_i) v_k^T (reconstructed)",
    statement=r"\frac{\partial s_j}{\partial x_i} = s_j(\delta_{ij} - s_i),\qquad "
              r"\frac{\partial s_j}{\partial Q} = s_j\Big(v_j - \sum_i s_i v_i\Big) v_k^\top "
              r"= \sum_i s_j s_i (v_j - v_i) v_k^\top",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.IDENTITY, check=check_l1,
    params=INSTANCE_PARAMS + THETA_PARAMS + (RANDOM_W,),
    defaults=INSTANCE_DEFAULTS | dict(H=5, beta=1.0, w_scale=0.5), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x (N + K + H + d) x max_h sum_{n,k} |w_{h,k}| |r_{n,k}| (the size of the gradient "
              "sums); sympy vs autograd: 8 eps x N d^2",
    notes="The hand-derived gradient of the closed-form loss uses Lemma 1's Jacobian; autograd differentiates the "
          "loss rebuilt in the check (explicit softmax over the prompt tokens, G and A from the features). S1 "
          "derives the Jacobian and the chain rule symbolically (d = 2, N = 3) and "
          "compares sympy's derivative with autograd at a random point.",
    control=Control(mutant="Y-M19", config={}, seed=0),
))


# ================================================================ Lemma 2 (and eq. 46): softmax Lipschitz
def _softmax_ref(x: Tensor, dim: int) -> Tensor:
    """exp(x - max x) / sum exp(x - max x) along ``dim``: Lemma 2 is a fact about softmax itself, checked here."""
    e = torch.exp(x - x.amax(dim, keepdim=True))
    return e / e.sum(dim, keepdim=True)


def check_l2(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    g = ctx.generator()
    B, N, n = cfg["batch"], cfg["N"], cfg["n"]
    x = cfg["spread"] * torch.randn(B, n, N, generator=g, dtype=F64, device=g.device)
    # half the pairs nearby (the local Lipschitz regime), half far apart
    step = torch.randn(B, n, N, generator=g, dtype=F64, device=g.device)
    step[:, : n // 2] *= 1e-3
    x2 = x + cfg["spread"] * step
    lhs = (_softmax_ref(x, -1) - _softmax_ref(x2, -1)).abs().sum(-1)
    rhs = 2 * (x - x2).abs().amax(-1)
    inst = _instance(cfg | {"batch": B}, ctx, offset=1, token_norm=cfg["token_norm"])
    Q = cfg["beta"] * torch.randn(B, cfg["H"], inst.d, inst.d, generator=g, dtype=F64, device=g.device)
    dQ = torch.randn(Q.shape, generator=g, dtype=F64, device=g.device) * cfg["beta"] * 1e-2
    s = m.softmax_maps(Q, inst)  # the model's attention maps s_k^h(Q)
    s2 = m.softmax_maps(Q + dQ, inst)
    lhs46 = (s - s2).norm(dim=1)  # (B, H, K)
    rhs46 = 2 * dQ.flatten(2).norm(dim=-1).unsqueeze(-1)  # (B, H, 1)
    tol = _tol(N, 1.0)
    parts = {
        "Lemma 2: ||s(x) - s(x')||_1 <= 2 ||x - x'||_inf": _worst(lhs, rhs + tol),
        "the model's s_k^h(Q) is the softmax over the prompt tokens (in the simplex)": maps_part(s, inst, Q),
        "eq. 46: ||s_k^h(Q) - s_k^h(Q')||_2 <= 2 ||Q - Q'||_F": _worst(lhs46, rhs46 + tol),
    }
    return Outcome.all_of(parts, instances=B, details={
        "effective constant, Lemma 2 (max lhs/(rhs/2))": float((2 * lhs / rhs).max()),
        "effective constant, eq. 46": float((2 * lhs46 / rhs46).max())})


register(Claim(
    id="Y-L2", paper=PAPER, reference="Lemma 2 (Edelman et al. 2022, Cor. A.7) and eq. 46",
    title="Softmax is 2-Lipschitz from l_inf to l_1, hence ||s(Q) - s(Q')|| <= 2 ||Q - Q'||_F (reconstructed)",
    statement=r"\|\mathrm{softmax}(x) - \mathrm{softmax}(x')\|_1 \le 2\|x - x'\|_\infty,\qquad "
              r"\|s_k^h(Q) - s_k^h(Q')\|_2 \le 2\|Q - Q'\|_F \ (\|v\| = 1)",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.INEQUALITY, check=check_l2,
    params=INSTANCE_PARAMS + THETA_PARAMS + (
        Param("n", int, min=2, max=1 << 16, doc="pairs (x, x') per instance"),
        Param("spread", float, gt=0, max=100, doc="scale of x"),
        Param("token_norm", float, gt=0, max=100, doc="token norm (the theory needs 1)")),
    defaults=INSTANCE_DEFAULTS | dict(H=3, beta=1.0, n=256, spread=3.0, token_norm=1.0),
    assumptions=(UNIT_TOKENS,), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x N (softmax outputs are at most 1); the model's maps against the in-check softmax: "
              "8 eps (d + N)(1 + max ||Q_h||_F)",
    notes="Lemma 2 is checked on an explicit softmax of random vectors; eq. 46 on the model's attention maps. "
          "The paper cites the bound; the statement used in the proof (eq. 46) is reconstructed. The effective "
          "constants (max of lhs over rhs/2) are recorded in details: the bounds are loose by about 2-4x.",
    control=Control(mutant="Y-M01", config={}, seed=0),
))


def check_l3(cfg: dict, ctx: CheckContext) -> Outcome:
    """Y-L3 on a batch of random families of l vectors, half of them with equal vectors (where equality holds, so
    the worst ratio sits at the bound). A fact about vectors: no model member is involved."""
    B, l, d = cfg["batch"], cfg["l"], cfg["d"]
    g = ctx.generator()
    x = torch.randn(B, l, d, generator=g, dtype=torch.float64, device=ctx.device) * cfg["scale"]
    x[: B // 2] = x[: B // 2, :1]  # equal vectors: ||sum x_i||^2 = l sum ||x_i||^2
    lhs = (x.sum(1) ** 2).sum(-1)
    rhs = l * (x**2).sum((-1, -2))
    ratio = float((lhs / rhs).max())
    # Both sides are sums of l*d squares: relative round-off of each at most (l d + 2) eps.
    return Outcome.at_most(ratio, 1.0 + 2 * identity_tolerance(torch.float64, l * d + 2, 1.0, c=1.0),
                           instances=B)


register(Claim(
    id="Y-L3", paper=PAPER, reference="Lemma 3",
    title="Young's inequality for sums: ||sum_i x_i||^2 <= l sum_i ||x_i||^2",
    statement=r"\Big\|\sum_{i=1}^{l} x_i\Big\|^2 \le l \sum_{i=1}^{l} \|x_i\|^2",
    provenance=Provenance.STATED, kind=Kind.INEQUALITY, check=check_l3,
    params=(Param("l", int, min=1, max=256, doc="number of vectors"), Param("d", int, min=1, max=256),
            Param("scale", float, gt=0, max=1e6), Param("batch", int, min=2, max=4096)),
    defaults=dict(l=4, d=3, scale=1.0, batch=64), cost=Cost.CHEAP,
    tolerance="1 + 2 eps(float64) (l d + 2): relative round-off of the two sums of l d squares",
    notes="A standard inequality the paper uses in its proofs; equality for equal vectors, which half of each "
          "batch draws, so the worst ratio sits on the bound. A reported claim: it involves no model member.",
    reported=True,  # a fact about vectors: no model member is involved, so it can kill no mutant
))


# ================================================================ Lemmas 8 and 9: Lipschitz and boundedness of b, delta
def check_l8(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    inst = _instance(cfg, ctx, token_norm=cfg["token_norm"])
    g = ctx.generator(1)
    Q, w = _random_theta(m, inst, cfg, g)
    Q2 = Q + cfg["step"] * torch.randn(Q.shape, generator=g, dtype=F64, device=g.device)
    w2 = w + cfg["step"] * torch.randn(w.shape, generator=g, dtype=F64, device=g.device)
    S, S2 = m.softmax_maps(Q, inst), m.softmax_maps(Q2, inst)
    zbar = inst.G_norm.sqrt().view(-1, 1, 1)
    db = (inst.Zbar.unsqueeze(1) @ (S - S2).permute(0, 2, 1, 3)).norm(dim=2)  # (B, H, K): ||b(Q) - b(Q')||
    ds = (S - S2).norm(dim=1)  # (B, H, K)
    dQF = (Q - Q2).flatten(2).norm(dim=-1).unsqueeze(-1)  # (B, H, 1)
    ddelta = (m.ahat(w, S) - m.ahat(w2, S2)).norm(dim=1)  # (B, K): ||delta_k(theta) - delta_k(theta')||
    rhs_delta = (w - w2).abs().sum(1) + 2 * (w2.abs() * dQF).sum(1)
    tol = _tol(inst.N * inst.K + cfg["H"], 1.0 + w.abs().max() + w2.abs().max())
    parts = {
        "s_k^h is the softmax over the prompt tokens (in the simplex)": maps_part(S, inst, Q),
        "||b_k^h(Q) - b_k^h(Q')|| <= ||Zbar|| ||s_k^h(Q) - s_k^h(Q')||": _worst(db, zbar * ds + tol),
        "||s_k^h(Q) - s_k^h(Q')|| <= 2 ||Q_h - Q'_h||_F": _worst(ds, 2 * dQF + tol),
        "||delta_k(theta) - delta_k(theta')|| <= sum_h |w - w'| + 2 sum_h |w'| ||Q_h - Q'_h||_F": _worst(
            ddelta, rhs_delta + tol),
    }
    return Outcome.all_of(parts, instances=inst.batch)


register(Claim(
    id="Y-L8", paper=PAPER, reference="Lemma 8",
    title="b_k^h = Zbar s_k^h and delta_k = a^_k - a_k are Lipschitz in theta (reconstructed form)",
    statement=r"\|b_k^h(\theta) - b_k^h(\theta')\| \le \|\bar Z\|\,\|s_k^h(\theta) - s_k^h(\theta')\| \le "
              r"2\|\bar Z\|\,\|Q_h - Q_h'\|_F,\quad \|\delta_k(\theta) - \delta_k(\theta')\| \le "
              r"\sum_h |w_{h,k} - w'_{h,k}| + 2\sum_h |w'_{h,k}|\,\|Q_h - Q'_h\|_F",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.INEQUALITY, check=check_l8,
    params=INSTANCE_PARAMS + THETA_PARAMS + (
        RANDOM_W, Param("step", float, gt=0, max=100, doc="size of theta - theta'"),
        Param("token_norm", float, gt=0, max=100, doc="token norm (the theory needs 1)")),
    defaults=INSTANCE_DEFAULTS | dict(H=4, beta=1.0, w_scale=0.5, step=0.1, token_norm=1.0),
    assumptions=(UNIT_TOKENS,), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x (N K + H) x (1 + max|w| + max|w'|); the model's maps against the in-check softmax: "
              "8 eps (d + N)(1 + max ||Q_h||_F)",
    notes="The first inequality is the spec's; the delta_k bound is this project's derivation (||s|| <= 1 and eq. 46) "
          "since the paper's exact form is NOT FOUND (written in theta coordinates, gamma alpha = w).",
    control=Control(mutant="Y-M01", config={}, seed=0),
))


def check_l9(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    inst = _instance(cfg, ctx)
    Q, w = _random_theta(m, inst, cfg, ctx.generator(1))
    S = m.softmax_maps(Q, inst)
    b = (inst.Zbar.unsqueeze(1) @ S.permute(0, 2, 1, 3)).norm(dim=2)  # (B, H, K)
    delta = (m.ahat(w, S) - inst.A).norm(dim=1)  # (B, K)
    A_norm = torch.linalg.matrix_norm(inst.A, ord=2)
    rhs_delta = cfg["H"] * w.abs().amax((1, 2)) + A_norm  # gamma H alpha + ||A||, alpha = max|w|/gamma
    tol = _tol(inst.N * inst.K + cfg["H"], inst.G_norm.sqrt() + rhs_delta)
    parts = {
        "s_k^h is the softmax over the prompt tokens (in the simplex)": maps_part(S, inst, Q),
        "||b_k^h|| <= ||Zbar||_2": _worst(b, inst.G_norm.sqrt().view(-1, 1, 1) + tol.view(-1, 1, 1)),
        "||delta_k|| <= gamma H alpha + ||A||_2": _worst(delta, (rhs_delta + tol).unsqueeze(-1)),
    }
    return Outcome.all_of(parts, instances=inst.batch)


register(Claim(
    id="Y-L9", paper=PAPER, reference="Lemma 9",
    title="||b_k^h|| <= ||Zbar|| and ||delta_k|| <= gamma H alpha + ||A||",
    statement=r"\|b_k^h\|_2 \le \|\bar Z\|_2,\qquad \|\delta_k^\theta\|_2 \le \gamma H\alpha + \|A\|_2 "
              r"\quad (|\alpha_{h,k}| \le \alpha)",
    provenance=Provenance.STATED, kind=Kind.INEQUALITY, check=check_l9,
    params=INSTANCE_PARAMS + THETA_PARAMS + (RANDOM_W,),
    defaults=INSTANCE_DEFAULTS | dict(H=4, beta=1.0, w_scale=0.5), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x (N K + H) x (||Zbar|| + gamma H alpha + ||A||); the model's maps against the "
              "in-check softmax: 8 eps (d + N)(1 + max ||Q_h||_F)",
    notes="Checked in theta coordinates: gamma H alpha = H max|w|. ||A||_2 is the spectral norm of A (N x K).",
    control=Control(mutant="Y-M01", config={}, seed=0),
))

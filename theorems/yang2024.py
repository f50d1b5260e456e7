"""Claims of yang2024 (Yang, Huang, Liang & Chi, NeurIPS 2024). Spec: ../shared/papers/yang2024.md.

Most displayed equations of the paper are missing from the available text, so nearly every formula here is the
spec's reconstruction (DERIVED); STATED is used only where the spec tags the statement [TEXT]. Each check builds a
batch of independent instances from the seed and reports the worst one. Trained claims (Y-T1, Y-T2) share one GD
run per (training config, instance_seed, device) through :func:`trained`, so the strategies draw ``instance_seed``
from a small set and the cache hits; the Hypothesis seed then drives only the inference-time randomness (Y-T2's
prompts; Y-T1 is a function of its training config alone).

Every check is built by a small factory whose arguments are the pieces a negative control breaks (a softmax, a ridge
penalty, a generator); ``tests/test_yang2024_negative.py`` runs the broken variants through :func:`run_claim`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from models import yang2024 as m
from theorems.core import (Assumption, CheckContext, Claim, ConfigError, Cost, Kind, Outcome, Param, Provenance,
                           curve)
from theorems.registry import register
from theorems.tolerances import binomial_acceptance, eps, fit_slope, identity_tolerance, normal_quantile

PAPER = "yang2024"
F64 = torch.float64
EPS = eps(F64)

# ---------------------------------------------------------------- shared parameters
INSTANCE_PARAMS = (
    Param("d", int, min=1, max=512, doc="token dimension"),
    Param("N", int, min=1, max=1024, doc="prompt length (labelled tokens v_1..v_N)"),
    Param("K", int, min=2, max=8192, doc="dictionary size (K > N)"),
    Param("m", int, min=1, max=1024, doc="number of basis functions f_1..f_m"),
    Param("tau", float, gt=0, max=100, doc="feature-noise variance (eps_k ~ N(0, tau I_m))"),
    Param("batch", int, min=1, max=4096, doc="independent instances checked in one vectorised pass"),
)
INSTANCE_DEFAULTS = dict(d=5, N=4, K=10, m=3, tau=0.1, batch=8)
THETA_PARAMS = (
    Param("H", int, min=1, max=4096, doc="attention heads"),
    Param("beta", float, gt=0, max=10, doc="Q_h^(0) entries ~ N(0, beta^2) (Proposition 1)"),
)
RANDOM_W = Param("w_scale", float, gt=0, max=100, doc="random w entries ~ N(0, w_scale^2) (random theta)")
H_GE_N = Assumption("H >= N", lambda c: c["H"] >= c["N"],
                    "Proposition 1 needs H >= N heads for B_k^(0) to have full row rank N (Assumption 2)")
UNIT_TOKENS = Assumption("token_norm == 1", lambda c: c.get("token_norm", 1.0) == 1.0,
                         "the bounds use |v_j^T (Q - Q') v_k| <= ||Q - Q'||_F, i.e. unit-norm tokens (§1.1)")

Generator = Callable[..., m.Instance]


def _instance(cfg: dict, ctx: CheckContext, offset: int = 0, make: Generator = m.make_instance,
              **kw) -> m.Instance:
    return make(cfg["batch"], cfg["d"], cfg["K"], cfg["N"], cfg["m"], cfg["tau"], ctx.generator(offset), **kw)


def _random_theta(inst: m.Instance, cfg: dict, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Gaussian Q (Proposition 1) and random w ~ N(0, w_scale^2): a generic point of parameter space."""
    Q, w = m.init_params(inst, cfg["H"], cfg["beta"], g)
    return Q, cfg["w_scale"] * torch.randn(w.shape, generator=g, dtype=w.dtype, device=w.device)


def _tol(n_ops: float, scale: float | Tensor, c: float = 8.0) -> float | Tensor:
    """Round-off allowance ``c eps n_ops scale`` (theorems.tolerances.identity_tolerance), elementwise for tensors."""
    if isinstance(scale, Tensor):
        return c * EPS * max(float(n_ops), 1.0) * scale.clamp(min=torch.finfo(F64).tiny)
    return identity_tolerance(F64, n_ops, scale, c)


def _worst(lhs: Tensor, rhs: Tensor, le: bool = True, **kw) -> Outcome:
    """``lhs <= rhs`` (or ``>=``) elementwise; the headline is the pair with the smallest relative margin.
    A non-finite entry is a violation (its margin is NaN)."""
    lhs, rhs = torch.broadcast_tensors(torch.as_tensor(lhs, dtype=F64), torch.as_tensor(rhs, dtype=F64))
    lhs, rhs = lhs.reshape(-1).cpu(), rhs.reshape(-1).cpu()
    bad = ~(torch.isfinite(lhs) & torch.isfinite(rhs))
    if bad.any():
        i = int(bad.nonzero()[0])
        return Outcome(float(lhs[i]), float(rhs[i]), math.nan, False, **kw)
    margin = (rhs - lhs) if le else (lhs - rhs)
    i = int((margin / rhs.abs().clamp(min=1e-300)).argmin())
    return (Outcome.at_most if le else Outcome.at_least)(float(lhs[i]), float(rhs[i]), **kw)


def _holds(flag: bool, what: str) -> Outcome:
    """A yes/no sub-check (a sympy derivation closing, a required case being exercised): measured 1 or 0 against
    0.5, so the relative margin is +-1 and a passing yes/no never becomes the headline."""
    return Outcome.at_least(1.0 if flag else 0.0, 0.5, details={"what": what})


def _symbolic(*derivations) -> Outcome:
    out = _holds(all(dv.closes for dv in derivations), "the sympy residuals simplify to 0")
    out.details["residuals"] = [dv.residual for dv in derivations]
    return out


def _sympy_ridge_vs_torch(derivation, penalty: Callable[[m.Instance], float], g: torch.Generator) -> Outcome:
    """S7 numerically: sympy's stationary point of the ridge objective (m = 2, N = 3, tau = 0.3) against the
    model's ``ridge_coefficients`` with the given penalty, at a random (Z, y)."""
    Z = torch.randn(2, 3, generator=g, dtype=F64, device=g.device)
    y = torch.randn(3, generator=g, dtype=F64, device=g.device)
    aux = m.Instance(torch.randn(1, 1, 4, generator=g, dtype=F64, device=g.device),
                     torch.cat([Z, torch.zeros(2, 1, dtype=F64, device=g.device)], 1).unsqueeze(0), 3, 0.3)
    ours = m.ridge_coefficients(aux, y.view(1, 1, 3), penalty(aux)).reshape(-1)
    return Outcome.at_most(float((derivation.numeric(Z, y, 0.3) - ours).abs().max()),
                           _tol(6, float(ours.abs().max()) + 1))


# ================================================================ generator contracts: Y-A1, Y-A3, Y-A4
def make_check_a1(sample: Callable[..., Tensor] = m.sample_tasks):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        B, n, d_m = cfg["batch"], cfg["n"], cfg["m"]
        lam = sample(cfg["law"], B, n, d_m, ctx.generator())
        mean = lam.mean(1)  # (B, m)
        second = lam.transpose(1, 2) @ lam / n  # (B, m, m)
        iu = torch.triu_indices(d_m, d_m)
        n_tests = B * (d_m + iu.shape[1])
        z = normal_quantile(A1_FALSE_FAIL / n_tests)
        # standard deviations under Assumption 1: mean 1/sqrt(n); lambda_i lambda_j (i != j): 1/sqrt(n);
        # lambda_i^2: sqrt((mu_4 - 1)/n) <= sqrt(2/n) for the three laws (mu_4 <= 3, the Gaussian's)
        sd_second = torch.where(torch.eye(d_m, dtype=torch.bool, device=lam.device), math.sqrt(2.0), 1.0) / math.sqrt(n)
        dev_mean = mean.abs() / (z / math.sqrt(n))
        dev_second = ((second - torch.eye(d_m, dtype=F64, device=lam.device)).abs() / (z * sd_second))
        dev_second = dev_second[:, iu[0], iu[1]]
        parts = {
            "E lambda = 0": Outcome.at_most(float(dev_mean.max()), 1.0),
            "E lambda lambda^T = I": Outcome.at_most(float(dev_second.max()), 1.0),
        }
        return Outcome.all_of(parts, instances=B, details={"z": z, "tests": n_tests})

    return check


A1_FALSE_FAIL = 1e-6

register(Claim(
    id="Y-A1", paper=PAPER, reference="Assumption 1",
    title="Task vectors: independent entries with mean 0 and variance 1 (generator contract)",
    statement=r"\lambda_i \text{ independent},\ \mathbb{E}[\lambda_i] = 0,\ \mathbb{E}[\lambda_i^2] = 1 "
              r"\ (i \in [m]);\ \text{only } \mathbb{E}[\lambda\lambda^\top] = I_m \text{ enters the loss}",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=make_check_a1(),
    params=(Param("m", int, min=1, max=1024), Param("n", int, min=16, max=1 << 22, doc="samples per instance"),
            Param("law", str, choices=("gaussian", "rademacher", "uniform")),
            Param("batch", int, min=1, max=4096)),
    defaults=dict(m=4, n=4096, law="gaussian", batch=4),
    cost=Cost.CHEAP, false_fail_rate=A1_FALSE_FAIL,
    tolerance="sample mean and second-moment entries within z standard deviations, z the two-sided normal quantile "
              "at 1e-6 / (number of tested entries) (Bonferroni; normal approximation, n >= 16); sd of lambda_i^2 "
              "bounded with mu_4 <= 3",
    notes="The generator's three laws (Gaussian, Rademacher, sqrt(3) x uniform) are standardised; the check is the "
          "suite's contract that every Monte-Carlo claim draws tasks satisfying Assumption 1.",
))


def make_check_a3(make: Generator = m.make_instance):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx, make=make)
        norms = inst.V.norm(dim=1)
        gap = m.distinct_coordinate_gap(inst)
        dist = torch.cdist(inst.V.transpose(1, 2), inst.V.transpose(1, 2))
        dist = dist + torch.eye(inst.K, dtype=F64, device=dist.device) * dist.max()
        resolution = _tol(1, 1.0)  # distinct = farther apart than float64 resolution at unit scale
        parts = {
            "unit-norm tokens": Outcome.at_most(float((norms - 1).abs().max()), _tol(inst.d, 1.0)),
            "a prompt coordinate with distinct entries (Assumption 3)": _worst(gap, resolution, le=False),
            "distinct dictionary tokens": _worst(dist.amin((1, 2)), resolution, le=False),
        }
        return Outcome.all_of(parts, instances=inst.batch, details={"min_gap": float(gap.min())})

    return check


register(Claim(
    id="Y-A3", paper=PAPER, reference="Assumption 3",
    title="The prompt tokens have a coordinate with pairwise distinct entries (generator contract)",
    statement=r"\exists x \in [d]:\ (V_P)_{x i} \ne (V_P)_{x j}\ \forall i \ne j;\quad \|v_k\|_2 = 1,\ "
              r"v_k \text{ distinct}",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, check=make_check_a3(),
    params=INSTANCE_PARAMS, defaults=INSTANCE_DEFAULTS, cost=Cost.CHEAP,
    tolerance="unit norm to 8 eps(float64) x d; distinctness gaps must exceed 8 eps (float64 resolution at unit "
              "scale)",
    notes="Unit-norm Gaussian-direction tokens satisfy Assumption 3 with probability one; the check makes that a "
          "contract of the generator every other claim uses.",
))


def make_check_a4(clip: Callable[[Tensor, float], Tensor] = m.clip_to_ball):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        B, n, Bn = cfg["batch"], cfg["n"], cfg["B"]
        g = ctx.generator()
        lam = clip(m.sample_tasks(cfg["law"], B, n, cfg["m"], g), Bn)
        u = torch.randn(B, n, cfg["m"], generator=g, dtype=F64, device=g.device)
        adversarial = clip(Bn * u / u.norm(dim=-1, keepdim=True), Bn)
        tol = _tol(cfg["m"], Bn)
        parts = {
            "||lambda|| <= B": Outcome.at_most(float(lam.norm(dim=-1).max()), Bn + tol),
            "adversarial ||lambda|| = B": Outcome.at_most(float((adversarial.norm(dim=-1) - Bn).abs().max()), tol),
        }
        return Outcome.all_of(parts, instances=B, details={"law": cfg["law"]})

    return check


register(Claim(
    id="Y-A4", paper=PAPER, reference="Assumption 4",
    title="Inference tasks are bounded, ||lambda|| <= B, in or out of the training law (generator contract)",
    statement=r"\|\lambda\|_2 \le B \text{ at inference; } \lambda \text{ need not come from } \mathcal{D}_\lambda",
    provenance=Provenance.STATED, kind=Kind.INEQUALITY, check=make_check_a4(),
    params=(Param("m", int, min=1, max=1024), Param("n", int, min=1, max=1 << 20),
            Param("law", str, choices=m.LAWS), Param("B", float, gt=0, max=1e6, doc="task-norm bound"),
            Param("batch", int, min=1, max=4096)),
    defaults=dict(m=4, n=512, law="ood", B=3.0, batch=4), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x m x B (the rescaling to the sphere rounds)",
    notes="Inference tasks are drawn from a law (in-domain N(0, I), out-of-domain N(1, 4I), Rademacher, uniform) "
          "and projected onto the ball of radius B; adversarial tasks lie on the sphere. Y-T2 uses this sampler.",
))


# ================================================================ Assumption 2 and Proposition 1
def _rank_parts(inst: m.Instance, S0: Tensor) -> tuple[dict, dict]:
    """Numeric full row rank of every C_k (N x H) and zeta_0 = min_k lambda_min(B_k B_k^T) > 0."""
    C = m.C_matrices(S0)  # (B, K, N, H)
    N, H = C.shape[-2], C.shape[-1]
    sv = torch.linalg.svdvals(C)  # (B, K, min(N, H))
    sigma_N = sv[..., N - 1] if H >= N else torch.zeros_like(sv[..., 0])
    ratio = sigma_N / sv[..., 0]
    rank_tol = max(N, H) * EPS  # numpy.linalg.matrix_rank's default threshold
    z0 = m.zeta(S0, inst)
    lower = inst.G_min * sigma_N.pow(2).amin(-1)  # zeta_0 >= lambda_min(G) min_k sigma_N(C_k)^2
    # eigvalsh(B_k B_k^T) is accurate to ~eps N H ||B_k||^2 in absolute terms, ||B_k||^2 <= ||G|| sigma_1(C_k)^2: a
    # relative allowance alone fails spuriously when sigma_N(C_k)^2 is near that floor (seen on CUDA, d = 2, m = 1)
    eig_err = _tol(N * H, inst.G_norm * sv[..., 0].pow(2).amax(-1))
    parts = {
        "rank C_k = N for all k (sigma_N / sigma_1 > max(N, H) eps)": _worst(ratio.amin(-1), torch.full_like(
            ratio[:, 0], rank_tol), le=False),
        "zeta_0 >= lambda_min(G) min_k sigma_N(C_k)^2 > 0": _worst(
            z0, lower * (1 - _tol(N * H, 1.0)) - eig_err + 1e-300, le=False),
    }
    return parts, {"zeta_0_min": float(z0.min()), "sigma_ratio_min": float(ratio.min())}


ZETA_TOLERANCE = ("; zeta_0 >= lambda_min(G) min_k sigma_N(C_k)^2 (1 - 8 eps N H) - 8 eps N H ||G|| max_k "
                  "sigma_1(C_k)^2 (eigvalsh's absolute error on B_k B_k^T)")


def make_check_a2(make: Generator = m.make_instance):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx, make=make)
        Q0, _ = m.init_params(inst, cfg["H"], cfg["beta"], ctx.generator(1))
        S0 = m.softmax_maps(Q0, inst)
        parts, details = _rank_parts(inst, S0)
        # C9: with Q = Q^(0) fixed, w_{:,k} = C_k^+ a_k gives Ahat = A, i.e. L = L*.
        C = m.C_matrices(S0)
        w = (torch.linalg.pinv(C) @ inst.A.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)  # (B, H, K)
        delta = m.gap_of_ahat(m.ahat(w, S0), inst)
        sv = torch.linalg.svdvals(C)
        cond = (sv[..., 0] / sv[..., -1]).amax(-1)
        col = (C.shape[-2] + C.shape[-1]) * cond * inst.A.norm(dim=1).amax(-1)  # forward error of C C^+ a_k
        tol = 0.5 * inst.G_norm * inst.K * (8 * EPS * col) ** 2
        parts["C9: w_k = C_k^+ a_k reaches L*"] = _worst(delta, tol)
        return Outcome.all_of(parts, instances=inst.batch, details=details | {"delta_at_pinv_max": float(delta.max())})

    return check


register(Claim(
    id="Y-A2", paper=PAPER, reference="Assumption 2 (with check C9)",
    title="B_k^(0) = Zbar C_k^(0) has full row rank N, so zeta_0 > 0 and L* is reachable at Q^(0) (reconstructed)",
    statement=r"\operatorname{rank} B_k^{(0)} = N\ \forall k,\quad \zeta_0 := \min_k \lambda_{\min}"
              r"(B_k^{(0)} B_k^{(0)\top}) > 0,\quad w_{:,k} = C_k^{+} a_k \Rightarrow L(\theta) = L^\star",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.IDENTITY, check=make_check_a2(),
    params=INSTANCE_PARAMS + THETA_PARAMS, defaults=INSTANCE_DEFAULTS | dict(H=6, beta=1.0),
    assumptions=(H_GE_N,), cost=Cost.CHEAP,
    tolerance="numeric rank: sigma_N/sigma_1 > max(N, H) eps (numpy's matrix_rank rule)" + ZETA_TOLERANCE
              + "; C9: Delta <= 1/2 ||G|| K (8 eps (N+H) cond(C_k) max_k ||a_k||)^2 (forward error of C_k C_k^+ a_k)",
    notes="zeta_0's exact definition is NOT FOUND; this project uses min_k lambda_min(B_k B_k^T) (a squared singular "
          "value). C9 (global minimum reachable with Q frozen) is the spec's sanity check of Assumption 2.",
))


def make_check_p1(make: Generator = m.make_instance):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx, make=make)
        Q0, _ = m.init_params(inst, cfg["H"], cfg["beta"], ctx.generator(1))
        parts, details = _rank_parts(inst, m.softmax_maps(Q0, inst))
        gap = m.distinct_coordinate_gap(inst)
        parts["Assumption 3 holds for the drawn tokens"] = _worst(gap, _tol(1, 1.0), le=False)
        return Outcome.all_of(parts, instances=inst.batch, details=details)

    return check


register(Claim(
    id="Y-P1", paper=PAPER, reference="Proposition 1",
    title="Gaussian initialisation with H >= N heads satisfies Assumption 2 almost surely",
    statement=r"H \ge N,\ Q_h^{(0)}(i,j) \overset{iid}{\sim} \mathcal{N}(0, \beta^2) \Rightarrow "
              r"\operatorname{rank}(C_k^{(0)}) = N\ \forall k \text{ a.s.}",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, check=make_check_p1(),
    params=INSTANCE_PARAMS + THETA_PARAMS, defaults=INSTANCE_DEFAULTS | dict(H=6, beta=1.0),
    assumptions=(H_GE_N,), cost=Cost.CHEAP,
    tolerance="numeric rank: sigma_N(C_k)/sigma_1(C_k) > max(N, H) eps(float64) for every k" + ZETA_TOLERANCE,
    notes="Almost-sure rank is checked as numeric rank at float64 resolution; with H < N the rank is at most H "
          "(negative control). beta small (near-uniform softmax) or large (saturated) makes C_k ill-conditioned "
          "but, per the proposition, still of full rank.",
))


# ================================================================ Lemma 1: the softmax gradient
def _sympy_chain_rule_vs_autograd(g: torch.Generator) -> tuple[float, float]:
    """S1 numerically: sympy's derivative of softmax(V_P^T Q v_k) w.r.t. Q (d = 2, N = 3) against torch autograd at a
    random point with unit tokens. Returns (max abs error, scale)."""
    from theorems.yang2024_symbolic import s1_chain_rule

    dv = s1_chain_rule()
    Q = torch.randn(2, 2, generator=g, dtype=F64, device=g.device)
    V = torch.randn(2, 4, generator=g, dtype=F64, device=g.device)
    V = V / V.norm(dim=0)
    VP, vk = V[:, :3], V[:, 3]
    jac = torch.autograd.functional.jacobian(lambda q: torch.softmax(VP.T @ q @ vk, 0), Q)  # (N, d, d)
    return float((dv.numeric(Q, VP, vk) - jac).abs().max()), 1.0


def make_check_l1(vjp: Callable[[Tensor, Tensor], Tensor] = m.softmax_vjp):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        from theorems.yang2024_symbolic import s1_chain_rule, s1_softmax_jacobian

        inst = _instance(cfg, ctx)
        Q, w = _random_theta(inst, cfg, ctx.generator(1))
        dQ, dw, _ = m.grad_analytic(Q, w, inst, vjp=vjp)
        aQ, aw = m.grad_autograd(Q, w, inst)
        R = inst.G @ (m.ahat(w, m.softmax_maps(Q, inst)) - inst.A)
        # |dL/dQ_h| <= sum_{n,k} |w_{h,k}| |r_{n,k}| (unit tokens, |s| <= 1): the magnitude the roundings scale with
        scale = float((w.abs().unsqueeze(1) * R.abs().unsqueeze(2)).sum((1, 3)).max())
        n_ops = inst.N + inst.K + cfg["H"] + inst.d
        err_sym, _ = _sympy_chain_rule_vs_autograd(ctx.generator(2))
        parts = {
            "dL/dQ: Lemma 1 vs autograd": Outcome.at_most(float((dQ - aQ).abs().max()), _tol(n_ops, scale)),
            "dL/dw: analytic vs autograd": Outcome.at_most(float((dw - aw).abs().max()), _tol(n_ops, scale)),
            "S1: sympy ds/dQ vs autograd (d=2, N=3)": Outcome.at_most(err_sym, _tol(3 * 2 * 2, 1.0)),
            "S1: sympy ds_j/dx_i = s_j(delta_ij - s_i) and the chain rule close": _symbolic(
                s1_softmax_jacobian(), s1_chain_rule()),
        }
        return Outcome.all_of(parts, instances=inst.batch)

    return check


register(Claim(
    id="Y-L1", paper=PAPER, reference="Lemma 1",
    title="Softmax gradient: ds_j/dQ = s_j (v_j - sum_i s_i v_i) v_k^T (reconstructed)",
    statement=r"\frac{\partial s_j}{\partial x_i} = s_j(\delta_{ij} - s_i),\qquad "
              r"\frac{\partial s_j}{\partial Q} = s_j\Big(v_j - \sum_i s_i v_i\Big) v_k^\top "
              r"= \sum_i s_j s_i (v_j - v_i) v_k^\top",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.IDENTITY, check=make_check_l1(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (RANDOM_W,),
    defaults=INSTANCE_DEFAULTS | dict(H=5, beta=1.0, w_scale=0.5), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x (N + K + H + d) x max_h sum_{n,k} |w_{h,k}| |r_{n,k}| (the size of the gradient "
              "sums); sympy vs autograd: 8 eps x N d^2",
    notes="The hand-derived gradient of the closed-form loss uses Lemma 1's Jacobian; autograd differentiates the "
          "same loss independently. S1 derives the Jacobian and the chain rule symbolically (d = 2, N = 3) and "
          "compares sympy's derivative with autograd at a random point.",
))


# ================================================================ Lemma 2 (and eq. 46): softmax Lipschitz
def make_check_l2(softmax: Callable[[Tensor, int], Tensor] = torch.softmax):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        g = ctx.generator()
        B, N, n = cfg["batch"], cfg["N"], cfg["n"]
        x = cfg["spread"] * torch.randn(B, n, N, generator=g, dtype=F64, device=g.device)
        # half the pairs nearby (the local Lipschitz regime), half far apart
        step = torch.randn(B, n, N, generator=g, dtype=F64, device=g.device)
        step[:, : n // 2] *= 1e-3
        x2 = x + cfg["spread"] * step
        lhs = (softmax(x, -1) - softmax(x2, -1)).abs().sum(-1)
        rhs = 2 * (x - x2).abs().amax(-1)
        inst = _instance(cfg | {"batch": B}, ctx, offset=1, token_norm=cfg["token_norm"])
        Q = cfg["beta"] * torch.randn(B, cfg["H"], inst.d, inst.d, generator=g, dtype=F64, device=g.device)
        dQ = torch.randn(Q.shape, generator=g, dtype=F64, device=g.device) * cfg["beta"] * 1e-2
        s = softmax(m.scores(Q, inst), 1)
        s2 = softmax(m.scores(Q + dQ, inst), 1)
        lhs46 = (s - s2).norm(dim=1)  # (B, H, K)
        rhs46 = 2 * dQ.flatten(2).norm(dim=-1).unsqueeze(-1)  # (B, H, 1)
        tol = _tol(N, 1.0)
        parts = {
            "Lemma 2: ||s(x) - s(x')||_1 <= 2 ||x - x'||_inf": _worst(lhs, rhs + tol),
            "eq. 46: ||s_k^h(Q) - s_k^h(Q')||_2 <= 2 ||Q - Q'||_F": _worst(lhs46, rhs46 + tol),
        }
        return Outcome.all_of(parts, instances=B, details={
            "effective constant, Lemma 2 (max lhs/(rhs/2))": float((2 * lhs / rhs).max()),
            "effective constant, eq. 46": float((2 * lhs46 / rhs46).max())})

    return check


register(Claim(
    id="Y-L2", paper=PAPER, reference="Lemma 2 (Edelman et al. 2022, Cor. A.7) and eq. 46",
    title="Softmax is 2-Lipschitz from l_inf to l_1, hence ||s(Q) - s(Q')|| <= 2 ||Q - Q'||_F (reconstructed)",
    statement=r"\|\mathrm{softmax}(x) - \mathrm{softmax}(x')\|_1 \le 2\|x - x'\|_\infty,\qquad "
              r"\|s_k^h(Q) - s_k^h(Q')\|_2 \le 2\|Q - Q'\|_F \ (\|v\| = 1)",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.INEQUALITY, check=make_check_l2(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (
        Param("n", int, min=2, max=1 << 16, doc="pairs (x, x') per instance"),
        Param("spread", float, gt=0, max=100, doc="scale of x"),
        Param("token_norm", float, gt=0, max=100, doc="token norm (the theory needs 1)")),
    defaults=INSTANCE_DEFAULTS | dict(H=3, beta=1.0, n=256, spread=3.0, token_norm=1.0),
    assumptions=(UNIT_TOKENS,), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x N (softmax outputs are at most 1)",
    notes="The paper cites the bound; the statement used in the proof (eq. 46) is reconstructed. The effective "
          "constants (max of lhs over rhs/2) are recorded in details: the bounds are loose by about 2-4x.",
))


# ================================================================ Lemma 4: oracle problem = ridge problem
def make_check_l4(oracle_penalty: Callable[[m.Instance], float] = lambda inst: inst.N * inst.tau):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        from theorems.yang2024_symbolic import s4_lemma4, s7_ridge

        inst = _instance(cfg, ctx)
        g = ctx.generator(1)
        B, N, dm, n, tau = inst.batch, inst.N, inst.m, cfg["n"], inst.tau
        y = m.labels(inst, m.sample_tasks("gaussian", B, 1, dm, g), g)[:, 0, :N]  # (B, N)
        lam = torch.randn(B, dm, generator=g, dtype=F64, device=g.device)  # any task vector
        u = y - (lam.unsqueeze(1) @ inst.Z).squeeze(1)  # y_i - lambda^T z_i
        e = math.sqrt(tau) * (lam.view(B, 1, 1, dm) @ torch.randn(B, n, dm, N, generator=g, dtype=F64,
                                                                    device=g.device)).squeeze(2)  # lambda^T eps_i
        f = ((u.unsqueeze(1) - e) ** 2).sum(-1) / (2 * N)  # (B, n) oracle objective per noise draw
        closed = (u**2).sum(-1) / (2 * N) + tau / 2 * (lam**2).sum(-1)
        # exact variance of one draw: (1/2N)^2 sum_i (4 u_i^2 s2 + 2 s2^2), s2 = tau ||lambda||^2; normal
        # approximation of the mean of n draws (CLT), two-sided, Bonferroni over the B instances
        s2 = tau * (lam**2).sum(-1)
        sd = torch.sqrt((4 * u**2 * s2.unsqueeze(-1) + 2 * s2.unsqueeze(-1) ** 2).sum(-1) / n) / (2 * N)
        k = normal_quantile(L4_FALSE_FAIL / B)
        # closed form lambda_tau = (Z Z^T + N tau I)^{-1} Z y: zero gradient of eq. 25 and the augmented lstsq
        lam_tau = m.ridge_coefficients(inst, y.unsqueeze(1), oracle_penalty(inst)).squeeze(1)
        grad = (inst.Z @ (inst.Z.transpose(1, 2) @ lam_tau.unsqueeze(-1)) - inst.Z @ y.unsqueeze(-1)).squeeze(-1) / N \
            + tau * lam_tau
        aug = torch.cat([inst.Z.transpose(1, 2), math.sqrt(N * tau) * torch.eye(dm, dtype=F64, device=y.device)
                         .expand(B, dm, dm)], 1)
        rhs = torch.cat([y, torch.zeros(B, dm, dtype=F64, device=y.device)], 1).unsqueeze(-1)
        lam_lstsq = torch.linalg.lstsq(aug, rhs).solution.squeeze(-1)
        aZ, al = inst.Z.abs(), lam_tau.abs().unsqueeze(-1)
        terms = (aZ @ (aZ.transpose(1, 2) @ al) + aZ @ y.abs().unsqueeze(-1)) / N + tau * al  # sum of |terms|
        zscale = float(terms.max())
        cond = float(torch.linalg.cond(aug).max())
        sym = s7_ridge()[1]
        parts = {
            "E_eps[oracle objective] = ridge objective (Monte Carlo, exact variance)": _worst(
                (f.mean(1) - closed).abs(), k * sd),
            "grad of eq. 25 vanishes at (Z Z^T + N tau I)^{-1} Z y": Outcome.at_most(
                float(grad.abs().max()), _tol(N + dm, zscale)),
            "closed form = lstsq of [Z^T; sqrt(N tau) I]": Outcome.at_most(
                float((lam_tau - lam_lstsq).abs().max()), _tol(N + dm, cond * (float(lam_tau.abs().max()) + 1))),
            "S7: sympy stationary point of eq. 25 = torch ridge (m=2, N=3)": _sympy_ridge_vs_torch(
                sym, oracle_penalty, g),
            "S4 and S7: sympy derivations close": _symbolic(s4_lemma4(), sym),
        }
        return Outcome.all_of(parts, instances=B, details={"z": k})

    return check


def make_check_l3(factor: Callable[[int], float] = lambda l: float(l)) -> Callable:
    """Y-L3 on a batch of random families of l vectors, half of them with equal vectors (where equality holds, so
    the worst ratio sits at the bound); ``factor`` is the constant in front of the sum (negative control: 1)."""

    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        B, l, d = cfg["batch"], cfg["l"], cfg["d"]
        g = ctx.generator()
        x = torch.randn(B, l, d, generator=g, dtype=torch.float64, device=ctx.device) * cfg["scale"]
        x[: B // 2] = x[: B // 2, :1]  # equal vectors: ||sum x_i||^2 = l sum ||x_i||^2
        lhs = (x.sum(1) ** 2).sum(-1)
        rhs = factor(l) * (x**2).sum((-1, -2))
        ratio = float((lhs / rhs).max())
        # Both sides are sums of l*d squares: relative round-off of each at most (l d + 2) eps.
        return Outcome.at_most(ratio, 1.0 + 2 * identity_tolerance(torch.float64, l * d + 2, 1.0, c=1.0),
                               instances=B)

    return check


register(Claim(
    id="Y-L3", paper=PAPER, reference="Lemma 3",
    title="Young's inequality for sums: ||sum_i x_i||^2 <= l sum_i ||x_i||^2",
    statement=r"\Big\|\sum_{i=1}^{l} x_i\Big\|^2 \le l \sum_{i=1}^{l} \|x_i\|^2",
    provenance=Provenance.STATED, kind=Kind.INEQUALITY, check=make_check_l3(),
    params=(Param("l", int, min=1, max=256, doc="number of vectors"), Param("d", int, min=1, max=256),
            Param("scale", float, gt=0, max=1e6), Param("batch", int, min=2, max=4096)),
    defaults=dict(l=4, d=3, scale=1.0, batch=64), cost=Cost.CHEAP,
    tolerance="1 + 2 eps(float64) (l d + 2): relative round-off of the two sums of l d squares",
    notes="A standard inequality the paper uses in its proofs; equality for equal vectors, which half of each "
          "batch draws, so the worst ratio sits on the bound.",
))


L4_FALSE_FAIL = 1e-6

register(Claim(
    id="Y-L4", paper=PAPER, reference="Lemma 4 (eqs. 24-25)",
    title="The noisy-feature oracle problem equals ridge regression with penalty tau/2 (reconstructed formula)",
    statement=r"\mathbb{E}_{\tilde\varepsilon}\Big[\tfrac{1}{2N}\sum_{i=1}^N (y_i - \lambda^\top(f(v_i) + "
              r"\tilde\varepsilon_i))^2\Big] = \tfrac{1}{2N}\sum_{i=1}^N (y_i - \lambda^\top f(v_i))^2 + "
              r"\tfrac{\tau}{2}\|\lambda\|^2,\quad \hat\lambda_\tau = (ZZ^\top + N\tau I)^{-1} Z y",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.STATISTICAL, check=make_check_l4(),
    params=INSTANCE_PARAMS + (Param("n", int, min=64, max=1 << 20, doc="noise draws"),),
    defaults=INSTANCE_DEFAULTS | dict(n=4096), cost=Cost.CHEAP, false_fail_rate=L4_FALSE_FAIL,
    tolerance="Monte Carlo: z standard deviations, z the two-sided normal quantile at 1e-6/B, with the exact "
              "variance (1/2N)^2 sum_i (4u_i^2 s + 2 s^2)/n, s = tau ||lambda||^2 (normal approximation of a mean of "
              "n >= 64 draws); closed forms: 8 eps x (N + m) x operand scale (x cond of the augmented system)",
    notes="The equivalence is stated; its formula is reconstructed. S4 derives the expectation with sympy.stats, "
          "S7 solves the stationarity equations of eq. 25 symbolically and is compared with the torch ridge.",
))


# ================================================================ Lemma 5: the deterministic loss
def make_check_l5(loss_of_ahat: Callable[[Tensor, m.Instance], Tensor] = m.loss_of_ahat):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        from theorems.yang2024_symbolic import s2_ck_vanishes, s5_per_k_loss

        inst = _instance(cfg, ctx)
        Q, w = _random_theta(inst, cfg, ctx.generator(1))
        Ah = m.ahat(w, m.softmax_maps(Q, inst))
        L = loss_of_ahat(Ah, inst)
        L_star = loss_of_ahat(inst.A, inst)
        mc, se = m.loss_mc(Q, w, inst, cfg["n"], cfg["law"], ctx.generator(2))
        z = normal_quantile(L5_FALSE_FAIL / inst.batch)
        gap = m.gap_of_ahat(Ah, inst)
        # c_k for k <= N as the paper writes it: -(g_k^T G^{-1} g_k) + ||z_k||^2 + m tau with g_k = Z^T z_k + m tau e_k
        mt = inst.m * inst.tau
        g_seen = inst.Z.transpose(1, 2) @ inst.Z + mt * torch.eye(inst.N, dtype=F64, device=L.device)
        c_seen = -(g_seen * torch.linalg.solve(inst.G, g_seen)).sum(1) + (inst.Z**2).sum(1) + mt
        gk = inst.Z.transpose(1, 2) @ inst.Zt + mt * inst.E0
        delta0 = 0.5 * (gk * torch.linalg.solve(inst.G, gk)).sum((1, 2))
        L0 = loss_of_ahat(torch.zeros_like(Ah), inst) - L_star
        scale = L.abs() + L_star.abs() + gap
        n_ops = inst.N * inst.K + inst.m * inst.K + cfg["H"]
        # S5 and S2 numerically: sympy's expressions against the loss on small auxiliary instances
        g = ctx.generator(3)
        rand = lambda *shape: torch.randn(*shape, generator=g, dtype=F64, device=g.device)  # noqa: E731
        aux = m.Instance(rand(1, 2, 3), rand(1, 2, 3), 2, inst.tau)  # m = 2, N = 2, K = 3
        Ah_aux = rand(1, 2, 3)
        s5 = s5_per_k_loss()
        sym_loss = 0.5 * sum(dv.numeric(aux.Z[0], Ah_aux[0, :, k], aux.Zt[0, :, k], aux.tau) for k, dv in enumerate(s5))
        torch_loss = loss_of_ahat(Ah_aux, aux)[0]
        s2 = s2_ck_vanishes()
        aux3 = m.Instance(rand(1, 1, 3), rand(1, 3, 3), 2, inst.tau)  # m = 3, N = 2, K = 3: one unseen token
        c_unseen_torch = 2 * loss_of_ahat(aux3.A, aux3)[0]  # L* = 1/2 sum_k c_k, and c_k = 0 for k <= N
        c_unseen_sym = s2.numeric(aux3.Z[0], aux3.Zt[0, :, 2], aux3.m * aux3.tau)
        parts = {
            "closed form = Monte Carlo (C2)": _worst((L - mc).abs(), z * se),
            "L - L* = 1/2 sum_k ||Zbar (a^_k - a_k)||^2 (C3)": _worst((L - L_star - gap).abs(), _tol(n_ops, scale)),
            "c_k = 0 for k <= N": _worst(c_seen.abs(), _tol(inst.N * inst.m, (inst.Z**2).sum(1) + mt)),
            "L >= L*": _worst(L - L_star, -_tol(n_ops, scale), le=False),
            "Delta(0) = 1/2 sum_k g_k^T G^{-1} g_k (C4)": _worst((L0 - delta0).abs(), _tol(n_ops, scale)),
            "S5: sympy expectation = closed-form loss (m=2, N=2, K=3)": Outcome.at_most(
                float((sym_loss - torch_loss).abs()), _tol(24, float(torch_loss.abs()) + 1)),
            "S2: sympy c_k (k > N, with +m tau) = 2 L* (m=3, N=2, K=3)": Outcome.at_most(
                float((c_unseen_sym - c_unseen_torch).abs()), _tol(18, float(c_unseen_torch.abs()) + 1)),
            "S2 and S5: sympy derivations close": _symbolic(s2, *s5),
        }
        return Outcome.all_of(parts, instances=inst.batch, details={
            "L_star_mean": float(L_star.mean()), "mc_se_max": float(se.max()), "z": z})

    return check


L5_FALSE_FAIL = 1e-6

register(Claim(
    id="Y-L5", paper=PAPER, reference="Lemma 5 (eq. 36)",
    title="The population loss is deterministic: L = 1/2 sum_k ||Zbar (a^_k - a_k)||^2 + L* (reconstructed)",
    statement=r"L(\theta) = \tfrac12 \sum_{k=1}^K \|\bar Z(\hat a_k(\theta) - a_k)\|_2^2 + L^\star,\quad "
              r"c_k = 0\ (k \le N),\quad \Delta(0) = \tfrac12 \sum_k g_k^\top G^{-1} g_k",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.STATISTICAL, check=make_check_l5(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (
        RANDOM_W, Param("n", int, min=64, max=1 << 22, doc="Monte-Carlo samples"),
        Param("law", str, choices=("gaussian", "rademacher", "uniform"), doc="lambda law (Assumption 1)")),
    defaults=INSTANCE_DEFAULTS | dict(H=4, beta=1.0, w_scale=0.3, n=4096, law="gaussian"),
    cost=Cost.CHEAP, false_fail_rate=L5_FALSE_FAIL,
    tolerance="Monte Carlo: z standard errors, z the two-sided normal quantile at 1e-6/B (normal approximation; "
              "heavy-tailed lambda^4 terms make smaller rates unsafe to state); identities: 8 eps x "
              "(N K + m K + H) x (|L| + |L*| + Delta); sympy vs torch: 8 eps x (terms) x value",
    notes="L* is computed as the loss at Ahat = A, not from the paper's c'_k: for unseen tokens the noisy targets "
          "add +m tau per token (the paper's printed c'_k omits it; the Monte-Carlo part detects the difference, "
          "see the negative control). The per-k form and the +m tau are checked symbolically (S2, S5).",
))


# ================================================================ Lemma 6: the reparametrisation alpha = w / gamma
def make_check_l6(w_step_factor: Callable[[float], float] = lambda gamma: gamma**2):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        from theorems.yang2024_symbolic import s6_reparametrisation

        inst = _instance(cfg, ctx)
        Q0, w0 = _random_theta(inst, cfg, ctx.generator(1))
        gamma, T = cfg["gamma"], cfg["steps"]
        eta = m.step_sizes(inst, cfg["H"], cfg["c"], gamma).eta_Q  # (B,): a stable step, so round-off stays small
        traj = m.gd(inst, Q0, w0, eta, eta * w_step_factor(gamma), T)  # theta: (eta_Q, gamma^2 eta_Q)
        eta_Q = eta.view(-1, 1, 1, 1)
        Q, alpha = Q0.clone(), w0 / gamma  # xi: one step eta_Q on l(Q, alpha) = L(Q, gamma alpha), by autograd
        for _ in range(T):  # a loop over GD steps (sequential by nature)
            Qr, ar = Q.requires_grad_(True), alpha.requires_grad_(True)
            dQ, da = torch.autograd.grad(m.loss_closed(Qr, gamma * ar, inst).sum(), (Qr, ar))
            Q, alpha = (Qr - eta_Q * dQ).detach(), (ar - eta_Q.view(-1, 1, 1) * da).detach()
        scale = float(Q0.abs().max() + w0.abs().max() + traj.w.abs().max())
        tol = _tol(T * (inst.N * inst.K + cfg["H"] + inst.d), scale)
        parts = {
            "Q: GD on xi = GD on theta": Outcome.at_most(float((Q - traj.Q).abs().max()), tol),
            "gamma alpha: GD on xi = w: GD on theta with eta_w = gamma^2 eta_Q": Outcome.at_most(
                float((gamma * alpha - traj.w).abs().max()), tol),
            "S6: sympy derivation closes": _symbolic(s6_reparametrisation()),
        }
        return Outcome.all_of(parts, instances=inst.batch)

    return check


register(Claim(
    id="Y-L6", paper=PAPER, reference="Lemma 6",
    title="GD on xi = (Q, alpha = w/gamma) with one step eta_Q is GD on theta with (eta_Q, gamma^2 eta_Q) "
          "(reconstructed)",
    statement=r"\alpha_h := w_h/\gamma,\ \ell(\xi) = L(\theta):\quad \xi^{(t+1)} = \xi^{(t)} - \eta_Q \nabla\ell "
              r"\iff Q^{(t+1)} = Q^{(t)} - \eta_Q\nabla_Q L,\ w^{(t+1)} = w^{(t)} - \gamma^2\eta_Q \nabla_w L",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.IDENTITY, check=make_check_l6(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (
        RANDOM_W, Param("gamma", float, gt=0, max=1e3),
        Param("c", float, gt=0, max=100, doc="steps eta_w = gamma^2 eta_Q = c/(||G||_2 H)"),
        Param("steps", int, min=1, max=1000)),
    defaults=INSTANCE_DEFAULTS | dict(H=4, beta=1.0, w_scale=0.3, gamma=3.0, c=1.0, steps=5),
    assumptions=(Assumption("c <= 1", lambda c: c["c"] <= 1.0,
                            "the two runs are compared in float64: with eta_w <= 1/L_w GD does not amplify their "
                            "round-off differences (an unstable step would, although the identity is exact)"),),
    cost=Cost.CHEAP,
    tolerance="8 eps(float64) x steps x (N K + H + d) x (|Q0| + |w0| + |w_T|): the two runs differ only in rounding "
              "(analytic vs autograd gradients, alpha vs w scaling), which a stable step does not amplify",
    notes="S6 derives the identity for an arbitrary smooth L with sympy; the numeric part runs both GDs.",
))


# ================================================================ Lemma 7: gradient-norm bounds (derived constants)
def _grad_with_softmax(Q: Tensor, w: Tensor, inst: m.Instance, softmax) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Autograd gradient of the closed-form loss with a given softmax, plus S and Delta."""
    Q = Q.detach().requires_grad_(True)
    w = w.detach().requires_grad_(True)
    S = softmax(m.scores(Q, inst), 1)
    Ah = m.ahat(w, S)
    dQ, dw = torch.autograd.grad(m.loss_of_ahat(Ah, inst).sum(), (Q, w))
    return dQ, dw, S.detach(), m.gap_of_ahat(Ah.detach(), inst)


def make_check_l7(softmax: Callable[[Tensor, int], Tensor] = torch.softmax):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx)
        Q, w = _random_theta(inst, cfg, ctx.generator(1))
        dQ, dw, _, delta = _grad_with_softmax(Q, w, inst, softmax)
        zbar = inst.G_norm.sqrt()  # ||Zbar||_2
        # in theta coordinates (gamma alpha = w, grad_alpha = gamma grad_w) the bounds read:
        rhs_Q = 2 * math.sqrt(2 * inst.K) * w.abs().amax(-1) * (zbar * delta.sqrt()).unsqueeze(-1)  # (B, H)
        rhs_w = (zbar * (2 * delta).sqrt()).unsqueeze(-1)
        lhs_Q, lhs_w = dQ.flatten(2).norm(dim=-1), dw.norm(dim=-1)
        tol = _tol(inst.N * inst.K + cfg["H"], rhs_Q.amax() + rhs_w.amax())
        parts = {
            "||grad_Q_h l||_F <= 2 sqrt(2K) gamma max_k|alpha_hk| ||Zbar|| sqrt(l - L*)": _worst(lhs_Q, rhs_Q + tol),
            "||grad_alpha_h l|| <= gamma ||Zbar|| sqrt(2 (l - L*))": _worst(lhs_w, rhs_w + tol),
        }
        return Outcome.all_of(parts, instances=inst.batch, details={
            "fitted constant Q (max lhs/rhs x 2 sqrt 2)": float((lhs_Q / rhs_Q).max() * 2 * math.sqrt(2)),
            "fitted constant alpha (max lhs/rhs)": float((lhs_w / rhs_w).max())})

    return check


register(Claim(
    id="Y-L7", paper=PAPER, reference="Lemma 7 (eq. 42), derived constants",
    title="Gradient norms are bounded by sqrt(l - L*) with constants from ||Zbar||, K and max|alpha| "
          "(reconstructed)",
    statement=r"\|\nabla_{Q_h}\ell\|_F \le 2\sqrt{2K}\,\gamma\max_k|\alpha_{h,k}|\,\|\bar Z\|_2\sqrt{\ell - L^\star},"
              r"\qquad \|\nabla_{\alpha_h}\ell\|_2 \le \gamma\|\bar Z\|_2\sqrt{2(\ell - L^\star)}",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.INEQUALITY, check=make_check_l7(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (RANDOM_W,),
    defaults=INSTANCE_DEFAULTS | dict(H=4, beta=1.0, w_scale=0.5), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x (N K + H) x (sum of the two right-hand sides)",
    notes="The paper's constants are NOT FOUND; these are the spec's derived ones. In theta coordinates "
          "gamma alpha = w and grad_alpha = gamma grad_w, so gamma cancels; the bound on the alpha-gradient is the "
          "one the PL argument of Theorem 1 needs. The effective constants (max ratio) are in details.",
))


# ================================================================ Lemmas 8 and 9: Lipschitz and boundedness of b, delta
def make_check_l8(softmax: Callable[[Tensor, int], Tensor] = torch.softmax):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx, token_norm=cfg["token_norm"])
        g = ctx.generator(1)
        Q, w = _random_theta(inst, cfg, g)
        Q2 = Q + cfg["step"] * torch.randn(Q.shape, generator=g, dtype=F64, device=g.device)
        w2 = w + cfg["step"] * torch.randn(w.shape, generator=g, dtype=F64, device=g.device)
        S, S2 = softmax(m.scores(Q, inst), 1), softmax(m.scores(Q2, inst), 1)
        zbar = inst.G_norm.sqrt().view(-1, 1, 1)
        db = (inst.Zbar.unsqueeze(1) @ (S - S2).permute(0, 2, 1, 3)).norm(dim=2)  # (B, H, K): ||b(Q) - b(Q')||
        ds = (S - S2).norm(dim=1)  # (B, H, K)
        dQF = (Q - Q2).flatten(2).norm(dim=-1).unsqueeze(-1)  # (B, H, 1)
        ddelta = (m.ahat(w, S) - m.ahat(w2, S2)).norm(dim=1)  # (B, K): ||delta_k(theta) - delta_k(theta')||
        rhs_delta = (w - w2).abs().sum(1) + 2 * (w2.abs() * dQF).sum(1)
        tol = _tol(inst.N * inst.K + cfg["H"], 1.0 + w.abs().max() + w2.abs().max())
        parts = {
            "||b_k^h(Q) - b_k^h(Q')|| <= ||Zbar|| ||s_k^h(Q) - s_k^h(Q')||": _worst(db, zbar * ds + tol),
            "||s_k^h(Q) - s_k^h(Q')|| <= 2 ||Q_h - Q'_h||_F": _worst(ds, 2 * dQF + tol),
            "||delta_k(theta) - delta_k(theta')|| <= sum_h |w - w'| + 2 sum_h |w'| ||Q_h - Q'_h||_F": _worst(
                ddelta, rhs_delta + tol),
        }
        return Outcome.all_of(parts, instances=inst.batch)

    return check


register(Claim(
    id="Y-L8", paper=PAPER, reference="Lemma 8",
    title="b_k^h = Zbar s_k^h and delta_k = a^_k - a_k are Lipschitz in theta (reconstructed form)",
    statement=r"\|b_k^h(\theta) - b_k^h(\theta')\| \le \|\bar Z\|\,\|s_k^h(\theta) - s_k^h(\theta')\| \le "
              r"2\|\bar Z\|\,\|Q_h - Q_h'\|_F,\quad \|\delta_k(\theta) - \delta_k(\theta')\| \le "
              r"\sum_h |w_{h,k} - w'_{h,k}| + 2\sum_h |w'_{h,k}|\,\|Q_h - Q'_h\|_F",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.INEQUALITY, check=make_check_l8(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (
        RANDOM_W, Param("step", float, gt=0, max=100, doc="size of theta - theta'"),
        Param("token_norm", float, gt=0, max=100, doc="token norm (the theory needs 1)")),
    defaults=INSTANCE_DEFAULTS | dict(H=4, beta=1.0, w_scale=0.5, step=0.1, token_norm=1.0),
    assumptions=(UNIT_TOKENS,), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x (N K + H) x (1 + max|w| + max|w'|)",
    notes="The first inequality is the spec's; the delta_k bound is this project's derivation (||s|| <= 1 and eq. 46) "
          "since the paper's exact form is NOT FOUND (written in theta coordinates, gamma alpha = w).",
))


def make_check_l9(softmax: Callable[[Tensor, int], Tensor] = torch.softmax):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx)
        Q, w = _random_theta(inst, cfg, ctx.generator(1))
        S = softmax(m.scores(Q, inst), 1)
        b = (inst.Zbar.unsqueeze(1) @ S.permute(0, 2, 1, 3)).norm(dim=2)  # (B, H, K)
        delta = (m.ahat(w, S) - inst.A).norm(dim=1)  # (B, K)
        A_norm = torch.linalg.matrix_norm(inst.A, ord=2)
        rhs_delta = cfg["H"] * w.abs().amax((1, 2)) + A_norm  # gamma H alpha + ||A||, alpha = max|w|/gamma
        tol = _tol(inst.N * inst.K + cfg["H"], inst.G_norm.sqrt() + rhs_delta)
        parts = {
            "||b_k^h|| <= ||Zbar||_2": _worst(b, inst.G_norm.sqrt().view(-1, 1, 1) + tol.view(-1, 1, 1)),
            "||delta_k|| <= gamma H alpha + ||A||_2": _worst(delta, (rhs_delta + tol).unsqueeze(-1)),
        }
        return Outcome.all_of(parts, instances=inst.batch)

    return check


register(Claim(
    id="Y-L9", paper=PAPER, reference="Lemma 9",
    title="||b_k^h|| <= ||Zbar|| and ||delta_k|| <= gamma H alpha + ||A||",
    statement=r"\|b_k^h\|_2 \le \|\bar Z\|_2,\qquad \|\delta_k^\theta\|_2 \le \gamma H\alpha + \|A\|_2 "
              r"\quad (|\alpha_{h,k}| \le \alpha)",
    provenance=Provenance.STATED, kind=Kind.INEQUALITY, check=make_check_l9(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (RANDOM_W,),
    defaults=INSTANCE_DEFAULTS | dict(H=4, beta=1.0, w_scale=0.5), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x (N K + H) x (||Zbar|| + gamma H alpha + ||A||)",
    notes="Checked in theta coordinates: gamma H alpha = H max|w|. ||A||_2 is the spectral norm of A (N x K).",
))


# ================================================================ Lemma 10 (w-block): smoothness in w
def make_check_l10(bound: Callable[[m.Instance, int], Tensor] = lambda inst, H: inst.G_norm * H):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx)
        g = ctx.generator(1)
        Q, w = _random_theta(inst, cfg, g)
        w2 = w + torch.randn(w.shape, generator=g, dtype=F64, device=g.device)
        S = m.softmax_maps(Q, inst)
        L_w = m.L_w(S, inst)
        _, dw1, _ = m.grad_analytic(Q, w, inst)
        _, dw2, _ = m.grad_analytic(Q, w2, inst)
        ratio = (dw1 - dw2).flatten(1).norm(dim=1) / (w - w2).flatten(1).norm(dim=1)
        # the direction that attains L_w: the top eigenvector of C_k^T G C_k for the worst k
        Bk = inst.Zbar.unsqueeze(1) @ m.C_matrices(S)
        ev, U = torch.linalg.eigh(Bk.transpose(-1, -2) @ Bk)  # (B, K, H), (B, K, H, H)
        k_star = ev[..., -1].argmax(-1)
        idx = torch.arange(inst.batch, device=w.device)
        w3 = w.clone()
        w3[idx, :, k_star] += U[idx, k_star, :, -1]
        _, dw3, _ = m.grad_analytic(Q, w3, inst)
        attained = (dw3 - dw1).flatten(1).norm(dim=1)
        n_ops = inst.N * inst.K + cfg["H"]
        tol = _tol(n_ops, 1.0)
        # A gradient difference cancels: its round-off is relative to the gradients, not to the difference (found by
        # the thorough profile on CUDA: tau = 0.002 makes L_w ~1e-3 while the gradients stay O(1)).
        norm = lambda t: t.flatten(1).norm(dim=1)  # noqa: E731
        slack12 = _tol(n_ops, norm(dw1) + norm(dw2)) / (w - w2).flatten(1).norm(dim=1)
        slack13 = _tol(n_ops, norm(dw1) + norm(dw3))  # ||w3 - w|| = 1 (a unit eigenvector)
        parts = {
            "||grad_w L(w) - grad_w L(w')|| <= L_w ||w - w'||": _worst(ratio, L_w * (1 + tol) + slack12),
            "L_w is attained (top eigenvector of C_k^T G C_k)": _worst(attained, L_w * (1 - tol) - slack13,
                                                                     le=False),
            "L_w = max_k lambda_max(C_k^T G C_k) <= ||G||_2 H (the C11 step rule)": _worst(L_w, bound(inst, cfg["H"])
                                                                                          * (1 + tol)),
        }
        return Outcome.all_of(parts, instances=inst.batch, details={
            "L_w / (||G|| H) max": float((L_w / (inst.G_norm * cfg["H"])).max())})

    return check


register(Claim(
    id="Y-L10", paper=PAPER, reference="Lemma 10 (w-block only)",
    title="Smoothness in w: the w-gradient is L_w-Lipschitz with L_w <= ||G||_2 H (reconstructed, w-block only)",
    statement=r"\|\nabla_w L(Q, w) - \nabla_w L(Q, w')\| \le L_w \|w - w'\|,\quad L_w = \max_k "
              r"\lambda_{\max}(C_k^\top G C_k) \le \|G\|_2 H",
    provenance=Provenance.DERIVED_LOW, kind=Kind.INEQUALITY, check=make_check_l10(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (RANDOM_W,),
    defaults=INSTANCE_DEFAULTS | dict(H=6, beta=1.0, w_scale=0.5), cost=Cost.CHEAP,
    tolerance="relative 8 eps(float64) x (N K + H) on L_w, plus 8 eps (N K + H) (||grad_w L(w)|| + ||grad_w L(w')||) "
              "absolute on each gradient difference (a cancellation)",
    notes="The paper's L_smooth (eq. 61) is NOT FOUND. Only the w-block is stated here: the loss is quadratic in w "
          "with block-diagonal Hessian C_k^T G C_k, so L_w is exact (attained), and ||C_k||_F^2 <= H gives the "
          "bound behind the step rule eta_w = c/(||G||_2 H) used by Y-T1.",
))


# ================================================================ multi-head necessity (one head cannot reach L*)
def make_check_mh(make: Generator = m.make_instance):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        inst = _instance(cfg, ctx, make=make)
        g = ctx.generator(1)
        Q, w = _random_theta(inst, cfg, g)
        bound = m.one_head_lower_bound(inst)
        S = m.softmax_maps(Q, inst)
        # the best w for each drawn Q (least squares per k in the Zbar metric): the lowest loss this Q allows
        C = m.C_matrices(S)  # (B, K, N, H)
        Zb = inst.Zbar.unsqueeze(1)
        w_best = torch.linalg.lstsq(Zb @ C, (Zb @ inst.A.transpose(1, 2).unsqueeze(-1))).solution  # (B, K, H, 1)
        gap_best = m.gap_of_ahat(m.ahat(w_best.squeeze(-1).transpose(1, 2), S), inst)
        gap_rand = m.gap_of_ahat(m.ahat(w, S), inst)
        Q0, w0 = m.init_params(inst, cfg["H"], cfg["beta"], g)
        st = m.step_sizes(inst, cfg["H"], 1.0, 3.0)
        traj = m.gd(inst, Q0, w0, st.eta_Q, st.eta_w, cfg["steps"])
        aU = inst.A[..., inst.N:]
        mixed = ((aU > 0).any(1) & (aU < 0).any(1)).any(-1)  # some unseen a_k has mixed signs
        tol = _tol(inst.N * inst.K, traj.delta[:, 0])
        parts = {
            "L - L* >= NNLS bound (random theta)": _worst(gap_rand, bound - tol, le=False),
            "L - L* >= NNLS bound (best w for the drawn Q)": _worst(gap_best, bound - tol, le=False),
            "L(theta^(T)) - L* >= NNLS bound (GD, H = 1)": _worst(traj.delta[:, -1], bound - tol, le=False),
        }
        what = "bound > 0 where some unseen a_k has mixed signs"
        parts[what] = _worst(bound[mixed], _tol(inst.N, 1.0) * torch.ones_like(bound[mixed]), le=False) if bool(
            mixed.any()) else _holds(True, "no instance with a mixed-sign a_k was drawn")
        return Outcome.all_of(parts, instances=inst.batch, details={
            "mixed_sign_instances": int(mixed.sum()), "bound_over_delta0_min": float((bound / traj.delta[:, 0]).min()),
            "gd_delta_T_over_delta0": [float(x) for x in traj.delta[:, -1] / traj.delta[:, 0]]})

    return check


register(Claim(
    id="Y-MH", paper=PAPER, reference="Section 3.3 (multi-head remark), check C10; not a spec claim id",
    title="One head cannot reach L*: a non-negative least-squares lower bound on L - L* (reconstructed)",
    statement=r"H = 1:\ L(\theta) - L^\star \ge \tfrac12\sum_{k>N}\min\big(\mathrm{NNLS}(\bar Z, \bar Z a_k), "
              r"\mathrm{NNLS}(\bar Z, -\bar Z a_k)\big)^2 > 0 \text{ if some } a_k \text{ has mixed signs}",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.INEQUALITY, check=make_check_mh(),
    params=INSTANCE_PARAMS + THETA_PARAMS + (RANDOM_W, Param("steps", int, min=0, max=100000, doc="GD steps")),
    defaults=INSTANCE_DEFAULTS | dict(H=1, beta=1.0, w_scale=0.5, steps=200),
    assumptions=(Assumption("H == 1", lambda c: c["H"] == 1,
                            "the bound uses that a^_k = w_k s_k lies in a single-signed cone"),
                 Assumption("N >= 2", lambda c: c["N"] >= 2, "with N = 1 every a_k is a scalar (no mixed signs)")),
    cost=Cost.CHEAP,
    tolerance="8 eps(float64) x N K x Delta(0) (scipy NNLS residuals and the quadratic form round at that scale)",
    notes="Id Y-MH is this project's (the spec has no id for the multi-head remark). a^_k = w_k s_k with s_k in "
          "the simplex, so a^_k lies in the non-negative or the non-positive orthant; the NNLS residuals bound the "
          "distance from a_k in the Zbar metric. The bound holds for every (Q, w) and so also after GD.",
))


# ================================================================ trained models, shared by Y-T1 and Y-T2
TRAIN_PARAMS = INSTANCE_PARAMS + THETA_PARAMS + (
    Param("gamma", float, gt=0, max=1e3, doc="eta_w = gamma^2 eta_Q (eq. 16; gamma's exact form NOT FOUND)"),
    Param("c", float, gt=0, max=100, doc="step rule eta_w = c/(||G||_2 H); c <= 1 gives eta_w <= 1/L_w"),
    Param("kappa_max", float, min=1, doc="conditioning filter: keep instances with kappa_0 <= kappa_max"),
    Param("max_efold", float, gt=0, doc="run-time filter: keep instances with 1/(eta_w zeta_0) <= max_efold"),
    Param("instance_seed", int, min=0, doc="seed of the trained instances (the Hypothesis seed drives inference)"),
)
TRAIN_DEFAULTS = INSTANCE_DEFAULTS | dict(d=8, N=3, K=7, m=4, tau=0.3, H=5, beta=1.0, gamma=3.0, c=1.0, kappa_max=1e3,
                                          max_efold=1000.0,
                                          instance_seed=0, batch=6)
TRAIN_KEYS = tuple(p.name for p in TRAIN_PARAMS)
STEP_RULE = Assumption("c <= 1", lambda c: c["c"] <= 1.0,
                       "eta_w = c/(||G|| H) <= 1/L_w (Y-L10) is the smoothness condition eta_Q <= 1/L_smooth "
                       "restricted to the w-block")
POOL_ROUNDS, POOL_SIZE = 32, 64


@dataclass
class Checkpoint:
    """A GD run of ``steps`` steps: final parameters and the recorded curves."""

    Q: Tensor
    w: Tensor
    delta: Tensor  # (B, steps + 1): Delta(t)
    zeta: Tensor | None  # (B, steps + 1): zeta_t, when recorded
    L_w: Tensor | None  # (B, steps + 1): L_w(t), recorded with zeta

    @property
    def steps(self) -> int:
        return self.delta.shape[1] - 1


@dataclass
class Trained:
    """A batch of filtered instances, their initialisation and GD checkpoints (one run, extended on demand)."""

    inst: m.Instance
    Q0: Tensor
    w0: Tensor
    eta_Q: Tensor
    eta_w: Tensor
    zeta0: Tensor
    kappa0: Tensor
    drawn: int  # instances drawn before the filter kept `batch`
    checkpoints: dict  # steps -> Checkpoint

    def horizon(self, target: float, rate_factor: float = 1.0) -> Tensor:
        """Per instance: T = ceil(ln(1/target) / -ln(1 - rate_factor eta_w zeta_0)), the steps after which the
        rate (1 - rate_factor eta_w zeta_0)^T reaches ``target`` (capped where eta_w zeta_0 >= 1)."""
        x = (rate_factor * self.eta_w * self.zeta0).clamp(max=1 - EPS)
        return torch.ceil(math.log(1.0 / target) / -torch.log1p(-x)).long().clamp(min=1)


_TRAINED: dict[tuple, Trained] = {}


def _train_key(cfg: dict, device: torch.device) -> tuple:
    return tuple(cfg[k] for k in TRAIN_KEYS) + (str(device),)


def _draw_trainable(cfg: dict, device: torch.device) -> tuple[m.Instance, Tensor, Tensor, int]:
    """Draw pools of instances with Gaussian Q^(0), w^(0) = 0, and keep the first ``batch`` that pass the
    conditioning filter kappa_0 <= kappa_max and the run-time filter 1/(eta_w zeta_0) <= max_efold."""
    g = torch.Generator(device=device)
    g.manual_seed(cfg["instance_seed"])
    kept_V, kept_Z, kept_Q, drawn = [], [], [], 0
    for _ in range(POOL_ROUNDS):
        inst = m.make_instance(POOL_SIZE, cfg["d"], cfg["K"], cfg["N"], cfg["m"], cfg["tau"], g)
        Q0, _ = m.init_params(inst, cfg["H"], cfg["beta"], g)
        S0 = m.softmax_maps(Q0, inst)
        z0 = m.zeta(S0, inst)
        eta_w = m.step_sizes(inst, cfg["H"], cfg["c"], cfg["gamma"]).eta_w
        ok = (m.kappa0(S0, inst) <= cfg["kappa_max"]) & (z0 > 0) & (1.0 / (eta_w * z0) <= cfg["max_efold"])
        idx = ok.nonzero().flatten()
        kept_V.append(inst.V[idx])
        kept_Z.append(inst.Zt[idx])
        kept_Q.append(Q0[idx])
        drawn += POOL_SIZE
        if sum(len(v) for v in kept_V) >= cfg["batch"]:
            break
    V, Zt, Q0 = (torch.cat(x)[: cfg["batch"]] for x in (kept_V, kept_Z, kept_Q))
    if len(V) == 0:
        raise ConfigError("kappa_max", f"no instance among {drawn} draws passes kappa_0 <= {cfg['kappa_max']:g} and "
                                       f"1/(eta_w zeta_0) <= {cfg['max_efold']:g}; loosen the filter or change shapes")
    inst = m.Instance(V, Zt, cfg["N"], cfg["tau"])
    return inst, Q0, torch.zeros(len(V), cfg["H"], cfg["K"], dtype=F64, device=device), drawn


def trained(cfg: dict, device: torch.device, steps: int, record_zeta: bool) -> tuple[Trained, Checkpoint]:
    """The shared GD run for this training config, exactly ``steps`` steps long (zeta_t recorded if asked).

    Runs are cached per (training config, instance_seed, device) as checkpoints; a request continues from the
    latest suitable checkpoint. GD is deterministic and continuing from step T is bit-for-bit the run that went
    straight to T + s, so every result is the same whichever claim trained first (tests/test_yang2024_models.py).
    """
    key = _train_key(cfg, device)
    tr = _TRAINED.get(key)
    if tr is None:
        inst, Q0, w0, drawn = _draw_trainable(cfg, device)
        st = m.step_sizes(inst, cfg["H"], cfg["c"], cfg["gamma"])
        S0 = m.softmax_maps(Q0, inst)
        start = m.gd(inst, Q0, w0, st.eta_Q, st.eta_w, 0, record_zeta=True)
        tr = Trained(inst, Q0, w0, st.eta_Q, st.eta_w, m.zeta(S0, inst), m.kappa0(S0, inst), drawn,
                     {0: Checkpoint(Q0, w0, start.delta, start.zeta, start.L_w)})
        _TRAINED[key] = tr
    if steps in tr.checkpoints and (tr.checkpoints[steps].zeta is not None or not record_zeta):
        return tr, tr.checkpoints[steps]
    base = tr.checkpoints[max(k for k, c in tr.checkpoints.items() if k <= steps and
                              (c.zeta is not None or not record_zeta))]
    run = m.gd(tr.inst, base.Q, base.w, tr.eta_Q, tr.eta_w, steps - base.steps, record_zeta=record_zeta)
    cat = lambda a, b: None if a is None or b is None else torch.cat([a, b[:, 1:]], 1)  # noqa: E731
    tr.checkpoints[steps] = Checkpoint(run.Q, run.w, cat(base.delta, run.delta), cat(base.zeta, run.zeta),
                                       cat(base.L_w, run.L_w))
    return tr, tr.checkpoints[steps]


def delta_roundoff(tr: Trained, w: Tensor, delta: Tensor) -> Tensor:
    """Float64 allowance on a computed Delta (B, T): Delta = 1/2 D^T G D with D = Ahat - A computed with absolute
    error e <= 8 eps (H + N) max_k sum_h |w_hk| per entry (the head sum and the softmax roundings; A is the same
    computed matrix at every step, and the gradient targets it, so its own error does not enter; w is the run's final
    w, the largest along a run from w = 0 towards the minimiser, up to the A term). Hence
    |dDelta| <= sqrt(2 ||G|| Delta) sqrt(N K) e + 1/2 ||G|| N K e^2 + 8 eps N^2 K Delta."""
    inst = tr.inst
    H = tr.Q0.shape[1]
    wsum = torch.maximum(w.abs().sum(1).amax(-1), inst.A.abs().amax((1, 2)))
    e = (8 * EPS * (H + inst.N) * wsum * math.sqrt(inst.N * inst.K)).unsqueeze(-1)
    Gn = inst.G_norm.unsqueeze(-1)
    return (2 * Gn * delta.clamp(min=0)).sqrt() * e + 0.5 * Gn * e**2 + 8 * EPS * inst.N**2 * inst.K * delta.abs()


# ================================================================ Theorem 1: linear convergence
T1_TARGET = 1e-3


def _ls_weights(n: int) -> Tensor:
    """Weights of the least-squares slope as an average of successive differences (equally spaced x):
    slope = sum_t c_t (y_{t+1} - y_t) with c_t proportional to (t + 1)(n - 1 - t), sum c_t = 1."""
    t = torch.arange(n - 1, dtype=F64)
    c = (t + 1) * (n - 1 - t)
    return c / c.sum()


def _slope_band(tr: Trained, ck: Checkpoint, allow: Tensor, T_i: Tensor) -> tuple[Outcome, dict]:
    """(c) geometric decay. Window: the second half of each instance's run, cut where round-off reaches 1e-3 of
    Delta. The least-squares slope of log Delta is sum_t c_t log(Delta_{t+1}/Delta_t) with weights c_t >= 0 summing
    to 1, so the contraction (b) puts it below ``upper = sum_t c_t log(1 - eta_w zeta_t)``. With Q frozen, GD on the
    quadratic w-problem shrinks each Hessian mode by (1 - eta_w lambda)^2 >= (1 - eta_w L_w)^2 per step (eta_w L_w
    <= 1), which gives ``lower = sum_t c_t 2 log(1 - eta_w L_w(t))``; Q moves little (gamma^2 eta_Q = eta_w), so the
    band [lower, upper] is stated for the moving-Q run too. Returns the worst instance's Outcome and the fits."""
    D = ck.delta
    outs, fits = [], {"fitted_slope": [], "band": [], "slope_over_theory": [], "r2": [], "window": []}
    for b in range(D.shape[0]):  # windows differ per instance
        Tb = int(T_i[b])
        clean = (allow[b, : Tb + 1] < 1e-3 * D[b, : Tb + 1]).nonzero().flatten()
        end = int(clean.max()) if len(clean) else 0
        start = end // 2
        if end - start < 8:
            continue
        fit = fit_slope(list(range(start, end + 1)), D[b, start: end + 1].log().tolist(), log=False)
        c = _ls_weights(end - start + 1).to(D.device)
        upper = float((c * torch.log1p(-tr.eta_w[b] * ck.zeta[b, start:end])).sum())
        lower = float((c * 2 * torch.log1p(-(tr.eta_w[b] * ck.L_w[b, start:end]).clamp(max=1 - EPS))).sum())
        outs.append(Outcome.within(fit.slope, lower, upper))
        fits["fitted_slope"].append(fit.slope)
        fits["band"].append([lower, upper])
        fits["slope_over_theory"].append(fit.slope / upper)
        fits["r2"].append(fit.r2)
        fits["window"].append([start, end])
    if not outs:
        return _holds(True, "no instance had a window of 8 steps before round-off"), fits
    worst = min(outs, key=lambda o: o.margin / max(abs(o.bound), 1e-300))
    return worst, fits


def check_t1(cfg: dict, ctx: CheckContext) -> Outcome:
    probe, _ = trained(cfg, ctx.device, 0, record_zeta=False)
    T_i = probe.horizon(cfg["target"])  # T chosen from zeta_0: (1 - eta_w zeta_0)^T <= target
    T = int(T_i.max())
    tr, ck = trained(cfg, ctx.device, T, record_zeta=True)
    D, Z = ck.delta, ck.zeta
    t = torch.arange(T + 1, device=D.device)
    allow = delta_roundoff(tr, ck.w, D)
    a_pair = allow[:, 1:] + allow[:, :-1]
    ew = tr.eta_w.unsqueeze(1)
    live = t[:-1].unsqueeze(0) < T_i.unsqueeze(1)  # steps t -> t+1 inside each instance's own horizon
    final = D.gather(1, T_i.unsqueeze(1)).squeeze(1)
    final_allow = allow.gather(1, T_i.unsqueeze(1)).squeeze(1)
    slope_part, fits = _slope_band(tr, ck, allow, T_i)
    paper_rate = (1 - ew * tr.zeta0.unsqueeze(1) / 2) ** t.unsqueeze(0).to(F64) * D[:, :1]
    upto_T = (t.unsqueeze(0) <= T_i.unsqueeze(1)) & (t.unsqueeze(0) > 0)  # t = 0 is equality
    parts = {
        "(a) Delta(t+1) <= Delta(t)": _worst(D[:, 1:][live], (D[:, :-1] + a_pair)[live]),
        "(b) Delta(t+1) <= (1 - eta_Q gamma^2 zeta_t) Delta(t)": _worst(
            D[:, 1:][live], ((1 - ew * Z[:, :-1]) * D[:, :-1] + a_pair)[live]),
        "(c) geometric decay: fitted slope of log Delta in the band": slope_part,
        "(d) Delta(T)/Delta(0) <= target at T = T(zeta_0)": _worst(final / D[:, 0],
                                                                  cfg["target"] + final_allow / D[:, 0]),
        "(e) eq. 18: Delta(t) <= (1 - eta_Q sigma)^t Delta(0), sigma = gamma^2 zeta_0 / 2": _worst(
            D[upto_T], (paper_rate + allow)[upto_T]),
    }
    b0 = 0
    Tb = int(T_i[b0]) + 1
    stride = max(1, Tb // 400)
    ts = t[:Tb:stride]
    per_step = D[b0, 0] * torch.cat([torch.ones(1, dtype=F64, device=D.device),
                                     torch.cumprod(1 - tr.eta_w[b0] * Z[b0, : Tb - 1], 0)])
    floor = float(D[b0, 0]) * 1e-25  # plotted down to the float64 round-off region only
    curves = {"convergence": curve("t", "Delta(t) = L(theta_t) - L*", {
        "measured Delta(t)": (ts, D[b0, :Tb:stride].clamp(min=floor)),
        "per-step bound Delta(0) prod_s (1 - eta_w zeta_s)": (ts, per_step[::stride].clamp(min=floor)),
        "Theorem 1 (1 - eta_Q sigma)^t Delta(0), sigma = gamma^2 zeta_0/2": (ts, paper_rate[b0, :Tb:stride]
                                                                              .clamp(min=floor)),
    }, logy=True)}
    return Outcome.all_of(parts, instances=D.shape[0], curves=curves, details={
        "T": [int(x) for x in T_i], "zeta_0": [float(x) for x in tr.zeta0], "kappa_0": [float(x) for x in tr.kappa0],
        "instances_drawn": tr.drawn, **fits,
        "min_t zeta_t / zeta_0": [float(x) for x in (Z.amin(1) / tr.zeta0)],
        "Q_drift ||Q(T)-Q(0)||/||Q(0)||": [float(x) for x in (ck.Q - tr.Q0).flatten(1).norm(dim=1)
                                           / tr.Q0.flatten(1).norm(dim=1)],
        "Delta(T)/Delta(0)": [float(x) for x in final / D[:, 0]]})


register(Claim(
    id="Y-T1", paper=PAPER, reference="Theorem 1 (eq. 18)",
    title="GD converges linearly: per-step contraction Delta(t+1) <= (1 - eta_Q gamma^2 zeta_t) Delta(t) "
          "(reconstructed rate)",
    statement=r"\Delta(t) \le (1 - \eta_Q\sigma)^t \Delta(0);\ \text{checked per step: } \Delta(t+1) \le "
              r"(1 - \eta_Q\gamma^2\zeta_t)\Delta(t),\ \zeta_t = \min_k \lambda_{\min}(B_k^{(t)}B_k^{(t)\top}),\ "
              r"\eta_w = \gamma^2\eta_Q = \frac{c}{\|G\|_2 H},\ w^{(0)} = 0",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.RATE, check=check_t1,
    params=TRAIN_PARAMS + (Param("target", float, gt=0, max=0.5, doc="T is chosen so (1 - eta_w zeta_0)^T = target"),),
    defaults=TRAIN_DEFAULTS | dict(target=T1_TARGET), assumptions=(H_GE_N, STEP_RULE), cost=Cost.MEDIUM,
    tolerance="each Delta carries the float64 allowance of delta_roundoff (sqrt(2||G||Delta) sqrt(NK) e + "
              "1/2 ||G|| N K e^2 + 8 eps N^2 K Delta, e = 8 eps (H+N) max_k sum_h |w_hk|); (c) slope band "
              "[sum_t c_t 2 log(1 - eta_w L_w(t)), sum_t c_t log(1 - eta_w zeta_t)] per step, c_t the "
              "least-squares weights (upper edge: implied by (b); lower edge: the fastest mode of the frozen-Q "
              "quadratic), window = second half of the run before round-off reaches 1e-3 Delta",
    notes="Linear convergence is STATED; sigma, gamma and L_smooth are NOT FOUND. The per-step contraction follows "
          "from the reconstructed PL inequality (||grad|| ^2 >= 2 gamma^2 zeta_t (l - L*)) and the descent lemma "
          "with eta_w <= 1/L_w; (e) checks eq. 18 with this project's sigma = gamma^2 zeta_0/2. T is chosen from "
          "zeta_0; instances are filtered to kappa_0 <= kappa_max (calibration: without it run time is unbounded). "
          "Spec C12 as written (min_t zeta_t >= zeta_0/2) fails on ~10% of instances and is not asserted; "
          "min_t zeta_t/zeta_0 and the drift of Q are recorded in details.",
    figure="convergence",
))


# ================================================================ Theorem 2: the trained model is a ridge predictor
T2_FALSE_FAIL = 1e-3


def laurent_massart(N: int, delta: float) -> float:
    """chi^2_N <= N + 2 sqrt(N ln(1/delta)) + 2 ln(1/delta) with probability >= 1 - delta (Laurent & Massart 2000)."""
    x = math.log(1.0 / delta)
    return N + 2 * math.sqrt(N * x) + 2 * x


def make_check_t2(ridge_penalty: Callable[[m.Instance], float] = lambda inst: inst.m * inst.tau,
                  chi2_bound: Callable[[int, float], float] = laurent_massart, untrained: bool = False):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        from theorems.yang2024_symbolic import s3_push_through, s7_ridge

        probe, _ = trained(cfg, ctx.device, 0, record_zeta=False)
        # T(eps, delta) of the reconstruction (spec §2.2) for eps = eps_rel Delta(0) Y_delta^2 / (K m tau):
        # (1 - eta_Q sigma)^T <= eps_rel with sigma = gamma^2 zeta_0 / 2
        T_i = probe.horizon(cfg["eps_rel"], rate_factor=0.5)
        tr, ck = trained(cfg, ctx.device, int(T_i.max()), record_zeta=False)
        inst, N, K, Bn, dlt = tr.inst, tr.inst.N, tr.inst.K, cfg["B"], cfg["delta"]
        # the theorem holds for every T >= T(eps, delta): all instances are evaluated after max_i T_i steps
        Q, w = (tr.Q0, tr.w0) if untrained else (ck.Q, ck.w)
        Ah = m.ahat(w, m.softmax_maps(Q, inst))
        delta_T = m.gap_of_ahat(Ah, inst)
        delta_T = delta_T + delta_roundoff(tr, w, delta_T.unsqueeze(1)).squeeze(1)
        g = ctx.generator()
        n = cfg["n_prompts"]
        Y_delta = Bn * torch.linalg.matrix_norm(inst.Z, ord=2) + Bn * math.sqrt(inst.tau * chi2_bound(N, dlt))
        eps_T = cfg["eps_rel"] * ck.delta[:, 0] * Y_delta**2 / (K * inst.m * inst.tau)
        M = (Ah - inst.A).transpose(1, 2) @ inst.Z.transpose(1, 2)  # (B, K, m): the noise-free error map
        adv_dir = torch.linalg.svd(M).Vh[:, 0, :]  # the worst task direction for this trained model
        sign = torch.randint(0, 2, (inst.batch, n, 1), generator=g, device=g.device).to(F64) * 2 - 1
        laws = {
            "in-domain N(0, I)": m.clip_to_ball(m.sample_tasks("gaussian", inst.batch, n, inst.m, g), Bn),
            "out-of-domain N(1, 4I)": m.clip_to_ball(m.sample_tasks("ood", inst.batch, n, inst.m, g), Bn),
            "adversarial ||lambda|| = B": Bn * sign * adv_dir.unsqueeze(1),
        }
        n_tests = len(laws) * inst.batch * 2
        _, hi = binomial_acceptance(n, dlt, T2_FALSE_FAIL / n_tests)
        parts, tight = {}, {}

        def c15(Ah_x: Tensor, y: Tensor, delta_x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
            """err = (1/2K)||y^ - y*||^2, the C15 bound Delta ||y||^2/(K lambda_min G), the round-off of err, y^ and
            the per-entry round-off of y^ - y*."""
            yhat = y @ Ah_x
            err = ((yhat - m.ridge_prediction(inst, y, ridge_penalty(inst))) ** 2).sum(-1) / (2 * K)
            e_abs = 8 * EPS * (N + cfg["H"]) * y.abs().sum(-1) * (
                Ah_x.abs().amax((1, 2)) + inst.A.abs().amax((1, 2))).unsqueeze(1)
            tol = (2 * err * K).sqrt() * e_abs / K + e_abs**2 / 2
            return err, (delta_x / (K * inst.G_min)).unsqueeze(1) * (y**2).sum(-1), tol, yhat, e_abs

        for name, lam in laws.items():
            y = m.labels(inst, lam, g)[..., :N]
            ynorm2 = (y**2).sum(-1)
            err, core, core_tol, yhat, e_abs = c15(Ah, y, delta_T)
            parts[f"C15 (tight): err <= Delta(T) ||y||^2/(K lambda_min G), {name}"] = _worst(err, core + core_tol)
            tight[name] = float((err / core).max())
            if name.startswith("in-domain"):  # C15 holds for every theta: also away from round-off
                Q_r, w_r = _random_theta(inst, cfg | {"w_scale": 0.3}, ctx.generator(1))
                for label, Ah_x in (("theta^(0)", torch.zeros_like(Ah)), ("a random theta",
                                                                        m.ahat(w_r, m.softmax_maps(Q_r, inst)))):
                    dx = m.gap_of_ahat(Ah_x, inst)
                    e2, c2, t2, _, _ = c15(Ah_x, y, dx * (1 + _tol(N * K, 1.0)))
                    parts[f"C15 (tight) at {label}, {name}"] = _worst(e2, c2 + t2)
                    tight[f"{name} at {label}"] = float((e2 / c2).max())
            copy_err = (yhat[..., :N] - y).abs().amax(-1)
            parts[f"copies the N labels: |y^_i - y_i| <= sqrt(2 Delta(T)/lambda_min G) ||y||, {name}"] = _worst(
                copy_err, (2 * delta_T / inst.G_min).sqrt().unsqueeze(1) * ynorm2.sqrt() + e_abs)
            fails = (err > eps_T.unsqueeze(1) + core_tol).sum(1)
            parts[f"Theorem 2: #(err > eps) <= binomial({n}, delta) acceptance, {name}"] = _worst(
                fails.to(F64), torch.full_like(fails, hi, dtype=F64))
            noise = y - lam @ inst.Z  # lambda^T eps_i, i <= N
            chi2 = (noise**2).sum(-1) / (inst.tau * (lam**2).sum(-1))
            parts[f"Laurent-Massart: #(chi2_N > bound) <= acceptance, {name}"] = _worst(
                (chi2 > chi2_bound(N, dlt)).sum(1).to(F64), torch.full((inst.batch,), hi, dtype=F64))
        # deterministic core of the ridge identity (C5, C6) and its symbolic derivations (S3, S7)
        mt = inst.m * inst.tau
        y1 = m.labels(inst, m.sample_tasks("gaussian", inst.batch, 1, inst.m, g), g)[..., :N]
        aug = torch.cat([inst.Z.transpose(1, 2), math.sqrt(mt) * torch.eye(inst.m, dtype=F64, device=g.device)
                         .expand(inst.batch, -1, -1)], 1)
        lam_ls = torch.linalg.lstsq(aug, torch.cat([y1.transpose(1, 2), torch.zeros(
            inst.batch, inst.m, 1, dtype=F64, device=g.device)], 1)).solution
        ridge_ls = torch.cat([y1, (lam_ls.transpose(1, 2) @ inst.ZQ)], -1)
        cond = float(torch.linalg.cond(aug).max()) * float(y1.abs().max() + 1)
        ZZ = inst.Z @ inst.Z.transpose(1, 2)
        push_l = torch.linalg.solve(inst.G, inst.Z.transpose(1, 2))
        push_r = inst.Z.transpose(1, 2) @ torch.linalg.inv(ZZ + mt * torch.eye(inst.m, dtype=F64, device=g.device))
        s3, s7 = s3_push_through(), s7_ridge()
        n_ops = N + inst.m
        parts |= {
            "C5: A[:, :N] = I_N": Outcome.at_most(float((inst.A[..., :N] - torch.eye(N, dtype=F64, device=g.device))
                                                        .abs().max()), _tol(n_ops, float(inst.G_norm.max() /
                                                                                         inst.G_min.min()))),
            "C6: A^T y = ridge predictor with penalty m tau/(2N)": Outcome.at_most(
                float(((y1 @ inst.A) - m.ridge_prediction(inst, y1, ridge_penalty(inst))).abs().max()),
                _tol(n_ops, cond)),
            "C6: ridge predictor = lstsq of [Z^T; sqrt(m tau) I]": Outcome.at_most(
                float((ridge_ls - m.ridge_prediction(inst, y1, ridge_penalty(inst))).abs().max()), _tol(n_ops, cond)),
            "C6: push-through (Z^T Z + cI)^-1 Z^T = Z^T (Z Z^T + cI)^-1": Outcome.at_most(
                float((push_l - push_r).abs().max()), _tol(n_ops, float(inst.G_norm.max() / inst.G_min.min()))),
            "S7: sympy stationary point of eq. 20 = torch ridge (m=2, N=3)": _sympy_ridge_vs_torch(
                s7[0], ridge_penalty, g),
            "S3 and S7: sympy derivations close": _symbolic(s3, s7[0]),
        }
        return Outcome.all_of(parts, instances=inst.batch, details={
            "T": [int(x) for x in T_i], "eps": [float(x) for x in eps_T], "Delta(T)": [float(x) for x in delta_T],
            "Y_delta": [float(x) for x in Y_delta], "tightness max err/C15": tight, "acceptance_hi": hi})

    return check


check_t2 = make_check_t2()

register(Claim(
    id="Y-T2", paper=PAPER, reference="Theorem 2 (eqs. 20-22)",
    title="After T >= T(eps, delta) GD steps the model copies the N labels and predicts the rest by ridge regression "
          "with penalty m tau/(2N), for any bounded task (reconstructed formulas)",
    statement=r"\hat\lambda = rg\min_\lambda 	frac{1}{2N}\sum_{i=1}^N (y_i - \lambda^	op f(v_i))^2 + "
              r"	frac{m	au}{2N}\|\lambda\|^2,\ \hat y^\star = (y_{1:N};\, Z_Q^	op\hat\lambda),\ "
              r"\|\lambda\| \le B,\ T \ge T(arepsilon,\delta) \Rightarrow \Pr\Big[	frac{1}{2K}\|\hat y^{(T)} - "
              r"\hat y^\star\|_2^2 \le arepsilon\Big] \ge 1 - \delta",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.STATISTICAL, check=check_t2,
    params=TRAIN_PARAMS + (
        Param("eps_rel", float, gt=0, max=0.5, doc="eps = eps_rel Delta(0) Y_delta^2/(K m tau), i.e. "
                                                   "(1 - eta_Q sigma)^T(eps) = eps_rel"),
        Param("delta", float, gt=0, max=0.5, doc="failure probability over the prompt noise"),
        Param("B", float, gt=0, max=1e6, doc="task-norm bound (Assumption 4)"),
        Param("n_prompts", int, min=10, max=1 << 20, doc="inference prompts per law and instance")),
    defaults=TRAIN_DEFAULTS | dict(eps_rel=1e-3, delta=0.05, B=3.0, n_prompts=1000),
    assumptions=(H_GE_N, STEP_RULE), cost=Cost.MEDIUM, false_fail_rate=T2_FALSE_FAIL,
    tolerance="C15 and the copy bound: Delta(T) with its delta_roundoff allowance, plus the rounding of "
              "y^ - y* (8 eps (N+H) ||y||_1 (max|Ahat| + max|A|)); counts of eps-violations and of Laurent-Massart "
              "exceedances: the upper end of the Binomial(n, delta) acceptance region at 1e-3 / (3 laws x 2 x B) "
              "(valid since the true probabilities are <= delta); identities: 8 eps x (N + m) x condition numbers",
    notes="Structure STATED; the ridge formula, A, the bound (1/2K)||y^ - y*||^2 <= Delta ||y||^2/(K lambda_min G) "
          "(C15) and T(eps, delta) = ln(Delta(0) Y_delta^2/(K m tau eps))/(-ln(1 - eta_Q sigma)) with "
          "sigma = gamma^2 zeta_0/2 are reconstructed (the paper's T(eps, delta) is NOT FOUND). The C15 bound is "
          "tight (calibration: max ratio 0.994; tightness per law in details), so it is asserted with round-off "
          "allowances only. Out-of-domain tasks are N(1, 4I) projected onto ||lambda|| <= B; adversarial tasks lie "
          "on the sphere along the top right-singular vector of (Ahat - A)^T Z^T.",
))


# ================================================================ Figure 3: ridge gap around N = m
SIZES = ("reduced", "paper")


def make_check_f3(transformer_penalty: Callable[[int, int, float], float] = lambda m_, N, tau: m_ * tau):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        dm, tau, reps = cfg["m"], cfg["tau"], cfg["batch"]
        K = cfg["K"] if cfg["size"] == "reduced" else 200
        dm = dm if cfg["size"] == "reduced" else 100
        g = ctx.generator()
        Zt = torch.randn(reps, dm, K, generator=g, dtype=F64, device=g.device)
        lam = torch.randn(reps, 1, dm, generator=g, dtype=F64, device=g.device)
        y_all = (lam @ Zt + math.sqrt(tau) * (lam.unsqueeze(-1) * torch.randn(reps, 1, dm, K, generator=g, dtype=F64,
                                                                              device=g.device)).sum(2)).squeeze(1)
        Ns = sorted(set(range(max(1, dm // 2), min(K - 1, 3 * dm // 2) + 1, max(1, dm // 10)))
                    | set(range(max(1, dm - 3), min(K - 1, dm + 3) + 1)))
        gaps, order_viol, mono_viol = {}, [], []
        cs = torch.logspace(-3, 2, 12, dtype=F64, device=g.device)
        for N in Ns:  # a sweep over prompt lengths (each N a different problem size)
            inst = m.Instance(torch.zeros(reps, 1, K, dtype=F64, device=g.device), Zt, N, tau)
            y = y_all[:, :N].unsqueeze(1)
            lam_t = m.ridge_coefficients(inst, y, transformer_penalty(dm, N, tau)).squeeze(1)  # eq. 20
            lam_o = m.ridge_coefficients(inst, y, N * tau).squeeze(1)  # eq. 25 (Lemma 4)
            gaps[N] = ((lam_t - lam_o).unsqueeze(1) @ inst.ZQ).squeeze(1).pow(2).sum(-1) / K  # (reps,)
            nt, no = lam_t.norm(dim=-1), lam_o.norm(dim=-1)
            tol = _tol(N + dm, no + nt)
            if N < dm:  # over-regularised: smaller norm (under-fit)
                order_viol.append((nt - no - tol).max())
            elif N > dm:  # under-regularised: larger norm (over-fit)
                order_viol.append((no - nt - tol).max())
            norms = torch.stack([m.ridge_coefficients(inst, y, float(c)).squeeze(1).norm(dim=-1) for c in cs], 1)
            mono_viol.append((norms[:, 1:] - norms[:, :-1] - _tol(N + dm, norms[:, :-1])).max())
        mean = {N: float(v.mean()) for N, v in gaps.items()}
        at_m = gaps[dm]
        scale = float(y_all.abs().max()) ** 2 * float(Zt.abs().max()) ** 2
        gap_tol = _tol(dm * K, scale)
        local = {}
        for side, word in ((-1, "left"), (1, "right")):
            g1, g2 = mean.get(dm + side), mean.get(dm + 2 * side)
            if g1 is not None and g2 is not None:
                local[f"{word}: mean gap(m {'-+'[side > 0]} 1) > 0"] = Outcome.at_least(g1, gap_tol)
                local[f"{word}: mean gap(m {'-+'[side > 0]} 1) <= mean gap(m {'-+'[side > 0]} 2)"] = Outcome.at_most(
                    g1, g2)
        parts = {
            "gap(N = m) = 0": Outcome.at_most(float(at_m.max()), gap_tol),
            "N < m: ||lambda_hat|| <= ||lambda_tau||, N > m: >= (all N, all repetitions)": Outcome.at_most(
                float(torch.stack(order_viol).max()), 0.0),
            "||lambda(c)|| is non-increasing in c": Outcome.at_most(float(torch.stack(mono_viol).max()), 0.0),
        }
        parts |= local
        xs = list(mean)
        return Outcome.all_of(parts, instances=reps, curves={"ridge_gap": curve(
            "N (prompt length)", "mean gap (1/K)||Z_Q^T (lambda_hat - lambda_tau)||^2",
            {f"m = {dm}, tau = {tau:g}, K = {K}": (xs, [mean[x] for x in xs])})},
            details={"mean_gap": {str(k): v for k, v in mean.items()}})

    return check


register(Claim(
    id="Y-F3", paper=PAPER, reference="Figure 3 and Section 3.2",
    title="The ridge gap to the oracle vanishes at N = m and grows on either side (local behaviour only; "
          "reconstructed quantity)",
    statement=r"\mathrm{gap}(N) = \tfrac1K\|Z_Q^\top(\hat\lambda - \hat\lambda_\tau)\|^2 = 0 \text{ at } N = m;\ "
              r"N < m: \|\hat\lambda\| \le \|\hat\lambda_\tau\| \text{ (under-fit)},\ N > m: \|\hat\lambda\| \ge "
              r"\|\hat\lambda_\tau\| \text{ (over-fit)}",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.MECHANISM, check=make_check_f3(),
    params=(Param("m", int, min=2, max=1024), Param("K", int, min=4, max=8192), Param("tau", float, gt=0, max=100),
            Param("batch", int, min=1, max=4096, doc="repetitions (independent Z, lambda, noise)"),
            Param("size", str, choices=SIZES, doc="reduced: the given m, K; paper: m = 100, K = 200")),
    defaults=dict(m=20, K=60, tau=0.01, batch=64, size="reduced"),
    assumptions=(Assumption("K > 3m/2", lambda c: c["size"] == "paper" or c["K"] > 3 * c["m"] // 2 + 1,
                            "the sweep N in [m/2, 3m/2] needs unseen tokens"),), cost=Cost.SLOW,
    tolerance="gap(m): 8 eps x m K x max|y|^2 max|z|^2; norm ordering and monotonicity: 8 eps x (N + m) x norms; "
              "local growth compares means over the repetitions",
    notes="The paper shows the gap is smallest near N = m; the spec's closed-form replication shows it is not "
          "monotone in |N - m| far away (peaks near N = 0.7m and 1.3m), so only the local behaviour is asserted. "
          "S7 (Y-L4, Y-T2) derives gap(N = m) = 0 symbolically. Paper size: m = 100, tau = 0.01, K = 200.",
    figure="ridge_gap",
))


# ================================================================ Figure 4: the number of heads
def _heads(text: str) -> list[int]:
    try:
        hs = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise ConfigError("heads", f"must be a comma-separated list of positive integers, got {text!r}") from None
    if not hs or hs[0] < 1:
        raise ConfigError("heads", f"must be a comma-separated list of positive integers, got {text!r}")
    return hs


F4_SIZES = {"reduced": dict(d=8, N=6, K=20, m=4), "paper": dict(d=100, N=30, K=200, m=20)}


def check_f4(cfg: dict, ctx: CheckContext) -> Outcome:
    hs = _heads(cfg["heads"])
    dims = F4_SIZES[cfg["size"]] | ({"N": cfg["N"]} if cfg["size"] == "reduced" else {})
    N, Hmax, n_inst, T, gamma = dims["N"], max(hs), cfg["batch"], cfg["steps"], cfg["gamma"]
    if cfg["H_ref"] not in hs:
        raise ConfigError("H_ref", f"must be one of heads = {hs}")
    base = m.make_instance(n_inst, dims["d"], dims["K"], N, dims["m"], cfg["tau"], ctx.generator())
    Qbase, _ = m.init_params(base, Hmax, 1.0, ctx.generator(1))  # H heads = the first H of these (nested)
    rows = [(i, H) for H in hs for i in range(n_inst)]  # one vectorised run: every (instance, H), both step rules
    idx = torch.tensor([i for i, _ in rows], device=base.V.device)
    inst = m.Instance(base.V[idx].repeat(2, 1, 1), base.Zt[idx].repeat(2, 1, 1), N, cfg["tau"])
    mask = torch.stack([(torch.arange(Hmax, device=base.V.device) < H) for _, H in rows]).repeat(2, 1)
    Q0 = Qbase[idx].repeat(2, 1, 1, 1) * mask.view(-1, Hmax, 1, 1)
    w0 = torch.zeros(len(rows) * 2, Hmax, dims["K"], dtype=F64, device=base.V.device)
    # L_w0(H): smoothness in w at initialisation for each H (masked heads have s = 0 in C_k)
    S0 = m.softmax_maps(Q0, inst) * mask.view(-1, 1, Hmax, 1)
    Lw0 = m.L_w(S0, inst)
    ref = torch.tensor([hs.index(cfg["H_ref"]) * n_inst + i for i, _ in rows], device=Lw0.device)
    eta_shared = 1.0 / Lw0[ref]  # one step for all H: 1/L_w0(H_ref) of the same instance
    eta_per_H = 1.0 / Lw0[len(rows):]
    eta_w = torch.cat([eta_shared, eta_per_H])
    traj = m.gd(inst, Q0, w0, eta_w / gamma**2, eta_w, T, head_mask=mask)
    with torch.no_grad():
        rel = traj.delta / traj.delta[:, :1]
    rel = torch.nan_to_num(rel, nan=math.inf)
    shared, per_H = rel[: len(rows)], rel[len(rows):]
    etaL = (eta_shared * Lw0[: len(rows)])
    H_of = torch.tensor([H for _, H in rows], device=rel.device)
    bound1 = m.one_head_lower_bound(base) / m.gap_of_ahat(torch.zeros_like(base.A), base)  # NNLS / Delta0, H = 1
    parts = {}
    small = H_of <= 2
    conv = H_of >= N
    stable_conv = conv & (etaL <= 1)
    # per instance, as the figure shows one: its H <= 2 runs against its own slowest stable H >= N run (across
    # instances a fast H = 2 of one and a slow H = 6 of another are not what the figure compares)
    inst_of = torch.tensor([i for i, _ in rows], device=rel.device)
    final = shared[:, -1]
    slowest = torch.full((n_inst,), -math.inf, dtype=final.dtype, device=final.device).scatter_reduce(
        0, inst_of[stable_conv], final[stable_conv], reduce="amax")
    pair = small & torch.isfinite(slowest)[inst_of]
    if bool(pair.any()):
        parts["H <= 2 plateaus: Delta(T)/Delta(0) >= 10 x the same instance's slowest stable H >= N run"] = _worst(
            final[pair], 10 * slowest[inst_of[pair]], le=False)
    if 1 in hs:
        parts["H = 1: Delta(T)/Delta(0) >= NNLS bound (Y-MH) > 0"] = _worst(
            shared[H_of == 1, -1], bound1 * (1 - _tol(N * dims["K"], 1.0)), le=False)
    parts["H >= N converges (shared step, eta L_w0 <= 1): Delta(T)/Delta(0) <= conv_level"] = _worst(
        shared[stable_conv, -1], torch.full_like(shared[stable_conv, -1], cfg["conv_level"])) if bool(
        stable_conv.any()) else _holds(False, "no H >= N with eta L_w0 <= 1 in the list")
    # The paper: a very large H is unstable. Asserted for the largest H, where eta L_w0 > 2. Not for every H with
    # eta L_w0 > 2: L_w moves as Q trains, and a thorough run found eta L_w0 = 2.013 (H = 16) ending below Delta(0).
    peaks = torch.nan_to_num(shared, nan=math.inf).amax(-1).clamp(max=1e300)  # overflow = diverged
    unstable = (H_of == Hmax) & (etaL > 2)
    parts["shared step, the largest H (eta L_w0 > 2): Delta rises above Delta(0) (diverges)"] = _worst(
        peaks[unstable], torch.full_like(peaks[unstable], 1 + _tol(1, 1.0)), le=False) if bool(unstable.any()) \
        else _holds(False, "the largest H has eta L_w0 <= 2 under the shared step: the instability case was not "
                           "exercised")
    big = H_of == Hmax
    parts["step 1/L_w0(H) per H: the largest H converges to <= conv_level"] = _worst(
        per_H[big, -1], torch.full_like(per_H[big, -1], cfg["conv_level"]))
    stride = max(1, T // 300)
    ts = list(range(0, T + 1, stride))

    def series(r: Tensor) -> dict:
        # diverged runs (inf) are drawn at the top of the plotted range, 1e6 x Delta(0)
        return {f"H = {H}": (ts, torch.nan_to_num(r[[j for j, (i, h) in enumerate(rows) if h == H and i == 0]][
            0, ::stride], nan=1e6, posinf=1e6).clamp(min=1e-20, max=1e6)) for H in hs}

    curves = {"heads_shared_step": curve("t", "Delta(t)/Delta(0)", series(shared), logy=True),
              "heads_per_H_step": curve("t", "Delta(t)/Delta(0), step 1/L_w0(H)", series(per_H), logy=True)}
    return Outcome.all_of(parts, instances=n_inst, curves=curves, details={
        "final_shared": {str(H): [float(x) for x in shared[H_of == H, -1]] for H in hs},
        "final_per_H": {str(H): [float(x) for x in per_H[H_of == H, -1]] for H in hs},
        "eta_shared L_w0(H)": {str(H): [float(x) for x in etaL[H_of == H]] for H in hs},
        "peak Delta(t)/Delta(0), shared step (reported)": {str(H): [float(x) for x in peaks[H_of == H]] for H in hs}})


register(Claim(
    id="Y-F4", paper=PAPER, reference="Figure 4",
    title="Heads: H <= 2 plateaus, H >= N converges; a very large H diverges only at a fixed step size with "
          "eta L_w0(H) > 2 (reconstructed)",
    statement=r"H \le 2 < N:\ \Delta(T) \gg 0;\ H \ge N:\ \Delta(T) \to 0;\ \eta_w \text{ fixed, } "
              r"\eta_w L_{w}^{(0)}(H_{\max}) > 2 \Rightarrow \text{divergence};\ \eta_w = 1/L_w^{(0)}(H) "
              r"\Rightarrow \text{convergence for every } H \ge N",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.MECHANISM, check=check_f4,
    params=(Param("size", str, choices=SIZES, doc="reduced: d=8, K=20, m=4, given N; paper: N=30, K=200, d=100, "
                                                   "m=20"),
            Param("N", int, min=1, max=1024, doc="prompt length at reduced size"),
            Param("tau", float, gt=0, max=100), Param("gamma", float, gt=0, max=1e3),
            Param("heads", str, doc="comma-separated H values"), Param("H_ref", int, min=1,
                                                                      doc="the shared step is 1/L_w0(H_ref)"),
            Param("steps", int, min=1, max=10**6), Param("conv_level", float, gt=0, max=1),
            Param("batch", int, min=1, max=256, doc="independent instances")),
    defaults=dict(size="reduced", N=6, tau=0.1, gamma=3.0, heads="1,2,6,8,16,64", H_ref=8, steps=2000,
                  conv_level=1e-2, batch=3),
    # N = 30 at paper size: heads must straddle it; H = 400 is the paper's unstable head count. Calibrated on an H100
    # (2026-11-22): eta L_w0 is 0.95 (H = 30), 1.0 (32), 1.8 (64), 10.2 (400, diverges); margin +0.81. One instance:
    # the batch of three (the reduced default) has not been run at paper size on a GPU yet.
    presets={"paper": dict(size="paper", heads="1,2,30,32,64,400", H_ref=32, batch=1)},
    assumptions=(Assumption("N >= 3", lambda c: c["size"] == "paper" or c["N"] >= 3,
                            "H <= 2 must be fewer heads than prompt tokens"),), cost=Cost.SLOW,
    tolerance="thresholds are project choices: plateau = at least 10x above the slowest H >= N run; convergence = "
              "Delta(T)/Delta(0) <= conv_level (1e-2); divergence = Delta exceeds Delta(0) (strictly, by 8 eps), "
              "asserted for the largest H; H = 1 against the NNLS bound with relative 8 eps N K",
    notes="The paper reports that H < N plateaus, H >= N converges and H = 400 is unstable (Adam, paper size). "
          "Under plain GD the instability reproduces only at one shared step size: L_w grows with H and GD "
          "diverges at a large H with eta L_w0(H) > 2; with the step scaled per H (1/L_w0(H)) the largest H converges "
          "fastest (both are reported). eta L_w0 > 2 alone does not make GD diverge: L_w moves as Q trains, and a "
          "thorough run found H = 16 at eta L_w0 = 2.013 ending below Delta(0), so divergence is asserted for the "
          "largest H (the paper's very large H) and the peaks of the others are reported. The 10x plateau factor is a "
          "project choice with a small chance of failing: H = N can converge slowly (a thorough run: 8.6x in one "
          "instance; 17x to 15000x in 36 others). 2 < H < N is not asserted "
          "(not separable from H = N within the step budget, spec calibration). Reduced default: N = 6, K = 20, "
          "d = 8, m = 4, tau = 0.1, H in {1, 2, 6, 8, 16, 64}, three independent instances in one vectorised run, "
          "every part over all of them.",
    figure="heads_shared_step",
))


# ================================================================ Figures 2 and 5: Adam-trained one-layer and 4-layer
EXP_SIZES = {  # reduced: CPU minutes; paper: N=30, K=200, d=100, m=20 (Fig. 2), 4-layer d_model 256, d_ff 512
    "reduced": dict(d=8, N=6, K=16, m=4, H1=8, H4=4, d_model=32, d_ff=64, n_train=2000, n_test=200, batch=64),
    "paper": dict(d=100, N=30, K=200, m=20, H1=64, H4=8, d_model=256, d_ff=512, n_train=10000, n_test=200,
                  batch=256),
}
EXP_PARAMS = (
    Param("size", str, choices=SIZES), Param("tau", float, gt=0, max=100, doc="NOT FOUND in the paper; 0.1"),
    Param("steps", int, min=0, max=10**7, doc="Adam steps"),
    Param("lr_1layer", float, gt=0, max=1, doc="paper: 1e-4 (at its step count, NOT FOUND)"),
    Param("lr_4layer", float, gt=0, max=1, doc="paper: 1e-4"),
    Param("instances", int, min=1, max=64, doc="independent instances (basis, training tasks, models), trained in one "
                                               "vectorised pass; the parts hold for their mean (the plotted curves)"),
)


def _experiment(cfg: dict, ctx: CheckContext):
    dims = EXP_SIZES[cfg["size"]]
    g, B = ctx.generator(), cfg["instances"]
    inst = m.make_instance(B, dims["d"], dims["K"], dims["N"], dims["m"], cfg["tau"], g)
    lam_train = m.sample_tasks("gaussian", B, dims["n_train"], dims["m"], g)  # (B, n_train, m)
    tests = {law: m.labels(inst, m.sample_tasks(law, B, dims["n_test"], dims["m"], g), g)[..., : dims["N"]]
             for law in ("gaussian", "ood")}
    return dims, g, inst, lam_train, tests


def _train_tracked(model, inst, lam_train, steps, lr, batch, g, tests, eval_every):
    """Adam training of every instance at once; the inference losses (B,) are recorded every ``eval_every`` steps."""
    hist = {"step": [], "in-domain": [], "out-of-domain": []}

    def evaluate(step: int) -> None:
        hist["step"].append(step)
        hist["in-domain"].append(m.inference_loss(model, inst, tests["gaussian"]))
        hist["out-of-domain"].append(m.inference_loss(model, inst, tests["ood"]))

    losses = m.train_adam(model, inst, lam_train, steps, lr, batch, g, evaluate, eval_every)
    return losses, {k: v if k == "step" else torch.stack(v, 1) for k, v in hist.items()}  # (B, evaluations)


def _mean_curve(t: Tensor) -> list[float]:
    """The mean over instances (B, points) of a curve, for plotting."""
    return [float(x) for x in t.mean(0)]


def make_check_f2(steps_override: int | None = None):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        dims, g, inst, lam_train, tests = _experiment(cfg, ctx)
        steps = cfg["steps"] if steps_override is None else steps_override
        every = max(1, steps // 20)
        models = {
            "1-layer": (m.OneLayerAttention(inst, dims["H1"], 1.0, ctx.generator(1)), cfg["lr_1layer"]),
            "4-layer": (m.FourLayerTransformer(inst, dims["d_model"], dims["H4"], dims["d_ff"], 4, ctx.generator(2)),
                        cfg["lr_4layer"]),
        }
        parts, curves, details = {}, {}, {}
        for name, (model, lr) in models.items():
            losses, hist = _train_tracked(model, inst, lam_train, steps, lr, dims["batch"], g, tests, every)
            n10 = max(1, steps // 10)
            untrained = torch.full(losses.shape[:1], math.nan, dtype=F64)  # steps = 0: nothing fell, a violation
            first = losses[:, :n10].mean(1) if steps else untrained
            last = losses[:, -n10:].mean(1) if steps else untrained
            idd, ood = hist["in-domain"], hist["out-of-domain"]  # (B, evaluations)
            # on the mean over instances, the curves the figure plots (single instances vary: at the reduced size
            # one 4-layer instance in a thorough run fell 4.4x, not 5x, while the mean fell 9x)
            idd_m, ood_m = idd.mean(0), ood.mean(0)
            parts[f"{name}: training loss falls (last/first 10% <= 1/2)"] = Outcome.at_most(
                float(last.mean() / first.mean()), 0.5)
            fall = 0.1 if name == "1-layer" else 0.2
            parts[f"{name}: in-domain inference loss falls >= {1 / fall:.0f}x"] = Outcome.at_most(
                float(idd_m[-1] / idd_m[0]), fall)
            parts[f"{name}: out-of-domain inference loss falls >= 2x"] = Outcome.at_most(float(ood_m[-1] / ood_m[0]),
                                                                                         0.5)
            parts[f"{name}: out-of-domain >= in-domain at the end"] = Outcome.at_least(float(ood_m[-1]),
                                                                                       float(idd_m[-1]))
            curves[f"inference_{name}"] = curve("Adam step", "inference loss (1/K)||y^ - y*||^2, mean over instances", {
                "in-domain": (hist["step"], _mean_curve(idd)),
                "out-of-domain N(1, 4I)": (hist["step"], _mean_curve(ood))}, logy=True)
            stride = max(1, steps // 200)
            curves[f"training_{name}"] = curve("Adam step", "training loss, mean over instances", {
                name: (list(range(0, steps, stride)), _mean_curve(losses[:, ::stride]))}, logy=True)
            ends = lambda t: torch.stack([t[:, 0], t[:, -1]], 1).tolist()  # noqa: E731
            details[name] = {"train_first": first.tolist(), "train_last": last.tolist(),
                             "in_domain (start, end) per instance": ends(idd),
                             "out_of_domain (start, end) per instance": ends(ood)}
        return Outcome.all_of(parts, instances=inst.batch, curves=curves, details=details)

    return check


register(Claim(
    id="Y-F2", paper=PAPER, reference="Figure 2",
    title="Training and inference losses fall for the one-layer and a 4-layer transformer; out-of-domain inference "
          "loss stays above in-domain",
    statement=r"\text{Adam, batch 256, lr } 10^{-4}:\ \text{training loss and } \tfrac1K\|\hat y - \hat y^\star\|^2 "
              r"\text{ (in-domain, OOD } \lambda\sim\mathcal N(1, 4I)) \text{ fall together; OOD} \ge \text{in-domain}",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=make_check_f2(),
    params=EXP_PARAMS, defaults=dict(size="reduced", tau=0.1, steps=200, lr_1layer=1e-2, lr_4layer=3e-3,
                                     instances=3),
    # Calibrated on an H100 (2026-11-22): at d_model = 256 the 4-layer does not train at lr 3e-3 or 1e-3 (the in-
    # domain loss stays at 98-99% of its start after 1000 steps) and does at 3e-4 (falls to 3%); over 1000 steps the
    # one-layer's training loss at lr 1e-2 has mostly fallen within the first 10% (last/first 0.64), hence 1e-3.
    presets={"paper": dict(size="paper", steps=1000, lr_1layer=1e-3, lr_4layer=3e-4)},
    cost=Cost.SLOW,
    tolerance="thresholds are project choices (smoke level, spec C20): training loss halves, in-domain inference "
              "loss falls 10x (one-layer; 5x for the 4-layer at the reduced step budget), out-of-domain 2x, and "
              "ends above in-domain",
    notes="The paper states the qualitative outcome (setup STATED, tau and the step count NOT FOUND). Reduced size "
          "(CPU): N=6, K=16, d=8, m=4, one-layer H=8, 4-layer d_model=32, d_ff=64, 4 heads, batch 64, 200 Adam "
          "steps with larger learning rates (1e-2, 3e-3) than the paper's 1e-4 so the run fits the CI budget; "
          "paper size (GPU): N=30, K=200, d=100, m=20, H=64 and a 4-layer with d_model=256, d_ff=512, 8 heads, "
          "batch 256. The 4-layer's input/read-out format is NOT FOUND (models/yang2024.py documents this "
          "project's choice). The thresholds test the shape of the curves, not their values. Three independent "
          "instances (basis, training tasks, models) train in one vectorised pass; the parts are asserted on their "
          "mean, the plotted curves (per-instance values in the details). Single instances vary at the reduced size: "
          "in a thorough run one 4-layer instance's in-domain loss fell 4.4x, not 5x (the mean 9x).",
    figure="inference_1-layer",
))


def make_check_f5(model_factory: Callable | None = None):
    def check(cfg: dict, ctx: CheckContext) -> Outcome:
        dims, g, inst, lam_train, tests = _experiment(cfg, ctx)
        hs = _heads(cfg["heads"])
        N = dims["N"]
        if not (any(H < N for H in hs) and any(H >= N for H in hs)):
            raise ConfigError("heads", f"must contain values below and at/above N = {N}, got {hs}")
        eval_y = m.labels(inst, m.sample_tasks("gaussian", inst.batch, 512, dims["m"], g), g)  # (B, 512, K)
        final, seconds, curves = {}, {}, {}
        for H in hs:  # one model per H (different architectures), each a batch of independent instances
            gen = ctx.generator(10 + H)
            model = (model_factory(inst, H, gen) if model_factory is not None else
                     m.FourLayerTransformer(inst, cfg["d_model"], H, 2 * cfg["d_model"], 4, gen))
            t0 = time.perf_counter()
            losses = m.train_adam(model, inst, lam_train, cfg["steps"], cfg["lr_4layer"], cfg["batch"], g)
            seconds[H] = (time.perf_counter() - t0) / max(cfg["steps"], 1)
            with torch.no_grad():
                pred = model(eval_y[..., :N]).to(F64)
                final[H] = 0.5 * ((pred - eval_y) ** 2).sum(-1).mean(-1)  # (B,)
            stride = max(1, cfg["steps"] // 200)
            curves[f"H = {H}"] = (list(range(0, cfg["steps"], stride)), _mean_curve(losses[:, ::stride]))
        below = torch.stack([final[H] for H in hs if H < N]).amin(0)
        at_or_above = torch.stack([final[H] for H in hs if H >= N]).amin(0)
        parts = {"some H < N trains at least as well as H >= N (final loss <= 1.25 x best H >= N, means over "
                 "instances)": Outcome.at_most(float(below.mean()), 1.25 * float(at_or_above.mean()))}
        return Outcome.all_of(parts, instances=inst.batch, curves={"heads_4layer": curve(
            "Adam step", "training loss, mean over instances", curves, logy=True)}, details={
            "final_loss per instance": {str(H): v.tolist() for H, v in final.items()},
            "seconds_per_step (machine-dependent, not asserted)": {str(H): v for H, v in seconds.items()}})

    return check


register(Claim(
    id="Y-F5", paper=PAPER, reference="Figure 5",
    title="A 4-layer transformer does not need H >= N heads (fixed step budget; deterministic stand-in for the "
          "paper's fixed wall-clock)",
    statement=r"\text{4-layer, equal optimiser steps: } \min_{H < N} \mathcal L_{\text{train}}(H) \le 1.25 "
              r"\min_{H \ge N} \mathcal L_{\text{train}}(H)",
    provenance=Provenance.DERIVED_LOW, kind=Kind.MECHANISM, check=make_check_f5(),
    params=EXP_PARAMS + (Param("heads", str, doc="comma-separated H values (must divide d_model)"),
                         Param("d_model", int, min=1, max=4096), Param("batch", int, min=1, max=1 << 16)),
    defaults=dict(size="reduced", tau=0.1, steps=150, lr_1layer=1e-2, lr_4layer=3e-3, instances=3, heads="1,2,4,8",
                  d_model=16, batch=32),
    # N = 30 at paper size: heads straddle it and divide d_model. lr 3e-4 as for Y-F2's 4-layer at paper size (at
    # 1e-3 the H >= 4 models did not train on an H100, which would make the comparison empty).
    presets={"paper": dict(size="paper", heads="2,4,8,32", d_model=128, batch=256, steps=400, lr_4layer=3e-4)},
    assumptions=(Assumption("steps >= 1", lambda c: c["steps"] >= 1,
                            "a comparison of trained models needs training"),),
    cost=Cost.SLOW,
    tolerance="project choice: the best H < N within 1.25x of the best H >= N (final training loss on 512 fixed "
              "prompts)",
    notes="The paper fixes wall-clock time (100 s) and finds the final training loss lowest at H = 4, with larger H "
          "completing fewer iterations. Wall-clock budgets are not reproducible bit-for-bit, so this claim fixes the "
          "number of Adam steps instead and asserts only the weaker, deterministic part (deep models do not need "
          "H >= N); the measured seconds per step per H are recorded in details, not asserted. The negative "
          "control runs the one-layer eq. 8 model, which does need H >= N. Three independent instances (basis, "
          "training tasks, models) train in one pass; the comparison is on the mean over them. At paper size on an "
          "H100 it held for each of the three, one narrowly (relative margin 0.018: H = 2 reached 1144 against "
          "1.25 x 932 for H = 32). That the models trained at all is not asserted: at a learning rate too small or "
          "too large for the H >= N models the comparison holds vacuously (seen at lr 1e-3, paper size).",
    figure="heads_4layer",
))

"""Assumptions 1-4 and Proposition 1: the generators' contracts, the rank of C_k^(0) and zeta_0."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from models.yang2024 import LAWS  # a constant (the task laws' names), not model behaviour
from theorems.core import CheckContext, Claim, Control, Cost, Kind, Outcome, Param, Provenance
from theorems.registry import register
from theorems.yang2024.common import (EPS, F64, H_GE_N, INSTANCE_DEFAULTS, INSTANCE_PARAMS, Impl, PAPER, POWER,
                                      THETA_PARAMS, _instance, _tol, _worst, equal_in_mean, maps_part, reference_A,
                                      reference_G, reference_maps)

if TYPE_CHECKING:
    from models.yang2024 import Instance


# ================================================================ generator contracts: Y-A1, Y-A3, Y-A4
A1_FALSE_FAIL = 1e-4  # the claim's false-fail rate, over all its decisions (Bonferroni)
A1_RESOLUTION = 0.15  # held excludes a moment off by 0.15 standard deviations of one sample


def check_a1(cfg: dict, ctx: CheckContext) -> Outcome:
    """Each moment is the mean of n i.i.d. products: E lambda_i = 0 (sd 1 under the claim), E lambda_i lambda_j =
    delta_ij (sd 1 off the diagonal, sqrt(mu_4 - 1) <= sqrt 2 on it); the out-of-domain law N(1_m, 4 I_m):
    E lambda_i = 1 (sd 2) and E (lambda_i - 1)^2 = 4 (sd 4 sqrt 2). Four parts at a quarter of the rate each."""
    m = ctx.impl
    B, n, d_m = cfg["batch"], cfg["n"], cfg["m"]
    lam = m.sample_tasks(cfg["law"], B, n, d_m, ctx.generator())  # (B, n, m)
    iu = torch.triu_indices(d_m, d_m)
    prod = (lam[..., iu[0]] * lam[..., iu[1]]).transpose(1, 2).reshape(-1, n)  # (B m(m+1)/2, n)
    diag = (iu[0] == iu[1]).to(F64).repeat(B)
    ood = m.sample_tasks("ood", B, n, d_m, ctx.generator(1)).transpose(1, 2).reshape(-1, n) - 1  # lambda - 1
    rate, delta = A1_FALSE_FAIL / 4, A1_RESOLUTION
    parts = {
        "E lambda = 0": equal_in_mean(lam.transpose(1, 2).reshape(-1, n), 0.0, delta, rate, "E lambda_i"),
        "E lambda lambda^T = I": equal_in_mean(prod, diag, delta * (1 + (math.sqrt(2) - 1) * diag), rate,
                                               "E lambda_i lambda_j"),
        "out-of-domain law: E lambda = 1_m": equal_in_mean(ood, 0.0, 2 * delta, rate, "E lambda_i - 1 (OOD)"),
        "out-of-domain law: E (lambda_i - 1)^2 = 4": equal_in_mean(ood**2, 4.0, 4 * math.sqrt(2) * delta, rate,
                                                                   "E (lambda_i - 1)^2 (OOD)"),
    }
    return Outcome.all_of(parts, instances=B)


register(Claim(
    id="Y-A1", paper=PAPER, reference="Assumption 1",
    title="Task vectors: independent entries with mean 0 and variance 1 (generator contract)",
    statement=r"\lambda_i \text{ independent},\ \mathbb{E}[\lambda_i] = 0,\ \mathbb{E}[\lambda_i^2] = 1 "
              r"\ (i \in [m]);\ \text{only } \mathbb{E}[\lambda\lambda^\top] = I_m \text{ enters the loss}",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_a1,
    params=(Param("m", int, min=1, max=1024), Param("n", int, min=16, max=1 << 22, doc="samples per instance"),
            Param("law", str, choices=("gaussian", "rademacher", "uniform")),
            Param("batch", int, min=1, max=4096)),
    defaults=dict(m=4, n=8192, law="gaussian", batch=4),
    cost=Cost.CHEAP, false_fail_rate=A1_FALSE_FAIL, power=POWER,
    tolerance="each moment is the mean of n i.i.d. samples, decided by mean_verdict (Student-t limits) in two "
              "one-sided decisions per entry (= target within the resolution): violated if a one-sided 1 - 1e-4/(4 x "
              "2 x entries) limit excludes target +- resolution/2, held if the mean is within target +- resolution/2 "
              "and both limits within target +- resolution, the resolution being 0.15 sd of one "
              "sample (0.15 for E lambda_i and off-diagonal E lambda_i lambda_j, 0.15 sqrt 2 on the diagonal, 0.3 "
              "for the OOD mean, 0.6 sqrt 2 for its variance), else inconclusive; power 0.9",
    notes="The generator's three laws (Gaussian, Rademacher, sqrt(3) x uniform) are standardised; the check is the "
          "suite's contract that every Monte-Carlo claim draws tasks satisfying Assumption 1. It also checks the "
          "paper's out-of-domain test law N(1_m, 4 I_m) (errata: only the OOD test uses it; training and the "
          "in-domain test use N(0, I_m)).",
    control=Control(mutant="Y-M06", config={"law": "uniform"}, seed=0),
))


def check_a3(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    inst = _instance(cfg, ctx)
    norms = inst.V.norm(dim=1)
    gap = m.distinct_coordinate_gap(inst)
    # reference: max over coordinates of the smallest pairwise gap, from all pairs (no sorting)
    VP = inst.V[..., : inst.N]
    pair = (VP.unsqueeze(-1) - VP.unsqueeze(-2)).abs().masked_fill(
        torch.eye(inst.N, dtype=torch.bool, device=VP.device), math.inf)
    gap_ref = pair.amin((-1, -2)).amax(-1) if inst.N > 1 else torch.full_like(gap, math.inf)
    dist = torch.cdist(inst.V.transpose(1, 2), inst.V.transpose(1, 2))
    dist = dist + torch.eye(inst.K, dtype=F64, device=dist.device) * dist.max()
    resolution = _tol(1, 1.0)  # distinct = farther apart than float64 resolution at unit scale
    parts = {
        "unit-norm tokens": Outcome.at_most(float((norms - 1).abs().max()), _tol(inst.d, 1.0)),
        "a prompt coordinate with distinct entries (Assumption 3)": _worst(gap, resolution, le=False),
        "the model's gap = max_x min_{i != j} |V_P[x, i] - V_P[x, j]| over all pairs": Outcome.at_most(
            float((gap - gap_ref).abs().max()) if inst.N > 1 else float((gap != gap_ref).any()), 0.0),
        "distinct dictionary tokens": _worst(dist.amin((1, 2)), resolution, le=False),
    }
    return Outcome.all_of(parts, instances=inst.batch, details={"min_gap": float(gap.min())})


register(Claim(
    id="Y-A3", paper=PAPER, reference="Assumption 3",
    title="The prompt tokens have a coordinate with pairwise distinct entries (generator contract)",
    statement=r"\exists x \in [d]:\ (V_P)_{x i} \ne (V_P)_{x j}\ \forall i \ne j;\quad \|v_k\|_2 = 1,\ "
              r"v_k \text{ distinct}",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, check=check_a3,
    params=INSTANCE_PARAMS, defaults=INSTANCE_DEFAULTS, cost=Cost.CHEAP,
    tolerance="unit norm to 8 eps(float64) x d; distinctness gaps must exceed 8 eps (float64 resolution at unit "
              "scale); the model's gap equals the all-pairs reference exactly (both are differences of the same "
              "floats)",
    notes="Unit-norm Gaussian-direction tokens satisfy Assumption 3 with probability one; the check makes that a "
          "contract of the generator every other claim uses.",
    control=Control(mutant="Y-M05", config={}, seed=0),
))


def check_a4(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    B, n, Bn = cfg["batch"], cfg["n"], cfg["B"]
    g = ctx.generator()
    raw = m.sample_tasks(cfg["law"], B, n, cfg["m"], g)
    lam = m.clip_to_ball(raw, Bn)
    u = torch.randn(B, n, cfg["m"], generator=g, dtype=F64, device=g.device)
    adversarial = m.clip_to_ball(Bn * u / u.norm(dim=-1, keepdim=True), Bn)
    # reference projection onto the ball: lambda if ||lambda|| <= B, else B lambda/||lambda||
    r = raw.norm(dim=-1, keepdim=True)
    ref = torch.where(r <= Bn, raw, Bn * raw / r)
    tol = _tol(cfg["m"], Bn)
    parts = {
        "||lambda|| <= B": Outcome.at_most(float(lam.norm(dim=-1).max()), Bn + tol),
        "adversarial ||lambda|| = B": Outcome.at_most(float((adversarial.norm(dim=-1) - Bn).abs().max()), tol),
        "the projection onto the ball (inside: unchanged)": Outcome.at_most(float((lam - ref).abs().max()), tol),
    }
    return Outcome.all_of(parts, instances=B, details={"law": cfg["law"]})


register(Claim(
    id="Y-A4", paper=PAPER, reference="Assumption 4",
    title="Inference tasks are bounded, ||lambda|| <= B, in or out of the training law (generator contract)",
    statement=r"\|\lambda\|_2 \le B \text{ at inference; } \lambda \text{ need not come from } \mathcal{D}_\lambda",
    provenance=Provenance.STATED, kind=Kind.INEQUALITY, check=check_a4,
    params=(Param("m", int, min=1, max=1024), Param("n", int, min=1, max=1 << 20),
            Param("law", str, choices=LAWS), Param("B", float, gt=0, max=1e6, doc="task-norm bound"),
            Param("batch", int, min=1, max=4096)),
    defaults=dict(m=4, n=512, law="ood", B=3.0, batch=4), cost=Cost.CHEAP,
    tolerance="8 eps(float64) x m x B (the rescaling to the sphere rounds)",
    notes="Inference tasks are drawn from a law (in-domain N(0, I), out-of-domain N(1, 4I), Rademacher, uniform) "
          "and projected onto the ball of radius B; adversarial tasks lie on the sphere. Y-T2 uses this sampler.",
    control=Control(mutant="Y-M08", config={}, seed=0),
))


# ================================================================ Assumption 2 and Proposition 1
def _rank_parts(m: Impl, inst: Instance, Q0: Tensor, S0: Tensor) -> tuple[dict, dict]:
    """S0 is the softmax over the prompt tokens; numeric full row rank of every C_k (N x H) and
    zeta_0 = min_k lambda_min(B_k B_k^T) > 0, the model's zeta_0 against sigma_N(Zbar C_k)^2 computed here."""
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
    # reference zeta_0: B_k = G^{1/2} C_k with G's square root from its eigendecomposition, sigma_N(B_k)^2 by SVD
    lam, U = torch.linalg.eigh(reference_G(inst))
    Zbar = (U * lam.sqrt().unsqueeze(-2)) @ U.transpose(-1, -2)
    C_ref = reference_maps(inst, Q0).permute(0, 3, 1, 2)
    svB = torch.linalg.svdvals(Zbar.unsqueeze(1) @ C_ref)
    z_ref = (svB[..., N - 1] if H >= N else torch.zeros_like(svB[..., 0])).pow(2).amin(-1)
    parts = {
        "S: s_k^h = softmax over the N prompt tokens of V_P^T Q_h v_k (in the simplex)": maps_part(S0, inst, Q0),
        "zeta_0 = min_k sigma_N(Zbar C_k)^2 (reference by SVD)": _worst(
            (z0 - z_ref).abs(), eig_err + _tol(N * H, z_ref)),
        "rank C_k = N for all k (sigma_N / sigma_1 > max(N, H) eps)": _worst(ratio.amin(-1), torch.full_like(
            ratio[:, 0], rank_tol), le=False),
        "zeta_0 >= lambda_min(G) min_k sigma_N(C_k)^2 > 0": _worst(
            z0, lower * (1 - _tol(N * H, 1.0)) - eig_err + 1e-300, le=False),
    }
    return parts, {"zeta_0_min": float(z0.min()), "sigma_ratio_min": float(ratio.min())}


ZETA_TOLERANCE = ("; zeta_0 >= lambda_min(G) min_k sigma_N(C_k)^2 (1 - 8 eps N H) - 8 eps N H ||G|| max_k "
                  "sigma_1(C_k)^2 (eigvalsh's absolute error on B_k B_k^T)")


def check_a2(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    inst = _instance(cfg, ctx)
    Q0, _ = m.init_params(inst, cfg["H"], cfg["beta"], ctx.generator(1))
    S0 = m.softmax_maps(Q0, inst)
    parts, details = _rank_parts(m, inst, Q0, S0)
    # C9: with Q = Q^(0) fixed, w_{:,k} = C_k^+ a_k gives Ahat = A, i.e. L = L*.
    C = m.C_matrices(S0)
    A_ref = reference_A(inst)
    w = (torch.linalg.pinv(C) @ A_ref.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)  # (B, H, K)
    delta = m.gap_of_ahat(m.ahat(w, S0), inst)
    sv = torch.linalg.svdvals(C)
    cond = (sv[..., 0] / sv[..., -1]).amax(-1)
    col = (C.shape[-2] + C.shape[-1]) * cond * inst.A.norm(dim=1).amax(-1)  # forward error of C C^+ a_k
    tol = 0.5 * inst.G_norm * inst.K * (8 * EPS * col) ** 2
    parts["C9: w_k = C_k^+ a_k reaches L*"] = _worst(delta, tol)
    return Outcome.all_of(parts, instances=inst.batch, details=details | {"delta_at_pinv_max": float(delta.max())})


register(Claim(
    id="Y-A2", paper=PAPER, reference="Assumption 2 (with check C9)",
    title="B_k^(0) = Zbar C_k^(0) has full row rank N, so zeta_0 > 0 and L* is reachable at Q^(0) (reconstructed)",
    statement=r"\operatorname{rank} B_k^{(0)} = N\ \forall k,\quad \zeta_0 := \min_k \lambda_{\min}"
              r"(B_k^{(0)} B_k^{(0)\top}) > 0,\quad w_{:,k} = C_k^{+} a_k \Rightarrow L(\theta) = L^\star",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.IDENTITY, check=check_a2,
    params=INSTANCE_PARAMS + THETA_PARAMS, defaults=INSTANCE_DEFAULTS | dict(H=6, beta=1.0),
    assumptions=(H_GE_N,), cost=Cost.CHEAP,
    tolerance="numeric rank: sigma_N/sigma_1 > max(N, H) eps (numpy's matrix_rank rule)" + ZETA_TOLERANCE
              + "; S against the in-check softmax over the prompt tokens: 8 eps (d + N)(1 + max ||Q_h||_F)"
              + "; C9: Delta <= 1/2 ||G|| K (8 eps (N+H) cond(C_k) max_k ||a_k||)^2 (forward error of C_k C_k^+ a_k)",
    notes="zeta_0's exact definition is NOT FOUND; this project uses min_k lambda_min(B_k B_k^T) (a squared singular "
          "value). C9 (global minimum reachable with Q frozen) is the spec's sanity check of Assumption 2.",
    control=Control(mutant="Y-M01", config={}, seed=0),
))


P1_INIT_FALSE_FAIL = 1e-6  # the rate of the one statistical part (the initialisation law)
P1_INIT_HEADS, P1_INIT_RESOLUTION = 256, 0.15  # a separate wide draw; resolution in sd of one sample (sqrt 2)


def check_p1(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    inst = _instance(cfg, ctx)
    Q0, w0 = m.init_params(inst, cfg["H"], cfg["beta"], ctx.generator(1))
    parts, details = _rank_parts(m, inst, Q0, m.softmax_maps(Q0, inst))
    gap = m.distinct_coordinate_gap(inst)
    parts["Assumption 3 holds for the drawn tokens"] = _worst(gap, _tol(1, 1.0), le=False)
    # the initialisation law, on a separate draw of 256 heads (enough entries for the stated resolution): the squares
    # (Q_h(i, j)/beta)^2 are i.i.d. with mean 1 and sd sqrt 2 under the claim; w^(0) = 0 exactly
    Qw, _ = m.init_params(inst, P1_INIT_HEADS, cfg["beta"], ctx.generator(2))
    n = Qw.numel()
    parts["Q_h^(0) entries have variance beta^2"] = equal_in_mean(
        (Qw / cfg["beta"]).pow(2).reshape(1, -1), 1.0, P1_INIT_RESOLUTION * math.sqrt(2), P1_INIT_FALSE_FAIL,
        "E (Q_h(i, j)/beta)^2", unit="entries")
    parts["w^(0) = 0"] = Outcome.at_most(float(w0.abs().max()), 0.0)
    return Outcome.all_of(parts, instances=inst.batch, details=details | {"init_entries": n})


register(Claim(
    id="Y-P1", paper=PAPER, reference="Proposition 1",
    title="Gaussian initialisation with H >= N heads satisfies Assumption 2 almost surely",
    statement=r"H \ge N,\ Q_h^{(0)}(i,j) \overset{iid}{\sim} \mathcal{N}(0, \beta^2) \Rightarrow "
              r"\operatorname{rank}(C_k^{(0)}) = N\ \forall k \text{ a.s.}",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, check=check_p1,
    params=INSTANCE_PARAMS + THETA_PARAMS, defaults=INSTANCE_DEFAULTS | dict(H=6, beta=1.0),
    assumptions=(H_GE_N,), cost=Cost.CHEAP, false_fail_rate=P1_INIT_FALSE_FAIL, power=POWER,
    tolerance="numeric rank: sigma_N(C_k)/sigma_1(C_k) > max(N, H) eps(float64) for every k" + ZETA_TOLERANCE
              + "; S against the in-check softmax over the prompt tokens: 8 eps (d + N)(1 + max ||Q_h||_F); "
                "the initialisation law (256 heads drawn apart): |E (Q_h(i,j)/beta)^2 - 1| <= d/2 by two one-sided "
                "mean_verdict decisions at 1e-6/2 each (bounds 1 +- d/2, resolution d/2), d = 0.15 sqrt 2 (0.15 "
                "sd of one entry), power 0.9",
    notes="Almost-sure rank is checked as numeric rank at float64 resolution; with H < N the rank is at most H "
          "(negative control). beta small (near-uniform softmax) or large (saturated) makes C_k ill-conditioned "
          "but, per the proposition, still of full rank.",
    control=Control(mutant="Y-M04", config={"beta": 2.5}, seed=0),
))

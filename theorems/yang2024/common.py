"""Shared fixtures of the yang2024 claims: parameters, instance draws, round-off allowances, the reference side
(explicit softmax maps, G and A from the features) that every check compares the model with, and the statistics
constants."""
from __future__ import annotations

import math
from typing import Any, TYPE_CHECKING

import torch
from torch import Tensor

from theorems.core import Assumption, CheckContext, Outcome, Param
from theorems.tolerances import eps, identity_tolerance, mean_verdict

if TYPE_CHECKING:
    from models.yang2024 import Instance

Impl = Any  # theorems.impl.Impl of the yang2024 model API

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

def _instance(cfg: dict, ctx: CheckContext, offset: int = 0, **kw) -> Instance:
    return ctx.impl.make_instance(cfg["batch"], cfg["d"], cfg["K"], cfg["N"], cfg["m"], cfg["tau"],
                                  ctx.generator(offset), **kw)


def _random_theta(m: Impl, inst: Instance, cfg: dict, g: torch.Generator) -> tuple[Tensor, Tensor]:
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


def _sympy_ridge_vs_model(m: Impl, derivation, predictor: str, g: torch.Generator) -> Outcome:
    """S7 numerically: sympy's stationary point lambda of a ridge objective (m = 2, N = 3, tau = 0.3) predicts
    lambda^T z_4 for the unseen token; the model's ``predictor`` ("ridge_predictor" or "oracle_predictor" of the
    implementation under test) must predict the same and copy y_1..y_3."""
    Zt = torch.randn(1, 2, 4, generator=g, dtype=F64, device=g.device)
    y = torch.randn(3, generator=g, dtype=F64, device=g.device)
    aux = m.Instance(torch.randn(1, 1, 4, generator=g, dtype=F64, device=g.device), Zt, 3, 0.3)
    ours = getattr(m, predictor)(aux, y.view(1, 1, 3)).reshape(-1)
    ref = torch.cat([y, (derivation.numeric(Zt[0, :, :3], y, 0.3) * Zt[0, :, 3]).sum().view(1)])
    return Outcome.at_most(float((ref - ours).abs().max()), _tol(6, float(ref.abs().max()) + 1))


# ================================================================ attention maps: the reference side
def reference_maps(inst: Instance, Q: Tensor) -> Tensor:
    """S computed in the check, independently of the model: ``s_k^h[n] = exp(x_n - max x) / sum_j exp(x_j - max x)``
    with ``x_n = v_n^T Q_h v_k`` over the N prompt tokens (dim 1), (B, N, H, K)."""
    X = torch.einsum("ban,bhac,bck->bnhk", inst.V[..., : inst.N], Q, inst.V)
    E = torch.exp(X - X.amax(1, keepdim=True))
    return E / E.sum(1, keepdim=True)


def maps_part(S: Tensor, inst: Instance, Q: Tensor) -> Outcome:
    """The model's S against :func:`reference_maps`: each s_k^h lies in the simplex over the N prompt tokens and is
    the softmax of V_P^T Q_h v_k (relative round-off 8 eps (d + N) times the score scale)."""
    ref = reference_maps(inst, Q)
    scale = 1.0 + float(Q.flatten(2).norm(dim=-1).max())  # |x_n| <= ||Q_h||_F for unit tokens
    return Outcome.at_most(float((S - ref).abs().max()) if S.shape == ref.shape else math.inf,
                           _tol(inst.d + inst.N, scale))


def reference_G(inst: Instance) -> Tensor:
    """G = Z^T Z + m tau I_N from the instance's features, in the check."""
    Z = inst.Zt[..., : inst.N]
    return Z.transpose(-1, -2) @ Z + Z.shape[1] * inst.tau * torch.eye(inst.N, dtype=F64, device=Z.device)


def reference_A(inst: Instance) -> Tensor:
    """A = G^{-1}(Z^T Z~ + m tau [I_N, 0]) (eq. 34) from the features, in the check."""
    Z, Zt = inst.Zt[..., : inst.N], inst.Zt
    E0 = torch.eye(inst.N, Zt.shape[-1], dtype=F64, device=Z.device)
    return torch.linalg.solve(reference_G(inst), Z.transpose(-1, -2) @ Zt + Zt.shape[1] * inst.tau * E0)


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


def reference_gradient(inst: Instance, Q: Tensor, w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Autograd, in the check, of Delta = 1/2 sum_k (a^_k - a_k)^T G (a^_k - a_k) built from reference_maps,
    reference_G and reference_A (L and Delta differ by the constant L*). Returns (dQ, dw, R = G (Ahat - A))."""
    Q, w = Q.detach().requires_grad_(True), w.detach().requires_grad_(True)
    G = reference_G(inst)
    D = torch.einsum("bhk,bnhk->bnk", w, reference_maps(inst, Q)) - reference_A(inst)
    dQ, dw = torch.autograd.grad(0.5 * (D * (G @ D)).sum(), (Q, w))
    return dQ, dw, (G @ D).detach()


# ---------------------------------------------------------------- statistics: three verdicts (issue 12)
# Every statistical decision goes through theorems/tolerances.py: violated when a one-sided confidence limit at the
# stated rate excludes the bound, held when the other limit is within the bound plus the stated resolution (a
# violation of that size is excluded), else inconclusive. A claim's false-fail rate is split (Bonferroni) over its
# decisions; the resolution of each decision is a named constant of the claim (or a config parameter).
POWER = 0.9  # 1 - beta of every statistical / trained decision: its min_discrepancy is stated at this power


def equal_in_mean(x: Tensor, target: Tensor | float, resolution: Tensor | float, rate: float, what: str,
                  unit: str = "samples") -> Outcome:
    """"E[x_e] = target_e" for every row e of x (E, n) of i.i.d. samples, stated as |E[x_e] - target_e| <= delta_e/2
    and decided by two one-sided mean_verdict decisions per row, "mean <= target + delta/2" and "mean >= target -
    delta/2", each with resolution delta/2, all 2E at rate/(2E) (Bonferroni). Held iff every row is held (so a
    deviation of delta is excluded); violated if a limit excludes target +- delta/2. The rows are ranked with the same
    t limits, vectorised; the worst row's two decisions, taken by mean_verdict itself, are the outcome."""
    import numpy as np
    from scipy import stats

    x = np.asarray(torch.as_tensor(x, dtype=F64).cpu(), dtype=float)
    x = x.reshape(-1, x.shape[-1])
    E, n = x.shape
    tgt = np.broadcast_to(np.asarray(torch.as_tensor(target, dtype=F64).cpu(), dtype=float).ravel(), (E,))
    res = np.broadcast_to(np.asarray(torch.as_tensor(resolution, dtype=F64).cpu(), dtype=float).ravel(), (E,))
    r = rate / (2 * E)
    mean, sd = x.mean(1), x.std(1, ddof=1)
    half = float(stats.t.isf(r, n - 1)) * sd / math.sqrt(n) if n > 1 else np.full(E, math.inf)
    lo, hi = mean - half, mean + half
    violated = (lo > tgt + res / 2) | (hi < tgt - res / 2)
    held = (np.abs(mean - tgt) <= res / 2) & (hi <= tgt + res) & (lo >= tgt - res)
    room = np.minimum(tgt + res - hi, lo - tgt + res) / res
    i = int(np.lexsort((room, np.where(violated, 0, np.where(held, 2, 1))))[0])
    kw = dict(rate=r, power=POWER, resolution=float(res[i]) / 2, what=what, unit=unit)
    up = mean_verdict(x[i], float(tgt[i] + res[i] / 2), "at_most", **kw)
    down = mean_verdict(x[i], float(tgt[i] - res[i] / 2), "at_least", **kw)
    verdicts = (up.holds, down.holds)
    holds = False if False in verdicts else (True if verdicts == (True, True) else None)
    worse = min((up, down), key=lambda o: (-1 if o.holds is False else 0 if o.holds is None else 1, o.margin))
    rule = (f"|{what} - target| <= resolution/2, for each of {E} rows: two one-sided decisions at rate "
            f"{rate:.3g}/(2 x {E}) "
            f"(Bonferroni), held iff both are held; worst row {i}: [{up.details['rule']}] and "
            f"[{down.details['rule']}]")
    details = dict(worse.details) | {"rule": rule, "row": i, "rows": E, "false_fail_rate": rate}
    return Outcome(worse.measured, float(tgt[i]), worse.margin, holds, details=details)


def summary_verdict(estimate: float, se: float, n: int, bound: float, side: str, rate: float, resolution: float,
                    what: str, unit: str = "samples") -> Outcome:
    """mean_verdict's rule for a mean known only by its estimate and standard error over n i.i.d. samples (the
    model's loss_mc returns these)."""
    from theorems.tolerances import mean_verdict_from_summary

    return mean_verdict_from_summary(estimate, se, n, bound, side, rate=rate, power=POWER, resolution=resolution,
                                     what=what, unit=unit)


def equal_from_summary(estimate: Tensor, se: Tensor, n: int, target: Tensor, resolution: Tensor, rate: float,
                       what: str) -> Outcome:
    """"|E - target| <= delta/2" per instance from (estimate, standard error) over n samples: "E <= target + delta/2"
    and "E >= target - delta/2" by summary_verdict with resolution delta/2, at rate/(2B) each (Bonferroni); held iff
    all are held (a deviation of delta is excluded); the worst decision is the outcome."""
    B = len(estimate)
    r = rate / (2 * B)
    outs = {f"instance {b}, {side}": summary_verdict(
        float(estimate[b]), float(se[b]), n, float(target[b] + sign * resolution[b] / 2), side, r,
        float(resolution[b]) / 2, what) for b in range(B) for side, sign in (("at_most", 1), ("at_least", -1))}
    return combine_decisions(outs, f"|{what} - target| <= resolution/2 for each of {B} instances: two one-sided "
                                   f"decisions at rate "
                                   f"{rate:.3g}/(2 x {B}) (Bonferroni), held iff all are held")


def combine_decisions(outs: dict[str, Outcome], rule: str) -> Outcome:
    """Several three-verdict decisions as one: violated if any is, held if all are, else inconclusive; the headline
    is a violated decision, else an inconclusive one, else the one with the least relative room."""
    verdicts = [o.holds for o in outs.values()]
    holds = False if False in verdicts else (True if all(v is True for v in verdicts) else None)
    rank = {False: 0, None: 1, True: 2}
    name = min(outs, key=lambda k: (rank[outs[k].holds], outs[k].margin / max(abs(outs[k].bound), 1e-300)))
    w = outs[name]
    details = dict(w.details) | {"rule": f"{rule}; worst ({name}): {w.details['rule']}"}
    return Outcome(w.measured, w.bound, w.margin, holds, details=details)


def over_seeds(values, bound: float, side: str, rate: float, resolution: float, what: str) -> Outcome:
    """A trained claim's decision: mean_verdict over the per-instance values, one per separately trained instance
    (its own basis, training tasks and initialisation): the instances are the unit of replication."""
    return mean_verdict([float(v) for v in values], bound, side, rate=rate, power=POWER, resolution=resolution,
                        what=what, unit="separately trained instances")

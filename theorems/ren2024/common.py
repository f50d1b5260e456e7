"""Shared pieces of the ren2024 claims: instance parameters and draws, round-off allowances, the reference side
(keys, queries, values token by token; kernels; attention as an explicit sum over tokens), the generator-law parts,
the three-verdict helpers for interval estimates, and the registration helper of the identity claims."""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from scipy import stats as _st

from theorems.core import Assumption, CheckContext, Claim, Cost, Kind, Outcome, Param
from theorems.registry import register
from theorems.tolerances import dkw_radius, identity_tolerance, mean_verdict

PAPER = "ren2024"
F64 = torch.float64
# Statistical claims: probability that a check fails although the claim is true, per checked example.
FALSE_FAIL_RATE = 1e-6
POWER = 0.9
# Generator-law parts of the identity claims (chi-square on N(0,1) draws, DKW on uniform draws): rate per test.
LAW_RATE = 1e-6
# A count of non-vanishing symbolic residual entries must be < 1/2, i.e. 0.
SYMBOLIC_ZERO = 0.5

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
ETA = Param("eta", float, gt=0, doc="dual learning rate (cancels)")
QUERY_SIDE = Assumption("M >= 1", lambda c: c["M"] >= 1, "the query is a query-side token")
IDENTITY_TOLERANCE = ("outputs: 8 eps(float64) x n_ops x scale, n_ops = (N+M) d_r + d_o (the longest reduction: T+1 "
                      "tokens times d_r features, then d_o), scale = max(1, max |value entry|): the kernel weights "
                      "are positive and sum to 1, so every output is a convex-type combination of values; dual "
                      "weights W: 8 eps x (N + 4) x max(|W_0|, |Y||X|^T / D); feature inner products (X^T X, "
                      "X^T phi(q), |phi(q)|^2) relative to the Cauchy-Schwarz scale sqrt(k(a,a) k(c,c)): 8 eps x "
                      "(d_feat + 2); generator laws: chi-square / DKW acceptance at 1e-6 per test")
SMALL = dict(d_i=3, d_o=3, N=6, M=2, d_r=16, batch=4)  # the negative controls' cheap example


def _instance(cfg: dict, ctx: CheckContext):
    return ctx.impl.random_instance(cfg["batch"], cfg["d_i"], cfg["d_o"], cfg["N"], cfg["M"], cfg["d_r"],
                                    cfg["scale"], cfg["token_bound"], ctx.generator(), dtype=F64, device=ctx.device)


def _scale(*tensors: torch.Tensor) -> float:
    return max([1.0] + [float(t.abs().max()) for t in tensors if t.numel()])


def _err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b|; infinite when the shapes differ or anything is not finite (a wrong model may return either)."""
    if not isinstance(a, torch.Tensor) or a.shape != b.shape:
        return math.inf
    if not a.numel():
        return 0.0
    d = float((a - b).abs().max())
    return d if math.isfinite(d) else math.inf


def _rel_err(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> float:
    """max |a - b| / scale (entrywise); infinite for mismatched shapes or non-finite values."""
    if not isinstance(a, torch.Tensor) or a.shape != b.shape:
        return math.inf
    d = float(((a - b).abs() / scale.clamp(min=1e-300)).max()) if a.numel() else 0.0
    return d if math.isfinite(d) else math.inf


def _tol(cfg: dict, *values: torch.Tensor, d_feat: int | None = None, cond: float = 1.0) -> float:
    """Round-off allowance of an identity between kernelised attention and a dual prediction (IDENTITY_TOLERANCE);
    ``cond`` = max sqrt(k(k,k) k(q,q)) / |k(k,q)| for feature maps with signs (1 for positive random features)."""
    n_ops = (cfg["N"] + cfg["M"]) * (d_feat or cfg["d_r"]) + cfg["d_o"]
    return identity_tolerance(F64, n_ops, _scale(*values) * cond)


def _weight_tol(ka) -> float:
    """Round-off allowance for identities between dual weights W (not predictions): entries of W_0 and of
    sum_i y_i phi(x_i)^T / D can be far larger than the values when phi(q) is small, so the scale is theirs;
    n_ops = N + 4 (the sum over demonstrations, then the step's few operations)."""
    update = (ka.Y.abs() @ ka.X.abs().transpose(-1, -2)) / ka.D[:, None, None]
    return identity_tolerance(F64, ka.X.shape[-1] + 4, _scale(ka.W0, update))


def _dual_prediction(impl, ka, eta: float, **step_kw) -> torch.Tensor:
    """The implementation's dual model after one GD step on its own dual data, at its phi(x_test)."""
    return impl.dual_predict(impl.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, eta, **step_kw), ka.phi_q)


def _symbolic_part(nonzero: int) -> Outcome:
    return Outcome.at_most(nonzero, SYMBOLIC_ZERO)


# ---------------------------------------------------------------- the reference side (built here, not by the model)
def _tokens(W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """``W h_j`` one token at a time: (B, d_o, T+1)."""
    return torch.stack([torch.einsum("boi,bi->bo", W, H[..., j]) for j in range(H.shape[-1])], -1)


def _ref_project(H, W_Q, W_K, W_V):
    """Keys ``k_j = d_o^{-1/4} W_K h_j`` (B, d_o, T+1), query ``q = d_o^{-1/4} W_Q h_{T+1}`` (B, d_o), values."""
    s = W_Q.shape[1] ** -0.25
    return s * _tokens(W_K, H), s * torch.einsum("boi,bi->bo", W_Q, H[..., -1]), _tokens(W_V, H)


class Kernel(NamedTuple):
    """The reference kernel ``k(a, c) = phi(a)^T phi(c)``: ``gram(A, C)`` (B, n, m) for columns A (B, d, n), C (B, d,
    m); ``dim`` the feature dimension (round-off), ``positive_features`` whether every feature is > 0."""

    gram: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    dim: int
    positive_features: bool


def _prf_kernel(Wr: torch.Tensor) -> Kernel:
    """Positive random features written out per token: ``phi_r(a) = exp(w_r^T a - |a|^2/2) / sqrt(d_r)``."""
    d_r = Wr.shape[1]

    def feats(A):
        return torch.stack([torch.exp(torch.einsum("brd,bd->br", Wr, A[..., j]) - 0.5 * (A[..., j] ** 2).sum(-1,
                            keepdim=True)) for j in range(A.shape[-1])], -1) / math.sqrt(d_r)

    return Kernel(lambda A, C: torch.einsum("brn,brm->bnm", feats(A), feats(C)), d_r, True)


def _taylor_kernel(p: int, d: int) -> Kernel:
    """The truncated-exp kernel in closed form, ``sum_{k<=p} (a^T c)^k / k!`` (no features at all)."""
    def gram(A, C):
        t = torch.einsum("bdn,bdm->bnm", A, C)
        return sum(t**k / math.factorial(k) for k in range(p + 1))

    return Kernel(gram, sum(d**k for k in range(p + 1)), False)


class RefAttention(NamedTuple):
    K: torch.Tensor  # (B, d, T+1) keys
    q: torch.Tensor  # (B, d) query
    V: torch.Tensor  # (B, d_v, T+1) values
    s: torch.Tensor  # (B, T+1) scores k(k_j, q)
    D: torch.Tensor  # (B,)
    h: torch.Tensor  # (B, d_v)


def _ref_attention(K, q, V, kernel: Kernel, N: int, query_side_scale: float = 1.0) -> RefAttention:
    """``h' = (1/D) sum_j c_j v_j k(k_j, q)``, ``D = sum_j k(k_j, q)``, c_j = query_side_scale for j in Q, else 1."""
    s = kernel.gram(K, q[..., None])[..., 0]
    c = torch.ones_like(s)
    c[:, N:] = query_side_scale
    D = s.sum(-1)
    return RefAttention(K, q, V, s, D, torch.einsum("bvt,bt->bv", V, s * c) / D[:, None])


def _ref_softmax(H, W_Q, W_K, W_V) -> torch.Tensor:
    """Exact softmax attention at the query, as an explicit weighted sum over the T+1 tokens."""
    K, q, V = _ref_project(H, W_Q, W_K, W_V)
    logits = torch.einsum("bdt,bd->bt", K, q)  # k_j^T q = (W_K h_j)^T W_Q h_{T+1} / sqrt(d_o)
    a = torch.exp(logits - logits.amax(-1, keepdim=True))
    return torch.einsum("bvt,bt->bv", V, a / a.sum(-1, keepdim=True))


def _cond(ref: RefAttention, kernel: Kernel) -> float:
    """Cancellation factor of the scores: 1 for positive features (|phi|^T|phi| = phi^T phi), else the
    Cauchy-Schwarz bound max_j sqrt(k(k_j,k_j) k(q,q)) / |k(k_j,q)|."""
    if kernel.positive_features:
        return 1.0
    diag = kernel.gram(ref.K, ref.K).diagonal(dim1=-2, dim2=-1)
    qq = kernel.gram(ref.q[..., None], ref.q[..., None])[..., 0, 0]
    return float(((diag * qq[:, None]).abs().sqrt() / ref.s.abs().clamp(min=1e-300)).max())


def _dual_data_parts(ka, ref: RefAttention, kernel: Kernel, N: int, tol: float, cond: float,
                     weights: torch.Tensor | None = None, mask_query_values: bool = False,
                     key_ops: int = 0) -> dict[str, Outcome]:
    """The implementation's dual data against the reference: D, the weights, the labels Y, and the features through
    their kernel (orderless): X^T phi(q), X^T X, |phi(q)|^2, W_0 phi(q), W_0 W_0^T.

    ``weights``: the reference weights when the normaliser does not sum every token (default ``s_j / D``);
    ``mask_query_values``: the query-side values are masked, so the reference W_0 is the empty sum (0);
    ``key_ops``: the length of the reductions that built the keys and values beyond the projections (an augmenting
    MLP's d_hidden + d_o), which the two routes round differently."""
    T1 = ref.K.shape[-1]
    n_feat = kernel.dim + 2
    rel = identity_tolerance(F64, n_feat, 1.0)  # one inner product, relative to |a||c|
    Kd, Kq = ref.K[..., :N], ref.K[..., N:]
    G_dd = kernel.gram(Kd, Kd)
    G_QQ = kernel.gram(Kq, Kq)
    g_qq = kernel.gram(ref.q[..., None], ref.q[..., None])[..., 0, 0]
    d_dd = G_dd.diagonal(dim1=-2, dim2=-1).abs()
    d_QQ = G_QQ.diagonal(dim1=-2, dim2=-1).abs()
    X, phi_q, W0 = ka.X, ka.phi_q, ka.W0
    Xq = (X * phi_q[..., None]).sum(-2) if X.dim() == 3 and X.shape[:2] == phi_q.shape else X
    XtX = X.transpose(-1, -2) @ X
    W0q = (W0 @ phi_q[..., None])[..., 0] if W0.shape[-1] == phi_q.shape[-1] else W0
    VQ = ref.V[..., N:] if not mask_query_values else torch.zeros_like(ref.V[..., N:])
    W0W0 = torch.einsum("bvj,bjl,bwl->bvw", VQ, G_QQ, VQ) / ref.D[:, None, None] ** 2
    w_scale = torch.einsum("bvj,bj->bv", VQ.abs(), d_QQ.sqrt()) / ref.D.abs()[:, None]  # Cauchy-Schwarz
    return {
        "D == sum_j k(k_j, q) (reference)": Outcome.at_most(
            _rel_err(ka.D, ref.D, ref.D.abs()), identity_tolerance(F64, T1 * n_feat, cond)),
        "weights == k(k_j, q) / D": Outcome.at_most(
            _err(ka.weights, ref.s / ref.D[:, None] if weights is None else weights),
            identity_tolerance(F64, T1 * n_feat, cond)),
        "Y == values v_i = W_V h_i of the demonstrations": Outcome.at_most(_err(ka.Y, ref.V[..., :N]), tol),
        "X^T phi(q) == k(x_i, q)": Outcome.at_most(
            _rel_err(Xq, ref.s[:, :N], (d_dd * g_qq.abs()[:, None]).sqrt()), rel),
        "X^T X == k(x_i, x_l)": Outcome.at_most(
            _rel_err(XtX, G_dd, (d_dd[:, :, None] * d_dd[:, None, :]).sqrt()), rel),
        "|phi(q)|^2 == k(q, q)": Outcome.at_most(_rel_err((phi_q * phi_q).sum(-1), g_qq, g_qq.abs()), rel),
        "W_0 phi(q) == (1/D) sum_{j in Q} v_j k(k_j, q)": Outcome.at_most(
            _err(W0q, torch.einsum("bvj,bj->bv", VQ, ref.s[:, N:]) / ref.D[:, None]), tol),
        "W_0 W_0^T == (1/D^2) sum_{j,l in Q} v_j k(k_j, k_l) v_l^T": Outcome.at_most(
            _rel_err(W0 @ W0.transpose(-1, -2), W0W0, w_scale[:, :, None] * w_scale[:, None, :]),
            # W_0 enters twice, each through 1/D (a sum over the T+1 tokens) and its features (n_feat) over keys
            # built by key_ops more roundings; a flake-census draw (R-AUG, d_hidden 9) needed the T+1 and key_ops
            identity_tolerance(F64, 2 * (T1 + VQ.shape[-1] * n_feat + key_ops), cond)),
    }


# ---------------------------------------------------------------- generator laws (the data generators are API too)
def _normal_law(z: torch.Tensor, what: str) -> Outcome:
    """``z`` should be i.i.d. N(0, 1): sum z^2 ~ chi^2(n); two-sided acceptance region at LAW_RATE."""
    n = z.numel()
    lo, hi = float(_st.chi2.ppf(LAW_RATE / 2, n)), float(_st.chi2.isf(LAW_RATE / 2, n))
    ss = float((z.double() ** 2).sum())
    out = Outcome.within(ss, lo, hi)
    out.details["rule"] = f"{what}: sum z^2 of {n} standardised entries in the chi^2({n}) region [{lo:.4g}, {hi:.4g}]"
    return out


def _uniform_law(u: torch.Tensor, what: str) -> Outcome:
    """``u`` should be i.i.d. U(0, 1): DKW, sup_t |F_n(t) - t| <= sqrt(log(2/rate)/(2n)), and every u in [0, 1]."""
    u = u.double().flatten().sort().values
    n = u.numel()
    if n == 0 or float(u[0]) < 0 or float(u[-1]) > 1:
        return Outcome.at_most(math.inf, 0.0)
    i = torch.arange(1, n + 1, dtype=F64, device=u.device)
    sup = float(torch.maximum(i / n - u, u - (i - 1) / n).max())
    out = Outcome.at_most(sup, dkw_radius(n, LAW_RATE))
    out.details["rule"] = f"{what}: DKW sup |F_n - F| over {n} draws <= {out.bound:.4g}"
    return out


def _instance_law_parts(cfg: dict, H, W_Q, W_K, W_V, Wr) -> dict[str, Outcome]:
    """random_instance's stated law: tokens U[-b, b], weights N(0,1)/sqrt(d_i)*scale, w_r ~ N(0, I)."""
    c = math.sqrt(cfg["d_i"]) / cfg["scale"]
    return {
        "law: tokens uniform in [-token_bound, token_bound]": _uniform_law(
            (H / cfg["token_bound"] + 1) / 2, "tokens"),
        "law: W_Q, W_K, W_V ~ N(0,1) scale/sqrt(d_i)": _normal_law(torch.cat([W_Q, W_K, W_V]) * c, "weights"),
        "law: w_r ~ N(0, I)": _normal_law(Wr, "w_r"),
    }


def _register_identity(*, params: tuple = (), defaults: dict | None = None, assumptions: tuple = (),
                       tolerance: str = IDENTITY_TOLERANCE, **kw) -> None:
    """Register a float64 identity claim on a random attention instance: the shared instance parameters, the dual
    learning rate, the query-side assumption and the cheap cost are filled in; ``params``/``defaults`` add to them."""
    kw.setdefault("kind", Kind.IDENTITY)
    kw.setdefault("cost", Cost.CHEAP)
    register(Claim(paper=PAPER, params=INSTANCE_PARAMS + (ETA,) + tuple(params),
                   defaults=INSTANCE_DEFAULTS | {"eta": 0.1} | (defaults or {}),
                   assumptions=(QUERY_SIDE,) + tuple(assumptions), tolerance=tolerance, **kw))


# ---------------------------------------------------------------- three verdicts on interval estimates
def _equality_verdict(estimate: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, target: torch.Tensor,
                      resolution: torch.Tensor, *, rate: float, power: float, min_discrepancy: torch.Tensor,
                      what: str, unit: str, res_text: str) -> Outcome:
    """Three verdicts on "theta_i = target_i for every instance i" from two-sided confidence intervals [lower_i,
    upper_i] (each missing theta_i with probability <= ``rate``, a union bound stated by the caller), built like
    tolerances._decide (a candidate for that module): *violated* if some interval excludes its target, *held* if every
    interval lies within target_i +- resolution_i, else *inconclusive*. ``measured`` is the farthest reach of an
    interval from its target in resolution units (bound 1); ``min_discrepancy`` per instance, reported in the same
    units."""
    res = resolution.clamp(min=1e-300)
    outside = torch.maximum(lower - target, target - upper) / res  # > 0: the interval excludes the target
    reach = torch.maximum(upper - target, target - lower) / res
    if not (bool(torch.isfinite(outside).all()) and bool(torch.isfinite(reach).all())):
        outside = reach = torch.full_like(target, math.inf)
    violated, held = bool((outside > 0).any()), bool((reach <= 1).all())
    conf = f"{100 * (1 - rate):.6g}%"
    rule = (f"{what}: violated if the two-sided {conf} confidence interval of some {unit} excludes its target; held "
            f"if every interval lies within the target +- resolution ({res_text}); else inconclusive "
            f"({target.numel()} {unit}s)")
    measured = float(reach.max())
    margin = -float(outside.max()) if violated else 1.0 - measured
    i = int(reach.argmax())
    details = {"rule": rule, "estimate": float(estimate.flatten()[i]), "lower": float(lower.flatten()[i]),
               "upper": float(upper.flatten()[i]), "target": float(target.flatten()[i]), "n": target.numel(),
               "unit": unit, "false_fail_rate": rate, "power": power, "resolution": res_text,
               "min_discrepancy": float((min_discrepancy / res).max())}
    return Outcome(measured, 1.0, margin, False if violated else (True if held else None), details=details)


def _two_sided_mean_verdict(samples, low: float, high: float, *, rate: float, power: float, resolution: float,
                            what: str, unit: str) -> dict[str, Outcome]:
    """"low <= mean <= high" as two one-sided tolerances.mean_verdict decisions at rate/2 each (Student-t limits)."""
    return {f"{what} >= {low:g}": mean_verdict(samples, low, "at_least", rate=rate / 2, power=power,
                                                resolution=resolution, what=f"{what} >= {low:g}", unit=unit),
            f"{what} <= {high:g}": mean_verdict(samples, high, "at_most", rate=rate / 2, power=power,
                                                 resolution=resolution, what=f"{what} <= {high:g}", unit=unit)}


def _dkw_verdict(u: torch.Tensor, what: str, *, rate: float, power: float, resolution: float) -> Outcome:
    """Three verdicts on "u ~ U(0, 1)" by the Kolmogorov distance d(F, U): with D_n = sup_t |F_n(t) - t| and the DKW
    radius eps at ``rate``, d lies in [D_n - eps, D_n + eps]; violated if D_n > eps, held if D_n + eps <= resolution,
    else inconclusive. min_discrepancy = eps + the DKW radius at 1 - power."""
    u = u.double().flatten().sort().values
    n = u.numel()
    if n == 0 or float(u[0]) < 0 or float(u[-1]) > 1 or not bool(torch.isfinite(u).all()):
        sup = math.inf
    else:
        i = torch.arange(1, n + 1, dtype=F64, device=u.device)
        sup = float(torch.maximum(i / n - u, u - (i - 1) / n).max())
    eps = dkw_radius(max(n, 1), rate)
    t = lambda v: torch.tensor([v], dtype=F64)  # noqa: E731
    return _equality_verdict(t(sup), t(sup - eps), t(sup + eps), t(0.0), t(resolution), rate=rate, power=power,
                             min_discrepancy=t(eps + dkw_radius(max(n, 1), 1 - power)),
                             what=f"{what}: Kolmogorov distance to U(0, 1), DKW over {n} draws",
                             unit="distribution", res_text=f"{resolution:g}")


def _per_row_slopes(x: list[float], Y: torch.Tensor) -> torch.Tensor:
    """Least-squares slope of each row of Y against log x (one slope per i.i.d. instance)."""
    lx = torch.tensor([math.log(v) for v in x], dtype=F64)
    lx = lx - lx.mean()
    return ((Y - Y.mean(-1, keepdim=True)) * lx).sum(-1) / (lx * lx).sum()



"""Claims of ren2024 (Ren & Liu, NeurIPS 2024). Spec: ../shared/papers/ren2024.md.

The full text was not available: every formula is reconstructed (DERIVED); STATED would cover only the existence of
a result. Each check builds a batch of independent instances from the seed and reports the worst one.

The seam (theorems/impl.py, models/ren2024_api.py): a check reaches the model under test only as ``ctx.impl.<name>``.
The *reference side* of every comparison is built inside this module from the raw inputs (H, W_Q, W_K, W_V, W_r, eta)
by another route than the model's code: keys, queries and values token by token, kernel scores from the kernel's
closed form (Taylor) or per-token features (PRF), attention as an explicit weighted sum over tokens, the FFN, MLP views
and negative means written out. Features are compared through their kernel (X^T X, X^T phi(q), W_0 W_0^T ...), so an
implementation may order its features as it likes. The sympy derivations (theorems/ren2024_symbolic.py) are parts of
R-T31 (spec §4.4) and R-PRF (§4.5), as the spec's check -> claim map assigns them; they are cached per process.
Negative controls are mutants of the catalogue (mutants/ren2024.py): each claim names one it kills.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, NamedTuple

import torch
from scipy import stats as _st

from theorems import ren2024_symbolic as sym
from theorems.core import (Assumption, AssumptionNotMet, CheckContext, Claim, Control, Cost, Kind, Outcome, Param,
                           Provenance, curve)
from theorems.registry import register
from theorems.tolerances import (
    binomial_verdict,
    dkw_radius,
    fit_slope,
    identity_tolerance,
    mean_verdict,
    median_of_means_plan,
)

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


def _dual_data_parts(ka, ref: RefAttention, kernel: Kernel, N: int, tol: float, cond: float) -> dict[str, Outcome]:
    """The implementation's dual data against the reference: D, the weights, the labels Y, and the features through
    their kernel (orderless): X^T phi(q), X^T X, |phi(q)|^2, W_0 phi(q), W_0 W_0^T."""
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
    VQ = ref.V[..., N:]
    W0W0 = torch.einsum("bvj,bjl,bwl->bvw", VQ, G_QQ, VQ) / ref.D[:, None, None] ** 2
    w_scale = torch.einsum("bvj,bj->bv", VQ.abs(), d_QQ.sqrt()) / ref.D.abs()[:, None]  # Cauchy-Schwarz
    return {
        "D == sum_j k(k_j, q) (reference)": Outcome.at_most(
            _rel_err(ka.D, ref.D, ref.D.abs()), identity_tolerance(F64, T1 * n_feat, cond)),
        "weights == k(k_j, q) / D": Outcome.at_most(
            _err(ka.weights, ref.s / ref.D[:, None]), identity_tolerance(F64, T1 * n_feat, cond)),
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
            identity_tolerance(F64, VQ.shape[-1] * n_feat, cond)),
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


# ---------------------------------------------------------------- R-PRF
_median_of_means_plan = lru_cache(maxsize=None)(median_of_means_plan)  # a few hundred beta quantiles: plan once
RATE_BAND = (-0.65, -0.35)  # stated band around the asymptotic slope -1/2 of the ratio estimator
# Accuracy at the largest d_r: |hat h' - h'|^2 / (its delta-method mean) has mean 1; the resolution of that decision.
ACCURACY_RESOLUTION = 1.5


def _moments(x: torch.Tensor, y: torch.Tensor, moments) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean e^{x.y}, variance sigma^2 = e^{2x.y}(e^{|x+y|^2} - 1) and central fourth moment mu4 of the per-feature
    term ``Z = d_r phi_r(x) phi_r(y)``, from the lambdified Gaussian integrals (log-normal moments)."""
    S2 = ((x + y) ** 2).sum(-1)
    C = ((x * x).sum(-1) + (y * y).sum(-1)) / 2
    m1 = torch.as_tensor(moments.raw_moment(torch.tensor(1.0, dtype=x.dtype, device=x.device), S2, C))
    epsilon = torch.expm1(S2)
    return m1, m1**2 * moments.central_moment[2](epsilon), m1**4 * moments.central_moment[4](epsilon)


def _prf_mse(K: torch.Tensor, q: torch.Tensor, V: torch.Tensor, d_r: int) -> torch.Tensor:
    """Delta-method E|hat h'_rf - h'|^2 of the ratio estimator (large d_r): with the exact scores K_j = e^{k_j^T q},
    hat h' - h' ~ (1/D) sum_j (v_j - h')(hat K_j - K_j), and Cov(hat K_j, hat K_l) = (E[Z_j Z_l] - K_j K_l)/d_r,
    E[Z_j Z_l] = exp(|k_j + k_l + 2q|^2/2 - |k_j|^2/2 - |k_l|^2/2 - |q|^2) (Gaussian moment generating function)."""
    t = torch.einsum("bdj,bd->bj", K, q)
    Kx = torch.exp(t)
    D = Kx.sum(-1)
    h = torch.einsum("bvj,bj->bv", V, Kx) / D[:, None]
    s = K[:, :, :, None] + K[:, :, None, :] + 2 * q[:, :, None, None]  # (B, d, j, l)
    n2 = (K * K).sum(1)
    EZZ = torch.exp((s * s).sum(1) / 2 - n2[:, :, None] / 2 - n2[:, None, :] / 2 - (q * q).sum(-1)[:, None, None])
    C = (EZZ - Kx[:, :, None] * Kx[:, None, :]) / d_r
    R = V - h[:, :, None]
    return torch.einsum("bvj,bjl,bvl->b", R, C, R) / D**2


def _error_vs_dr(cfg: dict, ctx: CheckContext) -> tuple[list[int], list[float], float, torch.Tensor]:
    """Geometric mean over ``rate_seeds`` instances of |hat h'_rf - h'_softmax| for d_r = 64, 256, ..., dr_max (fresh
    features per d_r; kernel attention by the implementation, exact softmax by the reference). Tokens are rescaled
    per instance so that max_j |k_j| and |q| equal ``key_norm`` (the spec's |W_K h|, |W_Q h| <= 1): the per-feature
    relative variance e^{|k+q|^2} - 1 then stays below e^4 - 1, so d_r = 64 is already in the asymptotic regime of
    the ratio estimator. Also returns the mean relative error at dr_max and, per instance, |error|^2 / its
    delta-method mean at dr_max."""
    S, N = cfg["rate_seeds"], cfg["N"]
    H, W_Q, W_K, W_V, _ = ctx.impl.random_instance(S, cfg["d_i"], cfg["d_o"], N, cfg["M"], 1, cfg["scale"],
                                                   cfg["token_bound"], ctx.generator(10), dtype=F64,
                                                   device=ctx.device)
    K, q, _ = _ref_project(H, W_Q, W_K, W_V)
    H = H * (cfg["key_norm"] / torch.maximum(K.norm(dim=1).amax(-1), q.norm(dim=-1)))[:, None, None]
    exact = _ref_softmax(H, W_Q, W_K, W_V)
    grid = [64 * 4**i for i in range(8) if 64 * 4**i <= cfg["dr_max"]]
    errors, err = [], None
    for i, d_r in enumerate(grid):
        g = ctx.generator(11 + i)
        chunk = max(1, (1 << 21) // (d_r * (N + cfg["M"])))  # bound the memory of phi(K) at large d_r
        err = []
        for s in range(0, S, chunk):
            sl = slice(s, s + chunk)
            Wr = torch.randn(H[sl].shape[0], d_r, cfg["d_o"], generator=g, dtype=F64, device=ctx.device)
            err.append((ctx.impl.kernel_attention(H[sl], W_Q[sl], W_K[sl], W_V[sl], Wr, N).h - exact[sl]).norm(dim=-1))
        err = torch.cat(err)
        errors.append(float(err.clamp(min=1e-300).log().mean().exp()))
    relative = float((err / exact.norm(dim=-1).clamp(min=1e-300)).mean())
    K, q, V = _ref_project(H, W_Q, W_K, W_V)
    ratio = err**2 / _prf_mse(K, q, V, grid[-1]).clamp(min=1e-300)
    return grid, errors, relative, ratio


def check_prf(cfg: dict, ctx: CheckContext) -> Outcome:
    B, d_o, d_r, r = cfg["batch"], cfg["d_o"], cfg["d_r"], cfg["radius"]
    sets = max(1, math.ceil(cfg["samples"] / d_r))
    g = ctx.generator()
    x, y = (r * torch.nn.functional.normalize(torch.randn(B, d_o, generator=g, dtype=F64, device=ctx.device), dim=-1)
            for _ in range(2))
    Wr = torch.randn(B, sets, d_r, d_o, generator=g, dtype=F64, device=ctx.device)
    phi_x = ctx.impl.prf(x[:, None, :, None], Wr).squeeze(-1)  # (B, sets, d_r): one d_r-feature map per set
    phi_y = ctx.impl.prf(y[:, None, :, None], Wr).squeeze(-1)
    Z = d_r * phi_x * phi_y  # per-feature terms; the estimator phi(x)^T phi(y) is their mean over a set
    mom = sym.prf_moments()
    m1, var, mu4 = _moments(x, y, mom)

    # Median of means over groups of whole feature sets; the false-fail budget is split over B instances x 2 tests.
    # At most sets // 2 groups: with samples >= 256, every group holds n_g >= 2 samples (a sample variance exists).
    plan = _median_of_means_plan(sets, FALSE_FAIL_RATE / (2 * B), max(1, sets // 2))
    per_group = sets // plan.groups
    n_g = per_group * d_r  # samples per group
    groups = Z[:, : plan.groups * per_group].reshape(B, plan.groups, n_g)
    mean_med = groups.mean(-1).median(-1).values
    var_med = groups.var(-1).median(-1).values
    sd_var = (mu4 / n_g - var**2 * (n_g - 3) / (n_g * (n_g - 1))).clamp(min=0).sqrt()  # sd of a group's S^2
    roundoff = identity_tolerance(F64, n_g, 1.0)  # relative, for summing n_g terms of size ~E[Z] (resp. E[Z^2])
    mean_radius = plan.radius(1.0) * (var / n_g).sqrt() + roundoff * m1
    var_radius = plan.k * sd_var + roundoff * (var + m1**2)  # round-off on terms of size E[Z^2]

    grid, errors, relative_at_max, ratio = _error_vs_dr(cfg, ctx)
    fit = fit_slope(grid, errors)
    accuracy = mean_verdict(ratio.tolist(), 1.0, "at_most", rate=FALSE_FAIL_RATE, power=POWER,
                            resolution=ACCURACY_RESOLUTION, unit="instances",
                            what=f"mean over instances of |hat h'_rf - h'_softmax|^2 / (delta-method PRF variance) "
                                 f"at d_r = {grid[-1]}")
    parts = {
        "unbiased: |median of means - e^{x.y}| / radius": Outcome.at_most(
            float(((mean_med - m1).abs() / mean_radius).max()), 1.0),
        "positive: min phi(x)^T phi(y) term": Outcome.at_least(float(Z.min()), 0.0),
        "sympy E[Z] = e^{xy} (1-D Gaussian integral)": _symbolic_part(mom.nonzero_mean),
        "sympy Var[Z] = e^{2xy}(e^{(x+y)^2} - 1)": _symbolic_part(mom.nonzero_variance),
        "variance: |median of sample variances - sigma^2| / radius": Outcome.at_most(
            float(((var_med - var).abs() / var_radius).max()), 1.0),
        "error_vs_dr log-log slope": Outcome.within(fit.slope, RATE_BAND[0], RATE_BAND[1]),
        "accuracy at dr_max: |hat h'_rf - h'_softmax|^2 within the PRF variance": accuracy,
    }
    reference = [errors[0] * math.sqrt(grid[0] / d) for d in grid]
    return Outcome.all_of(parts, instances=B, curves={"error_vs_dr": curve(
        "random features d_r", "geometric mean |hat h'_rf - h'_softmax|",
        {"measured": (grid, errors), "reference d_r^{-1/2}": (grid, reference)}, logx=True, logy=True)},
        details={"median_of_means": {"groups": plan.groups, "k": plan.k, "samples_per_group": n_g},
                 "slope": fit.slope, "slope_stderr": fit.stderr, "slope_r2": fit.r2,
                 "mean_relative_error_at_dr_max": relative_at_max,
                 "mean_error_ratio_at_dr_max": float(ratio.mean()),
                 "max_relative_variance_radius": float((var_radius / var)[var > 0].max()) if (var > 0).any()
                 else math.nan})


PRF_SMALL = dict(samples=1 << 13, rate_seeds=50, dr_max=1024, batch=4)


register(Claim(
    id="R-PRF",
    paper=PAPER,
    reference="Positive random features (Performer Lemma, used in Sec. 3)",
    title="Positive random features: unbiased, positive, with the Performer variance (reconstructed)",
    statement=(
        r"\phi(x)=\tfrac{e^{-\|x\|^2/2}}{\sqrt{d_r}}\big[e^{w_r^\top x}\big]_{r\le d_r},\ w_r\sim\mathcal N(0,I):\quad "
        r"\mathbb E\,\phi(x)^\top\phi(y)=e^{x^\top y},\ \phi>0,\ "
        r"\operatorname{Var}\phi(x)^\top\phi(y)=\tfrac{1}{d_r}e^{2x^\top y}\big(e^{\|x+y\|^2}-1\big),\ "
        r"\|\hat h'_{rf}-h'_{\mathrm{softmax}}\|=O(d_r^{-1/2})"
    ),
    provenance=Provenance.DERIVED_HIGH,
    kind=Kind.STATISTICAL,
    check=check_prf,
    params=(
        Param("d_o", int, min=1, max=64, doc="dimension of x, y (and of keys in the rate part)"),
        Param("d_r", int, min=1, max=1 << 14, doc="features per estimator phi(x)^T phi(y)"),
        Param("radius", float, gt=0, max=2, doc="|x| = |y| = radius (random directions)"),
        Param("samples", int, min=256, max=1 << 22, doc="per-feature samples per instance (rounded up to whole sets)"),
        Param("batch", int, min=1, max=256, doc="independent (x, y) pairs"),
        Param("d_i", int, min=1, max=64, doc="rate part: token dimension"),
        Param("N", int, min=1, max=4096, doc="rate part: demonstrations"),
        Param("M", int, min=1, max=64, doc="rate part: query-side tokens"),
        Param("scale", float, gt=0, max=10, doc="rate part: weight scale"),
        Param("token_bound", float, gt=0, max=10, doc="rate part: token entries in [-token_bound, token_bound]"),
        Param("rate_seeds", int, min=2, max=1024, doc="rate part: instances averaged per d_r"),
        Param("key_norm", float, gt=0, max=1, doc="rate part: tokens rescaled so that max |k_j|, |q| = key_norm"),
        Param("dr_max", int, min=256, max=1 << 16, doc="rate part: largest d_r of the grid 64, 256, ..."),
    ),
    defaults=dict(d_o=4, d_r=64, radius=0.5, samples=1 << 17, batch=8, d_i=6, N=15, M=3, scale=1.0,
                  token_bound=1.0, rate_seeds=50, key_norm=1.0, dr_max=16384),
    cost=Cost.MEDIUM,
    false_fail_rate=FALSE_FAIL_RATE,
    power=POWER,
    control=Control("R-M01", PRF_SMALL | {"radius": 0.5}, 0),
    tolerance=(
        "Mean and variance: median of means over g groups (odd) of whole feature sets, Chebyshev per group with the "
        "closed-form variance sigma^2 (mean) or Var(S^2) = mu4/m - sigma^4 (m-3)/(m(m-1)) (sample variance; sigma^2 "
        "and mu4 from the log-normal moments E[Z^k] = exp(k^2|x+y|^2/2 - k(|x|^2+|y|^2)/2), derived with sympy as "
        "polynomials in expm1(|x+y|^2) and lambdified to torch), "
        "k and g chosen so that P(Binomial(g, 1/k^2) >= (g+1)/2) <= 1e-6 / (2 batch) (union bound over instances and "
        "the two tests), plus 8 eps n round-off; the band widens with |x+y| as the log-normal tails do. Rate: "
        "least-squares slope of the log geometric-mean error (= the mean of the per-instance log-log slopes) vs "
        "log d_r over d_r = 64, 256, ..., dr_max must lie in [-0.65, -0.35]: a stated band around the asymptotic "
        "-1/2 of the ratio estimator. With 50 instances, dr_max = 16384 and |k|, |q| <= 1 the slope measured over "
        "150 random configurations of the property ranges had sd 0.024 and range [-0.57, -0.43]: the band is "
        "about 6 sd wide on each side. Accuracy at dr_max (the spec's accuracy check, asserted): per instance, "
        "r = |hat h'_rf - h'_softmax|^2 / m, m the delta-method mean of the ratio estimator's squared error from "
        "the PRF covariance Cov(hat K_j, hat K_l) = (E[Z_j Z_l] - K_j K_l)/d_r (closed form); the rule on the mean "
        "of r over the rate_seeds instances is printed in details (bound 1, Student-t limits at 1e-6, resolution "
        "1.5)."),
    notes=("Standard result of Choromanski et al. (2021), used by the paper (spec [R-high]); reconstructed, not the "
           "paper's text. The variance is tested per feature (Var[phi(x)^T phi(y)] = Var[Z]/d_r by independence of "
           "the w_r). The spec's fixed band [0.7, 1.4] for the variance ratio is replaced by the derived band above. "
           "The slope band is a stated project choice, not a false-fail-rate bound; the false-fail rate applies to "
           "the mean and variance parts."),
    figure="error_vs_dr",
))


# ---------------------------------------------------------------- R-T31
def _features(cfg: dict, ctx: CheckContext, Wr: torch.Tensor):
    """The implementation's feature map for kernel_attention (None = its PRF with Wr) and the reference kernel."""
    if cfg["features"] == "taylor":
        p = cfg["taylor_order"]
        return (lambda x: ctx.impl.taylor_features(x, p)), _taylor_kernel(p, cfg["d_o"])
    return None, _prf_kernel(Wr)


def _jacobian_wrt_query(fn, H: torch.Tensor) -> torch.Tensor:
    """d fn(H)/d h_{T+1} per instance, (B, d_o, d_i); the instances are independent, so the batch-summed output has
    the per-instance Jacobians as its blocks."""
    def of_query(v):
        return fn(torch.cat([H[..., :-1], v.unsqueeze(-1)], -1)).sum(0)

    J = torch.autograd.functional.jacobian(of_query, H[..., -1].clone())  # (d_o, B, d_i)
    return J.permute(1, 0, 2)


def _taylor_bound_part(cfg, H, W_Q, W_K, W_V, h_taylor, tol) -> tuple[Outcome, dict]:
    """Deterministic softmax approximation by Taylor features: with rho = max_j e^{max(0,-t_j)}|t_j|^{p+1}/(p+1)!
    (Lagrange remainder relative to e^{t_j}, t_j = k_j^T q), |hat h'_p - h'| <= max_j |v_j| 2 rho / (1 - rho)."""
    p = cfg["taylor_order"]
    K, q, V = _ref_project(H, W_Q, W_K, W_V)
    t = torch.einsum("bdj,bd->bj", K, q)
    rho = (torch.exp((-t).clamp(min=0)) * t.abs() ** (p + 1) / math.factorial(p + 1)).amax(-1)
    usable = rho < 1
    bound = V.norm(dim=-2).amax(-1) * 2 * rho / (1 - rho).clamp(min=1e-300) + tol
    err = (h_taylor - _ref_softmax(H, W_Q, W_K, W_V)).norm(dim=-1)
    ratio = float((err / bound)[usable].max()) if usable.any() else 0.0
    return Outcome.at_most(ratio if math.isfinite(ratio) else math.inf, 1.0), {
        "taylor_instances_with_rho_lt_1": int(usable.sum())}


def _jacobian_parts(cfg, ctx, H, W_Q, W_K, W_V, Wr, features, kernel, cond) -> tuple[dict, dict]:
    """Spec 4.10: the attention output and the dual prediction are the same function of the query token as the
    reference attention, so their Jacobians w.r.t. h_{T+1} agree exactly; also von Oswald et al.'s alignment metrics
    (their ``analyse``) between the implementation's attention and its dual model."""
    N, eta, impl = cfg["N"], cfg["eta"], ctx.impl

    def attention_out(Hq):
        return impl.kernel_attention(Hq, W_Q, W_K, W_V, Wr, N, features=features).h

    def dual_out(Hq):
        return _dual_prediction(impl, impl.kernel_attention(Hq, W_Q, W_K, W_V, Wr, N, features=features), eta)

    def reference_out(Hq):
        return _ref_attention(*_ref_project(Hq, W_Q, W_K, W_V), kernel, N).h

    J_ref = _jacobian_wrt_query(reference_out, H)
    J_attn, J_dual = _jacobian_wrt_query(attention_out, H), _jacobian_wrt_query(dual_out, H)
    # Each entry sums (N+M) d_feat d_o terms: a value times a score derivative, bounded through phi by
    # (max |w_r| + 2 max |k|) max |W_Q, W_K| d_i; the value path adds |W_V|.
    K = _ref_project(H, W_Q, W_K, W_V)[0]
    d_scores = (float(Wr.norm(dim=-1).amax()) if features is None else 1.0) + 2 * float(K.norm(dim=-2).amax())
    scale = (_scale(_tokens(W_V, H)) * d_scores * _scale(W_Q, W_K) * cfg["d_i"] + _scale(W_V)) * cond
    tol = identity_tolerance(F64, (N + cfg["M"]) * kernel.dim * cfg["d_o"] + cfg["d_i"], scale)
    flat_a, flat_d = J_attn.flatten(1), J_dual.flatten(1)
    metrics = {
        "min_cosine_of_input_gradients": float(torch.nn.functional.cosine_similarity(flat_a, flat_d, dim=-1).min()),
        "max_l2_gradient_difference": float((flat_a - flat_d).norm(dim=-1).max()),
    }
    return {"Jacobian d/dh_{T+1}: attention == reference": Outcome.at_most(_err(J_attn, J_ref), tol),
            "Jacobian d/dh_{T+1}: dual model == reference": Outcome.at_most(_err(J_dual, J_ref), tol)}, \
        {"von_oswald": metrics, "jacobian_tolerance": tol}


def _symbolic_parts(cfg: dict, ctx: CheckContext) -> dict[str, Outcome]:
    """Spec 4.4 (sympy, fixed small sizes): the one-step identity, the linear-kernel reduction, the least-squares
    bridge, and the lambdified symbolic gradient against autograd of the implementation's dual loss."""
    ident = sym.dual_gradient_identity()
    parts = {
        "sympy: W0 - eta dL/dW == W0 + sum y phi^T / D": _symbolic_part(ident.nonzero_update),
        "sympy: W1 phi_q == kernel attention": _symbolic_part(ident.nonzero_prediction),
        "sympy: linear kernel == Dai et al. dual form": _symbolic_part(sym.linear_kernel_reduction()),
        "sympy: least-squares bridge (von Oswald)": _symbolic_part(sum(sym.least_squares_bridge())),
    }
    g, B, eta = ctx.generator(3), cfg["batch"], cfg["eta"]
    kw = dict(generator=g, dtype=F64, device=ctx.device)
    W = torch.randn(B, ident.d_o, ident.d_r, **kw)
    X = torch.rand(B, ident.d_r, ident.N, **kw)  # positive, like features
    Y = torch.randn(B, ident.d_o, ident.N, **kw)
    D = 0.5 + torch.rand(B, **kw)
    Wg = W.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(ctx.impl.dual_loss(Wg, X, Y, D, eta), Wg)
    grad_scale = float(((Y.abs() @ X.abs().transpose(-1, -2)).amax((-1, -2)) / (eta * D)).max())
    parts["sympy gradient (lambdified) == autograd of dual_loss"] = Outcome.at_most(
        _err(sym.symbolic_gradient(W, X, Y, D, eta, ident), auto), identity_tolerance(F64, ident.N + 2, grad_scale))
    return parts


def check_t31(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    N, eta = cfg["N"], cfg["eta"]
    features, kernel = _features(cfg, ctx, Wr)
    ref = _ref_attention(*_ref_project(H, W_Q, W_K, W_V), kernel, N)
    cond = _cond(ref, kernel)
    tol = _tol(cfg, ref.V, d_feat=kernel.dim, cond=cond)
    ka = impl.kernel_attention(H, W_Q, W_K, W_V, Wr, N, features=features)
    W1 = impl.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, eta)
    y_test = impl.dual_predict(W1, ka.phi_q)
    w_tol = _weight_tol(ka)
    parts = {
        "y_test (dual model after one step) == h' (reference sum over tokens)": Outcome.at_most(
            _err(y_test, ref.h), tol),
        "kernel attention h' == reference": Outcome.at_most(_err(ka.h, ref.h), tol),
        "W1 independent of eta": Outcome.at_most(
            _err(W1, impl.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, eta * 7.0)), w_tol),
        "W1 - W0 == Y X^T / D": Outcome.at_most(
            _err(W1 - ka.W0, ka.Y @ ka.X.transpose(-1, -2) / ka.D[:, None, None]), w_tol),
        "D > 0": Outcome.at_least(float(ka.D.min()), 0.0),
        "weights sum to 1": Outcome.at_most(float((ka.weights.sum(-1) - 1).abs().max()), tol),
        "softmax_attention == explicit softmax over the T+1 tokens": Outcome.at_most(
            _err(impl.softmax_attention(H, W_Q, W_K, W_V), _ref_softmax(H, W_Q, W_K, W_V)),
            identity_tolerance(F64, (N + cfg["M"]) * cfg["d_o"] + cfg["d_i"], _scale(ref.V))),
    }
    parts |= _dual_data_parts(ka, ref, kernel, N, tol, cond)
    parts |= _instance_law_parts(cfg, H, W_Q, W_K, W_V, Wr)
    details: dict = {"tolerance": tol, "weight_tolerance": w_tol, "cond": cond}
    jac, extra = _jacobian_parts(cfg, ctx, H, W_Q, W_K, W_V, Wr, features, kernel, cond)
    parts |= jac
    details.update(extra)
    parts |= _symbolic_parts(cfg, ctx)
    if features is not None:
        parts["Taylor features: |hat h'_p - h'_softmax| <= 2 rho max|v| / (1 - rho)"], extra = _taylor_bound_part(
            cfg, H, W_Q, W_K, W_V, ka.h, tol)
        details.update(extra)
    return Outcome.all_of(parts, instances=cfg["batch"], details=details)


_register_identity(
    id="R-T31",
    reference="Theorem 3.1",
    title="Kernelised softmax attention equals the dual model's output after one GD step (reconstructed)",
    statement=(
        r"\hat h'_{T+1} = W_1\,\phi(W_Q h_{T+1}),\quad W_1 = W_0 - \eta\nabla_W \mathcal{L}(W_0),\quad "
        r"\mathcal{L}(W) = -\frac{1}{\eta D}\sum_{i=1}^{N} y_i^\top W\phi(x_i)"
    ),
    provenance=Provenance.DERIVED_HIGH,
    check=check_t31,
    params=(
        Param("features", str, choices=("prf", "taylor"), doc="positive random features or truncated Taylor features"),
        Param("taylor_order", int, min=0, max=4, doc="order p of the Taylor features (features='taylor')"),
    ),
    defaults={"features": "prf", "taylor_order": 2},
    assumptions=(
        Assumption("taylor_order even", lambda c: c["features"] != "taylor" or c["taylor_order"] % 2 == 0,
                   "an even truncation of exp is positive, so D > 0 and the weights are positive"),
    ),
    control=Control("R-M03", SMALL, 0),
    tolerance=(IDENTITY_TOLERANCE + "; Taylor features multiply the scale by the cancellation factor "
               "max sqrt(k(k,k) k(q,q)) / |k(k,q)|. Jacobians: 8 eps x ((N+M) d_feat d_o + d_i) x (max|v| (max|w_r| "
               "+ 2 max|k|) max|W_Q,W_K| d_i + max|W_V|). Symbolic parts: residual entries after simplify must all "
               "be 0. Lambdified gradient vs autograd: 8 eps (N+2) max |y||phi| / (eta D). Taylor approximation: "
               "the Lagrange-remainder bound plus the identity tolerance."),
    notes=("The paper states the existence of the equivalence; the construction (W0 from the query-side tokens, the "
           "d_o^{-1/4} scaling, the loss normalisation eta*D) is reconstructed, in the convention of spec §1 (no "
           "residual, the query's own value in the numerator, D over all T+1 keys); the errata's conventions are "
           "not yet config choices. The reference side is built in the check: keys, query and values token by "
           "token, scores from the kernel (per-token PRF features, or the Taylor kernel's closed form), h' as a sum "
           "over tokens; the implementation's X, phi(q) and W_0 are compared through the kernel (X^T X, X^T phi(q), "
           "|phi(q)|^2, W_0 phi(q), W_0 W_0^T), so the dual prediction is never checked against the same call that "
           "produced it. Includes the von Oswald-style cross-check (spec 4.10: Jacobians w.r.t. the query token), "
           "the sympy pieces of spec 4.4 (fixed small sizes: 2x3 W, N = 2, M = 1) and the law of random_instance. "
           "The spec's 'W_1 phi_q = (1/D)(sum y_i phi_i^T phi_q + W_0 phi_q)' double-counts 1/D in W_0; the "
           "symbolic part checks W_1 phi_q = (1/D) sum_j v_j phi(k_j)^T phi(q) with W_0 = (1/D) sum_Q v_j "
           "phi(k_j)^T."),
)


# ---------------------------------------------------------------- R-SEQ and R-F3 (left)
def _sequential_parts(cfg: dict, ctx: CheckContext) -> tuple[dict, dict, dict]:
    """N one-sample SGD steps in a random order per instance vs the reference attention; parts, curves, details."""
    impl = ctx.impl
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    B, N, eta = cfg["batch"], cfg["N"], cfg["eta"]
    ref = _ref_attention(*_ref_project(H, W_Q, W_K, W_V), _prf_kernel(Wr), N)
    ka = impl.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    order = impl.random_order(B, N, ctx.generator(1))
    is_perm = order.shape == (B, N) and bool((order.sort(-1).values == torch.arange(N, device=order.device)).all())
    traj = impl.sequential_sgd(ka.W0, ka.X, ka.Y, ka.D, eta, order)  # (B, steps+1, d_o, d_r)
    preds = (traj @ ka.phi_q[:, None, :, None]).squeeze(-1)
    e = (preds - ref.h[:, None, :]).norm(dim=-1)  # e_t against the reference h', (B, steps+1)
    tol = _tol(cfg, ref.V)
    steps = traj.shape[1] - 1
    idx = order[:, :steps].clamp(0, N - 1)
    gather = lambda T: T.gather(-1, idx[:, None, :].expand(-1, T.shape[1], -1))  # noqa: E731
    expected = torch.einsum("bat,brt->btar", gather(ka.Y), gather(ka.X)) / ka.D[:, None, None, None]
    W1 = ka.W0 + ka.Y @ ka.X.transpose(-1, -2) / ka.D[:, None, None]  # one full-batch step, closed form
    e_N = float(e[:, -1].max())
    parts = {
        "order: a permutation of the N demonstrations per instance": Outcome.at_most(0.0 if is_perm else 1.0, 0.5),
        "one SGD step per demonstration": Outcome.at_most(abs(steps - N), 0.5),
        "e_N = |W^(N) phi(q) - h'| (reference)": Outcome.at_most(e_N if math.isfinite(e_N) else math.inf, tol),
        "W^(N) == W_0 + Y X^T / D (one full-batch step)": Outcome.at_most(_err(traj[:, -1], W1), _weight_tol(ka)),
        "step t adds y_i phi(x_i)^T / D": Outcome.at_most(_err(traj[:, 1:] - traj[:, :-1], expected),
                                                          _weight_tol(ka)),
        "kernel attention h' == reference": Outcome.at_most(_err(ka.h, ref.h), tol),
    }
    t = list(range(steps + 1))
    curves = {"e_t": curve("SGD step t (one demonstration each)", "|W^(t) phi(q) - hat h'|",
                           {"mean over instances": (t, e.mean(0)), "max over instances": (t, e.amax(0))})}
    return parts, curves, {"tolerance": tol, "e_N_max": e_N}


def check_seq(cfg: dict, ctx: CheckContext) -> Outcome:
    parts, curves, details = _sequential_parts(cfg, ctx)
    return Outcome.all_of(parts, instances=cfg["batch"], curves=curves, details=details)


_register_identity(
    id="R-SEQ",
    reference="Sec. 3 (sequential demonstrations; corollary of Theorem 3.1)",
    title="Feeding the demonstrations one per SGD step reaches the same dual model (reconstructed)",
    statement=(r"W^{(t)} = W^{(t-1)} - \eta\nabla_W\mathcal L_{\pi(t)}(W^{(t-1)}),\ "
               r"\mathcal L_i(W) = -\tfrac{1}{\eta D} y_i^\top W\phi(x_i):\quad W^{(N)} = W_1,\ "
               r"W^{(N)}\phi(q) = \hat h'_{T+1}\ \text{for every permutation }\pi"),
    provenance=Provenance.DERIVED_HIGH,
    check=check_seq,
    control=Control("R-M13", SMALL, 0),
    tolerance=IDENTITY_TOLERANCE + "; each one-sample gradient by autograd",
    notes=("Reconstructed (spec [R-med]): the loss is linear in W, so the order of the one-sample steps does not "
           "matter; e_t need not decrease monotonically and is not asserted to. e_N is measured against the "
           "reference attention built in the check."),
    figure="e_t",
)


# ---------------------------------------------------------------- R-T32
def t32_bound(N: int, B_W: float, B_V: float, B_phi: float, delta: float) -> float:
    """Reconstructed bound (spec §1.6): 2 B_W B_V B_phi / sqrt(N) + 2 c sqrt(log(1/delta) / (2N)),
    c = B_W B_V B_phi."""
    c = B_W * B_V * B_phi
    return 2 * c / math.sqrt(N) + 2 * c * math.sqrt(math.log(1 / delta) / (2 * N))


T32_SLOPE_BAND = (-0.7, -0.3)
T32_RESOLUTION = 0.1  # the exceedance rate above delta that the binomial decision resolves


def check_t32(cfg: dict, ctx: CheckContext) -> Outcome:
    g = ctx.generator()
    d_i, d_o, d_r, K = cfg["d_i"], cfg["d_o"], cfg["d_r"], cfg["support"]
    kw = dict(generator=g, dtype=F64, device=ctx.device)
    # P = uniform over K fixed points of the ball: population quantities are exact averages, the bounds exact maxima.
    h = ctx.impl.uniform_ball(K, d_i, cfg["radius"], g)  # (K, d_i)
    radii = h.norm(dim=-1) / cfg["radius"] if h.shape == (K, d_i) else torch.full((K,), math.inf, dtype=F64)
    # uniform in the ball <=> |h|/r has CDF t^d_i (and the direction is uniform): (|h|/r)^d_i ~ U(0, 1)
    ball_law = _uniform_law(radii**d_i, "uniform_ball radii (|h|/r)^d_i")
    h = h.T
    W_K, W_V = (torch.randn(d_o, d_i, **kw) * cfg["scale"] / math.sqrt(d_i) for _ in range(2))
    Wr = torch.randn(d_r, d_o, **kw)
    phi = ctx.impl.prf(d_o**-0.25 * (W_K @ h), Wr)  # (d_r, K)
    y = W_V @ h  # (d_o, K)
    Z = torch.einsum("ak,rk->kar", y, phi).reshape(K, -1)  # vec(y phi^T): the loss is -<W, y phi^T>
    G = Z.mean(0)
    B_V, B_phi, B_W = float(y.norm(dim=0).max()), float(phi.norm(dim=0).max()), cfg["B_W"]
    Ns = [8 * 2**i for i in range(20) if 8 * 2**i <= cfg["N_max"]]
    trials = cfg["trials"]
    mean_gap, max_gap, bounds, violations, decisions = [], [], [], [], {}
    for N in Ns:
        idx = torch.randint(K, (trials, N), generator=g, device=ctx.device)
        counts = torch.zeros(trials, K, dtype=F64, device=ctx.device).scatter_add_(
            1, idx, torch.ones(trials, N, dtype=F64, device=ctx.device))
        # sup over |W|_F <= B_W of E l(W) - (1/N) sum_i l(W; h_i) = sup <W, hat G - G> = B_W |hat G - G|_F
        gap = B_W * (counts @ Z / N - G).norm(dim=-1)
        b = t32_bound(N, B_W, B_V, B_phi, cfg["delta"])
        mean_gap.append(float(gap.mean()))
        max_gap.append(float(gap.max()))
        bounds.append(b)
        violations.append(int((gap > b).sum()))
        decisions[N] = binomial_verdict(violations[-1], trials, cfg["delta"], "at_most",
                                        rate=FALSE_FAIL_RATE / len(Ns), power=POWER, resolution=T32_RESOLUTION,
                                        what=f"P(sup gap > bound) at N = {N}")
    fit = fit_slope(Ns, mean_gap)
    worst = min(decisions, key=lambda n: decisions[n].margin)
    parts = {
        f"P(sup gap > bound) <= delta (worst N = {worst})": decisions[worst],
        "mean sup gap log-log slope in N": Outcome.within(fit.slope, *T32_SLOPE_BAND),
        "P: uniform_ball is uniform in the ball": ball_law,
    }
    return Outcome.all_of(parts, instances=trials, curves={"gap_vs_N": curve(
        "demonstrations N", "sup_W generalisation gap",
        {"mean over trials": (Ns, mean_gap), "max over trials": (Ns, max_gap), "reconstructed bound": (Ns, bounds)},
        logx=True, logy=True)}, details={"violations": violations, "B_V": B_V, "B_phi": B_phi,
                                          "slope": fit.slope, "slope_stderr": fit.stderr,
                                          "max_gap_over_bound": max(a / b for a, b in zip(max_gap, bounds))})


register(Claim(
    id="R-T32",
    paper=PAPER,
    reference="Theorem 3.2",
    title="Generalisation gap of the dual model decreases as O(1/sqrt(N)) (reconstructed bound, not the paper's)",
    statement=(r"\Pr\Big[\forall \|W\|_F\le B_W:\ \mathbb E_P\ell(W;h)-\tfrac1N\sum_{i=1}^N\ell(W;h_i)\le "
               r"\tfrac{2B_WB_VB_\phi}{\sqrt N}+2c\sqrt{\tfrac{\log(1/\delta)}{2N}}\Big]\ge 1-\delta,\ "
               r"\ell(W;h)=-(W_Vh)^\top W\phi(W_Kh),\ c=B_WB_VB_\phi"),
    provenance=Provenance.DERIVED_LOW,
    kind=Kind.STATISTICAL,
    check=check_t32,
    params=(
        Param("d_i", int, min=1, max=64), Param("d_o", int, min=1, max=64), Param("d_r", int, min=1, max=1024),
        Param("scale", float, gt=0, max=10, doc="W_K, W_V are N(0,1)/sqrt(d_i) * scale"),
        Param("radius", float, gt=0, max=10, doc="P: uniform over `support` points drawn uniformly in this ball"),
        Param("support", int, min=1, max=1 << 16, doc="support size of P (population quantities exact)"),
        Param("B_W", float, gt=0, max=1e3, doc="norm bound of the dual weights"),
        Param("delta", float, gt=0, max=0.5, doc="confidence parameter of the bound"),
        Param("trials", int, min=1, max=1 << 14, doc="independent demonstration sets per N"),
        Param("N_max", int, min=16, max=1 << 14, doc="largest N of the grid 8, 16, ..."),
    ),
    defaults=dict(d_i=4, d_o=4, d_r=32, scale=1.0, radius=1.0, support=1024, B_W=1.0, delta=0.05, trials=200,
                  N_max=1024),
    cost=Cost.MEDIUM,
    false_fail_rate=FALSE_FAIL_RATE,
    power=POWER,
    control=Control("R-M32", dict(trials=200, N_max=256, support=256, d_r=8), 0),
    tolerance=("(a) per N, the exceedance count k of `trials` trials whose uniform gap B_W |hat G - G|_F exceeds the "
               "bound: one-sided Clopper-Pearson limits at 1e-6 / |grid| (union bound), violated if the lower limit "
               "> delta, held if the upper limit <= delta + 0.1 (resolution), else inconclusive; the worst N is the "
               "part shown (its rule in details); "
               "(b) least-squares slope of log mean gap vs log N in the stated band [-0.7, -0.3] around -1/2; "
               "(c) the law of P's support: (|h|/r)^d_i ~ U(0, 1), DKW at 1e-6."),
    notes=("Theorem 3.2's form and constants are NOT FOUND; this is the spec's reconstructed Rademacher bound (§1.6), "
           "labelled 'reconstructed bound'. P is the uniform distribution on a fixed finite sample of the ball, so "
           "G = E[y phi^T], B_V and B_phi are exact (no Monte-Carlo error in the population loss, unlike the spec's "
           "10^5 fresh samples). The gap is the supremum over the whole class (W = B_W (hat G - G)/|.|), which is "
           "stronger than the spec's W = B_W normalize(sum y_i phi_i^T). The bound is loose (max_gap_over_bound "
           "about 1/8.6 at the defaults), so parts (a) and (b) cannot fail on a wrong model: the claim's teeth are "
           "part (c), the law of the ball sampler that P is drawn from (a sampler bug is what breaks the "
           "theorem's i.i.d.-from-the-ball hypothesis)."),
    figure="gap_vs_N",
))


# ---------------------------------------------------------------- R-FFN
def _ref_ffn(z: torch.Tensor, W_1: torch.Tensor, W_2: torch.Tensor, activation: str, residual: bool):
    """``W_2 sigma(W_1 z)`` (+ z) written out: ReLU as max(u, 0), GELU as u Phi(u) = u (1 + erf(u/sqrt 2)) / 2."""
    u = torch.einsum("bfo,bo->bf", W_1, z)
    a = u.clamp(min=0) if activation == "relu" else 0.5 * u * (1 + torch.erf(u / math.sqrt(2)))
    out = torch.einsum("bof,bf->bo", W_2, a)
    return z + out if residual else out


def check_ffn(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    N, eta, act, residual, d_o, d_ff = cfg["N"], cfg["eta"], cfg["activation"], cfg["residual"], cfg["d_o"], cfg["d_ff"]
    W_1, W_2 = impl.random_ffn(cfg["batch"], d_o, d_ff, ctx.generator(2), device=ctx.device)
    ref = _ref_attention(*_ref_project(H, W_Q, W_K, W_V), _prf_kernel(Wr), N)
    h2_ref = _ref_ffn(ref.h, W_1, W_2, act, residual)
    h2, ka = impl.transformer_layer(H, W_Q, W_K, W_V, Wr, N, W_1, W_2, act, residual)
    z = _dual_prediction(impl, ka, eta)  # the dual model's inner representation W_1 phi(x_test) after one step
    # |FFN(z) - FFN(z')|_inf <= (1.13 |W_2|_inf |W_1|_inf + residual) |z - z'|_inf (ReLU 1-, GELU 1.13-Lipschitz)
    row_sum = lambda W: float(W.abs().sum(-1).amax())  # noqa: E731
    lip = 1.13 * row_sum(W_2) * row_sum(W_1) + float(residual)
    tol = _tol(cfg, ref.V) * max(lip, 1.0) + identity_tolerance(F64, d_ff + d_o, lip * _scale(ref.h))
    parts = {
        "attention + FFN layer == reference (explicit FFN of the reference h')": Outcome.at_most(_err(h2, h2_ref), tol),
        "FFN(dual prediction) == reference": Outcome.at_most(_err(impl.ffn(z, W_1, W_2, act, residual), h2_ref), tol),
        "law: W_1 ~ N(0,1)/sqrt(d_o), W_2 ~ N(0,1)/sqrt(d_ff)": _normal_law(
            torch.cat([(W_1 * math.sqrt(d_o)).flatten(), (W_2 * math.sqrt(d_ff)).flatten()]), "FFN weights"),
    }
    if act == "relu":
        A = impl.relu_linearisation(ka.h, W_1, W_2, residual)  # mask Lambda fixed at the query's h'
        mask = (torch.einsum("bfo,bo->bf", W_1, ref.h) > 0).to(F64)
        A_ref = torch.einsum("bof,bf,bfp->bop", W_2, mask, W_1) + (torch.eye(d_o, dtype=F64) if residual else 0.0)
        # An entry of W_1 h' within round-off of 0 may flip the mask: compare A only where no pre-activation is that
        # close (the lifted prediction below is continuous there and is compared everywhere).
        clear = (torch.einsum("bfo,bo->bf", W_1, ref.h).abs() > 1e3 * tol).all(-1)
        W0_lift, Y_lift = impl.lift_dual(A, ka.W0, ka.Y)
        y_lift = impl.dual_predict(impl.dual_one_step(W0_lift, ka.X, Y_lift, ka.D, eta), ka.phi_q)
        parts["A = W_2 Lambda W_1 (+I) == reference"] = Outcome.at_most(
            _err(A[clear], A_ref[clear]) if A.shape == A_ref.shape else math.inf,
            identity_tolerance(F64, d_ff, row_sum(W_2) * row_sum(W_1) + 1))
        parts["lifted dual (init A W_0, labels A y_i) == reference"] = Outcome.at_most(_err(y_lift, h2_ref), tol)
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol, "lipschitz": lip})


_register_identity(
    id="R-FFN",
    reference="Appendix (one Transformer layer)",
    title="Attention + FFN equals the lifted dual model after one GD step on W (reconstructed spec)",
    statement=(r"h''_{T+1} = W_2\sigma(W_1\hat h'_{T+1})\,[+\hat h'_{T+1}] = f(x_{\mathrm{test}}),\ "
               r"f(x) = W_2\sigma(W_1 W\phi(x))\,[+W\phi(x)],\ W = W_0 - \eta\nabla\mathcal L(W_0);\ "
               r"\text{ReLU: } h'' = (A W_0 - \eta\nabla\mathcal L_A(A W_0))\phi(q),\ A = W_2\Lambda W_1\,[+I]"),
    provenance=Provenance.DERIVED_LOW,
    check=check_ffn,
    params=(
        Param("d_ff", int, min=1, max=256, doc="FFN hidden width"),
        Param("activation", str, choices=("relu", "gelu")),
        Param("residual", bool, doc="h'' = h' + FFN(h') (residual around the FFN)"),
    ),
    defaults={"d_ff": 16, "activation": "relu", "residual": False},
    control=Control("R-M15", SMALL | {"activation": "gelu"}, 0),
    tolerance=(IDENTITY_TOLERANCE + ", times the FFN's Lipschitz constant 1.13 |W_2|_inf |W_1|_inf (+1 residual), "
               "plus 8 eps (d_ff + d_o) x that constant x max|h'| for the FFN itself"),
    notes=("Exact form NOT FOUND (spec [R-low]); this is the spec's reconstruction: only W is trained, on the same "
           "loss as Theorem 3.1 applied to the inner representation; the residual (a flag) is around the FFN only. "
           "Both sides are compared with a reference built in the check (reference attention, FFN written out with "
           "ReLU = max(u, 0) and GELU = u Phi(u)). For ReLU the lifted reading (mask fixed at the query's h') is "
           "checked too; with GELU only the first parts."),
)


# ---------------------------------------------------------------- R-ML
FINITE_STACK = "float64 range: the stack's activations stay finite (deep, large-scale draws overflow exp(q.k))"


def _ref_stack(H: torch.Tensor, layers, causal: bool, residual: bool) -> list[torch.Tensor]:
    """Kernelised attention at every position written out: out_t = sum_{j (<= t)} v_j k(k_j, q_t) / sum_j k(k_j, q_t),
    keys, queries and values token by token, per-token PRF features of each layer's w_r."""
    hs = [H]
    for w in layers:
        prev = hs[-1]
        s = w.W_Q.shape[1] ** -0.25
        S = _prf_kernel(w.Wr).gram(s * _tokens(w.W_K, prev), s * _tokens(w.W_Q, prev))  # S[j, t]
        if causal:
            S = S * (torch.arange(S.shape[-1])[:, None] <= torch.arange(S.shape[-1])[None, :]).to(S.dtype)
        out = torch.einsum("bvj,bjt->bvt", _tokens(w.W_V, prev), S) / S.sum(1)[:, None, :]
        hs.append(prev + out if residual else out)
    return hs


def check_ml(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    B, N, M, eta, causal, residual = cfg["batch"], cfg["N"], cfg["M"], cfg["eta"], cfg["causal"], cfg["residual"]
    H = _instance(cfg, ctx)[0]
    layers = impl.random_stack(B, cfg["d_i"], cfg["d_o"], cfg["L"], cfg["d_r"], cfg["scale"], ctx.generator(2),
                               device=ctx.device)
    ref = _ref_stack(H, layers, causal, residual)
    if not all(bool(torch.isfinite(h).all()) for h in ref):  # exp(q.k) overflowed: both sides are inf/NaN
        raise AssumptionNotMet(FINITE_STACK)
    hs = impl.attention_stack(H, layers, causal=causal, residual=residual)
    parts, errors = {}, []
    for l, w in enumerate(layers, start=1):
        tol = _tol(cfg, _tokens(w.W_V, ref[l - 1]))
        parts[f"layer {l}: stack output at all positions == reference"] = Outcome.at_most(
            _err(hs[l], ref[l]) if len(hs) > l else math.inf, tol * (l if residual else 1))
        ka = impl.kernel_attention(ref[l - 1], w.W_Q, w.W_K, w.W_V, w.Wr, N)
        y = _dual_prediction(impl, ka, eta)
        out = ref[l][..., -1] - (ref[l - 1][..., -1] if residual else 0.0)  # the attention part of layer l
        errors.append(_err(y, out))
        parts[f"layer {l}: h^(l)_(T+1) == dual model l after one step"] = Outcome.at_most(errors[-1], tol)
    d_in = [cfg["d_i"]] + [cfg["d_o"]] * (cfg["L"] - 1)
    parts["law: stack weights N(0,1) scale/sqrt(d_in), w_r ~ N(0, I)"] = _normal_law(torch.cat(
        [torch.cat([W.flatten() * math.sqrt(d) / cfg["scale"] for W in (w.W_Q, w.W_K, w.W_V)] + [w.Wr.flatten()])
         for w, d in zip(layers, d_in)]), "stack weights")
    return Outcome.all_of(parts, instances=B, details={"layer_errors": errors})


_register_identity(
    id="R-ML",
    reference="Appendix (multiple attention layers)",
    title="L stacked attention layers equal L dual models, one GD step each (reconstructed)",
    statement=(r"h^{(\ell)}_{T+1} = W^{(\ell)}_1\phi(W_Q^{(\ell)}h^{(\ell-1)}_{T+1}),\ "
               r"x^{(\ell)}_i = W_K^{(\ell)}h^{(\ell-1)}_i,\ y^{(\ell)}_i = W_V^{(\ell)}h^{(\ell-1)}_i,\ "
               r"\ell = 1,\dots,L"),
    provenance=Provenance.DERIVED_HIGH,
    check=check_ml,
    params=(
        Param("L", int, min=1, max=16, doc="layers"),
        Param("causal", bool, doc="causal mask at every position (the query sees all positions either way)"),
        Param("residual", bool, doc="h^(l) = h^(l-1) + attention (needs d_o == d_i); the identity is for the "
                                    "attention part"),
    ),
    defaults={"L": 3, "causal": False, "residual": False},
    control=Control("R-M19", SMALL | {"L": 2, "causal": True}, 0),
    tolerance=IDENTITY_TOLERANCE + " (per layer, values of that layer's input; x l for a residual stack)",
    notes=("Spec [R-med]: the dual data of layer l come from layer l-1's outputs at all positions; the caption's "
           "existence statement is STATED, the form reconstructed. The reference stack is written out in the check "
           "(per-token features, explicit sums over positions, causal mask j <= t); the implementation's stack is "
           "compared with it at every position, and each layer's dual model (built by the implementation from the "
           "reference layer input) with the reference output at the query. Deep stacks with large weights can "
           "overflow float64 in exp(q.k) (a thorough run: L = 4, scale 2): such a draw is reported as assumption "
           "not met."),
)


# ---------------------------------------------------------------- R-REG, R-AUG, R-NEG
def check_reg(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    N, eta, alpha = cfg["N"], cfg["eta"], cfg["alpha"]
    K, q, V = _ref_project(H, W_Q, W_K, W_V)
    kernel = _prf_kernel(Wr)
    ref = _ref_attention(K, q, V, kernel, N, query_side_scale=1 - alpha)
    plain = _ref_attention(K, q, V, kernel, N)
    ka = impl.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    W1 = impl.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, eta, reg_alpha=alpha)
    tol = _tol(cfg, V)
    closed = (1 - alpha) * ka.W0 + ka.Y @ ka.X.transpose(-1, -2) / ka.D[:, None, None]
    parts = {
        "regularised attention == reference ((1 - alpha) on the query-side terms)": Outcome.at_most(
            _err(impl.regularised_attention(H, W_Q, W_K, W_V, Wr, N, alpha).h, ref.h), tol),
        "one step on L + alpha/(2 eta)|W|^2 == reference": Outcome.at_most(
            _err(impl.dual_predict(W1, ka.phi_q), ref.h), tol),
        "W_1 == (1 - alpha) W_0 + Y X^T / D": Outcome.at_most(_err(W1, closed), _weight_tol(ka)),
        "alpha = 0 recovers R-T31": Outcome.at_most(
            _err(impl.regularised_attention(H, W_Q, W_K, W_V, Wr, N, 0.0).h, plain.h), tol),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


def _ref_mlp(g, X: torch.Tensor) -> torch.Tensor:
    """``g(x) = W_2 tanh(W_1 x + b_1) + b_2`` one column at a time; None = identity."""
    if g is None:
        return X
    return torch.stack([torch.einsum("boh,bh->bo", g.W_2, torch.tanh(torch.einsum("bhd,bd->bh", g.W_1, X[..., j])
                                                                         + g.b_1[..., 0])) + g.b_2[..., 0]
                        for j in range(X.shape[-1])], -1)


def check_aug(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    B, N, eta, d_o, d_h, aq = cfg["batch"], cfg["N"], cfg["eta"], cfg["d_o"], cfg["d_hidden"], cfg["augment_query"]
    g_K = impl.random_mlp(B, d_o, d_h, d_o, ctx.generator(3), device=ctx.device)
    g_V = impl.random_mlp(B, d_o, d_h, d_o, ctx.generator(4), device=ctx.device)
    K, q, V = _ref_project(H, W_Q, W_K, W_V)
    kernel = _prf_kernel(Wr)
    # The augmented dual problem from its definition: x_i = g_K(k_i), y_i = g_V(v_i), query g_K(q) or q.
    q_aug = _ref_mlp(g_K, q[..., None])[..., 0] if aq else q
    ref = _ref_attention(_ref_mlp(g_K, K), q_aug, _ref_mlp(g_V, V), kernel, N)
    plain = _ref_attention(K, q, V, kernel, N)
    ka = impl.augmented_attention(H, W_Q, W_K, W_V, Wr, N, g_K, g_V, aq)
    tol = _tol(cfg, ref.V, V)
    parts = {
        "augmented attention == reference (views built per token)": Outcome.at_most(_err(ka.h, ref.h), tol),
        "one step on the augmented dual data == reference": Outcome.at_most(
            _err(_dual_prediction(impl, ka, eta), ref.h), tol),
        "g = identity recovers R-T31": Outcome.at_most(
            _err(impl.augmented_attention(H, W_Q, W_K, W_V, Wr, N, None, None, aq).h, plain.h), tol),
        "law: g_K, g_V weights N(0,1)/sqrt(fan_in), biases N(0, 0.01)": _normal_law(torch.cat(
            [torch.cat([g.W_1.flatten() * math.sqrt(d_o), g.b_1.flatten() * 10, g.W_2.flatten() * math.sqrt(d_h),
                        g.b_2.flatten() * 10]) for g in (g_K, g_V)]), "MLP weights"),
    }
    parts |= {f"augmented {k}": v for k, v in _dual_data_parts(ka, ref, kernel, N, tol, 1.0).items()}
    return Outcome.all_of(parts, instances=B, details={"tolerance": tol})


def _ref_negative_means(V: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``ybar_i^- = mean_{j in neg(i)} v_j`` token by token (zero for an empty set), (B, d_o, N)."""
    cols = []
    for i in range(mask.shape[-1]):
        w = mask[:, i, :]  # (B, N): 1 where j is a negative of i
        cols.append(torch.einsum("bvj,bj->bv", V, w) / w.sum(-1).clamp(min=1)[:, None])
    return torch.stack(cols, -1)


def check_neg(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    B, N, eta, beta = cfg["batch"], cfg["N"], cfg["eta"], cfg["beta"]
    mask = impl.negative_sets(B, N, cfg["n_neg"], ctx.generator(5))
    n_eff = min(cfg["n_neg"], N - 1)
    K, q, V = _ref_project(H, W_Q, W_K, W_V)
    kernel = _prf_kernel(Wr)
    Y_neg = _ref_negative_means(V[..., :N], mask)
    ref = _ref_attention(K, q, torch.cat([V[..., :N] - beta * Y_neg, V[..., N:]], -1), kernel, N)
    plain = _ref_attention(K, q, V, kernel, N)
    ka = impl.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    tol = _tol(cfg, V) * (1 + beta)  # values v_i - beta ybar_i are at most (1 + beta) max|v|
    ok_mask = mask.shape == (B, N, N) and bool(((mask == 0) | (mask == 1)).all())
    parts = {
        "negative attention == reference (values v_i - beta ybar_i, means per token)": Outcome.at_most(
            _err(impl.negative_attention(H, W_Q, W_K, W_V, Wr, N, beta, mask).h, ref.h), tol),
        "one step on L_neg == reference": Outcome.at_most(
            _err(_dual_prediction(impl, ka, eta, Y_neg=Y_neg, beta=beta), ref.h), tol),
        "negatives: other demonstrations, min(n_neg, N-1) each": Outcome.at_most(
            float(mask.diagonal(dim1=-2, dim2=-1).abs().sum() + (mask.sum(-1) - n_eff).abs().max())
            if ok_mask else math.inf, 0.5),
        "beta = 0 recovers R-T31": Outcome.at_most(
            _err(impl.negative_attention(H, W_Q, W_K, W_V, Wr, N, 0.0, mask).h, plain.h), tol),
    }
    return Outcome.all_of(parts, instances=B, details={"tolerance": tol, "negatives_per_token": n_eff})


_MOD_NOTE = ("Exact formula NOT FOUND (spec [R-low]): the modification is derived here so that 'modified attention == "
             "one GD step on the modified dual loss' holds exactly; that consistency is what is checked (a "
             "specification this project chooses, not the paper's text). Both sides are compared with a reference "
             "built in the check from the raw inputs. ")

_register_identity(
    id="R-REG",
    reference="Sec. 5 (regularised models)",
    title="Regularised attention equals one GD step on the L2-regularised dual loss (reconstructed spec)",
    statement=(r"\mathcal L_{\mathrm{reg}} = \mathcal L + \tfrac{\alpha}{2\eta}\|W\|_F^2:\ "
               r"W_1 = (1-\alpha)W_0 + \tfrac1D\sum_i y_i\phi(x_i)^\top,\ "
               r"\hat h'_{\mathrm{reg}} = \tfrac1D\big[(1-\alpha)\sum_{j\in Q}v_j\phi(k_j)^\top"
               r"+\sum_{i\le N}v_i\phi(k_i)^\top\big]\phi(q)"),
    provenance=Provenance.DERIVED_LOW,
    check=check_reg,
    params=(Param("alpha", float, min=0, max=1, doc="regularisation strength"),),
    defaults={"alpha": 0.5},
    control=Control("R-M29", SMALL | {"alpha": 0.5}, 0),
    notes=_MOD_NOTE + ("D is the unmodified normaliser, so the weights sum to 1 - alpha (sum over Q of the weights); "
                       "the spec's 'adds log(1-alpha) to those logits' would renormalise and is not the same map."),
)

_register_identity(
    id="R-AUG",
    reference="Sec. 5 (augmented models)",
    title="Attention on nonlinear views equals one GD step on the augmented dual data (reconstructed spec)",
    statement=(r"x_i = g_K(k_i),\ y_i = g_V(v_i):\ \hat h'_{\mathrm{aug}} = W_1\phi(q'),\ "
               r"q' = g_K(q)\text{ or } q"),
    provenance=Provenance.DERIVED_LOW,
    check=check_aug,
    params=(
        Param("d_hidden", int, min=1, max=256, doc="hidden width of the random MLPs g_K, g_V (tanh)"),
        Param("augment_query", bool, doc="apply g_K to the query too"),
    ),
    defaults={"d_hidden": 8, "augment_query": False},
    control=Control("R-M21", SMALL, 0),
    tolerance=IDENTITY_TOLERANCE + " (values after g_V)",
    notes=_MOD_NOTE + ("g_K and g_V are random two-layer tanh MLPs applied to every token's key/value (after the "
                       "d_o^{-1/4} scaling); the reference applies them token by token. Whether the paper augments "
                       "the query-side tokens or the query is NOT FOUND (augment_query is a flag)."),
)

_register_identity(
    id="R-NEG",
    reference="Sec. 5 (negative models)",
    title="Attention with negative samples equals one GD step on the dual loss with negatives (reconstructed spec)",
    statement=(r"\mathcal L_{\mathrm{neg}} = -\tfrac{1}{\eta D}\sum_i (y_i-\beta\bar y_i^-)^\top W\phi(x_i):\ "
               r"W_1\phi(q) = \hat h'\big|_{v_i \to v_i-\beta\bar y_i^-}"),
    provenance=Provenance.DERIVED_LOW,
    check=check_neg,
    params=(
        Param("beta", float, min=0, max=10, doc="weight of the negatives"),
        Param("n_neg", int, min=1, max=4096, doc="negatives per token (capped at N-1)"),
    ),
    defaults={"beta": 1.0, "n_neg": 3},
    control=Control("R-M25", SMALL | {"beta": 1.0, "n_neg": 2}, 0),
    tolerance=IDENTITY_TOLERANCE + " x (1 + beta)",
    notes=_MOD_NOTE + ("Negatives: a uniformly random subset of min(n_neg, N-1) other demonstrations per token, drawn "
                       "from the generator (the paper's choice is NOT FOUND); with N = 1 there are none. The "
                       "reference means are computed token by token from the mask."),
)


# ---------------------------------------------------------------- R-F3
F3_RATE = 1e-3  # false-fail rate of the right panel's decision (few training seeds)
F3_RESOLUTION = 0.1  # log test-MSE units


def _f3_settings(size: str) -> list[tuple[str, dict]]:
    if size == "paper":
        return [("plain", {})] + [("regularised", {"alpha": a}) for a in (0.1, 0.5, 0.9)] + \
            [("augmented", {"d_hidden": h}) for h in (8, 32)] + [("negative", {"beta": b}) for b in (0.1, 0.5, 1.0)]
    return [("plain", {}), ("regularised", {"alpha": 0.5}), ("augmented", {"d_hidden": 8}), ("negative", {"beta": 0.5})]


def _regressor_parts(cfg: dict, ctx: CheckContext, settings) -> dict[str, Outcome]:
    """The regressor of Fig. 3 (right) is the attention it says, at initialisation (float64): its prediction equals
    the last coordinate of the reference (plain / regularised / augmented / negative) attention built here from the
    module's own W_Q, W_K, W_V, W_r (and views); and the ICL regression prompts follow their law (labels an exact
    linear function of x, the query's label hidden)."""
    impl, d, N, B = ctx.impl, cfg["task_dim"], cfg["N"], cfg["batch"]
    H, y = impl.icl_regression_tokens(B, d, N, ctx.generator(20), dtype=F64)
    X, Yd = H[:, :d, :N], H[:, d, :N]
    w = torch.linalg.lstsq(X.transpose(-1, -2), Yd[..., None]).solution[..., 0]  # (B, d): exact when N >= d
    scale = _scale(H, y)
    parts = {"prompts: query label hidden, labels and target = w^T x": Outcome.at_most(
        max(float(H[:, d, N].abs().max()), _err(torch.einsum("bd,bdn->bn", w, X), Yd),
            _err(torch.einsum("bd,bd->b", w, H[:, :d, N]), y)) if N >= d else float(H[:, d, N].abs().max()),
        identity_tolerance(F64, N * d, scale * 1e3))}  # lstsq: conditioning of N Gaussian x's, a 1e3 allowance
    worst = 0.0
    for k, (variant, kw) in enumerate(settings):
        g = ctx.generator(30 + k)
        model = impl.ModifiedAttentionRegressor(d, cfg["train_d_r"], variant, g, n_neg=2, dtype=F64, **kw)
        ex = lambda t: t.detach().expand(B, *t.shape[-2:])  # noqa: E731
        W_Q, W_K, W_V, Wr = (ex(t) for t in (model.W_Q, model.W_K, model.W_V, model.Wr))
        K, q, V = _ref_project(H, W_Q, W_K, W_V)
        kernel = _prf_kernel(Wr)
        if variant == "regularised":
            ref = _ref_attention(K, q, V, kernel, N, query_side_scale=1 - kw["alpha"])
        elif variant == "augmented":
            g_K, g_V = (type("MLP", (), dict(zip(("W_1", "b_1", "W_2", "b_2"), map(ex, p)))) for p in (model.g_K,
                                                                                                        model.g_V))
            ref = _ref_attention(_ref_mlp(g_K, K), q, _ref_mlp(g_V, V), kernel, N)
        elif variant == "negative":
            mask = impl.negative_sets(B, N, 2, ctx.generator(40 + k), F64)
            Vd = V[..., :N] - kw["beta"] * _ref_negative_means(V[..., :N], mask)
            ref = _ref_attention(K, q, torch.cat([Vd, V[..., N:]], -1), kernel, N)
        else:
            ref = _ref_attention(K, q, V, kernel, N)
        with torch.no_grad():
            pred = model(H, N, ctx.generator(40 + k))
        worst = max(worst, _err(pred, ref.h[:, -1]) / identity_tolerance(F64, (N + 1) * cfg["train_d_r"] + d + 1,
                                                                           _scale(V) * (1 + kw.get("beta", 0))))
    parts["regressor == reference attention of its variant (readout: last coordinate)"] = Outcome.at_most(worst, 1.0)
    return parts


def check_f3(cfg: dict, ctx: CheckContext) -> Outcome:
    parts, curves, details = _sequential_parts(cfg, ctx)
    settings = _f3_settings(cfg["size"])
    parts |= _regressor_parts(cfg, ctx, settings)
    # Right panel: every setting trained by Adam on ICL linear regression, one curve per setting, over separately
    # trained seeds; the decision is on the per-seed mean over settings of log(final / initial test MSE).
    d, N, steps = cfg["task_dim"], cfg["N"], cfg["train_steps"]
    per_seed, series, finals = [], {}, {}
    for s in range(cfg["train_seeds"]):
        g = ctx.generator(100 + s)
        logs = []
        for variant, kw in settings:
            model = ctx.impl.ModifiedAttentionRegressor(d, cfg["train_d_r"], variant, g, n_neg=2, **kw)
            at, mse = ctx.impl.train_icl_regressor(model, d, N, steps, cfg["train_batch"], g, lr=cfg["lr"],
                                                   eval_every=max(1, steps // 10), eval_batch=cfg["eval_batch"])
            logs.append(math.log(mse[-1] / mse[0]) if mse[0] > 0 and mse[-1] > 0 else math.inf)
            label = variant + "".join(f" {k}={v}" for k, v in kw.items())
            if s == 0:
                series[label], finals[label] = (at, mse), mse[-1]
        per_seed.append(sum(logs) / len(logs))
    parts["right panel: training lowers the test MSE"] = mean_verdict(
        per_seed, 0.0, "at_most", rate=F3_RATE, power=POWER, resolution=F3_RESOLUTION, unit="training seeds",
        what="per-seed mean over the settings of log(final / initial test MSE)")
    curves["modifications"] = curve("training step", "test MSE (ICL linear regression), seed 0", series, logy=True)
    details |= {"final_test_mse_seed0": finals, "log_mse_ratio_per_seed": per_seed}
    return Outcome.all_of(parts, instances=cfg["batch"], curves=curves, details=details)


_register_identity(
    id="R-F3",
    reference="Figure 3",
    title="Fig. 3: equivalence error over 15 one-token steps reaches 0; trained modified models learn (reconstructed)",
    statement=(r"e_t = \|W^{(t)}\phi(q) - \hat h'_{T+1}\|,\ t = 0..N,\ e_N = 0\ (N = 15);\ "
               r"\text{right: } \mathbb E_{\mathrm{seed}}\log\frac{\mathrm{MSE}_{\mathrm{trained}}}"
               r"{\mathrm{MSE}_{\mathrm{init}}} \le 0\ \text{for the regularised / augmented / negative models}"),
    provenance=Provenance.DERIVED_HIGH,
    kind=Kind.MECHANISM,
    cost=Cost.MEDIUM,
    false_fail_rate=F3_RATE,
    power=POWER,
    check=check_f3,
    params=(
        Param("size", str, choices=("reduced", "paper"), doc="right panel: 4 models (reduced) or 10 settings"),
        Param("train_steps", int, min=1, max=100_000, doc="right panel: Adam steps per model"),
        Param("train_batch", int, min=1, max=4096, doc="right panel: prompts per step"),
        Param("train_d_r", int, min=1, max=4096, doc="right panel: random features"),
        Param("task_dim", int, min=1, max=64, doc="right panel: regression dimension d (tokens [x; y] in R^{d+1})"),
        Param("train_seeds", int, min=1, max=64, doc="right panel: separately trained seeds (unit of replication)"),
        Param("lr", float, gt=0, max=1, doc="right panel: Adam learning rate"),
        Param("eval_batch", int, min=1, max=1 << 16, doc="right panel: held-out prompts per evaluation"),
    ),
    defaults={"size": "reduced", "train_steps": 100, "train_batch": 64, "train_d_r": 32, "task_dim": 4,
              "train_seeds": 6, "lr": 1e-2, "eval_batch": 512},
    control=Control("R-M34", dict(SMALL, N=6, task_dim=2, train_steps=20, train_seeds=6, train_batch=32,
                                  train_d_r=16, lr=0.05, eval_batch=128), 0),
    tolerance=(IDENTITY_TOLERANCE + "; right panel: one-sided Student-t limits at 1e-3 on the per-seed values "
               "(train_seeds separately trained seeds), bound 0, resolution 0.1 in log MSE (the rule is printed in "
               "details); the regressor identity: 8 eps ((N+1) d_r + d + 1) max|v| (1 + beta); the prompt law: "
               "8 eps N d x 1e3 max|H| (a least-squares fit of the labels)."),
    notes=("The caption's qualitative content (the error falls to about 0 over 15 steps) is STATED; the construction "
           "checked is reconstructed, hence DERIVED-HIGH. "
           "Left panel (spec [R-med]): N = 15 demonstrations fed one per step, as 'over 15 steps' suggests; the "
           "gated assertion is e_N within round-off (the paper's dimensions and seeds are NOT FOUND). Right panel: "
           "the paper's task, metric and numbers are NOT FOUND; one kernelised attention layer per modification is "
           "trained on ICL linear regression and the test-MSE curves are recorded. What is asserted: each "
           "regressor computes the attention of its variant (checked at initialisation against a reference built "
           "here), the prompts follow their law, and training lowers the test MSE (mean over settings, decided on "
           "separately trained seeds). The learning itself is the statement here, so a model that does not learn "
           "is a violation, not an unmet assumption. The orderings between the modifications are not asserted: "
           "the paper's numbers are NOT FOUND."),
    figure="e_t",
)

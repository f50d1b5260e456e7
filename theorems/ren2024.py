"""Claims of ren2024 (Ren & Liu, NeurIPS 2024). Spec: ../shared/papers/ren2024.md.

The full text was not available: every formula is reconstructed (DERIVED); STATED would cover only the existence of
a result. Each check builds a batch of independent instances from the seed and reports the worst one.

Every check takes the model functions it exercises as keyword arguments with the real ones as defaults, so a negative
control runs the same check on a broken variant: ``run_claim(claim, cfg, seed, check=partial(check_x, f=broken))``.
The sympy derivations (theorems/ren2024_symbolic.py) are parts of R-T31 (spec §4.4) and R-PRF (§4.5), as the spec's
check -> claim map assigns them; they are cached per process.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch

from models import ren2024 as m
from theorems import ren2024_symbolic as sym
from theorems.core import (Assumption, AssumptionNotMet, CheckContext, Claim, Cost, Kind, Outcome, Param, Provenance,
                           curve)
from theorems.registry import register
from theorems.tolerances import (
    binomial_acceptance,
    fit_slope,
    identity_tolerance,
    max_abs_error,
    median_of_means_plan,
)

PAPER = "ren2024"
F64 = torch.float64
# Statistical claims: probability that a check fails although the claim is true, per checked example.
FALSE_FAIL_RATE = 1e-6
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
                      "weights W: 8 eps x (N + 4) x max(|W_0|, |Y||X|^T / D)")


def _instance(cfg: dict, ctx: CheckContext):
    return m.random_instance(cfg["batch"], cfg["d_i"], cfg["d_o"], cfg["N"], cfg["M"], cfg["d_r"], cfg["scale"],
                             cfg["token_bound"], ctx.generator(), dtype=F64, device=ctx.device)


def _scale(*tensors: torch.Tensor) -> float:
    return max([1.0] + [float(t.abs().max()) for t in tensors if t.numel()])


def _tol(cfg: dict, *values: torch.Tensor, d_feat: int | None = None, cond: float = 1.0) -> float:
    """Round-off allowance of an identity between kernelised attention and a dual prediction (IDENTITY_TOLERANCE);
    ``cond`` = max |phi|^T|phi| / |phi^T phi| for feature maps with signs (1 for positive random features)."""
    n_ops = (cfg["N"] + cfg["M"]) * (d_feat or cfg["d_r"]) + cfg["d_o"]
    return identity_tolerance(F64, n_ops, _scale(*values) * cond)


def _weight_tol(ka: m.KernelAttention) -> float:
    """Round-off allowance for identities between dual weights W (not predictions): entries of W_0 and of
    sum_i y_i phi(x_i)^T / D can be far larger than the values when phi(q) is small, so the scale is theirs;
    n_ops = N + 4 (the sum over demonstrations, then the step's few operations)."""
    update = (ka.Y.abs() @ ka.X.abs().transpose(-1, -2)) / ka.D[:, None, None]
    return identity_tolerance(F64, ka.X.shape[-1] + 4, _scale(ka.W0, update))


def _dual_prediction(ka: m.KernelAttention, eta: float, one_step=m.dual_one_step, **step_kw) -> torch.Tensor:
    return m.dual_predict(one_step(ka.W0, ka.X, ka.Y, ka.D, eta, **step_kw), ka.phi_q)


def _symbolic_part(nonzero: int) -> Outcome:
    return Outcome.at_most(nonzero, SYMBOLIC_ZERO)


def _register_identity(*, params: tuple = (), defaults: dict | None = None, assumptions: tuple = (),
                       tolerance: str = IDENTITY_TOLERANCE, **kw) -> None:
    """Register a float64 identity claim on a random attention instance: the shared instance parameters, the dual
    learning rate, the query-side assumption and the cheap cost are filled in; ``params``/``defaults`` add to them."""
    register(Claim(paper=PAPER, kind=Kind.IDENTITY, cost=Cost.CHEAP, params=INSTANCE_PARAMS + (ETA,) + tuple(params),
                   defaults=INSTANCE_DEFAULTS | {"eta": 0.1} | (defaults or {}),
                   assumptions=(QUERY_SIDE,) + tuple(assumptions), tolerance=tolerance, **kw))


# ---------------------------------------------------------------- R-PRF
_median_of_means_plan = lru_cache(maxsize=None)(median_of_means_plan)  # a few hundred beta quantiles: plan once
RATE_BAND = (-0.65, -0.35)  # stated band around the asymptotic slope -1/2 of the ratio estimator


def _moments(x: torch.Tensor, y: torch.Tensor, moments) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean e^{x.y}, variance sigma^2 = e^{2x.y}(e^{|x+y|^2} - 1) and central fourth moment mu4 of the per-feature
    term ``Z = d_r phi_r(x) phi_r(y)``, from the lambdified Gaussian integrals (log-normal moments)."""
    S2 = ((x + y) ** 2).sum(-1)
    C = ((x * x).sum(-1) + (y * y).sum(-1)) / 2
    m1 = torch.as_tensor(moments.raw_moment(torch.tensor(1.0, dtype=x.dtype, device=x.device), S2, C))
    epsilon = torch.expm1(S2)
    return m1, m1**2 * moments.central_moment[2](epsilon), m1**4 * moments.central_moment[4](epsilon)


def _error_vs_dr(cfg: dict, ctx: CheckContext, softmax, attention) -> tuple[list[int], list[float], float]:
    """Geometric mean over ``rate_seeds`` instances of |hat h'_rf - h'_softmax| for d_r = 64, 256, ..., dr_max (fresh
    features per d_r). Tokens are rescaled per instance so that max_j |k_j| and |q| equal ``key_norm`` (the spec's
    |W_K h|, |W_Q h| <= 1): the per-feature relative variance e^{|k+q|^2} - 1 then stays below e^4 - 1, so d_r = 64
    is already in the asymptotic regime of the ratio estimator. Also returns the mean relative error at dr_max."""
    S, N = cfg["rate_seeds"], cfg["N"]
    H, W_Q, W_K, W_V, _ = m.random_instance(S, cfg["d_i"], cfg["d_o"], N, cfg["M"], 1, cfg["scale"],
                                            cfg["token_bound"], ctx.generator(10), device=ctx.device)
    K, q, _ = m.project(H, W_Q, W_K, W_V)
    H = H * (cfg["key_norm"] / torch.maximum(K.norm(dim=1).amax(-1), q.norm(dim=1).amax(-1)))[:, None, None]
    exact = softmax(H, W_Q, W_K, W_V)
    grid = [64 * 4**i for i in range(8) if 64 * 4**i <= cfg["dr_max"]]
    errors, err = [], None
    for i, d_r in enumerate(grid):
        g = ctx.generator(11 + i)
        chunk = max(1, (1 << 21) // (d_r * (N + cfg["M"])))  # bound the memory of phi(K) at large d_r
        err = []
        for s in range(0, S, chunk):
            sl = slice(s, s + chunk)
            Wr = torch.randn(H[sl].shape[0], d_r, cfg["d_o"], generator=g, dtype=F64, device=ctx.device)
            err.append((attention(H[sl], W_Q[sl], W_K[sl], W_V[sl], Wr, N).h - exact[sl]).norm(dim=-1))
        err = torch.cat(err)
        errors.append(float(err.clamp(min=1e-300).log().mean().exp()))
    relative = float((err / exact.norm(dim=-1).clamp(min=1e-300)).mean())
    return grid, errors, relative


def check_prf(cfg: dict, ctx: CheckContext, *, features=m.prf, softmax=m.softmax_attention,
              attention=m.kernel_attention, moments=sym.prf_moments) -> Outcome:
    B, d_o, d_r, r = cfg["batch"], cfg["d_o"], cfg["d_r"], cfg["radius"]
    sets = max(1, math.ceil(cfg["samples"] / d_r))
    g = ctx.generator()
    x, y = (r * torch.nn.functional.normalize(torch.randn(B, d_o, generator=g, dtype=F64, device=ctx.device), dim=-1)
            for _ in range(2))
    Wr = torch.randn(B, sets, d_r, d_o, generator=g, dtype=F64, device=ctx.device)
    phi_x = features(x[:, None, :, None], Wr).squeeze(-1)  # (B, sets, d_r): one d_r-feature map per set
    phi_y = features(y[:, None, :, None], Wr).squeeze(-1)
    Z = d_r * phi_x * phi_y  # per-feature terms; the estimator phi(x)^T phi(y) is their mean over a set
    mom = moments()
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

    grid, errors, relative_at_max = _error_vs_dr(cfg, ctx, softmax, attention)
    fit = fit_slope(grid, errors)
    parts = {
        "unbiased: |median of means - e^{x.y}| / radius": Outcome.at_most(
            float(((mean_med - m1).abs() / mean_radius).max()), 1.0),
        "positive: min phi(x)^T phi(y) term": Outcome.at_least(float(Z.min()), 0.0),
        "sympy E[Z] = e^{xy} (1-D Gaussian integral)": _symbolic_part(mom.nonzero_mean),
        "sympy Var[Z] = e^{2xy}(e^{(x+y)^2} - 1)": _symbolic_part(mom.nonzero_variance),
        "variance: |median of sample variances - sigma^2| / radius": Outcome.at_most(
            float(((var_med - var).abs() / var_radius).max()), 1.0),
        "error_vs_dr log-log slope": Outcome.within(fit.slope, RATE_BAND[0], RATE_BAND[1]),
    }
    reference = [errors[0] * math.sqrt(grid[0] / d) for d in grid]
    return Outcome.all_of(parts, instances=B, curves={"error_vs_dr": curve(
        "random features d_r", "geometric mean |hat h'_rf - h'_softmax|",
        {"measured": (grid, errors), "reference d_r^{-1/2}": (grid, reference)}, logx=True, logy=True)},
        details={"median_of_means": {"groups": plan.groups, "k": plan.k, "samples_per_group": n_g},
                 "slope": fit.slope, "slope_stderr": fit.stderr, "slope_r2": fit.r2,
                 "mean_relative_error_at_dr_max": relative_at_max,
                 "max_relative_variance_radius": float((var_radius / var)[var > 0].max()) if (var > 0).any()
                 else math.nan})


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
        "about 6 sd wide on each side."),
    notes=("Standard result of Choromanski et al. (2021), used by the paper (spec [R-high]); reconstructed, not the "
           "paper's text. The variance is tested per feature (Var[phi(x)^T phi(y)] = Var[Z]/d_r by independence of "
           "the w_r). The spec's fixed band [0.7, 1.4] for the variance ratio is replaced by the derived band above. "
           "The slope band is a stated project choice, not a false-fail-rate bound; the false-fail rate applies to "
           "the mean and variance parts."),
    figure="error_vs_dr",
))


# ---------------------------------------------------------------- R-T31
def _features(cfg: dict, Wr: torch.Tensor):
    """None (positive random features with Wr) or the truncated Taylor feature map, and the feature dimension."""
    if cfg["features"] == "taylor":
        p = cfg["taylor_order"]
        return (lambda x: m.taylor_features(x, p)), m.taylor_feature_dim(cfg["d_o"], p)
    return None, cfg["d_r"]


def _dot_condition(H, W_Q, W_K, W_V, features) -> float:
    """max_j |phi(k_j)|^T |phi(q)| / |phi(k_j)^T phi(q)|: the cancellation in kernel scores (1 for positive
    features)."""
    if features is None:
        return 1.0
    K, q, _ = m.project(H, W_Q, W_K, W_V)
    fK, fq = features(K), features(q)
    return float(((fK.abs() * fq.abs()).sum(-2) / (fK * fq).sum(-2).abs()).max())


def _jacobian_wrt_query(fn, H: torch.Tensor) -> torch.Tensor:
    """d fn(H)/d h_{T+1} per instance, (B, d_o, d_i); the instances are independent, so the batch-summed output has
    the per-instance Jacobians as its blocks."""
    def of_query(v):
        return fn(torch.cat([H[..., :-1], v.unsqueeze(-1)], -1)).sum(0)

    J = torch.autograd.functional.jacobian(of_query, H[..., -1].clone())  # (d_o, B, d_i)
    return J.permute(1, 0, 2)


def _taylor_bound_part(cfg, H, W_Q, W_K, W_V, h_taylor, softmax, tol) -> tuple[Outcome, dict]:
    """Deterministic softmax approximation by Taylor features: with rho = max_j e^{max(0,-t_j)}|t_j|^{p+1}/(p+1)!
    (Lagrange remainder relative to e^{t_j}, t_j = k_j^T q), |hat h'_p - h'| <= max_j |v_j| 2 rho / (1 - rho)."""
    p = cfg["taylor_order"]
    K, q, V = m.project(H, W_Q, W_K, W_V)
    t = (K * q).sum(-2)
    rho = (torch.exp((-t).clamp(min=0)) * t.abs() ** (p + 1) / math.factorial(p + 1)).amax(-1)
    usable = rho < 1
    bound = V.norm(dim=-2).amax(-1) * 2 * rho / (1 - rho).clamp(min=1e-300) + tol
    err = (h_taylor - softmax(H, W_Q, W_K, W_V)).norm(dim=-1)
    ratio = float((err / bound)[usable].max()) if usable.any() else 0.0
    return Outcome.at_most(ratio, 1.0), {"taylor_instances_with_rho_lt_1": int(usable.sum())}


def _jacobian_part(cfg, H, W_Q, W_K, W_V, Wr, features, cond, attention, one_step) -> tuple[Outcome, dict]:
    """Spec 4.10: the dual prediction is the same function of the query token as the attention output, so their
    Jacobians w.r.t. h_{T+1} agree exactly; also von Oswald et al.'s alignment metrics (their ``analyse``)."""
    N, eta = cfg["N"], cfg["eta"]

    def attention_out(Hq):
        return attention(Hq, W_Q, W_K, W_V, Wr, N, features=features).h

    def dual_out(Hq):  # the dual problem is always built by the reference model: only `attention` is under test
        ka = m.kernel_attention(Hq, W_Q, W_K, W_V, Wr, N, features=features)
        return _dual_prediction(ka, eta, one_step)

    J_attn, J_dual = _jacobian_wrt_query(attention_out, H), _jacobian_wrt_query(dual_out, H)
    # Each entry sums (N+M) d_feat d_o terms: a value times a score derivative, bounded through phi by
    # (max |w_r| + 2 max |k|) max |W_Q, W_K| d_i; the value path adds |W_V|.
    K = m.project(H, W_Q, W_K, W_V)[0]
    d_scores = (float(Wr.norm(dim=-1).amax()) if features is None else 1.0) + 2 * float(K.norm(dim=-2).amax())
    scale = (_scale(W_V @ H) * d_scores * _scale(W_Q, W_K) * cfg["d_i"] + _scale(W_V)) * cond
    tol = identity_tolerance(F64, (N + cfg["M"]) * _features(cfg, Wr)[1] * cfg["d_o"] + cfg["d_i"], scale)
    flat_a, flat_d = J_attn.flatten(1), J_dual.flatten(1)
    with torch.no_grad():
        y, h = dual_out(H), attention_out(H)
    metrics = {
        "min_cosine_of_input_gradients": float(torch.nn.functional.cosine_similarity(flat_a, flat_d, dim=-1).min()),
        "max_l2_gradient_difference": float((flat_a - flat_d).norm(dim=-1).max()),
        "max_prediction_norm_difference": float((y.norm(dim=-1) - h.norm(dim=-1)).abs().max()),
    }
    return Outcome.at_most(max_abs_error(J_attn, J_dual), tol), {"von_oswald": metrics, "jacobian_tolerance": tol}


def _symbolic_parts(cfg: dict, ctx: CheckContext, symbolic) -> dict[str, Outcome]:
    """Spec 4.4 (sympy, fixed small sizes): the one-step identity, the linear-kernel reduction, the least-squares
    bridge, and the lambdified symbolic gradient against autograd on random batched values."""
    ident = symbolic()
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
    (auto,) = torch.autograd.grad(m.dual_loss(Wg, X, Y, D, eta), Wg)
    grad_scale = float(((Y.abs() @ X.abs().transpose(-1, -2)).amax((-1, -2)) / (eta * D)).max())
    parts["sympy gradient (lambdified, torch) == autograd"] = Outcome.at_most(
        max_abs_error(sym.symbolic_gradient(W, X, Y, D, eta, ident), auto),
        identity_tolerance(F64, ident.N + 2, grad_scale))
    return parts


def check_t31(cfg: dict, ctx: CheckContext, *, attention=m.kernel_attention, one_step=m.dual_one_step,
              softmax=m.softmax_attention, symbolic=sym.dual_gradient_identity) -> Outcome:
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    N, eta = cfg["N"], cfg["eta"]
    features, d_feat = _features(cfg, Wr)
    ka = attention(H, W_Q, W_K, W_V, Wr, N, features=features)
    W1 = one_step(ka.W0, ka.X, ka.Y, ka.D, eta)
    y_test = m.dual_predict(W1, ka.phi_q)
    cond = _dot_condition(H, W_Q, W_K, W_V, features)
    tol = _tol(cfg, W_V @ H, d_feat=d_feat, cond=cond)
    W1_other_eta = one_step(ka.W0, ka.X, ka.Y, ka.D, eta * 7.0)
    closed_form_update = ka.Y @ ka.X.transpose(-1, -2) / ka.D[:, None, None]
    w_tol = _weight_tol(ka)
    parts = {
        "y_test == h'": Outcome.at_most(max_abs_error(y_test, ka.h), tol),
        "W1 independent of eta": Outcome.at_most(max_abs_error(W1, W1_other_eta), w_tol),
        "W1 - W0 == Y X^T / D": Outcome.at_most(max_abs_error(W1 - ka.W0, closed_form_update), w_tol),
        "D > 0": Outcome.at_least(float(ka.D.min()), 0.0),
        "weights sum to 1": Outcome.at_most(float((ka.weights.sum(-1) - 1).abs().max()), tol),
    }
    details: dict = {"tolerance": tol, "weight_tolerance": w_tol}
    parts["Jacobian d/dh_{T+1}: attention == dual"], extra = _jacobian_part(
        cfg, H, W_Q, W_K, W_V, Wr, features, cond, attention, one_step)
    details.update(extra)
    parts.update(_symbolic_parts(cfg, ctx, symbolic))
    if features is not None:
        parts["Taylor features: |hat h'_p - h'_softmax| <= 2 rho max|v| / (1 - rho)"], extra = _taylor_bound_part(
            cfg, H, W_Q, W_K, W_V, ka.h, softmax, tol)
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
    tolerance=(IDENTITY_TOLERANCE + "; Taylor features multiply the scale by the cancellation factor "
               "max |phi|^T|phi| / |phi^T phi|. Jacobians: 8 eps x ((N+M) d_feat d_o + d_i) x (max|v| (max|w_r| + "
               "2 max|k|) max|W_Q,W_K| d_i + max|W_V|). Symbolic parts: residual entries after simplify must all be "
               "0. Lambdified gradient vs autograd: 8 eps (N+2) max |y||phi| / (eta D). Taylor approximation: the "
               "Lagrange-remainder bound plus the identity tolerance."),
    notes=("The paper states the existence of the equivalence; the construction (W0 from the query-side tokens, the "
           "d_o^{-1/4} scaling, the loss normalisation eta*D) is reconstructed. Includes the von Oswald-style "
           "cross-check (spec 4.10: Jacobians w.r.t. the query token; cosine / L2 / prediction-norm metrics in "
           "details) and the sympy pieces of spec 4.4 (fixed small sizes: 2x3 W, N = 2, M = 1). The spec's "
           "'W_1 phi_q = (1/D)(sum y_i phi_i^T phi_q + W_0 phi_q)' double-counts 1/D in W_0; the symbolic part "
           "checks W_1 phi_q = (1/D) sum_j v_j phi(k_j)^T phi(q) with W_0 = (1/D) sum_Q v_j phi(k_j)^T."),
)


# ---------------------------------------------------------------- R-SEQ and R-F3 (left)
def _sequential_parts(cfg: dict, ctx: CheckContext, sgd) -> tuple[dict, dict, dict]:
    """N one-sample SGD steps in a random order per instance vs the kernelised attention; parts, curves, details."""
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    B, N, eta = cfg["batch"], cfg["N"], cfg["eta"]
    ka = m.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    order = m.random_order(B, N, ctx.generator(1))
    traj = sgd(ka.W0, ka.X, ka.Y, ka.D, eta, order)  # (B, steps+1, d_o, d_r)
    preds = (traj @ ka.phi_q[:, None, :, None]).squeeze(-1)
    e = (preds - ka.h[:, None, :]).norm(dim=-1)  # e_t, (B, steps+1)
    tol = _tol(cfg, W_V @ H)
    steps = traj.shape[1] - 1
    idx = order[:, :steps]
    gather = lambda T: T.gather(-1, idx[:, None, :].expand(-1, T.shape[1], -1))  # noqa: E731
    expected = torch.einsum("bat,brt->btar", gather(ka.Y), gather(ka.X)) / ka.D[:, None, None, None]
    W1 = m.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, eta)
    parts = {
        "one SGD step per demonstration": Outcome.at_most(abs(steps - N), 0.5),
        "e_N = |W^(N) phi(q) - h'|": Outcome.at_most(float(e[:, -1].max()), tol),
        "W^(N) == W_1 (one full-batch step)": Outcome.at_most(max_abs_error(traj[:, -1], W1), _weight_tol(ka)),
        "step t adds y_i phi(x_i)^T / D": Outcome.at_most(
            max_abs_error(traj[:, 1:] - traj[:, :-1], expected), _weight_tol(ka)),
    }
    t = list(range(steps + 1))
    curves = {"e_t": curve("SGD step t (one demonstration each)", "|W^(t) phi(q) - hat h'|",
                           {"mean over instances": (t, e.mean(0)), "max over instances": (t, e.amax(0))})}
    return parts, curves, {"tolerance": tol, "e_N_max": float(e[:, -1].max())}


def check_seq(cfg: dict, ctx: CheckContext, *, sgd=m.sequential_sgd) -> Outcome:
    parts, curves, details = _sequential_parts(cfg, ctx, sgd)
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
    tolerance=IDENTITY_TOLERANCE + "; each one-sample gradient by autograd",
    notes=("Reconstructed (spec [R-med]): the loss is linear in W, so the order of the one-sample steps does not "
           "matter; e_t need not decrease monotonically and is not asserted to."),
    figure="e_t",
)


# ---------------------------------------------------------------- R-T32
def t32_bound(N: int, B_W: float, B_V: float, B_phi: float, delta: float) -> float:
    """Reconstructed bound (spec §1.6): 2 B_W B_V B_phi / sqrt(N) + 2 c sqrt(log(1/delta) / (2N)),
    c = B_W B_V B_phi."""
    c = B_W * B_V * B_phi
    return 2 * c / math.sqrt(N) + 2 * c * math.sqrt(math.log(1 / delta) / (2 * N))


T32_SLOPE_BAND = (-0.7, -0.3)


def check_t32(cfg: dict, ctx: CheckContext, *, bound=t32_bound) -> Outcome:
    g = ctx.generator()
    d_i, d_o, d_r, K = cfg["d_i"], cfg["d_o"], cfg["d_r"], cfg["support"]
    kw = dict(generator=g, dtype=F64, device=ctx.device)
    # P = uniform over K fixed points of the ball: population quantities are exact averages, the bounds exact maxima.
    h = m.uniform_ball(K, d_i, cfg["radius"], g).T  # (d_i, K)
    W_K, W_V = (torch.randn(d_o, d_i, **kw) * cfg["scale"] / math.sqrt(d_i) for _ in range(2))
    Wr = torch.randn(d_r, d_o, **kw)
    phi = m.prf(d_o**-0.25 * (W_K @ h), Wr)  # (d_r, K)
    y = W_V @ h  # (d_o, K)
    Z = torch.einsum("ak,rk->kar", y, phi).reshape(K, -1)  # vec(y phi^T): the loss is -<W, y phi^T>
    G = Z.mean(0)
    B_V, B_phi, B_W = float(y.norm(dim=0).max()), float(phi.norm(dim=0).max()), cfg["B_W"]
    Ns = [8 * 2**i for i in range(20) if 8 * 2**i <= cfg["N_max"]]
    trials = cfg["trials"]
    allowed = binomial_acceptance(trials, cfg["delta"], FALSE_FAIL_RATE / len(Ns))[1]
    mean_gap, max_gap, bounds, violations = [], [], [], []
    for N in Ns:
        idx = torch.randint(K, (trials, N), generator=g, device=ctx.device)
        counts = torch.zeros(trials, K, dtype=F64, device=ctx.device).scatter_add_(
            1, idx, torch.ones(trials, N, dtype=F64, device=ctx.device))
        # sup over |W|_F <= B_W of E l(W) - (1/N) sum_i l(W; h_i) = sup <W, hat G - G> = B_W |hat G - G|_F
        gap = B_W * (counts @ Z / N - G).norm(dim=-1)
        b = bound(N, B_W, B_V, B_phi, cfg["delta"])
        mean_gap.append(float(gap.mean()))
        max_gap.append(float(gap.max()))
        bounds.append(b)
        violations.append(int((gap > b).sum()))
    fit = fit_slope(Ns, mean_gap)
    parts = {
        "trials with sup gap > bound (Binomial(trials, delta) acceptance)": Outcome.at_most(max(violations), allowed),
        "mean sup gap log-log slope in N": Outcome.within(fit.slope, *T32_SLOPE_BAND),
    }
    return Outcome.all_of(parts, instances=trials, curves={"gap_vs_N": curve(
        "demonstrations N", "sup_W generalisation gap",
        {"mean over trials": (Ns, mean_gap), "max over trials": (Ns, max_gap), "reconstructed bound": (Ns, bounds)},
        logx=True, logy=True)}, details={"violations": violations, "allowed": allowed, "B_V": B_V, "B_phi": B_phi,
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
    tolerance=("(a) per N the number of trials whose uniform gap B_W |hat G - G|_F exceeds the bound is at most the "
               "upper end of the Binomial(trials, delta) acceptance region at rate 1e-6 / |grid| (union bound); "
               "(b) least-squares slope of log mean gap vs log N in the stated band [-0.7, -0.3] around -1/2."),
    notes=("Theorem 3.2's form and constants are NOT FOUND; this is the spec's reconstructed Rademacher bound (§1.6), "
           "labelled 'reconstructed bound'. P is the uniform distribution on a fixed finite sample of the ball, so "
           "G = E[y phi^T], B_V and B_phi are exact (no Monte-Carlo error in the population loss, unlike the spec's "
           "10^5 fresh samples). The gap is the supremum over the whole class (W = B_W (hat G - G)/|.|), which is "
           "stronger than the spec's W = B_W normalize(sum y_i phi_i^T). The bound is loose (see "
           "max_gap_over_bound): the check shows it holds and that the gap decays like N^{-1/2}."),
    figure="gap_vs_N",
))


# ---------------------------------------------------------------- R-FFN
def check_ffn(cfg: dict, ctx: CheckContext, *, layer=m.transformer_layer, lift=m.lift_dual) -> Outcome:
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    N, eta, act, residual = cfg["N"], cfg["eta"], cfg["activation"], cfg["residual"]
    W_1, W_2 = m.random_ffn(cfg["batch"], cfg["d_o"], cfg["d_ff"], ctx.generator(2), device=ctx.device)
    h2, ka = layer(H, W_Q, W_K, W_V, Wr, N, W_1, W_2, act, residual)
    z = _dual_prediction(ka, eta)  # the dual model's inner representation W_1 phi(x_test) after one step
    # |FFN(z) - FFN(z')|_inf <= (1.13 |W_2|_inf |W_1|_inf + residual) |z - z'|_inf (ReLU 1-, GELU 1.13-Lipschitz)
    row_sum = lambda W: float(W.abs().sum(-1).amax())  # noqa: E731
    lip = 1.13 * row_sum(W_2) * row_sum(W_1) + float(residual)
    tol = _tol(cfg, W_V @ H) * max(lip, 1.0) + identity_tolerance(F64, cfg["d_ff"] + cfg["d_o"],
                                                                   lip * _scale(ka.h))
    parts = {"FFN(dual prediction) == attention + FFN layer": Outcome.at_most(
        max_abs_error(m.ffn(z, W_1, W_2, act, residual), h2), tol)}
    if act == "relu":
        A = m.relu_linearisation(ka.h, W_1, W_2, residual)  # mask Lambda fixed at the query's h'
        W0_lift, Y_lift = lift(A, ka.W0, ka.Y)
        y_lift = m.dual_predict(m.dual_one_step(W0_lift, ka.X, Y_lift, ka.D, eta), ka.phi_q)
        parts["lifted dual (init A W_0, labels A y_i) == layer"] = Outcome.at_most(max_abs_error(y_lift, h2), tol)
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
    tolerance=(IDENTITY_TOLERANCE + ", times the FFN's Lipschitz constant 1.13 |W_2|_inf |W_1|_inf (+1 residual), "
               "plus 8 eps (d_ff + d_o) x that constant x max|h'| for the FFN itself"),
    notes=("Exact form NOT FOUND (spec [R-low]); this is the spec's reconstruction: only W is trained, on the same "
           "loss as Theorem 3.1 applied to the inner representation; the residual (a flag) is around the FFN only. "
           "For ReLU the lifted reading (mask fixed at the query's h') is checked too; with GELU only the first part."),
)


# ---------------------------------------------------------------- R-ML
def _previous_layer(hs: list[torch.Tensor], layer: int) -> torch.Tensor:
    """The tokens layer ``layer`` (1-based) reads: the previous layer's outputs."""
    return hs[layer - 1]


FINITE_STACK = "float64 range: the stack's activations stay finite (deep, large-scale draws overflow exp(q.k))"


def check_ml(cfg: dict, ctx: CheckContext, *, stack=m.attention_stack, dual_tokens=_previous_layer) -> Outcome:
    B, N, M, eta, causal, residual = cfg["batch"], cfg["N"], cfg["M"], cfg["eta"], cfg["causal"], cfg["residual"]
    H = _instance(cfg, ctx)[0]
    layers = m.random_stack(B, cfg["d_i"], cfg["d_o"], cfg["L"], cfg["d_r"], cfg["scale"], ctx.generator(2),
                            device=ctx.device)
    hs = stack(H, layers, causal=causal, residual=residual)
    if not all(bool(torch.isfinite(h).all()) for h in hs):  # exp(q.k) overflowed: both sides are inf/NaN
        raise AssumptionNotMet(FINITE_STACK)
    parts, errors = {}, []
    for l, w in enumerate(layers, start=1):
        ka = m.kernel_attention(dual_tokens(hs, l), w.W_Q, w.W_K, w.W_V, w.Wr, N)
        y = _dual_prediction(ka, eta)
        out = hs[l][..., -1] - (hs[l - 1][..., -1] if residual else 0.0)  # the attention part of layer l
        tol = _tol(cfg, w.W_V @ hs[l - 1])
        errors.append(max_abs_error(y, out))
        parts[f"layer {l}: h^(l)_(T+1) == dual model l after one step"] = Outcome.at_most(errors[-1], tol)
    if causal:  # positions < P must not see later tokens: the stack on a prefix gives the same outputs there
        P = N
        prefix = stack(H[..., :P], layers, causal=causal, residual=residual)
        err = max(max_abs_error(a, b[..., :P]) for a, b in zip(prefix[1:], hs[1:]))
        parts["causal: outputs of a prefix do not depend on later tokens"] = Outcome.at_most(
            err, identity_tolerance(F64, (N + M) * cfg["d_r"] + cfg["d_o"], _scale(*hs)))
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
    tolerance=IDENTITY_TOLERANCE + " (per layer, values of that layer's input)",
    notes=("Spec [R-med]: the dual data of layer l come from layer l-1's outputs at all positions (kernelised "
           "attention over all positions, computed by a separate all-positions implementation); the caption's "
           "existence statement is STATED, the form reconstructed. Feeding layer l the initial tokens breaks the "
           "identity for l >= 2 (negative control). Deep stacks with large weights can overflow float64 in exp(q.k) "
           "(a thorough run: L = 4, scale 2): such a draw is reported as assumption not met."),
)


# ---------------------------------------------------------------- R-REG, R-AUG, R-NEG
def _recovers_t31(ka_plain: m.KernelAttention, h_neutral: torch.Tensor, y_neutral: torch.Tensor, tol: float):
    """At the neutral setting (alpha = 0, g = id, beta = 0) the modified attention and its dual step are R-T31's."""
    return Outcome.at_most(max(max_abs_error(h_neutral, ka_plain.h), max_abs_error(y_neutral, ka_plain.h)), tol)


def check_reg(cfg: dict, ctx: CheckContext, *, attention=m.regularised_attention,
              one_step=m.dual_one_step) -> Outcome:
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    N, eta, alpha = cfg["N"], cfg["eta"], cfg["alpha"]
    ka = m.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    W1 = one_step(ka.W0, ka.X, ka.Y, ka.D, eta, reg_alpha=alpha)
    tol = _tol(cfg, W_V @ H)
    closed = (1 - alpha) * ka.W0 + ka.Y @ ka.X.transpose(-1, -2) / ka.D[:, None, None]
    parts = {
        "one step on L + alpha/(2 eta)|W|^2 == regularised attention": Outcome.at_most(
            max_abs_error(m.dual_predict(W1, ka.phi_q), attention(H, W_Q, W_K, W_V, Wr, N, alpha).h), tol),
        "W_1 == (1 - alpha) W_0 + Y X^T / D": Outcome.at_most(max_abs_error(W1, closed), _weight_tol(ka)),
        "alpha = 0 recovers R-T31": _recovers_t31(ka, attention(H, W_Q, W_K, W_V, Wr, N, 0.0).h,
                                                  _dual_prediction(ka, eta, one_step, reg_alpha=0.0), tol),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


def check_aug(cfg: dict, ctx: CheckContext, *, attention=m.augmented_attention, one_step=m.dual_one_step) -> Outcome:
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    B, N, eta, d_o, aq = cfg["batch"], cfg["N"], cfg["eta"], cfg["d_o"], cfg["augment_query"]
    g_K = m.random_mlp(B, d_o, cfg["d_hidden"], d_o, ctx.generator(3), device=ctx.device)
    g_V = m.random_mlp(B, d_o, cfg["d_hidden"], d_o, ctx.generator(4), device=ctx.device)
    h_aug = attention(H, W_Q, W_K, W_V, Wr, N, g_K, g_V, aq).h
    # The dual problem built from its definition: x_i = g_K(k_i), y_i = g_V(v_i), W_0 and D from the same views.
    K, q, V = m.project(H, W_Q, W_K, W_V)
    views = m.kernel_attention_kqv(m.mlp(g_K, K), m.mlp(g_K, q) if aq else q, m.mlp(g_V, V), Wr, N)
    tol = _tol(cfg, m.mlp(g_V, V), V)
    ka = m.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    parts = {
        "one step on the augmented dual data == augmented attention": Outcome.at_most(
            max_abs_error(_dual_prediction(views, eta, one_step), h_aug), tol),
        "g = identity recovers R-T31": _recovers_t31(ka, attention(H, W_Q, W_K, W_V, Wr, N, None, None, aq).h,
                                                     _dual_prediction(ka, eta, one_step), tol),
    }
    return Outcome.all_of(parts, instances=B, details={"tolerance": tol})


def check_neg(cfg: dict, ctx: CheckContext, *, attention=m.negative_attention, one_step=m.dual_one_step) -> Outcome:
    H, W_Q, W_K, W_V, Wr = _instance(cfg, ctx)
    B, N, eta, beta = cfg["batch"], cfg["N"], cfg["eta"], cfg["beta"]
    mask = m.negative_sets(B, N, cfg["n_neg"], ctx.generator(5))
    ka = m.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    Y_neg = m.negative_means(ka.Y, mask)
    y_neg = _dual_prediction(ka, eta, one_step, Y_neg=Y_neg, beta=beta)
    tol = _tol(cfg, W_V @ H) * (1 + beta)  # values v_i - beta ybar_i are at most (1 + beta) max|v|
    n_eff = min(cfg["n_neg"], N - 1)
    parts = {
        "one step on L_neg == attention with values v_i - beta ybar_i": Outcome.at_most(
            max_abs_error(y_neg, attention(H, W_Q, W_K, W_V, Wr, N, beta, mask).h), tol),
        "negatives: other demonstrations, min(n_neg, N-1) each": Outcome.at_most(
            float(mask.diagonal(dim1=-2, dim2=-1).abs().sum() + (mask.sum(-1) - n_eff).abs().max()), 0.5),
        "beta = 0 recovers R-T31": _recovers_t31(ka, attention(H, W_Q, W_K, W_V, Wr, N, 0.0, mask).h,
                                                 _dual_prediction(ka, eta, one_step, Y_neg=Y_neg, beta=0.0), tol),
    }
    return Outcome.all_of(parts, instances=B, details={"tolerance": tol, "negatives_per_token": n_eff})


_MOD_NOTE = ("Exact formula NOT FOUND (spec [R-low]): the modification is derived here so that 'modified attention == "
             "one GD step on the modified dual loss' holds exactly; that consistency is what is checked (a "
             "specification this project chooses, not the paper's text). ")

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
    tolerance=IDENTITY_TOLERANCE + " (values after g_V)",
    notes=_MOD_NOTE + ("g_K and g_V are random two-layer tanh MLPs applied to every token's key/value (after the "
                       "d_o^{-1/4} scaling); whether the paper augments the query-side tokens or the query is NOT "
                       "FOUND (augment_query is a flag)."),
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
    tolerance=IDENTITY_TOLERANCE + " x (1 + beta)",
    notes=_MOD_NOTE + ("Negatives: a uniformly random subset of min(n_neg, N-1) other demonstrations per token, drawn "
                       "from the generator (the paper's choice is NOT FOUND); with N = 1 there are none."),
)


# ---------------------------------------------------------------- R-F3
def check_f3(cfg: dict, ctx: CheckContext, *, sgd=m.sequential_sgd, train=m.train_icl_regressor) -> Outcome:
    parts, curves, details = _sequential_parts(cfg, ctx, sgd)
    # Right panel: smoke comparison of the modifications on ICL linear regression; only finiteness is gated.
    d, N, steps = cfg["task_dim"], cfg["N"], cfg["train_steps"]
    if cfg["size"] == "paper":
        settings = [("plain", {})] + [("regularised", {"alpha": a}) for a in (0.1, 0.5, 0.9)] + \
            [("augmented", {"d_hidden": h}) for h in (8, 32)] + [("negative", {"beta": b}) for b in (0.1, 0.5, 1.0)]
    else:
        settings = [("plain", {}), ("regularised", {"alpha": 0.5}), ("augmented", {"d_hidden": 8}),
                    ("negative", {"beta": 0.5})]
    g = ctx.generator(99)
    series, finals = {}, {}
    for variant, kw in settings:
        model = m.ModifiedAttentionRegressor(d, cfg["train_d_r"], variant, g, n_neg=2, **kw)
        at, mse = train(model, d, N, steps, cfg["train_batch"], g, eval_every=max(1, steps // 10),
                        eval_batch=4 * cfg["train_batch"])
        label = variant + "".join(f" {k}={v}" for k, v in kw.items())
        series[label], finals[label] = (at, mse), mse[-1]
    curves["modifications"] = curve("training step", "test MSE (ICL linear regression)", series, logy=True)
    parts["right panel: every test MSE finite"] = Outcome.at_most(
        sum(0 if math.isfinite(v) else 1 for _, mse in series.values() for v in mse), 0.5)
    details["final_test_mse"] = finals
    return Outcome.all_of(parts, instances=cfg["batch"], curves=curves, details=details)


_register_identity(
    id="R-F3",
    reference="Figure 3",
    title="Fig. 3: equivalence error over 15 one-token steps reaches 0; modified models (smoke) (reconstructed)",
    statement=(r"e_t = \|W^{(t)}\phi(q) - \hat h'_{T+1}\|,\ t = 0..N,\ e_N = 0\ (N = 15);\ "
               r"\text{right: test MSE of regularised / augmented / negative models (recorded, not asserted)}"),
    provenance=Provenance.DERIVED_HIGH,
    check=check_f3,
    params=(
        Param("size", str, choices=("reduced", "paper"), doc="right panel: 4 models (reduced) or 10 settings"),
        Param("train_steps", int, min=0, max=100_000, doc="right panel: Adam steps per model"),
        Param("train_batch", int, min=1, max=4096, doc="right panel: prompts per step"),
        Param("train_d_r", int, min=1, max=4096, doc="right panel: random features"),
        Param("task_dim", int, min=1, max=64, doc="right panel: regression dimension d (tokens [x; y] in R^{d+1})"),
    ),
    defaults={"size": "reduced", "train_steps": 100, "train_batch": 64, "train_d_r": 32, "task_dim": 4},
    tolerance=IDENTITY_TOLERANCE + "; right panel: finiteness only",
    notes=("The caption's qualitative content (the error falls to about 0 over 15 steps) is STATED; the construction "
           "checked is reconstructed, hence DERIVED-HIGH. "
           "Left panel (spec [R-med]): N = 15 demonstrations fed one per step, as 'over 15 steps' suggests; the "
           "gated assertion is e_N within round-off (the paper's dimensions and seeds are NOT FOUND). Right panel: "
           "the paper's task, metric and numbers are NOT FOUND; a smoke comparison trains one kernelised attention "
           "layer per modification on ICL linear regression and records the test-MSE curves without any assertion "
           "beyond finiteness. The property test uses few training steps to stay cheap; the defaults (100 steps) "
           "or size='paper' on a GPU give the figure."),
    figure="e_t",
)

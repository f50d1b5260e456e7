"""Random features: positive random features approximate softmax attention (R-PRF) and the reconstructed
generalisation bound of Theorem 3.2 (R-T32). Both are statistical claims; every decision is three-verdict."""
from __future__ import annotations

import math
from functools import lru_cache

import torch
from scipy import stats as _st

from theorems import ren2024_symbolic as sym
from theorems.core import CheckContext, Claim, Control, Cost, Kind, Outcome, Param, Provenance, curve
from theorems.registry import register
from theorems.tolerances import binomial_verdict, fit_slope, identity_tolerance, mean_verdict, median_of_means_plan
from theorems.ren2024.common import (F64, FALSE_FAIL_RATE, PAPER, POWER, _dkw_verdict, _equality_verdict,
                                     _per_row_slopes, _ref_project, _ref_softmax, _symbolic_part,
                                     _two_sided_mean_verdict)


# ---------------------------------------------------------------- R-PRF
_median_of_means_plan = lru_cache(maxsize=None)(median_of_means_plan)  # a few hundred beta quantiles: plan once
# R-PRF's false-fail budget per example, split evenly over its four statistical decisions (union bound): the mean
# (per instance), the variance (per instance), the d_r-rate (two one-sided t limits) and the accuracy at dr_max.
PRF_DECISIONS = 4
PRF_MEAN_RESOLUTION = 0.1  # relative to e^{x.y}: a bias of 10% of the kernel value is resolved
PRF_VAR_RESOLUTION = 1.0  # relative to sigma^2 = e^{2x.y}(e^{|x+y|^2} - 1): a factor 2 is resolved
RATE_BAND = (-0.65, -0.35)  # stated band around the asymptotic slope -1/2 of the ratio estimator
RATE_RESOLUTION = 0.1  # slope units
# Accuracy at the largest d_r: |hat h' - h'|^2 / (its delta-method mean) has mean 1; the resolution of that decision.
# The delta-method mean m is first order, so E[r] is about 1, not below it: a bound of exactly 1 would sit on the
# expected value and be inconclusive half the time. The claim asserted is "within twice the PRF variance".
ACCURACY_BOUND = 2.0
ACCURACY_RESOLUTION = 1.0


@lru_cache(maxsize=None)
def _mom_power_k(groups: int, power: float) -> float:
    """Chebyshev multiplier k_beta at which the median of ``groups`` group statistics misses by > k_beta sd with
    probability <= 1 - power (the power side of a median-of-means decision)."""
    j = (groups + 1) // 2
    return 1.0 / math.sqrt(float(_st.beta.ppf(1 - power, j, groups - j + 1)))


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


def _error_vs_dr(cfg: dict, ctx: CheckContext) -> tuple[list[int], torch.Tensor, float, torch.Tensor]:
    """log |hat h'_rf - h'_softmax| per instance (``rate_seeds`` instances) for d_r = 64, 256, ..., dr_max, shape
    (instances, grid) (fresh features per instance and d_r, so the rows are i.i.d.; kernel attention by the
    implementation, exact softmax by the reference). Tokens are rescaled per instance so that max_j |k_j| and |q|
    equal ``key_norm`` (the spec's |W_K h|, |W_Q h| <= 1): the per-feature relative variance e^{|k+q|^2} - 1 then
    stays below e^4 - 1, so d_r = 64 is already in the asymptotic regime of the ratio estimator. Also returns the
    mean relative error at dr_max and, per instance, |error|^2 / its delta-method mean at dr_max."""
    S, N = cfg["rate_seeds"], cfg["N"]
    H, W_Q, W_K, W_V, _ = ctx.impl.random_instance(S, cfg["d_i"], cfg["d_o"], N, cfg["M"], 1, cfg["scale"],
                                                   cfg["token_bound"], ctx.generator(10), dtype=F64,
                                                   device=ctx.device)
    K, q, _ = _ref_project(H, W_Q, W_K, W_V)
    H = H * (cfg["key_norm"] / torch.maximum(K.norm(dim=1).amax(-1), q.norm(dim=-1)))[:, None, None]
    exact = _ref_softmax(H, W_Q, W_K, W_V)
    grid = [64 * 4**i for i in range(8) if 64 * 4**i <= cfg["dr_max"]]
    log_err, err = [], None
    for i, d_r in enumerate(grid):
        g = ctx.generator(11 + i)
        chunk = max(1, (1 << 21) // (d_r * (N + cfg["M"])))  # bound the memory of phi(K) at large d_r
        err = []
        for s in range(0, S, chunk):
            sl = slice(s, s + chunk)
            Wr = torch.randn(H[sl].shape[0], d_r, cfg["d_o"], generator=g, dtype=F64, device=ctx.device)
            err.append((ctx.impl.kernel_attention(H[sl], W_Q[sl], W_K[sl], W_V[sl], Wr, N).h - exact[sl]).norm(dim=-1))
        err = torch.cat(err)
        log_err.append(err.clamp(min=1e-300).log())
    relative = float((err / exact.norm(dim=-1).clamp(min=1e-300)).mean())
    K, q, V = _ref_project(H, W_Q, W_K, W_V)
    ratio = err**2 / _prf_mse(K, q, V, grid[-1]).clamp(min=1e-300)
    return grid, torch.stack(log_err, -1), relative, ratio


def check_prf(cfg: dict, ctx: CheckContext) -> Outcome:
    B, d_o, d_r, r = cfg["batch"], cfg["d_o"], cfg["d_r"], cfg["radius"]
    rate = FALSE_FAIL_RATE / PRF_DECISIONS  # per decision
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

    # Median of means over groups of whole feature sets, per instance at rate / B (union bound over the instances).
    # Chebyshev needs the group statistic's sd: the larger of the claim's closed form and the sample's own (so the
    # interval stays valid when the implementation's law is not the claimed one). At most sets // 2 groups: with
    # samples >= 256, every group holds n_g >= 2 samples (a sample variance exists).
    plan = _median_of_means_plan(sets, rate / B, max(1, sets // 2))
    k_beta = _mom_power_k(plan.groups, POWER)
    per_group = sets // plan.groups
    n_g = per_group * d_r  # samples per group
    used = Z[:, : plan.groups * per_group].reshape(B, plan.groups, n_g)
    flat = used.reshape(B, -1)
    var_hat = flat.var(-1)
    mu4_hat = ((flat - flat.mean(-1, keepdim=True)) ** 4).mean(-1)
    v, m4 = torch.maximum(var, var_hat), torch.maximum(mu4, mu4_hat)
    mean_med = used.mean(-1).median(-1).values
    var_med = used.var(-1).median(-1).values
    sd_mean = (v / n_g).sqrt()  # sd of a group mean
    sd_var = (m4 / n_g - v**2 * (n_g - 3) / (n_g * (n_g - 1))).clamp(min=0).sqrt()  # sd of a group's S^2
    roundoff = identity_tolerance(F64, n_g, 1.0)  # relative, for summing n_g terms of size ~E[Z] (resp. E[Z^2])
    mean_radius = plan.k * sd_mean + roundoff * m1
    var_radius = plan.k * sd_var + roundoff * (var + m1**2)  # round-off on terms of size E[Z^2]
    mom_what = f"median of {plan.groups} group {{}} ({n_g} features each), Chebyshev k = {plan.k:.3g}"
    mean_part = _equality_verdict(
        mean_med, mean_med - mean_radius, mean_med + mean_radius, m1, PRF_MEAN_RESOLUTION * m1, rate=rate / B,
        power=POWER, min_discrepancy=(plan.k + k_beta) * sd_mean, what="E[Z] = e^{x.y}: " + mom_what.format("means"),
        unit="instance", res_text=f"{PRF_MEAN_RESOLUTION:g} e^{{x.y}}")
    var_part = _equality_verdict(
        var_med, var_med - var_radius, var_med + var_radius, var, PRF_VAR_RESOLUTION * var, rate=rate / B,
        power=POWER, min_discrepancy=(plan.k + k_beta) * sd_var,
        what="Var[Z] = sigma^2: " + mom_what.format("sample variances"), unit="instance",
        res_text=f"{PRF_VAR_RESOLUTION:g} sigma^2")

    grid, log_err, relative_at_max, ratio = _error_vs_dr(cfg, ctx)
    slopes = _per_row_slopes(grid, log_err)  # i.i.d. per instance; their mean = the slope of the log geometric mean
    errors = log_err.mean(0).exp().tolist()
    fit = fit_slope(grid, errors)
    accuracy = mean_verdict(ratio.tolist(), ACCURACY_BOUND, "at_most", rate=rate, power=POWER,
                            resolution=ACCURACY_RESOLUTION,
                            unit="instances",
                            what=f"mean over instances of |hat h'_rf - h'_softmax|^2 / (delta-method PRF variance) "
                                 f"at d_r = {grid[-1]}")
    parts = {
        "unbiased: E[Z] = e^{x.y} (median of means)": mean_part,
        "positive: min phi(x)^T phi(y) term": Outcome.at_least(float(Z.min()), 0.0),
        "sympy E[Z] = e^{xy} (1-D Gaussian integral)": _symbolic_part(mom.nonzero_mean),
        "sympy Var[Z] = e^{2xy}(e^{(x+y)^2} - 1)": _symbolic_part(mom.nonzero_variance),
        "variance: Var[Z] = sigma^2 (median of sample variances)": var_part,
        **{f"error_vs_dr: {k}": v for k, v in _two_sided_mean_verdict(
            slopes.tolist(), *RATE_BAND, rate=rate, power=POWER, resolution=RATE_RESOLUTION, unit="instances",
            what="mean per-instance log-log slope of |hat h'_rf - h'_softmax| vs d_r").items()},
        "accuracy at dr_max: |hat h'_rf - h'_softmax|^2 within the PRF variance": accuracy,
    }
    reference = [errors[0] * math.sqrt(grid[0] / d) for d in grid]
    return Outcome.all_of(parts, instances=B, curves={"error_vs_dr": curve(
        "random features d_r", "geometric mean |hat h'_rf - h'_softmax|",
        {"measured": (grid, errors), "reference d_r^{-1/2}": (grid, reference)}, logx=True, logy=True)},
        details={"median_of_means": {"groups": plan.groups, "k": plan.k, "k_beta": k_beta, "samples_per_group": n_g},
                 "slope": fit.slope, "slope_per_instance_sd": float(slopes.std()),
                 "mean_relative_error_at_dr_max": relative_at_max,
                 "mean_error_ratio_at_dr_max": float(ratio.mean()),
                 "max_relative_mean_radius": float((mean_radius / m1).max()),
                 "max_relative_variance_radius": float((var_radius / var)[var > 0].max()) if (var > 0).any()
                 else math.nan})


PRF_SMALL = dict(samples=1 << 16, rate_seeds=100, dr_max=4096, batch=4)  # the control: R-M01 at radius 0.5


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
                  token_bound=1.0, rate_seeds=100, key_norm=1.0, dr_max=16384),
    cost=Cost.MEDIUM,
    false_fail_rate=FALSE_FAIL_RATE,
    power=POWER,
    control=Control("R-M01", PRF_SMALL | {"radius": 0.5}, 0),
    tolerance=(
        "False-fail budget 1e-6 per example, split evenly over four decisions (union bound); each prints its rule in "
        "details. Mean and variance of the per-feature term Z = d_r phi_r(x) phi_r(y), per instance (x, y) at "
        "1e-6/4/batch: median of means over g groups (odd) of whole feature sets, k and g chosen so that "
        "P(Binomial(g, 1/k^2) >= (g+1)/2) <= that rate (Chebyshev per group, so only the variance is needed: "
        "robust to the log-normal tails), with the group statistic's sd the larger of the closed form and the "
        "sample's own: sigma^2/m for a group mean, Var(S^2) = mu4/m - sigma^4 (m-3)/(m(m-1)) for a group's sample "
        "variance (sigma^2, mu4 from the log-normal moments E[Z^k] = exp(k^2|x+y|^2/2 - k(|x|^2+|y|^2)/2), "
        "derived with sympy as polynomials in expm1(|x+y|^2) and lambdified to torch), plus 8 eps m round-off. "
        "The interval is the median +- k sd: violated if it excludes e^{x.y} (resp. sigma^2) for some instance, "
        "held if it lies within e^{x.y} +- 0.1 e^{x.y} (resp. sigma^2 +- 1.0 sigma^2) for every instance, else "
        "inconclusive; min_discrepancy = (k + k_beta) sd with k_beta the multiplier at miss probability 1 - "
        "power. Rate: per-instance least-squares slopes of log |hat h'_rf - h'_softmax| vs log d_r over d_r = "
        "64, 256, ..., dr_max (rate_seeds i.i.d. instances, fresh features per d_r), two one-sided Student-t "
        "limits at 1e-6/8 each on their mean against the stated band [-0.65, -0.35] (a project choice around the "
        "asymptotic -1/2 of the ratio estimator): violated if a limit lies beyond the band, held if the interval "
        "lies within the band widened by the resolution 0.1, else inconclusive. Accuracy at dr_max (the spec's "
        "accuracy check, asserted): per instance, r = |hat h'_rf - h'_softmax|^2 / m, m the delta-method mean of "
        "the ratio estimator's squared error from the PRF covariance Cov(hat K_j, hat K_l) = (E[Z_j Z_l] - "
        "K_j K_l)/d_r (closed form); on the mean of r over the instances, violated if the lower Student-t limit "
        "at 1e-6/4 > 2, held if the estimate <= 2 and the upper limit <= 2 + 1 (resolution), else inconclusive "
        "(the delta method is first order, so E[r] is about 1: the claim is 'within twice the PRF variance')."),
    notes=("Standard result of Choromanski et al. (2021), used by the paper (spec [R-high]); reconstructed, not the "
           "paper's text. The variance is tested per feature (Var[phi(x)^T phi(y)] = Var[Z]/d_r by independence of "
           "the w_r). The spec's fixed band [0.7, 1.4] for the variance ratio is replaced by the median-of-means "
           "interval above. The slope band is a stated project choice; the decision on it is statistical (t limits "
           "on i.i.d. per-instance slopes, approximately normal by the CLT over rate_seeds = 100 instances). The "
           "median-of-means three-verdict rule is _equality_verdict in this module (built like "
           "tolerances._decide)."),
    figure="error_vs_dr",
))


# ---------------------------------------------------------------- R-T32
def t32_bound(N: int, B_W: float, B_V: float, B_phi: float, delta: float) -> float:
    """Reconstructed bound (spec §1.6): 2 B_W B_V B_phi / sqrt(N) + 2 c sqrt(log(1/delta) / (2N)),
    c = B_W B_V B_phi."""
    c = B_W * B_V * B_phi
    return 2 * c / math.sqrt(N) + 2 * c * math.sqrt(math.log(1 / delta) / (2 * N))


T32_SLOPE_BAND = (-0.7, -0.3)  # spec §4.9 (b): a stated band around the reconstructed rate -1/2
T32_SLOPE_RESOLUTION = 0.1  # slope units
T32_RESOLUTION = 0.1  # the exceedance rate above delta that the binomial decision resolves
T32_LAW_RESOLUTION = 0.2  # Kolmogorov distance of (|h|/r)^d_i from U(0, 1) that the law decision resolves
# R-T32's false-fail budget per example, split evenly over its three decisions (union bound): the bound (split over
# the N grid), the slope (two one-sided t limits) and the law of P's support.
T32_DECISIONS = 3


def check_t32(cfg: dict, ctx: CheckContext) -> Outcome:
    g = ctx.generator()
    rate = FALSE_FAIL_RATE / T32_DECISIONS
    d_i, d_o, d_r, K = cfg["d_i"], cfg["d_o"], cfg["d_r"], cfg["support"]
    kw = dict(generator=g, dtype=F64, device=ctx.device)
    # P = uniform over K fixed points of the ball: population quantities are exact averages, the bounds exact maxima.
    h = ctx.impl.uniform_ball(K, d_i, cfg["radius"], g)  # (K, d_i)
    radii = h.norm(dim=-1) / cfg["radius"] if h.shape == (K, d_i) else torch.full((K,), math.inf, dtype=F64)
    # uniform in the ball <=> |h|/r has CDF t^d_i (and the direction is uniform): (|h|/r)^d_i ~ U(0, 1)
    ball_law = _dkw_verdict(radii**d_i, "uniform_ball radii (|h|/r)^d_i", rate=rate, power=POWER,
                            resolution=T32_LAW_RESOLUTION)
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
    log_gap, max_gap, bounds, violations, decisions = [], [], [], [], {}
    for N in Ns:
        idx = torch.randint(K, (trials, N), generator=g, device=ctx.device)
        counts = torch.zeros(trials, K, dtype=F64, device=ctx.device).scatter_add_(
            1, idx, torch.ones(trials, N, dtype=F64, device=ctx.device))
        # sup over |W|_F <= B_W of E l(W) - (1/N) sum_i l(W; h_i) = sup <W, hat G - G> = B_W |hat G - G|_F
        gap = B_W * (counts @ Z / N - G).norm(dim=-1)
        b = t32_bound(N, B_W, B_V, B_phi, cfg["delta"])
        log_gap.append(gap.clamp(min=1e-300).log())
        max_gap.append(float(gap.max()))
        bounds.append(b)
        violations.append(int((gap > b).sum()))
        decisions[N] = binomial_verdict(violations[-1], trials, cfg["delta"], "at_most",
                                        rate=rate / len(Ns), power=POWER, resolution=T32_RESOLUTION,
                                        what=f"P(sup gap > bound) at N = {N}")
    # Trial j at every N is one path of independent draws: the per-path slopes are i.i.d.; their mean is the slope of
    # the log geometric-mean gap.
    log_gap = torch.stack(log_gap, -1)  # (trials, grid)
    slopes = _per_row_slopes(Ns, log_gap)
    mean_gap = log_gap.mean(0).exp().tolist()
    worst = min(decisions, key=lambda n: decisions[n].margin)
    parts = {
        f"P(sup gap > bound) <= delta (worst N = {worst})": decisions[worst],
        **{f"gap vs N: {k}": v for k, v in _two_sided_mean_verdict(
            slopes.tolist(), *T32_SLOPE_BAND, rate=rate, power=POWER, resolution=T32_SLOPE_RESOLUTION, unit="paths",
            what="mean per-path log-log slope of the sup gap vs N").items()},
        "P: uniform_ball is uniform in the ball": ball_law,
    }
    return Outcome.all_of(parts, instances=trials, curves={"gap_vs_N": curve(
        "demonstrations N", "sup_W generalisation gap",
        {"geometric mean over trials": (Ns, mean_gap), "max over trials": (Ns, max_gap),
         "reconstructed bound": (Ns, bounds)}, logx=True, logy=True)},
        details={"violations": violations, "B_V": B_V, "B_phi": B_phi, "slope": float(slopes.mean()),
                 "slope_per_path_sd": float(slopes.std()),
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
    control=Control("R-M32", dict(trials=200, N_max=256, d_r=8), 0),
    tolerance=("False-fail budget 1e-6 per example, split evenly over three decisions. (a) Bound: per N of the grid, "
               "the exceedance count k of `trials` trials whose uniform gap B_W |hat G - G|_F exceeds the "
               "reconstructed bound: one-sided Clopper-Pearson limits at 1e-6/3/|grid|, violated if the lower limit "
               "> delta, held if the upper limit <= delta + 0.1 (resolution), else inconclusive; the worst N is the "
               "part shown (its rule in details). (b) Rate: the per-path least-squares slopes of log gap vs log N "
               "(trial j at every N is one path of independent draws) decided by two one-sided Student-t limits at "
               "1e-6/6 each on their mean against the spec's stated band [-0.7, -0.3] (a project choice around "
               "-1/2): violated if a limit lies beyond the band, held if the interval lies within the band widened "
               "by the resolution 0.1, else inconclusive. (c) Law of P's support: (|h|/r)^d_i ~ U(0, 1), Kolmogorov "
               "distance by DKW at 1e-6/3: violated if sup |F_n - F| > the DKW radius eps, held if sup |F_n - F| + "
               "eps <= 0.2 (resolution), else inconclusive. Each part's printed rule is in details."),
    notes=("Theorem 3.2's form and constants are NOT FOUND, and the spec's errata (second source pass) give no "
           "tighter reconstruction: this is the spec's reconstructed Rademacher bound (§1.6, DERIVED-LOW), labelled "
           "'reconstructed bound'. P is the uniform distribution on a fixed finite sample of the ball, so "
           "G = E[y phi^T], B_V and B_phi are exact (no Monte-Carlo error in the population loss, unlike the spec's "
           "10^5 fresh samples). The gap is the supremum over the whole class (W = B_W (hat G - G)/|.|), which is "
           "stronger than the spec's W = B_W normalize(sum y_i phi_i^T). Plainly: the bound part (a) is reported, "
           "not a test of the model: the reconstructed bound is about 8.6x loose at the defaults "
           "(max_gap_over_bound about 1/8.6; bound/8 would still pass), so no plausible model bug makes it fail; "
           "the rate part (b) holds for any i.i.d. mean of bounded terms, so it cannot fail on a wrong model "
           "either. The claim's teeth are part (c), the law of the ball sampler that P is drawn from (a sampler "
           "bug is what breaks the theorem's i.i.d.-from-the-ball hypothesis; R-M32 is killed by it)."),
    figure="gap_vs_N",
))

"""Figures 3 and 4: the ridge gap around N = m (closed forms) and the number of heads under GD."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from theorems.core import (Assumption, CheckContext, Claim, ConfigError, Control, Cost, Kind, Outcome, Param,
                           Provenance, curve)
from theorems.registry import register
from theorems.tolerances import mean_verdict
from theorems.yang2024.common import F64, Impl, PAPER, POWER, _holds, _tol, _worst, over_seeds


# ================================================================ Figure 3: ridge gap around N = m
F3_FALSE_FAIL = 1e-3  # over its two statistical decisions (left and right of N = m)
F3_RESOLUTION = 0.25  # held excludes E gap(m +- 1) > E gap(m +- 2) by a quarter of the latter
SIZES = ("reduced", "paper")


def _f3_draw(cfg: dict, g: torch.Generator) -> tuple[int, int, Tensor, Tensor]:
    """m, K, the features Z (reps, m, K) and the labels of all K tokens, y = lambda^T (z_k + eps_k), one task and
    one noise draw per repetition."""
    reps, tau = cfg["batch"], cfg["tau"]
    K = cfg["K"] if cfg["size"] == "reduced" else 200
    dm = cfg["m"] if cfg["size"] == "reduced" else 100
    Zt = torch.randn(reps, dm, K, generator=g, dtype=F64, device=g.device)
    lam = torch.randn(reps, 1, dm, generator=g, dtype=F64, device=g.device)
    y_all = (lam @ Zt + math.sqrt(tau) * (lam.unsqueeze(-1) * torch.randn(reps, 1, dm, K, generator=g, dtype=F64,
                                                                          device=g.device)).sum(2)).squeeze(1)
    return dm, K, Zt, y_all


def _prompt_lengths(dm: int, K: int) -> list[int]:
    """The sweep N in [m/2, 3m/2] (steps of m/10) and every N within 3 of m (the local behaviour)."""
    return sorted(set(range(max(1, dm // 2), min(K - 1, 3 * dm // 2) + 1, max(1, dm // 10)))
                  | set(range(max(1, dm - 3), min(K - 1, dm + 3) + 1)))


def _ridge_at_N(m: Impl, N: int, Zt: Tensor, y_all: Tensor, tau: float, cs: Tensor) -> tuple[Tensor, Tensor | None,
                                                                                                Tensor]:
    """At prompt length N: the gap (1/K)||y_ridge - y_oracle||^2 on the unseen tokens per repetition, the worst
    violation of the norm ordering (N < m: ||lambda_hat|| <= ||lambda_tau||, N > m: >=; None at N = m) and of
    ||lambda(c)|| non-increasing in the penalty c."""
    reps, dm, K = Zt.shape
    inst = m.Instance(torch.zeros(reps, 1, K, dtype=F64, device=Zt.device), Zt, N, tau)
    y = y_all[:, :N].unsqueeze(1)
    # the gap between the model's two predictors: ridge_predictor (eq. 20) and oracle_predictor (eq. 25)
    gap = (m.ridge_predictor(inst, y) - m.oracle_predictor(inst, y))[:, 0, N:].pow(2).sum(-1) / K  # (reps,)
    # the norms behind the figure: penalty m tau (the transformer) against N tau (the oracle)
    nt = m.ridge_coefficients(inst, y, dm * tau).squeeze(1).norm(dim=-1)
    no = m.ridge_coefficients(inst, y, N * tau).squeeze(1).norm(dim=-1)
    tol = _tol(N + dm, no + nt)
    # N < m: over-regularised, smaller norm (under-fit); N > m: under-regularised, larger norm (over-fit)
    order = (nt - no - tol).max() if N < dm else (no - nt - tol).max() if N > dm else None
    norms = torch.stack([m.ridge_coefficients(inst, y, float(c)).squeeze(1).norm(dim=-1) for c in cs], 1)
    return gap, order, (norms[:, 1:] - norms[:, :-1] - _tol(N + dm, norms[:, :-1])).max()


def _local_growth(gaps: dict, dm: int, gap_tol: float) -> dict:
    """On each side of N = m: the mean gap at m +- 1 is positive and E gap(m +- 1) <= E gap(m +- 2)."""
    local = {}
    for side, word in ((-1, "left"), (1, "right")):
        g1, g2 = gaps.get(dm + side), gaps.get(dm + 2 * side)
        if g1 is not None and g2 is not None:
            pm = "-+"[side > 0]
            local[f"{word}: mean gap(m {pm} 1) > 0"] = Outcome.at_least(float(g1.mean()), gap_tol)
            # E gap(m +- 1) <= E gap(m +- 2): per repetition (independent Z, lambda, noise) the difference, in units
            # of the mean gap(m +- 2), decided by mean_verdict over the repetitions
            local[f"{word}: E gap(m {pm} 1) <= E gap(m {pm} 2)"] = mean_verdict(
                ((g1 - g2) / g2.mean()).tolist(), 0.0, "at_most", rate=F3_FALSE_FAIL / 2, power=POWER,
                resolution=F3_RESOLUTION, what=f"(gap(m {pm} 1) - gap(m {pm} 2)) / mean gap(m {pm} 2)",
                unit="repetitions")
    return local


def check_f3(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    tau, reps = cfg["tau"], cfg["batch"]
    g = ctx.generator()
    dm, K, Zt, y_all = _f3_draw(cfg, g)
    gaps, order_viol, mono_viol = {}, [], []
    cs = torch.logspace(-3, 2, 12, dtype=F64, device=g.device)
    for N in _prompt_lengths(dm, K):  # a sweep over prompt lengths (each N a different problem size)
        gaps[N], order, mono = _ridge_at_N(m, N, Zt, y_all, tau, cs)
        if order is not None:
            order_viol.append(order)
        mono_viol.append(mono)
    mean = {N: float(v.mean()) for N, v in gaps.items()}
    scale = float(y_all.abs().max()) ** 2 * float(Zt.abs().max()) ** 2
    gap_tol = _tol(dm * K, scale)
    parts = {
        "gap(N = m) = 0": Outcome.at_most(float(gaps[dm].max()), gap_tol),
        "N < m: ||lambda_hat|| <= ||lambda_tau||, N > m: >= (all N, all repetitions)": Outcome.at_most(
            float(torch.stack(order_viol).max()), 0.0),
        "||lambda(c)|| is non-increasing in c": Outcome.at_most(float(torch.stack(mono_viol).max()), 0.0),
    }
    parts |= _local_growth(gaps, dm, gap_tol)
    xs = list(mean)
    return Outcome.all_of(parts, instances=reps, curves={"ridge_gap": curve(
        "N (prompt length)", "mean gap (1/K)||Z_Q^T (lambda_hat - lambda_tau)||^2",
        {f"m = {dm}, tau = {tau:g}, K = {K}": (xs, [mean[x] for x in xs])})},
        details={"mean_gap": {str(k): v for k, v in mean.items()}})


register(Claim(
    id="Y-F3", paper=PAPER, reference="Figure 3 and Section 3.2",
    title="The ridge gap to the oracle vanishes at N = m and grows on either side (local behaviour only; "
          "reconstructed quantity)",
    statement=r"\mathrm{gap}(N) = \tfrac1K\|Z_Q^\top(\hat\lambda - \hat\lambda_\tau)\|^2 = 0 \text{ at } N = m;\ "
              r"N < m: \|\hat\lambda\| \le \|\hat\lambda_\tau\| \text{ (under-fit)},\ N > m: \|\hat\lambda\| \ge "
              r"\|\hat\lambda_\tau\| \text{ (over-fit)}",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.MECHANISM, check=check_f3,
    params=(Param("m", int, min=2, max=1024), Param("K", int, min=4, max=8192), Param("tau", float, gt=0, max=100),
            Param("batch", int, min=1, max=4096, doc="repetitions (independent Z, lambda, noise)"),
            Param("size", str, choices=SIZES, doc="reduced: the given m, K; paper: m = 100, K = 200")),
    defaults=dict(m=20, K=60, tau=0.01, batch=64, size="reduced"),
    assumptions=(Assumption("K > 3m/2", lambda c: c["size"] == "paper" or c["K"] > 3 * c["m"] // 2 + 1,
                            "the sweep N in [m/2, 3m/2] needs unseen tokens"),), cost=Cost.SLOW,
    false_fail_rate=F3_FALSE_FAIL, power=POWER,
    tolerance="gap(m): 8 eps x m K x max|y|^2 max|z|^2; norm ordering and monotonicity: 8 eps x (N + m) x norms; "
              "mean gap(m +- 1) > 8 eps m K max|y|^2 max|z|^2; local growth, each side: the per-repetition "
              "(gap(m +- 1) - gap(m +- 2)) / mean gap(m +- 2) has mean <= 0 by mean_verdict over the repetitions at "
              "1e-3/2: violated if the lower limit > 0, held if the upper limit <= 0.25, else inconclusive; power 0.9",
    notes="The paper shows the gap is smallest near N = m; the spec's closed-form replication shows it is not "
          "monotone in |N - m| far away (peaks near N = 0.7m and 1.3m), so only the local behaviour is asserted. "
          "S7 (Y-L4, Y-T2) derives gap(N = m) = 0 symbolically. Paper size: m = 100, tau = 0.01, K = 200.",
    figure="ridge_gap",
    control=Control(mutant="Y-M15", config={"m": 10, "K": 30, "batch": 8}, seed=0),
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


F4_FALSE_FAIL = 1e-2  # over its three decisions on instances (the H = 1 floor is a deterministic inequality)
F4_RESOLUTION = 1.0  # decades of Delta(T)/Delta(0): held excludes a mean log10 one decade beyond the bound
F4_CAP = 2.0  # per-instance log10 values are capped 2 decades beyond the bound (conservative, see check_f4)
F4_SIZES = {"reduced": dict(d=8, N=6, K=20, m=4), "paper": dict(d=100, N=30, K=200, m=20)}


@dataclass
class _HeadsRun:
    """One vectorised GD run of every (instance, H) pair under both step rules, as Delta(t)/Delta(0)."""

    rows: list[tuple[int, int]]  # (instance, H) of each run, in the order of ``shared`` and ``per_H``
    hs: list[int]
    n_inst: int
    shared: Tensor  # (runs, T + 1): the shared step 1/L_w0(H_ref)
    per_H: Tensor  # (runs, T + 1): the step 1/L_w0(H)
    etaL: Tensor  # eta_shared L_w0(H) per run
    bound1: Tensor  # the NNLS floor of H = 1 over Delta(0), per instance (Y-MH)

    @property
    def H_of(self) -> Tensor:
        return torch.tensor([H for _, H in self.rows], device=self.shared.device)

    @property
    def inst_of(self) -> Tensor:
        return torch.tensor([i for i, _ in self.rows], device=self.shared.device)


def _run_heads(m: Impl, cfg: dict, ctx: CheckContext, hs: list[int], dims: dict) -> _HeadsRun:
    """GD from nested initialisations (H heads = the first H of H_max) with w^(0) = 0, once at the shared step
    1/L_w0(H_ref) of the same instance and once at 1/L_w0(H) per H; eta_Q = eta_w / gamma^2."""
    N, Hmax, n_inst, T, gamma = dims["N"], max(hs), cfg["batch"], cfg["steps"], cfg["gamma"]
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
    bound1 = m.one_head_lower_bound(base) / m.gap_of_ahat(torch.zeros_like(base.A), base)  # NNLS / Delta0, H = 1
    return _HeadsRun(rows, hs, n_inst, rel[: len(rows)], rel[len(rows):], eta_shared * Lw0[: len(rows)], bound1)


def _plateau_ratio(run: _HeadsRun, N: int) -> list[float]:
    """Per instance, as the figure shows one: each H <= 2 run against its own slowest stable H >= N run (across
    instances a fast H = 2 of one and a slow H = 6 of another are not what the figure compares). Reported only: a
    tuned 10x threshold is not a derived rule."""
    H_of, inst_of, final = run.H_of, run.inst_of, run.shared[:, -1]
    stable_conv = (H_of >= N) & (run.etaL <= 1)
    slowest = torch.full((run.n_inst,), -math.inf, dtype=final.dtype, device=final.device).scatter_reduce(
        0, inst_of[stable_conv], final[stable_conv], reduce="amax")
    pair = (H_of <= 2) & torch.isfinite(slowest)[inst_of]
    return (final[pair] / slowest[inst_of[pair]]).tolist() if bool(pair.any()) else []


def _per_instance(run: _HeadsRun, vals: Tensor, sel: Tensor, reduce: str) -> list[float]:
    """One value per instance over the selected runs (amax: the worst H for "converges", amin for "diverges")."""
    out = torch.full((run.n_inst,), -math.inf if reduce == "amax" else math.inf, dtype=F64, device=vals.device)
    return [float(x) for x in out.scatter_reduce(0, run.inst_of[sel], vals[sel], reduce=reduce) if math.isfinite(x)]


def _capped_log10(r: Tensor) -> Tensor:
    """log10 of Delta(T)/Delta(0), a diverged run (nan) counted as inf, clamped to [1e-300, 1e300]."""
    return torch.log10(torch.nan_to_num(r, nan=math.inf).clamp(min=1e-300, max=1e300))


def _decide(v: list[float], bound: float, side: str, what: str) -> Outcome:
    """mean_verdict over the instances' values, each of the three decisions at F4_FALSE_FAIL / 3."""
    return over_seeds(v, bound, side, F4_FALSE_FAIL / 3, F4_RESOLUTION, what)


def _heads_decisions(run: _HeadsRun, N: int, conv_level: float) -> tuple[dict, Tensor]:
    """Per instance (the unit of replication: independent instances, each its own GD runs) a log10 value, decided by
    mean_verdict over the instances. Values beyond the bound by more than F4_CAP decades are capped there: a cap
    only moves a value towards the bound, so it can turn held into inconclusive, never the reverse. Returns the
    parts and the peaks max_t Delta(t)/Delta(0) of the shared step."""
    H_of, Hmax, parts = run.H_of, max(run.hs), {}
    lo_conv = math.log10(conv_level)
    cap = lambda v: min(max(v, lo_conv - F4_CAP), lo_conv + F4_CAP)  # noqa: E731
    conv_vals = [cap(v) for v in _per_instance(run, _capped_log10(run.shared[:, -1]), (H_of >= N) & (run.etaL <= 1),
                                               "amax")]
    parts["H >= N converges (shared step, eta L_w0 <= 1): mean log10 Delta(T)/Delta(0) <= log10 conv_level"] = \
        _decide(conv_vals, lo_conv, "at_most", "max over stable H >= N of log10 Delta(T)/Delta(0)") if conv_vals \
        else _holds(False, "no H >= N with eta L_w0 <= 1 in the list")
    # The paper: a very large H is unstable. Asserted for the largest H, where eta L_w0 > 2. Not for every H with
    # eta L_w0 > 2: L_w moves as Q trains, and a thorough run found eta L_w0 = 2.013 (H = 16) ending below Delta(0).
    peaks = torch.nan_to_num(run.shared, nan=math.inf).amax(-1).clamp(max=1e300)  # overflow = diverged
    div_vals = [min(v, F4_CAP) for v in _per_instance(run, torch.log10(peaks), (H_of == Hmax) & (run.etaL > 2),
                                                      "amin")]
    parts["shared step, the largest H (eta L_w0 > 2): mean log10 max_t Delta(t)/Delta(0) > 0 (diverges)"] = _decide(
        div_vals, 0.0, "at_least", "log10 max_t Delta(t)/Delta(0), the largest H") if div_vals else _holds(
        False, "the largest H has eta L_w0 <= 2 under the shared step: the instability case was not exercised")
    big_vals = [cap(v) for v in _per_instance(run, _capped_log10(run.per_H[:, -1]), H_of == Hmax, "amax")]
    parts["step 1/L_w0(H) per H: the largest H converges: mean log10 Delta(T)/Delta(0) <= log10 conv_level"] = \
        _decide(big_vals, lo_conv, "at_most", "log10 Delta(T)/Delta(0), the largest H, step 1/L_w0(H)")
    return parts, peaks


def _heads_curves(run: _HeadsRun, T: int) -> dict:
    """Delta(t)/Delta(0) of instance 0 per H under both step rules; diverged runs (inf) are drawn at the top of the
    plotted range, 1e6 x Delta(0)."""
    stride = max(1, T // 300)
    ts = list(range(0, T + 1, stride))

    def series(r: Tensor) -> dict:
        return {f"H = {H}": (ts, torch.nan_to_num(r[[j for j, (i, h) in enumerate(run.rows) if h == H and i == 0]][
            0, ::stride], nan=1e6, posinf=1e6).clamp(min=1e-20, max=1e6)) for H in run.hs}

    return {"heads_shared_step": curve("t", "Delta(t)/Delta(0)", series(run.shared), logy=True),
            "heads_per_H_step": curve("t", "Delta(t)/Delta(0), step 1/L_w0(H)", series(run.per_H), logy=True)}


def check_f4(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    hs = _heads(cfg["heads"])
    dims = F4_SIZES[cfg["size"]] | ({"N": cfg["N"]} if cfg["size"] == "reduced" else {})
    N = dims["N"]
    if cfg["H_ref"] not in hs:
        raise ConfigError("H_ref", f"must be one of heads = {hs}")
    run = _run_heads(m, cfg, ctx, hs, dims)
    H_of, shared = run.H_of, run.shared
    plateau_ratio = _plateau_ratio(run, N)
    parts = {}
    if 1 in hs:  # H <= 2 plateaus: asserted through the derived floor for H = 1 (the one-head NNLS bound)
        parts["H = 1: Delta(T)/Delta(0) >= NNLS bound (Y-MH) > 0"] = _worst(
            shared[H_of == 1, -1], run.bound1 * (1 - _tol(N * dims["K"], 1.0)), le=False)
    decisions, peaks = _heads_decisions(run, N, cfg["conv_level"])
    parts |= decisions
    per_H, etaL = run.per_H, run.etaL
    return Outcome.all_of(parts, instances=run.n_inst, curves=_heads_curves(run, cfg["steps"]), details={
        "final_shared": {str(H): [float(x) for x in shared[H_of == H, -1]] for H in hs},
        "final_per_H": {str(H): [float(x) for x in per_H[H_of == H, -1]] for H in hs},
        "eta_shared L_w0(H)": {str(H): [float(x) for x in etaL[H_of == H]] for H in hs},
        "peak Delta(t)/Delta(0), shared step (reported)": {str(H): [float(x) for x in peaks[H_of == H]] for H in hs},
        "H <= 2 final / slowest stable H >= N final, per run (reported)": plateau_ratio})


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
                  conv_level=1e-2, batch=4),
    # N = 30 at paper size: heads must straddle it; H = 400 is the paper's unstable head count. Calibrated on an H100
    # (2026-11-22): eta L_w0 is 0.95 (H = 30), 1.0 (32), 1.8 (64), 10.2 (400, diverges); margin +0.81. One instance:
    # the batch of three (the reduced default) has not been run at paper size on a GPU yet.
    presets={"paper": dict(size="paper", heads="1,2,30,32,64,400", H_ref=32, batch=1)},
    assumptions=(Assumption("N >= 3", lambda c: c["size"] == "paper" or c["N"] >= 3,
                            "H <= 2 must be fewer heads than prompt tokens"),), cost=Cost.SLOW,
    false_fail_rate=F4_FALSE_FAIL, power=POWER,
    tolerance="H = 1 plateaus: Delta(T)/Delta(0) >= the NNLS floor (Y-MH) with relative 8 eps N K, every run "
              "(deterministic); the rest by mean_verdict over the instances (one value each) at 1e-2/3, resolution 1 "
              "decade: H >= N converges (shared step, eta L_w0 <= 1): mean of max_H log10 Delta(T)/Delta(0) <= "
              "log10 conv_level (1e-2); the largest H diverges (eta L_w0 > 2): mean log10 max_t Delta(t)/Delta(0) "
              ">= 0; with the step 1/L_w0(H) the largest H converges: mean log10 Delta(T)/Delta(0) <= log10 "
              "conv_level; per-instance values capped 2 decades beyond the bound (conservative); power 0.9; the "
              "ratio of H <= 2 to the slowest H >= N is reported, not asserted",
    notes="The paper reports that H < N plateaus, H >= N converges and H = 400 is unstable (Adam, paper size). "
          "Under plain GD the instability reproduces only at one shared step size: L_w grows with H and GD "
          "diverges at a large H with eta L_w0(H) > 2; with the step scaled per H (1/L_w0(H)) the largest H converges "
          "fastest (both are reported). eta L_w0 > 2 alone does not make GD diverge: L_w moves as Q trains, and a "
          "thorough run found H = 16 at eta L_w0 = 2.013 ending below Delta(0), so divergence is asserted for the "
          "largest H (the paper's very large H) and the peaks of the others are reported. The plateau of H <= 2 is "
          "asserted through the derived NNLS floor for H = 1, not a tuned factor (the ratio to the slowest H >= N, "
          "8.6x to 15000x in a thorough run, is reported). 2 < H < N is not asserted "
          "(not separable from H = N within the step budget, spec calibration). Reduced default: N = 6, K = 20, "
          "d = 8, m = 4, tau = 0.1, H in {1, 2, 6, 8, 16, 64}, four independent instances in one vectorised run "
          "(the unit of replication of the statistical parts).",
    figure="heads_shared_step",
    control=Control(mutant="Y-M22", config={}, seed=0),
))

"""Generalisation claims: Condition 3.2, Theorems 3.3 / 3.4, Corollary 4.3, the scaling and the classical
baselines."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING
import numpy as np
import torch
from models import li2024_baselines as bl
from theorems.core import (Assumption, AssumptionNotMet, CheckContext, Claim, ConfigError, Control, Cost, Kind, Outcome, Provenance, curve)
from theorems.registry import register
if TYPE_CHECKING:  # annotations only
    from models import li2024 as m


from theorems.li2024.common import (
    at_least, at_most, BATCH, combine, COND_32, coverage_counts, DTYPES, _eval_cfg, FFR, _FIELD_PARAMS,
    hinge_loss, id_prompts, ood_prompts, _p, PAPER, POWER, RES_LOSS, S1_GRID, SHARES_WORLD,
    slope_verdict, steps_to_reach, THEOREM_33, WEAKER, world, WORLD_DEFAULTS, WORLD_PARAMS, zero_one,
)

# ---------------------------------------------------------------------------------------------------- L-C32
def check_c32(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    M1, n = cfg["M1"], cfg["n_task_families"]
    if n > M1 - 1:
        raise ConfigError("n_task_families", f"at most M1 - 1 = {M1 - 1} cyclic shifts exist, got {n}")
    tr = impl.train_tasks(M1, n, "cyclic")
    held = impl.heldout_tasks(M1, tr)
    held_ref = {(a, b) for a in range(M1) for b in range(M1) if a != b} - {tuple(t) for t in tr.tolist()}
    as_pos, as_neg = coverage_counts(tr, M1)
    pairs = {tuple(t) for t in tr.tolist()}
    parts = {
        "every pattern is +1 and -1 equally often": Outcome.at_most(float((as_pos - as_neg).abs().max()), 0.0),
        "uniform over patterns": Outcome.at_most(float(as_pos.max() - as_pos.min()), 0.0),
        "|T_tr| >= M1": Outcome.at_least(len(pairs), M1),
        "distinct valid tasks": Outcome.at_most(float(len(tr) - len(pairs) + int((tr[:, 0] == tr[:, 1]).sum())), 0.0),
        "T_tr and T \\ T_tr partition T": Outcome.at_most(abs(len(pairs) + len(held) - M1 * (M1 - 1)), 0.0),
        "held-out tasks = T \\ T_tr (explicit set)": Outcome.at_most(
            float(len(held_ref ^ {tuple(t) for t in held.tolist()}) + len(held) - len(held_ref)), 0.0),
    }
    return Outcome.all_of(parts, details={"|T_tr|": len(tr), "fraction |T_tr|/|T|": len(tr) / (M1 * (M1 - 1)),
                                          "slide's sufficient fraction (M1-1)^-1/2": (M1 - 1) ** -0.5})


register(Claim(
    id="L-C32", control=Control("L-M24", {}, 0), paper=PAPER, reference="Condition 3.2",
    title="Training tasks uniformly cover all IDR patterns and labels (the project's T_tr generator)",
    statement=r"\forall j\in[M_1]:\ \#\{(a,b)\in\mathcal T_{tr}: a=j\} = \#\{(a,b)\in\mathcal T_{tr}: b=j\} "
              r"= |\mathcal T_{tr}|/M_1,\quad |\mathcal T_{tr}| \ge M_1",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, check=check_c32,
    params=(_FIELD_PARAMS["M1"], _FIELD_PARAMS["n_task_families"]),
    defaults={"M1": 6, "n_task_families": 1}, cost=Cost.CHEAP,
    tolerance="exact integer counts (no tolerance)",
    notes="The condition is STATED (slides); the cyclic cover {(a, a+s mod M1)} generator is the spec's choice. "
          "The slide's fraction (M1-1)^-1/2 is inconsistent with |T_tr| = M1 (fraction 1/(M1-1)); both are reported.",
))


# ---------------------------------------------------------------------------------------------------- L-T33
def check_t33(cfg: dict, ctx: CheckContext) -> Outcome:
    w = world(cfg, ctx)
    pr = id_prompts(w, cfg, ctx)
    f = ctx.impl.forward(w.params, pr.P)
    err, h = zero_one(f.F, pr.z), hinge_loss(f.F, pr.z)
    # The hardest prompt (iii) admits: l_ts alpha' = 1, so one context shares the query's pattern among hard_l. At the
    # default prompts the error is saturated (0) whatever the attention does; here a softer softmax (scores / sqrt(d))
    # errs on ~13% of prompts (measured), the paper's model on < 1%.
    hard = cfg | {"l_test": cfg["hard_l"], "alpha_test": 1 / cfg["hard_l"], "test_sampling": "guaranteed"}
    pr_hard = id_prompts(w, hard, ctx, offset=12)
    err_hard = zero_one(ctx.impl.forward(w.params, pr_hard.P).F, pr_hard.z)
    r = FFR / 3
    parts = {
        "held-out 0-1 error": at_most(err, cfg["err_max"], r, what="per-seed 0-1 error"),
        "held-out hinge": at_most(h, cfg["hinge_max"], r, resolution=RES_LOSS, what="per-seed mean hinge"),
        f"held-out 0-1 error with one same-pattern context in l_ts = {cfg['hard_l']}": at_most(
            err_hard, cfg["err_max"], r, what="per-seed 0-1 error at l_ts alpha' = 1"),
    }
    return combine(parts, cfg, details={
        "|T_tr|/|T|": len(w.train_tasks) / (cfg["M1"] * (cfg["M1"] - 1)), "held-out tasks": len(w.test_tasks),
        "final training hinge": w.result.loss[:, -50:].mean(-1).tolist() if w.result.loss.shape[1] else None})


register(Claim(
    id="L-T33", control=Control("L-M32", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Theorem 3.3",
    title="In-domain generalisation to unseen tasks after training on a small fraction of tasks",
    statement=r"\text{after } T \text{ SGD steps on } \mathcal T_{tr}\ (|\mathcal T_{tr}|=M_1):\ "
              r"\mathbb E_{f\in\mathcal T\setminus\mathcal T_{tr}}\big[\mathbb 1\{zF\le 0\}\big]\le \epsilon_{01},\ "
              r"\mathbb E\,[\max(0, 1-zF)]\le\epsilon_h",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_t33,
    params=WORLD_PARAMS + (_p("err_max", float, "0-1 error bound (spec ST1: 0.05)", min=0, max=1),
                           _p("hinge_max", float, "hinge bound (spec ST1: 0.1)", min=0, max=10),
                           _p("hard_l", int, "length of the hardest admissible test prompt (alpha' = 1/hard_l: one "
                              "same-pattern context)", min=2, max=128)),
    defaults=WORLD_DEFAULTS | {"err_max": 0.05, "hinge_max": 0.1, "hard_l": 20},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="mean_verdict over the 8 training seeds (one value per seed: its mean over the n_test prompts; Student t "
              "limits, 7 dof) at FFR/3 per part: the 0-1 error held if the upper limit <= err_max + 0.02, the hinge if "
              "<= hinge_max + 0.02; violated if the lower limit exceeds the bound; thresholds: spec ST1. The third "
              "part is the 0-1 error on the hardest prompts (iii) admits (l_ts = hard_l, alpha' = 1/hard_l, "
              "guaranteed sampling: one same-pattern context), same rule",
    notes="STATED informally (slides: (ii), (iii)); the O(eps) bound has no constants, so the thresholds are the "
          "spec's. Condition (i) (m large enough) is NOT FOUND; (iv) is L-F-SCALE. Trained with the spec's "
          "calibrated configuration (delta = 0.3, steps 5.0 / 1.0), not its §4 defaults, which do not learn. "
          "At the default prompts (alpha' >= 0.5) the error is 0 whatever the softmax's scale; the hard-prompt part "
          "is where it shows (scores / sqrt(d): error ~0.13 against < 0.01, training seeds 0 and 1).",
))


# ---------------------------------------------------------------------------------------------------- L-T34
# L-T34's monotonicity: "non-increasing" allows a mean change up to MONO_SLACK (ties of 0-error grid points must not
# decide the verdict by one prompt's rounding) and excludes an increase of RES_MONO (the ST5 error bound) when held.
MONO_SLACK, RES_MONO = 0.01, 0.05


def check_t34(cfg: dict, ctx: CheckContext) -> Outcome:
    w = world(cfg, ctx)
    grid = sorted(set(S1_GRID) | {cfg["S1"], cfg["s1_bad"]})
    errs, hinges = [], []
    for s1 in grid:
        pr = ood_prompts(w, cfg, ctx, s1)
        Fv = ctx.impl.forward(w.params, pr.P).F
        errs.append(zero_one(Fv, pr.z))
        hinges.append(hinge_loss(Fv, pr.z))
    E, H = torch.stack(errs), torch.stack(hinges)  # (G, S, n)
    i_s1, i_bad = grid.index(cfg["S1"]), grid.index(cfg["s1_bad"])
    pair_labels = [f"S1 {a:g} -> {b:g}" for a, b in zip(grid, grid[1:])]
    # the slides: the guarantee needs S1 >= 1, so error falls as S1 grows; the poster: S1 <= 1, so it rises
    sign, trend = (1, "non-increasing") if cfg["s1_side"] == "at_least_1" else (-1, "non-decreasing")
    r = FFR / 4
    parts = {
        f"0-1 error at S1 = {cfg['S1']:g}": at_most(E[i_s1], cfg["err_max"], r, what="per-seed 0-1 error"),
        f"0-1 error at S1 = {cfg['s1_bad']:g} (clearly worse)": at_least(E[i_bad], cfg["err_bad_min"], r, what="per-seed 0-1 error"),
        f"hinge {trend} in S1": at_most(sign * (H[1:] - H[:-1]), MONO_SLACK, r, labels=pair_labels,
                                        resolution=RES_MONO, what="per-seed change of the mean hinge"),
        f"0-1 error {trend} in S1": at_most(sign * (E[1:] - E[:-1]), MONO_SLACK, r, labels=pair_labels,
                                            resolution=RES_MONO, what="per-seed change of the 0-1 error"),
    }
    e_mean, h_mean = E.double().mean(-1), H.double().mean(-1)  # (G, S)
    strict = int(((h_mean[1:] - h_mean[:-1]) < 0).all(0).sum())
    return combine(parts, cfg, details={
        "S1 grid": grid, "0-1 error (grid x seed)": e_mean.tolist(), "hinge (grid x seed)": h_mean.tolist(),
        "seeds whose hinge strictly decreases over the whole grid": strict},
        curves={"ood_vs_S1": curve("S1", "OOD error / hinge (mean over seeds)", {
            "0-1 error": (grid, e_mean.mean(-1).tolist()), "hinge": (grid, h_mean.mean(-1).tolist())})})


register(Claim(
    id="L-T34", control=Control("L-M27", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Theorem 3.4",
    title="Out-of-domain generalisation when ODR patterns have coefficient sum S1 >= 1 (weaker form: monotone in S1)",
    statement=r"\mu'_j=\sum_i k_{j,i}\mu_i,\ S_1=\min_j\textstyle\sum_i k_{j,i}:\ \text{OOD error and hinge are "
              r"non-increasing in } S_1;\ \Pr[zF\le0]\le\epsilon \text{ at } S_1\ (\ge 1),\ "
              r"\text{and clearly larger at } S_1=0.5",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_t34,
    params=WORLD_PARAMS + (
        _p("err_max", float, "OOD 0-1 error bound at S1 (spec ST5: 0.05)", min=0, max=1),
        _p("s1_bad", float, "an S1 < 1 where the error is clearly worse", min=0, max=10),
        _p("err_bad_min", float, "error at s1_bad is at least this (spec calibration: 0.08)", min=0, max=1),
        _p("s1_side", str, "the OOD condition's direction (errata): S1 >= 1 (slides, default) or S1 <= 1 (poster)",
           choices=("at_least_1", "at_most_1"))),
    defaults=WORLD_DEFAULTS | {"err_max": 0.05, "s1_bad": 0.5, "err_bad_min": 0.08, "s1_side": "at_least_1"},
    assumptions=THEOREM_33 + (
        Assumption("S1 on the condition's side of 1", lambda c: c["S1"] >= 1 if c["s1_side"] == "at_least_1"
                   else c["S1"] <= 1, "Theorem 3.4: ODR coefficient sum S1 >= 1 (slides) or <= 1 (poster)"),
        Assumption("s1_bad on the other side of S1", lambda c: (c["s1_bad"] < c["S1"]) == (c["s1_side"] == "at_least_1"),
                   "the bad point is beyond the condition")),
    cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="mean_verdict over the 8 training seeds (one value per seed: its mean over the n_test prompts; Student t "
              "limits, 7 dof) at FFR/4 per part, Bonferroni over the rows: the errors at S1 and s1_bad (resolution "
              "0.02); monotonicity per consecutive S1 pair (common random numbers) held if the upper limit of the mean "
              "change <= 0.01 (MONO_SLACK) + 0.05 (RES_MONO), violated if the lower limit > 0.01",
    notes=WEAKER + "there is no sharp threshold at S1 = 1: error and hinge fall monotonically in S1 (hinge strictly "
          "in every calibrated seed), the error is ~0 from S1 = 0.9 on and clearly worse at 0.5. The hinge at "
          "S1 = 1.1 is ~0.1, not ~0. The definition of S1 (min or mean over patterns) is NOT FOUND "
          "(s1_definition); ODR = (S1/2)(mu_{2j} + mu_{2j+1}), ODI = a rotation of the IDI basis (spec ST5). The "
          "condition's direction is a documented config choice (errata): s1_side = 'at_least_1' (the slides and two "
          "later sources, default) or 'at_most_1' (the poster: coefficient sum no larger than 1), which reverses the "
          "asserted trend; on this model the poster's form is violated (the error at S1 = 0.5 is the worse one).",
    figure="ood_vs_S1",
))


# ---------------------------------------------------------------------------------------------------- L-C43
def check_c43(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    pr = id_prompts(w, cfg, ctx)
    f = impl.forward(w.params, pr.P)
    label_part = f.h[..., cfg["d_X"]]  # <h^Y, e_1>: the attention output's label block along q
    r = FFR / 2
    parts = {
        "z F >= 1 (zero hinge) on >= margin_frac of prompts":
            at_least((pr.z * f.F >= 1).double(), cfg["margin_frac"], r, what="per-seed fraction"),
        "attention output's label part has the sign of z":
            at_least((pr.z * label_part > 0).double(), cfg["margin_frac"], r, what="per-seed fraction"),
    }
    zf = (pr.z * f.F).double()
    return combine(parts, cfg, details={
        "1% quantile of z F per seed": torch.quantile(zf, 0.01, dim=-1).tolist()})


register(Claim(
    id="L-C43", control=Control("L-M32", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Corollary 4.3 (statement NOT FOUND; mechanism summary STATED)",
    title="Combined ICL mechanism: attention picks same-pattern contexts, the MLP reads their label: z F >= 1",
    statement=r"\Pr_{P}\big[z\,F(\Psi^{(T)};P)\ge 1\big]\ge 0.9,\quad "
              r"\Pr_P\big[z\,\langle (W_V\textstyle\sum_i \mathrm{attn}_i p_i)^Y, q\rangle>0\big]\ge 0.9",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.STATISTICAL, check=check_c43,
    params=WORLD_PARAMS + (_p("margin_frac", float, "fraction of prompts (spec ST12: 0.9)", min=0, max=1),),
    defaults=WORLD_DEFAULTS | {"margin_frac": 0.9},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="mean_verdict over the 8 training seeds (one value per seed: its mean over the n_test prompts; Student t "
              "limits, 7 dof) of the per-seed fractions at FFR/2 per part: held if the lower limit >= margin_frac - "
              "0.02, violated if the upper limit < margin_frac (spec ST12)",
    notes="Reconstructed: the corollary's statement is NOT FOUND; the first author's homepage states the mechanism "
          "(attention selects same-pattern contexts, the ReLU MLP promotes their label embedding).",
))


# ---------------------------------------------------------------------------------------------------- L-F-SCALE
SCALE_ALPHAS = (0.4, 0.6, 0.8, 1.0)
SCALE_BETAS = (1.0, 1.5, 2.0)


def check_f_scale(cfg: dict, ctx: CheckContext) -> Outcome:

    def steps_needed(**over):
        w = world(cfg, ctx, steps=cfg["scale_steps"], **over)
        return steps_to_reach(w.result.loss, cfg["hinge_target"], cfg["window"]).tolist()

    ta = {a: steps_needed(alpha=a) for a in SCALE_ALPHAS}
    tb = {b: steps_needed(beta=b) for b in SCALE_BETAS}
    S = cfg["n_seeds"]

    def loglog(table):
        xs = [math.log(k) for k in table for _ in range(S)]
        ys = [math.log(t) if math.isfinite(t) else math.nan for k in table for t in table[k]]
        return xs, ys

    xa, ya = loglog(ta)
    xb, yb = loglog(tb)
    r = FFR / 2
    if any(math.isnan(v) for v in ya + yb):
        raise AssumptionNotMet("model did not learn: some run never reached the training-hinge target "
                               f"{cfg['hinge_target']} within scale_steps = {cfg['scale_steps']}")
    res = cfg["slope_resolution"]
    parts = {
        "iterations vs alpha: log-log slope <= slope_hi": slope_verdict(
            xa, ya, cfg["slope_hi"], "at_most", r, resolution=res, seeds=S, what="log-log slope in alpha"),
        "iterations vs alpha: log-log slope >= slope_lo": slope_verdict(
            xa, ya, cfg["slope_lo"], "at_least", r, resolution=res, seeds=S, what="log-log slope in alpha"),
        "iterations decrease with beta: log-log slope <= -beta_slope_min": slope_verdict(
            xb, yb, -cfg["beta_slope_min"], "at_most", r, resolution=cfg["beta_slope_min"] / 2, seeds=S,
            what="log-log slope in beta"),
    }
    a_hat = parts["iterations vs alpha: log-log slope <= slope_hi"].measured
    favoured = {"alpha^-2/3 (slides, narration)": abs(a_hat + 2 / 3), "alpha^-1 (poster)": abs(a_hat + 1)}
    parts["iterations vs alpha: log-log slope <= slope_hi"].details["which reconstruction the data favour"] = \
        min(favoured, key=favoured.get)
    return combine(parts, cfg, details={"steps to reach the target per alpha (per seed)": ta, "per beta": tb},
                   curves=_scale_curves(ta, tb))


def _scale_curves(ta: dict, tb: dict) -> dict:
    """Mean steps to the target against alpha and beta, beside the -2/3 power through the first point."""
    mean_a = [float(np.mean(ta[a])) for a in SCALE_ALPHAS]
    mean_b = [float(np.mean(tb[b])) for b in SCALE_BETAS]
    ref = mean_a[-1]
    return {
        "iterations_vs_alpha": curve("alpha", "SGD steps to training hinge <= target", {
            "measured (mean over seeds)": (list(SCALE_ALPHAS), mean_a),
            "alpha^(-2/3) through alpha = 1": (list(SCALE_ALPHAS), [ref * a ** (-2 / 3) for a in SCALE_ALPHAS])},
            logx=True, logy=True),
        "iterations_vs_beta": curve("beta", "SGD steps to training hinge <= target", {
            "measured (mean over seeds)": (list(SCALE_BETAS), mean_b),
            "beta^(-2/3) through beta = 1": (list(SCALE_BETAS), [mean_b[0] * b ** (-2 / 3) for b in SCALE_BETAS])},
            logx=True, logy=True)}


register(Claim(
    id="L-F-SCALE", control=Control("L-M33", {}, 0), power=POWER, paper=PAPER, reference="Theorem 3.3 (iv); narration's scaling figure",
    title="Iterations to learn fall with alpha (log-log slope within [-1.2, -0.2]; paper -2/3) and with beta",
    statement=r"T_{\epsilon}(\alpha)\propto\alpha^{s_\alpha},\ s_\alpha\in[-1.2,-0.2]\ (\text{paper } -2/3);\ "
              r"T_\epsilon(\beta)\ \text{decreasing (paper } \beta^{-2/3})",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.RATE, check=check_f_scale,
    params=WORLD_PARAMS + (
        _p("scale_steps", int, "SGD steps per run (enough to reach the target)", min=10, max=100_000),
        _p("hinge_target", float, "training-hinge target (spec ST4: 0.1)", gt=0, max=1),
        _p("window", int, "running-mean window over SGD batches", min=1, max=1000),
        _p("slope_lo", float, "band (spec ST4)", min=-10, max=10), _p("slope_hi", float, "band", min=-10, max=10),
        _p("slope_resolution", float, "resolution of the alpha-slope decisions", gt=0, max=1),
        _p("beta_slope_min", float, "least decrease of log steps per log beta", gt=0, max=5)),
    defaults=WORLD_DEFAULTS | {"scale_steps": 300, "hinge_target": 0.1, "window": 10, "slope_lo": -1.2,
                               "slope_hi": -0.2, "slope_resolution": 0.1, "beta_slope_min": 0.2},
    assumptions=(COND_32, BATCH), cost=Cost.SLOW, false_fail_rate=FFR,
    tolerance="least-squares slope of log steps on log alpha (beta) with a fixed effect per seed (the seeds share "
              "patterns, init and batch stream across the grid), t interval at FFR/2; the alpha part fails only if "
              "the interval misses the spec's band [-1.2, -0.2]; the beta part only if it does not lie below 0",
    notes=WEAKER + "T = Theta(eta^-1 M1 alpha^-2/3 beta^-2/3 sqrt(log M1)) is from the narration (MED). The alpha "
          "exponent is measured near -0.7; the beta exponent is steeper than -2/3 (~-1.4: beta^2 scales the "
          "attention scores), so only 'decreasing in beta' is asserted. 'Needed context length ~ 1/alpha' is not "
          "encoded.",
    figure="iterations_vs_alpha",
))


# ---------------------------------------------------------------------------------------------------- L-F-CLASSIC
CLASSIC_LENGTHS = (8, 12, 16, 20)


def check_f_classic(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    ecfg = _eval_cfg(cfg, ctx).replace(test_sampling=cfg["classic_sampling"])
    dt = DTYPES[cfg["dtype"]]
    table: dict[str, dict[str, list[float]]] = {}
    for at in (0.6, 0.8):
        for l in CLASSIC_LENGTHS:
            pr = impl.make_test_prompts(ecfg, w.id_domain(impl), cfg["n_classic"], ctx.generator(40), l=l, alpha=at,
                                     dtype=dt)
            err = zero_one(impl.forward(w.params, pr.P).F, pr.z)
            row = {"ICL (trained transformer)": float(err.mean())} | bl.baseline_errors(pr.P, pr.z, cfg["d_X"])
            for k, v in row.items():
                table.setdefault(f"{k}, alpha' = {at}", []).append(v)
    pr = impl.make_test_prompts(ecfg, w.id_domain(impl), cfg["n_classic"], ctx.generator(41), l=cfg["classic_l"],
                                alpha=cfg["classic_alpha"], dtype=dt)
    gated = zero_one(impl.forward(w.params, pr.P).F, pr.z)
    part = at_most(gated, cfg["err_max"], FFR, what="per-seed ICL 0-1 error")
    curves = {f"classic_alpha_{at}": curve("context examples l", "0-1 error", {
        k.split(",")[0]: (list(CLASSIC_LENGTHS), v) for k, v in table.items() if k.endswith(f"= {at}")})
        for at in (0.6, 0.8)}
    return combine({f"ICL error at alpha' = {cfg['classic_alpha']}, l = {cfg['classic_l']}": part}, cfg,
                   curves=curves, details={"errors vs l (reported, not gated)": table, "lengths": list(CLASSIC_LENGTHS),
                                           "ICL vs the baselines at the gated point (reported, spec ST13)":
                                               _versus_baselines(gated, pr, cfg["d_X"])})


def _versus_baselines(icl_err: torch.Tensor, pr, d_X: int) -> dict:
    """Per seed (same prompts): ICL error minus the best baseline's, and what it says of the slides' 'ICL best'."""
    per_seed = [bl.baseline_errors(pr.P[s], pr.z[s], d_X) for s in range(pr.P.shape[0])]
    best = min(per_seed[0], key=lambda k: sum(e[k] for e in per_seed))
    diff = np.array([float(icl_err[s].double().mean()) - e[best] for s, e in enumerate(per_seed)])
    half = 2 * diff.std(ddof=1) / math.sqrt(len(diff))  # ST13's "+ 2 sigma", sigma of the seed mean
    finding = ("ICL below the best baseline" if diff.mean() + half < 0 else
               "ICL above the best baseline: the slides' 'ICL best' is not reproduced here" if diff.mean() - half > 0
               else "ICL within 2 sigma of the best baseline (comparable)")
    return {"best baseline": best, "ICL - best per seed": diff.tolist(), "mean": float(diff.mean()),
            "2 sigma": float(half), "finding": finding}


register(Claim(
    id="L-F-CLASSIC", control=Control("L-M32", {}, 0), power=POWER, paper=PAPER, reference="Slides fig. 20-21 (ICL vs classical classifiers)",
    title="In-context error of the trained model is small (gated); its comparison with logistic regression, SVMs "
          "and k-NN on the same contexts is reported",
    statement=r"\Pr[zF\le0]\le\epsilon\ \text{at } \alpha'=0.6,\ l=12;\ \text{baselines fitted on the } l "
              r"\text{ contexts reported (slides: ICL comparable at } \alpha'=0.8,\ \text{best at } 0.6)",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_f_classic,
    params=WORLD_PARAMS + (
        _p("classic_sampling", str, "test prompts: training-style (harder; calibration point 5) or guaranteed",
           choices=("training", "guaranteed")),
        _p("classic_alpha", float, "alpha' of the gated point", gt=0, max=1),
        _p("classic_l", int, "l of the gated point", min=1, max=128),
        _p("n_classic", int, "prompts per seed and point", min=100, max=100_000),
        _p("err_max", float, "ICL error bound at the gated point (spec ST1: 0.05)", min=0, max=1)),
    defaults=WORLD_DEFAULTS | {"classic_sampling": "training", "classic_alpha": 0.6, "classic_l": 12,
                               "n_classic": 400, "err_max": 0.05},
    assumptions=THEOREM_33, cost=Cost.SLOW, false_fail_rate=FFR,
    tolerance="gated: mean_verdict over the 8 training seeds (one value per seed: its mean over the n_test prompts; "
              "Student t limits, 7 dof) of the ICL 0-1 error at FFR: held if the upper limit <= err_max + 0.02; the "
              "comparison with the baselines is reported, not gated (spec ST13)",
    notes="The comparison, stated honestly: at alpha' = 0.6, l = 12 (training seeds 0-7) the trained model errs on "
          "~1.5% of prompts, about 0.4 points MORE than 1-NN and the SVMs (~1.0%; per seed, paired, beyond 2 sigma) "
          "and far less than logistic regression and 3-NN (5-7%): the slides' 'ICL best at alpha' = 0.6' is not "
          "reproduced; the report prints the per-seed gap and its finding. Only the ICL error bound is gated (a "
          "model that does not classify in context fails it); spec ST13 makes the comparison a reported check. "
          "Baselines are the scikit-learn defaults re-implemented in torch (models/li2024_baselines.py; the RBF/"
          "linear SVM absorb the intercept into the kernel). Test prompts are training-style (calibration point 5: "
          "with guaranteed prompts every method is perfect in-domain).",
    figure="classic_alpha_0.6",
))

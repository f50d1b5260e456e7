"""Figure 3 (R-F3): the left panel's one-token steps and the right panel's trained modified regressors."""
from __future__ import annotations

import math

import torch

from theorems.core import CheckContext, Control, Cost, Kind, Outcome, Param, Provenance, curve
from theorems.tolerances import identity_tolerance, mean_verdict
from theorems.ren2024.common import (F64, IDENTITY_TOLERANCE, POWER, SMALL, _err, _prf_kernel, _ref_attention,
                                     _ref_project, _register_identity, _scale)
from theorems.ren2024.dual import _sequential_parts
from theorems.ren2024.extensions import _ref_mlp, _ref_negative_means


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

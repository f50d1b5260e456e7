"""Figures 2 and 5: Adam-trained one-layer and 4-layer transformers."""
from __future__ import annotations

import math
import time

import torch
from torch import Tensor

from theorems.core import (Assumption, CheckContext, Claim, ConfigError, Control, Cost, Kind, Outcome, Param,
                           Provenance, curve)
from theorems.registry import register
from theorems.yang2024.common import F64, Impl, PAPER
from theorems.yang2024.figures_gd import SIZES, _heads


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


def _experiment(m: Impl, cfg: dict, ctx: CheckContext):
    dims = EXP_SIZES[cfg["size"]]
    g, B = ctx.generator(), cfg["instances"]
    inst = m.make_instance(B, dims["d"], dims["K"], dims["N"], dims["m"], cfg["tau"], g)
    lam_train = m.sample_tasks("gaussian", B, dims["n_train"], dims["m"], g)  # (B, n_train, m)
    tests = {law: m.labels(inst, m.sample_tasks(law, B, dims["n_test"], dims["m"], g), g)[..., : dims["N"]]
             for law in ("gaussian", "ood")}
    return dims, g, inst, lam_train, tests


def _train_tracked(m: Impl, model, inst, lam_train, steps, lr, batch, g, tests, eval_every):
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


def check_f2(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    dims, g, inst, lam_train, tests = _experiment(m, cfg, ctx)
    steps = cfg["steps"]
    every = max(1, steps // 20)
    models = {
        "1-layer": (m.OneLayerAttention(inst, dims["H1"], 1.0, ctx.generator(1)), cfg["lr_1layer"]),
        "4-layer": (m.FourLayerTransformer(inst, dims["d_model"], dims["H4"], dims["d_ff"], 4, ctx.generator(2)),
                    cfg["lr_4layer"]),
    }
    parts, curves, details = {}, {}, {}
    for name, (model, lr) in models.items():
        losses, hist = _train_tracked(m, model, inst, lam_train, steps, lr, dims["batch"], g, tests, every)
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


register(Claim(
    id="Y-F2", paper=PAPER, reference="Figure 2",
    title="Training and inference losses fall for the one-layer and a 4-layer transformer; out-of-domain inference "
          "loss stays above in-domain",
    statement=r"\text{Adam, batch 256, lr } 10^{-4}:\ \text{training loss and } \tfrac1K\|\hat y - \hat y^\star\|^2 "
              r"\text{ (in-domain, OOD } \lambda\sim\mathcal N(1, 4I)) \text{ fall together; OOD} \ge \text{in-domain}",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f2,
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
    control=Control(mutant="Y-M24", config={"steps": 20}, seed=0),
))


F5_LEARNED = 0.5  # a model learned if its final loss is at most half the predict-zero baseline


def check_f5(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    dims, g, inst, lam_train, tests = _experiment(m, cfg, ctx)
    hs = _heads(cfg["heads"])
    N = dims["N"]
    if not (any(H < N for H in hs) and any(H >= N for H in hs)):
        raise ConfigError("heads", f"must contain values below and at/above N = {N}, got {hs}")
    eval_y = m.labels(inst, m.sample_tasks("gaussian", inst.batch, 512, dims["m"], g), g)  # (B, 512, K)
    final, seconds, curves = {}, {}, {}
    for H in hs:  # one model per H (different architectures), each a batch of independent instances
        gen = ctx.generator(10 + H)
        model = m.FourLayerTransformer(inst, cfg["d_model"], H, 2 * cfg["d_model"], 4, gen)
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
    # the comparison says nothing unless the models learned (Figure 5's losses fall for every H): the best of each
    # group must end below half the predict-zero baseline 1/2 E sum_k y_k^2 (computed in the check)
    baseline = float((0.5 * (eval_y**2).sum(-1).mean(-1)).mean())
    learned = {"best H < N": float(below.mean()) / baseline, "best H >= N": float(at_or_above.mean()) / baseline}
    parts = {f"the models learned: {k} final loss <= {F5_LEARNED} x the predict-zero baseline": Outcome.at_most(
        v, F5_LEARNED) for k, v in learned.items()} | {"some H < N trains at least as well as H >= N (final loss <= 1.25 x best H >= N, means over "
             "instances)": Outcome.at_most(float(below.mean()), 1.25 * float(at_or_above.mean()))}
    return Outcome.all_of(parts, instances=inst.batch, curves={"heads_4layer": curve(
        "Adam step", "training loss, mean over instances", curves, logy=True)}, details={
        "final_loss per instance": {str(H): v.tolist() for H, v in final.items()},
        "final loss / predict-zero baseline (learned if <= 0.5)": learned,
        "seconds_per_step (machine-dependent, not asserted)": {str(H): v for H, v in seconds.items()}})


register(Claim(
    id="Y-F5", paper=PAPER, reference="Figure 5",
    title="A 4-layer transformer does not need H >= N heads (fixed step budget; deterministic stand-in for the "
          "paper's fixed wall-clock)",
    statement=r"\text{4-layer, equal optimiser steps: } \min_{H < N} \mathcal L_{\text{train}}(H) \le 1.25 "
              r"\min_{H \ge N} \mathcal L_{\text{train}}(H)",
    provenance=Provenance.DERIVED_LOW, kind=Kind.MECHANISM, check=check_f5,
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
              "prompts); learned: each group's best final loss <= 0.5 x the predict-zero baseline 1/2 E ||y||^2",
    notes="The paper fixes wall-clock time (100 s) and finds the final training loss lowest at H = 4, with larger H "
          "completing fewer iterations. Wall-clock budgets are not reproducible bit-for-bit, so this claim fixes the "
          "number of Adam steps instead and asserts only the weaker, deterministic part (deep models do not need "
          "H >= N); the measured seconds per step per H are recorded in details, not asserted. The models must have "
          "learned (the best H < N and the best H >= N end below half the predict-zero baseline, as Figure 5's "
          "falling losses show): a model that cannot learn the task is a violation, not a vacuous pass. Three independent instances (basis, "
          "training tasks, models) train in one pass; the comparison is on the mean over them. At paper size on an "
          "H100 it held for each of the three, one narrowly (relative margin 0.018: H = 2 reached 1144 against "
          "1.25 x 932 for H = 32). Without the learned-first rule the comparison would hold vacuously at a learning "
          "rate too small or too large for the H >= N models (seen at lr 1e-3, paper size).",
    figure="heads_4layer",
    control=Control(mutant="Y-M23", config={}, seed=0),
))

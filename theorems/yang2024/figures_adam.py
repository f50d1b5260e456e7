"""Figures 2 and 5: Adam-trained one-layer and 4-layer transformers."""
from __future__ import annotations

import time

import torch
from torch import Tensor

from theorems.core import (Assumption, AssumptionNotMet, CheckContext, Claim, ConfigError, Control, Cost, Kind, Outcome,
                           Param, Provenance, curve)
from theorems.registry import register
from theorems.yang2024.common import F64, Impl, PAPER, POWER, over_seeds
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
                                               "vectorised pass: the unit of replication of the decisions"),
)
# Trained claims: the unit of replication is the instance (its own basis, training tasks, initialisation and Adam
# state; train_adam sums the per-instance losses, so no gradient or Adam statistic mixes instances: tests/
# test_yang2024_models.py checks that changing one instance's data leaves the others' training bit-for-bit equal).
# Each decision is mean_verdict over the per-instance values, at the claim's rate split over its decisions.
LEARNED = 0.5  # a model learned if its final training loss is at most half the predict-zero baseline
F2_FALSE_FAIL, F5_FALSE_FAIL = 1e-2, 1e-2
RESOLUTION = 0.25  # relative: held excludes a mean beyond the bound by a quarter of the bound


def _learned_or_not_evidence(final: dict[str, Tensor], baseline: Tensor, contracts: dict[str, Outcome]) -> \
        dict[str, Outcome]:
    """The models must have learned (final training loss <= LEARNED x the predict-zero baseline, every instance)
    before anything they do is evidence. If one did not: a violated contract of the implementation (its optimiser
    does not step, its model ignores the prompt) is the verdict; otherwise "assumption not met: model did not
    learn". Returns the learned ratios as held parts."""
    ratios = {k: v / baseline for k, v in final.items()}
    failed = {k: [round(float(x), 3) for x in r] for k, r in ratios.items() if not bool((r <= LEARNED).all())}
    if failed:
        if any(o.holds is False for o in contracts.values()):
            raise _Violated(Outcome.all_of(contracts))
        raise AssumptionNotMet(f"model did not learn: final training loss / predict-zero baseline {failed} "
                               f"(learned: <= {LEARNED} for every instance)")
    return {f"learned: {k}: final training loss <= {LEARNED} x predict-zero baseline (every instance)":
            Outcome.at_most(float(r.max()), LEARNED) for k, r in ratios.items()}


class _Violated(Exception):
    """Carries the outcome of a violated implementation contract out of a check whose models did not learn."""

    def __init__(self, outcome: Outcome):
        super().__init__("violated contract")
        self.outcome = outcome


def _reads_prompt(model, y: Tensor) -> Outcome:
    """Contract of a model for in-context learning: its predictions depend on the prompt's labels (at
    initialisation, before any training): max |y^(y) - y^(y + 1)| above float32 round-off of the outputs."""
    with torch.no_grad():
        a, b = model(y), model(y + 1.0)
    scale = float(a.abs().max()) + 1.0
    return Outcome.at_least(float((a - b).abs().max()), 8 * torch.finfo(torch.float32).eps * 64 * scale)


def _by_instance(values: Tensor, bound: float, side: str, rate: float, what: str,
                 resolution: float | None = None) -> Outcome:
    res = RESOLUTION * abs(bound) if resolution is None else resolution
    return over_seeds(values.tolist(), bound, side, rate, res, what)


def _experiment(m: Impl, cfg: dict, ctx: CheckContext):
    dims = EXP_SIZES[cfg["size"]]
    g, B = ctx.generator(), cfg["instances"]
    inst = m.make_instance(B, dims["d"], dims["K"], dims["N"], dims["m"], cfg["tau"], g)
    lam_train = m.sample_tasks("gaussian", B, dims["n_train"], dims["m"], g)  # (B, n_train, m)
    full = {law: m.labels(inst, m.sample_tasks(law, B, dims["n_test"], dims["m"], g), g) for law in ("gaussian", "ood")}
    tests = {law: y[..., : dims["N"]] for law, y in full.items()}
    # the predict-zero baseline of the training loss, 1/2 E sum_k y_k^2 per instance (in-domain law, as training)
    baseline = 0.5 * (full["gaussian"] ** 2).sum(-1).mean(-1)
    return dims, g, inst, lam_train, tests, baseline


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


def _f2_decisions(name: str, idd: Tensor, ood: Tensor, rate: float) -> dict:
    """Figure 2's shape, per instance (B, evaluations): the in-domain inference loss falls >= 10x (5x for the 4-layer
    at the reduced step budget), the out-of-domain one >= 2x, and out-of-domain stays >= in-domain at the end."""
    fall = 0.1 if name == "1-layer" else 0.2
    return {
        f"{name}: in-domain inference loss falls >= {1 / fall:.0f}x": _by_instance(
            idd[:, -1] / idd[:, 0], fall, "at_most", rate, f"{name} in-domain inference loss end/start"),
        f"{name}: out-of-domain inference loss falls >= 2x": _by_instance(
            ood[:, -1] / ood[:, 0], 0.5, "at_most", rate, f"{name} out-of-domain inference loss end/start"),
        f"{name}: out-of-domain >= in-domain at the end": _by_instance(  # log: ratios spread widely
            torch.log10(ood[:, -1] / idd[:, -1]), 0.0, "at_least", rate,
            f"{name} log10(out-of-domain / in-domain inference loss)", resolution=0.1),
    }


def _f2_curves(name: str, hist: dict, losses: Tensor, steps: int) -> dict:
    """The inference losses (in-domain and out-of-domain) and the training loss, means over instances."""
    stride = max(1, steps // 200)
    return {
        f"inference_{name}": curve("Adam step", "inference loss (1/K)||y^ - y*||^2, mean over instances", {
            "in-domain": (hist["step"], _mean_curve(hist["in-domain"])),
            "out-of-domain N(1, 4I)": (hist["step"], _mean_curve(hist["out-of-domain"]))}, logy=True),
        f"training_{name}": curve("Adam step", "training loss, mean over instances", {
            name: (list(range(0, steps, stride)), _mean_curve(losses[:, ::stride]))}, logy=True),
    }


def _f2_models(m: Impl, cfg: dict, ctx: CheckContext, inst, dims: dict) -> dict:
    """The one-layer attention model and the 4-layer transformer, each with its learning rate."""
    return {
        "1-layer": (m.OneLayerAttention(inst, dims["H1"], 1.0, ctx.generator(1)), cfg["lr_1layer"]),
        "4-layer": (m.FourLayerTransformer(inst, dims["d_model"], dims["H4"], dims["d_ff"], 4, ctx.generator(2)),
                    cfg["lr_4layer"]),
    }


def check_f2(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    dims, g, inst, lam_train, tests, baseline = _experiment(m, cfg, ctx)
    steps = cfg["steps"]
    every = max(1, steps // 20)
    models = _f2_models(m, cfg, ctx, inst, dims)
    contracts = {"contract: the untrained 4-layer's predictions depend on the prompt labels": _reads_prompt(
        models["4-layer"][0], tests["gaussian"][:, :8])}
    rate = F2_FALSE_FAIL / (3 * len(models))
    decisions, curves, details, final = {}, {}, {}, {}
    for name, (model, lr) in models.items():
        start = [p.detach().clone() for p in model.parameters()]
        losses, hist = _train_tracked(m, model, inst, lam_train, steps, lr, dims["batch"], g, tests, every)
        moved = max(float((p.detach() - p0).abs().max()) for p, p0 in zip(model.parameters(), start))
        contracts[f"contract: Adam moves the {name}'s parameters (max |theta_T - theta_0| >= lr/2)"] = \
            Outcome.at_least(moved, lr / 2)
        final[name] = losses[:, -max(1, steps // 10):].mean(1)
        idd, ood = hist["in-domain"], hist["out-of-domain"]  # (B, evaluations)
        decisions |= _f2_decisions(name, idd, ood, rate)
        curves |= _f2_curves(name, hist, losses, steps)
        ends = lambda t: torch.stack([t[:, 0], t[:, -1]], 1).tolist()  # noqa: E731
        details[name] = {"train_final": final[name].tolist(), "in_domain (start, end) per instance": ends(idd),
                         "out_of_domain (start, end) per instance": ends(ood)}
    details["predict-zero baseline per instance"] = baseline.tolist()
    try:
        learned = _learned_or_not_evidence(final, baseline, contracts)
    except _Violated as v:
        return v.outcome
    return Outcome.all_of(contracts | learned | decisions, instances=inst.batch, curves=curves, details=details)


register(Claim(
    id="Y-F2", paper=PAPER, reference="Figure 2",
    title="Training and inference losses fall for the one-layer and a 4-layer transformer; out-of-domain inference "
          "loss stays above in-domain",
    statement=r"\text{Adam, batch 256, lr } 10^{-4}:\ \text{training loss and } \tfrac1K\|\hat y - \hat y^\star\|^2 "
              r"\text{ (in-domain, OOD } \lambda\sim\mathcal N(1, 4I)) \text{ fall together; OOD} \ge \text{in-domain}",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f2,
    params=EXP_PARAMS, defaults=dict(size="reduced", tau=0.1, steps=200, lr_1layer=1e-2, lr_4layer=3e-3,
                                     instances=4),
    # Calibrated on an H100 (2026-11-22): at d_model = 256 the 4-layer does not train at lr 3e-3 or 1e-3 (the in-
    # domain loss stays at 98-99% of its start after 1000 steps) and does at 3e-4 (falls to 3%); over 1000 steps the
    # one-layer's training loss at lr 1e-2 has mostly fallen within the first 10% (last/first 0.64), hence 1e-3.
    presets={"paper": dict(size="paper", steps=1000, lr_1layer=1e-3, lr_4layer=3e-4)},
    assumptions=(Assumption("steps >= 1", lambda c: c["steps"] >= 1, "a claim about trained models needs training"),),
    cost=Cost.SLOW, false_fail_rate=F2_FALSE_FAIL, power=POWER,
    tolerance="contracts (deterministic): the untrained 4-layer's predictions change when the prompt labels do "
              "(above 8 eps32 x 64 x (max|y^| + 1)); Adam moves some parameter by >= lr/2. Learned (else assumption "
              "not met, unless a contract is violated): every instance's final training loss (mean of the last 10% "
              "of steps) <= 0.5 x its predict-zero baseline 1/2 E sum_k y_k^2. Then per model, by mean_verdict over "
              "the instances (one value each) at 1e-2/6, resolution 0.25 x the bound, power 0.9: in-domain "
              "inference loss end/start <= 0.1 (one-layer; 0.2 for the 4-layer at the reduced step budget), "
              "out-of-domain end/start <= 0.5, log10(out-of-domain / in-domain) at the end >= 0 (resolution 0.1 "
              "decade); thresholds are project choices (smoke level, spec C20)",
    notes="The paper states the qualitative outcome (setup STATED, tau and the step count NOT FOUND). Reduced size "
          "(CPU): N=6, K=16, d=8, m=4, one-layer H=8, 4-layer d_model=32, d_ff=64, 4 heads, batch 64, 200 Adam "
          "steps with larger learning rates (1e-2, 3e-3) than the paper's 1e-4 so the run fits the CI budget; "
          "paper size (GPU): N=30, K=200, d=100, m=20, H=64 and a 4-layer with d_model=256, d_ff=512, 8 heads, "
          "batch 256. The 4-layer's input/read-out format is NOT FOUND (models/yang2024.py documents this "
          "project's choice). The thresholds test the shape of the curves, not their values. Four independent "
          "instances (basis, training tasks, models) train in one vectorised pass; they are the unit of replication "
          "(each decision is on the mean over them, with their spread; per-instance values in the details). A model "
          "that did not learn is not evidence ('assumption not met'), unless the implementation breaks a contract "
          "that explains it (an optimiser that does not step, a model that cannot read its prompt): that is a "
          "violation.",
    figure="inference_1-layer",
    control=Control(mutant="Y-M24", config={"steps": 20}, seed=0),
))


def check_f5(cfg: dict, ctx: CheckContext) -> Outcome:
    m = ctx.impl
    dims, g, inst, lam_train, _, _ = _experiment(m, cfg, ctx)
    hs = _heads(cfg["heads"])
    N = dims["N"]
    if not (any(H < N for H in hs) and any(H >= N for H in hs)):
        raise ConfigError("heads", f"must contain values below and at/above N = {N}, got {hs}")
    eval_y = m.labels(inst, m.sample_tasks("gaussian", inst.batch, 512, dims["m"], g), g)  # (B, 512, K)
    final, seconds, curves, contracts = {}, {}, {}, {}
    for H in hs:  # one model per H (different architectures), each a batch of independent instances
        model = m.FourLayerTransformer(inst, cfg["d_model"], H, 2 * cfg["d_model"], 4, ctx.generator(10 + H))
        contracts[f"contract: the untrained H = {H} model's predictions depend on the prompt labels"] = _reads_prompt(
            model, eval_y[:, :8, :N])
        t0 = time.perf_counter()
        losses = m.train_adam(model, inst, lam_train, cfg["steps"], cfg["lr_4layer"], cfg["batch"], g)
        seconds[H] = (time.perf_counter() - t0) / max(cfg["steps"], 1)
        with torch.no_grad():
            final[H] = 0.5 * ((model(eval_y[..., :N]).to(F64) - eval_y) ** 2).sum(-1).mean(-1)  # (B,)
        stride = max(1, cfg["steps"] // 200)
        curves[f"H = {H}"] = (list(range(0, cfg["steps"], stride)), _mean_curve(losses[:, ::stride]))
    below = torch.stack([final[H] for H in hs if H < N]).amin(0)  # per instance: the best H < N
    at_or_above = torch.stack([final[H] for H in hs if H >= N]).amin(0)
    baseline = 0.5 * (eval_y**2).sum(-1).mean(-1)  # predict zero, per instance, on the same prompts
    details = {"final_loss per instance": {str(H): v.tolist() for H, v in final.items()},
               "predict-zero baseline per instance": baseline.tolist(),
               "seconds_per_step (machine-dependent, not asserted)": {str(H): v for H, v in seconds.items()}}
    try:
        learned = _learned_or_not_evidence({"best H < N": below, "best H >= N": at_or_above}, baseline, contracts)
    except _Violated as v:
        return v.outcome
    decision = {"some H < N trains at least as well as H >= N: best H < N / best H >= N <= 1.25": _by_instance(
        below / at_or_above, 1.25, "at_most", F5_FALSE_FAIL, "final loss, best H < N / best H >= N")}
    return Outcome.all_of(contracts | learned | decision, instances=inst.batch, curves={"heads_4layer": curve(
        "Adam step", "training loss, mean over instances", curves, logy=True)}, details=details)


register(Claim(
    id="Y-F5", paper=PAPER, reference="Figure 5",
    title="A 4-layer transformer does not need H >= N heads (fixed step budget; deterministic stand-in for the "
          "paper's fixed wall-clock)",
    statement=r"\text{4-layer, equal optimiser steps: } \min_{H < N} \mathcal L_{\text{train}}(H) \le 1.25 "
              r"\min_{H \ge N} \mathcal L_{\text{train}}(H)",
    provenance=Provenance.DERIVED_LOW, kind=Kind.MECHANISM, check=check_f5,
    params=EXP_PARAMS + (Param("heads", str, doc="comma-separated H values (must divide d_model)"),
                         Param("d_model", int, min=1, max=4096), Param("batch", int, min=1, max=1 << 16)),
    defaults=dict(size="reduced", tau=0.1, steps=150, lr_1layer=1e-2, lr_4layer=3e-3, instances=4, heads="1,2,4,8",
                  d_model=16, batch=32),
    # N = 30 at paper size: heads straddle it and divide d_model. lr 3e-4 as for Y-F2's 4-layer at paper size (at
    # 1e-3 the H >= 4 models did not train on an H100, which would make the comparison empty).
    presets={"paper": dict(size="paper", heads="2,4,8,32", d_model=128, batch=256, steps=400, lr_4layer=3e-4)},
    assumptions=(Assumption("steps >= 1", lambda c: c["steps"] >= 1,
                            "a comparison of trained models needs training"),),
    cost=Cost.SLOW, false_fail_rate=F5_FALSE_FAIL, power=POWER,
    tolerance="contract (deterministic): each untrained model's predictions change when the prompt labels do. "
              "Learned (else assumption not met, unless the contract is violated): per instance, the best H < N and "
              "the best H >= N end (final loss on 512 fixed prompts) <= 0.5 x the predict-zero baseline 1/2 E "
              "||y||^2. Then the per-instance ratio best H < N / best H >= N by mean_verdict over the instances at "
              "1e-2: violated if the lower limit > 1.25, held if the upper limit <= 1.25 + 0.3125, else "
              "inconclusive; power 0.9 (1.25 is a project choice)",
    notes="The paper fixes wall-clock time (100 s) and finds the final training loss lowest at H = 4, with larger H "
          "completing fewer iterations. Wall-clock budgets are not reproducible bit-for-bit, so this claim fixes the "
          "number of Adam steps instead and asserts only the weaker, deterministic part (deep models do not need "
          "H >= N); the measured seconds per step per H are recorded in details, not asserted. The models must have "
          "learned (the best H < N and the best H >= N end below half the predict-zero baseline, as Figure 5's "
          "falling losses show): otherwise the example is 'assumption not met', not a vacuous pass; a model that "
          "cannot read its prompt (attention blind to the prompt columns) breaks the contract and is a violation. "
          "Four independent instances (basis, training tasks, models) train in one pass and are the unit of "
          "replication: the decision is on their per-instance ratios. At paper size on an "
          "H100 it held for each of the three, one narrowly (relative margin 0.018: H = 2 reached 1144 against "
          "1.25 x 932 for H = 32). Without the learned-first rule the comparison would hold vacuously at a learning "
          "rate too small or too large for the H >= N models (seen at lr 1e-3, paper size).",
    figure="heads_4layer",
    control=Control(mutant="Y-M23", config={}, seed=0),
))

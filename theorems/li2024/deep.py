"""The deeper model (the slides' 3-layer 2-head GPT-2): its exact contract (L-E-GPT) and the figure claims
trained on it."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
import torch
from theorems.core import (AssumptionNotMet, CheckContext, Claim, Control, Cost, Kind, Outcome, Param, Provenance, curve)
from theorems.registry import register
from theorems.tolerances import identity_tolerance, max_abs_error
if TYPE_CHECKING:  # annotations only
    from models import li2024 as m


from theorems.li2024.common import (
    at_least, at_most, BATCH, _cached, combine, DTYPES, effect_verdict, _eval_cfg, F64, FFR, hinge_loss, _p,
    PAPER, POWER, random_rotation, RES_LOSS, S1_GRID, SHARES_GPT, TEST_LENGTH, _train_config, WEAKER, world,
    WORLD_DEFAULTS, WORLD_PARAMS, zero_one,
)

# ---------------------------------------------------------------------------------------------------- deeper model
GPT_SIZES = {
    # reduced: the CPU size (calibrated natively and under ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE, see
    # GPT_CALIBRATION); paper: the paper's 3-layer 2-head GPT-2 (width NOT FOUND; 256 is a common small-GPT-2 ICL
    # width) for a GPU run.
    "reduced": dict(n_layer=3, n_head=2, n_embd=32, lr=1e-3, steps=600, batch=64, warmup=60, lr_final=0.1),
    # lr calibrated on an H100 (2026-11-22): at 1e-3 the paper-size model stays at 23% in-domain error; at 1e-4 (and
    # at width 128, lr 3e-4) it makes no OOD errors at any S1, so L-F-S1 has nothing to order; 3e-4 learns both.
    "paper": dict(n_layer=3, n_head=2, n_embd=256, lr=3e-4, steps=5000, batch=64),
}
# The reduced size, calibrated 2026-12-01 at train_seed 0 on 2 cores (float32, 2 threads), natively (AVX-512) and under
# ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE: 32 seeds with a 60-step warm-up and cosine decay to 0.1 lr learn in
# 30 of 32 (both); L-F-S1 and L-F-3L hold in both, L-F-ALPHA is inconclusive in both (its OOD length drop, ~0.03-0.04
# hinge, has a seed spread of ~0.1). Training takes ~100 s natively, ~220 s emulated. The way there:
# - constant lr 3e-3, 8 seeds (the earlier size): 5 of 8 learn; the learned seeds split out of domain (some make no
#   OOD error at any S1, some 0.1-0.5), so 5 seeds at FFR 1e-3 resolve nothing: L-F-S1, L-F-ALPHA inconclusive;
# - warm-up + cosine, lr 3e-3: 8 of 8 (13 of 16 in a 16-seed batch), OOD effects unresolved, L-F-3L inconclusive;
# - the same at lr 1e-3: 7 of 8, then 14 of 16 whose S1 drop is >= 0 in all (0-0.80, mean 0.24, sd 0.22): the lower t
#   limit at FFR/2 reaches ~0 at 14 seeds, hence 32 seeds (t limits narrow as 1/sqrt(n) and t's quantile falls);
# - gradient clipping at 1.0 (8 of 8, no S1 ordering), width 48 (7 of 8, same spread, 6x the time), width 16 (2 of 3);
# - 24 seeds: 19 learn, L-F-S1 held at a thin margin (0.026); a sign test on the drop instead of the t limit: 18 of 30
#   seeds reach drop_min, inconclusive (the drops are spread, not a few outliers).
GPT_CALIBRATION = {
    "reduced (32 seeds, warm-up, lr 1e-3), train_seed 0": {
        "learned seeds native / emulated": (30, 30), "training s (2 cores) native / emulated": (100, 220),
        "L-F-S1 / L-F-3L / L-F-ALPHA": "held / held / inconclusive, natively and emulated"},
    "earlier: constant lr 3e-3, 8 seeds": {"learned seeds native / emulated": (5, 5),
                                          "L-F-S1 / L-F-3L / L-F-ALPHA": "inconclusive / held / inconclusive"}}
GPT_PARAMS = WORLD_PARAMS + (
    _p("size", str, "deeper-model size: reduced (CPU) or paper (GPU)", choices=("reduced", "paper")),
    _p("learn_max", float, "a seed learned if its in-domain 0-1 error is <= this (chance: 0.5)", gt=0, max=0.5),
    _p("min_learned", int, "fewest learned seeds to decide on (else: assumption not met)", min=2, max=64))
# 32 seeds of 500 prompts: the seed-to-seed spread of the figure effects dominates the prompt noise (hinge sd ~0.02
# per seed at 500 prompts against ~0.2 between seeds), so seeds buy resolution and prompts do not.
GPT_DEFAULTS = WORLD_DEFAULTS | {"size": "reduced", "n_task_families": 5, "n_seeds": 32, "learn_max": 0.1,
                                 "min_learned": 16, "n_test": 500}
# The deeper model's training (one world for the three figure claims) is the longest computation of li2024's ci run:
# it gets two intra-op threads (a fixed count, so every run is still bit-for-bit reproducible on any machine).
GPT_THREADS = 2
# The paper size on a GPU as calibrated on an H100 (2026-11-22): 8 seeds of 2000 prompts learn there reliably.
GPT_PAPER_PRESET = {"size": "paper", "n_seeds": 8, "min_learned": 4, "n_test": 2000}
FIGURE_MODEL = _p("model", str, "the paper's deeper model (gpt2) or the analysed one-layer model on the same figure",
                  choices=("gpt2", "one-layer"))
LEARNED_RULE = ("the unit of replication is a training seed that learned: in-domain 0-1 error <= learn_max (0.1; "
                "chance 0.5) at l_ts, alpha' on prompts independent of the tested ones; fewer than min_learned (16) "
                "learned seeds is 'assumption not met: model did not learn'")


@dataclass
class GPTWorld:
    g: m.GPTConfig
    init: dict
    weights: dict
    idr: torch.Tensor
    idi: torch.Tensor
    rotation: torch.Tensor
    tasks: torch.Tensor
    loss: torch.Tensor


def _train_gpt_world(impl, lcfg, size: str, dtype: str, n_seeds: int, train_seed: int, device: str) -> GPTWorld:
    ctx = CheckContext(torch.device(device), train_seed)
    g = impl.GPTConfig(**GPT_SIZES[size])
    idr, idi = impl.orthonormal_patterns(lcfg, n_seeds, ctx.generator(1))
    rotation = random_rotation(n_seeds, lcfg.M2, ctx.generator(4))
    tr = impl.train_tasks(lcfg.M1, lcfg.n_task_families, lcfg.task_cover, device=ctx.device)
    w0 = impl.gpt_init(g, lcfg.d, n_seeds, ctx.generator(2), dtype=DTYPES[dtype])
    w, loss = impl.train_gpt(g, lcfg, w0, impl.Domain(idr, idi, tr), ctx.generator(3), l_min=lcfg.l)
    return GPTWorld(g, w0, w, idr, idi, rotation, tr, loss)


def gpt_world(cfg: dict, ctx: CheckContext) -> GPTWorld:
    """The trained deeper models of ctx.impl (cached per implementation, config, seed batch and device)."""
    impl, lcfg = ctx.impl, _train_config(cfg, ctx.impl)
    key = ("gpt", impl.key, repr(lcfg), cfg["size"], cfg["dtype"], cfg["n_seeds"], cfg["train_seed"], str(ctx.device))
    return _cached(key, lambda: _train_gpt_world(impl, lcfg, cfg["size"], cfg["dtype"], cfg["n_seeds"],
                                                 cfg["train_seed"], str(ctx.device)), impl)


def _gpt_eval(gw: GPTWorld, cfg: dict, ctx: CheckContext, *, S1: float | None, l: int, alpha: float, offset: int,
              n: int | None = None):
    """Test prompts (ID: the training domain's tasks; OOD at S1) and the deeper model's output and attentions."""
    impl = ctx.impl
    ecfg = _eval_cfg(cfg, ctx)
    if S1 is None:
        dom = impl.Domain(gw.idr, gw.idi, gw.tasks)
    else:
        dom = impl.ood_domain(ecfg, gw.idr, gw.idi, gw.rotation, S1)
    pr = impl.make_test_prompts(ecfg, dom, n or cfg["n_test"], ctx.generator(offset), l=l, alpha=alpha,
                                dtype=DTYPES[cfg["dtype"]])
    with torch.no_grad():
        Fv, attns = impl.gpt_forward(gw.g, gw.weights, pr.P)
    return pr, Fv, attns


def _figure_model(cfg: dict, ctx: CheckContext) -> Callable:
    """evaluate(S1, l, alpha, offset, n) -> (prompts, F) for the model the figure claim reads (``cfg["model"]``)."""
    impl = ctx.impl
    if cfg["model"] == "gpt2":
        gw = gpt_world(cfg, ctx)
        return lambda **kw: _gpt_eval(gw, cfg, ctx, **kw)[:2]
    w = world(cfg, ctx)
    ecfg = _eval_cfg(cfg, ctx)

    def evaluate(*, S1, l, alpha, offset, n=None):
        dom = w.id_domain(impl) if S1 is None else w.ood_domain(impl, ecfg, S1)
        pr = impl.make_test_prompts(ecfg, dom, n or cfg["n_test"], ctx.generator(offset), l=l, alpha=alpha,
                                    dtype=DTYPES[cfg["dtype"]])
        return pr, impl.forward(w.params, pr.P).F

    return evaluate


def seed_means(evaluate: Callable, **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """(S,) per-seed mean 0-1 error and mean hinge over the prompts of one evaluation."""
    pr, Fv = evaluate(**kw)
    return zero_one(Fv, pr.z).double().mean(-1).cpu(), hinge_loss(Fv, pr.z).double().mean(-1).cpu()


def learned_seeds(evaluate: Callable, cfg: dict) -> tuple[torch.Tensor, list[float]]:
    """(S,) bool: the seeds whose in-domain 0-1 error is <= learn_max, on prompts (offset 49) independent of every
    tested prompt set; AssumptionNotMet("model did not learn: ...") when fewer than min_learned seeds learned."""
    err, _ = seed_means(evaluate, S1=None, l=cfg["l_test"], alpha=cfg["alpha_test"], offset=49)
    ok = err <= cfg["learn_max"]
    if int(ok.sum()) < cfg["min_learned"]:
        raise AssumptionNotMet(
            f"model did not learn: {int(ok.sum())} of {len(err)} seeds reach in-domain 0-1 error <= "
            f"{cfg['learn_max']} (chance 0.5; {cfg['min_learned']} needed); per-seed errors "
            f"{[round(float(e), 3) for e in err]}")
    return ok, [round(float(e), 4) for e in err]


DEEP_NOTE = ("The deeper model is a small GPT-2-style transformer (pre-LN, causal, GELU, no positional embedding), "
             "read out at the query token and trained with Adam on the hinge loss, on all in-domain tasks: with a "
             "task subset it memorises the training tasks (held-out ID error 0.12-0.39 measured) instead of "
             "learning in context. size='reduced' (width 32, 600 Adam steps of batch 64 with warm-up and cosine "
             "decay, 32 seeds of 500 test prompts) runs on CPU in CI; size='paper' (width 256, 5000 steps, 8 seeds; "
             "the paper's width is NOT FOUND) is for a GPU. Its training is "
             "bimodal: some seeds stay at a plateau, so decisions are over the seeds that learned (LEARNED_RULE), "
             "whose number and per-seed errors are reported. ")


def check_f_s1(cfg: dict, ctx: CheckContext) -> Outcome:
    evaluate = _figure_model(cfg, ctx)
    ok, id_err = learned_seeds(evaluate, cfg)
    grid = list(S1_GRID)
    E, H = map(torch.stack, zip(*(seed_means(evaluate, S1=s1, l=cfg["l_test"], alpha=cfg["alpha_test"], offset=50)
                                   for s1 in grid)))  # (G, S) per-seed means; common random numbers across S1
    He = H[:, ok]
    r = FFR / 2
    parts = {
        "OOD hinge non-increasing in S1": at_most(He[1:] - He[:-1], 0.01, r, over="seeds", resolution=RES_LOSS, unit="learned seeds",
                                                 labels=[f"S1 {a:g} -> {b:g}" for a, b in zip(grid, grid[1:])],
                                                 what="per-seed change of the mean OOD hinge"),
        f"OOD hinge at S1 = {grid[0]} exceeds S1 = {grid[-1]} by >= drop_min": effect_verdict(
            (He[0] - He[-1]).reshape(1, -1), cfg["drop_min"], r, over="seeds", unit="learned seeds",
            what="per-seed drop of the mean OOD hinge"),
    }
    lengths = (4, 8, 12, 16, 20)
    by_len = {f"S1 = {s1}": (list(lengths), [float(seed_means(evaluate, S1=s1, l=l, alpha=cfg["alpha_test"], offset=51,
                                                                 n=max(100, cfg["n_test"] // 4))[0][ok].mean())
                                             for l in lengths]) for s1 in (grid[0], grid[-1])}
    return combine(parts, cfg, details={
        "learned seeds": int(ok.sum()), "in-domain error per seed (learned if <= learn_max)": id_err,
        "OOD 0-1 error (S1 x seed), reported": E.tolist(), "OOD hinge (S1 x seed)": H.tolist()},
        curves={"deep_ood_vs_length": curve("context length l_ts", "OOD 0-1 error (mean over learned seeds)", by_len),
                "deep_ood_vs_S1": curve("S1", "OOD error / hinge (mean over learned seeds)", {
                    "0-1 error": (grid, E[:, ok].mean(1).tolist()), "hinge": (grid, He.mean(1).tolist())})})


register(Claim(
    id="L-F-S1", control=Control("L-M37", {}, 0), power=POWER, shares=SHARES_GPT, paper=PAPER,
    reference="Slides fig. 18 (GPT-2, OOD error vs S1)",
    title="Deeper model: the OOD hinge falls with S1 and is clearly higher at S1 = 0.5 than at 1.3 (weaker form)",
    statement=r"\text{3-layer 2-head GPT-2, per trained seed: OOD hinge non-increasing in } S_1\in\{0.5,\dots,1.3\},"
              r"\ \ell(0.5)-\ell(1.3)\ge d",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_f_s1,
    params=GPT_PARAMS + (FIGURE_MODEL, _p("drop_min", float, "least per-seed hinge drop from S1 = 0.5 to 1.3 "
                                          "(resolution: half of it)", gt=0, max=1)),
    defaults=GPT_DEFAULTS | {"model": "gpt2", "drop_min": 0.05},
    presets={"paper": GPT_PAPER_PRESET},
    assumptions=(TEST_LENGTH, BATCH), cost=Cost.SLOW, false_fail_rate=FFR, cpu_threads=GPT_THREADS,
    tolerance="mean_verdict over the learned seeds (one value per seed: its mean hinge over n_test prompts, common "
              "random numbers across S1) at FFR/2 per part, Bonferroni over the 4 S1 pairs: monotone if each pair's "
              "upper t limit <= 0.01 + 0.02, violated if a lower limit > 0.01 (a mean change below 0.01 is a tie); "
              "the drop held if its lower limit >= "
              "drop_min/2, violated if its upper limit < drop_min. " + LEARNED_RULE,
    notes=WEAKER + DEEP_NOTE + "The slides plot the 0-1 error; a learned seed's OOD error is often ~0 at every S1 "
          "(nothing to order), so the ordering is asserted in the hinge (the paper's measure) and the errors are "
          "reported. The error-vs-length curves are reported.",
    figure="deep_ood_vs_S1",
))


def check_f_alpha(cfg: dict, ctx: CheckContext) -> Outcome:
    evaluate = _figure_model(cfg, ctx)
    ok, id_err = learned_seeds(evaluate, cfg)
    lengths = (4, 8, 12, 16, 20)
    curves_id, curves_ood, rows, labels, ends = {}, {}, [], [], {}
    for at in ALPHA_PRIMES_DEEP:
        for dom_name, S1, store in (("ID", None, curves_id), ("OOD", cfg["S1"], curves_ood)):
            errs, hs = [], []
            for i, l in enumerate(lengths):  # the ends at full size, the curve's middle on a quarter of the prompts
                n = None if i in (0, len(lengths) - 1) else max(100, cfg["n_test"] // 4)
                e, h = seed_means(evaluate, S1=S1, l=l, alpha=at, offset=60, n=n)
                errs.append(e)
                hs.append(h)
            store[f"alpha' = {at}"] = (list(lengths), [float(e[ok].mean()) for e in errs])
            ends[f"{dom_name} alpha' {at}: hinge at l_ts = 4, 20 (learned-seed mean)"] = [
                float(hs[0][ok].mean()), float(hs[-1][ok].mean())]
            if dom_name == cfg["domain"]:
                rows.append(hs[0][ok] - hs[-1][ok])  # per learned seed: hinge(l_ts = 4) - hinge(l_ts = 20)
                labels.append(f"alpha' {at}")
    dom = cfg["domain"]
    part = effect_verdict(torch.stack(rows), cfg["drop_min"], FFR, labels=labels, over="seeds", unit="learned seeds",
                          what="per-seed drop of the mean hinge from l_ts = 4 to 20")
    return combine({f"{dom}: hinge at l_ts = {lengths[-1]} below l_ts = {lengths[0]} by >= drop_min": part}, cfg,
                   details={"learned seeds": int(ok.sum()), "in-domain error per seed": id_err, "ends": ends},
                   curves={"deep_id_vs_length": curve("l_ts", "ID 0-1 error (mean over learned seeds)", curves_id),
                           "deep_ood_vs_length_alpha": curve("l_ts", "OOD 0-1 error (mean over learned seeds)",
                                                             curves_ood)})


ALPHA_PRIMES_DEEP = (0.8, 0.9, 1.0)

register(Claim(
    id="L-F-ALPHA", control=Control("L-M21", {}, 0), power=POWER, shares=SHARES_GPT, paper=PAPER,
    reference="Slides fig. 19 (GPT-2, error vs alpha' and test length)",
    title="Deeper model: the OOD hinge falls with the test prompt length (weaker form: one domain asserted, the "
          "other reported)",
    statement=r"\text{per trained seed: }\ell_{D}(l_{ts}=4)-\ell_{D}(l_{ts}=20)\ge d\ \text{for } "
              r"\alpha'\in\{0.8,0.9,1\},\ D \in \{ID, OOD\}",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_f_alpha,
    params=GPT_PARAMS + (FIGURE_MODEL, _p("domain", str, "the domain whose error-vs-length is asserted",
                                          choices=("ID", "OOD")),
                         _p("drop_min", float, "least per-seed hinge drop from l_ts = 4 to 20 (resolution: half)",
                            gt=0, max=1)),
    # At the reduced size a learned seed's in-domain error and hinge are ~0 at every length (nothing to order), so the
    # out-of-domain effect is asserted at both sizes.
    defaults=GPT_DEFAULTS | {"model": "gpt2", "domain": "OOD", "drop_min": 0.02},
    # At paper size the in-domain error is saturated (0-0.6% at every length on an H100, 2026-11-22) while the OOD
    # error falls 0.22 -> 0.17-0.19: the figure's effect is visible out of domain only.
    presets={"paper": GPT_PAPER_PRESET | {"domain": "OOD"}},
    assumptions=(BATCH,), cost=Cost.SLOW, false_fail_rate=FFR, cpu_threads=GPT_THREADS,
    tolerance="per alpha', mean_verdict over the learned seeds (one value per seed: its mean hinge at l_ts = 4 minus "
              "at 20, independent prompt sets) at FFR/3 (Bonferroni over the 3 alpha'): held if the lower t limit "
              ">= drop_min/2, violated if the upper limit < drop_min. " + LEARNED_RULE,
    notes=WEAKER + DEEP_NOTE + "The slides show ID and OOD error falling with l_ts and larger alpha' needing "
          "shorter prompts. A learned seed's in-domain error is ~0 at every length, so the length effect is "
          "asserted out of domain (S1 = 1.1) in the hinge; the error curves, the in-domain ones and the alpha' "
          "ordering are reported. In-domain prompts come from the training tasks (all tasks are trained). At the "
          "reduced size the OOD drop is ~0.03-0.04 with a seed spread of ~0.1 over 30 learned seeds: inconclusive "
          "at FFR 1e-3, natively and emulated (GPT_CALIBRATION); the paper size decides it on a GPU.",
    figure="deep_id_vs_length",
))


def check_f_3l(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    gw = gpt_world(cfg, ctx)
    ok, id_err = learned_seeds(lambda **kw: _gpt_eval(gw, cfg, ctx, **kw)[:2], cfg)
    pr, _, attns = _gpt_eval(gw, cfg, ctx, S1=None, l=cfg["l_test"], alpha=cfg["alpha_test"], offset=70)
    with torch.no_grad():
        _, attns0 = impl.gpt_forward(gw.g, gw.init, pr.P)
    same = (pr.pattern[..., :-1] == pr.pattern[..., -1:]).to(attns[0].dtype).unsqueeze(2)  # (S, n, 1, l)
    # per seed, layer and head: the mean rise (over prompts) of the query's attention mass on same-pattern contexts
    rise = torch.stack([((A[..., -1, :-1] - A0[..., -1, :-1]) * same).sum(-1).mean(1)
                        for A, A0 in zip(attns, attns0)], 1).double().cpu()  # (S, layers, H)
    best = rise.flatten(1).max(-1).values[ok]  # each learned seed's best (layer, head)
    r = FFR / (gw.g.n_layer + 1)
    parts = {"the query attends to its pattern: best head's same-pattern mass rises by >= attn_rise_min": effect_verdict(
        best.reshape(1, -1), cfg["attn_rise_min"], r, over="seeds", unit="learned seeds",
        what="per-seed rise of the best head's same-pattern mass (mean over prompts)")}
    for i in range(gw.g.n_layer):
        grew = (gw.weights[f"{i}.w_fc"].norm(dim=-1) > gw.init[f"{i}.w_fc"].norm(dim=-1)).double().mean(-1).cpu()
        parts[f"layer {i}: most MLP neurons grow"] = at_least(grew[ok].reshape(1, -1), cfg["grow_frac"], r, over="seeds",
                                                              unit="learned seeds",
                                                              what="per-seed fraction of MLP rows that grew")
    return combine(parts, cfg, details={"learned seeds": int(ok.sum()), "in-domain error per seed": id_err,
                                        "rise of the same-pattern mass (seed x layer x head)": rise.tolist()})


register(Claim(
    id="L-F-3L", shares=SHARES_GPT, paper=PAPER, reference="Slides fig. 12-17 (3-layer extension)",
    title="Deeper model: the query attends to same-pattern contexts (best head) and most MLP neurons grow per layer",
    statement=r"\text{per trained seed: }\max_{k,h}\Delta\,\mathrm{mass}^{(k,h)}_{same}\ge r;\ \forall\ k:\ "
              r"\Pr_i\big[\|W^{(k,T)}_{fc,(i)}\|>\|W^{(k,0)}_{fc,(i)}\|\big]\ge\tfrac12",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f_3l,
    params=GPT_PARAMS + (_p("grow_frac", float, "'most' neurons: at least this fraction", min=0, max=1),
                         _p("attn_rise_min", float, "least rise of the best head's same-pattern mass", gt=0, max=1)),
    defaults=GPT_DEFAULTS | {"grow_frac": 0.5, "attn_rise_min": 0.05}, assumptions=(BATCH,), cost=Cost.SLOW,
    cpu_threads=GPT_THREADS,
    presets={"paper": GPT_PAPER_PRESET},
    false_fail_rate=FFR, power=POWER,
    control=Control("L-M38", {}, 0),
    tolerance="mean_verdict over the learned seeds at FFR/(layers + 1) per part: the best head's mean rise held if "
              "the lower t limit >= attn_rise_min/2 (violated if the upper < attn_rise_min); per layer the "
              "fraction of MLP rows that grew held if the lower limit >= grow_frac - 0.02. " + LEARNED_RULE,
    notes=WEAKER + "the slides say every layer's attention selects same-IDR contexts and most neurons grow. At the "
          "reduced size only the best head (usually in the first layer) selects, so the best head's rise is "
          "asserted and the per-layer rises are reported. " + DEEP_NOTE,
))


# ---------------------------------------------------------------------------------------------------- L-E-GPT
def _loop_gpt(g, w: dict, P: torch.Tensor, s: int, j: int) -> tuple[float, torch.Tensor]:
    """The deeper model for one prompt, written out: pre-LN blocks, causal softmax per query row and head (explicit
    loops), exact-erf GELU, read-out at the last (query) token. Returns F and the attentions (layers, H, T, T)."""
    W = {k: v[s] for k, v in w.items()}
    x = P[s, j] @ W["w_in"].T + W["b_in"]
    T, E = x.shape
    if g.pos_emb:
        x = x + W["pos"][:T]
    H, dh = g.n_head, E // g.n_head

    def ln(v, gain, bias):
        mu = v.mean(-1, keepdim=True)
        return (v - mu) / torch.sqrt(((v - mu) ** 2).mean(-1, keepdim=True) + 1e-5) * gain + bias

    atts = torch.zeros(g.n_layer, H, T, T, dtype=P.dtype)
    for i in range(g.n_layer):
        hdn = ln(x, W[f"{i}.ln1_g"], W[f"{i}.ln1_b"])
        qkv = hdn @ W[f"{i}.w_qkv"].T + W[f"{i}.b_qkv"]
        y = torch.zeros_like(x)
        for h in range(H):
            q, k, v = (qkv[:, c * E + h * dh: c * E + (h + 1) * dh] for c in range(3))
            for t in range(T):  # query row t sees tokens 0..t
                a = torch.softmax(k[: t + 1] @ q[t] / math.sqrt(dh), 0)
                atts[i, h, t, : t + 1] = a
                y[t, h * dh:(h + 1) * dh] = a @ v[: t + 1]
        x = x + y @ W[f"{i}.w_o"].T + W[f"{i}.b_o"]
        u = ln(x, W[f"{i}.ln2_g"], W[f"{i}.ln2_b"]) @ W[f"{i}.w_fc"].T + W[f"{i}.b_fc"]
        x = x + (0.5 * u * (1 + torch.erf(u / math.sqrt(2)))) @ W[f"{i}.w_pr"].T + W[f"{i}.b_pr"]
    return float(ln(x[-1], W["lnf_g"], W["lnf_b"]) @ W["w_out"]), atts


INIT_RATE = 1e-6  # the one statistical part of L-E-GPT: the init's residual-projection scale


def _init_law(w: dict[str, torch.Tensor], g) -> dict[str, Outcome]:
    """GPT-2's init (gpt_init): LayerNorm gains 1 and every bias 0 exactly; residual projections (w_o, w_pr) drawn
    with variance 1/(2 n_layer) of the other weights'. With mean zero known, each sum of squares / sigma^2 is
    chi-square(n), so the ratio of mean squares / (1/(2L)) is F(n_proj, n_other): a two-sided acceptance interval at
    INIT_RATE (held / violated only)."""
    from scipy import stats

    gains = [v for k, v in w.items() if k.endswith("_g")]
    biases = [v for k, v in w.items() if k.split(".")[-1].startswith("b_") or k.endswith("_b")]
    proj = torch.cat([v.reshape(-1) for k, v in w.items() if k.endswith((".w_o", ".w_pr"))])
    other = torch.cat([v.reshape(-1) for k, v in w.items() if k.endswith((".w_qkv", ".w_fc"))])
    ratio = float((proj**2).mean() / (other**2).mean()) * 2 * g.n_layer
    lo, hi = (float(stats.f.ppf(INIT_RATE / 2, proj.numel(), other.numel())),
              float(stats.f.isf(INIT_RATE / 2, proj.numel(), other.numel())))
    return {
        "init: LayerNorm gains are 1": Outcome.at_most(max(float((v - 1).abs().max()) for v in gains), 0.0, exact=True),
        "init: biases are 0": Outcome.at_most(max(float(v.abs().max()) for v in biases), 0.0, exact=True),
        f"init: residual projections have 1/(2 n_layer) of the variance (F acceptance at {INIT_RATE:g})":
            Outcome.within(ratio, lo, hi),
    }


def check_e_gpt(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    g = impl.GPTConfig(n_layer=cfg["n_layer"], n_head=2, n_embd=2 * cfg["head_dim"], lr=cfg["lr"], steps=1, batch=8)
    lc = impl.LiConfig(l=cfg["l"], n_task_families=5)
    S = 2
    idr, idi = impl.orthonormal_patterns(lc, S, ctx.generator(1))
    dom = impl.Domain(idr, idi, impl.train_tasks(lc.M1, 5, device=ctx.device))
    w = impl.gpt_init(g, lc.d, S, ctx.generator(2), dtype=F64)
    gen = ctx.generator(3)  # GPT-2's init is near-uniform attention: perturb every weight so the softmax matters
    # (w_out stays at its init, so |F| < 1 on every prompt: the hinge is active and every weight gets a gradient)
    w = {k: v + (k != "w_out") * cfg["scale"] * torch.randn(v.shape, generator=gen, dtype=F64, device=v.device)
         for k, v in w.items()}
    pr = impl.sample_prompts(lc, dom, 3, ctx.generator(4), dtype=F64)
    Fv, attns = impl.gpt_forward(g, w, pr.P)
    ref = [[_loop_gpt(g, w, pr.P, s, j) for j in range(pr.P.shape[1])] for s in range(S)]
    F_ref = torch.tensor([[f for f, _ in row] for row in ref], dtype=F64, device=Fv.device)
    A_ref = torch.stack([torch.stack([a for _, a in row]) for row in ref])  # (S, n, layers, H, T, T)
    A = torch.stack(attns, 2).detach()
    tol = identity_tolerance(F64, 64 * g.n_layer * (g.n_embd + lc.d + pr.P.shape[-2]), 1.0 + float(F_ref.abs().max()))
    # one Adam step from w: |dw| = lr |g| / (|g| + eps) <= lr elementwise, ~ lr wherever the gradient is not ~0
    w1, loss = impl.train_gpt(g, lc, w, dom, ctx.generator(5), l_min=lc.l)
    dw = torch.cat([(w1[k] - w[k]).abs().reshape(-1) for k in w]) / cfg["lr"]
    # Weight matrices only: a bias's gradient is a sum over the batch that can cancel exactly (the final LayerNorm
    # bias gets -w_out x mean(z) over active prompts, 0 when the labels balance; a thorough-style dev run found it).
    moved = {k: float((w1[k] - w[k]).abs().max()) / cfg["lr"] for k in w if k.split(".")[-1].startswith("w_")}
    parts = {
        **_init_law(impl.gpt_init(g, lc.d, S, ctx.generator(6), dtype=F64), g),
        "F = the written-out pre-LN transformer read at the query": Outcome.at_most(max_abs_error(Fv.detach(), F_ref), tol),
        "attentions = the written-out causal softmax (layer, head, query, key)": Outcome.at_most(
            max_abs_error(A, A_ref.to(A.device)), tol),
        "Adam's first step: |dw| <= lr elementwise": Outcome.at_most(float(dw.max()), 1 + 1e-9),
        "Adam's first step: >= 90% of the weights move by >= lr/2": Outcome.at_least(float((dw >= 0.5).double().mean()),
                                                                                  0.9),
        "Adam's first step moves every weight matrix": Outcome.at_least(min(moved.values()), 0.5),
        "recorded loss = mean hinge of a step (in [0, 1 + |F|])": Outcome.at_least(float(loss.min()), 0.0),
    }
    return Outcome.all_of(parts, instances=S, details={"tolerance": tol, "least-moved tensor (in lr)": min(
        moved, key=moved.get)})


register(Claim(
    id="L-E-GPT", control=Control("L-M34", {}, 0), reference="setting of slides fig. 12-19 (the deeper model)",
    title="The deeper model computes the written-out GPT-2 block stack, read at the query; Adam's first step",
    statement=r"F=w_{out}^\top\mathrm{LN}(x^{(L)}_{query}),\ x^{(k+1)}=x'+\mathrm{MLP}(\mathrm{LN}(x')),\ "
              r"x'=x^{(k)}+\mathrm{Attn}_{causal}(\mathrm{LN}(x^{(k)}));\ |\Delta w|_{Adam,1}\le\eta",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.IDENTITY, cost=Cost.CHEAP, check=check_e_gpt, paper=PAPER,
    params=(Param("l", int, min=2, max=24, doc="context examples"),
            Param("n_layer", int, min=1, max=4, doc="blocks"),
            Param("head_dim", int, min=1, max=8, doc="width per head (2 heads)"),
            Param("scale", float, min=0.0, max=1.0, doc="perturbation added to GPT-2's init (makes attention matter)"),
            Param("lr", float, gt=0, max=1, doc="Adam step")),
    defaults={"l": 6, "n_layer": 3, "head_dim": 4, "scale": 0.3, "lr": 1e-2},
    tolerance="8 eps(float64) x 64 x layers x (width + d + T) x (1 + |F|); Adam: exact bound lr (1 + 1e-9); init: "
              "gains 1 and biases 0 exactly, the residual projections' variance ratio x 2 n_layer inside the two-sided "
              "F(n_proj, n_other) acceptance interval at 1e-6 (held / violated)",
    false_fail_rate=INIT_RATE,
    notes="Not a spec id: the exact counterpart of the deeper-model figure claims (whose trained verdicts cannot "
          "see a model that does not learn at all). The reference is written out in the check, never through "
          "gpt_forward. The Adam parts need no replay of the batch: the first step's size is lr |g|/(|g| + eps).",
))

"""Exact float64 properties of the spec's §4.1 (ids L-E-*) and the data-generator contract."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING
import torch
from scipy.stats import norm as _norm
from theorems.core import CheckContext, Claim, Control, Cost, Kind, Outcome, Param, Provenance
from theorems.registry import register
from theorems.tolerances import binomial_acceptance, identity_tolerance, max_abs_error
if TYPE_CHECKING:  # annotations only
    from models import li2024 as m


from theorems.li2024.common import (
    coverage_counts, F64, FFR, _FIELD_PARAMS, hinge_loss, hinge_subgradient, n_same_pattern, PAPER, POWER,
    random_rotation, WORLD_DEFAULTS, zero_one,
)

# ---------------------------------------------------------------------------------------------------- exact (§4.1)
INSTANCE_PARAMS = (
    Param("l", int, min=1, max=64, doc="context examples"),
    Param("m", int, min=1, max=128, doc="MLP neurons"),
    Param("d_X", int, min=1, max=64, doc="feature dimension"),
    Param("d_Y", int, min=1, max=16, doc="label dimension"),
    Param("scale", float, min=1e-3, max=3, doc="weights are N(0,1)/sqrt(fan-in) * scale"),
    Param("batch", int, min=1, max=256, doc="independent instances (seeds)"),
    Param("n_prompts", int, min=1, max=256, doc="prompts per instance"),
)
INSTANCE_DEFAULTS = {"l": 20, "m": 64, "d_X": 30, "d_Y": 4, "scale": 1.0, "batch": 8, "n_prompts": 4}


def _instance(cfg: dict, ctx: CheckContext) -> tuple[m.Params, torch.Tensor]:
    impl = ctx.impl
    g = ctx.generator()
    S, n, l, mm, dX, dY = cfg["batch"], cfg["n_prompts"], cfg["l"], cfg["m"], cfg["d_X"], cfg["d_Y"]
    d = dX + dY
    kw = dict(generator=g, dtype=F64, device=ctx.device)
    s = cfg["scale"]
    W_Q, W_K, W_V = (torch.randn(S, d, d, **kw) * s / math.sqrt(d) for _ in range(3))
    W_O = torch.randn(S, mm, d, **kw) * s / math.sqrt(d)
    a = torch.randn(S, mm, **kw) * s / math.sqrt(mm)
    P = torch.randn(S, n, l + 1, d, **kw)
    P[..., -1, dX:] = 0.0  # the query's label block is 0
    return impl.Params(W_Q, W_K, W_V, W_O, a), P


def _forward_tolerance(p: m.Params, P: torch.Tensor) -> float:
    """eps(float64) x (longest reduction chain d + m_b + m + l) x (the terms' absolute scale): the forward pass on
    absolute values, times (1 + the largest absolute score), since a score error e moves attn_i by attn_i e."""
    ab = type(p)(*(t.abs() for t in p))
    Pa = P.abs()
    u = (Pa[..., -1, :] @ ab.W_Q.transpose(-1, -2)) @ ab.W_K  # (S, n, d)
    scores = (Pa[..., :-1, :] @ u.unsqueeze(-1)).squeeze(-1)
    pooled = Pa[..., :-1, :].max(-2).values
    absF = (torch.relu((pooled @ ab.W_V.transpose(-1, -2)) @ ab.W_O.transpose(-1, -2)) * ab.a.unsqueeze(1)).sum(-1)
    d, mb, mm, l = P.shape[-1], p.W_V.shape[1], p.W_O.shape[1], P.shape[-2] - 1
    return identity_tolerance(F64, d + mb + mm + l, float(absF.max()) * (1 + float(scores.max())))


def _loop_forward(p: m.Params, P: torch.Tensor, s: int, j: int) -> float:
    """The §1.2 formula with explicit loops over the l contexts (E1)."""
    ctx, pq = P[s, j, :-1], P[s, j, -1]
    raw = [float((p.W_K[s] @ ctx[i]) @ (p.W_Q[s] @ pq)) for i in range(ctx.shape[0])]
    top = max(raw)
    e = [math.exp(v - top) for v in raw]
    attn = [v / sum(e) for v in e]
    pooled = sum(attn[i] * (p.W_V[s] @ ctx[i]) for i in range(ctx.shape[0]))
    return float(p.a[s] @ torch.relu(p.W_O[s] @ pooled))


def check_e_attn(cfg: dict, ctx: CheckContext) -> Outcome:
    forward = ctx.impl.forward
    p, P = _instance(cfg, ctx)
    f = forward(p, P)
    tol = _forward_tolerance(p, P)
    loops = torch.tensor([[_loop_forward(p, P, s, j) for j in range(P.shape[1])] for s in range(min(P.shape[0], 4))],
                         dtype=F64, device=P.device)
    same = P.clone()
    same[..., :-1, :] = P[..., :1, :]  # all l contexts identical
    uni = forward(p, same).attn
    l = P.shape[-2] - 1
    parts = {
        "attn >= 0": Outcome.at_least(float(f.attn.min()), 0.0),
        "attn sums to 1 over the l contexts": Outcome.at_most(float((f.attn.sum(-1) - 1).abs().max()),
                                                              identity_tolerance(F64, l, 1.0)),
        "one weight per context (the query gets none)": Outcome.at_most(abs(f.attn.shape[-1] - l), 0.0, exact=True),
        "F equals the loop formula": Outcome.at_most(max_abs_error(f.F[: loops.shape[0]], loops), tol),
        "identical contexts: attn = 1/l": Outcome.at_most(float((uni - 1.0 / l).abs().max()),
                                                          identity_tolerance(F64, l, 1.0 / l)),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


def check_e_perm(cfg: dict, ctx: CheckContext) -> Outcome:
    forward = ctx.impl.forward
    p, P = _instance(cfg, ctx)
    S, n, L1, d = P.shape
    perm = torch.argsort(torch.rand(S, n, L1 - 1, generator=ctx.generator(1), device=ctx.device), dim=-1)
    Pp = P.clone()
    Pp[..., :-1, :] = torch.gather(P[..., :-1, :], 2, perm.unsqueeze(-1).expand(-1, -1, -1, d))
    f, fp = forward(p, P), forward(p, Pp)
    tol = _forward_tolerance(p, P)
    parts = {
        "F(P) = F(P with permuted contexts)": Outcome.at_most(max_abs_error(f.F, fp.F), tol),
        "attention permutes with the contexts": Outcome.at_most(
            max_abs_error(torch.gather(f.attn, 2, perm), fp.attn), identity_tolerance(F64, L1 + d, 1.0)),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


def check_e_homog(cfg: dict, ctx: CheckContext) -> Outcome:
    forward = ctx.impl.forward
    p, P = _instance(cfg, ctx)
    c = cfg["c"]
    f = forward(p, P).F
    tol = _forward_tolerance(p, P)
    parts = {
        "F(c W_O) = c F (c > 0)": Outcome.at_most(max_abs_error(forward(p._replace(W_O=c * p.W_O), P).F, c * f),
                                                   tol * max(c, 1.0)),
        "F(-a) = -F": Outcome.at_most(max_abs_error(forward(p._replace(a=-p.a), P).F, -f), tol),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol, "c": c})


def _reference_magnitude_order(norms: torch.Tensor) -> list[list[int]]:
    return [sorted(range(len(row)), key=lambda i: (row[i], i)) for row in norms.tolist()]


def check_e_prune(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    prune = impl.prune
    p, P = _instance(cfg, ctx)
    S, mm = p.a.shape
    g = ctx.generator(2)
    # duplicate some rows so norms tie exactly: the order must then break ties by index
    n_dup = mm // 4
    if n_dup:
        src = torch.randint(0, mm, (n_dup,), generator=g, device=ctx.device)
        dst = torch.randint(0, mm, (n_dup,), generator=g, device=ctx.device)
        p = p._replace(W_O=p.W_O.clone())
        p.W_O[:, dst] = p.W_O[:, src]
    k = int(torch.randint(0, mm + 1, (1,), generator=g, device=ctx.device))
    idx = impl.pruning_indices(p, k / mm, "random", g)
    f_zero_rows = impl.forward(prune(p, idx), P).F
    f_mask = impl.forward(p, P, keep=impl.keep_mask(S, mm, idx, device=P.device)).F
    f_del = impl.forward(impl.delete_neurons(p, idx), P).F
    f_none = impl.forward(prune(p, idx[:, :0]), P).F
    f_all = impl.forward(prune(p, torch.arange(mm, device=P.device).expand(S, mm)), P).F
    z = torch.where(torch.rand(f_all.shape, generator=g, device=P.device) < 0.5, 1.0, -1.0).to(F64)
    base = impl.forward(p, P).F
    tol = _forward_tolerance(p, P)
    order = impl.pruning_indices(p, 1.0, "magnitude").tolist()
    parts = {
        "zeroing W_O rows = zeroing a_i": Outcome.at_most(max_abs_error(f_zero_rows, f_mask), tol),
        "zeroing rows = deleting the neurons": Outcome.at_most(max_abs_error(f_zero_rows, f_del), tol),
        "S = empty set changes nothing (bitwise)": Outcome.at_most(max_abs_error(f_none, base), 0.0, exact=True),
        "S = [m] gives F = 0": Outcome.at_most(float(f_all.abs().max()), 0.0, exact=True),
        "S = [m] gives hinge = 1": Outcome.at_most(max_abs_error(hinge_loss(f_all, z), torch.ones_like(z)), 0.0, exact=True),
        "magnitude order = stable argsort of row norms": Outcome.at_most(
            float(order != _reference_magnitude_order(p.W_O.norm(dim=-1))), 0.0, exact=True),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol, "pruned per instance": k})


def check_e_hinge(cfg: dict, ctx: CheckContext) -> Outcome:
    hinge = ctx.impl.hinge
    g = ctx.generator()
    n = cfg["n_values"]
    z = torch.where(torch.rand(n, generator=g, device=ctx.device) < 0.5, 1.0, -1.0).to(F64)
    Fv = torch.randn(n, generator=g, dtype=F64, device=ctx.device) * cfg["spread"]
    Fv[: n // 8] = z[: n // 8]  # exactly on the kink z F = 1
    Fv[n // 8: n // 4] = 0.0  # ties F = 0 count as errors
    Fr = Fv.clone().requires_grad_(True)
    ell = hinge(Fr, z)
    (grad,) = torch.autograd.grad(ell.sum(), Fr)
    ell = ell.detach()
    zF = z * Fv
    parts = {
        "hinge >= 0": Outcome.at_least(float(ell.min()), 0.0, exact=True),
        "hinge = 0 iff z F >= 1": Outcome.at_most(float(((ell == 0) != (zF >= 1)).sum()), 0.0, exact=True),
        "1{z F <= 0} <= hinge": Outcome.at_least(float((ell - zero_one(Fv, z)).min()), 0.0, exact=True),
        "subgradient = -z 1{z F < 1}": Outcome.at_most(max_abs_error(grad, hinge_subgradient(Fv, z)), 0.0, exact=True),
        "hinge = max(0, 1 - z F)": Outcome.at_most(max_abs_error(ell, torch.clamp(1 - zF, min=0)),
                                                    identity_tolerance(F64, 2, float(zF.abs().max()) + 1)),
    }
    return Outcome.all_of(parts, instances=n)


def check_e_label(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    p, P = _instance(cfg, ctx)
    dX = cfg["d_X"]
    Pf = P.clone()
    Pf[..., dX:] = -Pf[..., dX:]  # q -> -q in every token (the query's block is 0 and stays 0)
    W = [t.clone() for t in (p.W_Q, p.W_K, p.W_V)]
    for i, t in enumerate(W):
        if True:  # W_K too: the spec's literal E9 (W_V only) is false (see notes)
            t[..., dX:] = -t[..., dX:]  # negate the label columns
    pf = p._replace(W_Q=W[0], W_K=W[1], W_V=W[2])
    f, ff = impl.forward(p, P), impl.forward(pf, Pf)
    tol = _forward_tolerance(p, P)
    parts = {
        "F unchanged when q -> -q and the label columns of W_Q, W_K, W_V flip": Outcome.at_most(max_abs_error(f.F, ff.F), tol),
        "W_V p_i unchanged": Outcome.at_most(max_abs_error(P @ p.W_V.transpose(-1, -2).unsqueeze(1),
                                                           Pf @ pf.W_V.transpose(-1, -2).unsqueeze(1)), tol),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


_EXACT_COMMON = dict(paper=PAPER, kind=Kind.IDENTITY, cost=Cost.CHEAP, params=INSTANCE_PARAMS,
                     defaults=INSTANCE_DEFAULTS)
_EXACT_TOL = ("8 eps(float64) x (d + m_b + m + l) x (forward pass on absolute values) x (1 + largest absolute "
              "score); attention sums: 8 eps l")

register(Claim(
    id="L-E-ATTN", control=Control("L-M01", {}, 0), reference="spec §4.1 E1, E2, E4 (setting §1.2; supports L-P41)",
    title="Model formula and attention as a distribution over the l contexts (the query gets no weight)",
    statement=r"\mathrm{attn}_i\ge0,\ \textstyle\sum_{i=1}^{l}\mathrm{attn}_i=1;\ F=a^\top\mathrm{ReLU}(W_O\sum_i "
              r"W_Vp_i\,\mathrm{attn}_i);\ p_1=\dots=p_l\Rightarrow\mathrm{attn}_i=1/l",
    provenance=Provenance.STATED, check=check_e_attn, tolerance=_EXACT_TOL,
    notes="Not a spec id (exact property of the model, spec E1/E2/E4). STATED: the model of §1.2 is on the slides.",
    **_EXACT_COMMON,
))
register(Claim(
    id="L-E-PERM", control=Control("L-M03", {}, 0), reference="spec §4.1 E3 (setting §1.2)",
    title="F is invariant to permuting the context columns (no positional encoding)",
    statement=r"F(\Psi;P_{\pi})=F(\Psi;P)\quad\forall\pi\in\mathfrak S_l\ \text{(contexts only)}",
    provenance=Provenance.DERIVED_HIGH, check=check_e_perm, tolerance=_EXACT_TOL,
    notes="Not a spec id (spec E3). Reconstructed consequence of the model (no positional encoding).",
    **_EXACT_COMMON,
))
register(Claim(
    id="L-E-HOMOG", control=Control("L-M36", {}, 0), reference="spec §4.1 E5 (setting; supports L-T37)",
    title="F is positively homogeneous in W_O and odd in a",
    statement=r"F(cW_O)=cF\ (c>0),\qquad F(-a)=-F",
    provenance=Provenance.DERIVED_HIGH, check=check_e_homog, tolerance=_EXACT_TOL + "; times max(c, 1)",
    notes="Not a spec id (spec E5). Reconstructed consequence of ReLU's positive homogeneity.",
    **(_EXACT_COMMON | {"params": INSTANCE_PARAMS + (Param("c", float, gt=0, max=1e3, doc="scale of W_O"),),
                        "defaults": INSTANCE_DEFAULTS | {"c": 2.5}}),
))
register(Claim(
    id="L-E-PRUNE", control=Control("L-M11", {}, 0), reference="spec §4.1 E6 (supports L-T37)",
    title="Pruning semantics: zeroing rows = zeroing a_i = deleting; empty set, all neurons, magnitude order",
    statement=r"F(\Psi_{\setminus S})=a_{\setminus S}^\top\mathrm{ReLU}(\cdot);\ S=\emptyset\Rightarrow F;\ "
              r"S=[m]\Rightarrow F=0,\ \ell=1;\ S_{mag}=\mathrm{argsort}\|W_{O,(i)}\|\ (\text{ties by index})",
    provenance=Provenance.STATED, check=check_e_prune, tolerance=_EXACT_TOL + "; empty/all-neuron cases bitwise",
    notes="Not a spec id (spec E6). Pruning = removing W_O rows is STATED on the slides.",
    **_EXACT_COMMON,
))
register(Claim(
    id="L-E-HINGE", control=Control("L-M09", {}, 0), reference="spec §4.1 E7 (supports L-T33, L-T34)",
    title="Hinge-loss facts: nonnegative, zero iff z F >= 1, bounds the 0-1 error, subgradient -z 1{zF < 1}",
    statement=r"\ell\ge0;\ \ell=0\iff zF\ge1;\ \mathbb 1\{zF\le0\}\le\ell;\ \partial_F\ell=-z\,\mathbb 1\{zF<1\}",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, cost=Cost.CHEAP, check=check_e_hinge,
    params=(Param("n_values", int, min=8, max=100_000, doc="F values checked"),
            Param("spread", float, gt=0, max=100, doc="F ~ N(0, spread^2)")),
    defaults={"n_values": 256, "spread": 2.0},
    tolerance="exact comparisons (bitwise); max(0, 1 - zF): 8 eps x 2 x (|zF| + 1)",
    notes="Not a spec id (spec E7). The hinge loss is STATED; at the kink autograd takes subgradient 0, which is "
          "the convention -z 1{zF < 1}.",
    paper=PAPER,
))
register(Claim(
    id="L-E-LABEL", control=Control("L-M04", {}, 0), reference="spec §4.1 E9 (supports L-P42)",
    title="Label-embedding symmetry: q -> -q with the label columns of W_Q, W_K, W_V negated leaves F unchanged",
    statement=r"F(\Psi';P')=F(\Psi;P),\ P'=P\ \text{with } y\to-y,\ W'_{\{Q,K,V\}}=W_{\{Q,K,V\}}\,"
              r"\mathrm{diag}(I_{d_X},-I_{d_Y})",
    provenance=Provenance.DERIVED_HIGH, check=check_e_label, tolerance=_EXACT_TOL,
    notes="Not a spec id (spec E9). The spec negates only W_V's label columns; the attention scores then change "
          "(W_K p_i depends on the label block), so W_K's must be negated too (the negative control shows the "
          "spec's literal version fails).",
    **_EXACT_COMMON,
))


# ---------------------------------------------------------------------------------------------------- L-E-DATA
DATA_PARAMS = tuple(_FIELD_PARAMS[k] for k in (
    "d_X", "d_Y", "M1", "M2", "beta", "q_norm", "kappa_dist", "kappa_max", "n_task_families", "l", "alpha",
    "alpha_test", "l_test", "test_both_patterns", "M1_ood", "S1", "s1_definition", "s1_spread")) + (
    Param("n_prompts", int, min=10, max=100_000, doc="prompts per seed"),
    Param("n_seeds", int, min=1, max=64, doc="independent pattern sets"))
DATA_DEFAULTS = {k: WORLD_DEFAULTS[k] for k in (p.name for p in DATA_PARAMS) if k in WORLD_DEFAULTS}
DATA_DEFAULTS |= {"n_prompts": 500, "n_seeds": 2}
# A cheap claim runs 1000 examples under the thorough profile: at FFR (1e-3) per example such a run would fail about
# once by chance (it did: seed 320, a count 4 sd out, found by target()); 1e-6 per example keeps it at <= 1e-3 per
# run, as for the cheap statistical claims of ren2024 and yang2024.
DATA_FFR = 1e-6


def _frequency_part(pr, lc, M1: int, l: int) -> tuple[Outcome, dict, float]:
    """Pattern and label counts of training prompts inside exact binomial acceptance intervals of the known law."""
    ctxp, a, b = pr.pattern[..., :-1], pr.task[..., :1], pr.task[..., 1:]
    N = ctxp.numel()
    tests = [("contexts with pattern a", int((ctxp == a).sum()), N, lc.alpha / 2),
             ("contexts with pattern b", int((ctxp == b).sum()), N, lc.alpha / 2)]
    for j in range(M1):
        nontask = (a != j) & (b != j)
        trials = int(nontask.sum()) * l
        if trials:
            tests.append((f"contexts with non-task pattern {j}", int(((ctxp == j) & nontask).sum()), trials,
                          (1 - lc.alpha) / (M1 - 2)))
    other = (ctxp != a) & (ctxp != b)
    tests.append(("non-task labels +1", int(((pr.label > 0) & other).sum()), int(other.sum()), 0.5))
    tests.append(("query label +1", int((pr.z > 0).sum()), pr.z.numel(), 0.5))
    tests = [t for t in tests if t[2] > 0 and 0 < t[3] < 1]
    r = DATA_FFR / max(len(tests), 1)
    worst, worst_gap, binom = None, math.inf, {}
    for name, k, trials, prob in tests:
        lo, hi = binomial_acceptance(trials, prob, r)
        gap = min(k - lo, hi - k)
        # resolution: the frequency shift detected with probability POWER (normal approximation of the interval)
        res = (float(_norm.isf(r / 2)) + float(_norm.ppf(POWER))) * math.sqrt(prob * (1 - prob) / trials)
        binom[name] = {"count": k, "trials": trials, "p": prob, "acceptance": [lo, hi], "resolution": res}
        if gap < worst_gap:
            worst, worst_gap = name, gap
    return Outcome.at_least(float(worst_gap), 0.0, details={"worst": worst}), binom, r


def _prompt_structure_parts(pr, lc, idr, idi) -> dict[str, Outcome]:
    """Labels follow f, the query's label matches its pattern, y = +-q, x = mu + kappa nu, the bases' Gram matrix."""
    ctxp, a, b = pr.pattern[..., :-1], pr.task[..., :1], pr.task[..., 1:]
    task_ctx = (ctxp == a) | (ctxp == b)
    q_pat, qa = pr.pattern[..., -1], pr.task[..., 0]
    y = pr.P[..., lc.d_X:]
    q_expected = torch.zeros_like(y)
    q_expected[..., :-1, 0] = pr.label.to(F64) * lc.q_norm
    S = idr.shape[0]
    resid = pr.P[..., : lc.d_X] - idr[torch.arange(S, device=idr.device).view(S, 1, 1), pr.pattern]  # kappa nu_k
    gram_tol = identity_tolerance(F64, lc.d_X, max(lc.beta, 1.0) ** 2)
    G = torch.cat([idr, idi], 1)
    target = torch.diag_embed(torch.cat([torch.full((lc.M1,), lc.beta ** 2, dtype=F64),
                                         torch.ones(lc.M2, dtype=F64)]).to(idr.device)).expand(S, -1, -1)
    return {
        "labels follow f on task-pattern contexts": Outcome.at_most(
            float((pr.label != torch.where(ctxp == a, 1, -1))[task_ctx].sum()), 0.0, exact=True),
        "query: pattern a or b, z = +1 iff its pattern is a": Outcome.at_most(
            float(((q_pat != qa) & (q_pat != b[..., 0])).sum() + ((pr.z > 0) != (q_pat == qa)).sum()), 0.0,
            exact=True),
        "y_i = +-q, query label block 0": Outcome.at_most(max_abs_error(y, q_expected), 0.0, exact=True),
        "x - mu_pattern = kappa nu_k, |kappa| <= K": Outcome.at_most(float(resid.norm(dim=-1).max()),
                                                                     lc.kappa_max + gram_tol),
        "x - mu_pattern in span(IDI)": Outcome.at_most(
            max_abs_error(resid @ (idi.transpose(-1, -2) @ idi).unsqueeze(1), resid), gram_tol),
        "IDR orthogonal (norm beta), IDI orthonormal, IDR perp IDI": Outcome.at_most(
            max_abs_error(G @ G.transpose(-1, -2), target), gram_tol),
    }


def _ood_parts(impl, lc, idr, idi, rot) -> dict[str, Outcome]:
    """The OOD domain against the spec's construction: ODR = K IDR with coefficient sum S1, ODI = rotated IDI."""
    od = impl.ood_domain(lc, idr, idi, rot)
    K = impl.ood_coefficients(lc, dtype=F64, device=idr.device)
    gram_tol = identity_tolerance(F64, lc.d_X, max(lc.beta, 1.0) ** 2)
    span_res = od.rel - od.rel @ idr.transpose(-1, -2) @ idr / lc.beta ** 2
    sums = K.sum(-1)
    s1 = float(sums.min() if lc.s1_definition == "min" else sums.mean())
    K_ref = torch.zeros(lc.M1_ood, lc.M1, dtype=F64, device=idr.device)  # the spec's mu'_j = (S1_j/2)(mu_2j + mu_2j+1)
    steps = [j / (lc.M1_ood - 1) - (0.5 if lc.s1_definition == "mean" else 0.0) for j in range(lc.M1_ood)]
    for j, t in enumerate(steps):
        K_ref[j, 2 * j] = K_ref[j, 2 * j + 1] = (lc.S1 + lc.s1_spread * t) / 2
    return {
        "ODR in span(IDR)": Outcome.at_most(float(span_res.abs().max()), gram_tol * max(lc.S1, 1.0)),
        "ODR coefficient sum S1": Outcome.at_most(abs(s1 - lc.S1), identity_tolerance(F64, lc.M1, lc.S1 + 1)),
        "ODR = K IDR (K of the spec)": Outcome.at_most(max_abs_error(od.rel, K_ref @ idr),
                                                       gram_tol * max(lc.S1 + lc.s1_spread, 1.0)),
        "ood_coefficients = K of the spec": Outcome.at_most(max_abs_error(K, K_ref),
                                                            identity_tolerance(F64, 2, lc.S1 + lc.s1_spread + 1)),
        "ODI = the rotation of the IDI basis": Outcome.at_most(max_abs_error(od.irr, rot @ idi), gram_tol),
    }


def _test_prompt_parts(impl, lc, dom, n: int, ctx: CheckContext) -> dict[str, Outcome]:
    """Guaranteed test prompts: their length and same-pattern count, also when l and alpha' are overridden."""
    tcfg = lc.replace(test_sampling="guaranteed")
    tp = impl.make_test_prompts(tcfg, dom, n, ctx.generator(4), dtype=F64)
    need = n_same_pattern(lc.alpha_test, lc.l_test)
    same = (tp.pattern[..., :-1] == tp.pattern[..., -1:]).sum(-1)
    # the overrides l, alpha of make_test_prompts take precedence over cfg.l_test, cfg.alpha_test
    l2, a2 = lc.l_test + 3, (0.5 if lc.alpha_test > 0.75 else 1.0)
    tp2 = impl.make_test_prompts(tcfg, dom, n, ctx.generator(5), l=l2, alpha=a2, dtype=F64)
    same2 = (tp2.pattern[..., :-1] == tp2.pattern[..., -1:]).sum(-1)
    parts = {
        "test prompts: l_ts contexts, exactly ceil(alpha' l_ts/2) with the query's pattern": Outcome.at_most(
            float((same != need).sum()) + abs(tp.P.shape[-2] - 1 - lc.l_test), 0.0, exact=True),
        "test prompts with overrides l, alpha': their length and same-pattern count": Outcome.at_most(
            float((same2 != n_same_pattern(a2, l2)).sum()) + abs(tp2.P.shape[-2] - 1 - l2), 0.0, exact=True),
    }
    if lc.test_both_patterns:
        opp_pat = torch.where(tp.z > 0, tp.task[..., 1], tp.task[..., 0]).unsqueeze(-1)
        opp = (tp.pattern[..., :-1] == opp_pat).sum(-1)
        parts["test prompts: as many opposite-pattern contexts"] = Outcome.at_least(
            float(opp.min()), min(need, lc.l_test - need), exact=True)
    return parts


def check_e_data(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    lc = impl.LiConfig.from_mapping(cfg)
    S, n, M1 = cfg["n_seeds"], cfg["n_prompts"], cfg["M1"]
    idr, idi = impl.orthonormal_patterns(lc, S, ctx.generator(1))
    tr = impl.train_tasks(M1, lc.n_task_families, device=ctx.device)
    dom = impl.Domain(idr, idi, tr)
    pr = impl.sample_prompts(lc, dom, n, ctx.generator(2), dtype=F64)
    freq, binom, r = _frequency_part(pr, lc, M1, cfg["l"])
    allt = impl.all_tasks(M1)
    pos, neg = coverage_counts(tr, M1)
    parts = {
        "pattern and label frequencies within binomial acceptance bounds": freq,
        **_prompt_structure_parts(pr, lc, idr, idi),
        "|T| = M1 (M1 - 1) distinct ordered pairs": Outcome.at_most(
            abs(len({tuple(t) for t in allt.tolist()}) - M1 * (M1 - 1)) + int((allt[:, 0] == allt[:, 1]).sum()), 0.0,
            exact=True),
        "Condition 3.2 for T_tr": Outcome.at_most(float((pos - neg).abs().max() + (pos.max() - pos.min())), 0.0,
                                                  exact=True),
        **_ood_parts(impl, lc, idr, idi, random_rotation(S, lc.M2, ctx.generator(3))),
        **_test_prompt_parts(impl, lc, dom, n, ctx),
    }
    return Outcome.all_of(parts, instances=S, details={
        "binomial tests": binom, "rate per test": r, "power": POWER,
        "resolution (largest over the tests)": max((b["resolution"] for b in binom.values()), default=None)})


register(Claim(
    id="L-E-DATA", control=Control("L-M20", {}, 0), power=POWER, paper=PAPER, reference="spec §4.1 E8 (supports L-C32, L-T33, L-T34)",
    title="Data-generator contract: pattern and label frequencies, orthogonality, tasks, Condition 3.2, OOD span",
    statement=r"\#\{\text{pattern } a\}\sim\mathrm{Bin}(N,\alpha/2),\ \#\{j\notin\{a,b\}\}\sim\mathrm{Bin}"
              r"(N_j,\tfrac{1-\alpha}{M_1-2});\ \mu_j\perp\nu_k;\ |\mathcal T|=M_1(M_1-1);\ \mu'_j\in"
              r"\mathrm{span}(\mu),\ \textstyle\sum_i k_{j,i}=S_1;\ \nu'\in\mathrm{span}(\nu)",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.STATISTICAL, cost=Cost.CHEAP, check=check_e_data,
    params=DATA_PARAMS, defaults=DATA_DEFAULTS, false_fail_rate=DATA_FFR,
    tolerance="counts: exact two-sided binomial acceptance intervals of the known law at rate 1e-6 per example split "
              "over the tests (Bonferroni); resolution at power 0.9: a frequency off by (z_{rate/2} + z_0.9) "
              "sqrt(p(1-p)/N), about 6.5 sd (0.036 at p = 0.4, N = 8000 contexts), reported per test; "
              "geometry: 8 eps(float64) x d_X x max(beta, 1)^2; structure: exact",
    notes="Not a spec id (spec E8). The distributions are the spec's reading of the slides (MED/LOW: kappa "
          "distribution, query pattern a/b with probability 1/2, both task patterns guaranteed in test prompts).",
))

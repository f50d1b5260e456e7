"""L-E-GRAD: sympy's gradients of F and of the hinge (theorems/li2024_symbolic.py) against autograd of the
implementation's forward and hinge, and against one step of its train_sgd (spec §1.2-§1.3; issue 15 item 5)."""
from __future__ import annotations

import torch

from theorems.core import CheckContext, Claim, Control, Cost, Kind, Outcome, Param, Provenance
from theorems.registry import register
from theorems.tolerances import identity_tolerance, max_abs_error

from theorems.li2024.common import F64, PAPER

NAMES = ("W_Q", "W_K", "W_V", "W_O")
GRAD_PARAMS = (
    Param("l", int, min=1, max=4, doc="context examples (symbolic size)"),
    Param("d_X", int, min=5, max=6, doc="feature dimension (M1 = 4 IDR + 1 IDI patterns need 5)"),
    Param("d_Y", int, min=1, max=2, doc="label dimension"),
    Param("m_a", int, min=1, max=6, doc="rows of W_Q, W_K (symbolic size)"),
    Param("m_b", int, min=1, max=6, doc="rows of W_V (symbolic size)"),
    Param("m", int, min=1, max=4, doc="MLP neurons (symbolic size)"),
    Param("scale", float, min=1e-2, max=3, doc="weights are N(0,1)/sqrt(fan-in) * scale"),
    Param("batch", int, min=1, max=64, doc="independent instances (seeds)"),
    Param("n_prompts", int, min=1, max=64, doc="prompts per instance (autograd part)"),
    Param("train_batch", int, min=1, max=64, doc="B of the one SGD step"),
    Param("eta_QK", float, gt=0, max=10, doc="SGD step of W_Q, W_K"),
    Param("eta_OV", float, gt=0, max=10, doc="SGD step of W_V, W_O"),
)
GRAD_DEFAULTS = {"l": 3, "d_X": 5, "d_Y": 1, "m_a": 2, "m_b": 2, "m": 3, "scale": 1.0, "batch": 4, "n_prompts": 8,
                 "train_batch": 8, "eta_QK": 0.7, "eta_OV": 0.3}


def _params(cfg: dict, ctx: CheckContext, g: torch.Generator):
    S, d, s = cfg["batch"], cfg["d_X"] + cfg["d_Y"], cfg["scale"]
    kw = dict(generator=g, dtype=F64, device=ctx.device)
    W_Q, W_K = (torch.randn(S, cfg["m_a"], d, **kw) * s / d ** 0.5 for _ in range(2))
    W_V = torch.randn(S, cfg["m_b"], d, **kw) * s / d ** 0.5
    W_O = torch.randn(S, cfg["m"], cfg["m_b"], **kw) * s / cfg["m_b"] ** 0.5
    a = torch.randn(S, cfg["m"], **kw) * s / cfg["m"] ** 0.5
    return ctx.impl.Params(W_Q, W_K, W_V, W_O, a)


def _scale(p, P: torch.Tensor) -> float:
    """The gradients' closed forms on absolute values (every attention weight <= 1, |dF/ds_i| <= 2 |c|),
    times 1 + the largest |score| (an error e in a score moves attn_i by attn_i e)."""
    W = type(p)(*(t.abs() for t in p))
    Pm = P.abs().amax(-2)  # (S, n, d): largest |token| entry per coordinate
    pq = P[..., -1, :].abs()
    r = (W.a.unsqueeze(1) @ W.W_O @ W.W_V).squeeze(1)  # (S, d): |a|^T |W_O| |W_V|
    c = (Pm * r.unsqueeze(1)).sum(-1, keepdim=True)  # (S, n, 1) >= |c_i|
    back = 2 * c * Pm  # >= |sum_i dF/ds_i p_i|
    h = Pm @ W.W_V.transpose(-1, -2)
    sizes = [(back @ W.W_K.transpose(-1, -2)).amax() * pq.amax(), (pq @ W.W_Q.transpose(-1, -2)).amax() * back.amax(),
             (W.a.unsqueeze(1) @ W.W_O).amax() * Pm.amax(), W.a.amax() * h.amax()]
    u = P[..., -1:, :] @ (p.W_Q.transpose(-1, -2) @ p.W_K).unsqueeze(1)  # p_q^T W_Q^T W_K (S, n, 1, d)
    scores = (P[..., :-1, :] @ u.transpose(-1, -2)).abs().amax()
    return float(max(sizes)) * (1 + float(scores))


def _autograd_parts(dv, cfg: dict, ctx: CheckContext, n_ops: int) -> tuple[dict, dict]:
    """sympy's dF/dW and d hinge/dW at drawn weights and prompts against autograd of ctx.impl.forward / .hinge, one
    (seed, prompt) per instance so that every prompt has its own gradient."""
    from theorems.li2024_symbolic import evaluate

    impl = ctx.impl
    S, n, l, dX, d = cfg["batch"], cfg["n_prompts"], cfg["l"], cfg["d_X"], cfg["d_X"] + cfg["d_Y"]
    g = ctx.generator()
    p = _params(cfg, ctx, g)
    P = torch.randn(S, n, l + 1, d, generator=g, dtype=F64, device=ctx.device)
    P[..., -1, dX:] = 0.0  # the query's label block is 0
    z = torch.where(torch.rand(S, n, generator=g, device=ctx.device) < 0.5, 1.0, -1.0).to(F64)
    rep = [t.repeat_interleave(n, 0).clone().requires_grad_(True) for t in p[:4]]
    a_rep, P1 = p.a.repeat_interleave(n, 0), P.reshape(S * n, 1, l + 1, d)
    auto_F = torch.autograd.grad(impl.forward(impl.Params(*rep, a_rep), P1).F.sum(), rep)
    Fi = impl.forward(impl.Params(*rep, a_rep), P1).F
    auto_l = torch.autograd.grad(impl.hinge(Fi, z.reshape(S * n, 1)).sum(), rep)
    F_sym, dF, dl = evaluate(dv, *p, P, z)
    tol = identity_tolerance(F64, n_ops, _scale(p, P))
    parts = {}
    for name, ga, gl in zip(NAMES, auto_F, auto_l):
        shp = dF[name].shape
        parts[f"dF/d{name}: sympy = autograd"] = Outcome.at_most(max_abs_error(dF[name], ga.reshape(shp)), tol)
        parts[f"d hinge/d{name}: sympy = autograd"] = Outcome.at_most(max_abs_error(dl[name], gl.reshape(shp)), tol)
    # the fraction of prompts where the hinge's subgradient is not 0 (at 0 the hinge part would be vacuous)
    return parts, {"tolerance": tol, "prompts with active hinge": float(((z * F_sym) < 1).to(F64).mean())}


def _training_parts(dv, cfg: dict, ctx: CheckContext, n_ops: int) -> tuple[dict, dict]:
    """One step of ctx.impl.train_sgd against W_1 = W_0 - eta_W mean_batch d ell/dW (sympy's), on the batch
    train_sgd draws first from its generator (replayed from the generator's state); a stays fixed."""
    from theorems.li2024_symbolic import evaluate

    impl, S = ctx.impl, cfg["batch"]
    lc = impl.LiConfig.from_mapping({
        "d_X": cfg["d_X"], "d_Y": cfg["d_Y"], "M1": 4, "M2": 1, "M1_ood": 2, "l": cfg["l"], "m": cfg["m"],
        "steps": 1, "batch": cfg["train_batch"], "eta_QK": cfg["eta_QK"], "eta_OV": cfg["eta_OV"], "train_WV": True})
    p0 = _params(cfg, ctx, ctx.generator(1))
    idr, idi = impl.orthonormal_patterns(lc, S, ctx.generator(2))
    dom = impl.Domain(idr, idi, impl.train_tasks(lc.M1, lc.n_task_families, device=ctx.device))
    gen = ctx.generator(3)
    state = gen.get_state()
    res = impl.train_sgd(lc, p0, dom, gen)
    replay = torch.Generator(device=ctx.device)
    replay.set_state(state)
    batch = impl.sample_prompts(lc, dom, lc.batch, replay, dtype=F64)
    _, _, dl = evaluate(dv, *p0, batch.P, batch.z)
    etas = {"W_Q": lc.eta_QK, "W_K": lc.eta_QK, "W_V": lc.eta_OV, "W_O": lc.eta_OV}
    tol = identity_tolerance(F64, n_ops + lc.batch, _scale(p0, batch.P) * max(etas.values()) + 1.0)
    parts = {f"train_sgd step: {name} - eta mean d hinge/d{name}": Outcome.at_most(
        max_abs_error(res.params[i], p0[i] - etas[name] * dl[name].mean(1)), tol) for i, name in enumerate(NAMES)}
    parts["train_sgd step: a fixed (bitwise)"] = Outcome.at_least(float(torch.equal(res.params.a, p0.a)), 0.5)
    return parts, {"tolerance (training step)": tol}


def check_e_grad(cfg: dict, ctx: CheckContext) -> Outcome:
    from theorems.li2024_symbolic import model_gradients

    dv = model_gradients(cfg["l"], cfg["d_X"] + cfg["d_Y"], cfg["m_a"], cfg["m_b"], cfg["m"])
    n_ops = cfg["d_X"] + cfg["d_Y"] + cfg["m_a"] + cfg["m_b"] + cfg["m"] + cfg["l"]
    parts = {"sympy's derivations match their closed forms (exact, 2 random rational points)": Outcome.at_least(
        float(all(dv.closes.values())), 0.5, details={"rules": {k: bool(v) for k, v in dv.closes.items()}})}
    auto, auto_details = _autograd_parts(dv, cfg, ctx, n_ops)
    train, train_details = _training_parts(dv, cfg, ctx, n_ops)
    return Outcome.all_of(parts | auto | train, instances=cfg["batch"], details={
        **auto_details, **train_details, "symbolic sizes": dv.sizes, "rules": dv.rules,
        "derivation seconds (once per process)": dv.seconds})


register(Claim(
    id="L-E-GRAD", control=Control("L-M05", {}, 0), paper=PAPER,
    reference="spec §1.2-§1.3 (model, hinge, SGD; supports L-P41, L-P42, the training dynamics)",
    title="sympy's gradients of F (through the softmax Jacobian) and of the hinge equal autograd and one SGD step",
    statement=r"\partial_{W_O}F=(a\odot g)h^\top,\ \partial_{W_V}F=W_O^\top(a\odot g)\bar p^\top,\ "
              r"\partial_{s_i}F=\mathrm{attn}_i(c_i-\textstyle\sum_j\mathrm{attn}_jc_j),\ "
              r"\partial_{W_Q}F=W_K\textstyle\sum_i\partial_{s_i}F\,p_ip_q^\top,\ "
              r"\partial_W\ell=-z\mathbb 1\{zF<1\}\partial_WF,\ W^+=W-\eta_W\overline{\partial_W\ell}",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.IDENTITY, cost=Cost.CHEAP, check=check_e_grad,
    params=GRAD_PARAMS, defaults=GRAD_DEFAULTS,
    tolerance="8 eps(float64) x (d + m_a + m_b + m + l) x (the gradients' closed forms on absolute values) x "
              "(1 + largest |score|); training step: the same with + B, times max eta, + 1; a: bitwise",
    notes="Not a spec id (issue 15 item 5). sympy differentiates F(s) (scores as symbols: the softmax Jacobian), "
          "the bilinear scores and the hinge, composes them by the chain rule, checks each against its closed form "
          "exactly (rational arithmetic at random points) and is evaluated (lambdified) at drawn weights and "
          "prompts. ReLU and hinge use autograd's subgradient convention (0 at the kink; measure zero here). The "
          "training-step part replays the batch train_sgd draws first from its generator (the reference's order).",
))

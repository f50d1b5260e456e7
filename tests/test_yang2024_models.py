"""Fast tests of models/yang2024.py: the two forms of eq. 8 agree, shapes, gradients, GD, validation errors."""
from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models import yang2024 as m
from models.validation import ConfigError
from theorems import get_claim
from theorems import impl as impls
from theorems import yang2024 as Y
from theorems.registry import PAPERS, all_claims
from theorems.tolerances import identity_tolerance
from theorems.yang2024_symbolic import _closes

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def setup(B=3, d=5, K=10, N=4, dm=3, tau=0.2, H=5, seed=0, w_scale=0.5):
    g = gen(seed)
    inst = m.make_instance(B, d, K, N, dm, tau, g)
    Q, w = m.init_params(inst, H, 1.0, g)
    return inst, Q, w_scale * torch.randn(w.shape, generator=g, dtype=F64), g


@settings(max_examples=20, deadline=None, derandomize=True)
@given(d=st.integers(1, 8), N=st.integers(1, 6), extra=st.integers(1, 8), dm=st.integers(1, 6), H=st.integers(1, 8),
       tau=st.floats(1e-3, 1.0), seed=st.integers(0, 2**31 - 1))
def test_block_matrix_and_einsum_forms_agree(d, N, extra, dm, H, tau, seed):
    inst, Q, w, g = setup(B=2, d=d, K=N + extra, N=N, dm=dm, tau=tau, H=H, seed=seed)
    y = torch.randn(2, N, generator=g, dtype=F64)
    fast = m.predict(Q, w, inst, y.unsqueeze(1))[:, 0]
    block = m.predict_block(Q, w, inst, y)
    scale = float((w.abs().sum(1).amax() * y.abs().amax()).clamp(min=1.0))
    assert fast.shape == block.shape == (2, N + extra)
    assert (fast - block).abs().max() <= identity_tolerance(F64, N + H + d, scale)


def test_shapes_and_target_structure():
    inst, Q, w, g = setup()
    B, d, K, N, dm, H = 3, 5, 10, 4, 3, 5
    S = m.softmax_maps(Q, inst)
    assert S.shape == (B, N, H, K) and torch.allclose(S.sum(1), torch.ones(B, H, K, dtype=F64))
    assert m.ahat(w, S).shape == (B, N, K) and m.C_matrices(S).shape == (B, K, N, H)
    assert inst.A.shape == (B, N, K) and torch.allclose(inst.A[..., :N], torch.eye(N, dtype=F64).expand(B, N, N))
    assert inst.G.shape == (B, N, N) and torch.allclose(inst.Zbar @ inst.Zbar, inst.G)
    assert m.loss_closed(Q, w, inst).shape == (B,) and inst.L_star.shape == (B,)
    lam = m.sample_tasks("ood", B, 7, dm, g)
    y = m.labels(inst, lam, g)
    assert y.shape == (B, 7, K)
    assert m.ridge_predictor(inst, y[..., :N]).shape == (B, 7, K)
    assert m.oracle_predictor(inst, y[..., :N]).shape == (B, 7, K)
    assert torch.equal(m.ridge_predictor(inst, y[..., :N])[..., :N], y[..., :N])


def test_gradients_analytic_fused_and_autograd_agree():
    inst, Q, w, _ = setup()
    aQ, aw = m.grad_autograd(Q, w, inst)
    dQ, dw, delta = m.grad_analytic(Q, w, inst)
    S, dQp, dw2, delta2 = m._GDStep(inst, Q.shape[1])(Q.transpose(1, 2).contiguous(), w)
    for a, b in ((aQ, dQ), (aw, dw), (aQ, dQp.transpose(1, 2)), (aw, dw2), (delta, delta2)):
        assert (a - b).abs().max() <= 1e-12 * (1 + a.abs().max())
    assert torch.allclose(delta, m.loss_closed(Q, w, inst) - inst.L_star, rtol=1e-10, atol=1e-12)


def test_gd_leaves_inputs_alone_and_is_deterministic():
    inst, Q, w, _ = setup(H=1)  # H = 1: transposes of size-1 dims are views, the case that once aliased Q0
    Q0, w0 = Q.clone(), w.clone()
    st_ = m.step_sizes(inst, 1, 1.0, 3.0)
    a = m.gd(inst, Q, w, st_.eta_Q, st_.eta_w, 20)
    b = m.gd(inst, Q, w, st_.eta_Q, st_.eta_w, 20)
    assert torch.equal(Q, Q0) and torch.equal(w, w0)
    assert torch.equal(a.delta, b.delta) and torch.equal(a.Q, b.Q)


def test_batched_gd_equals_per_instance_runs_and_autograd_gd():
    inst, Q, _, _ = setup(B=3, H=6)
    w0 = torch.zeros(3, 6, inst.K, dtype=F64)
    st_ = m.step_sizes(inst, 6, 1.0, 3.0)
    batched = m.gd(inst, Q, w0, st_.eta_Q, st_.eta_w, 30, record_zeta=True)
    auto = m.gd(inst, Q, w0, st_.eta_Q, st_.eta_w, 30, grad="autograd")
    assert (batched.delta - auto.delta).abs().max() <= 1e-12 * batched.delta.max()
    for b in range(3):
        one = m.Instance(inst.V[b:b + 1], inst.Zt[b:b + 1], inst.N, inst.tau)
        single = m.gd(one, Q[b:b + 1], w0[b:b + 1], st_.eta_Q[b:b + 1], st_.eta_w[b:b + 1], 30)
        assert (single.delta[0] - batched.delta[b]).abs().max() <= 1e-12 * batched.delta[b, 0]
    assert batched.zeta.shape == batched.L_w.shape == (3, 31) and (batched.zeta > 0).all()
    assert (batched.zeta <= batched.L_w).all()


def test_head_mask_equals_fewer_heads():
    inst, Q, _, _ = setup(B=2, H=7)
    w0 = torch.zeros(2, 7, inst.K, dtype=F64)
    eta = torch.full((2,), 0.01, dtype=F64)
    mask = torch.tensor([[1] * 4 + [0] * 3] * 2)
    masked = m.gd(inst, Q * mask.view(2, 7, 1, 1), w0, eta, eta * 9, 15, head_mask=mask)
    small = m.gd(inst, Q[:, :4], w0[:, :4], eta, eta * 9, 15)
    assert (masked.delta - small.delta).abs().max() <= 1e-12 * small.delta.max()


def test_step_rule_bounds_the_w_smoothness():
    inst, Q, _, _ = setup(H=8)
    S = m.softmax_maps(Q, inst)
    st_ = m.step_sizes(inst, 8, 1.0, 3.0)
    assert (st_.eta_w * m.L_w(S, inst) <= 1 + 1e-12).all()
    assert torch.allclose(st_.eta_w, 9 * st_.eta_Q)
    assert (m.kappa0(S, inst) >= 1).all() and (m.zeta(S, inst) > 0).all()


def test_one_head_bound_and_assumption3_gap():
    inst, _, _, _ = setup(B=2, H=1)
    assert (m.one_head_lower_bound(inst) >= 0).all()
    assert (m.distinct_coordinate_gap(inst) > 0).all()


def test_trained_checkpoints_are_route_independent():
    """T2 may continue T1's cached run: the result at T steps must equal a direct run, bit for bit."""
    cfg = get_claim("Y-T1").config({"max_efold": 400.0, "instance_seed": 1, "batch": 2, "N": 2, "K": 4})
    ref = impls.reference("yang2024")
    Y._TRAINED.clear()
    tr, short = Y.trained(ref, cfg, torch.device("cpu"), 40, record_zeta=True)
    _, extended = Y.trained(ref, cfg, torch.device("cpu"), 90, record_zeta=False)
    direct = m.gd(tr.inst, tr.Q0, tr.w0, tr.eta_Q, tr.eta_w, 90, record_zeta=True)
    assert torch.equal(extended.delta[:, :41], short.delta) and torch.equal(short.zeta, direct.zeta[:, :41])
    assert torch.equal(extended.delta, direct.delta) and torch.equal(extended.Q, direct.Q)
    Y._TRAINED.clear()
    _, fresh = Y.trained(ref, cfg, torch.device("cpu"), 90, record_zeta=False)  # the other route to step 90
    assert torch.equal(fresh.Q, extended.Q) and torch.equal(fresh.w, extended.w)
    Y._TRAINED.clear()


def test_trained_cache_is_per_implementation():
    """A mutant never reuses the reference's cached GD run (the cache key holds Impl.key)."""
    import mutants

    cfg = get_claim("Y-T1").config({"max_efold": 400.0, "instance_seed": 1, "batch": 2, "N": 2, "K": 4})
    Y._TRAINED.clear()
    _, a = Y.trained(impls.reference("yang2024"), cfg, torch.device("cpu"), 30, record_zeta=False)
    _, b = Y.trained(mutants.get("Y-M21").impl(), cfg, torch.device("cpu"), 30, record_zeta=False)
    assert len(Y._TRAINED) == 2 and torch.equal(b.Q, b.Q) and not torch.equal(a.Q, b.Q)
    Y._TRAINED.clear()


def test_experiment_models_run():
    g = gen(1)
    inst = m.make_instance(2, 4, 7, 3, 2, 0.1, g)
    y = torch.randn(2, 5, 3, generator=g, dtype=F64)
    for model in (m.OneLayerAttention(inst, 3, 1.0, g), m.FourLayerTransformer(inst, 8, 2, 16, 2, g)):
        assert model(y).shape == (2, 5, 7)
        loss = m.inference_loss(model, inst, y)
        assert loss.shape == (2,) and bool(torch.isfinite(loss).all())


def test_four_layer_model_is_torch_encoder_per_instance():
    """Each instance's copy computes what nn.TransformerEncoder (post-LN, ReLU, no dropout) computes with its weights:
    float64, agreement to round-off (32 eps x the depth's operation count)."""
    g = gen(2)
    inst = m.make_instance(2, 4, 7, 3, 2, 0.1, g)
    D, H, F, layers = 8, 2, 16, 2
    model = m.FourLayerTransformer(inst, D, H, F, layers, g, dtype=F64)
    y = torch.randn(2, 5, 3, generator=g, dtype=F64)
    out = model(y)
    for b in range(2):
        p = {k: v[b] for k, v in model.p.items()}
        embed, readout = torch.nn.Linear(inst.d + 2, D).double(), torch.nn.Linear(D, 1).double()
        layer = torch.nn.TransformerEncoderLayer(D, H, F, dropout=0.0, batch_first=True).double()
        enc = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False).double()
        with torch.no_grad():
            embed.weight.copy_(p["embed_w"]), embed.bias.copy_(p["embed_b"])
            readout.weight.copy_(p["readout_w"]), readout.bias.copy_(p["readout_b"])
            for i, lay in enumerate(enc.layers):
                for mod, name in ((lay.self_attn, "qkv"), (lay.self_attn.out_proj, "out"), (lay.linear1, "ff1"),
                                  (lay.linear2, "ff2")):
                    w, bias = ("in_proj_weight", "in_proj_bias") if name == "qkv" else ("weight", "bias")
                    getattr(mod, w).copy_(p[f"{i}_{name}_w"]), getattr(mod, bias).copy_(p[f"{i}_{name}_b"])
                for norm, name in ((lay.norm1, "norm1"), (lay.norm2, "norm2")):
                    norm.weight.copy_(p[f"{i}_{name}_g"]), norm.bias.copy_(p[f"{i}_{name}_b"])
            V, N = inst.V[b], inst.N
            cols_P = torch.cat([V[:, :N].T.expand(5, N, -1), y[b].unsqueeze(-1), torch.ones(5, N, 1, dtype=F64)], -1)
            cols_Q = torch.cat([V.T.expand(5, inst.K, -1), torch.zeros(5, inst.K, 2, dtype=F64)], -1)
            ref = readout(enc(embed(torch.cat([cols_P, cols_Q], 1)))[:, N:]).squeeze(-1)
        tol = 32 * torch.finfo(F64).eps * layers * (D * F) * max(1.0, float(ref.abs().max()))
        assert float((out[b] - ref).detach().abs().max()) <= tol


def test_batched_adam_training_keeps_instances_independent():
    """Adam is elementwise: training two instances together leaves instance 0 where training it alone does (the
    same minibatches; up to the round-off of batched against single products)."""
    g = gen(3)
    both = m.make_instance(2, 4, 7, 3, 2, 0.1, g)
    alone = m.Instance(both.V[:1], both.Zt[:1], both.N, both.tau)
    model2 = m.FourLayerTransformer(both, 8, 2, 16, 1, gen(4), dtype=F64)
    model1 = m.FourLayerTransformer(alone, 8, 2, 16, 1, gen(4), dtype=F64)
    with torch.no_grad():
        for k in model1.p:
            model1.p[k].copy_(model2.p[k][:1])
    y = m.labels(both, torch.randn(2, 16, 2, generator=g, dtype=F64), g)
    for model, rows in ((model2, [0, 1]), (model1, [0])):
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(3):
            (0.5 * ((model(y[rows, :, :3]) - y[rows]) ** 2).sum(-1).mean(-1)).sum().backward()
            opt.step()
            opt.zero_grad()
    diff = max(float((model1.p[k][0] - model2.p[k][0]).detach().abs().max()) for k in model1.p)
    # Adam divides by sqrt(v) + 1e-8, so a round-off d in a tiny gradient moves a step by up to lr d / 1e-8: allow
    # 3 steps x lr x (1000 eps) / 1e-8 ~ 7e-7 (observed 2e-11); a leak between instances would move it by O(lr) = 1e-2
    assert diff <= 3 * 1e-2 * 1000 * torch.finfo(F64).eps / 1e-8, diff


def test_laurent_massart_bound():
    assert Y.laurent_massart(4, math.exp(-1)) == pytest.approx(4 + 2 * 2 + 2)


def test_sympy_zero_test_rejects_a_wrong_formula():
    x0, x1 = sp.symbols("x0 x1", real=True)
    s0 = sp.exp(x0) / (sp.exp(x0) + sp.exp(x1))
    s1 = sp.exp(x1) / (sp.exp(x0) + sp.exp(x1))
    assert _closes(sp.diff(s0, x1) - s0 * (0 - s1))[0]
    assert not _closes(sp.diff(s0, x1) + s0 * (0 - s1))[0]  # the wrong-sign Jacobian


def test_every_spec_id_is_encoded():
    ids = {c.id for c in all_claims("yang2024")}
    assert set(PAPERS["yang2024"]["spec_ids"]) <= ids
    assert "Y-MH" in ids


@pytest.mark.parametrize("call, parameter", [
    (lambda: m.make_instance(2, 0, 5, 2, 2, 0.1, gen()), "d"),
    (lambda: m.make_instance(2, 3, 5, 5, 2, 0.1, gen()), "N"),
    (lambda: m.make_instance(2, 3, 5, 2, -1, 0.1, gen()), "m"),
    (lambda: m.make_instance(2, 3, 5, 2, 2, 0.0, gen()), "tau"),
    (lambda: m.make_instance(2, 3, 5, 2, 2, float("nan"), gen()), "tau"),
    (lambda: m.make_instance(0, 3, 5, 2, 2, 0.1, gen()), "batch"),
    (lambda: m.Instance(torch.full((1, 2, 4), float("nan"), dtype=F64), torch.ones(1, 2, 4, dtype=F64), 2, 0.1),
     "V"),
    (lambda: m.Instance(torch.ones(1, 2, 4, dtype=F64), torch.ones(1, 2, 5, dtype=F64), 2, 0.1), "Zt"),
    (lambda: m.predict(torch.zeros(2, 3, 4, 4, dtype=F64), torch.zeros(2, 3, 10, dtype=F64),
                       m.make_instance(2, 5, 10, 4, 3, 0.1, gen()), torch.zeros(2, 1, 4, dtype=F64)), "Q"),
    (lambda: m.predict(torch.zeros(2, 3, 5, 5, dtype=F64), torch.zeros(2, 2, 10, dtype=F64),
                       m.make_instance(2, 5, 10, 4, 3, 0.1, gen()), torch.zeros(2, 1, 4, dtype=F64)), "w"),
    (lambda: m.predict(torch.zeros(2, 3, 5, 5, dtype=F64), torch.zeros(2, 3, 10, dtype=F64),
                       m.make_instance(2, 5, 10, 4, 3, 0.1, gen()), torch.zeros(2, 1, 3, dtype=F64)), "y"),
    (lambda: m.sample_tasks("cauchy", 1, 2, 2, gen()), "law"),
    (lambda: m.init_params(m.make_instance(1, 3, 5, 2, 2, 0.1, gen()), 2, -1.0, gen()), "beta"),
    (lambda: m.FourLayerTransformer(m.make_instance(1, 3, 5, 2, 2, 0.1, gen()), 10, 3, 8, 1, gen()), "nhead"),
    (lambda: Y._heads("1,x"), "heads"),
])
def test_bad_input_is_one_config_error(call, parameter):
    with pytest.raises(ConfigError) as e:
        call()
    assert e.value.parameter == parameter


def test_claim_configs_reject_bad_values():
    from theorems import run_claim

    with pytest.raises(ConfigError, match="'tau'"):
        run_claim(get_claim("Y-L5"), {"tau": -1.0}, seed=0)
    with pytest.raises(ConfigError, match="'N'"):
        run_claim(get_claim("Y-A3"), {"N": 10, "K": 10}, seed=0)


def test_same_seed_reproduces_evidence():
    from theorems import run_claim

    a = run_claim(get_claim("Y-L7"), {}, seed=5).to_json()
    b = run_claim(get_claim("Y-L7"), {}, seed=5).to_json()
    for ev in (a, b):
        ev.pop("seconds")
    assert a == b


@pytest.mark.parametrize("which", ["one-layer", "four-layer"])
def test_adam_trains_the_instances_of_a_batch_independently(which):
    """Y-F2 and Y-F5 take the instances of one vectorised Adam run as independent replicates (the unit of
    replication of their decisions). Changing instance 1's training tasks must leave instances 0 and 2 bit-for-bit
    unchanged: no gradient, loss or Adam statistic mixes instances (the random draws have the same shapes, so the
    shared generator gives every instance the same stream in both runs)."""
    def run(lam_train):
        inst = m.make_instance(3, 4, 7, 3, 2, 0.1, gen(0))
        model = (m.OneLayerAttention(inst, 3, 1.0, gen(1)) if which == "one-layer"
                 else m.FourLayerTransformer(inst, 8, 2, 16, 2, gen(1)))
        return m.train_adam(model, inst, lam_train, 5, 1e-2, 4, gen(2))

    lam = m.sample_tasks("gaussian", 3, 16, 2, gen(3))
    other = lam.clone()
    other[1] = 3.0 * m.sample_tasks("gaussian", 1, 16, 2, gen(4))[0]
    a, b = run(lam), run(other)
    assert torch.equal(a[[0, 2]], b[[0, 2]])
    assert not torch.equal(a[1], b[1])

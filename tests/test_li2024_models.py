"""Fast tests of the li2024 models: shapes, invalid input (one ConfigError naming the parameter), the generators,
pruning helpers, 2-means, reproducibility, the baselines and the deeper model."""
from __future__ import annotations

import math

import pytest
import torch

from models import li2024 as m
from models import li2024_baselines as bl
from theorems import ConfigError, get_claim, run_claim
from theorems import li2024 as L

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: a second intra-op thread only adds synchronisation (as in theorems/li2024.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def small_world(seed: int = 0, **kw):
    cfg = m.LiConfig(**({"steps": 20} | kw))
    idr, idi = m.orthonormal_patterns(cfg, 2, gen(seed))
    return cfg, m.Domain(idr, idi, m.train_tasks(cfg.M1, cfg.n_task_families))


# ---------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw, parameter", [
    ({"M1": 2}, "M1"), ({"M2": 30}, "M2"), ({"alpha": 0.0}, "alpha"), ({"alpha_test": 1.5}, "alpha_test"),
    ({"kappa_dist": "normal"}, "kappa_dist"), ({"kappa_max": -0.1}, "kappa_max"), ({"delta": 0.0}, "delta"),
    ({"beta": float("nan")}, "beta"), ({"m": 0}, "m"), ({"M1_ood": 4}, "M1_ood"), ({"n_task_families": 6}, "n_task_families"),
    ({"prune_norm": "L1"}, "prune_norm"), ({"steps": -1}, "steps"), ({"d_Y": 0}, "d_Y"),
])
def test_invalid_li_config_names_the_parameter(kw, parameter):
    with pytest.raises(ConfigError) as e:
        m.LiConfig(**kw)
    assert e.value.parameter == parameter


@pytest.mark.parametrize("claim_id, overrides, parameter", [
    ("L-T33", {"alpha": 0.0}, "alpha"), ("L-T33", {"n_seeds": 2}, "n_seeds"), ("L-T33", {"M2": 30}, "M2"),
    ("L-T37", {"prune_norm": "bogus"}, "prune_norm"), ("L-E-ATTN", {"l": 0}, "l"), ("L-E-HOMOG", {"c": 0.0}, "c"),
    ("L-E-DATA", {"M1_ood": 4}, "M1_ood"), ("L-C32", {"M1": 4, "n_task_families": 4}, "n_task_families"),
    ("L-F-S1", {"size": "huge"}, "size"), ("L-T34", {"S1": float("nan")}, "S1"),
])
def test_invalid_claim_config_is_one_config_error(claim_id, overrides, parameter):
    with pytest.raises(ConfigError, match=f"'{parameter}'"):
        run_claim(get_claim(claim_id), overrides, seed=0)


def test_forward_rejects_bad_shapes_and_nan():
    cfg, dom = small_world()
    p = m.init_params(cfg, 2, gen())
    pr = m.sample_prompts(cfg, dom, 3, gen())
    with pytest.raises(ConfigError, match="'W_K'"):
        m.forward(p._replace(W_K=p.W_K[:, :, :-1]), pr.P, validate=True)
    with pytest.raises(ConfigError, match="'a'"):
        m.forward(p._replace(a=p.a[:, :-1]), pr.P, validate=True)
    bad = pr.P.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ConfigError, match="'P'"):
        m.forward(p, bad, validate=True)
    with pytest.raises(ConfigError, match="'method'"):
        m.pruning_indices(p, 0.5, "smallest")
    with pytest.raises(ConfigError, match="'gen'"):
        m.pruning_indices(p, 0.5, "random")


# ---------------------------------------------------------------------------------------------------- generators
def test_prompt_shapes_labels_and_query_block():
    cfg, dom = small_world()
    pr = m.sample_prompts(cfg, dom, 5, gen(), dtype=F64)
    assert pr.P.shape == (2, 5, cfg.l + 1, cfg.d) and pr.z.shape == (2, 5) and pr.label.shape == (2, 5, cfg.l)
    assert torch.all(pr.P[..., -1, cfg.d_X:] == 0)
    q_pat = torch.where(pr.z > 0, pr.task[..., 0], pr.task[..., 1])
    assert torch.equal(pr.pattern[..., -1], q_pat)
    shuffled = m.sample_prompts(cfg, dom, 5, gen(), labels="shuffled")
    assert shuffled.P.shape == pr.P.shape


def test_guaranteed_test_prompts_count_patterns():
    cfg, dom = small_world()
    pr = m.make_test_prompts(cfg, m.Domain(dom.rel, dom.irr, m.all_tasks(cfg.M1)), 50, gen(), dtype=F64)
    need = m.n_same_pattern(cfg.alpha_test, cfg.l_test)
    assert need == 8
    assert torch.all((pr.pattern[..., :-1] == pr.pattern[..., -1:]).sum(-1) == need)


def test_task_sets_and_condition_32():
    for M1 in range(3, 9):
        for n in range(1, M1):
            tr = m.train_tasks(M1, n)
            pos, neg = m.coverage_counts(tr, M1)
            assert torch.equal(pos, neg) and torch.all(pos == n)
            held = m.heldout_tasks(M1, tr)
            assert len(tr) + len(held) == M1 * (M1 - 1)
    pos, neg = m.coverage_counts(m.train_tasks(6, 1, "lexicographic"), 6)
    assert not torch.equal(pos, neg)


def test_ood_patterns_have_coefficient_sum_s1():
    cfg = m.LiConfig(s1_spread=0.4, s1_definition="mean", S1=1.2)
    sums = m.ood_coefficients(cfg).sum(-1)
    assert sums.mean().item() == pytest.approx(1.2) and sums.max() - sums.min() == pytest.approx(0.4)
    assert min(m.ood_coefficient_sums(cfg.replace(s1_definition="min"))) == pytest.approx(1.2)


# ---------------------------------------------------------------------------------------------------- model pieces
def test_pruning_helpers_and_two_means():
    x = torch.tensor([[1.0, 0.1, 1.1, 0.12, 0.9, 1.0]])
    low, lo, hi = m.two_means_1d(x)
    assert low.tolist() == [[False, True, False, True, False, False]]
    assert lo.item() == pytest.approx(0.11) and hi.item() == pytest.approx(1.0)
    cfg, dom = small_world(m=6)
    p = m.init_params(cfg, 2, gen())
    idx = m.pruning_indices(p, 0.5, "magnitude")
    norms = m.neuron_norms(p)
    assert torch.all(norms.gather(1, idx).max(-1).values <= norms.max(-1).values)
    assert m.keep_mask(2, 6, idx).sum().item() == 2 * 3
    assert m.delete_neurons(p, idx).W_O.shape == (2, 3, cfg.d)


def test_training_learns_and_is_reproducible():
    cfg, dom = small_world(steps=60)
    runs = [m.train_sgd(cfg, m.init_params(cfg, 2, gen(1)), dom, gen(2)) for _ in range(2)]
    assert torch.equal(runs[0].params.W_O, runs[1].params.W_O)
    assert runs[0].loss[:, -10:].mean() < runs[0].loss[:, :5].mean()
    assert torch.equal(runs[0].params.a, runs[0].init.a)  # a is fixed
    assert m.steps_to_reach(torch.tensor([[1.0, 1.0, 0.05, 0.05]]), 0.1, 2).tolist() == [4.0]
    assert m.steps_to_reach(torch.ones(1, 3), 0.1, 2).tolist() == [math.inf]


def test_trained_world_is_shared_between_claims():
    cfg = get_claim("L-T33").config({"steps": 5, "n_test": 100})
    from theorems.impl import reference

    ctx = L.CheckContext(torch.device("cpu"), 0, impl=reference("li2024"))
    assert L.world(cfg, ctx) is L.world(cfg | {"S1": 1.3, "alpha_test": 0.6}, ctx)  # evaluation-only fields
    assert L.world(cfg, ctx) is not L.world(cfg | {"alpha": 0.6}, ctx)
    # a mutant never reuses the reference's training
    import mutants

    mctx = L.CheckContext(torch.device("cpu"), 0, impl=mutants.get("L-M31").impl())
    assert L.world(cfg, mctx) is not L.world(cfg, ctx)


# ---------------------------------------------------------------------------------------------------- baselines
def test_baselines_separate_separable_contexts():
    g = gen(3)
    B, l, d = 40, 12, 5
    w = torch.randn(B, d, generator=g, dtype=F64)
    X = torch.randn(B, l, d, generator=g, dtype=F64)
    y = torch.sign((X * w.unsqueeze(1)).sum(-1))
    y = torch.where(y == 0, 1.0, y)
    for name in ("logistic regression", "linear SVM", "RBF SVM", "1-NN"):
        fn = bl.BASELINES[name]
        train_acc = torch.stack([(fn(X, y, X[:, i]) == y[:, i]).double() for i in range(l)]).mean()
        assert train_acc >= (1.0 if name == "1-NN" else 0.95), name  # regularised (C = 1) fits need not separate
    xq = torch.randn(B, d, generator=g, dtype=F64)
    got = bl.knn_predict(X, y, xq, 3)
    for b in range(B):  # brute-force majority of the three nearest
        near = sorted(range(l), key=lambda i: float(((X[b, i] - xq[b]) ** 2).sum()))[:3]
        assert got[b].item() == (1.0 if sum(y[b, i].item() for i in near) >= 0 else -1.0)


def test_baseline_errors_from_prompts():
    cfg, dom = small_world()
    pr = m.make_test_prompts(cfg, m.Domain(dom.rel, dom.irr, m.all_tasks(cfg.M1)), 30, gen(), dtype=F64)
    errs = bl.baseline_errors(pr.P, pr.z, cfg.d_X)
    assert set(errs) == set(bl.BASELINES) and errs["1-NN"] == 0.0  # a same-pattern context is nearest


# ---------------------------------------------------------------------------------------------------- deeper model
def test_gpt_forward_shapes_attention_and_causality():
    cfg, dom = small_world()
    g = m.GPTConfig(n_embd=8, steps=2, batch=4)
    w = m.gpt_init(g, cfg.d, 2, gen())
    pr = m.sample_prompts(cfg, dom, 3, gen())
    F, attns = m.gpt_forward(g, w, pr.P)
    assert F.shape == (2, 3) and len(attns) == 3 and attns[0].shape == (2, 3, 2, cfg.l + 1, cfg.l + 1)
    assert torch.allclose(attns[0].sum(-1), torch.ones(()), atol=1e-5)
    assert torch.all(attns[1].triu(1) == 0)  # causal
    w2, loss = m.train_gpt(g, cfg, w, dom, gen(1))
    assert loss.shape == (2, 2) and not torch.equal(w2["w_out"], w["w_out"])
    with pytest.raises(ConfigError, match="'n_embd'"):
        m.GPTConfig(n_embd=7, n_head=2)

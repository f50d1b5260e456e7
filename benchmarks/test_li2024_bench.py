"""Benchmarks of li2024: one SGD forward+backward step and one full training run of the default (calibrated)
configuration (d_X = 30, M1 = 6, M2 = 24, m = 64, l = 20, B = 64, 1000 steps, 3 seeds in one batched pass).

``extra_info`` records the analytically counted FLOPs, the achieved FLOP/s and its ratio to a float32 matrix-product
rate measured in the same run (benchmarks/flops.py; training runs in float32). Only matrix products (2mnk) are
counted; the backward pass is counted as twice the forward. Prompt sampling is not counted but is timed: at this
size the run is overhead-bound, not FLOP-bound, and the ratio says so. On CPU the cases run with one intra-op thread,
as the claims do (theorems/li2024.py: ``single_thread``).

Run: ``pytest benchmarks/test_li2024_bench.py --benchmark-only`` (not under xdist).
"""
from __future__ import annotations

import pytest
import torch

from benchmarks.flops import matmul_rate, record_rate
from models import li2024 as m

F32 = torch.float32
SEEDS = 3


def forward_flops(cfg: m.LiConfig, prompts: int, l: int) -> float:
    """Per prompt: W_Q p_q, W_K^T(.), scores, pooled context, W_V, W_O, a^T: matrix products only."""
    d, m_a, m_b = cfg.d, cfg.d, cfg.d
    return float(prompts * (2 * d * m_a + 2 * m_a * d + 2 * l * d + 2 * l * d + 2 * m_b * d + 2 * cfg.m * m_b
                            + 2 * cfg.m))


def step_flops(cfg: m.LiConfig) -> float:
    return 3.0 * forward_flops(cfg, SEEDS * cfg.batch, cfg.l)


@pytest.fixture(scope="module")
def reference_rate(bench_device) -> float:
    return matmul_rate(F32, bench_device, n=512 if bench_device.type == "cpu" else 4096)


@pytest.fixture()
def one_thread(bench_device):
    before = torch.get_num_threads()
    if bench_device.type == "cpu":
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _setup(device: torch.device, **kw):
    cfg = m.LiConfig(**kw)
    g = torch.Generator(device=device).manual_seed(0)
    idr, idi = m.orthonormal_patterns(cfg, SEEDS, g)
    dom = m.Domain(idr, idi, m.train_tasks(cfg.M1, device=device))
    return cfg, dom, m.init_params(cfg, SEEDS, g, dtype=F32), g


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def test_forward_backward_step(benchmark, bench_device, reference_rate, one_thread):
    cfg, dom, p0, g = _setup(bench_device)
    batch = m.sample_prompts(cfg, dom, cfg.batch, g, dtype=F32)
    W = [t.clone().requires_grad_(True) for t in p0[:4]]

    def step():
        out = m.forward(m.Params(*W, p0.a), batch.P).F
        grads = torch.autograd.grad(m.hinge(out, batch.z).mean(-1).sum(), W)
        _sync(bench_device)
        return grads

    benchmark(step)
    _record(benchmark, step_flops(cfg), reference_rate, {"what": "one SGD step, sampling excluded", "seeds": SEEDS,
                                                         "batch": cfg.batch})


def test_training_run_default_config(benchmark, bench_device, reference_rate, one_thread):
    cfg, dom, p0, _ = _setup(bench_device)

    def run():
        res = m.train_sgd(cfg, p0, dom, torch.Generator(device=bench_device).manual_seed(1))
        _sync(bench_device)
        return res

    res = benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    assert float(res.loss[:, -50:].mean()) < 0.1  # trained to its target
    _record(benchmark, cfg.steps * step_flops(cfg), reference_rate,
            {"what": "full training run (sampling included)", "seeds": SEEDS, "steps": cfg.steps, "batch": cfg.batch})


def _record(benchmark, flops: float, reference_rate: float, size: dict) -> None:
    record_rate(benchmark, flops, reference_rate, torch.float32,
                "matrix products 2mnk; backward = 2 x forward; prompt sampling not counted", size=size)

"""Reference rates for benchmark figures: a dense matrix product measured in the same run.

``matmul_rate(dtype, device, n)`` times an n x n x n product (2 n^3 FLOPs) and returns the best FLOP/s over a few
repeats, so a benchmark can report its achieved FLOP/s as a fraction of what this machine's BLAS reaches on a large,
well-shaped product of the same dtype. ``best_seconds`` is the timing helper both use.
"""
from __future__ import annotations

import time
from typing import Callable

import torch


def synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def best_seconds(fn: Callable[[], object], device: torch.device | str = "cpu", repeats: int = 5, number: int = 1,
                 warmup: int = 1) -> float:
    """Best wall-clock seconds per call of ``fn`` over ``repeats`` timings of ``number`` calls (after warm-up).

    The minimum, not the mean: on a shared machine the other processes only ever add time.
    """
    for _ in range(warmup):
        fn()
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        synchronize(device)
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def matmul_rate(dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu", n: int = 512,
                repeats: int = 5) -> float:
    """FLOP/s of an ``n x n`` by ``n x n`` product (2 n^3 FLOPs) in ``dtype`` on ``device``: best of ``repeats``."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, generator=g, dtype=dtype, device=device)
    b = torch.randn(n, n, generator=g, dtype=dtype, device=device)
    seconds = best_seconds(lambda: a @ b, device, repeats=repeats)
    return 2.0 * n**3 / seconds


def record_rate(benchmark, flops: float, reference_rate: float, dtype: torch.dtype, flops_counted: str,
                **info: object) -> None:
    """Put the achieved FLOP/s and its ratio to ``reference_rate`` (a :func:`matmul_rate` of the same dtype measured
    in this run) into ``benchmark.extra_info``; the best round is used (on a shared machine others only add time).
    Does nothing under ``--benchmark-disable``, where nothing was timed."""
    if benchmark.stats is None:
        return
    seconds = benchmark.stats.stats.min
    rate = flops / seconds
    benchmark.extra_info.update({
        "flops": flops,
        "flop_per_s": rate,
        "dtype": str(dtype).removeprefix("torch."),
        "matmul_flop_per_s": reference_rate,
        "fraction_of_matmul_rate": rate / reference_rate,
        "torch_threads": torch.get_num_threads(),
        "flops_counted": flops_counted,
        **info,
    })

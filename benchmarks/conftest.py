"""Benchmarks (pytest-benchmark): run on their own, not under xdist: ``pytest benchmarks/ --benchmark-only``.

Each case records in ``extra_info`` the achieved FLOP/s (FLOPs counted analytically) and its ratio to a matrix-product
rate of the same dtype measured in the same run (benchmarks/flops.py), so figures compare across machines.
"""
from __future__ import annotations

import pytest
import torch


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


@pytest.fixture(scope="session")
def bench_device(request) -> torch.device:
    from properties.harness import Session

    return torch.device(Session.device)

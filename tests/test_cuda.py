"""The CUDA path of the checks, skipped with its reason where torch sees no GPU (CI never has one).

The same checks were run by hand on an H100 (README, Devices): five claims re-run in fresh processes gave identical
evidence. Here in-process, with yang2024's cache of trained runs cleared between the two runs.
"""
from __future__ import annotations

import pytest
import torch

from theorems import get_claim, run_claim
from theorems import yang2024 as Y

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA GPU here (torch.cuda.is_available() is False)")


@pytest.mark.parametrize("claim_id", ["R-T31", "Y-L4", "Y-T1"])
def test_same_example_reproduces_bit_for_bit_on_cuda(claim_id):
    runs = []
    for _ in range(2):
        Y._TRAINED.clear()  # Y-T1 would otherwise reuse its first training run
        runs.append(run_claim(get_claim(claim_id), {}, seed=7, device="cuda").to_json())
    for r in runs:
        r.pop("seconds")
    assert runs[0] == runs[1]
    assert runs[0]["device"] == "cuda" and runs[0]["status"] == "held"


def test_run_claim_switches_tf32_off():
    """Identity tolerances are derived for IEEE float32/float64 products, not TF32's 10-bit mantissa."""
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    run_claim(get_claim("R-T31"), {}, seed=0, device="cuda")
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32

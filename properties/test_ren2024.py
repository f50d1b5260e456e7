"""Hypothesis properties for every ren2024 claim (spec ../shared/papers/ren2024.md, §4). All reconstructed."""
from __future__ import annotations

import pytest
from hypothesis import strategies as st

from properties.harness import check_claim, claim_params

PAPER = "ren2024"

instance = st.fixed_dictionaries({
    "d_i": st.integers(1, 8),
    "d_o": st.integers(1, 8),
    "N": st.integers(1, 32),
    "M": st.integers(1, 4),
    "d_r": st.integers(1, 256),
    "scale": st.floats(0.1, 2.0),
    "batch": st.just(16),
})

STRATEGIES = {
    "R-T31": st.builds(lambda base, eta: base | {"eta": eta}, instance,
                       st.floats(1e-3, 1e2).map(float)),
}


@pytest.mark.parametrize("claim_id", claim_params(PAPER, STRATEGIES))
def test_claim(claim_id: str) -> None:
    check_claim(claim_id, STRATEGIES[claim_id])

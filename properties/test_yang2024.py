"""Hypothesis properties for every yang2024 claim (spec ../shared/papers/yang2024.md, §4). All but the STATED
generator contracts (Y-A1, Y-A3, Y-A4), Y-P1, Y-L9 and Y-F2 are reconstructed.

Ranges follow the spec's default strategies (§4): d in [2, 8], N in [2, 6], K in [N+1, N+10], m in [1, 8],
tau log-uniform in [1e-3, 1], H in [N, N+6] where H >= N is a hypothesis, beta in [0.3, 3]. Trained claims (Y-T1,
Y-T2) draw N in [2, 4], tau log-uniform in [1e-3, 1], gamma in {1, 3, 10} (the dynamics' gamma-dependence, C11/C12)
and instance seeds from {0, 1}: the conditioning filter of the calibration (kappa_0 <= 1e3) and the run-time filter
(1/(eta_w zeta_0) <= 500 steps per e-fold) keep the GD runs within the CI budget (the kept fraction is in the
evidence; a draw where nothing passes is "assumption not met"), and the shared cache of trained models hits across
examples. Y-T2 draws eps_rel in {0.1, 0.3, 0.5}: each instance is evaluated at its own T(eps, delta), where Delta is
still far above round-off. ``PAPER_SETTINGS`` adds fixed examples at the spec's own shapes (seed 0).
"""
from __future__ import annotations

import pytest
from hypothesis import strategies as st

from models.yang2024 import LAWS
from properties.harness import check_claim, claim_params, figure_config, figure_size

PAPER = "yang2024"
BATCH = 8
A1_LAWS = ("gaussian", "rademacher", "uniform")

log_tau = st.floats(-3.0, 0.0).map(lambda e: float(10.0**e))


@st.composite
def instance(draw, batch: int = BATCH, N_max: int = 6) -> dict:
    N = draw(st.integers(2, N_max))
    return {"d": draw(st.integers(2, 8)), "N": N, "K": draw(st.integers(N + 1, N + 10)),
            "m": draw(st.integers(1, 8)), "tau": draw(log_tau), "batch": batch}


@st.composite
def with_heads(draw, base: st.SearchStrategy, h_at_least_n: bool = True, **extra: st.SearchStrategy) -> dict:
    cfg = draw(base)
    low = cfg["N"] if h_at_least_n else 1
    cfg |= {"H": draw(st.integers(low, cfg["N"] + 6)), "beta": draw(st.floats(0.3, 3.0))}
    return cfg | {k: draw(v) for k, v in extra.items()}


W_SCALE = st.floats(0.1, 2.0)


@st.composite
def trained(draw, **extra: st.SearchStrategy) -> dict:
    N = draw(st.integers(2, 4))
    cfg = {"d": draw(st.integers(5, 8)), "N": N, "K": draw(st.integers(N + 1, N + 5)),
           "m": draw(st.integers(1, 5)), "tau": draw(log_tau),
           "H": draw(st.integers(N, N + 4)), "beta": 1.0, "gamma": draw(st.sampled_from([1.0, 3.0, 10.0])),
           "c": 1.0, "kappa_max": 1e3, "max_efold": 500.0, "instance_seed": draw(st.sampled_from([0, 1])),
           "batch": 4}
    return cfg | {k: draw(v) for k, v in extra.items()}


STRATEGIES = {
    "Y-A1": st.fixed_dictionaries({"m": st.integers(1, 8), "n": st.just(8192), "law": st.sampled_from(A1_LAWS),
                                   "batch": st.just(4)}),
    "Y-A2": with_heads(instance()),
    "Y-A3": instance(),
    "Y-A4": st.fixed_dictionaries({"m": st.integers(1, 8), "n": st.just(512), "law": st.sampled_from(LAWS),
                                   "B": st.floats(0.5, 10.0), "batch": st.just(4)}),
    "Y-P1": with_heads(instance()),
    "Y-T1": trained(target=st.just(1e-3)),
    "Y-T2": trained(eps_rel=st.sampled_from([0.1, 0.3, 0.5]), delta=st.floats(0.01, 0.2), B=st.floats(1.0, 5.0),
                    n_prompts=st.just(500)),
    "Y-L1": with_heads(instance(), h_at_least_n=False, w_scale=W_SCALE),
    "Y-L2": with_heads(instance(batch=4), h_at_least_n=False, n=st.just(256), spread=st.floats(0.1, 10.0),
                       token_norm=st.just(1.0)),
    "Y-L4": instance().map(lambda c: c | {"n": 4096}),
    "Y-L5": with_heads(instance(batch=4), h_at_least_n=False, w_scale=st.floats(0.1, 1.0), n=st.just(4096),
                       law=st.sampled_from(A1_LAWS)),
    "Y-L3": st.fixed_dictionaries({"l": st.integers(1, 64), "d": st.integers(1, 32),
                                   "scale": st.floats(1e-3, 1e3), "batch": st.just(64)}),
    "Y-L6": with_heads(instance(batch=4), h_at_least_n=False, w_scale=st.floats(0.1, 1.0),
                       gamma=st.sampled_from([1.0, 3.0, 10.0]), c=st.floats(0.01, 1.0), steps=st.integers(1, 4)),
    "Y-L7": with_heads(instance(), h_at_least_n=False, w_scale=W_SCALE),
    "Y-L8": with_heads(instance(), h_at_least_n=False, w_scale=W_SCALE, step=st.floats(1e-3, 1.0),
                       token_norm=st.just(1.0)),
    "Y-L9": with_heads(instance(), h_at_least_n=False, w_scale=W_SCALE),
    "Y-L10": with_heads(instance(), h_at_least_n=False, w_scale=W_SCALE),
    "Y-MH": instance(batch=4).flatmap(lambda c: st.fixed_dictionaries({
        "beta": st.floats(0.3, 3.0), "w_scale": W_SCALE}).map(lambda e: c | e | {"H": 1, "steps": 100})),
    "Y-F2": st.just(figure_config("Y-F2")),
    "Y-F3": st.integers(10, 20).flatmap(lambda dm: st.fixed_dictionaries({
        "m": st.just(dm), "K": st.just(3 * dm), "tau": st.sampled_from([0.01, 0.1]), "batch": st.just(64),
        "size": st.just(figure_size())})),
    "Y-F4": st.just(figure_config("Y-F4")),
    "Y-F5": st.just(figure_config("Y-F5")),
}


# The spec's own shapes (§3 and the calibration: N = 6, K = 16, d = 8, m = 4, H = 8), replayed first at seed 0.
SPEC = {"d": 8, "N": 6, "K": 16, "m": 4, "tau": 0.1, "batch": 4}
SPEC_THETA = SPEC | {"H": 8, "beta": 1.0}
PAPER_SETTINGS = {
    "Y-A2": [SPEC_THETA], "Y-P1": [SPEC_THETA], "Y-A3": [SPEC],
    "Y-L1": [SPEC_THETA | {"w_scale": 0.5}], "Y-L7": [SPEC_THETA | {"w_scale": 0.5}],
    "Y-L9": [SPEC_THETA | {"w_scale": 0.5}], "Y-L10": [SPEC_THETA | {"w_scale": 0.5}],
    "Y-L5": [SPEC_THETA | {"w_scale": 0.3, "n": 4096, "law": "gaussian"}],
    "Y-L6": [SPEC_THETA | {"w_scale": 0.3, "gamma": 3.0, "c": 1.0, "steps": 4}],
    "Y-MH": [SPEC | {"H": 1, "beta": 1.0, "w_scale": 0.5, "steps": 100}],
}


# Counterexamples found by earlier runs, kept as explicit examples of every profile: (config, seed).
COUNTEREXAMPLES = {
    # flake census (dev profile): gamma = 1 left the lazy regime (min_t zeta_t < zeta_0 / 2) and Delta(T)/Delta(0) was
    # 0.15 against 1e-3; (d) and (e) now apply to the lazy instances only (the theorem's large-gamma hypothesis)
    "Y-T1": [({"d": 5, "N": 2, "K": 3, "m": 1, "tau": 0.01, "batch": 4, "H": 2, "beta": 1.0, "gamma": 1.0, "c": 1.0,
               "kappa_max": 1000.0, "max_efold": 500.0, "instance_seed": 1, "target": 0.001}, 0)],
}


@pytest.mark.parametrize("claim_id", claim_params(PAPER, STRATEGIES))
def test_claim(claim_id: str) -> None:
    check_claim(claim_id, STRATEGIES[claim_id])

"""Bad input (issue 2): an invalid config raises one clear ConfigError naming the parameter, through
``Claim.config`` / ``run_claim`` for every ren2024 claim and through the CLI (exit status 2, one line on stderr).
NaN tokens and mismatched shapes given to the model functions directly: tests/test_ren2024_models.py."""
from __future__ import annotations

import json

import pytest

from theorems import ConfigError, all_claims, get_claim, run_claim
from theorems.__main__ import main

NAN = float("nan")

# (parameter, invalid value): d_r < 1, negative or zero dimensions, non-finite or non-positive scales.
BAD_VALUES = [
    ("d_r", 0), ("d_r", -3), ("d_i", -1), ("d_o", 0), ("N", 0), ("M", 0), ("batch", 0), ("L", 0), ("d_ff", -2),
    ("d_hidden", 0), ("n_neg", 0), ("samples", 0), ("support", 0), ("trials", 0), ("train_d_r", 0),
    ("scale", NAN), ("scale", 0.0), ("token_bound", float("inf")), ("eta", 0.0), ("eta", -1.0), ("radius", NAN),
    ("delta", 0.0), ("B_W", -1.0), ("alpha", 1.5), ("beta", -0.1), ("features", "cosine"), ("d_r", 2.5),
]
CASES = [(c.id, p, v) for c in all_claims("ren2024") for p, v in BAD_VALUES if p in {q.name for q in c.params}]


@pytest.mark.parametrize("claim_id, parameter, value", CASES, ids=[f"{c}-{p}={v}" for c, p, v in CASES])
def test_invalid_config_raises_one_error_naming_the_parameter(claim_id, parameter, value):
    claim = get_claim(claim_id)
    with pytest.raises(ConfigError) as e:
        claim.config({parameter: value})
    assert e.value.parameter == parameter
    with pytest.raises(ConfigError, match=f"'{parameter}'"):
        run_claim(claim, {parameter: value}, seed=0)


@pytest.mark.parametrize("claim_id", [c.id for c in all_claims("ren2024")])
def test_unknown_parameter_is_named(claim_id):
    with pytest.raises(ConfigError, match="'d_model'"):
        run_claim(get_claim(claim_id), {"d_model": 4}, seed=0)


def test_every_ren2024_claim_rejects_some_invalid_value():
    assert {c.id for c in all_claims("ren2024")} <= {c for c, _, _ in CASES}


def test_shape_mismatch_found_by_the_model_is_a_config_error():
    """A residual stack needs d_o == d_i: the model raises the ConfigError, run_claim passes it on."""
    with pytest.raises(ConfigError, match="'d_o'"):
        run_claim(get_claim("R-ML"), {"residual": True, "d_i": 3, "d_o": 2}, seed=0)


@pytest.mark.parametrize("claim_id, config, parameter", [
    ("R-T31", {"d_r": 0}, "d_r"),
    ("R-PRF", {"radius": -1}, "radius"),
    ("R-ML", {"residual": True, "d_i": 3, "d_o": 2}, "d_o"),
    ("R-NEG", {"n_neg": 0}, "n_neg"),
])
def test_cli_exits_2_with_one_line(claim_id, config, parameter, capsys):
    assert main(["check", claim_id, "--config", json.dumps(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"'{parameter}'" in err and "Traceback" not in err


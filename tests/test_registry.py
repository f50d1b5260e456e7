"""Registry completeness (OpInfo-style generic tests over every entry): a strategy and pinned ci draws, a negative
control that breaks the implementation (not the assertion), a printable LaTeX statement, and stated power."""
from __future__ import annotations

import importlib
import os
import unicodedata

import pytest

import mutants
from properties.harness import pinned_draws
from theorems import Claim, Cost, Kind, Outcome, Provenance, all_claims, run_claim
from theorems.registry import PAPERS

CLAIMS = all_claims()


def _strategies() -> dict:
    out = {}
    for paper in PAPERS:
        out |= importlib.import_module(f"properties.test_{paper}").STRATEGIES
    return out


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_every_claim_has_a_strategy_pinned_draws_and_a_control(claim: Claim):
    assert claim.id in _strategies(), f"{claim.id} has no strategy in properties/test_{claim.paper}.py"
    draws = pinned_draws().get(claim.id)
    assert draws, f"{claim.id} has no pinned ci draws: run `python -m properties.pin {claim.id}`"
    for d in draws:
        claim.config(d["config"])  # every pinned draw is still a valid config
    if claim.reported:
        return
    assert claim.control is not None, f"{claim.id} has no negative control (Claim.control) and is not reported"
    assert mutants.get(claim.control.mutant).paper == claim.paper


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_the_statement_is_printable_latex(claim: Claim):
    from latex2mathml.converter import convert

    bad = [f"U+{ord(ch):04X}" for ch in claim.statement if unicodedata.category(ch) == "Cc" and ch not in "\n"]
    assert not bad, f"{claim.id}: control characters {bad} in the statement (a non-raw string with \\t, \\a, ...?)"
    convert(claim.statement)


SLOW_CONTROLS = os.environ.get("CLAIMS_SLOW_CONTROLS") == "1"


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.control], ids=lambda c: c.id)
def test_the_negative_control_breaks_the_implementation(claim: Claim):
    """The control's mutant is reported as violated, and the same example on the reference is not: the control proves
    that the claim catches a wrong model, not only that its assertion can fail. A slow claim's control trains a model
    twice (a minute or more for a GPT-2): opt in with CLAIMS_SLOW_CONTROLS=1; the kill matrix exercises them too."""
    if claim.cost is Cost.SLOW and not SLOW_CONTROLS:
        pytest.skip("slow control: set CLAIMS_SLOW_CONTROLS=1 to run it")
    c = claim.control
    broken = run_claim(claim, dict(c.config), seed=c.seed, impl=mutants.get(c.mutant).impl())
    assert broken.status == "violated", f"{claim.id} under {c.mutant}: {broken.describe()}"
    ref = run_claim(claim, dict(c.config), seed=c.seed)
    assert ref.status != "violated", f"{claim.id}'s control example fails on the reference too: {ref.describe()}"


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.kind in (Kind.STATISTICAL, Kind.MECHANISM)],
                         ids=lambda c: c.id)
def test_statistical_and_trained_claims_state_rate_and_power(claim: Claim):
    assert claim.reported or (claim.false_fail_rate is not None and claim.power is not None), claim.id


def test_a_statistical_claim_without_rate_or_power_is_a_registration_error():
    with pytest.raises(ValueError, match="X-1: a statistical claim must state false_fail_rate and power"):
        Claim(id="X-1", paper="ren2024", reference="r", title="t", statement="x", provenance=Provenance.STATED,
              kind=Kind.STATISTICAL, check=lambda cfg, ctx: Outcome.at_most(0, 1))

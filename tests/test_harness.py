"""properties/harness.py: what a property records when a claim holds, fails or crashes."""
from __future__ import annotations

import pytest
from hypothesis import strategies as st

from properties import harness
from theorems import Claim, Kind, Outcome, Param, Provenance


def _claim(check) -> Claim:
    return Claim(id="R-T31", paper="ren2024", reference="toy", title="toy", statement="x",
                 provenance=Provenance.STATED, kind=Kind.INEQUALITY, check=check,
                 params=(Param("n", int, min=0),), defaults={"n": 0}, tolerance="toy")


@pytest.fixture
def recorded(monkeypatch):
    records: list[dict] = []
    monkeypatch.setattr(harness.Session, "recorder", records.append)
    return records


def _run(monkeypatch, check, max_examples=20):
    monkeypatch.setattr(harness, "get_claim", lambda cid: _claim(check))
    harness.check_claim("R-T31", st.fixed_dictionaries({"n": st.integers(0, 50)}), max_examples=max_examples,
                        examples=[])


def test_every_held_example_is_recorded(monkeypatch, recorded):
    _run(monkeypatch, lambda cfg, ctx: Outcome.at_most(cfg["n"], 100), max_examples=15)
    assert len(recorded) == 15 and all(r["status"] == "held" for r in recorded)


def test_a_violation_keeps_only_the_shrunk_final_example(monkeypatch, recorded):
    with pytest.raises(AssertionError, match="violated"):
        _run(monkeypatch, lambda cfg, ctx: Outcome.at_most(cfg["n"], 10))
    violations = [r for r in recorded if r["status"] == "violated"]
    assert len(violations) == 1 and violations[0]["config"]["n"] == 11  # Hypothesis shrank to the boundary
    assert "reproduce_failure" in violations[0]["hypothesis"].get("reproduce_failure", "")


def test_a_crashing_check_is_recorded_as_a_violation_with_its_error(monkeypatch, recorded):
    def crashes(cfg, ctx):
        if cfg["n"] > 5:
            raise RuntimeError("deep in torch")
        return Outcome.at_most(0, 1)

    with pytest.raises(RuntimeError):
        _run(monkeypatch, crashes)
    errors = [r for r in recorded if r["status"] == "violated"]
    assert len(errors) == 1 and errors[0]["error"] == "RuntimeError: deep in torch"
    assert errors[0]["reproduce"].startswith("python -m theorems check R-T31")


def test_a_precondition_of_the_draw_is_rejected_and_recorded_not_failed(monkeypatch, recorded):
    """A check that raises AssumptionNotMet (a draw outside float64's range, say) gives "assumption not met" evidence
    and Hypothesis discards the example: neither a counterexample nor a pass."""
    from theorems import AssumptionNotMet

    def overflows_sometimes(cfg, ctx):
        if cfg["n"] % 5 == 0:
            raise AssumptionNotMet("float64 range")
        return Outcome.at_most(cfg["n"], 100)

    _run(monkeypatch, overflows_sometimes, max_examples=30)
    unmet = [r for r in recorded if r["status"] == "assumption not met"]
    assert unmet and all(r["unmet_assumptions"] == ["float64 range"] for r in unmet)
    assert {r["status"] for r in recorded} == {"held", "assumption not met"}


def test_explicit_examples_run_with_their_own_seed(monkeypatch, recorded):
    """The papers' own settings and earlier counterexamples (config, seed) run in every non-ci profile."""
    monkeypatch.setattr(harness, "get_claim", lambda cid: _claim(lambda cfg, ctx: Outcome.at_most(cfg["n"], 100)))
    harness.check_claim("R-T31", st.fixed_dictionaries({"n": st.integers(0, 50)}), max_examples=3,
                        examples=[({"n": 77}, 12345)])
    assert any(r["config"] == {"n": 77} and r["seed"] == 12345 for r in recorded)

"""The kill matrix as pytest items (run with ``--claims-mutants[=fast]``; deselected otherwise): one test per mutant,
each replaying every claim of its paper on its pinned ci draws against the mutant (properties/kill_matrix.py). A test
fails only when the mutant is stale; survivors are judged over the whole matrix at the end of the run."""
from __future__ import annotations

import pytest

import mutants
from properties import harness, kill_matrix


# each mutant carries its paper's mark, so `-k li2024` / `-m li2024` select that paper's row of the matrix
@pytest.mark.parametrize("mutant_id", [pytest.param(m.id, id=m.id, marks=getattr(pytest.mark, m.paper))
                                       for m in mutants.catalogue()])
def test_mutant(mutant_id: str, request: pytest.FixtureRequest) -> None:
    m = mutants.get(mutant_id)
    cells = kill_matrix.run_mutant(m, fast=request.config.getoption("--claims-mutants") == "fast")
    if harness.Session.recorder is not None:
        for c in cells:
            harness.Session.recorder(c)
    stale = [c for c in cells if c["outcome"] == "stale"]
    assert not stale, f"{mutant_id} is stale: {stale[0]['detail']}"

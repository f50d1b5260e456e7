"""``--claims-mutants[=fast]``: run the kill matrix (properties/test_mutants.py) instead of the claims; without it,
the mutant tests are deselected."""
from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)  # after the scheduler has ordered the items
def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    mutants = config.getoption("--claims-mutants") is not None
    keep, drop = [], []
    for item in items:
        is_mutant = item.nodeid.split("::")[0].endswith("test_mutants.py")
        is_claim = "::test_claim[" in item.nodeid
        (drop if (is_mutant and not mutants) or (is_claim and mutants) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

"""Where and when claims run (properties/scheduling.py): longest work first, claims that share a training together."""
from __future__ import annotations

from pathlib import Path

import pytest

from properties.plugins.state import state
from reports import results as _results

ROOT = Path(__file__).resolve().parents[2]


def timing_baseline(config: pytest.Config) -> Path:
    """Where the scheduler reads each claim's seconds: the gate's baseline if given, else the committed one of the
    device (a GPU runs the paper sizes, whose times differ from the CPU's reduced ones)."""
    if config.getoption("--claims-baseline"):
        return Path(config.getoption("--claims-baseline"))
    cuda = state(config).device == "cuda"
    return ROOT / "reports" / ("baseline-cuda.json" if cuda else "baseline.json")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """Longest work first, claims that share a cached training together: under ``-n`` the longest units start at
    once instead of leaving one worker busy at the end. Changes no result."""
    from properties import scheduling
    from theorems import get_claim

    timed = scheduling.baseline_seconds(timing_baseline(config))
    by_id = {item.nodeid: item for item in items}
    items[:] = [by_id[n] for n in scheduling.schedule_order(by_id, get_claim, timed)]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``-n``'s default distribution ("load") made claim-group aware; other distributions unchanged."""
    if config.getvalue("dist") != "load":
        return None
    from properties.scheduling import ClaimGroupScheduling, claims_from_header

    results = Path(config.getoption("--claims-results"))
    return ClaimGroupScheduling(config, log, claims_from_header(lambda: _results.read_header(results,
                                                                                            state(config).run_id)))

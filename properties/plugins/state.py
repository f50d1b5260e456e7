"""What a run knows about itself, in ``config.stash`` under :data:`RUN`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class RunState:
    run_id: str = ""  # the run's own parts directory name: concurrent runs on one results file never mix
    started: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)  # the "run" header record (controller or serial process)
    writer: Any = None  # reports.results.PartWriter (controller or serial process)
    pending: list[str] | None = None  # an xdist worker's evidence lines, sent with its next test report
    device: str = ""
    summary: list[str] = field(default_factory=list)  # lines for the terminal summary
    failed: bool = False  # the gate or the kill matrix turns a green run red


RUN = pytest.StashKey[RunState]()


def state(config: pytest.Config) -> RunState:
    if RUN not in config.stash:
        config.stash[RUN] = RunState()
    return config.stash[RUN]


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """The xdist controller: it schedules and merges, the workers run the checks."""
    return config.pluginmanager.has_plugin("dsession")

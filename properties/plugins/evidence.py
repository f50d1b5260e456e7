"""The results file: the run header, the evidence of every example (from xdist workers too), the merge at the end.

Only the serial process or the xdist controller writes: workers send their evidence with each test report, so workers
on other machines (``--tx``) need no shared filesystem.
"""
from __future__ import annotations

import datetime as _dt
import os
import subprocess
import time
from pathlib import Path

import pytest

from properties.plugins.options import resolve_device, resolve_impls
from properties.plugins.profiles import profile_name
from properties.plugins.state import is_controller, is_worker, state
from reports import results as _results

ROOT = Path(__file__).resolve().parents[2]


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@pytest.hookimpl(trylast=True)  # after Hypothesis's plugin has loaded --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    st = state(config)
    results = Path(config.getoption("--claims-results"))
    if is_worker(config):
        st.run_id = config.workerinput["claims_run_id"]
    else:
        st.started = time.time()
        # A run id of its own: concurrent runs on the same results file never touch each other's parts.
        st.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        st.record = run_record(config)
        st.writer = _results.PartWriter(_results.parts_dir_for(results, st.run_id), "main")
    if is_controller(config):
        # Nothing heavy here, so the workers start at once: worker gw0, which imports the claims anyway, writes the
        # header (pytest_collection_finish); the controller never imports torch or the claims unless gw0 fails.
        config.pluginmanager.register(_EvidenceFromWorkers(st.writer), "claims-evidence-from-workers")
        return
    _setup_checks(config)
    if not is_worker(config):
        _results.write_header(results, header(config), st.run_id)


def _setup_checks(config: pytest.Config) -> None:
    """In a process that runs checks (serial run or xdist worker): device, profile, threads, impls, recorder."""
    import torch

    from properties.harness import Session

    st = state(config)
    Session.device = st.device = resolve_device(config)
    Session.profile = profile_name()
    Session.impls = resolve_impls(config)
    if Session.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    if is_worker(config):
        # Workers share the cores: give each its slice so they do not oversubscribe them.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(config.workerinput.get("workercount", 1))))
        st.pending = []
        Session.recorder = lambda record: st.pending.append(_results.dumps(record))
    else:
        Session.recorder = st.writer.write


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """In an xdist worker: the evidence the test recorded travels with its report to the controller (pytest
    serialises extra report attributes; xdist sends the report over its channel, from any machine)."""
    report = yield
    pending = state(item.config).pending
    if pending:
        report.claims_evidence = pending[:]
        pending.clear()
    return report


class _EvidenceFromWorkers:
    """Controller side of the evidence transport: append each worker report's evidence to the run's part file."""

    def __init__(self, writer: _results.PartWriter):
        self.writer = writer

    def pytest_runtest_logreport(self, report) -> None:
        for line in getattr(report, "claims_evidence", None) or ():
            self.writer.write_line(line)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reports the collection to the controller
def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if is_worker(config) and config.workerinput["workerid"] == "gw0":
        # The controller schedules by the claims' metadata in this header, and only after every worker has reported
        # its collection, so it is always there in time. A gw0 on another machine (--tx) does not see the
        # controller's part file and writes nothing there; the controller then imports the claims itself.
        results = Path(config.getoption("--claims-results"))
        parts = _results.parts_dir_for(results, state(config).run_id)
        if (parts / "main.jsonl").exists():
            _results.write_header(results, header(config), state(config).run_id)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller -> worker: the run id whose parts directory the worker writes to, and the run record."""
    st = state(node.config)
    node.workerinput["claims_run_id"] = st.run_id
    node.workerinput["claims_run"] = st.record


def run_record(config: pytest.Config) -> dict:
    """What the controller (or a serial run) knows of the run; cheap: no torch, no claims."""
    return {
        "type": "run",
        "format": _results.FORMAT,
        "profile": profile_name(),
        "started": _dt.datetime.fromtimestamp(state(config).started or time.time(), _dt.timezone.utc).isoformat(),
        "git_commit": _git_commit(),
        "command": " ".join(["pytest", *config.invocation_params.args]),
        "workers": getattr(config.option, "numprocesses", None) or 0,
        "impls": {spec.partition("=")[0]: spec.partition("=")[2] for spec in config.getoption("--impl")},
        "cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY", ""),
    }


def header(config: pytest.Config) -> list[dict]:
    """The run record (from the controller under xdist) with device and versions, then every claim's metadata."""
    from theorems.core import environment
    from theorems.registry import PAPERS, all_claims, claim_metadata

    run = getattr(config, "workerinput", {}).get("claims_run") or state(config).record
    run = {
        **(run or run_record(config)),
        "device": state(config).device or resolve_device(config),
        "papers": {k: {"title": v["title"], "spec_ids": v["spec_ids"]} for k, v in PAPERS.items()},
        "paper_order": list(PAPERS),
        **environment(),
    }
    return [run] + [{"type": "claim", **claim_metadata(c)} for c in all_claims()]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    st = state(config)
    if st.writer is not None:
        st.writer.close()
    if is_worker(config):
        return
    results = Path(config.getoption("--claims-results"))
    parts = _results.parts_dir_for(results, st.run_id)
    recorded = [p for p in parts.glob("*.jsonl") if p.name != _results.HEADER_NAME] if parts.exists() else []
    if not any(p.stat().st_size for p in recorded):
        import shutil

        shutil.rmtree(parts, ignore_errors=True)
        return  # nothing recorded (e.g. only tests/ ran): leave any earlier results and report untouched
    end = {
        "type": "end",
        "seconds": time.time() - (st.started or time.time()),
        "exitstatus": int(exitstatus),
        "interrupted": int(exitstatus) == int(pytest.ExitCode.INTERRUPTED),
    }
    head = _results.read_header(results, st.run_id) or header(config)  # none: gw0 died before writing it
    _results.merge_parts(results, head, end, st.run_id)
    from properties.plugins.outcome import after_results

    after_results(config, results)
    if st.failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # the gate or the kill matrix turns a green run red

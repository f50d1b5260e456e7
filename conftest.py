"""pytest wiring of the suite: Hypothesis profiles, the device, and the evidence results file.

Profiles (``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``; default ``ci``):
- ``ci``: derandomized, no deadline, fixed example counts (properties/profiles.py: EXAMPLES); replaces Hypothesis's
  built-in ``ci`` profile that ``CI=true`` would load.
- ``dev``: few examples, random, for quick iteration.
- ``thorough``: 1000 examples on cheap claims, ``target()`` towards the worst margins.
"""
from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import Phase, settings

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Nothing here imports torch or the claims: an xdist controller starts its workers before it needs them.
from properties.profiles import EXAMPLES  # noqa: E402
from reports import results as _results  # noqa: E402

_COMMON = dict(deadline=None, print_blob=True, report_multiple_bugs=False)
settings.register_profile("ci", derandomize=True, max_examples=EXAMPLES["ci"]["cheap"], database=None, **_COMMON)
settings.register_profile("dev", max_examples=EXAMPLES["dev"]["cheap"], **_COMMON)
settings.register_profile(
    "thorough",
    max_examples=EXAMPLES["thorough"]["cheap"],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    **_COMMON,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _fixed_constant_pool() -> None:
    """Make derandomized draws independent of which modules happen to be imported.

    Hypothesis mixes into its draws literal constants mined from every *local* module loaded so far, and caches the
    pool at first use. A derandomized run then draws other examples when tests/ is collected beside properties/, or
    when tests run in another order: the regression gate saw margins move with nothing changed. With an empty local
    pool the draws depend on the strategy and the test alone (Hypothesis's global constants, NaN, 0, +-inf and the
    like, are still drawn). A private hook, so it is guarded: on a Hypothesis without it nothing changes.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "_local_constants"):
        empty = type(providers._local_constants)(
            integers=type(providers._local_constants.integers)(),
            floats=type(providers._local_constants.floats)(key=providers.float_to_int),
            bytes=type(providers._local_constants.bytes)(),
            strings=type(providers._local_constants.strings)(),
        )
        providers._get_local_constants = lambda: empty


_fixed_constant_pool()

DEFAULT_RESULTS = "claims-out/results.jsonl"
DEFAULT_REPORT = "claims-out/report.html"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("claims", "ICL theory claims")
    g.addoption("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where models run (auto = CUDA if available)")
    g.addoption("--claims-results", default=DEFAULT_RESULTS, help=f"evidence file, JSON lines (default {DEFAULT_RESULTS})")
    g.addoption("--claims-report", default=DEFAULT_REPORT, help=f"HTML report written after the run (default {DEFAULT_REPORT})")
    g.addoption("--no-claims-report", action="store_true", help="do not write the HTML report")
    g.addoption("--claims-baseline", default=None, help="fail the run on regressions against this baseline file")
    g.addoption("--claims-update-baseline", default=None, metavar="PATH", nargs="?", const="reports/baseline.json",
                help="write the run's verdicts and worst margins as the new baseline (default reports/baseline.json)")


def _resolve_device(config: pytest.Config) -> str:
    import torch

    want = config.getoption("--device")
    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError("--device cuda was requested but torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    return want


def _profile_name() -> str:
    return getattr(settings, "_current_profile", None) or os.environ.get("HYPOTHESIS_PROFILE", "ci")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _is_controller(config: pytest.Config) -> bool:
    """The xdist controller: it schedules and merges, the workers run the checks."""
    return config.pluginmanager.has_plugin("dsession")


@pytest.hookimpl(trylast=True)  # after Hypothesis's plugin has loaded --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    for name, doc in [
        ("ren2024", "claims of Ren & Liu 2024"),
        ("yang2024", "claims of Yang et al. 2024"),
        ("li2024", "claims of Li et al. 2024"),
        ("slow", "claims that train models or reproduce figures (deselect with -m 'not slow')"),
        ("reconstructed", "claim whose statement is DERIVED (reconstructed), not the paper's verbatim text"),
        ("stated", "claim whose statement is STATED by the paper"),
        ("browser", "needs headless Chromium"),
    ]:
        config.addinivalue_line("markers", f"{name}: {doc}")

    if config.getoption("--device") == "cuda":
        _resolve_device(config)  # no GPU: a usage error before any worker starts
    base = config.getoption("--claims-baseline")
    if base and not _is_worker(config):
        from reports import gate

        try:
            gate.read_baseline(base)
        except _results.ResultsFileError as e:  # fail before the suite runs, in one line
            raise pytest.UsageError(f"--claims-baseline: {e}") from None

    results = Path(config.getoption("--claims-results"))
    if _is_worker(config):
        config._claims_run_id = config.workerinput["claims_run_id"]  # type: ignore[attr-defined]
    else:
        config._claims_started = time.time()  # type: ignore[attr-defined]
        # A run id of its own: concurrent runs on the same results file never touch each other's parts.
        config._claims_run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"  # type: ignore[attr-defined]
        config._claims_run = _run_record(config)  # type: ignore[attr-defined]
        # Only the serial process or the controller writes evidence: workers send theirs with each test report,
        # so workers on other machines (--tx) need no shared filesystem.
        writer = _results.PartWriter(_results.parts_dir_for(results, config._claims_run_id), "main")
        config._claims_writer = writer  # type: ignore[attr-defined]
    if _is_controller(config):
        # Nothing heavy here, so the workers start at once: worker gw0, which imports the claims anyway, writes the
        # header (pytest_collection_finish); the controller never imports torch or the claims unless gw0 fails.
        config.pluginmanager.register(_EvidenceFromWorkers(writer), "claims-evidence-from-workers")
        return
    _setup_checks(config)
    if not _is_worker(config):
        _results.write_header(results, _header(config), config._claims_run_id)  # type: ignore[attr-defined]


def _setup_checks(config: pytest.Config) -> None:
    """In a process that runs checks (serial run or xdist worker): device, profile, threads, evidence recorder."""
    import torch

    from properties.harness import Session

    Session.device = config._claims_device = _resolve_device(config)  # type: ignore[attr-defined]
    Session.profile = _profile_name()
    if Session.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    if _is_worker(config):
        # Workers share the cores: give each its slice so they do not oversubscribe them.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(config.workerinput.get("workercount", 1))))
        pending: list[str] = []
        config._claims_pending = pending  # type: ignore[attr-defined]
        Session.recorder = lambda record: pending.append(_results.dumps(record))
    else:
        Session.recorder = config._claims_writer.write  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """In an xdist worker: the evidence the test recorded travels with its report to the controller (pytest
    serialises extra report attributes; xdist sends the report over its channel, from any machine)."""
    report = yield
    pending = getattr(item.config, "_claims_pending", None)
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
    if _is_worker(config) and config.workerinput["workerid"] == "gw0":
        # The controller schedules by the claims' metadata in this header, and only after every worker has reported
        # its collection, so it is always there in time. A gw0 on another machine (--tx) does not see the
        # controller's part file and writes nothing there; the controller then imports the claims itself.
        results = Path(config.getoption("--claims-results"))
        parts = _results.parts_dir_for(results, config._claims_run_id)  # type: ignore[attr-defined]
        if (parts / "main.jsonl").exists():
            _results.write_header(results, _header(config), config._claims_run_id)  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller -> worker: the run id whose parts directory the worker writes to, and the run record."""
    node.workerinput["claims_run_id"] = node.config._claims_run_id
    node.workerinput["claims_run"] = node.config._claims_run


def _run_record(config: pytest.Config) -> dict:
    """What the controller (or a serial run) knows of the run; cheap: no torch, no claims."""
    return {
        "type": "run",
        "format": _results.FORMAT,
        "profile": _profile_name(),
        "started": _dt.datetime.fromtimestamp(getattr(config, "_claims_started", time.time()), _dt.timezone.utc).isoformat(),
        "git_commit": _git_commit(),
        "command": " ".join(["pytest", *config.invocation_params.args]),
        "workers": getattr(config.option, "numprocesses", None) or 0,
    }


def _header(config: pytest.Config) -> list[dict]:
    """The run record (from the controller under xdist) with device and versions, then every claim's metadata."""
    from theorems.core import environment
    from theorems.registry import PAPERS, all_claims, claim_metadata

    run = getattr(config, "workerinput", {}).get("claims_run") or getattr(config, "_claims_run", None)
    run = {
        **(run or _run_record(config)),
        "device": getattr(config, "_claims_device", None) or _resolve_device(config),
        "papers": {k: {"title": v["title"], "spec_ids": v["spec_ids"]} for k, v in PAPERS.items()},
        "paper_order": list(PAPERS),
        **environment(),
    }
    return [run] + [{"type": "claim", **claim_metadata(c)} for c in all_claims()]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    writer = getattr(config, "_claims_writer", None)
    if writer is not None:
        writer.close()
    if _is_worker(config):
        return
    results = Path(config.getoption("--claims-results"))
    run_id = config._claims_run_id  # type: ignore[attr-defined]
    parts = _results.parts_dir_for(results, run_id)
    recorded = [p for p in parts.glob("*.jsonl") if p.name != _results.HEADER_NAME] if parts.exists() else []
    if not any(p.stat().st_size for p in recorded):
        import shutil

        shutil.rmtree(parts, ignore_errors=True)
        return  # nothing recorded (e.g. only tests/ ran): leave any earlier results and report untouched
    end = {
        "type": "end",
        "seconds": time.time() - getattr(config, "_claims_started", time.time()),
        "exitstatus": int(exitstatus),
        "interrupted": int(exitstatus) == int(pytest.ExitCode.INTERRUPTED),
    }
    header = _results.read_header(results, run_id) or _header(config)  # none: gw0 died before writing it
    _results.merge_parts(results, header, end, run_id)
    config._claims_results_path = results  # type: ignore[attr-defined]
    _after_results(config, results)
    if getattr(config, "_claims_gate_failed", False):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # the regression gate turns a green run red


def _after_results(config: pytest.Config, results: Path) -> None:
    """Report and regression gate; both are functions of the results file alone."""
    try:
        from reports import gate, html  # noqa: F401
    except ImportError:  # report/gate not built yet
        return
    lines = []
    if not config.getoption("--no-claims-report"):
        out = Path(config.getoption("--claims-report"))
        html.build_report(results, out)
        lines.append(f"claims report: {out}")
    lines.append(f"claims results: {results}")
    base = config.getoption("--claims-baseline")
    if base:
        try:
            problems = gate.compare(results, Path(base))
        except _results.ResultsFileError as e:
            problems = [f"cannot compare: {e}"]
        if problems:
            lines.append(f"claims baseline {base}: {len(problems)} regression(s)")
            lines += [f"  REGRESSION {p}" for p in problems]
            config._claims_gate_failed = True  # type: ignore[attr-defined]
        else:
            lines.append(f"claims baseline {base}: no regression")
    upd = config.getoption("--claims-update-baseline")
    if upd:
        try:
            gate.write_baseline(results, Path(upd))
            lines.append(f"claims baseline written: {upd}")
        except _results.ResultsFileError as e:
            lines.append(f"claims baseline NOT written: {e}")
            config._claims_gate_failed = True  # type: ignore[attr-defined]
    config._claims_summary = lines  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    for line in getattr(config, "_claims_summary", []):
        terminalreporter.write_line(line)


def _timing_baseline(config: pytest.Config) -> Path:
    """Where the scheduler reads each claim's seconds: the gate's baseline if given, else the committed one of the
    device (a GPU runs the paper sizes, whose times differ from the CPU's reduced ones)."""
    if config.getoption("--claims-baseline"):
        return Path(config.getoption("--claims-baseline"))
    cuda = getattr(config, "_claims_device", "cpu") == "cuda"
    return ROOT / "reports" / ("baseline-cuda.json" if cuda else "baseline.json")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """Longest work first, claims that share a cached training together (properties/scheduling.py): under ``-n``
    the longest units start at once instead of leaving one worker busy at the end. Changes no result."""
    from properties import scheduling
    from theorems import get_claim

    timed = scheduling.baseline_seconds(_timing_baseline(config))
    by_id = {item.nodeid: item for item in items}
    items[:] = [by_id[n] for n in scheduling.schedule_order(by_id, get_claim, timed)]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``-n``'s default distribution ("load") made claim-group aware (properties/scheduling.py); others unchanged."""
    if config.getvalue("dist") != "load":
        return None
    from properties.scheduling import ClaimGroupScheduling, claims_from_header

    results = Path(config.getoption("--claims-results"))
    return ClaimGroupScheduling(config, log, claims_from_header(lambda: _results.read_header(results,
                                                                                            config._claims_run_id)))

"""The pytest wiring (conftest.py's plugins, properties/plugins/), run as a user would: profiles, --device, the
results file under xdist, interruptions."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reports import results as res

ROOT = Path(__file__).resolve().parents[1]
ONE_CLAIM = ["properties/test_ren2024.py", "-k", "R-T31", "-p", "no:randomly"]


def _pytest(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ) | {"HYPOTHESIS_PROFILE": "ci"} | (env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "--no-claims-report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=e)


def _verdicts(path: Path) -> list[tuple]:
    data = res.read_results(path)
    return sorted((r["claim_id"], json.dumps(r["config"], sort_keys=True), r["seed"], r["status"], r["measured"])
                  for r in data["evidence"])


# A plugin that reports, at the end of the controller's session, whether it ever imported torch.
TORCH_PROBE = """
import os, sys
def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        print("CONTROLLER_IMPORTED_TORCH=" + str("torch" in sys.modules))
"""


def test_xdist_gives_the_serial_verdicts_and_a_complete_results_file(tmp_path):
    serial, parallel = tmp_path / "serial.jsonl", tmp_path / "parallel.jsonl"
    (tmp_path / "torch_probe.py").write_text(TORCH_PROBE)
    a = _pytest(*ONE_CLAIM, f"--claims-results={serial}")
    b = _pytest(*ONE_CLAIM, "-n", "2", f"--claims-results={parallel}", "-p", "torch_probe", "-s",
                env={"PYTHONPATH": str(tmp_path)})
    assert a.returncode == 0 and b.returncode == 0, a.stdout + b.stdout
    assert _verdicts(serial) == _verdicts(parallel)
    data = res.read_results(parallel)
    assert data["end"] is not None and data["end"]["exitstatus"] == 0
    assert len(data["evidence"]) >= 25 and "R-T31" in data["claims"]
    assert not list(tmp_path.glob("*.parts")), "parts are merged and removed"
    # worker gw0 wrote the header: the controller's run record plus device and claims, as in a serial run
    run, serial_run = data["run"], res.read_results(serial)["run"]
    assert run["workers"] == 2 and "-n 2" in run["command"] and run["device"] == serial_run["device"]
    assert set(data["claims"]) == set(res.read_results(serial)["claims"])
    # ... so the controller, which only schedules and merges, starts the workers without importing torch
    assert "CONTROLLER_IMPORTED_TORCH=False" in b.stdout, b.stdout[-2000:]


def test_cuda_without_gpu_stops_with_one_message(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = _pytest(*ONE_CLAIM, "--device", "cuda", f"--claims-results={tmp_path / 'r.jsonl'}")
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert text.count("no CUDA GPU") == 1 and "Traceback" not in text


def test_ci_profile_is_ours_and_derandomized():
    out = subprocess.run([sys.executable, "-c", "import properties.plugins.profiles; from hypothesis import settings; "
                          "s = settings.get_profile('ci'); print(s.derandomize, s.deadline, s.max_examples)"],
                         cwd=ROOT, capture_output=True, text=True, env=dict(os.environ) | {"CI": "true"})
    assert out.stdout.split() == ["True", "None", "25"], out.stderr


def test_killed_run_is_recovered_from_its_parts(tmp_path):
    results = tmp_path / "results.jsonl"
    header = [{"type": "run", "format": res.FORMAT, "profile": "ci"}, {"type": "claim", "id": "R-T31"}]
    res.write_header(results, header)
    w = res.PartWriter(res.parts_dir_for(results), "gw0")
    w.write({"type": "evidence", "claim_id": "R-T31", "status": "held", "config": {}, "seed": 1})
    w.close()
    with open(res.parts_dir_for(results) / "gw1.jsonl", "w") as f:  # a worker killed mid-line
        f.write(res.dumps({"type": "evidence", "claim_id": "R-T31", "status": "held", "config": {}, "seed": 2}))
        f.write('\n{"type": "evidence", "claim_id": "R-')
    res.recover_parts(results)
    data = res.read_results(results)
    assert data["end"] is None and [r["seed"] for r in data["evidence"]] == [1, 2]


def test_a_run_of_tests_only_leaves_earlier_results_alone(tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text("earlier")
    out = _pytest("tests/test_framework.py", "-k", "outcome_constructors", f"--claims-results={results}")
    assert out.returncode == 0, out.stdout
    assert results.read_text() == "earlier"


def test_concurrent_runs_on_one_results_file_keep_their_own_parts(tmp_path):
    results = tmp_path / "results.jsonl"
    header = [{"type": "run", "format": res.FORMAT}]
    for run_id, seed in (("run-a", 1), ("run-b", 2)):
        res.write_header(results, header, run_id)
        w = res.PartWriter(res.parts_dir_for(results, run_id), "main")
        w.write({"type": "evidence", "claim_id": "R-T31", "status": "held", "config": {}, "seed": seed})
        w.close()
    res.merge_parts(results, header, {"type": "end"}, "run-a")
    assert [r["seed"] for r in res.read_results(results)["evidence"]] == [1]
    assert res.parts_dir_for(results, "run-b").is_dir(), "the other run's parts are untouched"


def test_a_gw0_on_another_machine_writes_no_header(tmp_path):
    """gw0 writes the results header for the controller only where it sees the controller's part file (the same
    filesystem); on another machine (--tx) it would be a stray file nobody reads."""
    from properties.plugins import evidence
    from properties.plugins.state import state

    class Config:
        workerinput = {"workerid": "gw0", "workercount": 2}
        stash = pytest.Stash()

        def getoption(self, name):
            assert name == "--claims-results"
            return str(tmp_path / "results.jsonl")

    class Session:
        config = Config()

    state(Session.config).run_id = "run-1"
    evidence.pytest_collection_finish(Session())
    assert list(tmp_path.iterdir()) == []


def test_conftest_is_a_thin_list_of_plugins_and_no_private_hypothesis_api_is_used():
    import ast

    tree = ast.parse((ROOT / "conftest.py").read_text())
    defs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defs == [], f"conftest.py defines {defs}: put hooks in a plugin module of properties/plugins/"
    for path in [*ROOT.glob("properties/**/*.py"), ROOT / "conftest.py", *ROOT.glob("theorems/**/*.py")]:
        text = path.read_text()
        for private in ("hypothesis.internal", "settings._", "_get_local_constants"):
            assert private not in text, f"{path.relative_to(ROOT)} uses the private Hypothesis API {private!r}"


def test_paper_keyword_selects_that_papers_mutants():
    """`pytest properties/ -k li2024 --claims-mutants` runs li2024's row of the kill matrix, not nothing."""
    out = _pytest("properties/", "--claims-mutants=fast", "--collect-only", "-k", "li2024")
    ids = [line for line in out.stdout.splitlines() if "test_mutant[" in line]
    assert ids and all("[L-M" in line for line in ids), out.stdout[-2000:]

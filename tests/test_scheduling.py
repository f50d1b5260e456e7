"""properties/scheduling.py: the xdist order and work units (claims that share a cached training run together)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from properties.scheduling import baseline_seconds, claim_of, schedule_order, work_unit
from theorems import all_claims, get_claim

ROOT = Path(__file__).resolve().parents[1]


def fake_claim(cost: str, shares: str = "") -> SimpleNamespace:
    """What the scheduler reads of a claim: its cost tier and the computation it shares."""
    return SimpleNamespace(cost=SimpleNamespace(value=cost), shares=shares)


CLAIMS = {
    "A": fake_claim("slow", "world"), "B": fake_claim("medium", "world"), "C": fake_claim("slow"),
    "D": fake_claim("cheap"), "E": fake_claim("cheap"), "NEW": fake_claim("slow"),
}


def lookup(cid: str) -> SimpleNamespace:
    return CLAIMS[cid]


def node(cid: str) -> str:
    return f"properties/test_x.py::test_claim[{cid}]"


def test_claim_of_reads_the_parametrised_claim_id_only():
    assert claim_of("properties/test_ren2024.py::test_claim[R-T31]") == "R-T31"
    assert claim_of("tests/test_gate.py::test_x[R-T31-extra]") is None
    assert claim_of("tests/test_gate.py::test_plain") is None


def test_claims_sharing_a_computation_form_one_unit_and_others_are_their_own():
    assert work_unit(node("A"), lookup) == work_unit(node("B"), lookup) == "shares:world"
    assert work_unit(node("C"), lookup) == node("C")
    assert work_unit(node("UNKNOWN"), lookup) == node("UNKNOWN")  # looks like a claim, is none: alone
    assert work_unit("tests/test_x.py::test_y", lookup) == "tests/test_x.py::test_y"


def test_order_is_longest_unit_first_with_a_unit_kept_together():
    timed = {"A": 5.0, "B": 4.0, "C": 8.0, "D": 0.5, "E": 0.5}
    ids = [node(c) for c in ("D", "E", "B", "C", "A")] + ["tests/test_x.py::test_y"]
    order = schedule_order(ids, lookup, timed)
    # unit "world" = A + B = 9 s > C = 8 s > the tests/ item (1 s, as a medium claim) > D = E = 0.5 s (stable)
    assert order == [node("A"), node("B"), node("C"), "tests/test_x.py::test_y", node("D"), node("E")]


def test_a_slow_claim_the_baseline_does_not_time_yet_goes_first():
    order = schedule_order([node("C"), node("NEW")], lookup, {"C": 100.0})
    assert order[0] == node("NEW")


def test_baseline_seconds_tolerates_a_missing_or_foreign_file(tmp_path):
    assert baseline_seconds(tmp_path / "none.json") == {}
    (tmp_path / "bad.json").write_text("not json")
    assert baseline_seconds(tmp_path / "bad.json") == {}
    (tmp_path / "ok.json").write_text(json.dumps({"claims": {"A": {"seconds": 2.5}, "B": {"verdict": "held"}}}))
    assert baseline_seconds(tmp_path / "ok.json") == {"A": 2.5}


def test_the_committed_baseline_times_every_claim_and_every_shared_name_has_two_claims():
    timed = baseline_seconds(ROOT / "reports" / "baseline.json")
    assert {c.id for c in all_claims()} <= set(timed)
    names = Counter(c.shares for c in all_claims() if c.shares)
    assert names and all(n >= 2 for n in names.values()), names  # a name on one claim is a typo: nothing shared


def test_under_xdist_claims_that_share_a_training_run_on_one_worker(tmp_path):
    """pytest-xdist's loadgroup ignores xdist_group marks under pytest 9.2 (pytest-xdist#1386); this scheduler does
    not rely on them. Two cheap claims sharing li2024's default world, and two unshared ones."""
    assert get_claim("L-P42").shares and get_claim("L-P42").shares == get_claim("L-C43").shares
    env = dict(os.environ) | {"HYPOTHESIS_PROFILE": "ci"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "properties/test_li2024.py", "-n", "2", "-v", "--no-claims-report",
         f"--claims-results={tmp_path / 'r.jsonl'}", "-k", "L-P42 or L-C43 or L-E-DATA or L-E-PERM"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "scheduling tests via ClaimGroupScheduling" in out.stdout, out.stdout[-3000:]
    worker = {cid: gw for gw, cid in re.findall(r"\[(gw\d+)\].*?test_claim\[([A-Z0-9-]+)\]", out.stdout)}
    assert len(worker) == 4, out.stdout[-3000:]
    assert worker["L-P42"] == worker["L-C43"], worker


def test_the_controller_reads_claims_from_the_header_and_falls_back_to_the_registry():
    from properties.scheduling import claims_from_header

    header = [{"type": "run"}, {"type": "claim", "id": "X-1", "cost": "slow", "shares": "world"}]
    from_header = claims_from_header(lambda: header)
    assert from_header("X-1").shares == "world" and from_header("X-1").cost.value == "slow"
    assert work_unit(node("X-1"), from_header) == "shares:world"
    assert work_unit(node("NOPE"), from_header) == node("NOPE")  # unknown id: its own unit
    no_header = claims_from_header(lambda: None)  # worker gw0 died before writing it
    assert no_header("L-P42").shares == get_claim("L-P42").shares


@pytest.mark.parametrize("device, gate, expected", [("cpu", None, "baseline.json"),
                                                    ("cuda", None, "baseline-cuda.json"),
                                                    ("cuda", "mine.json", "mine.json")])
def test_the_scheduler_times_claims_from_the_device_s_baseline(device, gate, expected):
    from properties.plugins.schedule import timing_baseline
    from properties.plugins.state import state

    class Config:
        stash = pytest.Stash()

        def getoption(self, name):
            assert name == "--claims-baseline"
            return gate

    cfg = Config()
    state(cfg).device = device
    assert timing_baseline(cfg).name == expected

"""``--impl``: the claims against another implementation of a paper's model API (examples/alt_ren2024.py), a
deliberately broken copy of it, and the one-message errors for bad specs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from properties.harness import pinned_draws
from theorems import get_claim, run_claim
from theorems import impl as impl_mod

ROOT = Path(__file__).resolve().parents[1]
ALT = "examples.alt_ren2024"


def _first_draws(claim_id: str, n: int = 3) -> list[dict]:
    return pinned_draws()[claim_id][:n]


def test_the_alternative_implementation_holds_where_it_provides_the_api_and_is_not_applicable_elsewhere():
    alt = impl_mod.from_module("ren2024", ALT)
    assert {"ffn", "augmented_attention"} <= set(alt.missing()) and "kernel_attention" not in alt.missing()
    for cid in ("R-T31", "R-SEQ"):
        for d in _first_draws(cid):
            ev = run_claim(get_claim(cid), d["config"], seed=d["seed"], impl=alt)
            assert ev.status == "held" and ev.impl == f"impl:{ALT}", ev.describe()
    d = _first_draws("R-FFN", 1)[0]
    ev = run_claim(get_claim("R-FFN"), d["config"], seed=d["seed"], impl=alt)
    assert ev.status == "not applicable" and "does not provide" in ev.unmet_assumptions[0]


def test_a_deliberately_broken_copy_of_the_alternative_is_caught(tmp_path, monkeypatch):
    """The alternative with keys scaled by d_o^{-1/2} instead of d_o^{-1/4} on one side: R-T31 reports a violation."""
    src = (ROOT / "examples" / "alt_ren2024.py").read_text()
    broken = src.replace("def prf(x, Wr):", "def prf(x, Wr):\n    x = 1.5 * x", 1)
    assert broken != src
    (tmp_path / "broken_ren.py").write_text(broken)
    monkeypatch.syspath_prepend(str(tmp_path))
    bad = impl_mod.from_module("ren2024", "broken_ren")
    statuses = {run_claim(get_claim("R-T31"), d["config"], seed=d["seed"], impl=bad).status
                for d in pinned_draws()["R-T31"]}
    assert "violated" in statuses


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_pytest_runs_the_claims_against_the_alternative_through_the_impl_option(tmp_path):
    out = _cli("-m", "pytest", "properties/", "-q", "-p", "no:xdist", "-k", "R-T31 or R-FFN", "--impl",
               f"ren2024={ALT}", "--no-claims-report", "--claims-results", str(tmp_path / "r.jsonl"))
    assert out.returncode == 0, out.stdout[-3000:]
    recs = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert recs[0]["impls"] == {"ren2024": ALT}
    ev = [r for r in recs if r["type"] == "evidence"]
    assert {r["impl"] for r in ev} == {f"impl:{ALT}"}
    assert {r["status"] for r in ev if r["claim_id"] == "R-FFN"} == {"not applicable"}
    assert {r["status"] for r in ev if r["claim_id"] == "R-T31"} == {"held"}


@pytest.mark.parametrize("spec, message", [
    ("ren2024=no_such_module_xyz", "cannot import 'no_such_module_xyz'"),
    ("nope2024=examples.alt_ren2024", "unknown paper 'nope2024'"),
])
def test_a_bad_impl_stops_the_run_with_one_message(spec, message, tmp_path):
    out = _cli("-m", "pytest", "properties/", "-q", "-p", "no:xdist", "-k", "R-T31", "--impl", spec,
               "--no-claims-report", "--claims-results", str(tmp_path / "r.jsonl"))
    assert out.returncode != 0 and message in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_the_cli_checks_one_example_against_an_impl_or_a_mutant():
    d = _first_draws("R-T31", 1)[0]
    cfg = json.dumps(d["config"])
    alt = _cli("-m", "theorems", "check", "R-T31", "--config", cfg, "--impl", f"ren2024={ALT}")
    assert alt.returncode == 0 and json.loads(alt.stdout)["impl"] == f"impl:{ALT}"
    wrong = _cli("-m", "theorems", "check", "R-T31", "--config", cfg, "--impl", "yang2024=examples.alt_ren2024")
    assert wrong.returncode == 2 and "names yang2024, but the claim is of ren2024" in wrong.stderr
    mut = _cli("-m", "theorems", "check", "R-T31", "--config", cfg, "--mutant", "R-M03")
    assert mut.returncode == 1 and "--mutant R-M03" in json.loads(mut.stdout)["reproduce"]

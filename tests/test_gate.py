"""The regression gate: synthetic results (see test_report.scenario), a deliberately broken model, and conftest's
wiring of ``--claims-baseline`` / ``--claims-update-baseline``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports import gate
from reports.__main__ import main as cli
from tests.test_report import END, claims, evidence, run_record, scenario, scenario_records, write_results

@pytest.fixture
def baseline(tmp_path) -> Path:
    return gate.write_baseline(scenario(tmp_path / "base.jsonl"), tmp_path / "baseline.json")


def _with(tmp_path: Path, edit) -> Path:
    """The scenario's results after ``edit(header, evidence)``."""
    header, ev = scenario_records()
    edit(header, ev)
    return write_results(tmp_path / "now.jsonl", header, ev)


def test_baseline_has_verdicts_margins_and_rates_with_sorted_keys(baseline):
    text = baseline.read_text()
    base = json.loads(text)
    assert text == json.dumps(base, sort_keys=True, indent=2) + "\n"
    assert base["format"] == gate.FORMAT and base["run"]["profile"] == "ci"
    assert {k: v["verdict"] for k, v in base["claims"].items()} == {
        "A-HELD": "held", "A-VIOL": "violated", "A-UNMET": "assumption not met"}  # A-IDLE was not checked
    held = base["claims"]["A-HELD"]
    assert held["examples"] == 5 and held["worst_relative_margin"] == pytest.approx(0.6)
    assert held["worst_margin"] == pytest.approx(0.6) and held["rates"] == {"slope": pytest.approx(-0.525)}
    assert sorted(p.name for p in baseline.parent.iterdir()) == ["base.jsonl", "baseline.json"]  # no temp file left


def test_identical_results_pass(tmp_path, baseline):
    assert gate.compare(scenario(tmp_path / "same.jsonl"), baseline) == []


def test_held_to_violated_names_the_claim_and_the_margin(tmp_path, baseline):
    c = claims()["A-HELD"]

    def break_it(header, ev):
        ev[2] = evidence(c, {"x": 1.3}, seed=2, example=2)  # measured 1.3 against the bound 1: relative margin -0.3

    problems = gate.compare(_with(tmp_path, break_it), baseline)
    assert len(problems) == 1
    assert problems[0].startswith("A-HELD: held in the baseline, now violated (1 of 5 examples; worst relative margin -0.3")
    assert "python -m theorems check A-HELD" in problems[0]


def test_a_claim_that_disappears_is_a_regression(tmp_path, baseline):
    def drop(header, ev):
        header[:] = [h for h in header if h.get("id") != "A-HELD"]
        ev[:] = [e for e in ev if e["claim_id"] != "A-HELD"]

    assert gate.compare(_with(tmp_path, drop), baseline) == [
        "A-HELD: in the baseline (held) but missing from the results: no longer registered"]

    def deselect(header, ev):
        ev[:] = [e for e in ev if e["claim_id"] != "A-VIOL"]

    (msg,) = gate.compare(_with(tmp_path, deselect), baseline)
    assert msg.startswith("A-VIOL: in the baseline (violated) but no example of it was checked")


def test_margin_shrinking_beyond_the_threshold_fails_and_within_it_passes(tmp_path, baseline):
    c = claims()["A-HELD"]

    def worst_to(x):
        def edit(header, ev):
            ev[3] = evidence(c, {"x": x}, seed=3, example=3)
        return edit

    # baseline worst relative margin 0.6 (x = 0.4): a drop of more than max(0.5 x 0.6, 1e-3) = 0.3 is a regression
    assert gate.compare(_with(tmp_path, worst_to(0.65)), baseline) == []  # 0.35: a drop of 0.25
    (msg,) = gate.compare(_with(tmp_path, worst_to(0.75)), baseline)  # 0.25: a drop of 0.35
    assert msg.startswith("A-HELD: worst relative margin shrank from 0.6 to 0.25 (by 0.35, more than the allowed "
                          "max(0.5 x |0.6|, 0.001) = 0.3)")
    assert gate.shrink_limit(0.6) == pytest.approx(0.3) and gate.shrink_limit(1e-5) == gate.ABS_DROP


def test_assumption_not_met_instead_of_held_and_a_foreign_profile(tmp_path, baseline):
    def unmet(header, ev):
        c = claims()["A-HELD"]
        ev[:5] = [evidence(c, {"x": -1.0}, example=i) for i in range(5)]

    (msg,) = gate.compare(_with(tmp_path, unmet), baseline)
    assert msg.startswith("A-HELD: held in the baseline, now every example (5) is outside the claim's assumptions")

    def dev(header, ev):
        header[0] = run_record(profile="dev")

    (msg,) = gate.compare(_with(tmp_path, dev), baseline)
    assert "'ci' profile and this run used 'dev'" in msg


@pytest.mark.parametrize("content, problem", [
    (None, "no such baseline file"),
    ("dir", "is a directory"),
    ('{"format": "icl-claims-baseline/1", "claims": {"A": {"verd', "truncated or corrupt"),
    ("verdict,margin\n", "is not a claims baseline"),
    ('{"format": "other/2", "claims": {}}', "is not a claims baseline"),
    ('{"format": "icl-claims-baseline/1", "claims": {"A": {"verdict": "fine"}}}', "no valid verdict"),
])
def test_bad_baseline_is_one_error_naming_the_file(tmp_path, content, problem, capsys):
    path = tmp_path / "baseline.json"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    results = scenario(tmp_path / "r.jsonl")
    with pytest.raises(gate.BaselineFileError) as e:
        gate.compare(results, path)
    assert str(path) in str(e.value) and problem in str(e.value)
    assert cli([str(results), "--check-baseline", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err


def test_cli_exit_status_and_no_baseline_from_an_interrupted_run(tmp_path, baseline, capsys):
    assert cli([str(scenario(tmp_path / "same.jsonl")), "--check-baseline", str(baseline)]) == 0
    broken = _with(tmp_path, lambda h, ev: ev.__setitem__(0, evidence(claims()["A-HELD"], {"x": 2.0})))
    assert cli([str(broken), "--check-baseline", str(baseline)]) == 1
    assert "REGRESSION A-HELD: held in the baseline, now violated" in capsys.readouterr().out
    interrupted = scenario(tmp_path / "killed.jsonl", end=None)
    before = baseline.read_bytes()
    assert cli([str(interrupted), "--write-baseline", str(baseline)]) == 2
    assert "interrupted run" in capsys.readouterr().err and baseline.read_bytes() == before


def _rt31_results(path: Path, check=None) -> Path:
    """Results of the real R-T31 on a few configs, through the same run_claim the properties use."""
    from theorems import all_claims, get_claim, run_claim
    from theorems.registry import PAPERS

    claim = get_claim("R-T31")
    header = [run_record(papers={k: {"title": v["title"], "spec_ids": v["spec_ids"]} for k, v in PAPERS.items()})]
    header += [{"type": "claim", **c.metadata()} for c in all_claims()]
    ev = [run_claim(claim, {"N": n, "d_r": 16, "batch": 4}, seed=s, check=check).to_json() | {"type": "evidence"}
          for s, n in enumerate((3, 8, 15))]
    return write_results(path, header, ev, END)


def test_gate_fails_on_a_deliberately_broken_model_and_passes_on_the_intact_one(tmp_path, monkeypatch):
    import models.ren2024 as model

    base = gate.write_baseline(_rt31_results(tmp_path / "intact.jsonl"), tmp_path / "baseline.json")
    assert gate.compare(_rt31_results(tmp_path / "again.jsonl"), base) == []
    intact_predict = model.dual_predict
    # The broken dual model: its prediction is off by one part in 1e9, far above float64 round-off.
    monkeypatch.setattr(model, "dual_predict", lambda W, phi: intact_predict(W, phi) * (1 + 1e-9))
    problems = gate.compare(_rt31_results(tmp_path / "broken.jsonl"), base)
    assert [p.split(":")[0] for p in problems] == ["R-T31"] and "now violated (3 of 3 examples" in problems[0]


class _Config:
    """The few pytest.Config members that conftest's results hook reads and writes."""

    def __init__(self, **options):
        self.options = options

    def getoption(self, name):
        return self.options[name]


def test_conftest_fails_the_run_on_a_regression_and_says_which(tmp_path):
    """What ``pytest properties/ --claims-baseline PATH`` does once the results are merged (conftest._after_results,
    in-process: a nested pytest session would cost a torch start-up and share this process's recorder)."""
    import conftest

    results, report, base = scenario(tmp_path / "r.jsonl"), tmp_path / "r.html", tmp_path / "baseline.json"
    gate.write_baseline(results, base)
    opts = {"--no-claims-report": False, "--claims-report": str(report), "--claims-baseline": str(base),
            "--claims-update-baseline": None}
    ok = _Config(**opts)
    conftest._after_results(ok, results)
    assert not getattr(ok, "_claims_gate_failed", False) and report.exists()
    assert f"claims baseline {base}: no regression" in ok._claims_summary
    broken = _with(tmp_path, lambda h, ev: ev.__setitem__(0, evidence(claims()["A-HELD"], {"x": 2.0})))
    bad = _Config(**opts)
    conftest._after_results(bad, broken)
    assert bad._claims_gate_failed is True
    assert any(line.startswith("  REGRESSION A-HELD: held in the baseline, now violated") for line in bad._claims_summary)
    upd = _Config(**opts | {"--claims-baseline": None, "--claims-update-baseline": str(tmp_path / "new.json")})
    conftest._after_results(upd, broken)
    assert json.loads((tmp_path / "new.json").read_text())["claims"]["A-HELD"]["verdict"] == "violated"


@pytest.mark.parametrize("name, device", [("baseline.json", "cpu"), ("baseline-cuda.json", "cuda")])
def test_committed_baselines_cover_every_claim(name, device):
    """reports/baseline.json (the CI gate) and reports/baseline-cuda.json (an H100 run at paper sizes) name every
    registered claim, as held, and say which device they were measured on."""
    from theorems import all_claims

    base = gate.read_baseline(Path(__file__).resolve().parents[1] / "reports" / name)
    assert base["run"]["device"] == device
    assert set(base["claims"]) == {c.id for c in all_claims()}
    assert {e["verdict"] for e in base["claims"].values()} == {"held"}

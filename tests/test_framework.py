"""The claim framework itself: config validation, outcomes, run_claim, CLI, reproducibility, tolerances."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from theorems import Assumption, Claim, ConfigError, Cost, Kind, Outcome, Param, Provenance, all_claims, get_claim, run_claim
from theorems import tolerances as tol
from theorems.core import relative_margin

ROOT = Path(__file__).resolve().parents[1]


def _toy_claim(check=None, **kw) -> Claim:
    return Claim(
        id="R-T31", paper="ren2024", reference="toy", title="toy", statement="x", provenance=Provenance.STATED,
        kind=Kind.INEQUALITY, check=check or (lambda cfg, ctx: Outcome.at_most(cfg["n"], 3)),
        params=(Param("n", int, min=1), Param("tau", float, gt=0)), defaults={"n": 1, "tau": 1.0}, **kw,
    )


@pytest.mark.parametrize("overrides, parameter", [
    ({"n": 0}, "n"), ({"n": -3}, "n"), ({"n": 1.5}, "n"), ({"n": "2"}, "n"), ({"n": True}, "n"),
    ({"tau": 0.0}, "tau"), ({"tau": float("nan")}, "tau"), ({"tau": float("inf")}, "tau"), ({"bogus": 1}, "bogus"),
])
def test_invalid_config_names_the_parameter(overrides, parameter):
    with pytest.raises(ConfigError) as e:
        run_claim(_toy_claim(), overrides, seed=0)
    assert e.value.parameter == parameter and f"'{parameter}'" in str(e.value)


def test_negative_seed_is_a_config_error():
    with pytest.raises(ConfigError, match="'seed'"):
        run_claim(_toy_claim(), {}, seed=-1)


def test_verdicts_and_signed_margins():
    claim = _toy_claim()
    held = run_claim(claim, {"n": 2}, seed=0)
    violated = run_claim(claim, {"n": 5}, seed=0)
    assert (held.status, held.holds, held.margin) == ("held", True, 1.0)
    assert (violated.status, violated.holds, violated.margin) == ("violated", False, -2.0)
    assert violated.relative_margin == pytest.approx(-2 / 3)


def test_unmet_assumption_is_reported_not_passed():
    claim = _toy_claim(assumptions=(Assumption("n >= 2", lambda c: c["n"] >= 2),))
    ev = run_claim(claim, {"n": 1}, seed=0)
    assert ev.status == "assumption not met" and ev.holds is None and ev.unmet_assumptions == ["n >= 2"]


def test_nan_margin_is_a_violation():
    ev = run_claim(_toy_claim(check=lambda cfg, ctx: Outcome.at_most(float("nan"), 1.0)), {}, seed=0)
    assert ev.holds is False


def test_outcome_constructors():
    assert Outcome.at_least(5, 3).margin == 2 and Outcome.at_least(2, 3).holds is False
    w = Outcome.within(-0.5, -0.65, -0.35)
    assert w.holds and w.margin == pytest.approx(0.15)
    assert not Outcome.within(-0.2, -0.65, -0.35).holds
    combined = Outcome.all_of({"a": Outcome.at_most(1, 10), "b": Outcome.at_most(0.9, 1)})
    assert combined.holds and combined.details["worst_part"] == "b"
    assert relative_margin(combined) == pytest.approx(0.1)
    assert not Outcome.all_of({"a": Outcome.at_most(1, 10), "b": Outcome.at_most(2, 1)}).holds


def test_exact_parts_are_not_the_headline_margin():
    """An exact part (a violation count that must be 0) has no slack; the graded part's margin is what the gate
    follows, unless every part is exact, or the exact part breaks."""
    graded = Outcome.at_most(0.5, 1.0)
    exact = Outcome.at_most(0, 0.0, exact=True)
    combined = Outcome.all_of({"exact": exact, "graded": graded})
    assert combined.details["worst_part"] == "graded" and combined.margin == 0.5 and not combined.exact
    assert Outcome.all_of({"exact": exact}).exact
    broken = Outcome.all_of({"exact": Outcome.at_most(1, 0.0, exact=True), "graded": graded})
    assert broken.holds is False and broken.details["worst_part"] == "exact"


def test_same_seed_reproduces_bit_for_bit():
    claim = get_claim("R-T31")
    a = run_claim(claim, {"d_r": 7}, seed=123).to_json()
    b = run_claim(claim, {"d_r": 7}, seed=123).to_json()
    c = run_claim(claim, {"d_r": 7}, seed=124).to_json()
    for ev in (a, b, c):
        for key in ("seconds", "seed", "reproduce"):
            ev.pop(key)
    assert a == b
    assert a["details"] != c["details"], "another seed draws another instance"


def test_evidence_is_plain_json():
    ev = run_claim(get_claim("R-T31"), {}, seed=1)
    record = ev.to_json()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    for key in ("measured", "bound", "margin", "holds", "config", "seed", "device", "dtype", "seconds", "reproduce"):
        assert key in record


def test_every_claim_is_well_formed():
    claims = all_claims()
    assert claims, "no claims registered"
    for c in claims:
        assert c.id.split("-")[0] in "RYL" and c.paper in ("ren2024", "yang2024", "li2024")
        assert c.statement and c.title and c.reference
        if c.kind is Kind.STATISTICAL:
            assert c.false_fail_rate is not None and 0 < c.false_fail_rate < 0.05, c.id
        assert c.tolerance, f"{c.id}: say how the tolerance is derived"
        c.config()  # the defaults are valid


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "theorems", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_lists_claims_tab_separated_and_as_json():
    out = _cli()
    assert out.returncode == 0
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    assert all(len(r) == 5 for r in rows)
    ids = {r[0] for r in rows}
    assert {"R-T31"} <= ids
    assert {r[3] for r in rows} <= {"STATED", "DERIVED-HIGH", "DERIVED-LOW"}
    as_json = json.loads(_cli("--json").stdout)
    assert {c["id"] for c in as_json} == ids


def test_cli_check_bad_config_is_one_clear_line():
    out = _cli("check", "R-T31", "--config", '{"d_r": 0}')
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "'d_r'" in out.stderr and "Traceback" not in out.stderr


def test_cli_check_runs_one_example():
    out = _cli("check", "R-T31", "--seed", "3", "--config", '{"d_r": 2, "N": 3}')
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "held"


def test_every_preset_is_a_valid_config():
    """A preset is a claim's named set of overrides (e.g. the paper's sizes): each must validate against the params."""
    with_presets = [c for c in all_claims() if c.presets]
    assert {"Y-F2", "Y-F4", "Y-F5", "L-F-ALPHA"} <= {c.id for c in with_presets}
    for c in with_presets:
        for name in c.presets:
            cfg = c.config(c.preset(name))
            assert all(cfg[k] == v for k, v in c.presets[name].items()), (c.id, name)


def test_preset_falls_back_to_the_size_or_is_a_clear_error():
    assert get_claim("Y-F3").preset("paper") == {"size": "paper"}  # a size param and no preset of its own
    with pytest.raises(ConfigError, match="no preset 'paper'"):
        get_claim("R-T31").preset("paper")


def test_cli_check_unknown_preset_is_one_clear_line():
    out = _cli("check", "R-T31", "--preset", "paper")
    assert out.returncode == 2 and "no preset 'paper'" in out.stderr and "Traceback" not in out.stderr


# ---------------------------------------------------------------- tolerances and statistics
def test_identity_tolerance_scales_with_eps_size_and_scale():
    base = tol.identity_tolerance(torch.float64, 10, 1.0, c=1)
    assert base == pytest.approx(10 * 2.0**-52)
    assert tol.identity_tolerance(torch.float32, 10, 1.0, c=1) / base == pytest.approx(2.0**29)
    assert tol.identity_tolerance(torch.float64, 20, 3.0, c=1) == pytest.approx(6 * base)


def test_clopper_pearson_covers_and_is_exact():
    lo, hi = tol.clopper_pearson(5, 10, 0.05)
    assert lo == pytest.approx(0.187, abs=1e-3) and hi == pytest.approx(0.813, abs=1e-3)
    assert tol.clopper_pearson(0, 10, 0.05)[0] == 0.0 and tol.clopper_pearson(10, 10, 0.05)[1] == 1.0


def test_binomial_acceptance_region_has_the_stated_rate():
    from scipy import stats

    n, p, rate = 400, 0.3, 1e-3
    lo, hi = tol.binomial_acceptance(n, p, rate)
    outside = stats.binom.cdf(lo - 1, n, p) + stats.binom.sf(hi, n, p)
    assert outside <= rate


def test_fit_slope_recovers_a_power_law():
    x = np.array([64, 256, 1024, 4096])
    fit = tol.fit_slope(x, 3.0 * x**-0.5)
    assert fit.slope == pytest.approx(-0.5) and fit.r2 == pytest.approx(1.0)
    lo, hi = tol.fit_slope(x, 3.0 * x**-0.5 * np.array([1.1, 0.9, 1.05, 0.97])).ci(0.05, len(x))
    assert lo < -0.5 < hi


def test_distribution_free_radii():
    assert tol.chebyshev_k(1e-6) == pytest.approx(1000)
    assert tol.hoeffding_radius(100, 1.0, 0.05) == pytest.approx(math.sqrt(math.log(40) / 200))
    assert tol.dkw_radius(100, 0.05) == tol.hoeffding_radius(100, 1.0, 0.05)
    assert tol.normal_quantile(0.05) == pytest.approx(1.95996, abs=1e-4)


def test_a_check_can_report_a_precondition_of_its_draw_as_unmet():
    from theorems import AssumptionNotMet

    def overflowed(cfg, ctx):
        raise AssumptionNotMet("float64 range")

    ev = run_claim(_toy_claim(check=overflowed), {}, seed=0)
    assert ev.status == "assumption not met" and ev.unmet_assumptions == ["float64 range"] and ev.holds is None

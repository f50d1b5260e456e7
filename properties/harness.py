"""The thin generic layer between Hypothesis and the claim registry (cf. array-api-tests).

A property test runs a claim through :func:`theorems.run_claim` on (config, seed) pairs, records the evidence and
fails on a violation: under the ci profile on the pinned draws (:func:`replay`), otherwise on Hypothesis's draws plus
the papers' own settings as ``@example``s, steering towards the worst margins with ``target()``. Inconclusive
examples do not fail the test; the terminal summary, the report and the gate show them.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, reject, seed, settings, target
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from theorems import ConfigError, Cost, Status, get_claim, run_claim
from theorems.core import jsonable, reproduce_command

from properties.profiles import EXAMPLES

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
# The ci profile replays pinned draws (properties/ci_draws.json, written by ``python -m properties.pin``): a fixed
# list of (config, seed) per claim. Hypothesis would derive derandomized draws from the test's source and from
# constants it mines in every local module imported so far, so an edit anywhere, another test order or another xdist
# worker would draw other examples and move the baselines' margins. Pinned, they move only when re-pinned on purpose.
CI_DRAWS = Path(__file__).with_name("ci_draws.json")


def claim_seed(claim_id: str) -> int:
    """A stable per-claim Hypothesis seed (``hypothesis.seed``) for derandomized generation, e.g. when pinning."""
    return int.from_bytes(hashlib.sha256(claim_id.encode()).digest()[:8], "big")


@functools.lru_cache(maxsize=1)
def pinned_draws() -> dict[str, list[dict[str, Any]]]:
    return json.loads(CI_DRAWS.read_text())["draws"] if CI_DRAWS.exists() else {}


class Session:
    """Set by properties/plugins/evidence.py: device, profile, implementations under test and evidence recorder."""

    device: str = "cpu"
    profile: str = "ci"
    recorder = None  # callable(dict) -> None
    impls: dict = {}  # paper -> theorems.impl.Impl under test (--impl); absent: the reference


def figure_size() -> str:
    """Size of the slow figure claims: the papers' sizes on a GPU, reduced on the CPU (override: CLAIMS_SIZE)."""
    return os.environ.get("CLAIMS_SIZE") or ("paper" if Session.device == "cuda" else "reduced")


def figure_config(claim_id: str) -> dict[str, Any]:
    """The config a figure claim runs at this size: its preset of that name (the paper's sizes with calibrated
    training settings), else just the size."""
    return get_claim(claim_id).preset(figure_size())


def examples_for(cost: Cost) -> int:
    table = EXAMPLES.get(Session.profile)
    if table is None:  # a user-defined profile: scale from its max_examples
        n = settings().max_examples
        return {Cost.CHEAP: n, Cost.MEDIUM: max(1, n // 8), Cost.SLOW: max(1, n // 25)}[cost]
    return table[Cost(cost).value]


def explicit_examples(claim_id: str) -> list[tuple[dict[str, Any], int]]:
    """(config, seed) pairs every profile runs besides its draws, from ``properties/test_<paper>.py``: the papers' own
    settings (``PAPER_SETTINGS``, seed 0) and counterexamples found by earlier runs (``COUNTEREXAMPLES``: config and
    seed, each with a comment saying what it found), kept so that the property never loses them."""
    import importlib

    mod = importlib.import_module(f"properties.test_{get_claim(claim_id).paper}")
    return ([(dict(c), 0) for c in getattr(mod, "PAPER_SETTINGS", {}).get(claim_id, ())]
            + [(dict(c), int(seed)) for c, seed in getattr(mod, "COUNTEREXAMPLES", {}).get(claim_id, ())])


def _figure_size_config(claim, cfg: dict[str, Any]) -> dict[str, Any]:
    """A pinned figure config is the reduced size; on a GPU (or CLAIMS_SIZE=paper) run the claim's preset instead."""
    if any(p.name == "size" for p in claim.params) and figure_size() != cfg.get("size", "reduced"):
        return cfg | claim.preset(figure_size())
    return cfg


def _impl_for(claim):
    return Session.impls.get(claim.paper)


def replay(claim_id: str, draws: list[dict[str, Any]], *, impl=None, test_id: str = "",
           stop_at_violation: bool = True) -> list[dict[str, Any]]:
    """Run fixed (config, seed) draws in order; evidence records of every example, up to the first violation.
    The ci profile and the kill matrix replay the pinned draws through this."""
    claim = get_claim(claim_id)
    impl = impl or _impl_for(claim)
    out: list[dict[str, Any]] = []
    for i, d in enumerate(draws):
        cfg = _figure_size_config(claim, dict(d["config"]))
        try:
            claim.config(cfg)
        except ConfigError as e:
            raise AssertionError(f"pinned draw {i} of {claim_id} is no longer a valid config: {e}; re-pin with "
                                 "`python -m properties.pin`") from None
        try:
            ev = run_claim(claim, cfg, seed=int(d["seed"]), device=Session.device, impl=impl)
        except Exception as e:  # noqa: BLE001 - a crash (a wrong model's shape error too) is a violation
            rec = _error_record(claim, cfg, int(d["seed"]), test_id, e, i, impl)
            out.append(rec)
            if stop_at_violation:
                return out
            continue
        rec = ev.to_json() | {"type": "evidence", "test_id": test_id, "profile": Session.profile, "example": i,
                              "final": True}
        out.append(rec)
        if ev.holds is False and stop_at_violation:
            break
    return out


def check_claim(claim_id: str, config: st.SearchStrategy[dict[str, Any]], *, max_examples: int | None = None,
                examples: list[tuple[dict[str, Any], int]] | None = None) -> None:
    """Property: for every drawn (config, seed) the claim is not violated. Records one evidence line per example.

    Under the ci profile the pinned draws are replayed; otherwise Hypothesis draws ``config`` and a seed, plus the
    explicit ``examples`` ((config, seed) pairs; default :func:`explicit_examples`). Inconclusive examples do not fail the test;
    the terminal summary, the report and the gate show them."""
    claim = get_claim(claim_id)
    test_id = os.environ.get("PYTEST_CURRENT_TEST", claim_id).split(" ")[0]
    pinned = pinned_draws().get(claim_id)
    if Session.profile == "ci" and max_examples is None and pinned is not None:
        records = replay(claim_id, pinned, test_id=test_id)
        _record(records)
        bad = [r for r in records if r["status"] == Status.VIOLATED.value]
        unmet = [r for r in records if r["status"] == Status.ASSUMPTION_NOT_MET.value and not claim.unmet(r["config"])]
        if bad:
            raise AssertionError(_describe(bad[0]))
        if unmet and len(unmet) == len(records):
            raise AssertionError(f"{claim_id}: no pinned draw met the assumptions of its draw: {_describe(unmet[0])}")
        return

    buffer: list[dict[str, Any]] = []
    n = max_examples or examples_for(claim.cost)
    # A slow claim's failure is not shrunk: each replay retrains a model, and its seed has no simpler form.
    phases = [p for p in settings().phases if p is not Phase.shrink] if claim.cost is Cost.SLOW else settings().phases

    def prop(cfg: dict[str, Any], seed: int) -> None:
        final = current_build_context().is_final
        try:
            ev = run_claim(claim, cfg, seed=seed, device=Session.device, impl=_impl_for(claim))
        except ConfigError as e:  # a strategy drew an invalid config: a bug of the strategy, say so plainly
            raise AssertionError(f"strategy for {claim_id} drew an invalid config: {e}") from None
        except Exception as e:  # a check that crashes is a violation too: keep its evidence, then re-raise
            if final:
                buffer.append(_error_record(claim, cfg, seed, test_id, e, len(buffer), _impl_for(claim)))
            raise
        rec = ev.to_json() | {"type": "evidence", "test_id": test_id, "profile": Session.profile}
        # While Hypothesis shrinks a failure it replays many failing candidates; keep only the final, minimal one.
        if ev.holds is not False or final:
            rec["example"] = len(buffer)
            rec["final"] = final
            buffer.append(rec)
        if ev.status == Status.ASSUMPTION_NOT_MET.value and not claim.unmet(ev.config):
            reject()  # a precondition of this draw (e.g. float64's range), not of the config: no counterexample
        if ev.relative_margin is not None:
            target(-ev.relative_margin, label=f"{claim_id} worst relative margin")
        assert ev.holds is not False, ev.describe()
        assert ev.status != Status.ASSUMPTION_NOT_MET.value, (
            f"{claim_id}: strategy drew a config whose assumptions are not met: {ev.describe()}")

    for cfg, ex_seed in (explicit_examples(claim_id) if examples is None else examples):
        prop = example(cfg=cfg, seed=ex_seed)(prop)
    prop = settings(max_examples=n, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])(
        given(cfg=config, seed=SEEDS)(prop))
    if settings().derandomize:
        prop = seed(claim_seed(claim_id))(prop)
    try:
        prop()
    except Exception as e:
        blob = next((n for n in getattr(e, "__notes__", []) if "reproduce_failure" in n), "")
        for rec in buffer:
            if rec.get("final"):
                rec["hypothesis"] = {"reproduce_failure": blob} if blob else {}
        raise
    finally:
        _record(buffer)


def _record(records: list[dict[str, Any]]) -> None:
    if Session.recorder is not None:
        for rec in records:
            Session.recorder(rec)


def _describe(rec: dict[str, Any]) -> str:
    if rec.get("error"):
        return f"{rec['claim_id']} crashed: {rec['error']} for {rec['config']}\n  reproduce: {rec['reproduce']}"
    from theorems.core import Evidence

    fields = {k: rec.get(k) for k in Evidence.__dataclass_fields__ if k in rec}
    return Evidence(**fields).describe()


def _error_record(claim, cfg: dict[str, Any], seed: int, test_id: str, e: Exception, example: int,
                  impl=None) -> dict[str, Any]:
    key = impl.key if impl is not None else "reference"
    return {
        "type": "evidence", "claim_id": claim.id, "paper": claim.paper, "status": "violated", "holds": False,
        "measured": None, "bound": None, "margin": None, "relative_margin": None, "config": jsonable(cfg),
        "seed": seed, "device": Session.device, "dtype": "", "seconds": 0.0, "test_id": test_id,
        "profile": Session.profile, "error": f"{type(e).__name__}: {e}", "example": example, "final": True,
        "reproduce": reproduce_command(claim.id, cfg, seed, Session.device, key, claim.paper), "impl": key,
    }


def claim_params(paper: str, strategies: dict[str, st.SearchStrategy]) -> list:
    """pytest params for a paper's claims: ids are the claim ids, marks carry paper, provenance and cost."""
    out = []
    for cid in strategies:
        claim = get_claim(cid)
        marks = [getattr(pytest.mark, paper)]
        marks.append(pytest.mark.reconstructed if claim.reconstructed else pytest.mark.stated)
        if claim.cost is Cost.SLOW:
            marks.append(pytest.mark.slow)
        out.append(pytest.param(cid, id=cid, marks=marks))
    return out

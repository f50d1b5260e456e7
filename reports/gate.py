"""The regression gate: compare a run's results with a committed baseline of verdicts and worst margins.

Baseline file (JSON, sorted keys, written atomically by :func:`write_baseline`)::

    {"format": "icl-claims-baseline/1",
     "run": {"profile": "ci", "device": "cpu", "torch": "2.13.0+cpu"},
     "claims": {"R-T31": {"verdict": "held", "examples": 25, "worst_relative_margin": 0.958,
                          "worst_margin": 5.1e-15, "rates": {"slope": -0.31}, "seconds": 0.6}, ...}}

``worst_relative_margin`` is the smallest relative margin over the claim's checked examples: margin / |bound| (as
``theorems.core.relative_margin`` computes it; positive = holds with room, 1 = the measured error is zero against an
upper bound). ``rates`` holds, for information and diffs, the median over the examples of every numeric ``details``
entry whose key contains "slope" or "rate"; rates are not gated (a rate claim gates its slope through its own band,
so its margin already moves when the slope does). ``seconds`` (the time spent in the claim's checks, to 0.1 s) is not
gated either: timing is no guarantee. It is what ``conftest.py`` schedules by, longest claim first.

:func:`compare` reports, one human-readable line each, naming the claim and the amount:

1. a claim that is now violated and was not violated in the baseline;
2. a claim that held in the baseline and now has only examples outside its assumptions;
3. a claim of the baseline that is missing from the results (no longer registered, or registered but not checked);
4. a worst relative margin that shrank too much: with ``r_b`` the baseline's and ``r`` this run's worst relative
   margin of a claim that held in both, a regression is ``r_b - r > max(REL_DROP * |r_b|, ABS_DROP)``, i.e. the run
   lost more than half of the room the baseline had (``REL_DROP = 0.5``), or more than 0.001 of the bound where the
   baseline's room was already tiny (``ABS_DROP = 1e-3``);
5. a baseline written under another Hypothesis profile (its margins are not comparable).

Why this threshold. Margins are compared in units of the bound, so one rule fits identities (errors of a few ulps
against an eps x size x scale tolerance: r is about 0.9 to 1) and bounds of any scale. Losing half the room is what a
real change of behaviour does (an identity whose error grows about tenfold, a statistic that drifts towards its
bound), while ulp-level differences between BLAS builds or devices move an identity's r by far less. The ci profile is
derandomized, so an unchanged tree redraws exactly the same configs and seeds and gets exactly the same margins: the
comparison is stable, and an alarm means the code, torch or the device changed something. A statistical claim's
margin does vary with the seeds, so a change that redraws its examples (another strategy, another use of the
generator) can move it; halving the room is well beyond that variation unless the baseline margin was already thin,
and then the alarm is the point. Once a change is understood, refresh the baseline with ``--claims-update-baseline``
(or ``python -m reports RESULTS --write-baseline reports/baseline.json``) and commit it.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from . import results as res
from .summary import HELD, NOT_CHECKED, UNMET, VIOLATED, ClaimSummary, load, summarize
from .svg import fmt, number

FORMAT = "icl-claims-baseline/1"
REL_DROP = 0.5  # a worst relative margin may lose at most this fraction of the baseline's ...
ABS_DROP = 1e-3  # ... or this much (in units of the bound), whichever is larger
VERDICTS = (HELD, VIOLATED, UNMET)


class BaselineFileError(res.ResultsFileError):
    """A missing, truncated or foreign baseline file; the message names the file and what is wrong."""


def _finite_or_none(x: Any) -> float | None:
    v = number(x)
    return v if v is not None and math.isfinite(v) else None


def _entry(c: ClaimSummary) -> dict[str, Any]:
    w = c.worst
    return {
        "verdict": c.verdict,
        "examples": len(c.evidence),
        "worst_relative_margin": _finite_or_none(w.get("relative_margin")) if w else None,
        "worst_margin": _finite_or_none(w.get("margin")) if w else None,
        "rates": {k: v for k, v in c.rates().items() if math.isfinite(v)},
        "seconds": round(c.seconds, 1),
    }


def baseline_of(results_path: Path | str) -> dict[str, Any]:
    data = load(results_path)
    summary = summarize(data)
    if summary.interrupted:
        raise res.ResultsFileError(results_path, "is the record of an interrupted run; a baseline needs a complete run")
    run = summary.run
    return {
        "format": FORMAT,
        "run": {k: run.get(k) for k in ("profile", "device", "torch")},  # no commit or time: they would churn diffs
        "claims": {c.id: _entry(c) for c in summary.claims if c.verdict != NOT_CHECKED},
    }


def write_baseline(results_path: Path | str, baseline_path: Path | str) -> Path:
    """Write the baseline of a (complete) run, atomically and with sorted keys so that diffs are readable."""
    base = baseline_of(results_path)
    res.atomic_write_text(baseline_path, json.dumps(base, sort_keys=True, indent=2, allow_nan=False) + "\n")
    return Path(baseline_path)


def read_baseline(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise BaselineFileError(path, "no such baseline file (write one with --claims-update-baseline PATH)")
    if path.is_dir():
        raise BaselineFileError(path, "is a directory, expected a baseline file (.json)")
    try:
        base = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BaselineFileError(path, "is not a text file; expected a JSON baseline") from None
    except json.JSONDecodeError as e:
        if e.pos == 0 or not e.doc.lstrip().startswith("{"):
            raise BaselineFileError(path, f"is not a claims baseline (not JSON: {e.msg})") from None
        raise BaselineFileError(path, f"is not valid JSON (line {e.lineno}: {e.msg}); the file is truncated or "
                                      f"corrupt") from None
    except OSError as e:
        raise BaselineFileError(path, f"cannot be read ({e.strerror or e})") from None
    if not isinstance(base, dict) or base.get("format") != FORMAT:
        raise BaselineFileError(path, f"is not a claims baseline (expected a JSON object with format {FORMAT!r})")
    claims = base.get("claims")
    if not isinstance(claims, dict):
        raise BaselineFileError(path, "has no 'claims' object")
    for cid, entry in claims.items():
        if not isinstance(entry, dict) or entry.get("verdict") not in VERDICTS:
            raise BaselineFileError(path, f"claim {cid!r} has no valid verdict (expected one of {list(VERDICTS)})")
    return base


def shrink_limit(r_base: float) -> float:
    """The largest drop of the worst relative margin that is not a regression (see the module docstring)."""
    return max(REL_DROP * abs(r_base), ABS_DROP)


def compare(results_path: Path | str, baseline_path: Path | str) -> list[str]:
    """Regressions of the run in ``results_path`` against ``baseline_path``; an empty list when there is none."""
    base = read_baseline(baseline_path)
    summary = summarize(load(results_path))
    now = {c.id: c for c in summary.claims}
    problems: list[str] = []
    b_profile, profile = (base.get("run") or {}).get("profile"), summary.run.get("profile")
    if b_profile and profile and b_profile != profile:
        problems.append(f"the baseline was written under the {b_profile!r} profile and this run used {profile!r}: "
                        f"margins are only comparable under the same profile (run with --hypothesis-profile "
                        f"{b_profile})")
    for cid in sorted(base["claims"]):
        b = base["claims"][cid]
        bv = b["verdict"]
        c = now.get(cid)
        if c is None:
            problems.append(f"{cid}: in the baseline ({bv}) but missing from the results: no longer registered")
            continue
        v = c.verdict
        if v == NOT_CHECKED:
            problems.append(f"{cid}: in the baseline ({bv}) but no example of it was checked in this run "
                            f"(deselected, or the run stopped before it)")
            continue
        w = c.worst
        if v == VIOLATED and bv != VIOLATED:
            problems.append(
                f"{cid}: {bv} in the baseline, now violated ({c.count(VIOLATED)} of {len(c.evidence)} examples; "
                f"worst relative margin {fmt(w.get('relative_margin'))}, measured {fmt(w.get('measured'))} against "
                f"bound {fmt(w.get('bound'))}; reproduce: {w.get('reproduce') or 'n/a'})"
            )
            continue
        if v == UNMET and bv == HELD:
            problems.append(f"{cid}: held in the baseline, now every example ({len(c.evidence)}) is outside the "
                            f"claim's assumptions, so nothing checks it")
            continue
        if v == HELD and bv == HELD:
            r_b = _finite_or_none(b.get("worst_relative_margin"))
            r = _finite_or_none(w.get("relative_margin")) if w else None
            if r_b is None or r is None:
                continue
            limit = shrink_limit(r_b)
            if r_b - r > limit:
                problems.append(
                    f"{cid}: worst relative margin shrank from {fmt(r_b)} to {fmt(r)} (by {fmt(r_b - r)}, more than "
                    f"the allowed max({REL_DROP} x |{fmt(r_b)}|, {ABS_DROP}) = {fmt(limit)}); worst margin "
                    f"{fmt(b.get('worst_margin'))} -> {fmt(w.get('margin'))}; reproduce: {w.get('reproduce') or 'n/a'}"
                )
    return problems

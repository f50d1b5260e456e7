"""The regression gate: compare a run's results with a committed baseline of verdicts, worst margins and resolutions.

Baseline file (JSON, sorted keys, written atomically by :func:`write_baseline`)::

    {"format": "icl-claims-baseline/1",
     "run": {"profile": "ci", "device": "cpu", "torch": "2.13.0+cpu"},
     "claims": {"R-T31": {"verdict": "held", "examples": 25, "worst_relative_margin": 0.958,
                          "worst_margin": 5.1e-15, "resolution": null, "sd": null, "spread": null,
                          "rates": {"slope": -0.31}, "seconds": 0.6}, ...}}

``verdict`` is the claim's verdict (:mod:`reports.summary`): held, inconclusive, violated, assumption not met, not
applicable or reported. ``worst_relative_margin`` is the relative margin of the claim's worst checked example (the one
that decides the verdict; for a held claim the smallest): margin / |bound| (as ``theorems.core.relative_margin``
computes it; positive = holds with room, 1 = the measured error is zero against an upper bound). ``resolution`` and
``sd`` are the worst example's stated resolution and seed-to-seed standard deviation, from its details (top level, or
of its worst sub-check), in the units of the bound; null where the claim states none (identities, deterministic
bounds). ``spread`` is max(sd, resolution) / |bound|: the same in units of the bound, like the relative margin.
``rates`` holds, for information and diffs, the median over the examples of every numeric ``details`` entry whose key
contains "slope" or "rate"; rates are not gated (a rate claim gates its slope through its own band, so its margin
already moves when the slope does). ``seconds`` (the time spent in the claim's checks, to 0.1 s) is not gated either:
timing is no guarantee. It is what the scheduler orders by, longest claim first. Older baselines, without
``resolution``, ``sd`` and ``spread``, are read as they are (the gate then takes the spread from this run's evidence).

:func:`check` returns the regressions, which fail the gate, and the improvements, which are reported and do not; each
is one human-readable line naming the claim and the amount. :func:`compare` returns the regressions alone,
:func:`improvements` the improvements alone.

Regressions:

1. a claim that is now violated and was not violated in the baseline (held -> violated, inconclusive -> violated, ...);
2. a claim that held in the baseline and is now anything but held: inconclusive (never counted as verified), only
   examples outside its assumptions, not applicable to the implementation under test, or a reported measurement;
3. a claim of the baseline that is missing from the results (no longer registered, or registered but not checked);
4. a worst relative margin that shrank too much (below);
5. a baseline written under another Hypothesis profile (its margins are not comparable).

Improvements: a claim that is now held and was not (inconclusive -> held, violated -> held, ...), and a claim that
was violated and is now inconclusive.

The margin-shrink rule. With ``r_b`` the baseline's and ``r`` this run's worst relative margin of a claim that held in
both, a regression is ``r_b - r > limit`` where

    limit = max(REL_DROP * |r_b|, ABS_DROP, SPREAD_FACTOR * s)

and ``s`` is the claim's spread in units of the bound (the larger of the baseline's ``spread`` and that of this run's
worst example; the term is absent when neither states one). So an identity (no spread) may lose at most half of the
room the baseline had (``REL_DROP = 0.5``), or 0.001 of the bound where the baseline's room was already tiny
(``ABS_DROP = 1e-3``); a statistical or trained claim may in addition move by up to three times its own seed-to-seed
spread or resolution (``SPREAD_FACTOR = 3``) before its margin alone is a regression.

Why this threshold. Margins are compared in units of the bound, so one rule fits identities (errors of a few ulps
against an eps x size x scale tolerance: r is about 0.9 to 1) and bounds of any scale. Losing half the room is what a
real change of behaviour does (an identity whose error grows about tenfold, a statistic that drifts towards its
bound), while ulp-level differences between BLAS builds or devices move an identity's r by far less. The ci profile is
derandomized, so an unchanged tree redraws exactly the same configs and seeds. A trained claim's margin, however, is
a chaotic function of the CPU's rounding: another CPU (or ``ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE``) trains
different models, which moves the margin as much as a different set of seeds would. The scale of that motion is the
claim's own seed-to-seed spread (the ``sd`` of a mean-over-seeds verdict) or, at least, the resolution it decides at;
three of those is beyond what rounding does, and a real regression of such a claim shows first as a change of
verdict (held -> inconclusive or violated), which always fails. Once a change is understood, refresh the baseline with
``--claims-update-baseline`` (or ``python -m reports RESULTS --write-baseline reports/baseline.json``) and commit it.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import results as res
from .summary import (HELD, INCONCLUSIVE, NOT_APPLICABLE, NOT_CHECKED, REPORTED, UNMET, VIOLATED, ClaimSummary,
                      load, relative_spread, stat_details, summarize)
from .svg import fmt, number

FORMAT = "icl-claims-baseline/1"
REL_DROP = 0.5  # a worst relative margin may lose at most this fraction of the baseline's ...
ABS_DROP = 1e-3  # ... or this much (in units of the bound), ...
SPREAD_FACTOR = 3.0  # ... or this many times the claim's spread (sd or resolution), whichever is largest
VERDICTS = (HELD, INCONCLUSIVE, VIOLATED, UNMET, NOT_APPLICABLE, REPORTED)


class BaselineFileError(res.ResultsFileError):
    """A missing, truncated or foreign baseline file; the message names the file and what is wrong."""


def _finite_or_none(x: Any) -> float | None:
    v = number(x)
    return v if v is not None and math.isfinite(v) else None


def _worst_stat(w: dict[str, Any] | None, key: str) -> float | None:
    """``key`` of the worst example's details: top level, else of its worst sub-check (the headline's)."""
    if not w:
        return None
    st = stat_details(w.get("details"))[key]
    d = w.get("details") if isinstance(w.get("details"), dict) else {}
    worst_part = d.get("worst_part") if isinstance(d.get("worst_part"), str) else None
    for part, v in st:
        if part == "" and math.isfinite(v):
            return v
    for part, v in st:
        if part == worst_part and math.isfinite(v):
            return v
    return None


def _entry(c: ClaimSummary) -> dict[str, Any]:
    w = c.worst
    return {
        "verdict": c.verdict,
        "examples": len(c.evidence),
        "worst_relative_margin": _finite_or_none(w.get("relative_margin")) if w else None,
        "worst_margin": _finite_or_none(w.get("margin")) if w else None,
        "resolution": _worst_stat(w, "resolution"),
        "sd": _worst_stat(w, "sd"),
        "spread": _finite_or_none(relative_spread(w)) if w else None,
        "rates": {k: v for k, v in c.rates().items() if math.isfinite(v)},
        "seconds": round(c.seconds, 1),
        # the model API members the reference called on these draws: the kill matrix needs no run to know that a
        # mutant of another member cannot change this claim (properties/kill_matrix.py)
        "uses": c.uses,
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


def shrink_limit(r_base: float, spread: float | None = None) -> float:
    """The largest drop of the worst relative margin that is not a regression (see the module docstring); ``spread``
    is the claim's spread in units of the bound, None for a claim that states none (an identity)."""
    limit = max(REL_DROP * abs(r_base), ABS_DROP)
    return max(limit, SPREAD_FACTOR * spread) if spread is not None and math.isfinite(spread) else limit


@dataclass
class Comparison:
    """What :func:`check` found: regressions fail the gate, improvements are reported and do not."""

    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:  # truthy when the gate fails
        return bool(self.regressions)


def _spread_of_baseline(b: dict[str, Any]) -> float | None:
    s = _finite_or_none(b.get("spread"))
    if s is not None:
        return s
    # a hand-written entry with resolution / sd but no spread: in units of the bound via worst margin / relative
    vals = [v for v in (_finite_or_none(b.get("sd")), _finite_or_none(b.get("resolution"))) if v is not None and v >= 0]
    m, r = _finite_or_none(b.get("worst_margin")), _finite_or_none(b.get("worst_relative_margin"))
    if vals and m is not None and r not in (None, 0.0) and m != 0:
        return max(vals) / abs(m / r)
    return None


def check(results_path: Path | str, baseline_path: Path | str) -> Comparison:
    """Regressions and improvements of the run in ``results_path`` against ``baseline_path``."""
    base = read_baseline(baseline_path)
    summary = summarize(load(results_path))
    now = {c.id: c for c in summary.claims}
    out = Comparison()
    problems = out.regressions
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
        if bv == HELD and v != HELD:
            problems.append(_lost_held(c, w))
            continue
        if v == HELD and bv != HELD:
            r = w.get("relative_margin") if w else None
            out.improvements.append(f"{cid}: {bv} in the baseline, now held ({c.count(HELD)} of {len(c.evidence)} "
                                    f"examples held; worst relative margin {fmt(r)})")
            continue
        if bv == VIOLATED and v == INCONCLUSIVE:
            out.improvements.append(f"{cid}: violated in the baseline, now inconclusive ({c.count(INCONCLUSIVE)} of "
                                    f"{len(c.evidence)} examples inconclusive, none violated)")
            continue
        if v == HELD and bv == HELD:
            r_b = _finite_or_none(b.get("worst_relative_margin"))
            r = _finite_or_none(w.get("relative_margin")) if w else None
            if r_b is None or r is None:
                continue
            spreads = [s for s in (_spread_of_baseline(b), _finite_or_none(relative_spread(w))) if s is not None]
            spread = max(spreads) if spreads else None
            limit = shrink_limit(r_b, spread)
            if r_b - r > limit:
                rule = (f"max({REL_DROP} x |{fmt(r_b)}|, {ABS_DROP}" +
                        (f", {fmt(SPREAD_FACTOR, 2)} x spread {fmt(spread)}" if spread is not None else "") + ")")
                problems.append(
                    f"{cid}: worst relative margin shrank from {fmt(r_b)} to {fmt(r)} (by {fmt(r_b - r)}, more than "
                    f"the allowed {rule} = {fmt(limit)}); worst margin "
                    f"{fmt(b.get('worst_margin'))} -> {fmt(w.get('margin'))}; reproduce: {w.get('reproduce') or 'n/a'}"
                )
    return out


def _lost_held(c: ClaimSummary, w: dict[str, Any] | None) -> str:
    """The line for a claim that held in the baseline and is now neither held nor violated."""
    v, n = c.verdict, len(c.evidence)
    if v == INCONCLUSIVE:
        d = w.get("details") if w and isinstance(w.get("details"), dict) else {}
        rule = d.get("rule") if isinstance(d.get("rule"), str) else ""
        return (f"{c.id}: held in the baseline, now inconclusive ({c.count(INCONCLUSIVE)} of {n} examples; worst "
                f"relative margin {fmt(w.get('relative_margin') if w else None)}"
                + (f"; rule: {rule}" if rule else "") + f"; reproduce: {(w or {}).get('reproduce') or 'n/a'}): an "
                "inconclusive claim is not verified")
    if v == UNMET:
        return (f"{c.id}: held in the baseline, now every example ({n}) is outside the claim's assumptions, so "
                f"nothing checks it")
    if v == NOT_APPLICABLE:
        return (f"{c.id}: held in the baseline, now not applicable: the implementation under test lacks a model API "
                f"member its check calls ({c.count(NOT_APPLICABLE)} of {n} examples)")
    if v == REPORTED:
        return (f"{c.id}: held in the baseline, now declared a reported measurement, which is never counted as "
                f"verified (refresh the baseline if that is intended)")
    return f"{c.id}: held in the baseline, now {v}"


def compare(results_path: Path | str, baseline_path: Path | str) -> list[str]:
    """Regressions of the run in ``results_path`` against ``baseline_path``; an empty list when there is none."""
    return check(results_path, baseline_path).regressions


def improvements(results_path: Path | str, baseline_path: Path | str) -> list[str]:
    """Improvements of the run in ``results_path`` over ``baseline_path`` (reported, never a failure)."""
    return check(results_path, baseline_path).improvements

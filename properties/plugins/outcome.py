"""After the run: the HTML report, the regression gate, the kill-matrix check and the terminal summary. All are
functions of the results file alone."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from properties.plugins.state import is_worker, state
from reports import results as _results


def pytest_configure(config: pytest.Config) -> None:
    base = config.getoption("--claims-baseline")
    if base and not is_worker(config):
        from reports import gate

        try:
            gate.read_baseline(base)
        except _results.ResultsFileError as e:  # fail before the suite runs, in one line
            raise pytest.UsageError(f"--claims-baseline: {e}") from None


def _records(results: Path) -> list[dict]:
    return [json.loads(line) for line in results.read_text().splitlines() if line.strip()]


def inconclusive_lines(records: list[dict]) -> list[str]:
    """Claims with an inconclusive example and no violated one: shown apart, never counted as verified."""
    by_claim: dict[str, list[dict]] = {}
    for r in records:
        if r.get("type") == "evidence":
            by_claim.setdefault(r["claim_id"], []).append(r)
    out = []
    for cid, evs in by_claim.items():
        statuses = {e["status"] for e in evs}
        if "inconclusive" in statuses and "violated" not in statuses:
            e = next(e for e in evs if e["status"] == "inconclusive")
            rule = (e.get("details") or {}).get("rule") or _part_rule(e) or ""
            n = sum(ev["status"] == "inconclusive" for ev in evs)
            out.append(f"  INCONCLUSIVE {cid}: {n} of {len(evs)} examples; estimate {e.get('measured')!r:.8}"
                       f" vs bound {e.get('bound')!r:.8}; {rule}")
    return out


def _part_rule(e: dict) -> str:
    parts = (e.get("details") or {}).get("parts") or {}
    for name, p in parts.items():
        if p.get("holds") is None and p.get("rule"):
            return f"{name}: {p['rule']}"
    return ""


def after_results(config: pytest.Config, results: Path) -> None:
    st = state(config)
    from reports import gate, html

    lines = []
    if not config.getoption("--no-claims-report"):
        out = Path(config.getoption("--claims-report"))
        html.build_report(results, out)
        lines.append(f"claims report: {out}")
    lines.append(f"claims results: {results}")
    records = _records(results)
    inconclusive = inconclusive_lines(records)
    if inconclusive:
        lines.append(f"claims inconclusive (not verified, not violated): {len(inconclusive)}")
        lines += inconclusive
    kills = [r for r in records if r.get("type") == "kill"]
    if kills:
        from properties.kill_matrix import survivors, unexpected_survivors

        surv = survivors(kills)
        n_mut = len({k["mutant"] for k in kills})
        lines.append(f"kill matrix: {n_mut - len(surv)} of {n_mut} mutants killed")
        lines += [f"  SURVIVOR {mid} ({r['member']}: {r['bug']})" + (f" [known: {r['known']}]" if r["known"] else "")
                  for mid, r in surv.items()]
        problems = unexpected_survivors(kills)
        if problems:
            lines += [f"  KILL MATRIX FAILURE {p}" for p in problems]
            st.failed = True
    base = config.getoption("--claims-baseline")
    if base and not kills:
        try:
            problems = gate.compare(results, Path(base))
        except _results.ResultsFileError as e:
            problems = [f"cannot compare: {e}"]
        if problems:
            lines.append(f"claims baseline {base}: {len(problems)} regression(s)")
            lines += [f"  REGRESSION {p}" for p in problems]
            st.failed = True
        else:
            lines.append(f"claims baseline {base}: no regression")
        for note in getattr(gate, "improvements", lambda *_: [])(results, Path(base)):
            lines.append(f"  IMPROVEMENT {note}")
    upd = config.getoption("--claims-update-baseline")
    if upd:
        try:
            gate.write_baseline(results, Path(upd))
            lines.append(f"claims baseline written: {upd}")
        except _results.ResultsFileError as e:
            lines.append(f"claims baseline NOT written: {e}")
            st.failed = True
    st.summary = lines


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    for line in state(config).summary:
        terminalreporter.write_line(line)

"""The kill matrix: each claim of a paper, on its pinned ci draws, against each mutant of that paper.

A cell is *killed* (a draw violated the claim under the mutant; with that draw's reproduce command), *survived*,
*not applicable* (the mutated member is not reachable from the model API members the claim called), *stale* (the
mutant's patch no longer applies: an error, never a skip) or *not run* (fast form: an earlier claim already killed
the mutant). Claims run cheapest first, so the fast form stops early.

    python -m mutants [--paper P] [--fast] [--mutants ID,ID] [--claims ID,ID]
    pytest properties/ --claims-mutants[=fast]
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import mutants as mu
from properties import harness
from theorems import Cost, Status, all_claims

COST_ORDER = {Cost.CHEAP: 0, Cost.MEDIUM: 1, Cost.SLOW: 2}


def claim_order(paper: str, claims: list[str] | None = None) -> list[str]:
    """Cheapest first (a cheap identity kills most mutants in milliseconds), then by the baseline's seconds. A claim
    that shares a cached training (Claim.shares) counts its group's longest time: in the baseline run one claim of
    the group paid for the training and the others look cheap, but under a mutant whichever runs first retrains."""
    from properties.scheduling import baseline_seconds

    seconds = baseline_seconds(Path(__file__).resolve().parent.parent / "reports" / "baseline.json")
    picked = [c for c in all_claims(paper) if not c.reported and (not claims or c.id in claims)]
    group: dict[str, float] = {}
    for c in all_claims(paper):
        if c.shares:
            group[c.shares] = max(group.get(c.shares, 0.0), seconds.get(c.id, 0.0))

    def cost(c) -> tuple[int, float]:
        return COST_ORDER[c.cost], group[c.shares] if c.shares else seconds.get(c.id, 0.0)

    return [c.id for c in sorted(picked, key=cost)]


def baseline_uses() -> dict[str, set[str]]:
    """The API members each claim's reference run called on its ci draws (reports/baseline.json; empty if absent)."""
    import json

    path = Path(__file__).resolve().parent.parent / "reports" / "baseline.json"
    try:
        claims = json.loads(path.read_text(encoding="utf-8")).get("claims", {})
    except (OSError, ValueError):
        return {}
    return {cid: set(e["uses"]) for cid, e in claims.items() if isinstance(e.get("uses"), list) and e["uses"]}


def _num(x: Any) -> str:
    """A measured value as recorded: a float, or the string JSON keeps for NaN and infinities."""
    return f"{x:.4g}" if isinstance(x, (int, float)) else str(x)


def _cell(m: mu.Mutant, claim_id: str, outcome: str, **kw: Any) -> dict[str, Any]:
    return {"type": "kill", "paper": m.paper, "mutant": m.id, "member": m.member, "bug": m.bug,
            "claim_id": claim_id, "outcome": outcome, "examples": kw.get("examples", 0),
            "reproduce": kw.get("reproduce"), "detail": kw.get("detail", ""), "seconds": kw.get("seconds", 0.0),
            "known_survivor": mu.known_survivors(m.paper).get(m.id)}


def run_mutant(m: mu.Mutant, *, fast: bool = False, claims: list[str] | None = None,
               progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One row of the matrix: this mutant against every (selected) claim of its paper."""
    order = claim_order(m.paper, claims)
    try:
        impl = m.impl()
    except mu.StaleMutant as e:
        return [_cell(m, cid, "stale", detail=e.why) for cid in order]
    pinned = harness.pinned_draws()
    # A mutant of a member the reference run never reached cannot change the claim's calls or values (they are the
    # reference's, call by call), so its cell is "not applicable" without retraining anything.
    uses = baseline_uses()
    cells, killed = [], False
    for cid in order:
        if fast and killed:
            cells.append(_cell(m, cid, "not run", detail="fast form: already killed"))
            continue
        draws = pinned.get(cid)
        if not draws:
            cells.append(_cell(m, cid, "not run", detail="no pinned ci draws"))
            continue
        if cid in uses and m.member not in mu.reach(m.paper, uses[cid]):
            cells.append(_cell(m, cid, "not applicable", detail=f"{m.member} not reached (the reference run's "
                                                                f"members, reports/baseline.json)"))
            continue
        t0 = time.perf_counter()
        records = harness.replay(cid, draws, impl=impl, test_id=f"kill-matrix[{m.id}]")
        seconds = round(time.perf_counter() - t0, 3)
        bad = next((r for r in records if r["status"] == Status.VIOLATED.value), None)
        if bad is not None:
            killed = True
            what = bad.get("error") or f"measured {_num(bad['measured'])} vs bound {_num(bad['bound'])}"
            cells.append(_cell(m, cid, "killed", examples=len(records), reproduce=bad["reproduce"],
                               detail=f"draw {bad['example']}: {what}", seconds=seconds))
        else:
            used = set().union(*(r.get("uses", []) for r in records)) if records else set()
            reachable = m.member in mu.reach(m.paper, used)
            verdicts = sorted({r["status"] for r in records})
            cells.append(_cell(m, cid, "survived" if reachable else "not applicable", examples=len(records),
                               detail=", ".join(verdicts) if reachable else f"{m.member} not reached",
                               seconds=seconds))
        if progress:
            progress(f"{m.id} x {cid}: {cells[-1]['outcome']} ({seconds:.1f} s)")
    return cells


def survivors(cells: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mutants with no killed cell (stale ones included): id -> a summary."""
    rows: dict[str, dict[str, Any]] = {}
    for c in cells:
        r = rows.setdefault(c["mutant"], {"paper": c["paper"], "member": c["member"], "bug": c["bug"],
                                          "killed_by": [], "stale": False, "known": c.get("known_survivor")})
        if c["outcome"] == "killed":
            r["killed_by"].append(c["claim_id"])
        r["stale"] |= c["outcome"] == "stale"
    return {k: v for k, v in rows.items() if not v["killed_by"]}


def unexpected_survivors(cells: list[dict[str, Any]]) -> list[str]:
    """Lines naming each stale mutant, each survivor not listed as known, and each known survivor now killed."""
    out = []
    surv = survivors(cells)
    for mid, r in surv.items():
        if r["stale"]:
            out.append(f"{mid} is stale: its patch of {r['member']} no longer applies (update mutants/{r['paper']}.py)")
        elif not r["known"]:
            out.append(f"{mid} ({r['member']}: {r['bug']}) survived every claim of {r['paper']}")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m mutants", description=__doc__.splitlines()[0])
    ap.add_argument("--paper", choices=list(mu.PAPERS))
    ap.add_argument("--fast", action="store_true", help="stop at the first killing claim per mutant")
    ap.add_argument("--mutants", help="comma-separated mutant ids")
    ap.add_argument("--claims", help="comma-separated claim ids")
    ap.add_argument("--list", action="store_true", help="list the catalogue and exit")
    ap.add_argument("--json", metavar="PATH", help="also write the cells as JSON lines")
    args = ap.parse_args(argv)
    cat = mu.catalogue(args.paper)
    if args.mutants:
        want = set(args.mutants.split(","))
        cat = [m for m in cat if m.id in want]
    if args.list:
        for m in cat:
            print(f"{m.id}\t{m.paper}\t{m.member}\t{m.bug}")
        return 0
    claims = args.claims.split(",") if args.claims else None
    cells: list[dict[str, Any]] = []
    for m in cat:
        row = run_mutant(m, fast=args.fast, claims=claims)
        cells += row
        kills = [c["claim_id"] for c in row if c["outcome"] == "killed"]
        print(f"{m.id:8s} {m.member:28s} killed by {', '.join(kills) or '-- SURVIVED --'}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            f.writelines(json.dumps(c, sort_keys=True) + "\n" for c in cells)
    problems = unexpected_survivors(cells)
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0

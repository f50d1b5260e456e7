"""The kill matrix of a results file: which mutants of the catalogue each claim catches, and which claims catch each
mutant. A function of the ``kill`` records alone (see :mod:`reports.results` for their fields).

One record is one cell (mutant x claim) with an outcome:

- ``killed``: the claim found a violation against the mutant (the record's ``reproduce`` command shows it);
- ``survived``: the claim ran against the mutant and stayed green;
- ``not applicable``: the claim does not exercise the mutated member (or the check cannot run on it);
- ``stale``: the mutant's patch no longer applies to the model: an error of the catalogue, never a kill;
- ``not run``: the cell did not run; its detail says why (the fast form had already killed the mutant, or the claim
  has no pinned draws). A mutant none of whose cells ran is listed with the survivors, with that reason.

A mutant is *stale* when any of its cells is stale, a *survivor* when it is not stale and no claim killed it (listed
plainly, with its known-survivor note when the catalogue declares one), and *killed* otherwise. A claim's *power* is
the list of mutants it killed; in the fast form ("not run" cells) it is a lower bound.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .results import KILL_OUTCOMES
from .svg import number

KILLED, SURVIVED, NA, STALE, NOT_RUN = KILL_OUTCOMES
# When one cell is recorded twice (a rerun appended to the same parts): the more telling outcome wins.
_PRECEDENCE = {STALE: 0, KILLED: 1, SURVIVED: 2, NA: 3, NOT_RUN: 4}


def _text(x: Any) -> str:
    return "" if x is None else x if isinstance(x, str) else str(x)


@dataclass
class MutantRow:
    id: str
    paper: str
    member: str = ""
    bug: str = ""
    known_survivor: str = ""
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)  # claim id -> kill record

    def outcome(self, claim_id: str) -> str | None:
        cell = self.cells.get(claim_id)
        return cell["outcome"] if cell else None

    @property
    def killed_by(self) -> list[str]:
        return [c for c, r in self.cells.items() if r["outcome"] == KILLED]

    @property
    def stale(self) -> bool:
        return any(r["outcome"] == STALE for r in self.cells.values())

    @property
    def survivor(self) -> bool:
        return not self.stale and not self.killed_by

    @property
    def status(self) -> str:
        return "stale" if self.stale else "survived" if self.survivor else "killed"

    def counts(self) -> dict[str, int]:
        c = {o: 0 for o in KILL_OUTCOMES}
        for r in self.cells.values():
            c[r["outcome"]] += 1
        return c

    @property
    def stale_detail(self) -> str:
        return next((_text(r.get("detail")) for r in self.cells.values() if r["outcome"] == STALE and r.get("detail")),
                    "")

    @property
    def not_run_reasons(self) -> list[str]:
        """Why cells were not run ("fast form: already killed", "no pinned ci draws", ...): a mutant whose cells were
        never run is listed with its survivors, and the reason says it was not tried rather than not caught."""
        return sorted({_text(r.get("detail")) for r in self.cells.values() if r["outcome"] == NOT_RUN and r.get("detail")})

    @property
    def seconds(self) -> float:
        return sum(v for v in (number(r.get("seconds")) for r in self.cells.values()) if v is not None and v == v)


@dataclass
class KillMatrix:
    mutants: list[MutantRow]  # by paper (in the report's paper order), then mutant id
    claims: dict[str, list[str]]  # paper -> claim ids with a cell, in the report's claim order
    fast: bool  # some cells were not run (the fast form): a claim's power is a lower bound

    @property
    def papers(self) -> list[str]:
        return list(dict.fromkeys(m.paper for m in self.mutants))

    def of_paper(self, paper: str) -> list[MutantRow]:
        return [m for m in self.mutants if m.paper == paper]

    @property
    def survivors(self) -> list[MutantRow]:
        return [m for m in self.mutants if m.survivor]

    @property
    def stale(self) -> list[MutantRow]:
        return [m for m in self.mutants if m.stale]

    @property
    def killed(self) -> list[MutantRow]:
        return [m for m in self.mutants if m.status == "killed"]

    def kills_of(self, claim_id: str) -> list[str]:
        """The mutants the claim killed: its power."""
        return [m.id for m in self.mutants if m.outcome(claim_id) == KILLED]

    def cells_of(self, claim_id: str) -> dict[str, int]:
        c = {o: 0 for o in KILL_OUTCOMES}
        for m in self.mutants:
            o = m.outcome(claim_id)
            if o:
                c[o] += 1
        return c

    def has_claim(self, claim_id: str) -> bool:
        return any(claim_id in m.cells for m in self.mutants)


def kill_matrix(kills: Iterable[dict[str, Any]], claim_order: list[tuple[str, str]] = ()) -> KillMatrix | None:
    """Group kill records into a matrix; None when there is none. ``claim_order``: (claim id, paper) in the order
    the report shows claims (claims only seen in kill records follow, in file order)."""
    rows: dict[tuple[str, str], MutantRow] = {}
    order = {cid: i for i, (cid, _) in enumerate(claim_order)}
    paper_of_claim = dict(claim_order)
    paper_rank = {p: i for i, p in enumerate(dict.fromkeys(p for _, p in claim_order))}
    seen_claims: dict[str, list[str]] = {}
    for r in kills:
        cid = r["claim_id"]
        paper = _text(r.get("paper")) or paper_of_claim.get(cid, "unknown")
        row = rows.setdefault((paper, r["mutant"]), MutantRow(r["mutant"], paper))
        row.member = row.member or _text(r.get("member"))
        row.bug = row.bug or _text(r.get("bug"))
        row.known_survivor = row.known_survivor or _text(r.get("known_survivor"))
        old = row.cells.get(cid)
        if old is None or _PRECEDENCE[r["outcome"]] < _PRECEDENCE[old["outcome"]]:
            row.cells[cid] = r
        seen = seen_claims.setdefault(paper, [])
        if cid not in seen:
            seen.append(cid)
    if not rows:
        return None
    mutants = sorted(rows.values(), key=lambda m: (paper_rank.get(m.paper, len(paper_rank)), m.paper, m.id))
    claims = {p: sorted(ids, key=lambda c: (order.get(c, len(order)),)) for p, ids in seen_claims.items()}
    fast = any(r["outcome"] == NOT_RUN for m in mutants for r in m.cells.values())
    return KillMatrix(mutants, claims, fast)

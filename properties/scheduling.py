"""Where and when claims run under pytest-xdist: longest work first, claims that share a cached training together.

A serial run trains each shared model once (``Claim.shares``: e.g. li2024's GPT-2 world, about 24 s on the CPU, used
by three claims). Under ``-n`` with xdist's default ``load`` distribution the three claims land on different workers
and each trains it again, so two workers do more work than one. Two pieces fix that without touching any result:

- :func:`schedule_order` sorts the collection longest-processing-time-first by *work unit*: a unit is one claim, or
  all claims that share a computation; its estimate is the sum of the seconds the baseline recorded for its claims.
- :class:`ClaimGroupScheduling` is xdist's ``LoadScopeScheduling`` with that unit as the scope, so a unit goes to one
  worker whole, in the sorted order, and workers take the next unit as they run low.

xdist's own ``--dist loadgroup`` would do the grouping through ``xdist_group`` marks, but it tags node ids by
mutating them, which pytest 9.2 no longer honours (pytest-dev/pytest-xdist#1386): the marks are silently ignored.
Here the controller derives the unit from the node id itself (``test_claim[<claim id>]``), so nothing is mutated.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from xdist.scheduler import LoadScopeScheduling

_CLAIM_NODE = re.compile(r"::test_claim\[([^\]]+)\]$")

# Estimated seconds of a claim the baseline does not time yet: an unknown slow claim goes first, to be safe.
UNTIMED = {"slow": float("inf"), "medium": 1.0, "cheap": 0.0}
NOT_A_CLAIM = UNTIMED["medium"]  # items of tests/


def claim_of(nodeid: str) -> str | None:
    """The claim id of a properties/ test item (``...::test_claim[R-T31]``), else None."""
    m = _CLAIM_NODE.search(nodeid)
    return m.group(1) if m else None


def baseline_seconds(path: Path | str) -> dict[str, float]:
    """``seconds`` per claim from a baseline file; empty when it is missing or unreadable (the gate reports that)."""
    try:
        claims = json.loads(Path(path).read_text(encoding="utf-8")).get("claims", {})
        return {cid: float(e["seconds"]) for cid, e in claims.items() if isinstance(e.get("seconds"), (int, float))}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def work_unit(nodeid: str, lookup: Callable[[str], Any]) -> str:
    """The scheduling unit of a node id: the shared computation's name for a claim that shares one, else itself."""
    cid = claim_of(nodeid)
    if cid is None:
        return nodeid
    try:
        shares = lookup(cid).shares
    except KeyError:  # a node id that looks like a claim but is none: schedule it alone
        return nodeid
    return f"shares:{shares}" if shares else nodeid


def schedule_order(nodeids: Iterable[str], lookup: Callable[[str], Any], timed: dict[str, float]) -> list[str]:
    """Node ids sorted by unit estimate (descending), a unit's items together and longest first within it.

    A stable order: equal estimates keep the given order, so every worker computes the same collection.
    """
    ids = list(nodeids)
    estimate, unit = {}, {}
    for nid in ids:
        cid = claim_of(nid)
        try:
            claim = lookup(cid) if cid is not None else None
        except KeyError:
            claim = None
        estimate[nid] = NOT_A_CLAIM if claim is None else timed.get(cid, UNTIMED[claim.cost.value])
        unit[nid] = work_unit(nid, lookup)
    total: dict[str, float] = {}
    first: dict[str, int] = {}
    for i, nid in enumerate(ids):
        total[unit[nid]] = total.get(unit[nid], 0.0) + estimate[nid]
        first.setdefault(unit[nid], i)
    return sorted(ids, key=lambda n: (-total[unit[n]], first[unit[n]], -estimate[n]))


def claims_from_header(read: Callable[[], list[dict] | None]) -> Callable[[str], Any]:
    """A claim lookup for the controller, from the claim records of the run's header (which worker gw0 writes before
    it reports its collection), so the controller never imports torch or the claims. Without a header (gw0 failed)
    it falls back to the registry."""
    table: dict[str, Any] = {}

    def lookup(cid: str) -> Any:
        if not table:
            header = read() or []
            table.update({r["id"]: SimpleNamespace(shares=r.get("shares", ""), cost=SimpleNamespace(value=r["cost"]))
                          for r in header if r.get("type") == "claim"})
            if not table:
                from theorems import get_claim

                return get_claim(cid)
        return table[cid]

    return lookup


class ClaimGroupScheduling(LoadScopeScheduling):
    """xdist's LoadScopeScheduling with :func:`work_unit` as the scope: a unit goes to one worker whole."""

    def __init__(self, config, log, lookup: Callable[[str], Any]):
        super().__init__(config, log)
        self._lookup = lookup

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid, self._lookup)

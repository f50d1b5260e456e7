"""Pin the ci profile's draws: ``python -m properties.pin [CLAIM_ID ...]`` rewrites properties/ci_draws.json.

For each claim, Hypothesis draws (config, seed) pairs from the claim's strategy in ``properties/test_<paper>.py``
(derandomized, with the claim's own seed), as many as the ci profile runs for its cost, after the explicit examples at
the papers' own settings (``PAPER_SETTINGS`` in that module, seed 0) and the counterexamples earlier runs found
(``COUNTEREXAMPLES``). The ci profile then replays exactly these: edit
a strategy, then re-pin the claims it feeds (and refresh the baseline) on purpose.
"""
from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from properties.harness import CI_DRAWS, SEEDS, claim_seed, explicit_examples
from properties.profiles import EXAMPLES
from theorems import get_claim
from theorems.core import jsonable
from theorems.registry import PAPERS


def strategies() -> dict[str, tuple[Any, list[tuple[dict[str, Any], int]]]]:
    """claim id -> (strategy, explicit (config, seed) examples), from every properties/test_<paper>.py."""
    out = {}
    for paper in PAPERS:
        mod = importlib.import_module(f"properties.test_{paper}")
        for cid, strat in mod.STRATEGIES.items():
            out[cid] = (strat, explicit_examples(cid))
    return out


def draw(claim_id: str, strategy, n: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    @seed(claim_seed(claim_id))
    @settings(max_examples=n, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(cfg=strategy, seed=SEEDS)
    def collect(cfg: dict[str, Any], seed: int) -> None:
        got.append({"config": jsonable(cfg), "seed": int(seed)})

    collect()
    return got[:n]


def pin(claim_ids: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    current = json.loads(CI_DRAWS.read_text())["draws"] if CI_DRAWS.exists() else {}
    for cid, (strategy, explicit) in strategies().items():
        if claim_ids and cid not in claim_ids:
            continue
        n = EXAMPLES["ci"][get_claim(cid).cost.value]
        current[cid] = [{"config": jsonable(c), "seed": s} for c, s in explicit] + draw(cid, strategy, n)
    CI_DRAWS.write_text(dumps(current))
    return current


def dumps(draws: dict[str, list[dict[str, Any]]]) -> str:
    """One line per draw, so a diff of a re-pin shows which draws moved."""
    lines = ['{"about": ' + json.dumps(__doc__.strip().splitlines()[0]) + ',', ' "draws": {']
    for i, cid in enumerate(sorted(draws)):
        rows = [json.dumps(d, sort_keys=True) for d in draws[cid]]
        lines.append(f'  {json.dumps(cid)}: [')
        lines += [f"   {r}," for r in rows[:-1]] + ([f"   {rows[-1]}"] if rows else [])
        lines.append("  ]" + ("," if i < len(draws) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    drawn = pin(sys.argv[1:] or None)
    print(f"pinned {sum(len(v) for v in drawn.values())} draws of {len(drawn)} claims in {CI_DRAWS}")

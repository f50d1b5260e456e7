"""What the report and the regression gate both read off a results file: per-claim verdicts, worst examples, fitted
constants, and counts by paper. A function of the results file alone (no model, no registry import).

Verdict of a claim, from its evidence records:

- ``violated``: at least one example violated the claim;
- ``held``: no example violated it and at least one was checked and held (examples whose assumptions were not met
  are not checks of the claim: they are counted and shown, but do not change a "held");
- ``assumption not met``: every example it has was outside the claim's assumptions;
- ``not checked``: the claim is registered but has no evidence (deselected, or the run stopped before it);
- ``not encoded`` (papers only): an id of the paper's spec with no registry entry.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import results as res
from .svg import number

HELD, VIOLATED, UNMET, NOT_CHECKED, NOT_ENCODED = "held", "violated", "assumption not met", "not checked", "not encoded"
EVIDENCE_STATUSES = (HELD, VIOLATED, UNMET)
COUNT_FIELDS = ("encoded", "checked", HELD, VIOLATED, UNMET, NOT_CHECKED, NOT_ENCODED, "examples", "instances")


def load(path: Path | str) -> dict[str, Any]:
    """:func:`reports.results.read_results`, or, read-only, the parts of a run that never merged.

    A run killed before its end leaves ``RESULTS.parts/`` (a header with the run and claim records, one part file per
    worker) and no ``RESULTS``. This reads them without merging or deleting anything (a run that is still going may own
    them), and returns what finished, with no end record (so the report says the run was interrupted). ``path`` may
    also name the parts directory itself.
    """
    path = Path(path)
    parts = path if path.is_dir() and path.name.endswith(".parts") else None
    if parts is None and not path.exists():
        parts = res.latest_parts_dir(path)
    if parts is None:
        data = res.read_results(path)
    else:
        try:
            records = res.read_parts(parts)
        except UnicodeDecodeError:
            raise res.ResultsFileError(parts, "holds a part file that is not text; expected JSON lines") from None
        except OSError as e:
            raise res.ResultsFileError(parts, f"cannot be read ({e.strerror or e})") from None
        data = res.assemble(parts / res.HEADER_NAME, records)
        data["run"] = dict(data["run"], recovered_from=str(parts))
        path = parts
    for i, e in enumerate(data["evidence"], 1):
        if e["status"] not in EVIDENCE_STATUSES:  # a status the suite never writes: a foreign or corrupt file
            raise res.ResultsFileError(path, f"evidence record {i} ({e['claim_id']!r}) has unknown status "
                                             f"{e['status']!r} (expected one of {list(EVIDENCE_STATUSES)})")
    return data


@dataclass
class ClaimSummary:
    id: str
    paper: str
    meta: dict[str, Any]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    registered: bool = True  # False: evidence without a claim record (metadata missing from the file)

    @property
    def checked(self) -> list[dict[str, Any]]:
        """Examples that tested the claim (held or violated), not the ones outside its assumptions."""
        return [e for e in self.evidence if e["status"] in (HELD, VIOLATED)]

    def count(self, status: str) -> int:
        return sum(1 for e in self.evidence if e["status"] == status)

    @property
    def verdict(self) -> str:
        if not self.evidence:
            return NOT_CHECKED
        if self.count(VIOLATED):
            return VIOLATED
        if self.count(HELD):
            return HELD
        return UNMET

    @property
    def instances(self) -> int:
        return sum(_count(e.get("instances")) for e in self.evidence)

    @property
    def seconds(self) -> float:
        """Time spent in the checks themselves (sum over the examples)."""
        return sum(number(e.get("seconds")) or 0.0 for e in self.evidence)

    @property
    def worst(self) -> dict[str, Any] | None:
        """The checked example with the smallest relative margin; violated examples first (a non-finite margin of a
        violated example counts as -inf)."""
        checked = self.checked
        return min(checked, key=lambda e: (e["status"] != VIOLATED, sort_margin(e))) if checked else None

    def examples_by_margin(self) -> list[dict[str, Any]]:
        return sorted(self.evidence, key=lambda e: (e["status"] != VIOLATED, e["status"] == UNMET, sort_margin(e)))

    def reproduce_failure(self) -> str:
        """Hypothesis's ``@reproduce_failure`` note of the final failing example, if any."""
        for e in self.evidence:
            h = e.get("hypothesis")
            if isinstance(h, dict) and h.get("reproduce_failure"):
                return str(h["reproduce_failure"])
        return ""

    def constants(self) -> list[dict[str, Any]]:
        """Numeric details (fitted constants, slopes, sub-measurements) across the checked examples: the worst
        example's value and the spread (min, median, max, standard deviation) over all of them."""
        worst = self.worst
        per_key: dict[str, list[float]] = {}
        for e in self.checked:
            for k, v in flat_numbers(e.get("details")).items():
                per_key.setdefault(k, []).append(v)
        worst_vals = flat_numbers(worst.get("details")) if worst else {}
        rows = []
        for k, vals in per_key.items():
            finite = [v for v in vals if math.isfinite(v)]
            rows.append({
                "name": k,
                "worst": worst_vals.get(k),
                "n": len(vals),
                "min": min(finite) if finite else None,
                "median": statistics.median(finite) if finite else None,
                "max": max(finite) if finite else None,
                "std": statistics.stdev(finite) if len(finite) > 1 else None,
                "rate": is_rate(k),
            })
        return rows

    def rates(self) -> dict[str, float]:
        """Median over checked examples of every numeric details key that names a slope or rate (for the baseline)."""
        return {r["name"]: r["median"] for r in self.constants() if r["rate"] and r["median"] is not None}


def _count(x: Any) -> int:
    v = number(x)
    return int(v) if v is not None and math.isfinite(v) and v >= 1 else 1


def is_rate(key: str) -> bool:
    """A fitted slope or rate, by its key: "slope" or "rate" in it, but not a false-fail rate or a per-test share of
    one ("false_fail_rate", "ffr", "rate per test", "rate_per_row")."""
    k = key.lower()
    return "slope" in k or ("rate" in k and not any(w in k for w in ("fail", "ffr", "per")))


def sort_margin(e: dict[str, Any]) -> float:
    v = number(e.get("relative_margin"))
    if v is None:
        v = number(e.get("margin"))
    if v is None or math.isnan(v):
        return -math.inf if e.get("status") == VIOLATED else math.inf
    return v


def flat_numbers(d: Any, prefix: str = "") -> dict[str, float]:
    """Numeric scalars of a details dict, nested keys joined by '.'; the all_of ``parts`` table is shown on its own."""
    out: dict[str, float] = {}
    if not isinstance(d, dict):
        return out
    for k, v in d.items():
        if not prefix and k == "parts":
            continue
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat_numbers(v, name + "."))
        else:
            x = number(v)
            if x is not None:
                out[name] = x
    return out


def _clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Claim metadata with the shapes the report relies on (a hand-edited or foreign file may hold anything)."""
    m = dict(meta)
    for key in ("assumptions", "params"):
        m[key] = [x for x in m.get(key) or [] if isinstance(x, (dict, str))] if isinstance(m.get(key), list) else []
    m["figure"] = m["figure"] if isinstance(m.get("figure"), str) and m["figure"] else None
    presets = m.get("presets")
    m["presets"] = {str(k): v for k, v in presets.items() if isinstance(v, dict)} if isinstance(presets, dict) else {}
    return m


@dataclass
class PaperSummary:
    key: str
    title: str
    spec_ids: list[str]
    claims: list[ClaimSummary]
    not_encoded: list[str]

    def counts(self) -> dict[str, int]:
        c = {f: 0 for f in COUNT_FIELDS}
        c["encoded"] = len(self.claims)
        c[NOT_ENCODED] = len(self.not_encoded)
        for cl in self.claims:
            c[cl.verdict] += 1
            c["examples"] += len(cl.evidence)
            c["instances"] += cl.instances
        c["checked"] = c[HELD] + c[VIOLATED] + c[UNMET]
        return c


@dataclass
class Summary:
    run: dict[str, Any]
    end: dict[str, Any] | None
    papers: list[PaperSummary]

    @property
    def claims(self) -> list[ClaimSummary]:
        return [c for p in self.papers for c in p.claims]

    @property
    def interrupted(self) -> bool:
        return self.end is None or bool(self.end.get("interrupted"))

    def totals(self) -> dict[str, int]:
        t = {f: 0 for f in COUNT_FIELDS}
        for p in self.papers:
            for k, v in p.counts().items():
                t[k] += v
        return t


def summarize(data: dict[str, Any]) -> Summary:
    """Group a loaded results file by paper and claim (papers in the run record's order, claims in spec order)."""
    run, claims_meta = data["run"], data["claims"]
    papers_meta = run.get("papers") if isinstance(run.get("papers"), dict) else {}
    by_claim: dict[str, ClaimSummary] = {}
    for cid, meta in claims_meta.items():
        by_claim[cid] = ClaimSummary(str(cid), str(meta.get("paper", "unknown")), _clean_meta(meta))
    for e in data["evidence"]:
        cid = str(e["claim_id"])
        if cid not in by_claim:
            paper = str(e.get("paper", "unknown"))
            by_claim[cid] = ClaimSummary(cid, paper, {"id": cid, "paper": paper}, registered=False)
        by_claim[cid].evidence.append(e)
    # The run record's "paper_order" (the registry's order); its "papers" mapping is key-sorted in the JSON file.
    listed = [str(k) for k in run.get("paper_order", []) if k in papers_meta] if isinstance(
        run.get("paper_order"), list) else []
    order = listed + list(papers_meta) + [c.paper for c in by_claim.values() if c.paper not in papers_meta]
    papers = []
    for key in dict.fromkeys(order):
        pm = papers_meta.get(key) if isinstance(papers_meta.get(key), dict) else {}
        spec = [str(s) for s in pm.get("spec_ids", [])] if isinstance(pm.get("spec_ids"), list) else []
        mine = [c for c in by_claim.values() if c.paper == key]
        mine.sort(key=lambda c: spec.index(c.id) if c.id in spec else len(spec))
        papers.append(PaperSummary(key, str(pm.get("title", key)), spec, mine,
                                   [s for s in spec if s not in claims_meta]))
    return Summary(run, data["end"], papers)


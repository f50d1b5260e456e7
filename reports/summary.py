"""What the report and the regression gate both read off a results file: per-claim verdicts, worst examples, fitted
constants, stated statistics, and counts by paper. A function of the results file alone (no model, no registry import).

Status of one example (evidence record): ``held``, ``violated``, ``inconclusive`` (neither, at this sample size;
``holds`` is null), ``assumption not met`` (a hypothesis of the theorem fails, or a trained model did not learn) or
``not applicable`` (the implementation under test lacks a member of the model API that the check calls).

Verdict of a claim, from its evidence records, in this order:

- ``violated``: at least one example violated the claim;
- ``inconclusive``: none violated it and at least one was inconclusive (never counted as verified);
- ``held``: every checked example held (examples whose assumptions were not met, or that were not applicable, are not
  checks of the claim: they are counted and shown, but do not change a "held");
- ``not applicable``: nothing was checked and at least one example hit a member the implementation lacks;
- ``assumption not met``: every example it has was outside the claim's assumptions;
- ``reported``: the claim is declared a *reported* measurement (claim record ``"reported": true``) and would otherwise
  be held or inconclusive: the report shows its numbers, and it is never counted as verified (a reported claim that
  is violated still shows as violated);
- ``not checked``: the claim is registered but has no evidence (deselected, or the run stopped before it);
- ``not encoded`` (papers only): an id of the paper's spec with no registry entry.
"""
from __future__ import annotations

import json

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import results as res
from .svg import number

HELD, VIOLATED, INCONCLUSIVE = "held", "violated", "inconclusive"
UNMET, NOT_APPLICABLE = "assumption not met", "not applicable"
REPORTED, NOT_CHECKED, NOT_ENCODED = "reported", "not checked", "not encoded"
EVIDENCE_STATUSES = (HELD, VIOLATED, INCONCLUSIVE, UNMET, NOT_APPLICABLE)
CHECKED_STATUSES = (HELD, VIOLATED, INCONCLUSIVE)  # examples that tested the claim (they have margins)
# Worst first: the order of examples in the report, and which example is "the worst".
STATUS_RANK = {VIOLATED: 0, INCONCLUSIVE: 1, HELD: 2, NOT_APPLICABLE: 3, UNMET: 4}
VERDICTS = (HELD, INCONCLUSIVE, VIOLATED, UNMET, NOT_APPLICABLE, REPORTED, NOT_CHECKED)
COUNT_FIELDS = ("encoded", "checked", HELD, INCONCLUSIVE, VIOLATED, UNMET, NOT_APPLICABLE, REPORTED, NOT_CHECKED,
                NOT_ENCODED, "examples", "instances")
# Keys of an evidence record's details (top level, or per sub-check in details["parts"][name]) that state the
# statistics of the decision: the printed rule and the claim's error rates and resolution.
STAT_KEYS = ("false_fail_rate", "power", "resolution", "min_discrepancy", "sd")


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
        if not isinstance(e["status"], str):
            raise res.ResultsFileError(path, f"evidence record {i} ({e['claim_id']!r}) has a status that is not a "
                                             f"string: {e['status']!r}")
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
        """Examples that tested the claim (held, violated or inconclusive), not the ones outside its assumptions or
        not applicable to the implementation."""
        return [e for e in self.evidence if e["status"] in CHECKED_STATUSES]

    def count(self, status: str) -> int:
        return sum(1 for e in self.evidence if e["status"] == status)

    @property
    def reported(self) -> bool:
        """Declared a reported measurement: shown, never counted as verified."""
        return self.meta.get("reported") is True

    @property
    def evidence_verdict(self) -> str:
        """The verdict of the examples alone (see the module docstring), before a reported claim is relabelled."""
        if not self.evidence:
            return NOT_CHECKED
        for v in (VIOLATED, INCONCLUSIVE, HELD, NOT_APPLICABLE):
            if self.count(v):
                return v
        return UNMET

    @property
    def verdict(self) -> str:
        v = self.evidence_verdict
        return REPORTED if self.reported and v in (HELD, INCONCLUSIVE) else v

    @property
    def verified(self) -> bool:
        """Counted as verified: held, and not a reported measurement."""
        return self.verdict == HELD

    @property
    def instances(self) -> int:
        return sum(_count(e.get("instances")) for e in self.evidence)

    @property
    def seconds(self) -> float:
        """Time spent in the checks themselves (sum over the examples)."""
        return sum(number(e.get("seconds")) or 0.0 for e in self.evidence)

    @property
    def worst(self) -> dict[str, Any] | None:
        """The checked example that decides the verdict: violated examples first, then inconclusive ones, then the
        smallest relative margin (a non-finite margin of a violated example counts as -inf)."""
        checked = self.checked
        return min(checked, key=lambda e: (STATUS_RANK[e["status"]], sort_margin(e))) if checked else None

    def examples_by_margin(self) -> list[dict[str, Any]]:
        return sorted(self.evidence, key=lambda e: (STATUS_RANK[e["status"]], sort_margin(e)))

    def drawn_ranges(self) -> list[tuple[str, str]]:
        """Per config parameter, the range its checked examples drew ("2 .. 8 (7 values)", or the values drawn), so a
        draw stuck in a degenerate corner (d = 1, N = 1, beta = 0) is visible."""
        values: dict[str, list] = {}
        for e in self.evidence:
            cfg = e.get("config")
            for k, v in (cfg.items() if isinstance(cfg, dict) else ()):
                values.setdefault(str(k), []).append(v)
        out = []
        for k, vs in sorted(values.items()):
            nums = [v for v in vs if isinstance(v, (int, float)) and not isinstance(v, bool)]
            distinct = sorted({json.dumps(v, sort_keys=True) for v in vs})
            if nums and len(nums) == len(vs) and len(distinct) > 3:
                text = f"{min(nums):.4g} .. {max(nums):.4g} ({len(distinct)} values)"
            else:
                text = ", ".join(distinct)
            out.append((k, text))
        return out

    @property
    def uses(self) -> list[str]:
        """The model API members the claim's checks called (union over its examples)."""
        out: set[str] = set()
        for e in self.evidence:
            if isinstance(e.get("uses"), list):
                out.update(str(u) for u in e["uses"] if isinstance(u, str))
        return sorted(out)

    @property
    def impls(self) -> list[str]:
        """The implementations under test that the examples ran against ("reference" unless --impl or a mutant)."""
        return sorted({str(e.get("impl") or "reference") for e in self.evidence})

    def statistics(self) -> dict[str, Any]:
        """The stated statistics of the claim's decision, for the report: the printed decision rule(s) and the
        false-fail rate, power, resolution and min_discrepancy, read off the worst example's details (top level and
        per sub-check), with the claim record's false_fail_rate and power where the details have none.

        Returns ``{"rules": [(part, text)], key: [(part, value)] for key in STAT_KEYS}``; part is "" at top level."""
        source = self.worst or next((e for e in self.evidence if isinstance(e.get("details"), dict)), None)
        out = stat_details(source.get("details") if source else None)
        for key in ("false_fail_rate", "power"):
            v = number(self.meta.get(key))
            if v is not None and not any(part == "" for part, _ in out[key]):
                out[key].insert(0, ("", v))
        return out

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


def stat_details(details: Any) -> dict[str, Any]:
    """The decision rule(s) and the STAT_KEYS values of one example's details, at top level and per sub-check."""
    out: dict[str, Any] = {"rules": [], **{k: [] for k in STAT_KEYS}}
    if not isinstance(details, dict):
        return out
    parts = details.get("parts") if isinstance(details.get("parts"), dict) else {}
    for label, d in [("", details)] + [(str(k), v) for k, v in parts.items() if isinstance(v, dict)]:
        rule = d.get("rule")
        if isinstance(rule, str) and rule.strip():
            out["rules"].append((label, rule))
        for key in STAT_KEYS:
            v = number(d.get(key))
            if v is not None:
                out[key].append((label, v))
    return out


def example_spread(e: dict[str, Any]) -> float | None:
    """The scale at which an example's margin moves from one set of random draws (seeds, rounding) to another, in the
    margin's own units: the larger of its details' ``sd`` (the seed-to-seed standard deviation of a mean-over-seeds
    verdict) and ``resolution``, at top level or else of the worst sub-check (``details["parts"][worst_part]``, the
    one the headline margin comes from); None when the example states neither (identities, deterministic bounds)."""
    d = e.get("details")
    if not isinstance(d, dict):
        return None

    def of(x: Any) -> list[float]:
        if not isinstance(x, dict):
            return []
        vals = [number(x.get(k)) for k in ("sd", "resolution")]
        return [v for v in vals if v is not None and math.isfinite(v) and v >= 0]

    vals = of(d)
    if not vals and isinstance(d.get("parts"), dict) and isinstance(d.get("worst_part"), str):
        vals = of(d["parts"].get(d["worst_part"]))
    return max(vals) if vals else None


def relative_spread(e: dict[str, Any]) -> float | None:
    """:func:`example_spread` in units of the example's bound, like its relative margin (margin / max(|bound|, 1e-300))."""
    s = example_spread(e)
    if s is None:
        return None
    b = number(e.get("bound"))
    scale = max(abs(b), 1e-300) if b is not None and math.isfinite(b) else None
    return s / scale if scale else None


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
    m["reported"] = m.get("reported") is True
    m["control"] = m["control"] if isinstance(m.get("control"), dict) else None
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
        c["checked"] = c["encoded"] - c[NOT_CHECKED]
        return c


@dataclass
class Summary:
    run: dict[str, Any]
    end: dict[str, Any] | None
    papers: list[PaperSummary]
    kills: list[dict[str, Any]] = field(default_factory=list)  # kill-matrix cells (see reports.kills)

    @property
    def claims(self) -> list[ClaimSummary]:
        return [c for p in self.papers for c in p.claims]

    @property
    def interrupted(self) -> bool:
        return self.end is None or bool(self.end.get("interrupted"))

    def impls(self) -> dict[str, list[str]]:
        """Per paper, the implementations under test other than the reference (``--impl``, a mutant), from the
        evidence and from the run record's ``impls`` (paper -> module, as --impl gives it) or ``impl``."""
        out: dict[str, set[str]] = {}
        for c in self.claims:
            for key in c.impls:
                if key != "reference":
                    out.setdefault(c.paper, set()).add(key)
        # the run record's "impls" (--impl: paper -> module) or "impl" (paper -> key, or one key)
        for field_name in ("impls", "impl"):
            declared = self.run.get(field_name)
            if isinstance(declared, dict):
                for paper, key in declared.items():
                    if key not in (None, "", "reference"):
                        key = str(key)
                        if field_name == "impls" and not key.startswith(("impl:", "mutant:")):
                            key = f"impl:{key}"
                        out.setdefault(str(paper), set()).add(key)
            elif isinstance(declared, str) and declared not in ("", "reference"):
                out.setdefault("*", set()).add(declared)
        return {k: sorted(v) for k, v in sorted(out.items())}

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
    return Summary(run, data["end"], papers, list(data.get("kills") or []))


"""The HTML report: one self-contained, offline file built from a results file alone.

Sections: the summary (counts per paper of every verdict: held, inconclusive, violated, assumption not met, not
applicable, reported, not checked, not encoded; inconclusive and reported claims are never counted as held); the kill
matrix when the results hold kill records (survivors and stale mutants first, then per paper the mutant x claim
matrix, what each claim catches and what catches each mutant; see :mod:`reports.kills`); then one section per claim
(statement, verdict, decision rule, false-fail rate, power, resolution and min_discrepancy, the model API members its
checks called, the mutants it catches, margins, figures, examples). The run header names the implementation under
test when it is not the reference.

``build_report(results, out)`` reads the results file (or the parts of a killed run, see
:func:`reports.summary.load`), renders the whole document in memory and only then replaces ``out`` atomically, so a
failed build never touches an earlier report. The page has no script, no external font, style sheet or image:
statements are MathML (latex2mathml, sanitised; the LaTeX source in ``<code>`` when conversion fails) and plots are
inline SVG (:mod:`reports.svg`). Every string from the results file is escaped by Jinja's autoescape or, inside SVG
and MathML, by :func:`html.escape`.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import kills as km
from . import results as res
from . import svg
from .summary import (COUNT_FIELDS, HELD, INCONCLUSIVE, NOT_APPLICABLE, NOT_CHECKED, NOT_ENCODED, REPORTED, UNMET,
                      VIOLATED, ClaimSummary, Summary, load, summarize)

MAX_EXAMPLE_ROWS = 50  # rows of the per-claim example table (worst first); a thorough run has a thousand per claim

# ----------------------------------------------------------------------------------------------------------- math
_MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot",
    "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "mfenced",
    "merror", "semantics", "annotation", "mlabeledtr", "maligngroup", "malignmark", "mprescripts", "mmultiscripts",
    "none",
}
_MATHML_ATTRS = {
    "xmlns", "display", "mathvariant", "stretchy", "fence", "separator", "accent", "accentunder", "width", "height",
    "depth", "lspace", "rspace", "displaystyle", "scriptlevel", "columnalign", "rowalign", "rowspacing",
    "columnspacing", "columnlines", "rowlines", "frame", "linethickness", "minsize", "maxsize", "largeop",
    "movablelimits", "symmetric", "notation", "open", "close", "separators", "form", "align", "encoding",
}
_UNKNOWN_COMMAND = re.compile(r"\\[A-Za-z]+")


class _MathMLRewriter(HTMLParser):
    """Re-emits latex2mathml's output with allowed elements and attributes only, all text and values re-escaped.

    latex2mathml copies ``\\text{...}`` verbatim (``\\text{<script>}`` becomes a script element), so its output is
    never trusted: anything outside MathML, or a LaTeX command it did not know (left as ``\\foo`` text), rejects the
    conversion and the report shows the LaTeX source instead.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.ok = True

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], close: str) -> None:
        if tag not in _MATHML_TAGS:
            self.ok = False
            return
        kept = "".join(f' {k}="{escape(v or "", quote=True)}"' for k, v in attrs if k in _MATHML_ATTRS)
        self.out.append(f"<{tag}{kept}{close}>")

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs, "")

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs, "/")

    def handle_endtag(self, tag):
        if tag not in _MATHML_TAGS:
            self.ok = False
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if _UNKNOWN_COMMAND.search(data):
            self.ok = False
        self.out.append(escape(data, quote=False))

    def handle_comment(self, data):
        self.ok = False

    def handle_decl(self, decl):
        self.ok = False

    def handle_pi(self, data):
        self.ok = False

    def unknown_decl(self, data):
        self.ok = False


def math_html(latex: Any, display: bool = True) -> Markup:
    """MathML of a LaTeX statement; escaped LaTeX in ``<code>`` when it cannot be converted faithfully."""
    latex = "" if latex is None else str(latex)
    if not latex.strip():
        return Markup('<span class="muted">no statement recorded</span>')
    try:
        from latex2mathml.converter import convert

        mathml = convert(latex, display="block" if display else "inline")
        rw = _MathMLRewriter()
        rw.feed(mathml)
        rw.close()
        if rw.ok:
            return Markup("".join(rw.out))
    except Exception:  # any failure of the converter: show the source instead
        pass
    return Markup(f'<code class="tex-fallback">{escape(latex)}</code>')


# ------------------------------------------------------------------------------------------------------ formatting
def _duration(seconds: Any) -> str:
    s = svg.number(seconds)
    if s is None or not math.isfinite(s):
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def _json(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False, default=str)


def _compact_config(cfg: Any, limit: int = 110) -> str:
    text = ", ".join(f"{k}={_json(v)}" for k, v in cfg.items()) if isinstance(cfg, dict) else _json(cfg)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "x"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


_VCLASS = {HELD: "held", VIOLATED: "violated", INCONCLUSIVE: "inconclusive", UNMET: "unmet", NOT_APPLICABLE: "na",
           REPORTED: "reported", NOT_CHECKED: "unchecked", NOT_ENCODED: "unencoded"}


def _verdict_class(v: Any) -> str:
    return _VCLASS.get(v, "unchecked") if isinstance(v, str) else "unchecked"


# Kill-matrix cells: CSS class, glyph and the legend's words.
_KILL_CELL = {km.KILLED: ("k-killed", "●", "killed: a violation found (link: its reproduce command)"),
              km.SURVIVED: ("k-survived", "○", "survived: the claim stayed green"),
              km.NA: ("k-na", "–", "not applicable: the claim does not exercise the mutated member"),
              km.STALE: ("k-stale", "!", "stale: the mutant's patch no longer applies (an error)"),
              km.NOT_RUN: ("k-notrun", "·", "not run (the fast form had already killed the mutant, or the claim has no "
                                          "pinned draws: see the tooltip)")}


def _per_part(values: list[tuple[str, Any]]) -> str:
    """``0.05`` for a claim-level value, ``part a: 0.05, part b: 0.1`` for sub-checks' values."""
    return ", ".join(f"{part}: {svg.fmt(v)}" if part else svg.fmt(v) for part, v in values)


# ----------------------------------------------------------------------------------------------------- view model
def _figure(claim: ClaimSummary) -> dict[str, Any] | None:
    """The claim's own figure: its ``figure`` curve from the worst example, else from the last example that has it."""
    name = claim.meta.get("figure")
    if not name:
        return None
    worst = claim.worst
    if worst is not None and isinstance(worst.get("curves"), dict) and name in worst["curves"]:
        source = worst
    else:
        source = next((e for e in reversed(claim.evidence) if isinstance(e.get("curves"), dict)
                       and name in e["curves"]), None)
    if source is None:
        return {"name": name, "svg": "", "caption": f"no example recorded the curve {name!r}", "example": None}
    plot, caption = svg.line_chart(source["curves"][name])
    return {"name": name, "svg": Markup(plot), "caption": caption, "example": source.get("example"),
            "from_worst": source is worst}


def _other_curves(claim: ClaimSummary, shown: str | None) -> list[dict[str, Any]]:
    worst = claim.worst or (claim.evidence[-1] if claim.evidence else None)
    curves = worst.get("curves") if worst else None
    out = []
    for name, fig in (curves or {}).items() if isinstance(curves, dict) else []:
        if name != shown:
            plot, caption = svg.line_chart(fig)
            out.append({"name": name, "svg": Markup(plot), "caption": caption})
    return out


def _claim_view(claim: ClaimSummary, anchor: str) -> dict[str, Any]:
    m = claim.meta
    worst = claim.worst
    margins = [(svg.number(e.get("relative_margin")), e["status"]) for e in claim.checked]
    points = [(v if v is not None else math.nan, status) for v, status in margins]
    hist, hist_caption = svg.margin_histogram(points, svg.number(worst.get("relative_margin")) if worst else None)
    unmet = claim.count(UNMET)
    if unmet:
        hist_caption = "; ".join(x for x in (hist_caption, f"{unmet} example(s) outside the assumptions not shown") if x)
    # The badge follows the provenance (anything but STATED is a reconstruction), the finer level beside it.
    prov = str(m.get("provenance") or "")
    badge = ("STATED" if prov == "STATED" else "DERIVED") if prov else str(m.get("badge") or "")
    level = prov.removeprefix("DERIVED-").removeprefix("DERIVED") if badge == "DERIVED" else ""
    details = worst.get("details") if worst and isinstance(worst.get("details"), dict) else {}
    parts = details.get("parts") if isinstance(details.get("parts"), dict) else {}
    figure = _figure(claim)
    other = [(k, v) for k, v in details.items() if k not in ("parts", "worst_part") and svg.number(v) is None]
    examples = claim.examples_by_margin()
    st = claim.statistics()
    stats = [(label, _per_part(st[key]), key) for label, key in (
        ("false-fail rate", "false_fail_rate"), ("power (1 - beta)", "power"), ("resolution", "resolution"),
        ("min discrepancy", "min_discrepancy"), ("seed-to-seed sd", "sd")) if st[key]]
    control = m.get("control") if isinstance(m.get("control"), dict) else None
    return {
        "c": claim,
        "anchor": anchor,
        "meta": m,
        "verdict": claim.verdict,
        "vclass": _verdict_class(claim.verdict),
        "badge": badge,
        "level": level,
        "provenance": prov,
        "statement": math_html(m.get("statement")),
        "statement_src": str(m.get("statement") or ""),
        "held": claim.count(HELD),
        "violated": claim.count(VIOLATED),
        "inconclusive": claim.count(INCONCLUSIVE),
        "na": claim.count(NOT_APPLICABLE),
        "unmet": unmet,
        "reported": claim.reported,
        "rules": st["rules"],
        "stats": stats,
        "has_ffr": bool(st["false_fail_rate"]),
        "uses": claim.uses,
        "drawn": claim.drawn_ranges(),
        "control": control,
        "catches": None,  # filled in by _kills_view when the results hold a kill matrix
        "control_anchor": None,  # likewise: the control's row in the kill matrix
        "worst": worst,
        "worst_unmet": next((e for e in claim.evidence if e["status"] in (NOT_APPLICABLE, UNMET)), None)
        if not worst else None,
        "blob": claim.reproduce_failure(),
        "hist": Markup(hist),
        "hist_caption": hist_caption,
        "figure": figure,
        "other_curves": _other_curves(claim, figure["name"] if figure else None),
        "constants": claim.constants(),
        "parts": parts,
        "worst_part": details.get("worst_part"),
        "other_details": [(k, _json(v)) for k, v in other],
        "examples": examples[:MAX_EXAMPLE_ROWS],
        "examples_total": len(examples),
        "seconds": claim.seconds,
        "open": claim.verdict in (VIOLATED, INCONCLUSIVE),
    }


def _view(summary: Summary, results_path: Path) -> dict[str, Any]:
    run, end = summary.run, summary.end
    taken: set[str] = {"summary", "contents"}
    papers = []
    for p in summary.papers:
        papers.append({
            "p": p,
            "anchor": _slug(f"paper-{p.key}", taken),
            "counts": p.counts(),
            "claims": [_claim_view(c, _slug(f"claim-{c.id}", taken)) for c in p.claims],
        })
    exit_status = end.get("exitstatus") if end else None
    kills = _kills_view(summary, papers, taken)
    return {
        "run": run,
        "end": end,
        "papers": papers,
        "totals": summary.totals(),
        "fields": COUNT_FIELDS,
        "interrupted": summary.interrupted,
        "recovered": run.get("recovered_from"),
        "exit_status": exit_status,
        "run_time": _duration(end.get("seconds")) if end else "unknown (the run did not finish)",
        "example_seconds": _duration(sum(c.seconds for c in summary.claims)),
        "results_path": str(results_path),
        "impls": summary.impls(),
        "kills": kills,
        "built": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _kills_view(summary: Summary, papers: list[dict[str, Any]], taken: set[str]) -> dict[str, Any] | None:
    """The kill-matrix section (None without kill records); also fills each claim view's "catches" line."""
    matrix = km.kill_matrix(summary.kills, [(c.id, c.paper) for c in summary.claims])
    if matrix is None:
        return None
    claim_anchor = {cv["c"].id: cv["anchor"] for pv in papers for cv in pv["claims"]}
    m_anchor = {(m.paper, m.id): _slug(f"mutant-{m.id}", taken) for m in matrix.mutants}
    kill_anchor = {(m.paper, m.id, c): _slug(f"kill-{m.id}-{c}", taken) for m in matrix.mutants for c in m.killed_by}

    def mref(m: km.MutantRow) -> dict[str, Any]:
        return {"id": m.id, "anchor": m_anchor[(m.paper, m.id)], "known": m.known_survivor}

    def cell(m: km.MutantRow, cid: str) -> dict[str, Any]:
        r = m.cells.get(cid)
        if r is None:
            return {"outcome": "", "cls": "k-none", "glyph": "", "title": f"{m.id} × {cid}: no record", "href": None}
        cls, glyph, _ = _KILL_CELL[r["outcome"]]
        bits = [f"{m.id} × {cid}: {r['outcome']}"]
        if r.get("detail"):
            bits.append(km._text(r["detail"]))
        if svg.number(r.get("examples")) is not None:
            bits.append(f"{svg.fmt(r['examples'])} example(s)")
        if r.get("reproduce"):
            bits.append(f"reproduce: {km._text(r['reproduce'])}")
        href = f"#{kill_anchor[(m.paper, m.id, cid)]}" if r["outcome"] == km.KILLED else None
        return {"outcome": r["outcome"], "cls": cls, "glyph": glyph, "title": " — ".join(bits), "href": href}

    titles = {p.key: p.title for p in summary.papers}
    per_paper = []
    for paper in matrix.papers:
        cids = matrix.claims.get(paper, [])
        rows = [{"m": m, "ref": mref(m), "cells": [cell(m, c) for c in cids], "kills": len(m.killed_by)}
                for m in matrix.of_paper(paper)]
        per_paper.append({"paper": paper, "title": titles.get(paper, paper),
                          "claims": [{"id": c, "anchor": claim_anchor.get(c),
                                      "kills": len(matrix.kills_of(c))} for c in cids],
                          "rows": rows})
    by_claim = {}
    for c in summary.claims:
        if matrix.has_claim(c.id):
            caught = [mref(m) for m in matrix.mutants if m.outcome(c.id) == km.KILLED]
            by_claim[c.id] = {"id": c.id, "paper": c.paper, "anchor": claim_anchor.get(c.id), "caught": caught,
                              "counts": matrix.cells_of(c.id), "reported": c.reported}
    for cid in dict.fromkeys(cid for cids in matrix.claims.values() for cid in cids):  # cells of unknown claims
        if cid not in by_claim:
            by_claim[cid] = {"id": cid, "paper": "", "anchor": None, "reported": False, "counts": matrix.cells_of(cid),
                             "caught": [mref(m) for m in matrix.mutants if m.outcome(cid) == km.KILLED]}
    anchor_of_mutant = {m.id: m_anchor[(m.paper, m.id)] for m in matrix.mutants}
    for pv in papers:
        for cv in pv["claims"]:
            cv["catches"] = by_claim.get(cv["c"].id)
            if cv["control"] and isinstance(cv["control"].get("mutant"), str):
                cv["control_anchor"] = anchor_of_mutant.get(cv["control"]["mutant"])
    by_mutant = [{"m": m, "ref": mref(m), "counts": m.counts(),
                  "killers": [{"claim": c, "anchor": claim_anchor.get(c), "id": kill_anchor[(m.paper, m.id, c)],
                               "reproduce": km._text(m.cells[c].get("reproduce")),
                               "detail": km._text(m.cells[c].get("detail"))} for c in m.killed_by]}
                 for m in matrix.mutants]
    return {
        "matrix": matrix,
        "survivors": [{"m": m, "ref": mref(m), "counts": m.counts()} for m in matrix.survivors],
        "unknown_survivors": [m.id for m in matrix.survivors if not m.known_survivor],
        "stale": [{"m": m, "ref": mref(m), "detail": m.stale_detail} for m in matrix.stale],
        "papers": per_paper,
        "by_claim": list(by_claim.values()),
        "by_mutant": by_mutant,
        "legend": list(_KILL_CELL.values()),
        "totals": {"mutants": len(matrix.mutants), "killed": len(matrix.killed), "survivors": len(matrix.survivors),
                   "stale": len(matrix.stale), "cells": sum(len(m.cells) for m in matrix.mutants)},
    }


# -------------------------------------------------------------------------------------------------------- render
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["num"] = svg.fmt
_ENV.filters["json"] = _json
_ENV.filters["compact"] = _compact_config
_ENV.filters["vclass"] = _verdict_class
_ENV.filters["textlist"] = lambda v: ", ".join(map(str, v)) if isinstance(v, list) else str(v)


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    return _ENV.from_string(TEMPLATE)  # compiled once per process


def render(summary: Summary, results_path: Path | str = "") -> str:
    return _template().render(**_view(summary, Path(results_path)), css=Markup(CSS))


def build_report(results_path: Path | str, out_path: Path | str) -> Path:
    """Render the report of ``results_path`` into ``out_path`` (atomically; nothing is written if anything fails)."""
    results_path, out_path = Path(results_path), Path(out_path)
    text = render(summarize(load(results_path)), results_path)
    res.atomic_write_text(out_path, text)
    return out_path


CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --panel:#f6f8fa; --accent:#0969da;
  --held:#1a7f37; --held-bg:#dafbe1; --violated:#cf222e; --violated-bg:#ffebe9; --unmet:#9a6700; --unmet-bg:#fff8c5;
  --unchecked:#59636e; --unchecked-bg:#eff2f5; --inconclusive:#bc4c00; --inconclusive-bg:#fff1e5;
  --reported:#1b7c83; --reported-bg:#d8f3f6; --stated:#0550ae; --stated-bg:#ddf4ff; --derived:#8250df;
  --derived-bg:#fbefff; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans", Helvetica, Arial, sans-serif; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 0.88em; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .6em .8em;
  white-space: pre-wrap; word-break: break-all; margin: .4em 0; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
h1 { font-size: 1.7rem; margin: 0 0 .2em; } h2 { font-size: 1.35rem; margin: 1.6em 0 .5em; }
h3 { font-size: 1.08rem; margin: .2em 0 .4em; font-weight: 600; }
.top { padding: 1.4em 2rem 1em; border-bottom: 1px solid var(--line); background: var(--panel); }
.top .sub { color: var(--muted); margin: 0; }
.layout { display: grid; grid-template-columns: 250px minmax(0, 1fr); gap: 2rem; padding: 0 2rem 3rem;
  max-width: 1500px; }
nav.toc { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto; padding: 1.2em 0;
  font-size: .9rem; }
nav.toc h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 .5em; }
nav.toc ul { list-style: none; margin: 0 0 .8em; padding: 0; } nav.toc li { margin: .1em 0; }
nav.toc .paper-link { font-weight: 600; display: block; margin-top: .5em; }
nav.toc .claim-link { display: flex; gap: .45em; align-items: baseline; padding-left: .3em; }
nav.toc .claim-link .id { white-space: nowrap; }
nav.toc .claim-link .t { color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.dot { display: inline-block; width: .62em; height: .62em; border-radius: 50%; flex: none; }
.dot.held { background: var(--held); } .dot.violated { background: var(--violated); }
.dot.unmet { background: var(--unmet); } .dot.unchecked { background: #afb8c1; }
.dot.inconclusive { background: var(--inconclusive); } .dot.reported { background: var(--reported); }
.dot.na { background: transparent; border: 1.5px dashed #8c959f; }
.dot.unencoded { background: transparent; border: 1.5px solid #afb8c1; }
main { min-width: 0; padding-top: .6em; }
.banner { margin: 1em 0; padding: .7em 1em; border-radius: 6px; border: 1px solid; font-weight: 500; }
.banner.interrupted { background: var(--unmet-bg); border-color: #d4a72c; color: #633c01; }
.banner.failed { background: var(--violated-bg); border-color: #ff8182; color: #82071e; }
.banner.inconclusive { background: var(--inconclusive-bg); border-color: #fb8f44; color: #762c00; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: .8rem; margin: 1em 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .6em .9em; background: var(--bg); }
.card .n { font-size: 1.9rem; font-weight: 650; line-height: 1.1; font-variant-numeric: tabular-nums; }
.card .l { color: var(--muted); font-size: .85rem; }
.card.held .n { color: var(--held); } .card.violated .n { color: var(--violated); }
.card.unmet .n { color: var(--unmet); } .card.unencoded .n, .card.unchecked .n { color: var(--unchecked); }
.card.inconclusive .n { color: var(--inconclusive); } .card.na .n { color: var(--unchecked); }
.card.reported .n { color: var(--reported); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .32em .7em; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; background: var(--panel); font-size: .88rem; }
td.num, th.num { text-align: right; }
table.summary tr.total td { font-weight: 650; border-top: 2px solid var(--fg); }
table.summary td.f-violated:not(.zero) { color: var(--violated); font-weight: 650; }
table.summary td.f-inconclusive:not(.zero) { color: var(--inconclusive); font-weight: 650; }
table.summary th, table.summary td { padding: .32em .5em; }
.reported-note { color: var(--reported); font-size: .92rem; margin: .2em 0; }
table.summary td.zero { color: #afb8c1; }
.tablewrap { overflow-x: auto; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.2em; margin: 1em 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; word-break: break-word; }
section.paper > .paper-head { border-bottom: 2px solid var(--fg); padding-bottom: .3em; }
section.paper .paper-head small { color: var(--muted); font-weight: 400; font-size: .85rem; }
article.claim { border: 1px solid var(--line); border-left: 5px solid #afb8c1; border-radius: 8px;
  padding: 1em 1.3em 1em; margin: 1.2em 0; background: var(--bg); }
article.claim.held { border-left-color: var(--held); } article.claim.violated { border-left-color: var(--violated); }
article.claim.unmet { border-left-color: var(--unmet); }
article.claim.inconclusive { border-left: 5px dashed var(--inconclusive); }
article.claim.reported { border-left-color: var(--reported); } article.claim.na { border-left-style: dotted; }
.claim-head { display: flex; flex-wrap: wrap; gap: .5em; align-items: center; }
.cid { font-weight: 700; font-size: 1.05rem; } .ref { color: var(--muted); }
.spacer { flex: 1; }
.badge { display: inline-flex; align-items: center; gap: .35em; border-radius: 2em; padding: .08em .65em;
  font-size: .78rem; font-weight: 600; border: 1px solid transparent; white-space: nowrap; }
.badge.stated { background: var(--stated-bg); color: var(--stated); border-color: #54aeff; }
.badge.derived { background: var(--derived-bg); color: var(--derived); border-color: #c297ff; }
.badge .level { font-weight: 500; opacity: .85; border-left: 1px solid currentColor; padding-left: .35em; }
.badge.kind { background: var(--panel); color: var(--muted); border-color: var(--line); }
.badge.recon { background: transparent; color: var(--derived); border: 1px dashed #c297ff; font-style: italic; }
.verdict { border-radius: 4px; padding: .15em .7em; font-weight: 700; font-size: .85rem; text-transform: uppercase;
  letter-spacing: .03em; }
.verdict.held { background: var(--held-bg); color: var(--held); }
.verdict.violated { background: var(--violated-bg); color: var(--violated); }
.verdict.unmet { background: var(--unmet-bg); color: var(--unmet); }
.verdict.unchecked, .verdict.unencoded, .verdict.na { background: var(--unchecked-bg); color: var(--unchecked); }
.verdict.inconclusive { background: var(--inconclusive-bg); color: var(--inconclusive); border: 1px dashed currentColor; }
.verdict.reported { background: var(--reported-bg); color: var(--reported); }
.badge.reported { background: var(--reported-bg); color: var(--reported); border-color: #6fc7ce; }
.rules { margin: .4em 0; font-size: .9rem; } .rules ul { margin: .2em 0; padding-left: 1.3em; }
.rules li { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .88em; }
.uses { display: flex; flex-wrap: wrap; gap: .35em; margin: .4em 0; align-items: baseline; font-size: .9rem; }
.uses .chip { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 0 .45em;
  font-size: .85em; }
.catches, .control { margin: .3em 0; font-size: .92rem; }
#kill-matrix h3 { margin-top: 1.2em; }
table.kill-matrix { font-size: .85rem; }
table.kill-matrix th.kclaim { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  padding: .5em .2em; vertical-align: bottom; font-weight: 500; }
table.kill-matrix tr.total td, table.kill-matrix tr.total th { border-top: 2px solid var(--fg); font-weight: 650; }
.kcell { text-align: center; min-width: 1.6em; font-weight: 700; }
.kcell.k-killed { background: var(--held-bg); color: var(--held); } .kcell.k-killed a { color: var(--held); }
.kcell.k-survived { background: var(--violated-bg); color: var(--violated); }
.kcell.k-na { color: #8c959f; } .kcell.k-notrun { color: #afb8c1; }
.kcell.k-stale { background: var(--inconclusive-bg); color: var(--inconclusive); }
p.legend .kcell { display: inline-block; padding: 0 .3em; border-radius: 3px; }
tr.survived > th, tr.survived > td:first-child { color: var(--violated); }
table.survivors tr.unknown td { background: var(--violated-bg); }
div.stale { border: 1px solid #ff8182; background: var(--violated-bg); border-radius: 6px; padding: .2em 1em; margin: 1em 0; }
ul.killers { margin: 0; padding-left: 1.1em; } ul.killers code.reproduce { display: block; word-break: break-all; }
.ok { color: var(--held); font-weight: 600; }
.sub.impl { color: var(--inconclusive); }
.statement { margin: .5em 0 .3em; padding: .5em .8em; background: var(--panel); border-radius: 6px; overflow-x: auto; }
.statement math { font-size: 1.15em; }
.notes { color: var(--fg); margin: .4em 0; font-size: .93rem; }
.notes::before { content: "Note. "; font-weight: 600; color: var(--muted); }
.assumptions { display: flex; flex-wrap: wrap; gap: .4em; margin: .4em 0; align-items: baseline; font-size: .9rem; }
.assumptions .chip { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 0 .5em;
  font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85em; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(175px, 1fr)); gap: .5em 1em; margin: .8em 0;
  font-size: .92rem; }
.facts div { border-top: 1px solid var(--line); padding-top: .25em; }
.facts .k { display: block; color: var(--muted); font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; }
.facts .v { font-variant-numeric: tabular-nums; font-weight: 550; }
.facts .v.neg { color: var(--violated); }
.figs { display: flex; flex-wrap: wrap; gap: 1.2em; margin: .8em 0; }
figure { margin: 0; flex: 1 1 380px; max-width: 580px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .83rem; margin-top: .2em; }
svg.plot { font-size: 11px; }
svg.plot .frame { fill: #fff; stroke: #8c959f; stroke-width: 1; }
svg.plot .grid { stroke: #eaeef2; stroke-width: 1; }
svg.plot .tick { fill: #59636e; } svg.plot .axis-label { fill: #1f2328; font-size: 12px; }
svg.plot .legend { fill: #1f2328; }
svg.plot .zero { stroke: var(--violated); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.plot .zero-label { fill: var(--violated); font-size: 10px; }
svg.plot .worst { fill: #1f2328; }
details { border: 1px solid var(--line); border-radius: 6px; margin: .5em 0; background: var(--bg); }
details > summary { cursor: pointer; padding: .4em .8em; font-weight: 600; font-size: .93rem; background: var(--panel);
  border-radius: 6px; }
details[open] > summary { border-bottom: 1px solid var(--line); border-radius: 6px 6px 0 0; }
details > .body { padding: .6em .9em; }
details table { font-size: .88rem; }
.muted { color: var(--muted); }
.err { color: var(--violated); }
.not-encoded { margin: 1em 0; padding: .6em .9em; border: 1px dashed var(--line); border-radius: 8px; }
.not-encoded .chips { display: flex; flex-wrap: wrap; gap: .4em; margin-top: .3em; }
.not-encoded .chip { border: 1px solid var(--line); border-radius: 4px; padding: 0 .5em; color: var(--muted);
  font-size: .88rem; }
footer { color: var(--muted); font-size: .85rem; padding: 1em 2rem 2em; border-top: 1px solid var(--line); }
@media (max-width: 900px) { .layout { grid-template-columns: 1fr; } nav.toc { position: static; max-height: none; } }
@media print { nav.toc { display: none; } .layout { grid-template-columns: 1fr; } details { break-inside: avoid; } }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="python -m reports">
<title>ICL theory claims: {{ totals['held'] }} held, {{ totals['inconclusive'] }} inconclusive, {{ totals['violated'] }} violated</title>
<style>{{ css }}</style>
</head>
<body>
<header class="top">
  <h1>In-context-learning theory: checked claims</h1>
  <p class="sub">profile <b>{{ run.get('profile', '?') }}</b> · device <b>{{ run.get('device', '?') }}</b>
  {%- if run.get('cuda') %} ({{ run['cuda'] }}){% endif %} · torch {{ run.get('torch', '?') }}
  · commit <span class="mono">{{ run.get('git_commit', '?') }}</span> · run time {{ run_time }}</p>
  {% if impls %}
  <p class="sub impl" id="impl-under-test">implementation under test:
    {% for paper, keys in impls.items() %}<b class="mono" data-impl="{{ paper }}">{{ paper }} = {{ keys|join(', ') }}</b>{% if not loop.last %} · {% endif %}{% endfor %}
    (not the reference models)</p>
  {% endif %}
</header>
<div class="layout">
<nav class="toc" id="contents" aria-label="Contents">
  <h2>Contents</h2>
  <ul><li><a class="paper-link" href="#summary">Summary</a></li>
  {% if kills %}<li><a class="paper-link" href="#kill-matrix">Kill matrix</a></li>{% endif %}</ul>
  {% for pv in papers %}
  <a class="paper-link" href="#{{ pv.anchor }}">{{ pv.p.key }}</a>
  <ul>
    {% for cv in pv.claims %}
    <li><a class="claim-link" href="#{{ cv.anchor }}" title="{{ cv.c.id }}: {{ cv.verdict }}"><span class="dot {{ cv.vclass }}"></span>
      <span class="id">{{ cv.c.id }}</span><span class="t">{{ cv.meta.get('title', '') }}</span></a></li>
    {% endfor %}
    {% if pv.p.not_encoded %}
    <li class="muted claim-link"><span class="dot unencoded"></span><span>{{ pv.p.not_encoded|length }} not encoded</span></li>
    {% endif %}
  </ul>
  {% endfor %}
</nav>
<main>
{% if interrupted %}
<div class="banner interrupted" id="interrupted" role="alert">Interrupted run: {% if end is none %}the results
  have no end record (the run was killed, or is still going){% else %}the run was interrupted{% endif %}, so this
  report shows only the examples that finished
  {%- if recovered %} (recovered from the part files in <span class="mono">{{ recovered }}</span>){% endif %}.
  Claims that had not run show as "not checked".</div>
{% endif %}
{% if totals['violated'] %}
<div class="banner failed" role="alert">{{ totals['violated'] }} claim(s) violated: see the red sections below.</div>
{% endif %}
{% if totals['inconclusive'] %}
<div class="banner inconclusive" id="inconclusive-banner">{{ totals['inconclusive'] }} claim(s) inconclusive: neither
  verified nor violated at this sample size (orange sections below); they are not counted as held.</div>
{% endif %}
<section id="summary">
  <h2>Summary</h2>
  <div class="cards">
    <div class="card" data-total="checked"><div class="n">{{ totals['checked'] }}</div><div class="l">claims checked</div></div>
    <div class="card held" data-total="held"><div class="n">{{ totals['held'] }}</div><div class="l">held (verified)</div></div>
    <div class="card inconclusive" data-total="inconclusive"><div class="n">{{ totals['inconclusive'] }}</div><div class="l">inconclusive</div></div>
    <div class="card violated" data-total="violated"><div class="n">{{ totals['violated'] }}</div><div class="l">violated</div></div>
    <div class="card unmet" data-total="assumption not met"><div class="n">{{ totals['assumption not met'] }}</div><div class="l">assumption not met</div></div>
    <div class="card na" data-total="not applicable"><div class="n">{{ totals['not applicable'] }}</div><div class="l">not applicable</div></div>
    <div class="card reported" data-total="reported"><div class="n">{{ totals['reported'] }}</div><div class="l">reported (not verified)</div></div>
    <div class="card unchecked" data-total="not checked"><div class="n">{{ totals['not checked'] }}</div><div class="l">not checked</div></div>
    <div class="card unencoded" data-total="not encoded"><div class="n">{{ totals['not encoded'] }}</div><div class="l">not encoded</div></div>
  </div>
  <div class="tablewrap">
  <table class="summary" id="summary-table">
    <thead><tr><th>paper</th>
      {% for f in fields %}<th class="num">{{ f }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for pv in papers %}
    <tr data-paper="{{ pv.p.key }}"><td><a href="#{{ pv.anchor }}">{{ pv.p.key }}</a></td>
      {% for f in fields %}<td class="num f-{{ f|replace(' ', '-') }}{% if not pv.counts[f] %} zero{% endif %}" data-field="{{ f }}">{{ pv.counts[f] }}</td>{% endfor %}</tr>
    {% endfor %}
    <tr class="total" data-paper="*"><td>all papers</td>
      {% for f in fields %}<td class="num f-{{ f|replace(' ', '-') }}{% if not totals[f] %} zero{% endif %}" data-field="{{ f }}">{{ totals[f] }}</td>{% endfor %}</tr>
    </tbody>
  </table>
  </div>
  <p class="muted">A claim is <b>checked</b> when it has at least one example; <b>violated</b> when an example violated
  it; <b>inconclusive</b> when none did but one was inconclusive (neither evidence for nor against it at its stated
  false-fail rate and resolution: never counted as verified); <b>held</b> (verified) when every checked example held;
  <b>not applicable</b> when the implementation under test lacks a model API member it calls; <b>reported</b> claims
  are measurements shown with their numbers, never counted as verified.
  <b>encoded</b> claims have a registry entry, <b>not encoded</b> ones are ids of a paper's specification without one.
  <b>examples</b> are Hypothesis examples; each checks <b>instances</b> independent seeds in one vectorised pass.</p>
  <dl class="meta" id="run-meta">
    <dt>run time</dt><dd data-meta="run time">{{ run_time }} (checks themselves: {{ example_seconds }})</dd>
    <dt>profile</dt><dd data-meta="profile">{{ run.get('profile', '—') }}</dd>
    <dt>device</dt><dd data-meta="device">{{ run.get('device', '—') }}{% if run.get('cuda') %} ({{ run['cuda'] }}){% endif %}</dd>
    <dt>torch</dt><dd data-meta="torch">{{ run.get('torch', '—') }}</dd>
    <dt>python</dt><dd>{{ run.get('python', '—') }} on {{ run.get('machine', '—') }}</dd>
    <dt>git commit</dt><dd class="mono" data-meta="git commit">{{ run.get('git_commit', '—') }}</dd>
    <dt>started</dt><dd>{{ run.get('started', '—') }}</dd>
    <dt>command</dt><dd class="mono">{{ run.get('command', '—') }}</dd>
    <dt>xdist workers</dt><dd>{{ run.get('workers') or 'none (serial)' }}</dd>
    <dt>finished</dt><dd data-meta="finished">{% if end is none %}no (no end record){% else %}{{ 'interrupted' if end.get('interrupted') else 'yes' }}, pytest exit status {{ exit_status }}{% endif %}</dd>
    <dt>results file</dt><dd class="mono">{{ results_path }}</dd>
  </dl>
</section>

{% if kills %}
{% set kt = kills.totals %}
<section id="kill-matrix">
  <h2>Kill matrix</h2>
  <p class="muted">Each mutant of the catalogue is a small plausible bug in one member of a paper's model API; each
  claim was checked against it under the ci profile. A claim <b>kills</b> a mutant when it finds a violation. A claim's
  power is the mutants it kills{% if kills.matrix.fast %} (this run used the fast form, which stops at a mutant's first
  killing claim, so the powers below are lower bounds){% endif %}.</p>
  <div class="cards">
    <div class="card" data-kill-total="mutants"><div class="n">{{ kt.mutants }}</div><div class="l">mutants</div></div>
    <div class="card held" data-kill-total="killed"><div class="n">{{ kt.killed }}</div><div class="l">killed</div></div>
    <div class="card violated" data-kill-total="survivors"><div class="n">{{ kt.survivors }}</div><div class="l">survive every claim</div></div>
    <div class="card inconclusive" data-kill-total="stale"><div class="n">{{ kt.stale }}</div><div class="l">stale (errors)</div></div>
  </div>
  <div class="survivors" id="kill-survivors" data-survivors="{{ kills.survivors|map(attribute='m.id')|join(' ') }}">
  {% if kills.survivors %}
    <h3>Survivors: {{ kills.survivors|length }} mutant(s) that no claim kills{% if kills.unknown_survivors %}, {{ kills.unknown_survivors|length }} not declared known{% endif %}</h3>
    <table class="survivors"><thead><tr><th>mutant</th><th>paper</th><th>member</th><th>bug</th><th>cells</th><th>known survivor</th></tr></thead><tbody>
    {% for s in kills.survivors %}<tr class="survivor{% if not s.m.known_survivor %} unknown{% endif %}" data-mutant="{{ s.m.id }}">
      <td class="mono"><a href="#{{ s.ref.anchor }}">{{ s.m.id }}</a></td><td>{{ s.m.paper }}</td><td class="mono">{{ s.m.member }}</td><td>{{ s.m.bug }}</td>
      <td class="muted">{{ s.counts['survived'] }} survived, {{ s.counts['not applicable'] }} n/a{% if s.counts['not run'] %}, {{ s.counts['not run'] }} not run{% if s.m.not_run_reasons %} ({{ s.m.not_run_reasons|join('; ') }}){% endif %}{% endif %}</td>
      <td>{% if s.m.known_survivor %}{{ s.m.known_survivor }}{% else %}<span class="err">not declared: a claim must kill it</span>{% endif %}</td></tr>
    {% endfor %}
    </tbody></table>
  {% else %}
    <p class="ok" data-survivors-none>Every mutant is killed by at least one claim.</p>
  {% endif %}
  </div>
  {% if kills.stale %}
  <div class="stale err" id="kill-stale" data-stale="{{ kills.stale|map(attribute='m.id')|join(' ') }}" role="alert">
    <h3>Stale mutants: {{ kills.stale|length }} (errors: the patch no longer applies, so nothing was checked)</h3>
    <ul>{% for s in kills.stale %}<li data-mutant="{{ s.m.id }}"><a class="mono" href="#{{ s.ref.anchor }}">{{ s.m.id }}</a> ({{ s.m.paper }}, <span class="mono">{{ s.m.member }}</span>): {{ s.m.bug }}{% if s.detail %} — {{ s.detail }}{% endif %}</li>{% endfor %}</ul>
  </div>
  {% endif %}
  <p class="legend muted">{% for cls, glyph, words in kills.legend %}<span class="kcell {{ cls }}">{{ glyph }}</span> {{ words }}{% if not loop.last %} · {% endif %}{% endfor %}</p>
  {% for kp in kills.papers %}
  <h3 class="kill-paper">{{ kp.title }} <small class="muted">{{ kp.paper }}</small></h3>
  <div class="tablewrap">
  <table class="kill-matrix" data-paper="{{ kp.paper }}">
    <thead><tr><th>mutant</th><th>member</th>
      {% for c in kp.claims %}<th class="kclaim" data-claim="{{ c.id }}">{% if c.anchor %}<a href="#{{ c.anchor }}">{{ c.id }}</a>{% else %}{{ c.id }}{% endif %}</th>{% endfor %}
      <th class="num">killed by</th></tr></thead>
    <tbody>
    {% for r in kp.rows %}
    <tr data-mutant="{{ r.m.id }}" class="{{ r.m.status }}"><th class="mono" title="{{ r.m.bug }}"><a href="#{{ r.ref.anchor }}">{{ r.m.id }}</a></th><td class="mono">{{ r.m.member }}</td>
      {% for c in r.cells %}<td class="kcell {{ c.cls }}" data-outcome="{{ c.outcome }}" title="{{ c.title }}">{% if c.href %}<a href="{{ c.href }}">{{ c.glyph }}</a>{% else %}{{ c.glyph }}{% endif %}</td>{% endfor %}
      <td class="num{% if not r.kills %} err{% endif %}">{{ r.kills }}</td></tr>
    {% endfor %}
    <tr class="total"><th colspan="2">kills (power)</th>{% for c in kp.claims %}<td class="num" data-claim-kills="{{ c.id }}">{{ c.kills }}</td>{% endfor %}<td></td></tr>
    </tbody>
  </table>
  </div>
  {% endfor %}
  <details class="kill-by-claim" open>
    <summary>What each claim catches (its power)</summary>
    <div class="body tablewrap">
    <table id="kill-by-claim"><thead><tr><th>claim</th><th>paper</th><th class="num">killed</th><th>mutants it kills</th><th class="num">survived</th><th class="num">n/a</th><th class="num">not run</th></tr></thead><tbody>
    {% for k in kills.by_claim %}<tr data-claim="{{ k.id }}" data-kills="{{ k.caught|map(attribute='id')|join(' ') }}"{% if not k.caught %} class="kills-nothing"{% endif %}>
      <td class="mono">{% if k.anchor %}<a href="#{{ k.anchor }}">{{ k.id }}</a>{% else %}{{ k.id }}{% endif %}{% if k.reported %} <span class="badge reported">reported</span>{% endif %}</td><td>{{ k.paper }}</td>
      <td class="num">{{ k.counts['killed'] }}</td>
      <td>{% for mu in k.caught %}<a class="mono" href="#{{ mu.anchor }}">{{ mu.id }}</a>{% if not loop.last %}, {% endif %}{% else %}<span class="muted">none</span>{% endfor %}</td>
      <td class="num">{{ k.counts['survived'] }}</td><td class="num">{{ k.counts['not applicable'] }}</td><td class="num">{{ k.counts['not run'] }}</td></tr>
    {% endfor %}
    </tbody></table>
    </div>
  </details>
  <details class="kill-by-mutant" open>
    <summary>What catches each mutant</summary>
    <div class="body tablewrap">
    <table id="kill-by-mutant"><thead><tr><th>mutant</th><th>paper</th><th>member</th><th>bug</th><th>killed by (reproduce)</th></tr></thead><tbody>
    {% for k in kills.by_mutant %}<tr id="{{ k.ref.anchor }}" data-mutant="{{ k.m.id }}" data-killed-by="{{ k.killers|map(attribute='claim')|join(' ') }}" class="{{ k.m.status }}">
      <td class="mono">{{ k.m.id }}</td><td>{{ k.m.paper }}</td><td class="mono">{{ k.m.member }}</td><td>{{ k.m.bug }}</td>
      <td>{% if k.m.stale %}<span class="err">stale{% if k.m.stale_detail %}: {{ k.m.stale_detail }}{% endif %}</span>
        {% elif not k.killers %}<span class="err">survives every claim</span>{% if k.m.known_survivor %} <span class="muted">(known: {{ k.m.known_survivor }})</span>{% endif %}
        {% else %}<ul class="killers">{% for x in k.killers %}<li id="{{ x.id }}">{% if x.anchor %}<a class="mono" href="#{{ x.anchor }}">{{ x.claim }}</a>{% else %}<span class="mono">{{ x.claim }}</span>{% endif %}{% if x.detail %} <span class="muted">{{ x.detail }}</span>{% endif %}{% if x.reproduce %}<code class="reproduce">{{ x.reproduce }}</code>{% endif %}</li>{% endfor %}</ul>{% endif %}</td></tr>
    {% endfor %}
    </tbody></table>
    </div>
  </details>
</section>
{% endif %}

{% for pv in papers %}
<section class="paper" id="{{ pv.anchor }}" data-paper="{{ pv.p.key }}">
  <h2 class="paper-head">{{ pv.p.title }} <small>{{ pv.p.key }}</small></h2>
  <p class="muted">{{ pv.counts['encoded'] }} claim(s) encoded of {{ pv.p.spec_ids|length }} in the specification:
    {{ pv.counts['held'] }} held, {{ pv.counts['inconclusive'] }} inconclusive, {{ pv.counts['violated'] }} violated,
    {{ pv.counts['assumption not met'] }} with assumptions not met, {{ pv.counts['not applicable'] }} not applicable,
    {{ pv.counts['reported'] }} reported, {{ pv.counts['not checked'] }} not checked; {{ pv.counts['examples'] }} examples,
    {{ pv.counts['instances'] }} instances.</p>
  {% for cv in pv.claims %}
  {% set m = cv.meta %}
  <article class="claim {{ cv.vclass }}" id="{{ cv.anchor }}" data-claim-id="{{ cv.c.id }}" data-verdict="{{ cv.verdict }}">
    <div class="claim-head">
      <span class="cid">{{ cv.c.id }}</span>
      <span class="ref">{{ m.get('reference', '') }} · {{ cv.c.paper }}</span>
      {% if cv.badge == 'STATED' %}<span class="badge stated" title="stated in the paper's own text{% if m.get('stated_qualifier') %} ({{ m['stated_qualifier'] }}){% endif %}">STATED{% if m.get('stated_qualifier') %}<span class="level">{{ m['stated_qualifier'] }}</span>{% endif %}</span>
      {% elif cv.badge %}<span class="badge derived" title="{{ cv.provenance }}: reconstructed, not the paper's verbatim statement">DERIVED{% if cv.level %}<span class="level">{{ cv.level }}</span>{% endif %}</span>
      <span class="badge recon">reconstructed</span>{% endif %}
      {% if m.get('kind') %}<span class="badge kind">{{ m['kind'] }}</span>{% endif %}
      {% if cv.reported %}<span class="badge reported" title="a reported measurement: shown with its numbers, never counted as verified">reported measurement</span>{% endif %}
      <span class="spacer"></span>
      <span class="verdict {{ cv.vclass }}" data-verdict="{{ cv.verdict }}">{{ cv.verdict }}</span>
    </div>
    <h3>{{ m.get('title') or '(no title recorded)' }}</h3>
    {% if cv.reported %}<p class="reported-note">A reported measurement: its numbers are shown, and it is never counted as verified{% if cv.c.evidence_verdict not in ('held', 'not checked') %} (its examples: {{ cv.c.evidence_verdict }}){% endif %}.</p>{% endif %}
    {% if not cv.c.registered %}<p class="err">This claim has evidence but no claim record in the results file: its metadata is missing.</p>{% endif %}
    <div class="statement">{{ cv.statement }}</div>
    {% if cv.rules %}
    <div class="rules" data-rules="{{ cv.rules|length }}"><span class="muted">Decision rule{% if cv.rules|length > 1 %}s{% endif %}{% if cv.worst %} (as printed for the worst example){% endif %}:</span>
      <ul>{% for part, rule in cv.rules %}<li class="rule" data-part="{{ part }}">{% if part %}<b>{{ part }}</b>: {% endif %}{{ rule }}</li>{% endfor %}</ul></div>
    {% endif %}
    {% if m.get('assumptions') %}
    <div class="assumptions"><span class="muted">Assumptions:</span>
      {% for a in m['assumptions'] %}<span class="chip" title="{{ a.get('text', '') if a is mapping else '' }}">{{ a.get('name', a) if a is mapping else a }}</span>{% endfor %}</div>
    {% endif %}
    {% if m.get('notes') %}<p class="notes">{{ m['notes'] }}</p>{% endif %}
    {% if cv.uses %}
    <div class="uses" data-uses="{{ cv.uses|join(' ') }}"><span class="muted">Model API exercised:</span>
      {% for u in cv.uses %}<span class="chip mono">{{ u }}</span>{% endfor %}</div>
    {% endif %}
    {% if cv.drawn %}
    <details class="drawn"><summary class="muted">Drawn range of each parameter ({{ cv.held + cv.violated + cv.inconclusive + cv.na + cv.unmet }} examples)</summary>
      <table class="kv">{% for k, v in cv.drawn %}<tr><td class="mono">{{ k }}</td><td class="mono" data-param="{{ k }}">{{ v }}</td></tr>{% endfor %}</table>
    </details>
    {% endif %}
    {% if cv.catches %}
    {% set k = cv.catches %}
    <p class="catches" data-catches="{{ k.caught|map(attribute='id')|join(' ') }}"><span class="muted">catches:</span>
      {% if k.caught %}{% for mu in k.caught %}<a href="#{{ mu.anchor }}" class="mono">{{ mu.id }}</a>{% if not loop.last %}, {% endif %}{% endfor %}{% else %}<b>no mutant</b>{% endif %}
      <span class="muted">({{ k.counts['killed'] }} killed, {{ k.counts['survived'] }} survived, {{ k.counts['not applicable'] }} not applicable{% if k.counts['not run'] %}, {{ k.counts['not run'] }} not run (fast form){% endif %}{% if k.counts['stale'] %}, {{ k.counts['stale'] }} stale{% endif %})</span></p>
    {% endif %}
    {% if cv.control %}
    <p class="control"><span class="muted">Negative control:</span> mutant {% if cv.control_anchor %}<a class="mono" href="#{{ cv.control_anchor }}">{{ cv.control.get('mutant') }}</a>{% else %}<span class="mono">{{ cv.control.get('mutant') }}</span>{% endif %}
      at seed {{ cv.control.get('seed', 0) }}{% if cv.control.get('config') %}, config <span class="mono">{{ cv.control.get('config')|compact }}</span>{% endif %}</p>
    {% endif %}
    <div class="facts">
      {% if cv.c.evidence %}
      <div><span class="k">examples</span><span class="v">{{ cv.c.evidence|length }}</span>
        <span class="muted">({{ cv.held }} held{% if cv.inconclusive %}, {{ cv.inconclusive }} inconclusive{% endif %}{% if cv.violated %}, {{ cv.violated }} violated{% endif %}{% if cv.unmet %}, {{ cv.unmet }} assumption not met{% endif %}{% if cv.na %}, {{ cv.na }} not applicable{% endif %})</span></div>
      <div><span class="k">instances</span><span class="v">{{ cv.c.instances }}</span></div>
      {% if cv.worst %}
      <div><span class="k">worst relative margin</span><span class="v{% if not cv.worst.get('holds') %} neg{% endif %}" data-worst-relative-margin>{{ cv.worst.get('relative_margin')|num }}</span></div>
      <div><span class="k">worst margin</span><span class="v{% if not cv.worst.get('holds') %} neg{% endif %}">{{ cv.worst.get('margin')|num }}</span>
        <span class="muted">(measured {{ cv.worst.get('measured')|num }}, bound {{ cv.worst.get('bound')|num }})</span></div>
      {% endif %}
      {% endif %}
      {% if not cv.has_ffr %}<div><span class="k">false-fail rate</span><span class="v" data-stat="false_fail_rate">{{ 'none (deterministic)' if m.get('kind') in ('identity', 'inequality', 'rate', none) else 'not stated' }}</span></div>{% endif %}
      {% for label, value, key in cv.stats %}<div><span class="k">{{ label }}</span><span class="v" data-stat="{{ key }}">{{ value }}</span></div>{% endfor %}
      <div><span class="k">time</span><span class="v">{% if cv.c.evidence %}{{ '%.2f'|format(cv.seconds) }} s{% else %}—{% endif %}</span> <span class="muted">({{ m.get('cost', '?') }})</span></div>
      {% if cv.seconds > 0 %}
      <div><span class="k">throughput</span><span class="v" data-throughput>{{ '%.3g'|format(cv.c.evidence|length / cv.seconds) }} examples/s</span>
        <span class="muted">({{ '%.3g'|format(cv.c.instances / cv.seconds) }} instances/s)</span></div>
      {% endif %}
    </div>
    {% if m.get('tolerance') %}<p><span class="muted">Tolerance:</span> {{ m['tolerance'] }}</p>{% endif %}
    {% if cv.verdict == 'not checked' %}
    <p class="muted not-checked">Not checked in this run: no example of this claim ran (deselected, or the run
      stopped before it).</p>
    {% else %}
    <div class="figs">
      <figure class="margins">
        {% if cv.hist %}{{ cv.hist }}{% else %}<p class="muted">No margins to plot.</p>{% endif %}
        <figcaption>Relative margins of the checked examples (red line: the bound; triangle: the worst example){% if cv.hist_caption %}; {{ cv.hist_caption }}{% endif %}.</figcaption>
      </figure>
      {% if cv.figure %}
      <figure class="claim-figure" data-figure="{{ cv.figure.name }}">
        {% if cv.figure.svg %}{{ cv.figure.svg }}{% endif %}
        <figcaption>Figure <span class="mono">{{ cv.figure.name }}</span>{% if cv.figure.example is not none %}, from example {{ cv.figure.example }}{% if cv.figure.from_worst %} (the worst){% endif %}{% endif %}{% if cv.figure.caption %}; {{ cv.figure.caption }}{% endif %}.</figcaption>
      </figure>
      {% endif %}
    </div>
    {% endif %}
    {% if cv.worst or cv.worst_unmet %}
    {% set w = cv.worst or cv.worst_unmet %}
    <details class="worst"{% if cv.open %} open{% endif %}>
      <summary>{% if cv.worst %}Worst example: config and reproduce command{% elif cv.worst_unmet['status'] == 'not applicable' %}An example that could not run on this implementation{% else %}An example outside the assumptions{% endif %}</summary>
      <div class="body">
        {% if w.get('unmet_assumptions') %}<p>{{ 'Not applicable' if w['status'] == 'not applicable' else 'Assumptions not met' }}: {{ w['unmet_assumptions']|textlist }}</p>{% endif %}
        {% if w.get('impl') and w.get('impl') != 'reference' %}<p>implementation under test: <span class="mono">{{ w['impl'] }}</span></p>{% endif %}
        {% if w.get('error') %}<p class="err">Error: <code>{{ w['error'] }}</code></p>{% endif %}
        <p>seed <span class="mono">{{ w.get('seed') }}</span> · {{ w.get('device', '?') }} / {{ w.get('dtype') or '—' }}
          {% if w.get('test_id') %}· test <span class="mono">{{ w['test_id'] }}</span>{% endif %}
          {% if w.get('example') is not none %}· example {{ w.get('example') }}{% endif %}</p>
        {% if w.get('config') is mapping %}
        <table class="config"><thead><tr><th>parameter</th><th>value</th></tr></thead><tbody>
          {% for k, v in w['config']|dictsort %}<tr><td class="mono">{{ k }}</td><td class="mono">{{ v|json }}</td></tr>{% endfor %}
        </tbody></table>
        {% else %}<pre>{{ w.get('config')|json }}</pre>{% endif %}
        {% if w.get('reproduce') %}<p>Reproduce:</p><pre class="reproduce">{{ w['reproduce'] }}</pre>{% endif %}
        {% if cv.blob %}<p>Hypothesis:</p><pre class="blob">{{ cv.blob }}</pre>{% endif %}
        {% if cv.parts %}
        <p>Sub-checks of this example{% if cv.worst_part %} (worst: <b>{{ cv.worst_part }}</b>){% endif %}:</p>
        <table class="parts"><thead><tr><th>sub-check</th><th class="num">measured</th><th class="num">bound</th><th class="num">margin</th><th>holds</th></tr></thead><tbody>
          {% for name, p in cv.parts.items() %}{% if p is mapping %}<tr><td>{{ name }}</td><td class="num">{{ p.get('measured')|num }}</td><td class="num">{{ p.get('bound')|num }}</td><td class="num">{{ p.get('margin')|num }}</td><td>{{ 'yes' if p.get('holds') else 'NO' }}</td></tr>{% endif %}{% endfor %}
        </tbody></table>
        {% endif %}
        {% if cv.other_details %}
        <p>Other details:</p>
        <table class="details"><tbody>{% for k, v in cv.other_details %}<tr><td class="mono">{{ k }}</td><td class="mono">{{ v|truncate(400) }}</td></tr>{% endfor %}</tbody></table>
        {% endif %}
      </div>
    </details>
    {% endif %}
    {% if cv.constants %}
    <details class="constants">
      <summary>Fitted constants and measured quantities ({{ cv.constants|length }})</summary>
      <div class="body tablewrap">
      <table><thead><tr><th>quantity</th><th class="num">worst example</th><th class="num">min</th><th class="num">median</th><th class="num">max</th><th class="num">std</th><th class="num">n</th></tr></thead><tbody>
        {% for r in cv.constants %}<tr><td class="mono">{{ r.name }}{% if r.rate %} <span class="badge kind">rate</span>{% endif %}</td><td class="num">{{ r.worst|num }}</td><td class="num">{{ r.min|num }}</td><td class="num">{{ r.median|num }}</td><td class="num">{{ r.max|num }}</td><td class="num">{{ r.std|num }}</td><td class="num">{{ r.n }}</td></tr>{% endfor %}
      </tbody></table>
      <p class="muted">Spread over the {{ cv.c.checked|length }} checked example(s); "worst example" is the one with the smallest relative margin.</p>
      </div>
    </details>
    {% endif %}
    {% if cv.other_curves %}
    <details class="curves">
      <summary>Other curves of the worst example ({{ cv.other_curves|length }})</summary>
      <div class="body figs">
        {% for f in cv.other_curves %}<figure data-figure="{{ f.name }}">{% if f.svg %}{{ f.svg }}{% endif %}<figcaption><span class="mono">{{ f.name }}</span>{% if f.caption %}; {{ f.caption }}{% endif %}</figcaption></figure>{% endfor %}
      </div>
    </details>
    {% endif %}
    {% if cv.examples %}
    <details class="examples">
      <summary>Examples ({{ cv.examples_total }}{% if cv.examples_total > cv.examples|length %}, the {{ cv.examples|length }} worst shown{% endif %})</summary>
      <div class="body tablewrap">
      <table><thead><tr><th>#</th><th>status</th><th class="num">relative margin</th><th class="num">measured</th><th class="num">bound</th><th class="num">seed</th><th class="num">instances</th><th>config</th></tr></thead><tbody>
        {% for e in cv.examples %}<tr><td>{{ e.get('example', loop.index0) }}</td><td><span class="dot {{ e['status']|vclass }}"></span> {{ e['status'] }}</td><td class="num">{{ e.get('relative_margin')|num }}</td><td class="num">{{ e.get('measured')|num }}</td><td class="num">{{ e.get('bound')|num }}</td><td class="num">{{ e.get('seed') }}</td><td class="num">{{ e.get('instances', 1) }}</td><td class="mono" title="{{ e.get('config')|json }}">{{ e.get('config')|compact }}</td></tr>{% endfor %}
      </tbody></table>
      </div>
    </details>
    {% endif %}
    <details class="source">
      <summary>Statement source and parameters</summary>
      <div class="body">
        <pre class="tex">{{ cv.statement_src }}</pre>
        {% if m.get('params') %}
        <table><thead><tr><th>parameter</th><th>type</th><th>range</th><th>meaning</th></tr></thead><tbody>
        {% for p in m['params'] if p is mapping %}<tr><td class="mono">{{ p.get('name') }}</td><td>{{ p.get('type', '') }}</td><td class="mono">
          {%- if p.get('choices') %}{{ p['choices']|json }}{% else %}{% if p.get('min') is not none %}&ge; {{ p['min'] }} {% endif %}{% if p.get('gt') is not none %}&gt; {{ p['gt'] }} {% endif %}{% if p.get('max') is not none %}&le; {{ p['max'] }}{% endif %}{% endif -%}
        </td><td>{{ p.get('doc', '') }}</td></tr>{% endfor %}
        </tbody></table>
        {% endif %}
        {% if m.get('presets') %}
        <p class="presets"><span class="muted">Presets</span> (named configurations; a GPU run checks <span class="mono">paper</span>):</p>
        <ul class="presets">{% for name, cfg in m['presets'].items() %}<li><span class="mono">{{ name }}</span>: <span class="mono">{{ cfg|json }}</span></li>{% endfor %}</ul>
        {% endif %}
      </div>
    </details>
  </article>
  {% endfor %}
  {% if pv.p.not_encoded %}
  <div class="not-encoded" data-not-encoded="{{ pv.p.not_encoded|length }}">
    <b>Not encoded</b> <span class="muted">(in the specification, no registry entry yet):</span>
    <div class="chips">{% for sid in pv.p.not_encoded %}<span class="chip" data-claim-id="{{ sid }}" data-verdict="not encoded">{{ sid }}</span>{% endfor %}</div>
  </div>
  {% endif %}
</section>
{% endfor %}
</main>
</div>
<footer>Built {{ built }} by <span class="mono">python -m reports</span> from <span class="mono">{{ results_path }}</span>.
Statements marked DERIVED are reconstructions from the specifications, not the papers' verbatim text.</footer>
</body>
</html>
"""

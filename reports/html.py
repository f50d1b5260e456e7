"""The HTML report: one self-contained, offline file built from a results file alone.

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

from . import results as res
from . import svg
from .summary import (COUNT_FIELDS, HELD, NOT_CHECKED, NOT_ENCODED, UNMET, VIOLATED, ClaimSummary, Summary, load,
                      summarize)

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


def _verdict_class(v: str) -> str:
    return {HELD: "held", VIOLATED: "violated", UNMET: "unmet", NOT_CHECKED: "unchecked", NOT_ENCODED: "unencoded"}[v]


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
    margins = [(svg.number(e.get("relative_margin")), e["status"] == HELD) for e in claim.checked]
    points = [(v if v is not None else math.nan, held) for v, held in margins]
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
        "unmet": unmet,
        "worst": worst,
        "worst_unmet": next((e for e in claim.evidence if e["status"] == UNMET), None) if not worst else None,
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
        "open": claim.verdict == VIOLATED,
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
        "built": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
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
  --unchecked:#59636e; --unchecked-bg:#eff2f5; --stated:#0550ae; --stated-bg:#ddf4ff; --derived:#8250df;
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
.dot.unencoded { background: transparent; border: 1.5px solid #afb8c1; }
main { min-width: 0; padding-top: .6em; }
.banner { margin: 1em 0; padding: .7em 1em; border-radius: 6px; border: 1px solid; font-weight: 500; }
.banner.interrupted { background: var(--unmet-bg); border-color: #d4a72c; color: #633c01; }
.banner.failed { background: var(--violated-bg); border-color: #ff8182; color: #82071e; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: .8rem; margin: 1em 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .6em .9em; background: var(--bg); }
.card .n { font-size: 1.9rem; font-weight: 650; line-height: 1.1; font-variant-numeric: tabular-nums; }
.card .l { color: var(--muted); font-size: .85rem; }
.card.held .n { color: var(--held); } .card.violated .n { color: var(--violated); }
.card.unmet .n { color: var(--unmet); } .card.unencoded .n, .card.unchecked .n { color: var(--unchecked); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .32em .7em; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; background: var(--panel); font-size: .88rem; }
td.num, th.num { text-align: right; }
table.summary tr.total td { font-weight: 650; border-top: 2px solid var(--fg); }
table.summary td.f-violated:not(.zero) { color: var(--violated); font-weight: 650; }
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
.verdict.unchecked, .verdict.unencoded { background: var(--unchecked-bg); color: var(--unchecked); }
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
<title>ICL theory claims: {{ totals['held'] }} held, {{ totals['violated'] }} violated</title>
<style>{{ css }}</style>
</head>
<body>
<header class="top">
  <h1>In-context-learning theory: checked claims</h1>
  <p class="sub">profile <b>{{ run.get('profile', '?') }}</b> · device <b>{{ run.get('device', '?') }}</b>
  {%- if run.get('cuda') %} ({{ run['cuda'] }}){% endif %} · torch {{ run.get('torch', '?') }}
  · commit <span class="mono">{{ run.get('git_commit', '?') }}</span> · run time {{ run_time }}</p>
</header>
<div class="layout">
<nav class="toc" id="contents" aria-label="Contents">
  <h2>Contents</h2>
  <ul><li><a class="paper-link" href="#summary">Summary</a></li></ul>
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
<section id="summary">
  <h2>Summary</h2>
  <div class="cards">
    <div class="card" data-total="checked"><div class="n">{{ totals['checked'] }}</div><div class="l">claims checked</div></div>
    <div class="card held" data-total="held"><div class="n">{{ totals['held'] }}</div><div class="l">held</div></div>
    <div class="card violated" data-total="violated"><div class="n">{{ totals['violated'] }}</div><div class="l">violated</div></div>
    <div class="card unmet" data-total="assumption not met"><div class="n">{{ totals['assumption not met'] }}</div><div class="l">assumption not met</div></div>
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
  <p class="muted">A claim is <b>checked</b> when it has at least one example; <b>held</b> when no example violated it;
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

{% for pv in papers %}
<section class="paper" id="{{ pv.anchor }}" data-paper="{{ pv.p.key }}">
  <h2 class="paper-head">{{ pv.p.title }} <small>{{ pv.p.key }}</small></h2>
  <p class="muted">{{ pv.counts['encoded'] }} claim(s) encoded of {{ pv.p.spec_ids|length }} in the specification:
    {{ pv.counts['held'] }} held, {{ pv.counts['violated'] }} violated, {{ pv.counts['assumption not met'] }} with
    assumptions not met, {{ pv.counts['not checked'] }} not checked; {{ pv.counts['examples'] }} examples,
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
      <span class="spacer"></span>
      <span class="verdict {{ cv.vclass }}" data-verdict="{{ cv.verdict }}">{{ cv.verdict }}</span>
    </div>
    <h3>{{ m.get('title') or '(no title recorded)' }}</h3>
    {% if not cv.c.registered %}<p class="err">This claim has evidence but no claim record in the results file: its metadata is missing.</p>{% endif %}
    <div class="statement">{{ cv.statement }}</div>
    {% if m.get('assumptions') %}
    <div class="assumptions"><span class="muted">Assumptions:</span>
      {% for a in m['assumptions'] %}<span class="chip" title="{{ a.get('text', '') if a is mapping else '' }}">{{ a.get('name', a) if a is mapping else a }}</span>{% endfor %}</div>
    {% endif %}
    {% if m.get('notes') %}<p class="notes">{{ m['notes'] }}</p>{% endif %}
    <div class="facts">
      {% if cv.c.evidence %}
      <div><span class="k">examples</span><span class="v">{{ cv.c.evidence|length }}</span>
        <span class="muted">({{ cv.held }} held{% if cv.violated %}, {{ cv.violated }} violated{% endif %}{% if cv.unmet %}, {{ cv.unmet }} assumption not met{% endif %})</span></div>
      <div><span class="k">instances</span><span class="v">{{ cv.c.instances }}</span></div>
      {% if cv.worst %}
      <div><span class="k">worst relative margin</span><span class="v{% if not cv.worst.get('holds') %} neg{% endif %}" data-worst-relative-margin>{{ cv.worst.get('relative_margin')|num }}</span></div>
      <div><span class="k">worst margin</span><span class="v{% if not cv.worst.get('holds') %} neg{% endif %}">{{ cv.worst.get('margin')|num }}</span>
        <span class="muted">(measured {{ cv.worst.get('measured')|num }}, bound {{ cv.worst.get('bound')|num }})</span></div>
      {% endif %}
      {% endif %}
      <div><span class="k">false-fail rate</span><span class="v">{{ m.get('false_fail_rate')|num if m.get('false_fail_rate') is not none else 'none (deterministic)' }}</span></div>
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
      <summary>{% if cv.worst %}Worst example: config and reproduce command{% else %}An example outside the assumptions{% endif %}</summary>
      <div class="body">
        {% if w.get('unmet_assumptions') %}<p>Assumptions not met: {{ w['unmet_assumptions']|textlist }}</p>{% endif %}
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

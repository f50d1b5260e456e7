"""The HTML report, built from synthetic results files: verdicts (held, inconclusive, violated, assumption not met,
not applicable, reported), summary numbers, stated statistics, the kill matrix, plots, hostile strings, bad input,
atomic writes, and the parts of xdist workers and of killed runs.

The synthetic records come from the real machinery (``Claim.metadata()``, ``run_claim(...).to_json()`` against a toy
implementation of a toy model API, ``tolerances.mean_verdict``) so they have the results file's exact shape; only the
claims, the model and the kill records are toys. ``scenario()`` is shared with test_gate.py and
test_report_browser.py.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports import html, results as res
from reports.__main__ import main as cli
from theorems.core import Assumption, Claim, Control, Cost, Kind, Outcome, Param, Provenance, curve, run_claim
from theorems.impl import Impl
from theorems.tolerances import mean_verdict

ROOT = Path(__file__).resolve().parents[1]

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "]]>", "</svg>", "{{ 7*7 }}"]
H = " ".join(HOSTILE)

# ------------------------------------------------------------------------------------------ synthetic results
PAPERS = {
    "alpha": {"title": "Alpha et al.: a paper " + H, "spec_ids": ["A-HELD", "A-VIOL", "A-UNMET", "A-IDLE", "A-X1", "A-X2"]},
    "beta": {"title": "Beta & Gamma", "spec_ids": ["B-1", "B-2"]},
    "gamma": {"title": "Gamma: statistics " + H, "spec_ids": ["G-STAT", "G-INC", "G-NA", "G-REP", "G-X"]},
}
_ZERO = {"encoded": 0, "checked": 0, "held": 0, "inconclusive": 0, "violated": 0, "assumption not met": 0,
         "not applicable": 0, "reported": 0, "not checked": 0, "not encoded": 0, "examples": 0, "instances": 0}
# What the scenario's report must show (an independent oracle for the summary table and the browser test).
EXPECTED = {
    "alpha": _ZERO | {"encoded": 4, "checked": 3, "held": 1, "violated": 1, "assumption not met": 1, "not checked": 1,
                      "not encoded": 2, "examples": 5 + 4 + 2, "instances": 5 * 8 + 4 + 2},
    "beta": _ZERO | {"not encoded": 2},
    "gamma": _ZERO | {"encoded": 4, "checked": 4, "held": 1, "inconclusive": 1, "not applicable": 1, "reported": 1,
                      "not encoded": 1, "examples": 3 + 2 + 2 + 2, "instances": 3 + 2 + 2 + 2},
}
VERDICTS = {"A-HELD": "held", "A-VIOL": "violated", "A-UNMET": "assumption not met", "A-IDLE": "not checked",
            "G-STAT": "held", "G-INC": "inconclusive", "G-NA": "not applicable", "G-REP": "reported"}

# A toy model API of two members; the toy module implements only "forward", so a check calling "train" is not
# applicable to it (theorems.impl.MissingMember).
TOY_API = {"forward": "(x) -> x: the toy model", "train": "(x) -> x: the toy training loop (absent from the module)"}
_TOY_MODULE = types.ModuleType("toy_model")
_TOY_MODULE.forward = lambda x: x


def toy_impl(paper: str, key: str = "reference") -> Impl:
    return Impl(paper, _TOY_MODULE, key, TOY_API)


def _check_with_figure(cfg, ctx):
    """A toy rate claim: its figure is a decay curve beside a theory line; details carry a fitted slope."""
    t = list(range(1, 11))
    return Outcome.at_most(ctx.impl.forward(cfg["x"]), 1.0, instances=8, details={"slope": -0.5 - cfg["x"] / 10, "C_hat": 2.0 + cfg["x"]},
                           curves={"delta": curve("t", "Delta(t)", {"measured " + H: (t, [0.5**k for k in t]),
                                                                    "theory": (t, [0.6**k for k in t])}, logy=True),
                                   "extra": curve("d_r", "error", {"fit": ([1, 10, 100], [1.0, 0.1, 0.01])},
                                                  logx=True, logy=True)})


def _toy(cid: str, check, figure=None, paper="alpha", **kw) -> Claim:
    return Claim(
        id=cid, paper=paper, reference="Theorem 1 " + H, title="Toy claim " + H, statement=r"\|x\| \le \frac{1}{2}",
        provenance=kw.pop("provenance", Provenance.DERIVED_HIGH), kind=kw.pop("kind", Kind.INEQUALITY), check=check,
        params=(Param("x", float, doc="the measured value " + H), Param("label", str, doc="free text"))
        + ((Param("s", float, min=0, doc="seed-to-seed spread"),) if paper == "gamma" else ()),
        defaults={"x": 0.5, "label": "plain"} | ({"s": 0.1} if paper == "gamma" else {}),
        assumptions=(Assumption("x >= 0 " + H, lambda c: c["x"] >= 0, H),),
        tolerance="exact " + H, notes="Reconstructed. " + H, figure=figure, **kw,
    )


def claims() -> dict[str, Claim]:
    return {
        "A-HELD": _toy("A-HELD", _check_with_figure, figure="delta", provenance=Provenance.STATED,
                       presets={"paper": {"label": "paper " + H}}),
        "A-VIOL": _toy("A-VIOL", lambda c, ctx: Outcome.at_most(c["x"], 1.0), figure="missing-curve",
                       cost=Cost.MEDIUM, false_fail_rate=1e-3),
        "A-UNMET": _toy("A-UNMET", lambda c, ctx: Outcome.at_most(c["x"], 1.0)),
        "A-IDLE": _toy("A-IDLE", lambda c, ctx: Outcome.at_most(c["x"], 1.0), provenance=Provenance.DERIVED_LOW),
        # gamma: a statistical claim decided from three seeds (held), the same check nearer its bound (inconclusive),
        # a check that calls the member the toy implementation lacks, and a reported measurement
        "G-STAT": _toy("G-STAT", _mean_check, paper="gamma", kind=Kind.STATISTICAL, false_fail_rate=0.05, power=0.9,
                       control=Control("G-M01", {"x": 0.2}, 3)),
        "G-INC": _toy("G-INC", _mean_check, paper="gamma", kind=Kind.STATISTICAL, false_fail_rate=0.05, power=0.9),
        "G-NA": _toy("G-NA", lambda c, ctx: Outcome.at_most(ctx.impl.train(c["x"]), 1.0), paper="gamma"),
        "G-REP": _toy("G-REP", lambda c, ctx: Outcome.at_most(ctx.impl.forward(c["x"]), 1.0), paper="gamma",
                      kind=Kind.STATISTICAL, reported=True),
    }


def _mean_check(cfg, ctx):
    """Three seeds' values x - s, x, x + s against "mean <= 0.5" at false-fail rate 0.05, power 0.9 and resolution
    0.05 (the shared statistics module's rule): held for x = 0.1 (s = 0.1), inconclusive for x = 0.5, violated for
    x = 0.9. Its details carry the printed rule, sd, resolution and min_discrepancy."""
    x, s = ctx.impl.forward(cfg["x"]), cfg["s"]
    return mean_verdict([x - s, x, x + s], 0.5, "at_most", rate=0.05, power=0.9, resolution=0.05,
                        what="mean over seeds", unit="seeds")


def evidence(claim: Claim, cfg: dict, seed: int = 0, example: int = 0, impl: str = "reference", **extra) -> dict:
    rec = run_claim(claim, cfg, seed=seed, impl=toy_impl(claim.paper, impl)).to_json()
    return rec | {"type": "evidence", "test_id": f"properties/test_{claim.paper}.py::test_claim[{claim.id}]",
                  "profile": "ci", "example": example, "final": False} | extra


def run_record(**kw) -> dict:
    return {"type": "run", "format": res.FORMAT, "profile": "ci", "device": "cpu", "torch": "2.13.0+cpu",
            "python": "3.11.7", "machine": "x86_64", "cuda": None, "git_commit": "abc1234 " + H,
            "started": "2026-01-01T00:00:00+00:00", "command": "pytest properties " + H, "workers": 2,
            "papers": PAPERS} | kw


def scenario_records() -> tuple[list[dict], list[dict]]:
    """(header, body) of the scenario: A-HELD held on 5 examples, A-VIOL violated on 1 of 4 (with a Hypothesis
    blob and an exception message), A-UNMET only outside its assumptions, A-IDLE registered but never run; then the
    gamma claims (gamma_evidence) and the kill records (KILLS). Alpha's evidence comes first, at fixed positions."""
    cs = claims()
    header = [run_record()] + [{"type": "claim", **c.metadata()} for c in cs.values()]
    ev = [evidence(cs["A-HELD"], {"x": x, "label": H}, seed=i, example=i) for i, x in enumerate([0.1, 0.2, 0.3, 0.4, 0.25])]
    ev += [evidence(cs["A-VIOL"], {"x": x}, seed=i, example=i) for i, x in enumerate([0.2, 0.5, 0.9])]
    ev.append(evidence(cs["A-VIOL"], {"x": 3.0, "label": H}, seed=7, example=3, final=True, error="ValueError: " + H,
                       hypothesis={"reproduce_failure": "@reproduce_failure('6.0', b'AXic" + H + "')"}))
    ev += [evidence(cs["A-UNMET"], {"x": -1.0}, example=i) for i in range(2)]
    return header, ev + gamma_evidence(cs) + copy.deepcopy(KILLS)


def gamma_evidence(cs: dict[str, Claim]) -> list[dict]:
    """G-STAT held on three examples (mean-over-seeds rule, with sd and resolution); G-INC held once and inconclusive
    once; G-NA not applicable (the toy implementation lacks "train"); G-REP a reported measurement that held."""
    ev = [evidence(cs["G-STAT"], {"x": x}, seed=i, example=i) for i, x in enumerate([0.1, 0.15, 0.2])]
    ev += [evidence(cs["G-INC"], {"x": x}, seed=i, example=i) for i, x in enumerate([0.1, 0.5])]
    ev += [evidence(cs["G-NA"], {"x": x}, seed=i, example=i) for i, x in enumerate([0.1, 0.2])]
    ev += [evidence(cs["G-REP"], {"x": x}, seed=i, example=i) for i, x in enumerate([0.3, 0.6])]
    return ev


def kill(mutant: str, claim_id: str, outcome: str, member: str = "forward", **kw) -> dict:
    paper = "alpha" if mutant.startswith("A-") else "gamma"
    rep = (f"python -m theorems check {claim_id} --seed 0 --device cpu --mutant {mutant} --config '{{\"x\": 0.5}}'"
           if outcome == "killed" else None)
    return {"type": "kill", "paper": paper, "mutant": mutant, "member": member, "bug": f"bug of {mutant} " + H,
            "claim_id": claim_id, "outcome": outcome, "examples": 25 if outcome in ("killed", "survived") else 0,
            "reproduce": rep, "detail": f"{outcome} at example 3" if outcome == "killed" else "",
            "seconds": 0.5, "known_survivor": None} | kw


_NOTE = "issue 13: a claim of alpha will kill it " + H
KILLS = [
    # A-M01 and A-M05 killed by A-HELD (A-M05 in the fast form: the later claims were not run), A-M06 by A-VIOL;
    # A-M02 survives (a known survivor), A-M03 survives (not declared), A-M04 is stale
    kill("A-M01", "A-HELD", "killed"), kill("A-M01", "A-VIOL", "survived"), kill("A-M01", "A-UNMET", "not applicable"),
    kill("A-M02", "A-HELD", "survived", known_survivor=_NOTE), kill("A-M02", "A-VIOL", "survived", known_survivor=_NOTE),
    kill("A-M02", "A-UNMET", "not applicable", known_survivor=_NOTE),
    *(kill("A-M03", c, "not applicable", member="train") for c in ("A-HELD", "A-VIOL", "A-UNMET")),
    *(kill("A-M04", c, "stale", detail="'x + 1' occurs 0 times in forward (needs exactly 1)")
      for c in ("A-HELD", "A-VIOL", "A-UNMET")),
    kill("A-M05", "A-HELD", "killed"), kill("A-M05", "A-VIOL", "not run"), kill("A-M05", "A-UNMET", "not run"),
    kill("A-M06", "A-HELD", "survived"), kill("A-M06", "A-VIOL", "killed"), kill("A-M06", "A-UNMET", "not applicable"),
    # G-M01 killed by G-STAT; G-M02 (in "train") survives every claim, a known survivor
    kill("G-M01", "G-STAT", "killed"), kill("G-M01", "G-INC", "survived"), kill("G-M01", "G-NA", "not applicable"),
    kill("G-M01", "G-REP", "survived"),
    *(kill("G-M02", c, "not applicable", member="train", known_survivor="issue 14: needs a training claim")
      for c in ("G-STAT", "G-INC", "G-NA", "G-REP")),
]
# The kill matrix the report must show, both ways (an oracle independent of reports.kills).
SURVIVORS, STALE = ["A-M02", "A-M03", "G-M02"], ["A-M04"]
KILLED_BY = {"A-M01": ["A-HELD"], "A-M05": ["A-HELD"], "A-M06": ["A-VIOL"], "G-M01": ["G-STAT"]}
CATCHES = {"A-HELD": ["A-M01", "A-M05"], "A-VIOL": ["A-M06"], "A-UNMET": [], "G-STAT": ["G-M01"], "G-INC": [],
           "G-NA": [], "G-REP": []}


END = {"type": "end", "seconds": 12.5, "exitstatus": 1, "interrupted": False}


def write_results(path: Path, header: list[dict], ev: list[dict], end: dict | None = END) -> Path:
    lines = [res.dumps(r) for r in header + ev] + ([res.dumps(end)] if end else [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scenario(path: Path, end: dict | None = END) -> Path:
    return write_results(path, *scenario_records(), end=end)


# --------------------------------------------------------------------------------------------- HTML inspection
class Page(HTMLParser):
    """Elements, attributes and text of a report, as a browser's parser would tokenise them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._cell: dict | None = None
        self._row: str | None = None
        self.summary: dict[str, dict[str, int]] = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr" and "data-paper" in a:
            self._row = a["data-paper"]
            self.summary[self._row] = {}
        if tag == "td" and self._row is not None and "data-field" in a:
            self._cell = a

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self.summary[self._row][self._cell["data-field"]] = int(data)
            self._cell = None

    @property
    def plain(self) -> str:
        return "".join(self.text)

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]


def build(tmp_path: Path, end: dict | None = END) -> tuple[str, Page]:
    out = html.build_report(scenario(tmp_path / "results.jsonl", end=end), tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    return text, Page(text)


# ------------------------------------------------------------------------------------------------------ tests
def test_summary_numbers_by_paper_and_in_total(tmp_path):
    _, page = build(tmp_path)
    for paper in PAPERS:
        assert page.summary[paper] == EXPECTED[paper], paper
    assert page.summary["*"] == {k: sum(e[k] for e in EXPECTED.values()) for k in _ZERO}
    cards = {a["data-total"] for a in page.find("div") if "data-total" in a}
    assert cards == {"checked", "held", "inconclusive", "violated", "assumption not met", "not applicable", "reported",
                     "not checked", "not encoded"}


def test_verdict_per_claim_and_not_encoded_ids(tmp_path):
    _, page = build(tmp_path)
    shown = {a["data-claim-id"]: a["data-verdict"] for a in page.find("article")}
    assert shown == VERDICTS
    chips = {a["data-claim-id"] for a in page.find("span", data_verdict="not encoded")}
    assert chips == {"A-X1", "A-X2", "B-1", "B-2", "G-X"}


def test_claim_sections_carry_metadata_evidence_and_plots(tmp_path):
    text, page = build(tmp_path)
    assert "run time" in text and "12.5 s" in text and "2.13.0+cpu" in text and "abc1234" in text
    # provenance badges: STATED for A-HELD; DERIVED with the finer level and "reconstructed" for the others
    assert text.count('class="badge stated"') == 1 and text.count('class="badge derived"') == 7
    assert "<span class=\"level\">HIGH</span>" in text and "<span class=\"level\">LOW</span>" in text
    assert text.count(">reconstructed<") == 7
    # statements as MathML; the violated claim's worst example: reproduce command, Hypothesis blob, exception
    assert len(page.find("math")) == 8
    assert "python -m theorems check A-VIOL --seed 7" in text
    plain = page.plain
    assert "@reproduce_failure('6.0', b'AXic" in plain and "ValueError: " in plain
    assert "false-fail rate" in plain and "0.001" in plain
    # plots: a margin histogram per checked claim, A-HELD's own figure and its other curve, as inline SVG
    assert len(page.find("figure", class_="margins")) == 3 + 4  # not for A-IDLE, which never ran
    assert [a["data-figure"] for a in page.find("figure", class_="claim-figure")] == ["delta", "missing-curve"]
    assert "no example recorded the curve 'missing-curve'" in plain
    # histograms of A-HELD, A-VIOL, G-STAT, G-INC and G-REP; A-HELD's "delta" and "extra"
    assert len(page.find("svg")) == 2 + 1 + 1 + 3
    # fitted constants across examples: slope and C_hat of A-HELD, flagged as a rate where the key says so
    assert "C_hat" in text and ">rate<" in text
    # presets are listed under the parameters (escaped like everything else)
    assert len(page.find("ul", class_="presets")) == 1 and "Presets (named configurations" in plain
    assert '{"label": "paper ' in plain and H in plain  # the escaped hostile string came back as text
    # the violated claim's details are open, the held one's closed
    assert any("open" in a for a in page.find("details", class_="worst"))


def test_margin_plot_for_claims_without_checked_examples_says_so(tmp_path):
    text, page = build(tmp_path)
    # A-UNMET has two examples outside its assumptions and no margins, G-NA two not applicable examples; A-IDLE has no
    # example at all
    assert text.count("No margins to plot.") == 2 and text.count("Not checked in this run") == 1
    assert "2 example(s) outside the assumptions not shown" in text


def test_hostile_strings_are_escaped_everywhere(tmp_path):
    text, page = build(tmp_path)
    for s in HOSTILE:
        if s != "</svg>" and any(ch in s for ch in "<>\"&"):  # the report has SVG of its own: </svg> is counted below
            assert s not in text, f"{s!r} appears unescaped"
    assert "{{ 7*7 }}" in text  # shown as text, never evaluated as a template
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "]]&gt;" in text and "&lt;/svg&gt;" in text
    # what a browser's tokenizer sees: no script or img element, no event handler attribute anywhere
    assert not page.find("script") and not page.find("img")
    assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)]
    assert text.count("<svg") == text.count("</svg>")
    # the hostile strings reached every place: title, config, notes, curve labels, exception message
    for where in ("Toy claim " + H, "Reconstructed. " + H, "measured " + H, "ValueError: " + H, json.dumps(H)):
        assert where in page.plain, where


def test_statement_math_falls_back_to_escaped_latex():
    assert "<math" in html.math_html(r"\frac{a}{b} \le \sqrt{c}")
    for bad in (r"\text{<script>alert(1)</script>}", r"\frac{1}{", r"\notacommand{x} + 1", r"\text{</math><img src=x>}"):
        out = str(html.math_html(bad))
        assert out.startswith('<code class="tex-fallback">') and "<script" not in out and "<img" not in out
    out = str(html.math_html("</math><img src=x>"))  # outside \text it is ordinary symbols, escaped
    assert "<img" not in out and "&lt;" in out


def test_interrupted_banner(tmp_path):
    _, page = build(tmp_path)
    assert not page.find("div", id="interrupted")
    _, page = build(tmp_path, end=None)  # no end record: killed
    assert page.find("div", id="interrupted")
    _, page = build(tmp_path, end=END | {"interrupted": True, "exitstatus": 2})  # Ctrl-C: pytest wrote the end
    assert page.find("div", id="interrupted")


@pytest.mark.parametrize("content, problem", [
    (None, "no such results file"),
    ("dir", "is a directory"),
    ("truncated", "truncated or corrupt"),
    ("# not json\n", "is not a results file"),
    ('{"type": "run", "format": "someone-else/1"}\n', "is not a claims results file"),
    ('{"type": "run", "format": "icl-claims-results/1"}\n{"type": "evidence", "claim_id": "A"}\n', "lacks the field"),
    ("", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\xff", "not a text file"),
])
def test_bad_input_is_one_error_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "results.jsonl"
    if content == "dir":
        path.mkdir()
    elif content == "truncated":
        text = scenario(tmp_path / "whole.jsonl").read_text()
        path.write_text(text[: len(text) // 2])  # cut mid-record, end record lost
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(res.ResultsFileError) as e:
        html.build_report(path, tmp_path / "report.html")
    assert str(path) in str(e.value) and problem in str(e.value)
    assert not (tmp_path / "report.html").exists()


def test_unknown_evidence_status_is_a_foreign_file(tmp_path):
    header, ev = scenario_records()
    ev[0]["status"] = "passed"
    path = write_results(tmp_path / "r.jsonl", header, ev)
    with pytest.raises(res.ResultsFileError, match="unknown status 'passed'"):
        html.build_report(path, tmp_path / "report.html")


def test_cli_rebuilds_and_reports_bad_input_in_one_line(tmp_path, capsys):
    results = scenario(tmp_path / "results.jsonl")
    assert cli([str(results), "-o", str(tmp_path / "out.html")]) == 0
    assert (tmp_path / "out.html").read_text().startswith("<!DOCTYPE html>")
    assert cli([str(results)]) == 0 and (tmp_path / "report.html").exists()  # default: report.html beside it
    capsys.readouterr()
    (tmp_path / "foreign.jsonl").write_text('{"type": "run"}\n')
    assert cli([str(tmp_path / "foreign.jsonl"), "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "foreign.jsonl") in err and "not a claims results file" in err
    # as a user runs it: no traceback
    p = subprocess.run([sys.executable, "-m", "reports", str(tmp_path / "missing.jsonl")], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "missing.jsonl: no such results file" in p.stderr


def test_failed_build_leaves_the_earlier_report_untouched(tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    html.build_report(scenario(tmp_path / "results.jsonl"), out)
    before = out.read_bytes()
    (tmp_path / "broken.jsonl").write_text(scenario(tmp_path / "r2.jsonl").read_text()[:200])
    with pytest.raises(res.ResultsFileError):
        html.build_report(tmp_path / "broken.jsonl", out)

    def fail(*a, **k):
        raise RuntimeError("plotting failed halfway")

    monkeypatch.setattr(html.svg, "line_chart", fail)  # fails in the middle of rendering, after loading
    with pytest.raises(RuntimeError):
        html.build_report(tmp_path / "results.jsonl", out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jsonl", "r2.jsonl", "report.html", "results.jsonl"]


def _parts_of_two_workers(results: Path) -> None:
    """A run of two xdist workers: header written by the controller, one part file each, gw1 killed mid-line."""
    header, ev = scenario_records()
    res.write_header(results, header)
    for worker, recs in (("gw0", ev[:5]), ("gw1", ev[5:])):
        w = res.PartWriter(res.parts_dir_for(results), worker)
        for r in recs:
            w.write(r)
        w.close()
    with open(res.parts_dir_for(results) / "gw1.jsonl", "a") as f:
        f.write('{"type": "evidence", "claim_id": "A-HE')


def test_xdist_parts_merge_into_one_report(tmp_path):
    results = tmp_path / "results.jsonl"
    _parts_of_two_workers(results)
    res.merge_parts(results, scenario_records()[0], END)
    out = html.build_report(results, tmp_path / "report.html")
    page = Page(out.read_text())
    assert page.summary["alpha"] == EXPECTED["alpha"] and not page.find("div", id="interrupted")


def test_killed_run_is_reported_from_its_parts_without_touching_them(tmp_path):
    results = tmp_path / "results.jsonl"
    _parts_of_two_workers(results)
    parts = sorted(p.name for p in res.parts_dir_for(results).iterdir())
    assert cli([str(results), "-o", str(tmp_path / "report.html")]) == 0
    text = (tmp_path / "report.html").read_text()
    page = Page(text)
    assert page.summary["alpha"] == EXPECTED["alpha"]  # every finished example, from both workers
    assert page.find("div", id="interrupted") and "recovered from the part files" in text
    assert not results.exists() and sorted(p.name for p in res.parts_dir_for(results).iterdir()) == parts
    # the parts directory itself can be named too
    assert cli([str(res.parts_dir_for(results)), "-o", str(tmp_path / "r2.html")]) == 0


def test_parts_without_header_name_what_is_missing(tmp_path):
    results = tmp_path / "results.jsonl"
    w = res.PartWriter(res.parts_dir_for(results), "gw0")
    w.write(scenario_records()[1][0])
    w.close()
    with pytest.raises(res.ResultsFileError, match=res.HEADER_NAME):
        html.build_report(results, tmp_path / "report.html")


def test_evidence_without_claim_record_is_still_shown(tmp_path):
    header, ev = scenario_records()
    header = [h for h in header if h.get("id") != "A-VIOL"]
    text = html.build_report(write_results(tmp_path / "r.jsonl", header, ev), tmp_path / "o.html").read_text()
    assert 'data-claim-id="A-VIOL" data-verdict="violated"' in text and "no claim record" in text


def test_plots_handle_non_finite_and_log_axes():
    from reports import svg

    fig = curve("t", "err", {"a": ([1, 2, 3, 4], [1.0, float("nan"), 0.0, 1e-3]), "b": ([1, 2], [1.0])}, logy=True)
    plot, caption = svg.line_chart(fig)
    assert plot.startswith("<svg") and "3 point(s) not shown" in caption
    assert svg.line_chart(curve("t", "e", {"a": ([1], [-1.0])}, logy=True))[0] == ""
    # relative margins over many decades (a bound of 0 gives huge ones) use a symmetric-log axis
    plot, _ = svg.margin_histogram([(1e30, True), (0.5, True), (-0.2, False)], worst=-0.2)
    assert plot.count('class="bar"') >= 2 and "10<tspan" in plot
    plot, caption = svg.margin_histogram([(float("nan"), False)])
    assert plot == "" and "non-finite" in caption


_SCENARIO = scenario_records()
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=12)
                    | st.sampled_from(["nan", "-inf", *HOSTILE]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim_fields=st.dictionaries(st.sampled_from(["id", "paper", "reference", "title", "statement", "assumptions", "params", "figure",
                                                     "presets", "false_fail_rate", "notes", "provenance", "badge", "kind",
                                                     "reported", "power", "control"]), JSON),
       ev_fields=st.dictionaries(st.sampled_from(["claim_id", "paper", "status", "holds", "config", "curves", "details", "hypothesis", "relative_margin",
                                                  "margin", "measured", "instances", "seconds", "unmet_assumptions",
                                                  "example", "error", "reproduce", "seed", "impl", "uses"]), JSON)
       | st.fixed_dictionaries({"status": st.sampled_from(["inconclusive", "not applicable", "held"]),
                                "details": st.dictionaries(st.sampled_from(["rule", "resolution", "sd", "power",
                                                                            "false_fail_rate", "min_discrepancy",
                                                                            "parts", "worst_part"]), JSON)}),
       kill_fields=st.dictionaries(st.sampled_from(["paper", "mutant", "member", "bug", "claim_id", "outcome",
                                                    "examples", "reproduce", "detail", "seconds", "known_survivor"]),
                                   JSON | st.sampled_from(["killed", "stale", "A-M01", "G-STAT"])),
       run_fields=st.dictionaries(st.sampled_from(["papers", "profile", "device", "cuda", "torch", "workers",
                                                   "started", "command"]), JSON),
       end_fields=st.dictionaries(st.sampled_from(["seconds", "interrupted", "exitstatus"]), JSON))
def test_any_json_in_the_records_renders_or_is_a_results_file_error(tmp_path_factory, claim_fields, ev_fields,
                                                                     kill_fields, run_fields, end_fields):
    """Whatever JSON a (hand-edited, foreign, future) results file holds in its fields, the build either renders it,
    escaped, or stops with a ResultsFileError; never another exception."""
    tmp = tmp_path_factory.mktemp("fuzz")
    header, ev = copy.deepcopy(_SCENARIO)
    header[2].update(claim_fields)  # A-VIOL
    for e in ev[5:9]:
        e.update(ev_fields)
    for k in [e for e in ev if e["type"] == "kill"][:4]:
        k.update(kill_fields)
    header[0].update(run_fields)
    try:
        out = html.build_report(write_results(tmp / "r.jsonl", header, ev, END | end_fields), tmp / "report.html")
    except res.ResultsFileError:
        return
    page = Page(out.read_text())
    assert not page.find("script") and not page.find("img")


def test_an_example_whose_check_raised_shows_as_violated_with_its_error(tmp_path):
    """The shape the harness would record for a check that raised: violated, no numbers, the exception's text."""
    header, ev = scenario_records()
    crashed = {k: ev[0][k] for k in ("claim_id", "paper", "config", "seed", "device", "reproduce", "test_id")}
    ev.append(crashed | {"type": "evidence", "status": "violated", "holds": False, "measured": None, "bound": None,
                         "margin": None, "relative_margin": None, "error": "RuntimeError: NaN in the attention weights"})
    page = Page(html.build_report(write_results(tmp_path / "r.jsonl", header, ev), tmp_path / "o.html").read_text())
    assert page.find("article", data_claim_id="A-HELD")[0]["data-verdict"] == "violated"
    assert "Error: RuntimeError: NaN in the attention weights" in page.plain
    assert "1 example(s) with a non-finite margin are not shown" in page.plain


def test_log_axes_survive_values_near_the_float_range():
    from reports import svg

    for lo, hi, scale in ((1e-300, 1e300, "log"), (1e-5, 1e308, "log"), (-1e308, 1e308, "symlog")):
        axis = svg._Axis(lo, hi, 0, 100, scale=scale)
        assert axis.ticks() and 0 <= axis.px(hi) <= 100


# --------------------------------------------------------------------- three verdicts and stated statistics
def test_inconclusive_is_shown_apart_and_never_counted_as_held(tmp_path):
    text, page = build(tmp_path)
    (art,) = page.find("article", data_claim_id="G-INC")
    assert art["data-verdict"] == "inconclusive" and "inconclusive" in art["class"].split()
    assert page.find("span", class_="verdict inconclusive", data_verdict="inconclusive")
    assert page.find("div", id="inconclusive-banner") and "1 claim(s) inconclusive" in page.plain
    # its own count in the table and the cards; held counts G-STAT and A-HELD only
    assert page.summary["gamma"]["inconclusive"] == 1 and page.summary["*"]["held"] == 2
    assert "<title>ICL theory claims: 2 held, 1 inconclusive, 1 violated</title>" in text
    # the worst example is the inconclusive one, and the example table lists it first (violated, inconclusive, held)
    assert "2 (1 held, 1 inconclusive)" in " ".join(page.plain.split())
    art_text = text[text.index('id="claim-G-INC"'):text.index('id="claim-G-NA"')]
    assert art_text.index("</span> inconclusive</td>") < art_text.index("</span> held</td>")


def test_not_applicable_and_reported_claims(tmp_path):
    text, page = build(tmp_path)
    assert page.find("article", data_claim_id="G-NA")[0]["data-verdict"] == "not applicable"
    assert "An example that could not run on this implementation" in page.plain
    assert "Not applicable: toy_model does not provide 'train' of the gamma model API" in page.plain
    (rep,) = page.find("article", data_claim_id="G-REP")
    assert rep["data-verdict"] == "reported" and "reported" in rep["class"].split()
    assert page.find("span", class_="badge reported") and "never counted as verified" in page.plain
    assert page.summary["gamma"]["reported"] == 1 and page.summary["gamma"]["held"] == 1
    # a reported claim that is violated still shows as violated
    header, ev = scenario_records()
    next(h for h in header if h.get("id") == "A-VIOL")["reported"] = True
    page = Page(html.build_report(write_results(tmp_path / "r.jsonl", header, ev), tmp_path / "o.html").read_text())
    assert page.find("article", data_claim_id="A-VIOL")[0]["data-verdict"] == "violated"


def test_rule_rates_resolution_and_model_api_are_shown_beside_the_claim(tmp_path):
    text, page = build(tmp_path)
    art = text[text.index('id="claim-G-STAT"'):text.index('id="claim-G-INC"')]
    assert ("mean over seeds: violated if the lower 95% confidence limit &gt; 0.5; held if the estimate &lt;= 0.5 and "
            "the upper limit &lt;= 0.5 + resolution 0.05; else inconclusive (3 seeds)") in art
    stats = {a["data-stat"] for a in Page(art).find("span") if "data-stat" in a}
    assert stats == {"false_fail_rate", "power", "resolution", "min_discrepancy", "sd"}
    assert 'data-stat="resolution">0.05<' in art and 'data-stat="false_fail_rate">0.05<' in art
    assert 'data-stat="power">0.9<' in art
    # the model API members each claim's checks called (union over its examples)
    uses = {a["data-claim-id"]: None for a in page.find("article")}
    for cid in uses:
        part = text[text.index(f'id="claim-{cid}"'):]
        found = Page(part[:part.index("</article>")]).find("div", class_="uses")
        uses[cid] = found[0]["data-uses"] if found else None
    assert uses == {"A-HELD": "forward", "A-VIOL": None, "A-UNMET": None, "A-IDLE": None, "G-STAT": "forward",
                    "G-INC": "forward", "G-NA": "train", "G-REP": "forward"}
    # the negative control links to its mutant's row in the kill matrix
    assert 'Negative control:</span> mutant <a class="mono" href="#mutant-G-M01">G-M01</a>' in art


def test_per_part_rules_and_resolutions(tmp_path):
    """A claim of several sub-checks (Outcome.all_of): each part's rule and resolution, labelled by the part."""
    header, ev = scenario_records()
    i = next(i for i, e in enumerate(ev) if e.get("claim_id") == "G-STAT" and e["example"] == 2)
    ev[i]["details"] = {"worst_part": "mean", "parts": {
        "mean": {"measured": 0.3, "bound": 0.5, "margin": 0.2, "holds": True, "rule": "mean rule " + H,
                 "resolution": 0.05, "min_discrepancy": 0.04, "false_fail_rate": 0.01},
        "tail": {"measured": 0.1, "bound": 0.2, "margin": 0.1, "holds": True, "rule": "tail rule",
                 "resolution": 0.02}}}
    text = html.build_report(write_results(tmp_path / "r.jsonl", header, ev), tmp_path / "o.html").read_text()
    art = Page(text[text.index('id="claim-G-STAT"'):text.index('id="claim-G-INC"')])
    assert [a["data-part"] for a in art.find("li", class_="rule")] == ["mean", "tail"]
    assert "mean rule " + H in art.plain and "resolution" in art.plain and "mean: 0.05, tail: 0.02" in art.plain
    # the claim record's rate and power stand at claim level beside the parts' own
    assert "0.05, mean: 0.01" in art.plain


def test_the_run_header_names_an_implementation_other_than_the_reference(tmp_path):
    _, page = build(tmp_path)
    assert not page.find("p", id="impl-under-test")
    header, ev = scenario_records()
    cs = claims()
    ev = [e if e.get("claim_id") != "G-STAT" or e["type"] != "evidence" else
          evidence(cs["G-STAT"], e["config"], seed=e["seed"], example=e["example"], impl="impl:toy.model") for e in ev]
    text = html.build_report(write_results(tmp_path / "r.jsonl", header, ev), tmp_path / "o.html").read_text()
    page = Page(text)
    assert page.find("p", id="impl-under-test") and "gamma = impl:toy.model" in page.plain
    assert "--impl gamma=toy.model" in text  # the reproduce command names it too
    # the run record's "impls" (what --impl gave) is named even before any evidence ran against it
    header, ev = scenario_records()
    header[0]["impls"] = {"alpha": "mypkg.alpha_model"}
    _, page = build_from(tmp_path, header, ev)
    assert "alpha = impl:mypkg.alpha_model" in page.plain


# ---------------------------------------------------------------------------------------------- kill matrix
def _kill_section(text: str) -> str:
    return text[text.index('<section id="kill-matrix">'):text.index("</section>", text.index('id="kill-matrix"'))]


def test_kill_matrix_lists_survivors_first_then_the_matrix_both_ways(tmp_path):
    text, page = build(tmp_path)
    sec = _kill_section(text)
    kp = Page(sec)
    # survivors plainly at the top: before the matrices, with paper, member, bug and the known-survivor note
    (surv,) = kp.find("div", id="kill-survivors")
    assert surv["data-survivors"].split() == SURVIVORS
    assert sec.index('id="kill-survivors"') < sec.index('class="kill-matrix"')
    rows = {a["data-mutant"]: a["class"] for a in kp.find("tr") if "survivor" in a.get("class", "")}
    assert rows == {"A-M02": "survivor", "A-M03": "survivor unknown", "G-M02": "survivor"}
    assert "issue 13: a claim of alpha will kill it" in kp.plain and "not declared: a claim must kill it" in kp.plain
    # stale mutants as errors
    (stale,) = kp.find("div", id="kill-stale")
    assert stale["data-stale"].split() == STALE and "'x + 1' occurs 0 times in forward" in kp.plain
    # the matrix: one cell per record, by outcome; killed cells link to the reproduce command, tooltip included
    cells = [a for a in kp.find("td") if "data-outcome" in a]
    assert len(cells) == len(KILLS)
    for outcome in ("killed", "survived", "not applicable", "stale", "not run"):
        assert sum(a["data-outcome"] == outcome for a in cells) == sum(k["outcome"] == outcome for k in KILLS)
    killed = [a for a in cells if a["data-outcome"] == "killed"]
    assert all("reproduce: python -m theorems check" in a["title"] and "--mutant" in a["title"] for a in killed)
    links = [a["href"] for a in kp.find("a") if a.get("href", "").startswith("#kill-")]
    assert sorted(links) == sorted(f"#kill-{m}-{c}" for m, cs in KILLED_BY.items() for c in cs)
    assert all(kp.find("li", id=h[1:]) for h in links)  # each link has its target: the command, in the by-mutant table
    # both ways: what each claim catches, what catches each mutant
    by_claim = {a["data-claim"]: a["data-kills"].split() for a in kp.find("tr") if "data-kills" in a}
    assert by_claim == CATCHES
    by_mutant = {a["data-mutant"]: a["data-killed-by"].split() for a in kp.find("tr") if "data-killed-by" in a}
    assert {m: k for m, k in by_mutant.items() if k} == KILLED_BY
    assert {m for m, k in by_mutant.items() if not k} == set(SURVIVORS + STALE)
    power = {a["data-claim-kills"]: None for a in kp.find("td") if "data-claim-kills" in a}
    assert set(power) == set(CATCHES)
    # cards; the fast form is said to give lower bounds
    totals = {a["data-kill-total"] for a in kp.find("div") if "data-kill-total" in a}
    assert totals == {"mutants", "killed", "survivors", "stale"} and "lower bounds" in kp.plain
    # each claim's own section: "catches: ..."
    catches = {}
    for cid in CATCHES:
        part = text[text.index(f'id="claim-{cid}"'):]
        (p,) = Page(part[:part.index("</article>")]).find("p", class_="catches")
        catches[cid] = p["data-catches"].split()
    assert catches == CATCHES
    assert "catches: A-M01, A-M05" in " ".join(page.plain.split())
    assert page.find("a", href="#kill-matrix")  # in the contents


def test_no_kill_records_no_kill_section(tmp_path):
    header, ev = scenario_records()
    ev = [e for e in ev if e["type"] != "kill"]
    text = html.build_report(write_results(tmp_path / "r.jsonl", header, ev), tmp_path / "o.html").read_text()
    assert 'id="kill-matrix"' not in text and 'class="catches"' not in text and 'href="#kill-matrix"' not in text


def test_a_kill_only_run_shows_the_matrix_and_every_claim_not_checked(tmp_path):
    """``pytest properties/ --claims-mutants`` writes kill records and no evidence."""
    header, ev = scenario_records()
    ev = [e for e in ev if e["type"] == "kill"]
    _, page = build_from(tmp_path, header, ev)
    assert {a["data-verdict"] for a in page.find("article")} == {"not checked"}
    assert page.find("section", id="kill-matrix") and len(page.find("p", class_="catches")) == len(CATCHES)


def build_from(tmp_path: Path, header: list[dict], body: list[dict]) -> tuple[str, Page]:
    text = html.build_report(write_results(tmp_path / "r.jsonl", header, body), tmp_path / "o.html").read_text()
    return text, Page(text)


def test_kill_records_survive_the_parts_merge_and_recovery(tmp_path):
    results = tmp_path / "results.jsonl"
    _parts_of_two_workers(results)
    data = res.read_parts(res.parts_dir_for(results))
    assert [r for r in data if r["type"] == "kill"] == KILLS  # kill records travel in the parts (gw1 here)
    res.merge_parts(results, scenario_records()[0], END)
    merged = res.read_results(results)
    key = lambda k: (k["paper"], k["mutant"], k["claim_id"])  # noqa: E731
    assert merged["kills"] == sorted(KILLS, key=key)  # sorted for stable diffs, after the evidence
    types = [json.loads(line)["type"] for line in results.read_text().splitlines()]
    assert types.index("kill") > max(i for i, t in enumerate(types) if t == "evidence") and types[-1] == "end"
    # a killed run recovered by merge: no kill record lost, none duplicated into the header
    results2 = tmp_path / "killed.jsonl"
    _parts_of_two_workers(results2)
    res.recover_parts(results2)
    assert sorted(res.read_results(results2)["kills"], key=key) == sorted(KILLS, key=key)


@pytest.mark.parametrize("edit, problem", [
    (lambda k: k.update(outcome="maimed"), "unknown outcome 'maimed'"),
    (lambda k: k.pop("mutant"), "lacks a string field 'mutant'"),
    (lambda k: k.update(claim_id=7), "lacks a string field 'claim_id'"),
])
def test_bad_kill_records_are_a_results_file_error(tmp_path, edit, problem):
    header, ev = scenario_records()
    edit(next(e for e in ev if e["type"] == "kill"))
    with pytest.raises(res.ResultsFileError, match=problem):
        html.build_report(write_results(tmp_path / "r.jsonl", header, ev), tmp_path / "o.html")


def test_a_cell_recorded_twice_keeps_the_more_telling_outcome():
    from reports.kills import kill_matrix

    cells = [kill("A-M01", "A-HELD", "survived"), kill("A-M01", "A-HELD", "killed"), kill("A-M02", "A-HELD", "killed"),
             kill("A-M02", "A-HELD", "stale")]
    m = kill_matrix(cells, [("A-HELD", "alpha")])
    assert [(r.id, r.outcome("A-HELD"), r.status) for r in m.mutants] == [("A-M01", "killed", "killed"),
                                                                           ("A-M02", "stale", "stale")]
    assert kill_matrix([]) is None


def test_each_claim_shows_the_drawn_range_of_its_parameters(tmp_path):
    """A draw stuck in a degenerate corner (every example at x = 0.1, say) is visible beside the claim."""
    from reports.summary import ClaimSummary

    c = ClaimSummary(id="X", paper="p", meta={"id": "X"}, evidence=[
        {"config": {"d": d, "law": law, "flag": True}, "status": "held"}
        for d, law in ((2, "gauss"), (3, "gauss"), (5, "unif"), (8, "gauss"))])
    assert dict(c.drawn_ranges()) == {"d": "2 .. 8 (4 values)", "flag": "true", "law": '"gauss", "unif"'}
    text, _ = build(tmp_path)
    art = text[text.index('id="claim-G-STAT"'):text.index('id="claim-G-INC"')]
    assert 'data-param="x"' in art and "Drawn range of each parameter" in art

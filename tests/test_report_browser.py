"""The report as a person sees it: opened in headless Chromium (Debian's chromium + chromium-driver, via selenium).

Two reports are opened: the synthetic scenario of test_report.py (every verdict, a kill matrix, hostile strings) and
the report of the last real run in this checkout (claims-out/results.jsonl; every claim of the landed papers). In
both, the summary numbers in the rendered page must match the results file (counted here independently of
``reports``), every claim has its section, every plot is an SVG that the browser laid out, the kill-matrix section
(where the results hold kill records) shows every cell and lists the survivors above the matrix, no hostile string
ran, and a screenshot of each goes to claims-out/ for a human look. Skipped when Chromium or selenium is missing, except under CI=true, where
that is a failure.
"""
from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from reports import html, results as res
from tests.test_report import CATCHES, EXPECTED, KILLED_BY, KILLS, STALE, SURVIVORS, VERDICTS, scenario

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "claims-out"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


def _unavailable() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[browser]')"
    if not shutil.which("chromium"):
        return "Debian's chromium is not installed (apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _summary_in_dom(driver) -> dict[str, dict[str, int]]:
    return driver.execute_script("""
        const out = {};
        for (const tr of document.querySelectorAll('#summary-table tr[data-paper]')) {
          const row = {};
          for (const td of tr.querySelectorAll('td[data-field]')) row[td.dataset.field] = Number(td.textContent);
          out[tr.dataset.paper] = row;
        }
        return out;""")


def _sections_in_dom(driver) -> dict[str, dict]:
    """Per claim section: verdict, and the laid-out width of each SVG outside collapsed details."""
    return driver.execute_script("""
        const out = {};
        for (const a of document.querySelectorAll('article.claim')) {
          const svgs = [...a.querySelectorAll(':scope > .figs svg')];
          out[a.dataset.claimId] = {verdict: a.dataset.verdict, math: a.querySelectorAll('.statement math').length,
            svgWidths: svgs.map(s => s.getBoundingClientRect().width),
            figures: [...a.querySelectorAll(':scope > .figs figure')].map(f => f.querySelector('svg') !== null)};
        }
        return out;""")


def _open(driver, report: Path, shot: Path, element: str = "") -> None:
    """Open the report (or, with ``element``, only capture that element of the open page) and save a screenshot."""
    if not element:
        driver.get(report.resolve().as_uri())
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):  # no injected script ran
        driver.switch_to.alert.text
    if element:
        x, y, width, height = driver.execute_script(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]", element)
    else:
        x, y = 0, 0
        width, height = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    # The whole page (or element), not just the window (Chrome DevTools' full-page capture).
    png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
        "x": x, "y": y, "width": width, "height": min(height, 12000), "scale": 1}})["data"]
    SHOTS.mkdir(exist_ok=True)
    shot.write_bytes(base64.b64decode(png))
    assert shot.stat().st_size > 10_000


def _verdict(statuses: set[str], reported: bool) -> str:
    """A claim's verdict from its examples' statuses, as the issue states it (independently of reports.summary)."""
    if not statuses:
        return "not checked"
    for v in ("violated", "inconclusive", "held"):
        if v in statuses:
            return "reported" if reported and v != "violated" else v
    return "not applicable" if "not applicable" in statuses else "assumption not met"


def _count(records: list[dict], papers: dict) -> dict[str, dict[str, int]]:
    """The summary a reader expects, counted straight from the records (independently of reports.summary)."""
    claims = [r for r in records if r["type"] == "claim"]
    ev = [r for r in records if r["type"] == "evidence"]
    out = {}
    for key, meta in papers.items():
        mine = [c for c in claims if c["paper"] == key]
        ids = [c["id"] for c in mine]
        verdicts = [_verdict({e["status"] for e in ev if e["claim_id"] == c["id"]}, c.get("reported") is True)
                    for c in mine]
        row = {v: verdicts.count(v) for v in ("held", "inconclusive", "violated", "assumption not met",
                                              "not applicable", "reported", "not checked")}
        out[key] = row | {"encoded": len(mine), "checked": len(mine) - row["not checked"],
                          "not encoded": len([s for s in meta["spec_ids"] if s not in ids]),
                          "examples": sum(1 for e in ev if e["claim_id"] in ids),
                          "instances": sum(e.get("instances", 1) for e in ev if e["claim_id"] in ids)}
    return out


def _kills_in_dom(driver) -> dict | None:
    """The kill-matrix section as laid out: survivors and where they sit, cells by outcome, both directions."""
    return driver.execute_script("""
        const sec = document.getElementById('kill-matrix');
        if (!sec) return null;
        const top = el => el.getBoundingClientRect().top + window.scrollY;
        const tables = [...sec.querySelectorAll('table.kill-matrix')];
        const cells = [...sec.querySelectorAll('td.kcell[data-outcome]')];
        const surv = sec.querySelector('#kill-survivors');
        const byOutcome = {};
        for (const c of cells) byOutcome[c.dataset.outcome] = (byOutcome[c.dataset.outcome] || 0) + 1;
        const killedLinks = cells.filter(c => c.dataset.outcome === 'killed').map(c => {
          const a = c.querySelector('a');
          const target = a && document.getElementById(a.getAttribute('href').slice(1));
          return {title: c.title, target: target ? target.textContent : null};
        });
        const rows = sel => Object.fromEntries([...sec.querySelectorAll(sel)].map(
          tr => [tr.dataset.claim || tr.dataset.mutant, (tr.dataset.kills ?? tr.dataset.killedBy).split(' ').filter(x => x)]));
        const catches = Object.fromEntries([...document.querySelectorAll('article.claim')].map(
          a => [a.dataset.claimId, a.querySelector('p.catches') ? a.querySelector('p.catches').dataset.catches : null]));
        return {
          visible: sec.getBoundingClientRect().height > 0,
          survivors: [...surv.querySelectorAll('tr.survivor')].map(tr => tr.dataset.mutant),
          survivorsText: surv.innerText,
          survivorsAbove: tables.every(t => top(surv) < top(t)),
          stale: [...sec.querySelectorAll('#kill-stale li')].map(li => li.dataset.mutant),
          tableWidths: tables.map(t => t.getBoundingClientRect().width),
          cells: cells.length, byOutcome, killedLinks,
          byClaim: rows('#kill-by-claim tr[data-claim]'), byMutant: rows('#kill-by-mutant tr[data-mutant]'),
          catches,
        };""")


def test_synthetic_report_in_chromium(browser, tmp_path):
    results = scenario(tmp_path / "results.jsonl")
    report = html.build_report(results, tmp_path / "report.html")
    _open(browser, report, SHOTS / "report-screenshot-synthetic.png")
    summary = _summary_in_dom(browser)
    assert all(summary[p] == EXPECTED[p] for p in EXPECTED)
    sections = _sections_in_dom(browser)
    assert {k: v["verdict"] for k, v in sections.items()} == VERDICTS
    # rendered MathML statements; histograms of the claims with margins (held, violated, inconclusive, reported);
    # A-HELD's figure beside its histogram
    assert all(s["math"] == 1 for s in sections.values())
    assert {c: len(sections[c]["svgWidths"]) for c in VERDICTS} == {
        "A-HELD": 2, "A-VIOL": 1, "A-UNMET": 0, "A-IDLE": 0, "G-STAT": 1, "G-INC": 1, "G-NA": 0, "G-REP": 1}
    assert all(w > 200 for s in sections.values() for w in s["svgWidths"])
    text = browser.find_element("tag name", "body").text
    assert "<script>alert(1)</script>" in text and "{{ 7*7 }}" in text  # shown as text
    assert browser.execute_script("return document.querySelectorAll('script, img, [onerror]').length") == 0
    # inconclusive is distinct: its own colour (not the held one) and its own summary card
    colours = browser.execute_script("""
        const c = sel => getComputedStyle(document.querySelector(sel)).color;
        return [c('span.verdict.inconclusive'), c('span.verdict.held'), c('span.verdict.violated'),
                document.querySelector('.card.inconclusive .n').textContent];""")
    assert len(set(colours[:3])) == 3 and colours[3] == "1"
    # the kill matrix: survivors above the matrices, every cell, both directions, each kill's reproduce command
    k = _kills_in_dom(browser)
    assert k["visible"] and k["survivorsAbove"] and k["survivors"] == SURVIVORS and k["stale"] == STALE
    assert "issue 13: a claim of alpha will kill it" in k["survivorsText"]
    assert all(w > 100 for w in k["tableWidths"]) and len(k["tableWidths"]) == 2
    assert k["cells"] == len(KILLS)
    assert k["byOutcome"] == {o: sum(c["outcome"] == o for c in KILLS) for o in {c["outcome"] for c in KILLS}}
    assert len(k["killedLinks"]) == sum(map(len, KILLED_BY.values()))
    for link in k["killedLinks"]:
        assert "reproduce: python -m theorems check" in link["title"] and "--mutant" in link["title"]
        assert link["target"] and "python -m theorems check" in link["target"]
    assert k["byClaim"] == CATCHES
    assert {m: c for m, c in k["byMutant"].items() if c} == KILLED_BY
    assert {cid: c.split() for cid, c in k["catches"].items() if c is not None} == CATCHES
    # following a killed cell's link lands on its reproduce command
    browser.find_element("css selector", "td.kcell.k-killed a").click()
    assert browser.execute_script("return location.hash").startswith("#kill-A-M01-A-HELD")
    _open(browser, report, SHOTS / "report-screenshot-synthetic-kills.png", "#kill-matrix")


def test_latest_real_report_in_chromium(browser, tmp_path):
    """The report of the last ``pytest properties/`` in this checkout: every claim of the landed papers has its section
    and its plots, and the summary matches the results file. CI runs this after the full ci-profile run."""
    from theorems import all_claims

    latest = ROOT / "claims-out" / "results.jsonl"
    if not latest.exists():
        pytest.skip(f"no {latest.relative_to(ROOT)} yet: run `pytest properties/` first (CI runs this test after it)")
    data = res.read_results(latest)
    missing = {c.id for c in all_claims()} - set(data["claims"])
    if missing:
        why = f"{latest.relative_to(ROOT)} predates the registry (no records of {sorted(missing)}): rerun pytest properties/"
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    report = html.build_report(latest, tmp_path / "report.html")
    _open(browser, report, SHOTS / "report-screenshot.png")
    records = [data["run"], *({"type": "claim", **c} for c in data["claims"].values()), *data["evidence"]]
    summary, expected = _summary_in_dom(browser), _count(records, data["run"]["papers"])
    assert summary.pop("*") == {k: sum(p[k] for p in expected.values()) for k in EXPECTED["alpha"]}
    assert summary == expected
    sections = _sections_in_dom(browser)
    assert set(sections) == set(data["claims"])
    kills = data.get("kills") or []
    k = _kills_in_dom(browser)
    if not kills:
        assert k is None
    else:  # every cell of the matrix is in the page; the mutants no claim kills are listed above the matrices
        assert k["visible"] and k["survivorsAbove"] and k["cells"] == len({(c["mutant"], c["claim_id"]) for c in kills})
        no_kill = {c["mutant"] for c in kills} - {c["mutant"] for c in kills if c["outcome"] == "killed"}
        stale = {c["mutant"] for c in kills if c["outcome"] == "stale"}
        assert set(k["survivors"]) == no_kill - stale and set(k["stale"]) == stale
    for cid, meta in data["claims"].items():
        s = sections[cid]
        if s["verdict"] in ("held", "violated", "inconclusive", "reported"):  # the margin plot, and the claim's own figure where it has one
            assert len(s["figures"]) == 1 + bool(meta.get("figure")), f"{cid}: a figure is missing"
            assert all(s["figures"]), f"{cid}: no example recorded the curve of its figure {meta.get('figure')!r}"
            assert all(w > 200 for w in s["svgWidths"]), f"{cid}: a plot was not laid out ({s['svgWidths']})"

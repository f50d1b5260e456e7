"""The report as a person sees it: opened in headless Chromium (Debian's chromium + chromium-driver, via selenium).

Two reports are opened: the synthetic scenario of test_report.py (every verdict, hostile strings) and the report of
the last real run in this checkout (claims-out/results.jsonl; every claim of the landed papers). In both, the
summary numbers in the rendered page must match the results file (counted here independently of ``reports``), every
claim has its section, every plot is an SVG that the browser laid out, no hostile string ran, and a screenshot of
each goes to claims-out/ for a human look. Skipped when Chromium or selenium is missing, except under CI=true, where
that is a failure.
"""
from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from reports import html, results as res
from tests.test_report import EXPECTED, VERDICTS, scenario

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


def _open(driver, report: Path, shot: Path) -> None:
    driver.get(report.resolve().as_uri())
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):  # no injected script ran
        driver.switch_to.alert.text
    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    # The whole page, not just the window (Chrome DevTools' full-page capture).
    png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
        "x": 0, "y": 0, "width": width, "height": min(height, 12000), "scale": 1}})["data"]
    SHOTS.mkdir(exist_ok=True)
    shot.write_bytes(base64.b64decode(png))
    assert shot.stat().st_size > 10_000


def _count(records: list[dict], papers: dict) -> dict[str, dict[str, int]]:
    """The summary a reader expects, counted straight from the records (independently of reports.summary)."""
    claims = [r for r in records if r["type"] == "claim"]
    ev = [r for r in records if r["type"] == "evidence"]
    out = {}
    for key, meta in papers.items():
        mine = [c["id"] for c in claims if c["paper"] == key]
        statuses = {cid: {e["status"] for e in ev if e["claim_id"] == cid} for cid in mine}
        held = sum(1 for s in statuses.values() if "held" in s and "violated" not in s)
        violated = sum(1 for s in statuses.values() if "violated" in s)
        unmet = sum(1 for s in statuses.values() if s == {"assumption not met"})
        out[key] = {"encoded": len(mine), "checked": held + violated + unmet, "held": held, "violated": violated,
                    "assumption not met": unmet, "not checked": sum(1 for s in statuses.values() if not s),
                    "not encoded": len([s for s in meta["spec_ids"] if s not in mine]),
                    "examples": sum(1 for e in ev if e["claim_id"] in mine),
                    "instances": sum(e.get("instances", 1) for e in ev if e["claim_id"] in mine)}
    return out


def test_synthetic_report_in_chromium(browser, tmp_path):
    results = scenario(tmp_path / "results.jsonl")
    report = html.build_report(results, tmp_path / "report.html")
    _open(browser, report, SHOTS / "report-screenshot-synthetic.png")
    summary = _summary_in_dom(browser)
    assert summary["alpha"] == EXPECTED["alpha"] and summary["beta"] == EXPECTED["beta"]
    sections = _sections_in_dom(browser)
    assert {k: v["verdict"] for k, v in sections.items()} == VERDICTS
    # rendered MathML statements; histograms of the two claims with margins; A-HELD's figure beside its histogram
    assert all(s["math"] == 1 for s in sections.values())
    assert [len(sections[c]["svgWidths"]) for c in VERDICTS] == [2, 1, 0, 0]
    assert all(w > 200 for s in sections.values() for w in s["svgWidths"])
    text = browser.find_element("tag name", "body").text
    assert "<script>alert(1)</script>" in text and "{{ 7*7 }}" in text  # shown as text
    assert browser.execute_script("return document.querySelectorAll('script, img, [onerror]').length") == 0


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
    for cid, meta in data["claims"].items():
        s = sections[cid]
        if s["verdict"] in ("held", "violated"):  # the margin plot, and the claim's own figure where it has one
            assert len(s["figures"]) == 1 + bool(meta.get("figure")), f"{cid}: a figure is missing"
            assert all(s["figures"]), f"{cid}: no example recorded the curve of its figure {meta.get('figure')!r}"
            assert all(w > 200 for w in s["svgWidths"]), f"{cid}: a plot was not laid out ({s['svgWidths']})"

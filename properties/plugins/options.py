"""Command-line options, markers, the device and the implementations under test (``--impl``)."""
from __future__ import annotations

import pytest

DEFAULT_RESULTS = "claims-out/results.jsonl"
DEFAULT_REPORT = "claims-out/report.html"

MARKERS = [
    ("ren2024", "claims of Ren & Liu 2024"),
    ("yang2024", "claims of Yang et al. 2024"),
    ("li2024", "claims of Li et al. 2024"),
    ("slow", "claims that train models or reproduce figures (deselect with -m 'not slow')"),
    ("reconstructed", "claim whose statement is DERIVED (reconstructed), not the paper's verbatim text"),
    ("stated", "claim whose statement is STATED by the paper"),
    ("browser", "needs headless Chromium"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("claims", "ICL theory claims")
    g.addoption("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where models run (auto = CUDA if available)")
    g.addoption("--impl", action="append", default=[], metavar="PAPER=MODULE",
                help="check a paper's claims against this module's model API (repeatable), e.g. ren2024=examples.alt_ren2024")
    g.addoption("--claims-results", default=DEFAULT_RESULTS, help=f"evidence file, JSON lines (default {DEFAULT_RESULTS})")
    g.addoption("--claims-report", default=DEFAULT_REPORT, help=f"HTML report written after the run (default {DEFAULT_REPORT})")
    g.addoption("--no-claims-report", action="store_true", help="do not write the HTML report")
    g.addoption("--claims-baseline", default=None, help="fail the run on regressions against this baseline file")
    g.addoption("--claims-update-baseline", default=None, metavar="PATH", nargs="?", const="reports/baseline.json",
                help="write the run's verdicts and worst margins as the new baseline (default reports/baseline.json)")
    g.addoption("--claims-mutants", default=None, nargs="?", const="full", choices=["full", "fast"],
                help="run the kill matrix (each claim's ci draws against each mutant) instead of the claims; "
                     "fast: stop at the first killing claim per mutant")


def resolve_device(config: pytest.Config) -> str:
    import torch

    want = config.getoption("--device")
    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError("--device cuda was requested but torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    return want


def resolve_impls(config: pytest.Config) -> dict:
    """``--impl`` specs -> {paper: Impl}; any problem stops the run with one message naming it."""
    from theorems.impl import from_module, parse_spec
    from theorems.core import ConfigError

    out = {}
    for spec in config.getoption("--impl"):
        try:
            paper, module = parse_spec(spec)
            out[paper] = from_module(paper, module)
        except ConfigError as e:
            raise pytest.UsageError(str(e)) from None
    return out


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MARKERS:
        config.addinivalue_line("markers", f"{name}: {doc}")
    if config.getoption("--device") == "cuda":
        resolve_device(config)  # no GPU: a usage error before any worker starts
    for spec in config.getoption("--impl"):  # a malformed spec or unknown paper: stop before any worker starts
        from theorems.impl import parse_spec
        from theorems.registry import PAPERS
        from theorems.core import ConfigError

        try:
            paper, _ = parse_spec(spec)
        except ConfigError as e:
            raise pytest.UsageError(str(e)) from None
        if paper not in PAPERS:
            raise pytest.UsageError(f"--impl: unknown paper {paper!r} (known: {sorted(PAPERS)})")

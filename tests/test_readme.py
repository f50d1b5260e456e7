"""The README's two commands are the interface a newcomer copies; CI must run the same test command."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _two_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)
    assert len(blocks) == 2, "the README's 'The two commands' section must hold exactly two bash blocks"
    return [b.strip() for b in blocks]


def test_ci_runs_the_readme_test_command():
    _, test_command = _two_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci, f".ci/run must run the README's test command verbatim: {test_command}"


def test_install_command_pins_the_cpu_torch_and_runs_the_properties():
    install, _ = _two_commands()
    assert "torch==2.13.0" in install and "pytest properties/" in install

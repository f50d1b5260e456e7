"""Hypothesis profiles (``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``; default ``ci``):

- ``ci``: replays the pinned draws (properties/ci_draws.json); anything else it generates is derandomized, no
  deadline, fixed example counts (properties/profiles.py: EXAMPLES). Replaces Hypothesis's built-in ``ci`` profile
  that ``CI=true`` would load.
- ``dev``: few examples, random, for quick iteration.
- ``thorough``: 1000 examples on cheap claims, ``target()`` towards the worst margins.
"""
from __future__ import annotations

import os

from hypothesis import Phase, settings

from properties.profiles import EXAMPLES

_COMMON = dict(deadline=None, print_blob=True, report_multiple_bugs=False)
settings.register_profile("ci", derandomize=True, max_examples=EXAMPLES["ci"]["cheap"], database=None, **_COMMON)
settings.register_profile("dev", max_examples=EXAMPLES["dev"]["cheap"], **_COMMON)
settings.register_profile(
    "thorough",
    max_examples=EXAMPLES["thorough"]["cheap"],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    **_COMMON,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def profile_name() -> str:
    return settings.get_current_profile_name()

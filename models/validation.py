"""Input validation shared by the models: one error type that names the offending parameter."""
from __future__ import annotations

import torch


class ConfigError(ValueError):
    """An invalid configuration (bad type, out-of-range value, NaN tokens, mismatched shapes).

    The message always names the offending parameter, so a user sees one clear line instead of a torch traceback.
    """

    def __init__(self, parameter: str, problem: str):
        self.parameter = parameter
        self.problem = problem
        super().__init__(f"invalid config: parameter '{parameter}' {problem}")


def check_finite(name: str, t: torch.Tensor) -> None:
    if not torch.isfinite(t).all():
        raise ConfigError(name, "contains NaN or infinite entries")

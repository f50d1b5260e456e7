"""Executable claims of three ICL-theory papers: registry, evidence and the shared tolerance module."""
from .core import (  # noqa: F401
    Assumption,
    AssumptionNotMet,
    CheckContext,
    Claim,
    ConfigError,
    Control,
    Cost,
    Evidence,
    Kind,
    Outcome,
    Param,
    Provenance,
    Status,
    run_claim,
)
from .registry import PAPERS, all_claims, get_claim, load_all, not_encoded, register  # noqa: F401

"""The registry of claims, filled by the paper modules (``theorems/<paper>.py``) at import."""
from __future__ import annotations

import importlib

from .core import Claim

# Paper key -> module that registers its claims, and the spec's claim ids (for "not encoded" in the report).
PAPERS: dict[str, dict] = {
    "ren2024": {
        "module": "theorems.ren2024",
        "title": "Ren & Liu: Transformers learn in-context through a representation learning lens (NeurIPS 2024)",
        "spec_ids": ["R-PRF", "R-T31", "R-SEQ", "R-T32", "R-FFN", "R-ML", "R-REG", "R-AUG", "R-NEG", "R-F3"],
    },
    "yang2024": {
        "module": "theorems.yang2024",
        "title": "Yang, Huang, Liang & Chi: In-context learning with representations (NeurIPS 2024)",
        "spec_ids": [
            "Y-A1", "Y-A2", "Y-A3", "Y-A4", "Y-P1", "Y-T1", "Y-T2",
            "Y-L1", "Y-L2", "Y-L3", "Y-L4", "Y-L5", "Y-L6", "Y-L7", "Y-L8", "Y-L9", "Y-L10",
            "Y-F2", "Y-F3", "Y-F4", "Y-F5",
        ],
    },
    "li2024": {
        "module": "theorems.li2024",
        "title": "Li, Wang, Lu, Cui & Chen: How do nonlinear transformers learn and generalize in ICL? (ICML 2024)",
        # The full text was not available: STATED means stated in informal wording (papers/README.md, rule 3).
        "stated_qualifier": "informal, per the authors' slides",
        "spec_ids": [
            "L-C32", "L-T33", "L-T34", "L-T37", "L-P41", "L-P42", "L-C43",
            "L-F-ATTN", "L-F-MLP", "L-F-PRUNE", "L-F-PRUNE-ALPHA", "L-F-SCALE", "L-F-S1", "L-F-ALPHA",
            "L-F-3L", "L-F-CLASSIC",
        ],
    },
}

REGISTRY: dict[str, Claim] = {}
_loaded = False


def register(claim: Claim) -> Claim:
    if claim.id in REGISTRY:
        raise ValueError(f"duplicate claim id {claim.id}")
    if claim.paper not in PAPERS:
        raise ValueError(f"claim {claim.id}: unknown paper {claim.paper!r}")
    REGISTRY[claim.id] = claim
    return claim


def load_all() -> dict[str, Claim]:
    """Import every paper module that exists (a paper not yet encoded is simply absent)."""
    global _loaded
    if not _loaded:
        for key, info in PAPERS.items():
            try:
                importlib.import_module(info["module"])
            except ModuleNotFoundError as e:
                if e.name != info["module"]:
                    raise
        _loaded = True
    return REGISTRY


def all_claims(paper: str | None = None) -> list[Claim]:
    load_all()
    claims = [c for c in REGISTRY.values() if paper is None or c.paper == paper]
    return sorted(claims, key=lambda c: (list(PAPERS).index(c.paper), PAPERS[c.paper]["spec_ids"].index(c.id)
                                          if c.id in PAPERS[c.paper]["spec_ids"] else 999, c.id))


def get_claim(claim_id: str) -> Claim:
    load_all()
    try:
        return REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim id {claim_id!r}; known: {sorted(REGISTRY)}") from None


def claim_metadata(claim: Claim) -> dict:
    """A claim's metadata plus its paper's qualifier of STATED (e.g. li2024: informal wording)."""
    meta = claim.metadata()
    qualifier = PAPERS[claim.paper].get("stated_qualifier")
    if qualifier and claim.provenance.is_stated:
        meta["stated_qualifier"] = qualifier
    return meta


def not_encoded() -> dict[str, list[str]]:
    """Spec ids with no registry entry, by paper."""
    load_all()
    return {k: [i for i in v["spec_ids"] if i not in REGISTRY] for k, v in PAPERS.items()}

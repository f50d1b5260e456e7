"""``python -m theorems``: list the claims; ``python -m theorems check ID --config JSON --seed N``: run one example."""
from __future__ import annotations

import argparse
import json
import sys

from .core import ConfigError, run_claim
from .registry import all_claims, claim_metadata, get_claim, not_encoded

FIELDS = ("id", "paper", "reference", "provenance", "title")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m theorems", description=__doc__)
    ap.add_argument("--json", action="store_true", help="list as JSON (with full metadata)")
    ap.add_argument("--paper", help="only this paper (ren2024, yang2024, li2024)")
    sub = ap.add_subparsers(dest="cmd")
    chk = sub.add_parser("check", help="run one example of a claim and print its evidence as JSON")
    chk.add_argument("claim_id")
    chk.add_argument("--config", default="{}", help="JSON object of config overrides")
    chk.add_argument("--preset", help="a named configuration of the claim, e.g. paper (its sizes, calibrated on a GPU)")
    chk.add_argument("--seed", type=int, default=0)
    chk.add_argument("--device", default="cpu")
    chk.add_argument("--impl", metavar="PAPER=MODULE", help="check against this module's model API, e.g. "
                     "ren2024=examples.alt_ren2024 (default: the reference models/<paper>.py)")
    chk.add_argument("--mutant", metavar="ID", help="check against a mutant of the catalogue (mutants/<paper>.py)")
    sub.add_parser("missing", help="spec ids with no registry entry")
    args = ap.parse_args(argv)

    if args.cmd == "check":
        import torch

        if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
            print("error: --device cuda was requested but torch sees no CUDA GPU", file=sys.stderr)
            return 2
        try:
            claim = get_claim(args.claim_id)
            overrides = json.loads(args.config)
            if not isinstance(overrides, dict):
                raise ConfigError("--config", "must be a JSON object")
            if args.preset:
                overrides = claim.preset(args.preset) | overrides
            ev = run_claim(claim, overrides, seed=args.seed, device=args.device, impl=_impl(args, claim.paper))
        except (KeyError, ConfigError, json.JSONDecodeError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(json.dumps(ev.to_json(), indent=2))
        return {"held": 0, "violated": 1}.get(ev.status, 3)  # 2: bad input; 3: inconclusive / not met
    if args.cmd == "missing":
        print(json.dumps(not_encoded(), indent=2))
        return 0

    claims = all_claims(args.paper)
    if args.json:
        print(json.dumps([claim_metadata(c) for c in claims], indent=2))
    else:
        for c in claims:
            print("\t".join(str(c.metadata()[f]) for f in FIELDS))
    return 0


def _impl(args, paper: str):
    """The implementation under test named by --impl / --mutant (None: the reference)."""
    from .impl import from_module, parse_spec

    if args.impl and args.mutant:
        raise ConfigError("--mutant", "give --impl or --mutant, not both")
    if args.mutant:
        import mutants

        m = mutants.get(args.mutant)
        if m.paper != paper:
            raise ConfigError("--mutant", f"{m.id} is a mutant of {m.paper}, not of {paper}")
        try:
            return m.impl()
        except mutants.StaleMutant as e:
            raise ConfigError("--mutant", str(e)) from None
    if args.impl:
        impl_paper, module = parse_spec(args.impl)
        if impl_paper != paper:
            raise ConfigError("--impl", f"names {impl_paper}, but the claim is of {paper}")
        return from_module(paper, module)
    return None


if __name__ == "__main__":
    sys.exit(main())

"""``python -m reports.verdicts NATIVE EMULATED``: fail unless every claim has the same verdict in two results files.

CI runs the ci profile twice, natively and with ``ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE`` (another CPU's
kernels and MKL's compatible code path, so trained models see other rounding). Margins may differ; a verdict that
flips is a defect of the claim's design (too little margin for its variance, too few seeds), never the machine's.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = ("violated", "inconclusive", "held", "assumption not met", "not applicable")


def verdicts(path: Path | str) -> dict[str, str]:
    """Claim id -> verdict: violated if any example is, else inconclusive if any is, else held if any is."""
    seen: dict[str, set[str]] = {}
    for line in Path(path).read_text().splitlines():
        rec = json.loads(line) if line.strip() else {}
        if rec.get("type") == "evidence":
            seen.setdefault(rec["claim_id"], set()).add(rec["status"])
    return {cid: next(v for v in ORDER if v in st) for cid, st in seen.items()}


def differences(a: Path | str, b: Path | str) -> list[str]:
    va, vb = verdicts(a), verdicts(b)
    out = [f"{cid}: {va.get(cid, 'absent')} natively, {vb.get(cid, 'absent')} emulated"
           for cid in sorted(set(va) | set(vb)) if va.get(cid) != vb.get(cid)]
    return out


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    diff = differences(*args)
    n = len(verdicts(args[0]))
    for line in diff:
        print(f"VERDICT FLIP {line}")
    print(f"{n - len(diff)} of {n} claims have the same verdict in {args[0]} and {args[1]}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())

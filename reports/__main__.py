"""``python -m reports RESULTS``: rebuild the HTML report from a results file, and check or write a baseline.

    python -m reports claims-out/results.jsonl -o claims-out/report.html
    python -m reports claims-out/results.jsonl --check-baseline reports/baseline.json
    python -m reports claims-out/results.jsonl --write-baseline reports/baseline.json

With no action, the report is written beside RESULTS as ``report.html``. If RESULTS does not exist but
``RESULTS.parts/`` does (a run killed before it merged), the report is built read-only from the parts that finished.
Exit status: 0 fine, 1 regressions against the baseline, 2 a missing, truncated or foreign file (one line on stderr).
Improvements against the baseline (a claim now held that was not) are printed as IMPROVEMENT lines and do not fail.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import gate, html
from .results import ResultsFileError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reports", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, help="results file (JSON lines) written by pytest properties/")
    ap.add_argument("-o", "--output", type=Path, help="HTML report to write (default: report.html beside RESULTS)")
    ap.add_argument("--check-baseline", type=Path, metavar="BASE", help="compare with this baseline; exit 1 on regressions")
    ap.add_argument("--write-baseline", type=Path, metavar="BASE", help="write the run's verdicts and margins as baseline")
    args = ap.parse_args(argv)
    out = args.output
    if out is None and not (args.check_baseline or args.write_baseline):
        out = args.results.with_name("report.html")
    status, target = 0, out
    try:
        if out is not None:
            html.build_report(args.results, out)
            print(f"report written: {out}")
        if args.check_baseline:
            found = gate.check(args.results, args.check_baseline)
            problems = found.regressions
            for p in problems:
                print(f"REGRESSION {p}")
            for p in found.improvements:
                print(f"IMPROVEMENT {p}")
            print(f"baseline {args.check_baseline}: " + (f"{len(problems)} regression(s)" if problems else "no regression")
                  + (f", {len(found.improvements)} improvement(s)" if found.improvements else ""))
            status = 1 if problems else 0
        if args.write_baseline:
            target = args.write_baseline
            gate.write_baseline(args.results, args.write_baseline)
            print(f"baseline written: {args.write_baseline}")
    except ResultsFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. the output's folder cannot be created
        print(f"error: cannot write {target}: {e.strerror or e}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())

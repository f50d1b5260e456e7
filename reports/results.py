"""The results file: one JSON object per line.

Record types, in file order:
- ``{"type": "run", ...}``: run metadata (profile, device, torch version, git commit, start time, command);
- ``{"type": "claim", ...}``: metadata of every registered claim (so the report needs nothing but this file);
- ``{"type": "evidence", ...}``: one checked example (see ``theorems.core.Evidence``); its status is "held",
  "violated", "inconclusive", "assumption not met" or "not applicable", its ``impl`` the implementation under test
  ("reference", "impl:pkg.mod", "mutant:ID") and ``uses`` the model API members the check called;
- ``{"type": "kill", ...}``: one cell of the kill matrix (a mutant of the catalogue against one claim)::

      {"type": "kill", "paper": "yang2024", "mutant": "Y-M03", "member": "softmax_maps", "bug": "one line",
       "claim_id": "Y-P1", "outcome": "killed" | "survived" | "not applicable" | "stale" | "not run",
       "examples": 25, "reproduce": "python -m theorems check ... --mutant Y-M03" | null, "detail": "short text",
       "seconds": 1.2, "known_survivor": "issue 13: ..." | null}

  ("not run": the cell did not run, its detail says why: the fast form had already killed the mutant, or the claim
  has no pinned draws). Kill records travel like evidence (part files, merge, recovery);
- ``{"type": "end", ...}``: written when the run finished (absent after an interruption: the report says so).

Evidence and kill records are the *body* of a run: the merged file holds the header (run and claim records), then the
evidence sorted by claim, test and example, then the kill records sorted by paper, mutant and claim, then the end.

Under pytest-xdist every worker appends to its own part file (``<results>.parts/<worker>.jsonl``), line by line with a
flush, so no worker ever writes another's file and an interruption loses at most one unfinished line. The controller
merges the parts into the results file at the end with an atomic replace; :func:`merge_parts` also recovers the parts of
a run that was killed before it could merge.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

FORMAT = "icl-claims-results/1"
HEADER_TYPES = ("run", "claim")
BODY_TYPES = ("evidence", "kill")  # what part files carry and merge_parts keeps
KILL_OUTCOMES = ("killed", "survived", "not applicable", "stale", "not run")


class ResultsFileError(ValueError):
    """A missing, truncated or foreign results file; the message names the file and what is wrong."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename over it: readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private (0600); give it the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, allow_nan=False, default=str)


class PartWriter:
    """Appends the records of one run: the single process of a serial run, or the xdist controller, which receives
    the workers' evidence with their test reports."""

    def __init__(self, parts_dir: Path | str, worker: str):
        self.path = Path(parts_dir) / f"{worker}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self.write_line(dumps(record))

    def write_line(self, line: str) -> None:
        """One record already serialised with :func:`dumps` (as xdist workers send them)."""
        self._f.write(line + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def parts_dir_for(results: Path | str, run_id: str = "") -> Path:
    """Where one run keeps its part files: ``<results>.<run_id>.parts``. Each run has its own directory, so two
    runs writing the same results file at the same time never delete or mix each other's parts."""
    results = Path(results)
    return results.with_name(results.name + (f".{run_id}" if run_id else "") + ".parts")


def latest_parts_dir(results: Path | str) -> Path | None:
    """The most recent parts directory of ``results`` (a killed or still-running run), if any."""
    results = Path(results)
    dirs = [d for d in results.parent.glob(results.name + "*.parts") if d.is_dir()]
    return max(dirs, key=lambda d: d.stat().st_mtime) if dirs else None


def _read_lines(path: Path, tolerate_truncated_tail: bool) -> list[dict[str, Any]]:
    records = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            last = all(not rest.strip() for rest in lines[i:])
            if last and tolerate_truncated_tail:
                break  # a worker killed mid-write: drop the unfinished line
            if not records:  # nothing readable before it: not a results file at all
                raise ResultsFileError(path, f"is not a results file (line {i} is not JSON: {e.msg})") from None
            raise ResultsFileError(path, f"line {i} is not JSON ({e.msg}); the file is truncated or corrupt") from None
        if not isinstance(rec, dict) or "type" not in rec:
            raise ResultsFileError(path, f"line {i} is not a results record (no 'type' field)")
        records.append(rec)
    return records


def read_parts(parts: Path | str) -> list[dict[str, Any]]:
    """The header records and the body (evidence, kill records) of a run's parts directory; unfinished last lines are
    dropped."""
    parts = Path(parts)
    header_path = parts / HEADER_NAME
    if not header_path.exists():
        raise ResultsFileError(parts, f"holds parts of a run but no {HEADER_NAME} (run and claim records)")
    records = [r for r in _read_lines(header_path, tolerate_truncated_tail=False) if r["type"] in HEADER_TYPES]
    return records + _part_evidence(parts)


def _part_evidence(parts: Path) -> list[dict[str, Any]]:
    """The body records (evidence and kill records) of every part file, in part-file order."""
    body: list[dict[str, Any]] = []
    for p in sorted(parts.glob("*.jsonl")):
        if p.name != HEADER_NAME:
            body += [r for r in _read_lines(p, tolerate_truncated_tail=True) if r.get("type") in BODY_TYPES]
    return body


def _body_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence by claim, test and example, then kill records by paper, mutant and claim (stable diffs)."""
    def text(x: Any) -> str:
        return x if isinstance(x, str) else "" if x is None else str(x)

    def example(x: Any) -> float:
        return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else 0.0

    evidence = [r for r in records if r.get("type") == "evidence"]
    kills = [r for r in records if r.get("type") == "kill"]
    evidence.sort(key=lambda r: (text(r.get("claim_id")), text(r.get("test_id")), example(r.get("example"))))
    kills.sort(key=lambda r: (text(r.get("paper")), text(r.get("mutant")), text(r.get("claim_id"))))
    return evidence + kills


def merge_parts(results: Path | str, header: Iterable[dict[str, Any]], end: dict[str, Any] | None,
                run_id: str = "") -> Path:
    """Merge the run's part files into ``results`` atomically: the header, then the body records (evidence ordered by
    claim and test id, then kill records by paper, mutant and claim, for stable diffs), then ``end``."""
    results = Path(results)
    parts = parts_dir_for(results, run_id)
    body = _body_order(_part_evidence(parts)) if parts.is_dir() else []
    lines = [dumps(h) for h in header] + [dumps(r) for r in body]
    if end is not None:
        lines.append(dumps(end))
    atomic_write_text(results, "\n".join(lines) + "\n")
    if parts.is_dir():
        shutil.rmtree(parts, ignore_errors=True)
    return results


HEADER_NAME = "_header.jsonl"


def write_header(results: Path | str, header: Iterable[dict[str, Any]], run_id: str = "") -> None:
    """Store the run and claim records beside the parts at the start, so a killed run can be recovered."""
    atomic_write_text(parts_dir_for(results, run_id) / HEADER_NAME, "".join(dumps(h) + "\n" for h in header))


def read_header(results: Path | str, run_id: str = "") -> list[dict[str, Any]] | None:
    """The run and claim records stored beside a run's parts, or None when there are none (yet)."""
    path = parts_dir_for(results, run_id) / HEADER_NAME
    if not path.exists():
        return None
    return [r for r in _read_lines(path, tolerate_truncated_tail=False) if r["type"] in HEADER_TYPES]


def recover_parts(results: Path | str) -> Path:
    """Merge the parts of the latest run that was killed before it merged (no end record: reported interrupted)."""
    results = Path(results)
    parts = latest_parts_dir(results)
    if parts is None:
        raise ResultsFileError(parts_dir_for(results), "no header of an interrupted run to recover from")
    records = read_parts(parts)
    header = [r for r in records if r["type"] in HEADER_TYPES]
    run_id = parts.name[len(results.name) + 1:-len(".parts")] if parts != parts_dir_for(results) else ""
    return merge_parts(results, header, end=None, run_id=run_id)


def read_results(path: Path | str) -> dict[str, Any]:
    """Load and validate a results file:
    ``{"run": ..., "claims": {id: meta}, "evidence": [...], "kills": [...], "end": ... | None}``."""
    path = Path(path)
    if not path.exists():
        raise ResultsFileError(path, "no such results file (run `pytest properties/` first, or pass the right path)")
    if path.is_dir():
        raise ResultsFileError(path, "is a directory, expected a results file (.jsonl)")
    try:
        records = _read_lines(path, tolerate_truncated_tail=False)
    except UnicodeDecodeError:
        raise ResultsFileError(path, "is not a text file; expected JSON lines") from None
    except OSError as e:
        raise ResultsFileError(path, f"cannot be read ({e.strerror or e})") from None
    return assemble(path, records)


def assemble(path: Path | str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Validate records read from ``path`` (a results file, or a killed run's header plus parts) and group them."""
    if not records:
        raise ResultsFileError(path, "is empty")
    run = records[0]
    if run.get("type") != "run" or run.get("format") != FORMAT:
        raise ResultsFileError(
            path, f"is not a claims results file (first record must be a run record with format {FORMAT!r})"
        )
    out: dict[str, Any] = {"run": run, "claims": {}, "evidence": [], "kills": [], "end": None}
    for i, rec in enumerate(records[1:], 2):
        t = rec["type"]
        if t == "claim":
            if not isinstance(rec.get("id"), str):
                raise ResultsFileError(path, f"record {i} (claim) lacks a string field 'id'")
            out["claims"][rec["id"]] = rec
        elif t == "evidence":
            for key in ("claim_id", "status", "config", "seed"):
                if key not in rec:
                    raise ResultsFileError(path, f"record {i} (evidence) lacks the field {key!r}")
            if not isinstance(rec["claim_id"], str):
                raise ResultsFileError(path, f"record {i} (evidence) has a claim_id that is not a string")
            out["evidence"].append(rec)
        elif t == "kill":
            for key in ("mutant", "claim_id", "outcome"):
                if not isinstance(rec.get(key), str):
                    raise ResultsFileError(path, f"record {i} (kill) lacks a string field {key!r}")
            if rec["outcome"] not in KILL_OUTCOMES:
                raise ResultsFileError(path, f"record {i} (kill of {rec['mutant']!r} by {rec['claim_id']!r}) has "
                                             f"unknown outcome {rec['outcome']!r} (expected one of "
                                             f"{list(KILL_OUTCOMES)})")
            out["kills"].append(rec)
        elif t == "end":
            out["end"] = rec
        else:
            raise ResultsFileError(path, f"record {i} has unknown type {t!r}")
    return out

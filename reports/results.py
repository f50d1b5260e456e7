"""The results file: one JSON object per line.

Record types, in file order:
- ``{"type": "run", ...}``: run metadata (profile, device, torch version, git commit, start time, command);
- ``{"type": "claim", ...}``: metadata of every registered claim (so the report needs nothing but this file);
- ``{"type": "evidence", ...}``: one checked example (see ``theorems.core.Evidence``);
- ``{"type": "end", ...}``: written when the run finished (absent after an interruption: the report says so).

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
    """The header records and the evidence of a run's parts directory; unfinished last lines are dropped."""
    parts = Path(parts)
    header_path = parts / HEADER_NAME
    if not header_path.exists():
        raise ResultsFileError(parts, f"holds parts of a run but no {HEADER_NAME} (run and claim records)")
    records = [r for r in _read_lines(header_path, tolerate_truncated_tail=False) if r["type"] in ("run", "claim")]
    return records + _part_evidence(parts)


def _part_evidence(parts: Path) -> list[dict[str, Any]]:
    evidence: list[dict[str, Any]] = []
    for p in sorted(parts.glob("*.jsonl")):
        if p.name != HEADER_NAME:
            evidence += [r for r in _read_lines(p, tolerate_truncated_tail=True) if r.get("type") == "evidence"]
    return evidence


def merge_parts(results: Path | str, header: Iterable[dict[str, Any]], end: dict[str, Any] | None,
                run_id: str = "") -> Path:
    """Merge the run's part files into ``results`` atomically; evidence is ordered by test id for stable diffs."""
    results = Path(results)
    parts = parts_dir_for(results, run_id)
    evidence = _part_evidence(parts) if parts.is_dir() else []
    evidence.sort(key=lambda r: (r.get("claim_id", ""), r.get("test_id", ""), r.get("example", 0)))
    lines = [dumps(h) for h in header] + [dumps(r) for r in evidence]
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
    return [r for r in _read_lines(path, tolerate_truncated_tail=False) if r["type"] in ("run", "claim")]


def recover_parts(results: Path | str) -> Path:
    """Merge the parts of the latest run that was killed before it merged (no end record: reported interrupted)."""
    results = Path(results)
    parts = latest_parts_dir(results)
    if parts is None:
        raise ResultsFileError(parts_dir_for(results), "no header of an interrupted run to recover from")
    records = read_parts(parts)
    header = [r for r in records if r["type"] != "evidence"]
    run_id = parts.name[len(results.name) + 1:-len(".parts")] if parts != parts_dir_for(results) else ""
    return merge_parts(results, header, end=None, run_id=run_id)


def read_results(path: Path | str) -> dict[str, Any]:
    """Load and validate a results file: ``{"run": ..., "claims": {id: meta}, "evidence": [...], "end": ... | None}``."""
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
    out: dict[str, Any] = {"run": run, "claims": {}, "evidence": [], "end": None}
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
        elif t == "end":
            out["end"] = rec
        else:
            raise ResultsFileError(path, f"record {i} has unknown type {t!r}")
    return out

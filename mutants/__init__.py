"""The mutant catalogue: small, plausible bugs in single members of a paper's model API.

A :class:`Mutant` is a source patch on the reference implementation ``models/<paper>.py``: the text ``find`` must
occur exactly once inside the definition of ``member`` (a top-level function or class) and is replaced by
``replace``. The patched source is executed as a fresh module, so the bug propagates to every caller inside the model
(a mutated ``forward`` is what ``train`` calls too). A patch that no longer applies, because the model changed, makes
the mutant *stale*: :func:`build` raises :class:`StaleMutant`, and the kill matrix reports it, never skips it.

Catalogues: ``mutants/<paper>.py`` define ``MUTANTS`` (a list) and ``KNOWN_SURVIVORS`` (mutant id -> the issue that
will kill it).
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from theorems.impl import Impl, api_members

PAPERS = ("yang2024", "li2024", "ren2024")


class StaleMutant(Exception):
    def __init__(self, mutant_id: str, why: str):
        super().__init__(f"mutant {mutant_id} is stale: {why}")
        self.mutant_id, self.why = mutant_id, why


@dataclass(frozen=True)
class Mutant:
    id: str  # e.g. "Y-M01"
    member: str  # top-level function or class of models/<paper>.py that the patch changes
    bug: str  # one line: what the bug is
    find: str
    replace: str
    paper: str = ""  # filled in by catalogue()

    def impl(self) -> Impl:
        return build(self)


def _source(paper: str) -> tuple[str, str]:
    spec = importlib.util.find_spec(f"models.{paper}")
    path = Path(spec.origin)
    return str(path), path.read_text()


def _spans(source: str) -> dict[str, tuple[int, int]]:
    """Character span of each top-level def/class (decorators included)."""
    tree = ast.parse(source)
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out[node.name] = (starts[first - 1], starts[node.end_lineno])
    return out


def patched_source(m: Mutant) -> str:
    _, src = _source(m.paper)
    spans = _spans(src)
    if m.member not in spans:
        raise StaleMutant(m.id, f"models/{m.paper}.py has no top-level {m.member!r}")
    a, b = spans[m.member]
    body = src[a:b]
    count = body.count(m.find)
    if count != 1:
        raise StaleMutant(m.id, f"{m.find!r} occurs {count} times in {m.member} (needs exactly 1)")
    return src[:a] + body.replace(m.find, m.replace) + src[b:]


@functools.lru_cache(maxsize=None)
def _module(m: Mutant):
    path, _ = _source(m.paper)
    name = f"models._mutant_{m.id.replace('-', '_')}"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None, origin=path))
    module.__file__ = path
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    exec(compile(patched_source(m), f"{path} [mutant {m.id}]", "exec"), module.__dict__)
    return module


def build(m: Mutant) -> Impl:
    """The mutated implementation (StaleMutant when the patch no longer applies)."""
    return Impl(m.paper, _module(m), f"mutant:{m.id}", api_members(m.paper))


def catalogue(paper: str | None = None) -> list[Mutant]:
    out = []
    for p in ([paper] if paper else PAPERS):
        try:
            mod = importlib.import_module(f"mutants.{p}")
        except ModuleNotFoundError as e:
            if e.name != f"mutants.{p}":
                raise
            continue
        out += [Mutant(**{**mu.__dict__, "paper": p}) for mu in mod.MUTANTS]
    return out


def known_survivors(paper: str | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in ([paper] if paper else PAPERS):
        try:
            out |= dict(importlib.import_module(f"mutants.{p}").KNOWN_SURVIVORS)
        except (ModuleNotFoundError, AttributeError):
            pass
    return out


def get(mutant_id: str) -> Mutant:
    for mu in catalogue():
        if mu.id == mutant_id:
            return mu
    raise KeyError(f"unknown mutant {mutant_id!r}; known: {[mu.id for mu in catalogue()]}")


def call_graph(paper: str) -> dict[str, set[str]]:
    """Top-level name -> the top-level names of models/<paper>.py its definition refers to (static, by ast)."""
    _, src = _source(paper)
    tree = ast.parse(src)
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    graph = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            graph[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in top} - {node.name}
    return graph


def reach(paper: str, used: set[str]) -> set[str]:
    """Every top-level definition that the members in ``used`` may execute."""
    graph = call_graph(paper)
    seen, todo = set(), list(used)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo += graph.get(n, ())
    return seen

"""The one seam between claims and models: each paper's *model API* and the implementation under test.

A paper's model API (``models/<paper>_api.py``: ``MEMBERS``, name -> one-line doc) is the set of functions and classes
of its model, data generators and training that the claims use. A check reaches the model only through
``ctx.impl``, an :class:`Impl`: ``ctx.impl.softmax_maps(Q, inst)``. What stands behind it is chosen per run:

- the reference implementation ``models/<paper>.py`` (default);
- any module named with ``--impl paper=package.module`` (cf. array-api-tests' ``ARRAY_API_TESTS_MODULE``);
- a mutant of the catalogue (``mutants/<paper>.py``): the reference module's source with one small bug patched in.

An :class:`Impl` records which members a check touched (``used``): the kill matrix reads that to tell "survived" from
"not applicable", and the report shows which claims exercise which part of a model. A member the module lacks raises
:class:`MissingMember`; ``run_claim`` reports the example as "not applicable", so claims that need only the parts
present still run.
"""
from __future__ import annotations

import importlib
import types
from dataclasses import dataclass, field
from typing import Any, Mapping

from models.validation import ConfigError


class MissingMember(AttributeError):
    """The implementation under test lacks a member of the paper's model API."""

    def __init__(self, paper: str, name: str, source: str):
        super().__init__(f"{source} does not provide {name!r} of the {paper} model API")
        self.paper, self.name, self.source = paper, name, source


def api_members(paper: str) -> dict[str, str]:
    """The declared model API of a paper: member name -> one-line doc."""
    try:
        mod = importlib.import_module(f"models.{paper}_api")
    except ModuleNotFoundError:
        raise ConfigError("paper", f"no model API is declared for {paper!r} (models/{paper}_api.py)") from None
    return dict(mod.MEMBERS)


@dataclass
class Impl:
    """The implementation of one paper's model API that checks call. Attribute access goes to ``module``; names
    outside the declared API are an error (the seam is enforced, not advisory)."""

    paper: str
    module: types.ModuleType
    key: str  # identifies the implementation in caches and reproduce commands: "reference", "impl:pkg.mod", "mutant:ID"
    members: Mapping[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        members = object.__getattribute__(self, "members")
        paper = object.__getattribute__(self, "paper")
        if name not in members:
            raise AttributeError(f"{name!r} is not a member of the {paper} model API (models/{paper}_api.py); "
                                 "a check reaches the model only through it")
        object.__getattribute__(self, "used").add(name)
        try:
            return getattr(object.__getattribute__(self, "module"), name)
        except AttributeError:
            raise MissingMember(paper, name, object.__getattribute__(self, "module").__name__) from None

    def view(self) -> "Impl":
        """The same implementation with an empty record of used members (one per checked example)."""
        return Impl(self.paper, self.module, self.key, self.members, set())

    def missing(self) -> list[str]:
        return [n for n in self.members if not hasattr(self.module, n)]

    @property
    def is_reference(self) -> bool:
        return self.key == "reference"


def reference(paper: str) -> Impl:
    return Impl(paper, importlib.import_module(f"models.{paper}"), "reference", api_members(paper))


def from_module(paper: str, module_name: str) -> Impl:
    """An implementation named by ``--impl paper=module``; one clear error when it cannot be used."""
    from theorems.registry import PAPERS

    if paper not in PAPERS:
        raise ConfigError("--impl", f"unknown paper {paper!r} (known: {sorted(PAPERS)})")
    members = api_members(paper)
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 - any import failure is the user's module; say which and why
        raise ConfigError("--impl", f"cannot import {module_name!r} for {paper}: {type(e).__name__}: {e}") from None
    impl = Impl(paper, module, f"impl:{module_name}", members)
    if len(impl.missing()) == len(members):
        raise ConfigError("--impl", f"{module_name!r} provides no member of the {paper} model API "
                                    f"(expected some of: {', '.join(sorted(members))})")
    return impl


# The implementation under test per paper, for this process (set by --impl / the CLI; default: the reference).
_SELECTED: dict[str, Impl] = {}


def select(impl: Impl) -> None:
    _SELECTED[impl.paper] = impl


def deselect(paper: str) -> None:
    _SELECTED.pop(paper, None)


def current(paper: str) -> Impl:
    if paper not in _SELECTED:
        _SELECTED[paper] = reference(paper)
    return _SELECTED[paper]


def parse_spec(spec: str) -> tuple[str, str]:
    """``"yang2024=mypkg.my_model"`` -> (paper, module)."""
    paper, sep, module = spec.partition("=")
    if not sep or not paper or not module:
        raise ConfigError("--impl", f"expected PAPER=MODULE (e.g. yang2024=mypkg.my_model), got {spec!r}")
    return paper.strip(), module.strip()

"""The claim registry: one declarative entry per theorem, lemma or proposition.

A :class:`Claim` holds the metadata (id, paper, reference, LaTeX statement, provenance, assumptions, kind, parameter
ranges) and points at one *check function*. A check takes a validated config dict and a :class:`CheckContext`
(device, seeded generator) and returns an :class:`Outcome` (measured value, bound, signed margin, curves).
:func:`run_claim` is the generic machinery around every check: it validates the config, tests the claim's
assumptions, times the check and wraps the outcome into :class:`Evidence`, the record that the results file, the
report and the regression gate are built from.

Adding a claim = one check function + one ``register(Claim(...))`` entry in the paper's module.
"""
from __future__ import annotations

import enum
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

import torch

from models.validation import ConfigError  # noqa: F401  (re-exported: the one error for bad configs)


class Provenance(str, enum.Enum):
    """Where a statement comes from (common scale of ../shared/papers/README.md)."""

    STATED = "STATED"  # in the paper's own text (li2024: informal, per the authors' slides)
    DERIVED_HIGH = "DERIVED-HIGH"  # reconstructed, high confidence; label "reconstructed"
    DERIVED_LOW = "DERIVED-LOW"  # plausible reconstruction: a specification this project chooses

    @property
    def is_stated(self) -> bool:
        return self is Provenance.STATED

    @property
    def badge(self) -> str:
        return "STATED" if self.is_stated else "DERIVED"


class Kind(str, enum.Enum):
    IDENTITY = "identity"  # exact algebraic identity, float64, eps-derived tolerance
    INEQUALITY = "inequality"  # deterministic bound
    RATE = "rate"  # fitted slope with a stated band
    STATISTICAL = "statistical"  # confidence bound at a stated false-fail rate
    MECHANISM = "mechanism"  # trained-model behaviour (attention, neurons, pruning)


class Cost(str, enum.Enum):
    """How expensive one example is; the Hypothesis profile turns this into an example count."""

    CHEAP = "cheap"  # milliseconds: identities, generator contracts
    MEDIUM = "medium"  # up to about a second: Monte-Carlo, short training
    SLOW = "slow"  # several seconds or more: full training, figure reproductions (also marked `slow`)


class Status(str, enum.Enum):
    HELD = "held"  # evidence for the claim (statistical: at its stated resolution)
    VIOLATED = "violated"  # evidence against it at its stated false-fail rate
    INCONCLUSIVE = "inconclusive"  # neither, at this sample size: never counted as verified
    ASSUMPTION_NOT_MET = "assumption not met"  # a hypothesis of the theorem fails (or the model did not learn)
    NOT_APPLICABLE = "not applicable"  # the implementation under test lacks a member of the model API the check uses


@dataclass(frozen=True)
class Control:
    """A claim's negative control: a mutant of the catalogue (mutants/<paper>.py) that the claim reports as violated
    at this config and seed. It breaks the implementation, not the assertion."""

    mutant: str
    config: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True)
class Param:
    """Declared type and range of one config parameter; validation raises :class:`ConfigError` naming it."""

    name: str
    type: type = int  # int, float, bool or str
    min: float | None = None  # inclusive
    max: float | None = None  # inclusive
    gt: float | None = None  # exclusive lower bound
    choices: tuple | None = None
    doc: str = ""

    def validate(self, value: Any) -> Any:
        n = self.name
        if self.type is bool:
            if not isinstance(value, bool):
                raise ConfigError(n, f"must be a bool, got {value!r}")
            return value
        if self.type is str:
            if self.choices is not None and value not in self.choices:
                raise ConfigError(n, f"must be one of {list(self.choices)}, got {value!r}")
            return value
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, (int,)) and not (
                isinstance(value, float) and value.is_integer()
            ):
                raise ConfigError(n, f"must be an integer, got {value!r}")
            value = int(value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(n, f"must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(n, f"must be finite, got {value!r}")
        if self.min is not None and value < self.min:
            raise ConfigError(n, f"must be >= {self.min}, got {value!r}")
        if self.max is not None and value > self.max:
            raise ConfigError(n, f"must be <= {self.max}, got {value!r}")
        if self.gt is not None and not value > self.gt:
            raise ConfigError(n, f"must be > {self.gt}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(n, f"must be one of {list(self.choices)}, got {value!r}")
        return value


class AssumptionNotMet(Exception):
    """Raised by a check when a precondition that depends on the random draw, not on the config alone, fails (e.g.
    float64's exp range overflowed): run_claim reports the example as "assumption not met", never as a violation or
    a pass."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of the theorem, as a predicate on the config (e.g. ``H >= N``)."""

    name: str  # short, shown in reports, e.g. "H >= N"
    holds: Callable[[Mapping[str, Any]], bool]
    text: str = ""  # why the theorem needs it

    def __call__(self, cfg: Mapping[str, Any]) -> bool:
        return bool(self.holds(cfg))


@dataclass
class Outcome:
    """What a check function measured. ``margin`` is signed: positive = holds with room, negative = violated."""

    measured: float
    bound: float
    margin: float
    holds: bool | None  # True held, False violated, None inconclusive (statistical claims only)
    dtype: str = "float64"
    instances: int = 1  # independent instances (seeds) checked in one vectorised pass
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> curve(...) (see below)
    details: dict[str, Any] = field(default_factory=dict)  # fitted constants, sub-measurements, notes
    # An exact discrete property (a count of violations that must be 0, an integer equality): it holds or breaks,
    # with no slack in between, so all_of never makes it the headline margin while a graded part exists.
    exact: bool = False

    @classmethod
    def at_most(cls, measured: float, bound: float, **kw) -> "Outcome":
        """Claim ``measured <= bound`` (errors, gaps, losses)."""
        measured, bound = float(measured), float(bound)
        margin = bound - measured
        return cls(measured, bound, margin, bool(margin >= 0), **kw)

    @classmethod
    def at_least(cls, measured: float, bound: float, **kw) -> "Outcome":
        """Claim ``measured >= bound`` (accuracies, alignments, separations)."""
        measured, bound = float(measured), float(bound)
        margin = measured - bound
        return cls(measured, bound, margin, bool(margin >= 0), **kw)

    @classmethod
    def within(cls, measured: float, low: float, high: float, **kw) -> "Outcome":
        """Claim ``low <= measured <= high`` (fitted slopes in a band); bound records the nearer edge."""
        measured = float(measured)
        margin = min(measured - low, high - measured)
        bound = low if measured - low < high - measured else high
        details = dict(kw.pop("details", {}))
        details.setdefault("band", [float(low), float(high)])
        return cls(measured, float(bound), margin, bool(margin >= 0), details=details, **kw)

    @classmethod
    def all_of(cls, parts: Mapping[str, "Outcome"], **kw) -> "Outcome":
        """Combine sub-checks; the worst (relative) part becomes the headline, every part is kept in details."""
        assert parts, "all_of needs at least one part"
        # The headline is a violated part first, then an inconclusive one, then the least relative room (NaN = none)
        # of a graded part, and an exact part (no slack to follow) only when every part is exact.
        rank = {False: 0, None: 1, True: 2}

        def badness(k: str) -> tuple[int, float]:
            p, r = parts[k], relative_margin(parts[k])
            verdict = rank[None if p.holds is None else bool(p.holds)]
            return verdict + (verdict == 2 and p.exact), r if math.isfinite(r) else -math.inf

        worst_name = min(parts, key=badness)
        worst = parts[worst_name]
        details = dict(kw.pop("details", {}))
        details["parts"] = {
            k: {"measured": p.measured, "bound": p.bound, "margin": p.margin, "holds": p.holds,
                **({"rule": p.details["rule"]} if "rule" in p.details else {}), **({"exact": True} if p.exact else {})}
            for k, p in parts.items()
        }
        details["worst_part"] = worst_name
        curves = dict(kw.pop("curves", {}))
        for p in parts.values():
            curves.update(p.curves)
        verdicts = [p.holds for p in parts.values()]
        holds = False if False in verdicts else (None if None in verdicts else True)
        return cls(
            worst.measured,
            worst.bound,
            worst.margin,
            holds,
            details=details,
            curves=curves,
            exact=all(p.exact for p in parts.values()),
            **kw,
        )


def curve(xlabel: str, ylabel: str, series: Mapping[str, tuple[Any, Any]], *, logx: bool = False,
          logy: bool = False) -> dict[str, Any]:
    """A named figure for the report: one or more (x, y) series sharing axes, e.g.
    ``curve("t", "log Delta(t)", {"measured": (t, d), "theory (1 - eta sigma)^t": (t, r)}, logy=True)``."""
    return {
        "xlabel": xlabel,
        "ylabel": ylabel,
        "logx": logx,
        "logy": logy,
        "series": {k: {"x": jsonable(x), "y": jsonable(y)} for k, (x, y) in series.items()},
    }


def relative_margin(o: Outcome) -> float:
    """Margin in units of the bound, so margins of different claims and scales compare (used by ``target()``)."""
    scale = max(abs(o.bound), 1e-300)
    return o.margin / scale


@dataclass
class Evidence:
    """One checked example, as written to the results file (one JSON line)."""

    claim_id: str
    paper: str
    status: str  # Status value
    holds: bool | None  # None when inconclusive, an assumption is not met or the check is not applicable
    measured: float | None
    bound: float | None
    margin: float | None
    relative_margin: float | None
    config: dict[str, Any]
    seed: int
    device: str
    dtype: str
    seconds: float
    instances: int = 1
    unmet_assumptions: list[str] = field(default_factory=list)
    curves: dict[str, dict[str, list]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    reproduce: str = ""
    test_id: str = ""
    hypothesis: dict[str, Any] = field(default_factory=dict)  # e.g. {"blob": ..., "phase": ...}
    impl: str = "reference"  # the implementation under test (Impl.key)
    uses: list[str] = field(default_factory=list)  # the model API members the check called

    def to_json(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    def describe(self) -> str:
        if self.status in (Status.ASSUMPTION_NOT_MET.value, Status.NOT_APPLICABLE.value):
            return f"{self.claim_id}: {self.status} ({', '.join(self.unmet_assumptions)}) for {self.config}"
        return (
            f"{self.claim_id} {self.status}: measured={self.measured:.6g} bound={self.bound:.6g} "
            f"margin={self.margin:+.3g} (relative {self.relative_margin:+.3g}) on {self.device}/{self.dtype}, "
            f"seed={self.seed}, config={self.config}\n  reproduce: {self.reproduce}"
        )


def jsonable(x: Any) -> Any:
    """Plain JSON: tensors and numpy scalars to floats/lists; non-finite floats to strings (JSON has no NaN)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, torch.Tensor):
        return jsonable(x.detach().cpu().tolist())
    if isinstance(x, enum.Enum):
        return x.value
    if hasattr(x, "item") and callable(x.item):  # numpy scalar
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


@dataclass
class CheckContext:
    """What a check gets besides its config: the device, an explicit seeded random generator, and the
    implementation under test of the paper's model API (theorems/impl.py), the only way a check reaches a model."""

    device: torch.device
    seed: int
    impl: Any = None  # theorems.impl.Impl

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh generator on the device; ``offset`` gives independent streams for independent pieces."""
        g = torch.Generator(device=self.device)
        g.manual_seed((self.seed + 1_000_003 * offset) % (2**63 - 1))
        return g


CheckFn = Callable[[dict, CheckContext], Outcome]


@dataclass(frozen=True)
class Claim:
    id: str  # stable id from the spec, e.g. "R-T31"
    paper: str  # paper key, e.g. "ren2024"
    reference: str  # e.g. "Theorem 3.1"
    title: str
    statement: str  # LaTeX
    provenance: Provenance
    kind: Kind
    check: CheckFn
    params: tuple[Param, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    assumptions: tuple[Assumption, ...] = ()
    cost: Cost = Cost.CHEAP
    false_fail_rate: float | None = None  # statistical claims: P(check fails | claim true), stated
    tolerance: str = ""  # how the tolerance is derived, in words (shown in the report)
    notes: str = ""  # weaker-form caveats, ambiguities, what is reconstructed
    figure: str | None = None  # name of the curve the report plots as this claim's figure
    # Intra-op CPU threads while the check runs. A fixed count makes every example bit-for-bit reproducible whatever
    # the process's thread setting (serial run, xdist worker, CLI), and one thread is also the fastest for the small
    # tensors of these checks. None: inherit the process's setting (for paper-size claims that want every core).
    cpu_threads: int | None = 1
    # Name of an expensive computation cached per process (a trained model) that this claim shares with other
    # claims. Scheduling only: under pytest-xdist the claims that share one run on the same worker, so it is computed
    # once per run as in a serial run, not once per worker (conftest.py). Results never depend on it.
    shares: str = ""
    # Named configurations besides the defaults, as overrides: "paper" = the paper's sizes with the training settings
    # calibrated for them (on a GPU). Property runs on a GPU draw the "paper" preset of figure claims
    # (properties/harness.figure_config); the CLI takes ``--preset``.
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The negative control: a catalogue mutant this claim reports as violated at a stated example (tests run it).
    control: Control | None = None
    # A *reported* claim is a measurement the report shows and never counts as verified (it kills no mutant).
    reported: bool = False
    # Statistical and trained claims: the power 1 - beta at which the stated resolution is computed.
    power: float | None = None

    def __post_init__(self) -> None:
        if self.kind in (Kind.STATISTICAL, Kind.MECHANISM) and not self.reported:
            missing = [n for n, v in (("false_fail_rate", self.false_fail_rate), ("power", self.power)) if v is None]
            if missing:
                raise ValueError(f"claim {self.id}: a {self.kind.value} claim must state {' and '.join(missing)} "
                                 "(or be declared reported=True)")
        if self.false_fail_rate is not None and not 0 < self.false_fail_rate < 0.5:
            raise ValueError(f"claim {self.id}: false_fail_rate must lie in (0, 0.5), got {self.false_fail_rate}")
        if self.power is not None and not 0.5 <= self.power < 1:
            raise ValueError(f"claim {self.id}: power must lie in [0.5, 1), got {self.power}")

    @property
    def reconstructed(self) -> bool:
        return not self.provenance.is_stated

    def config(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults + overrides, validated against ``params``; unknown keys are an error too."""
        cfg = dict(self.defaults)
        cfg.update(overrides or {})
        known = {p.name for p in self.params}
        for key in cfg:
            if known and key not in known:
                raise ConfigError(key, f"is not a parameter of {self.id} (known: {sorted(known)})")
        for p in self.params:
            if p.name not in cfg:
                raise ConfigError(p.name, f"is required by {self.id} and has no default")
            cfg[p.name] = p.validate(cfg[p.name])
        return cfg

    def preset(self, name: str) -> dict[str, Any]:
        """The overrides of preset ``name``; a claim without it gets ``{"size": name}`` if it has a size param."""
        if name in self.presets:
            return dict(self.presets[name])
        if any(p.name == "size" for p in self.params):
            return {"size": name}
        raise ConfigError("preset", f"{self.id} has no preset {name!r} (has: {sorted(self.presets) or 'none'})")

    def unmet(self, cfg: Mapping[str, Any]) -> list[str]:
        return [a.name for a in self.assumptions if not a(cfg)]

    def metadata(self) -> dict[str, Any]:
        """Everything the report needs about the claim, without importing any model."""
        return {
            "id": self.id,
            "paper": self.paper,
            "reference": self.reference,
            "title": self.title,
            "statement": self.statement,
            "provenance": self.provenance.value,
            "badge": self.provenance.badge,
            "kind": self.kind.value,
            "cost": self.cost.value,
            "assumptions": [{"name": a.name, "text": a.text} for a in self.assumptions],
            "false_fail_rate": self.false_fail_rate,
            "power": self.power,
            "reported": self.reported,
            "control": asdict(self.control) if self.control else None,
            "tolerance": self.tolerance,
            "notes": self.notes,
            "figure": self.figure,
            "shares": self.shares,
            "presets": {k: dict(v) for k, v in self.presets.items()},
            "params": [
                {k: v for k, v in asdict(p).items() if v not in (None, "")} | {"type": p.type.__name__}
                for p in self.params
            ],
        }


def reproduce_command(claim_id: str, cfg: Mapping[str, Any], seed: int, device: str, impl: str = "reference",
                      paper: str = "") -> str:
    import json
    import shlex

    which = ""
    if impl.startswith("mutant:"):
        which = f" --mutant {impl.split(':', 1)[1]}"
    elif impl.startswith("impl:"):
        which = f" --impl {paper}={impl.split(':', 1)[1]}"
    return (
        f"python -m theorems check {claim_id} --seed {seed} --device {device}{which} "
        f"--config {shlex.quote(json.dumps(jsonable(dict(cfg)), sort_keys=True))}"
    )


def run_claim(
    claim: Claim,
    overrides: Mapping[str, Any] | None,
    seed: int,
    device: str | torch.device = "cpu",
    impl: Any = None,
) -> Evidence:
    """Validate, check assumptions, run and time one example; the single entry point for tests, CLI and report.

    ``impl`` is the implementation under test of the claim's paper (theorems/impl.py; default: the one selected for
    this process, normally the reference ``models/<paper>.py``). Negative controls and mutants pass theirs.
    """
    from theorems import impl as _impl

    impl = (impl or _impl.current(claim.paper)).view()
    device = torch.device(device)
    cfg = claim.config(overrides)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {seed!r}")
    common = dict(
        claim_id=claim.id,
        paper=claim.paper,
        config=cfg,
        seed=seed,
        device=str(device),
        reproduce=reproduce_command(claim.id, cfg, seed, str(device), impl.key, claim.paper),
        impl=impl.key,
    )
    unmet = claim.unmet(cfg)
    if unmet:
        return _not_met(unmet, common)
    if device.type == "cuda":  # identities are derived for IEEE float64/float32, not TF32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    ctx = CheckContext(device=device, seed=seed, impl=impl)
    threads_before = torch.get_num_threads()
    if device.type == "cpu" and claim.cpu_threads:
        torch.set_num_threads(claim.cpu_threads)
    try:
        t0 = time.perf_counter()
        out = claim.check(cfg, ctx)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
    except AssumptionNotMet as e:
        return _not_met([e.name], common | {"uses": sorted(impl.used)})
    except _impl.MissingMember as e:
        return _not_met([str(e)], common | {"uses": sorted(impl.used)}, Status.NOT_APPLICABLE)
    finally:
        torch.set_num_threads(threads_before)
    if not isinstance(out, Outcome):
        raise TypeError(f"check of {claim.id} returned {type(out).__name__}, expected Outcome")
    if out.holds is None and claim.kind in (Kind.IDENTITY, Kind.INEQUALITY) and claim.false_fail_rate is None:
        raise TypeError(f"check of {claim.id} returned 'inconclusive': a deterministic {claim.kind.value} is held or "
                        "violated only (a claim with a statistical part states its false_fail_rate)")
    finite = math.isfinite(out.margin)
    holds = None if out.holds is None and finite else bool(out.holds) and finite
    status = Status.INCONCLUSIVE if holds is None else Status.HELD if holds else Status.VIOLATED
    return Evidence(
        status=status.value,
        holds=holds,
        measured=out.measured,
        bound=out.bound,
        margin=out.margin,
        relative_margin=relative_margin(out),
        dtype=out.dtype,
        seconds=seconds,
        instances=out.instances,
        curves=out.curves,
        details=out.details,
        uses=sorted(impl.used),
        **common,
    )


def _not_met(unmet: list[str], common: dict[str, Any], status: Status = Status.ASSUMPTION_NOT_MET) -> Evidence:
    return Evidence(status=status.value, holds=None, measured=None, bound=None, margin=None,
                    relative_margin=None, dtype="", seconds=0.0, unmet_assumptions=unmet, **common)


def environment() -> dict[str, Any]:
    """Run metadata recorded beside the evidence."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }

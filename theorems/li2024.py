"""Claims of li2024 (Li, Wang, Lu, Cui & Chen, ICML 2024). Spec: ../shared/papers/li2024.md.

The paper's full text was not available: STATED here means stated by the authors in informal wording (abstract, talk
slides, homepage); every quantitative form is reconstructed. The trained claims use the spec's calibrated working
configuration (its last section), because the defaults of its §4 do not learn.

The model is reached only through ``ctx.impl`` (the li2024 model API, models/li2024_api.py), so every claim checks the
implementation under test (the reference, ``--impl``, or a mutant of mutants/li2024.py). Measurements (0-1 error,
same-pattern attention mass, neuron cosines, 2-means of neuron norms) are this module's own instruments.

Layout: shared parameters and the cached trained "world" (one training per (implementation, config, seed batch,
device)), measurement and statistics helpers, then one check + one ``register(Claim(...))`` per claim: the theorem
claims (L-C32 ... L-C43), the figure claims (L-F-*), and the exact float64 properties of the spec's §4.1 under ids
``L-E-*`` (not spec ids; each names the spec id it supports).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from models import li2024_baselines as bl  # the classical classifiers: the reference side of L-F-CLASSIC
from models.li2024 import LiConfig as _ReferenceConfig  # its field defaults only (a table of constants)
from theorems.core import (Assumption, AssumptionNotMet, CheckContext, Claim, ConfigError, Control, Cost, Kind,
                           Outcome, Param, Provenance, curve)
from theorems.registry import register
from theorems.tolerances import (
    binomial_acceptance,
    binomial_verdict,
    identity_tolerance,
    max_abs_error,
    mean_verdict,
)

if TYPE_CHECKING:  # annotations only
    from models import li2024 as m

DTYPES = {"float32": torch.float32, "float64": torch.float64}
POWER = 0.9  # 1 - beta of every statistical / trained decision: its resolution is stated at this power
PAPER = "li2024"
F64 = torch.float64
FFR = 1e-3  # false-fail rate of every statistical claim, split (Bonferroni) over its parts, seeds and grid points
PRUNE_RATES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)  # the slides' pruning axis, 0-40%
S1_GRID = (0.5, 0.7, 0.9, 1.1, 1.3)  # the slides' Figure 18 grid
WEAKER = "Reproduces only in a weaker form (spec calibration): "

# ---------------------------------------------------------------------------------------------------- parameters
_FIELD_PARAMS = {
    "d_X": Param("d_X", int, min=4, max=64, doc="feature dimension"),
    "d_Y": Param("d_Y", int, min=1, max=8, doc="label-embedding dimension (NOT FOUND)"),
    "M1": Param("M1", int, min=3, max=32, doc="IDR patterns"),
    "M2": Param("M2", int, min=1, max=61, doc="IDI patterns (M1 + M2 <= d_X)"),
    "beta": Param("beta", float, gt=0, max=10, doc="||mu_j|| (LOW/MED)"),
    "q_norm": Param("q_norm", float, gt=0, max=10, doc="||q|| (LOW)"),
    "kappa_dist": Param("kappa_dist", str, choices=("uniform", "sign"), doc="kappa ~ U(-K, K) or +-K (LOW)"),
    "kappa_max": Param("kappa_max", float, min=0, max=2, doc="K"),
    "n_task_families": Param("n_task_families", int, min=1, max=31, doc="|T_tr| = n M1 cyclic shifts"),
    "task_cover": Param("task_cover", str, choices=("cyclic", "lexicographic"), doc="T_tr generator"),
    "l": Param("l", int, min=1, max=128, doc="training prompt length l_tr"),
    "alpha": Param("alpha", float, gt=0, max=1, doc="training fraction of task-pattern contexts"),
    "alpha_test": Param("alpha_test", float, gt=0, max=1, doc="alpha' of test prompts"),
    "l_test": Param("l_test", int, min=1, max=128, doc="test prompt length l_ts"),
    "test_sampling": Param("test_sampling", str, choices=("guaranteed", "training"), doc="test prompt construction"),
    "test_both_patterns": Param("test_both_patterns", bool, doc="alpha'/2 guaranteed for both task patterns (MED)"),
    "M1_ood": Param("M1_ood", int, min=2, max=16, doc="ODR patterns"),
    "S1": Param("S1", float, min=0, max=10, doc="ODR coefficient sum"),
    "s1_definition": Param("s1_definition", str, choices=("min", "mean"), doc="S1 := min_j or mean_j (NOT FOUND)"),
    "s1_spread": Param("s1_spread", float, min=0, max=5, doc="spread of the per-pattern sums S1_j"),
    "m": Param("m", int, min=1, max=1024, doc="MLP neurons"),
    "delta": Param("delta", float, gt=0, max=5, doc="W_Q = W_K = W_V = delta I at init (LOW)"),
    "xi": Param("xi", float, min=0, max=1, doc="W_O ~ N(0, xi^2) at init (NOT FOUND)"),
    "a_scale": Param("a_scale", str, choices=("sqrt", "linear"), doc="a_i = +-1/sqrt(m) or +-1/m (LOW/MED)"),
    "train_WV": Param("train_WV", bool, doc="whether W_V is trained (MED)"),
    "eta_QK": Param("eta_QK", float, min=0, max=100, doc="SGD step of W_Q, W_K"),
    "eta_OV": Param("eta_OV", float, min=0, max=100, doc="SGD step of W_O, W_V"),
    "batch": Param("batch", int, min=1, max=4096, doc="SGD batch B"),
    "steps": Param("steps", int, min=0, max=100_000, doc="SGD iterations T (0 = the untrained model)"),
    "prune_norm": Param("prune_norm", str, choices=("W_O", "W_O W_V"), doc="neuron magnitude for pruning"),
}
_RUN_PARAMS = (
    Param("n_seeds", int, min=3, max=64, doc="independent trainings, batched in one pass"),
    Param("train_seed", int, min=0, max=2**31 - 1, doc="seed of patterns, init and SGD batches (evaluation uses the run seed)"),
    Param("n_test", int, min=100, max=100_000, doc="test prompts per seed"),
    Param("dtype", str, choices=("float32", "float64"), doc="training and evaluation dtype"),
)
WORLD_PARAMS = tuple(_FIELD_PARAMS.values()) + _RUN_PARAMS
WORLD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(_ReferenceConfig)}
WORLD_DEFAULTS |= {"n_seeds": 8, "train_seed": 0, "n_test": 2000, "dtype": "float32"}
# Fields read only at evaluation: they do not change the trained model (and so are not part of the cache key).
EVAL_FIELDS = ("alpha_test", "l_test", "test_sampling", "test_both_patterns", "M1_ood", "S1", "s1_definition",
               "s1_spread", "prune_norm")

COND_32 = Assumption("Condition 3.2", lambda c: c["task_cover"] == "cyclic",
                     "the training tasks cover every IDR pattern as +1 and as -1 equally often")
TEST_LENGTH = Assumption("l_ts >= 1/alpha'", lambda c: c["l_test"] * c["alpha_test"] >= 1,
                         "Theorem 3.3 (iii): the test prompt holds a same-pattern context")
TRAIN_LENGTH = Assumption("l_tr >= 1/alpha", lambda c: c["l"] * c["alpha"] >= 1, "Theorem 3.3 (iii)")
BATCH = Assumption("B >= M1", lambda c: c["batch"] >= c["M1"], "Theorem 3.3 (ii): B >= Omega(max(eps^-2, M1))")
S1_AT_LEAST_1 = Assumption("S1 >= 1", lambda c: c["S1"] >= 1, "Theorem 3.4: ODR coefficient sum at least 1")
THEOREM_33 = (COND_32, TRAIN_LENGTH, TEST_LENGTH, BATCH)


def _p(name: str, typ: type, doc: str, **kw) -> Param:
    return Param(name, typ, doc=doc, **kw)


# ---------------------------------------------------------------------------------------------------- trained world
@dataclass
class World:
    """One batch of S independently trained models (patterns, tasks, init, SGD batches differ per seed)."""

    impl: Any  # the implementation that trained it (theorems.impl.Impl)
    cfg: Any  # impl.LiConfig
    idr: torch.Tensor  # (S, M1, d_X) float64
    idi: torch.Tensor  # (S, M2, d_X)
    rotation: torch.Tensor  # (S, M2, M2): ODI = rotation of the IDI basis
    train_tasks: torch.Tensor
    test_tasks: torch.Tensor  # T \ T_tr (all tasks when T_tr = T)
    result: Any  # TrainResult(params, init, loss)
    snapshots: list

    @property
    def params(self) -> m.Params:
        return self.result.params

    @property
    def init(self) -> m.Params:
        return self.result.init

    def id_domain(self) -> m.Domain:
        return self.impl.Domain(self.idr, self.idi, self.test_tasks)

    def ood_domain(self, ecfg, S1: float) -> m.Domain:
        return self.impl.ood_domain(ecfg, self.idr, self.idi, self.rotation, S1)


def _train_config(cfg: dict, impl) -> m.LiConfig:
    """The config with the evaluation-only fields at their defaults: the cache key of a training."""
    defaults = {k: WORLD_DEFAULTS[k] for k in EVAL_FIELDS}
    return impl.LiConfig.from_mapping(cfg, **defaults)


# Claims that share a cached training name it (Claim.shares): under xdist they run on one worker, which trains once.
SHARES_WORLD = "li2024: the default-config trained world"
SHARES_GPT = "li2024: the trained 3-layer GPT-2 world"

# Per-process caches of trained models. The key starts with impl.key: a mutant never reuses the reference's training.
_CACHE: dict[tuple, Any] = {}
_CACHE_MAX = 16


def _cached(key: tuple, build: Callable[[], Any]) -> Any:
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = build()
    return _CACHE[key]


def random_rotation(S: int, n: int, gen: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """Haar-random orthogonal matrices (S, n, n): the check's own construction of the OOD irrelevant patterns."""
    Q, R = torch.linalg.qr(torch.randn(S, n, n, generator=gen, dtype=dtype, device=gen.device))
    return Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)


def _train_world(impl, lcfg, dtype: str, n_seeds: int, train_seed: int, device: str) -> World:
    ctx = CheckContext(torch.device(device), train_seed)
    S = n_seeds
    idr, idi = impl.orthonormal_patterns(lcfg, S, ctx.generator(1))
    rotation = random_rotation(S, lcfg.M2, ctx.generator(4))
    tr = impl.train_tasks(lcfg.M1, lcfg.n_task_families, lcfg.task_cover, device=ctx.device)
    held = impl.heldout_tasks(lcfg.M1, tr)
    test = held if len(held) else impl.all_tasks(lcfg.M1, ctx.device)
    p0 = impl.init_params(lcfg, S, ctx.generator(2), dtype=DTYPES[dtype])
    snaps: list = []
    every = max(1, lcfg.steps // 40)
    res = impl.train_sgd(lcfg, p0, impl.Domain(idr, idi, tr), ctx.generator(3),
                         monitor=lambda t, p: snaps.append((t, p.detach())), record_every=every)
    return World(impl, lcfg, idr, idi, rotation, tr, test, res, snaps)


def world(cfg: dict, ctx: CheckContext, **overrides: Any) -> World:
    """The trained models of ctx.impl for this config on ctx's device (cached: the claims of one run share them)."""
    impl = ctx.impl
    lcfg = _train_config(cfg, impl).replace(**overrides)
    key = ("world", impl.key, repr(lcfg), cfg["dtype"], cfg["n_seeds"], cfg["train_seed"], str(ctx.device))
    return _cached(key, lambda: _train_world(impl, lcfg, cfg["dtype"], cfg["n_seeds"], cfg["train_seed"],
                                             str(ctx.device)))


def _eval_cfg(cfg: dict, ctx: CheckContext):
    return ctx.impl.LiConfig.from_mapping(cfg)


def id_prompts(w: World, cfg: dict, ctx: CheckContext, *, offset: int = 10, **kw) -> m.Prompts:
    """Test prompts from the held-out in-domain tasks T \\ T_tr (evaluation randomness from the run seed)."""
    n = kw.pop("n", cfg["n_test"])
    return ctx.impl.make_test_prompts(_eval_cfg(cfg, ctx), w.id_domain(), n, ctx.generator(offset),
                                      dtype=DTYPES[cfg["dtype"]], **kw)


def ood_prompts(w: World, cfg: dict, ctx: CheckContext, S1: float, *, offset: int = 11, **kw) -> m.Prompts:
    """OOD test prompts. The same ``offset`` draws the same tasks, kappas, IDI indices and labels for every S1
    (common random numbers), so differences across S1 are paired."""
    ecfg = _eval_cfg(cfg, ctx)
    n = kw.pop("n", cfg["n_test"])
    return ctx.impl.make_test_prompts(ecfg, w.ood_domain(ecfg, S1), n, ctx.generator(offset),
                                      dtype=DTYPES[cfg["dtype"]], **kw)


# ---------------------------------------------------------------------------------------------------- measurements
# The claims' own instruments: definitions of the spec, computed here, never through the implementation under test.
def zero_one(Fv: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """1{z F <= 0}: the classification error (a tie F = 0 counts as an error)."""
    return (z * Fv <= 0).to(Fv.dtype)


def hinge_loss(Fv: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """max(0, 1 - z F): the paper's generalisation measure (the reference definition)."""
    return torch.clamp(1 - z * Fv, min=0)


def hinge_subgradient(Fv: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """d ell / d F = -z 1{z F < 1} (the subgradient autograd takes; 0 at the kink zF = 1)."""
    return -z * (z * Fv < 1).to(Fv.dtype)


def n_same_pattern(alpha_test: float, l: int) -> int:
    """ceil(alpha' l / 2): the guaranteed number of contexts sharing the query's pattern in a test prompt."""
    return min(l, math.ceil(alpha_test * l / 2 - 1e-12))


def coverage_counts(tasks: torch.Tensor, M: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each pattern j: #{tasks with a = j} and #{tasks with b = j}."""
    return torch.bincount(tasks[:, 0], minlength=M), torch.bincount(tasks[:, 1], minlength=M)


def same_pattern_mass(attn: torch.Tensor, prompts) -> torch.Tensor:
    """(S, n): sum of attention over the contexts whose relevant pattern equals the query's."""
    same = prompts.pattern[..., :-1] == prompts.pattern[..., -1:]
    return (attn * same.to(attn.dtype)).sum(-1)


def neuron_parts(p, d_X: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows r_i of W_O W_V split into the feature part (S, m, d_X) and the label part (S, m, d_Y)."""
    r = p.W_O @ p.W_V
    return r[..., :d_X], r[..., d_X:]


def cosine(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Cosine along the last dim (0 where a vector is zero)."""
    return (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1)).clamp_min(torch.finfo(u.dtype).tiny)


def qk_pattern_fractions(p, prompts, rel: torch.Tensor) -> dict[str, torch.Tensor]:
    """Norms of W_Q p_query and W_K p_i (S, n) and |component along the row's own pattern direction|.

    m_a = d, so W_Q p lives in token space; the pattern direction of row i is (mu_{pattern_i} / ||mu||, 0)."""
    S, n, L1, d = prompts.P.shape
    s_idx = torch.arange(S, device=rel.device).view(S, 1, 1)
    mu = rel.to(prompts.P.dtype)[s_idx, prompts.pattern]  # (S, n, l+1, d_X)
    dirs = torch.cat([mu, torch.zeros(S, n, L1, d - mu.shape[-1], dtype=mu.dtype, device=mu.device)], -1)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    wq = prompts.P[..., -1, :] @ p.W_Q.transpose(-1, -2)  # (S, n, d)
    wk = (prompts.P[..., :-1, :].reshape(S, -1, d) @ p.W_K.transpose(-1, -2)).view(S, n, L1 - 1, d)
    q_par = (wq * dirs[..., -1, :]).sum(-1).abs()
    k_par = (wk * dirs[..., :-1, :]).sum(-1).abs()
    return {"q_norm": wq.norm(dim=-1), "q_pattern": q_par, "k_norm": wk.norm(dim=-1).mean(-1),
            "k_pattern": k_par.mean(-1)}


def two_means_1d(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exact 2-means of each row of ``x`` (S, m) (the best split of the sorted values): (low mask, low mean,
    high mean)."""
    xs, order = torch.sort(x, dim=-1)
    S, mm = xs.shape
    c, c2 = torch.cumsum(xs, -1), torch.cumsum(xs * xs, -1)
    k = torch.arange(1, mm, device=x.device, dtype=x.dtype)  # low group = first k
    sse_lo = c2[:, :-1] - c[:, :-1] ** 2 / k
    sse_hi = (c2[:, -1:] - c2[:, :-1]) - (c[:, -1:] - c[:, :-1]) ** 2 / (mm - k)
    best = torch.argmin(sse_lo + sse_hi, dim=-1)
    n_lo = best + 1
    low_sorted = torch.arange(mm, device=x.device).expand(S, mm) < n_lo.unsqueeze(-1)
    low = torch.zeros_like(low_sorted).scatter(1, order, low_sorted)
    c_lo = c.gather(1, best.unsqueeze(-1)).squeeze(-1)
    return low, c_lo / n_lo, (c[:, -1] - c_lo) / (mm - n_lo)


def steps_to_reach(loss: torch.Tensor, threshold: float, window: int) -> torch.Tensor:
    """(S,) first step at which the running mean of the training hinge over ``window`` steps is <= threshold;
    +inf where it never is."""
    S, T = loss.shape
    if T < window:
        return torch.full((S,), math.inf)
    hit = loss.unfold(-1, window, 1).mean(-1) <= threshold
    return torch.where(hit.any(-1), hit.float().argmax(-1).double() + window,
                       torch.tensor(math.inf, dtype=torch.float64)).cpu()


# ---------------------------------------------------------------------------------------------------- statistics
# Every statistical decision goes through theorems/tolerances.py (mean_verdict / binomial_verdict): violated when the
# confidence limit is beyond the bound at the stated rate, held when the other limit is within the bound plus the
# stated resolution, else inconclusive. The rows of a (K, n) sample are decided separately at rate/K (Bonferroni)
# and the worst row is the headline.
RES_RATE = 0.02  # resolution of decisions on error rates, fractions and attention masses
RES_LOSS = 0.02  # resolution of decisions on mean hinge / margin costs


def _combine_rows(outs: dict[str, Outcome], rate: float) -> Outcome:
    verdicts = [o.holds for o in outs.values()]
    holds = False if False in verdicts else (None if None in verdicts else True)
    # the headline: a violated row if any, else the row with the least room
    pool = {k: o for k, o in outs.items() if o.holds is False} or outs
    name = min(pool, key=lambda k: pool[k].margin)
    w = pool[name]
    details = dict(w.details)
    details["rule"] = f"{w.details['rule']}; each of {len(outs)} rows at rate {rate:.3g} (Bonferroni), worst: {name}"
    details["rows"] = {k: {"estimate": o.details.get("estimate"), "lower": o.details.get("lower"),
                           "upper": o.details.get("upper"), "holds": o.holds} for k, o in outs.items()}
    return Outcome(w.measured, w.bound, w.margin, holds, details=details)


def rows_verdict(x, bound: float, side: str, rate: float, *, binary: bool = False, labels: list[str] | None = None,
                 resolution: float = RES_RATE, what: str = "mean", unit: str = "prompts") -> Outcome:
    """Each row of ``x`` (K, n): its mean <= bound (side "at_most") or >= bound ("at_least"); binomial
    (Clopper-Pearson) for 0/1 samples, Student t otherwise."""
    x = torch.as_tensor(x).double().reshape(-1, torch.as_tensor(x).shape[-1]).cpu()
    K, n = x.shape
    r = rate / K
    outs = {}
    for i, row in enumerate(x):
        name = labels[i] if labels else f"row {i}"
        if binary:
            outs[name] = binomial_verdict(int(round(float(row.sum()))), n, bound, side, rate=r, power=POWER,
                                          resolution=resolution, what=what, unit=unit)
        else:
            outs[name] = mean_verdict(row.numpy(), bound, side, rate=r, power=POWER, resolution=resolution,
                                      what=what, unit=unit)
    return _combine_rows(outs, r)


def at_most(x, bound, rate, **kw) -> Outcome:
    return rows_verdict(x, bound, "at_most", rate, **kw)


def at_least(x, bound, rate, **kw) -> Outcome:
    return rows_verdict(x, bound, "at_least", rate, **kw)


def effect_verdict(x, effect: float, rate: float, **kw) -> Outcome:
    """A strict effect ("> 0") stated with its size: each row's mean >= ``effect`` (violated when the upper limit is
    below it, held when the lower limit is >= effect - resolution; the resolution must be < effect so that held
    means the effect is significantly positive)."""
    kw.setdefault("resolution", effect / 2)
    assert kw["resolution"] < effect, "held must exclude a zero effect"
    return rows_verdict(x, effect, "at_least", rate, **kw)


def slope_verdict(x, y, bound: float, side: str, rate: float, *, resolution: float, seeds: int = 1,
                  what: str = "slope") -> Outcome:
    """Least-squares slope of y on x (a fixed effect per seed when ``seeds`` > 1: points ordered seed-fastest, point
    i belongs to seed i % seeds), decided like mean_verdict: one-sided Student t limits at ``rate`` with n - seeds - 1
    degrees of freedom; violated when the limit on the wrong side is beyond ``bound``, held when the other limit is
    within bound +- resolution. (A slope verdict the shared statistics module does not have yet.)"""
    from scipy import stats as st

    x, y = np.asarray(x, float), np.asarray(y, float)
    seed = np.arange(len(x)) % seeds
    xc, yc = x.copy(), y.copy()
    for s in range(seeds):
        xc[seed == s] -= x[seed == s].mean()
        yc[seed == s] -= y[seed == s].mean()
    sxx = float((xc ** 2).sum())
    slope = float((xc * yc).sum() / sxx) if sxx > 0 else math.nan
    dof = len(x) - seeds - 1
    if dof < 1 or not math.isfinite(slope):
        lower, upper, se = -math.inf, math.inf, math.inf
    else:
        resid = yc - slope * xc
        se = math.sqrt(float((resid ** 2).sum()) / dof / sxx)
        half = float(st.t.isf(rate, dof)) * se
        lower, upper = slope - half, slope + half
    conf = f"{100 * (1 - rate):.6g}%"
    if side == "at_most":
        violated, held = lower > bound, upper <= bound + resolution
        margin = bound + resolution - upper if not violated else bound - lower
        rule = (f"{what}: violated if the lower {conf} t limit > {bound:.4g}; held if the upper limit <= {bound:.4g} "
                f"+ resolution {resolution:.3g}; else inconclusive ({len(x)} points, {dof} dof)")
    else:
        violated, held = upper < bound, lower >= bound - resolution
        margin = lower - (bound - resolution) if not violated else upper - bound
        rule = (f"{what}: violated if the upper {conf} t limit < {bound:.4g}; held if the lower limit >= {bound:.4g} "
                f"- resolution {resolution:.3g}; else inconclusive ({len(x)} points, {dof} dof)")
    verdict = False if violated else (True if held else None)
    return Outcome(slope, bound, float(margin) if math.isfinite(margin) else -math.inf if violated else 0.0, verdict,
                   details={"rule": rule, "estimate": slope, "lower": lower, "upper": upper, "stderr": se,
                            "false_fail_rate": rate, "power": POWER, "resolution": resolution})


def fraction_at_least(hits: torch.Tensor, frac: float, rate: float, resolution: float = RES_RATE,
                      what: str = "fraction") -> Outcome:
    """A population fraction >= ``frac`` from 0/1 hits (neurons pooled over seeds: i.i.d. at init)."""
    hits = hits.reshape(-1)
    return binomial_verdict(int(hits.sum()), hits.numel(), frac, "at_least", rate=rate, power=POWER,
                            resolution=resolution, what=what, unit="neurons")


def per_seed(values, bound: float, side: str, what: str) -> Outcome:
    """A deterministic property of each trained model (no sampling noise given the model): the worst seed."""
    v = [float(x) for x in torch.as_tensor(values).reshape(-1).tolist()]
    worst = max(v) if side == "at_most" else min(v)
    out = (Outcome.at_most if side == "at_most" else Outcome.at_least)(worst, bound)
    out.details = {"per_seed": v, "what": what,
                   "rule": f"{what}: every trained seed {'<=' if side == 'at_most' else '>='} {bound:.4g} (exact)"}
    return out


def combine(parts: dict[str, Outcome], cfg: dict | None = None, **kw: Any) -> Outcome:
    """Outcome.all_of, keeping every part's own details (worst row, confidence limits) for the report."""
    details = dict(kw.pop("details", {}))
    details["part details"] = {k: p.details for k, p in parts.items() if p.details}
    if cfg is not None:
        kw.setdefault("dtype", cfg.get("dtype", "float64"))
        kw.setdefault("instances", cfg.get("n_seeds", 1))
    return Outcome.all_of(parts, details=details, **kw)


# ---------------------------------------------------------------------------------------------------- L-C32
def check_c32(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    M1, n = cfg["M1"], cfg["n_task_families"]
    if n > M1 - 1:
        raise ConfigError("n_task_families", f"at most M1 - 1 = {M1 - 1} cyclic shifts exist, got {n}")
    tr = impl.train_tasks(M1, n, "cyclic")
    held = impl.heldout_tasks(M1, tr)
    held_ref = {(a, b) for a in range(M1) for b in range(M1) if a != b} - {tuple(t) for t in tr.tolist()}
    as_pos, as_neg = coverage_counts(tr, M1)
    pairs = {tuple(t) for t in tr.tolist()}
    parts = {
        "every pattern is +1 and -1 equally often": Outcome.at_most(float((as_pos - as_neg).abs().max()), 0.0),
        "uniform over patterns": Outcome.at_most(float(as_pos.max() - as_pos.min()), 0.0),
        "|T_tr| >= M1": Outcome.at_least(len(pairs), M1),
        "distinct valid tasks": Outcome.at_most(float(len(tr) - len(pairs) + int((tr[:, 0] == tr[:, 1]).sum())), 0.0),
        "T_tr and T \\ T_tr partition T": Outcome.at_most(abs(len(pairs) + len(held) - M1 * (M1 - 1)), 0.0),
        "held-out tasks = T \\ T_tr (explicit set)": Outcome.at_most(
            float(len(held_ref ^ {tuple(t) for t in held.tolist()}) + len(held) - len(held_ref)), 0.0),
    }
    return Outcome.all_of(parts, details={"|T_tr|": len(tr), "fraction |T_tr|/|T|": len(tr) / (M1 * (M1 - 1)),
                                          "slide's sufficient fraction (M1-1)^-1/2": (M1 - 1) ** -0.5})


register(Claim(
    id="L-C32", control=Control("L-M24", {}, 0), paper=PAPER, reference="Condition 3.2",
    title="Training tasks uniformly cover all IDR patterns and labels (the project's T_tr generator)",
    statement=r"\forall j\in[M_1]:\ \#\{(a,b)\in\mathcal T_{tr}: a=j\} = \#\{(a,b)\in\mathcal T_{tr}: b=j\} "
              r"= |\mathcal T_{tr}|/M_1,\quad |\mathcal T_{tr}| \ge M_1",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, check=check_c32,
    params=(_FIELD_PARAMS["M1"], _FIELD_PARAMS["n_task_families"]),
    defaults={"M1": 6, "n_task_families": 1}, cost=Cost.CHEAP,
    tolerance="exact integer counts (no tolerance)",
    notes="The condition is STATED (slides); the cyclic cover {(a, a+s mod M1)} generator is the spec's choice. "
          "The slide's fraction (M1-1)^-1/2 is inconsistent with |T_tr| = M1 (fraction 1/(M1-1)); both are reported.",
))


# ---------------------------------------------------------------------------------------------------- L-T33
def check_t33(cfg: dict, ctx: CheckContext) -> Outcome:
    w = world(cfg, ctx)
    pr = id_prompts(w, cfg, ctx)
    f = ctx.impl.forward(w.params, pr.P)
    err, h = zero_one(f.F, pr.z), hinge_loss(f.F, pr.z)
    parts = {
        "held-out 0-1 error": at_most(err, cfg["err_max"], FFR / 2, binary=True),
        "held-out hinge": at_most(h, cfg["hinge_max"], FFR / 2),
    }
    return combine(parts, cfg, details={
        "|T_tr|/|T|": len(w.train_tasks) / (cfg["M1"] * (cfg["M1"] - 1)), "held-out tasks": len(w.test_tasks),
        "final training hinge": w.result.loss[:, -50:].mean(-1).tolist() if w.result.loss.shape[1] else None})


register(Claim(
    id="L-T33", control=Control("L-M32", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Theorem 3.3",
    title="In-domain generalisation to unseen tasks after training on a small fraction of tasks",
    statement=r"\text{after } T \text{ SGD steps on } \mathcal T_{tr}\ (|\mathcal T_{tr}|=M_1):\ "
              r"\mathbb E_{f\in\mathcal T\setminus\mathcal T_{tr}}\big[\mathbb 1\{zF\le 0\}\big]\le \epsilon_{01},\ "
              r"\mathbb E\,[\max(0, 1-zF)]\le\epsilon_h",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_t33,
    params=WORLD_PARAMS + (_p("err_max", float, "0-1 error bound (spec ST1: 0.05)", min=0, max=1),
                           _p("hinge_max", float, "hinge bound (spec ST1: 0.1)", min=0, max=10)),
    defaults=WORLD_DEFAULTS | {"err_max": 0.05, "hinge_max": 0.1},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="per seed, the one-sided confidence limit (Clopper-Pearson for the 0-1 error, Student t for the "
              "hinge) at FFR/(2 S) must not exceed the bound; thresholds are the spec's ST1 choices",
    notes="STATED informally (slides: (ii), (iii)); the O(eps) bound has no constants, so the thresholds are the "
          "spec's. Condition (i) (m large enough) is NOT FOUND; (iv) is L-F-SCALE. Trained with the spec's "
          "calibrated configuration (delta = 0.3, steps 5.0 / 1.0), not its §4 defaults, which do not learn.",
))


# ---------------------------------------------------------------------------------------------------- L-T34
def check_t34(cfg: dict, ctx: CheckContext) -> Outcome:
    w = world(cfg, ctx)
    grid = sorted(set(S1_GRID) | {cfg["S1"], cfg["s1_bad"]})
    errs, hinges = [], []
    for s1 in grid:
        pr = ood_prompts(w, cfg, ctx, s1)
        Fv = ctx.impl.forward(w.params, pr.P).F
        errs.append(zero_one(Fv, pr.z))
        hinges.append(hinge_loss(Fv, pr.z))
    E, H = torch.stack(errs), torch.stack(hinges)  # (G, S, n)
    i_s1, i_bad = grid.index(cfg["S1"]), grid.index(cfg["s1_bad"])
    pair_labels = [f"S1 {a:g} -> {b:g}, seed {s}" for a, b in zip(grid, grid[1:]) for s in range(E.shape[1])]
    r = FFR / 4
    parts = {
        f"0-1 error at S1 = {cfg['S1']:g}": at_most(E[i_s1], cfg["err_max"], r, binary=True),
        f"0-1 error at S1 = {cfg['s1_bad']:g} (clearly worse)": at_least(E[i_bad], cfg["err_bad_min"], r, binary=True),
        "hinge non-increasing in S1": at_most(H[1:] - H[:-1], 0.0, r, labels=pair_labels),
        "0-1 error non-increasing in S1": at_most(E[1:] - E[:-1], 0.0, r, labels=pair_labels),
    }
    e_mean, h_mean = E.double().mean(-1), H.double().mean(-1)  # (G, S)
    strict = int(((h_mean[1:] - h_mean[:-1]) < 0).all(0).sum())
    return combine(parts, cfg, details={
        "S1 grid": grid, "0-1 error (grid x seed)": e_mean.tolist(), "hinge (grid x seed)": h_mean.tolist(),
        "seeds whose hinge strictly decreases over the whole grid": strict},
        curves={"ood_vs_S1": curve("S1", "OOD error / hinge (mean over seeds)", {
            "0-1 error": (grid, e_mean.mean(-1).tolist()), "hinge": (grid, h_mean.mean(-1).tolist())})})


register(Claim(
    id="L-T34", control=Control("L-M27", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Theorem 3.4",
    title="Out-of-domain generalisation when ODR patterns have coefficient sum S1 >= 1 (weaker form: monotone in S1)",
    statement=r"\mu'_j=\sum_i k_{j,i}\mu_i,\ S_1=\min_j\textstyle\sum_i k_{j,i}:\ \text{OOD error and hinge are "
              r"non-increasing in } S_1;\ \Pr[zF\le0]\le\epsilon \text{ at } S_1\ (\ge 1),\ "
              r"\text{and clearly larger at } S_1=0.5",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_t34,
    params=WORLD_PARAMS + (
        _p("err_max", float, "OOD 0-1 error bound at S1 (spec ST5: 0.05)", min=0, max=1),
        _p("s1_bad", float, "an S1 < 1 where the error is clearly worse", min=0, max=10),
        _p("err_bad_min", float, "error at s1_bad is at least this (spec calibration: 0.08)", min=0, max=1)),
    defaults=WORLD_DEFAULTS | {"err_max": 0.05, "s1_bad": 0.5, "err_bad_min": 0.08},
    assumptions=THEOREM_33 + (S1_AT_LEAST_1,
                              Assumption("s1_bad < S1", lambda c: c["s1_bad"] < c["S1"], "the bad point is below S1")),
    cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="per seed and grid point, one-sided Clopper-Pearson (errors) or paired Student t (differences between "
              "consecutive S1, common random numbers) limits at FFR/4 split over the rows; monotonicity fails only "
              "on a significant increase",
    notes=WEAKER + "there is no sharp threshold at S1 = 1: error and hinge fall monotonically in S1 (hinge strictly "
          "in every calibrated seed), the error is ~0 from S1 = 0.9 on and clearly worse at 0.5. The hinge at "
          "S1 = 1.1 is ~0.1, not ~0. The definition of S1 (min or mean over patterns) is NOT FOUND "
          "(s1_definition); ODR = (S1/2)(mu_{2j} + mu_{2j+1}), ODI = a rotation of the IDI basis (spec ST5).",
    figure="ood_vs_S1",
))


# ---------------------------------------------------------------------------------------------------- pruning sweep
def _order(impl, p: m.Params, method: str, gen: torch.Generator, norm: str) -> torch.Tensor:
    """(S, m) neurons in pruning order (the first k are pruned at count k)."""
    return impl.pruning_indices(p, 1.0, method, gen, norm)


def _keep_first(order: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """(S, m) keep-mask that prunes the first counts[s] neurons of order[s]."""
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    return (rank >= counts.to(order.device).unsqueeze(-1)).float()


@dataclass
class Sweep:
    impl: Any
    prompts: m.Prompts
    fwd: m.Forward
    norms: torch.Tensor  # (S, m)
    low: torch.Tensor  # (S, m) bool: small group (2-means)
    lo_mean: torch.Tensor
    hi_mean: torch.Tensor

    def outputs(self, p: m.Params, keep: torch.Tensor) -> torch.Tensor:
        return self.impl.output(self.fwd.pre, p.a, keep)


def _sweep(w: World, cfg: dict, ctx: CheckContext, alpha_test: float | None = None) -> Sweep:
    impl = ctx.impl
    kw = {} if alpha_test is None else {"alpha": alpha_test}
    if cfg["prune_domain"] == "ood":
        pr = ood_prompts(w, cfg, ctx, cfg["S1"], **kw)
    else:
        pr = id_prompts(w, cfg, ctx, **kw)
    fwd = impl.forward(w.params, pr.P)
    norms = impl.neuron_norms(w.params, cfg["prune_norm"]).double()
    low, lo, hi = two_means_1d(norms)
    return Sweep(ctx.impl, pr, fwd, norms, low, lo, hi)


def _hinge_after(sw: Sweep, p: m.Params, keep: torch.Tensor) -> torch.Tensor:
    return hinge_loss(sw.outputs(p, keep), sw.prompts.z)


def _rate_curves(sw: Sweep, p: m.Params, gen: torch.Generator, n_draws: int, norm: str):
    impl = sw.impl
    """Mean hinge and 0-1 error per seed at every rate, for magnitude / random (mean of draws) / largest pruning."""
    S, mm = p.a.shape
    z = sw.prompts.z
    out = {"hinge": {}, "error": {}, "random_draws": {}}
    for name, method in (("magnitude", "magnitude"), ("random", "random"), ("largest", "largest")):
        hs, es, draws = [], [], []
        for R in (0.0,) + PRUNE_RATES:
            reps = n_draws if method == "random" else 1
            hh, ee = [], []
            for _ in range(reps):
                keep = impl.keep_mask(S, mm, impl.pruning_indices(p, R, method, gen, norm), device=p.a.device)
                Fv = sw.outputs(p, keep)
                hh.append(hinge_loss(Fv, z).double().mean(-1))
                ee.append(zero_one(Fv, z).double().mean(-1))
            hs.append(torch.stack(hh).mean(0))
            es.append(torch.stack(ee).mean(0))
            draws.append(torch.stack(hh))  # (reps, S)
        out["hinge"][name], out["error"][name], out["random_draws"][name] = hs, es, draws
    return out


def _pruning_curves(rc: dict, sw: Sweep) -> dict:
    xs = [0.0, *PRUNE_RATES]
    curves = {
        "pruning_hinge": curve("pruning rate R", "hinge (mean over seeds)", {
            k: (xs, [float(v.mean()) for v in rc["hinge"][k]]) for k in rc["hinge"]}),
        "pruning_error": curve("pruning rate R", "0-1 error (mean over seeds)", {
            k: (xs, [float(v.mean()) for v in rc["error"][k]]) for k in rc["error"]}),
        "neuron_norms": curve("neuron rank / m", "|W_O row| (sorted)", {
            f"seed {s}": ([i / sw.norms.shape[1] for i in range(sw.norms.shape[1])],
                          torch.sort(sw.norms[s]).values.tolist()) for s in range(sw.norms.shape[0])}),
    }
    return curves


# ---------------------------------------------------------------------------------------------------- L-T37
PRUNE_PARAMS = (
    _p("prune_domain", str, "evaluate pruning OOD (the paper's experiments) or in-domain", choices=("ood", "id")),
    _p("prune_slack", float, "allowed hinge / mean-margin cost of pruning the small group (calibration 0.02)",
       min=0, max=10),
    _p("min_small", int, "the small group holds at least this many neurons (calibration: 3)", min=1, max=1024),
    _p("max_small_frac", float, "... and at most this fraction (calibration: 0.4)", gt=0, max=1),
    _p("ratio_max", float, "low/high 2-means mean-norm ratio (spec ST9: 0.5)", gt=0, max=1),
    _p("n_random_draws", int, "random pruning subsets per rate", min=2, max=256),
    _p("bound_subscript", str, "M in the paper's O(eps + M^-1/2) pruning bound (unresolved)", choices=("M1", "M2")),
    _p("slope_min", float, "least slope in R of the cost of pruning the largest neurons (calibration ~1)", gt=0,
       max=10),
    _p("effect_min", float, "least hinge effect a strict '> 0' part must show (resolution: half of it)", gt=0, max=1),
)
PRUNE_DEFAULTS = {"prune_domain": "ood", "prune_slack": 0.02, "min_small": 3, "max_small_frac": 0.4,
                  "ratio_max": 0.5, "n_random_draws": 8, "bound_subscript": "M1",
                  "slope_min": 0.2, "effect_min": 0.01}


def _random_vs_magnitude(rc: dict, rate: float) -> Outcome:
    """Random pruning is no better than magnitude pruning: per rate, the (draw, seed) differences of mean hinge
    (random - magnitude); fails only if the upper t limit is below 0 at some rate."""
    rows = []
    for i, _ in enumerate(PRUNE_RATES, start=1):
        diff = rc["random_draws"]["random"][i] - rc["hinge"]["magnitude"][i].unsqueeze(0)  # (draws, S)
        rows.append(diff.reshape(-1))
    return at_least(torch.stack(rows), 0.0, rate, labels=[f"R = {R}" for R in PRUNE_RATES])


def check_t37(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    p = w.params
    S, mm = p.a.shape
    sw = _sweep(w, cfg, ctx)
    z = sw.prompts.z
    zF0, h0 = z * sw.fwd.F, hinge_loss(sw.fwd.F, z)
    k_small = sw.low.sum(-1)
    gen = ctx.generator(20)
    keep_small = _keep_first(_order(ctx.impl, p, "magnitude", gen, cfg["prune_norm"]), k_small)
    F_small = sw.outputs(p, keep_small)
    # (c) the largest R: per-seed mean costs at every rate, pooled into one regression on R
    xs, dh, dmg = [], [], []
    for R in PRUNE_RATES:
        keep = impl.keep_mask(S, mm, impl.pruning_indices(p, R, "largest", norm=cfg["prune_norm"]), device=p.a.device)
        Fv = sw.outputs(p, keep)
        xs += [R] * S
        dh += (hinge_loss(Fv, z) - h0).double().mean(-1).tolist()
        dmg += (zF0 - z * Fv).double().mean(-1).tolist()
    rc = _rate_curves(sw, p, gen, cfg["n_random_draws"], cfg["prune_norm"])
    r = FFR / 5
    parts = {
        "small group >= min_small neurons": per_seed(k_small, cfg["min_small"], "at_least", "2-means low cluster size"),
        "small group <= max_small_frac": per_seed(k_small / mm, cfg["max_small_frac"], "at_most", "low fraction"),
        "bimodal: low/high mean norm <= ratio_max": per_seed(sw.lo_mean / sw.hi_mean, cfg["ratio_max"], "at_most",
                                                             "2-means mean ratio"),
        "pruning the small group: hinge cost <= slack": at_most(hinge_loss(F_small, z) - h0, cfg["prune_slack"], r),
        "pruning the small group: mean-margin cost <= slack": at_most(zF0 - z * F_small, cfg["prune_slack"], r),
        "pruning the largest R: hinge cost slope >= slope_min": slope_verdict(
            xs, dh, cfg["slope_min"], "at_least", r, resolution=cfg["slope_min"] / 2, seeds=S,
            what="slope of the hinge cost in R"),
        "pruning the largest R: mean-margin cost slope >= slope_min": slope_verdict(
            xs, dmg, cfg["slope_min"], "at_least", r, resolution=cfg["slope_min"] / 2, seeds=S,
            what="slope of the mean-margin cost in R"),
        "random pruning no better than magnitude pruning": _random_vs_magnitude(rc, r),
    }
    M = cfg[cfg["bound_subscript"]]
    err_table = {k: [float(v.mean()) for v in rc["error"][k]] for k in rc["error"]}
    return combine(parts, cfg, curves=_pruning_curves(rc, sw), details={
        "small group size per seed": k_small.tolist(),
        "0-1 error vs R (reported, insensitive in this model)": err_table,
        f"paper's vanishing term {cfg['bound_subscript']}^-1/2": M ** -0.5,
        "0-1 error after pruning the small group": zero_one(F_small, z).double().mean(-1).tolist()})


register(Claim(
    id="L-T37", control=Control("L-M11", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Theorem 3.7",
    title="Magnitude-based pruning: small neurons are free, the largest cost Omega(R) (in hinge and mean margin)",
    statement=r"(a)\ \|W_{O,(i)}\| \text{ bimodal};\ (b)\ \ell(\Psi_{\setminus\text{small}})-\ell(\Psi)\le s;\ "
              r"(c)\ \ell(\Psi_{\setminus\text{largest }R})-\ell(\Psi)\ge cR,\ c>0;\ "
              r"(d)\ \ell_{\text{random}}(R)\ge\ell_{\text{magnitude}}(R)",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_t37,
    params=WORLD_PARAMS + PRUNE_PARAMS, defaults=WORLD_DEFAULTS | PRUNE_DEFAULTS,
    assumptions=THEOREM_33 + (S1_AT_LEAST_1,), cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="(a) every seed, exact 2-means; (b) per seed one-sided paired t limit at FFR/5 of the cost must not "
              "exceed the slack 0.02 (calibration); (c) t interval of the pooled slope at FFR/5 excludes 0; "
              "(d) per rate, the upper t limit at FFR/5 of random - magnitude over draws x seeds is >= 0",
    notes=WEAKER + "Theorem 3.7 is about the generalisation error; it reproduces in the paper's own measure, the "
          "hinge loss, and in the mean margin z F, not in the 0-1 error, which stays ~0 up to R = 0.4 for every "
          "mode (the large neurons are redundant copies of (mu_bar, +-q); pruning shrinks F without flipping its "
          "sign): the 0-1 error is reported beside. The small group is 10-20% of the neurons (slides: ~20%), so "
          "it is required to hold >= 3 neurons, not >= 10%. The subscript of O(eps + M^-1/2) (M1 vs M2) is "
          "unresolved; the paper's term is reported, the gated slack is the calibrated 0.02 (tighter).",
    figure="pruning_hinge",
))


# ---------------------------------------------------------------------------------------------------- history
def _history(w: World, cfg: dict, ctx: CheckContext, n: int = 256) -> dict[str, list]:
    """Mechanism readouts at every training snapshot, on fixed monitor prompts (ID held-out and OOD at S1)."""
    impl = ctx.impl
    ecfg = _eval_cfg(cfg, ctx)
    dt = DTYPES[cfg["dtype"]]
    idp = impl.make_test_prompts(ecfg, w.id_domain(), n, ctx.generator(30), dtype=dt)
    odp = impl.make_test_prompts(ecfg, w.ood_domain(ecfg, cfg["S1"]), n, ctx.generator(31), dtype=dt)
    mubar = w.idr.mean(1).to(dt)  # (S, d_X)
    q = torch.zeros(cfg["d_Y"], dtype=dt, device=mubar.device)
    q[0] = 1.0
    low = two_means_1d(impl.neuron_norms(w.params, cfg["prune_norm"]).double())[0]
    top = _top_half(torch.cat(neuron_parts(w.params, cfg["d_X"]), -1).norm(dim=-1))
    sign = torch.sign(w.params.a)
    h: dict[str, list] = {k: [] for k in ("step", "mass_id", "mass_ood", "q_norm", "q_pattern", "k_norm", "k_pattern",
                                          "label_cos_pos", "label_cos_neg", "feature_cos_top", "feature_cos_small",
                                          "label_norm_top", "feature_norm_top")}
    for t, p in w.snapshots:
        h["step"].append(t)
        h["mass_id"].append(float(same_pattern_mass(impl.attention(p, idp.P), idp).mean()))
        h["mass_ood"].append(float(same_pattern_mass(impl.attention(p, odp.P), odp).mean()))
        fr = qk_pattern_fractions(p, idp, w.idr)
        for k in ("q_norm", "q_pattern", "k_norm", "k_pattern"):
            h[k].append(float(fr[k].mean()))
        rX, rY = neuron_parts(p, cfg["d_X"])
        cq = cosine(rY, q.expand_as(rY))
        cx = cosine(rX, mubar.unsqueeze(1).expand_as(rX))
        h["label_cos_pos"].append(float(cq[top & (sign > 0)].median()))
        h["label_cos_neg"].append(float(cq[top & (sign < 0)].median()))
        h["feature_cos_top"].append(float(cx[top].median()))
        h["feature_cos_small"].append(float(cx[low].median()) if low.any() else float("nan"))
        h["label_norm_top"].append(float(rY.norm(dim=-1)[top].median()))
        h["feature_norm_top"].append(float(rX.norm(dim=-1)[top].median()))
    return h


def _top_half(norms: torch.Tensor) -> torch.Tensor:
    """(S, m) bool: the ceil(m/2) largest per seed (ties by index)."""
    order = torch.sort(norms, dim=-1, descending=True, stable=True).indices
    k = (norms.shape[-1] + 1) // 2
    return _keep_first(order, torch.full((norms.shape[0],), k, device=norms.device)) == 0


# ---------------------------------------------------------------------------------------------------- L-P41
def _share(cfg: dict) -> float:
    """Expected share of same-pattern contexts in a test prompt (what uniform attention puts on them)."""
    if cfg["test_sampling"] == "guaranteed":
        return n_same_pattern(cfg["alpha_test"], cfg["l_test"]) / cfg["l_test"]
    return cfg["alpha_test"] / 2


def check_p41(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    idp = id_prompts(w, cfg, ctx)
    mass0 = same_pattern_mass(impl.attention(w.init, idp.P), idp)
    mass1 = same_pattern_mass(impl.attention(w.params, idp.P), idp)
    odp = ood_prompts(w, cfg, ctx, cfg["S1"])
    bad = ood_prompts(w, cfg, ctx, cfg["s1_bad"])
    omass0 = same_pattern_mass(impl.attention(w.init, odp.P), odp)
    omass1 = same_pattern_mass(impl.attention(w.params, odp.P), odp)
    bmass1 = same_pattern_mass(impl.attention(w.params, bad.P), bad)
    share, tol = _share(cfg), cfg["init_tol"]
    r = FFR / 6
    parts = {
        "ID: mass on same-pattern contexts after training": at_least(mass1, cfg["mass_min"], r),
        "ID: rise over training": at_least(mass1 - mass0, cfg["rise_min"], r),
        "ID: at init, mass >= share - tol": at_least(mass0, share - tol, r),
        "ID: at init, mass <= share + tol": at_most(mass0, share + tol, r),
        f"OOD S1 = {cfg['S1']:g}: rise over training": at_least(omass1 - omass0, cfg["ood_rise_min"], r),
        f"OOD: mass(S1 = {cfg['S1']:g}) - mass(S1 = {cfg['s1_bad']:g})": at_least(omass1 - bmass1, cfg["ood_gap_min"], r),
    }
    hist = _history(w, cfg, ctx)
    return combine(parts, cfg, details={
        "same-pattern share": share, "ID mass per seed (init, final)": [mass0.mean(-1).tolist(), mass1.mean(-1).tolist()],
        "OOD mass per seed (init, final): how far it rises": [omass0.mean(-1).tolist(), omass1.mean(-1).tolist()]},
        curves={"attention_mass": curve("SGD step", "attention mass on same-pattern contexts", {
            "in-domain": (hist["step"], hist["mass_id"]), f"OOD S1 = {cfg['S1']:g}": (hist["step"], hist["mass_ood"])})})


P41_PARAMS = (
    _p("mass_min", float, "final ID same-pattern mass (spec ST6: 0.9)", min=0, max=1),
    _p("rise_min", float, "ID rise over training (spec ST6: 0.2)", min=-1, max=1),
    _p("init_tol", float, "at init, |mass - same-pattern share| (spec ST6: 0.1)", min=0, max=1),
    _p("ood_rise_min", float, "OOD rise over training at S1 (calibration: 0.15)", min=-1, max=1),
    _p("s1_bad", float, "an S1 < 1 for the OOD comparison", min=0, max=10),
    _p("ood_gap_min", float, "mass(S1) - mass(s1_bad) (calibration: 0.1)", min=-1, max=1),
)
P41_DEFAULTS = {"mass_min": 0.9, "rise_min": 0.2, "init_tol": 0.1, "ood_rise_min": 0.15, "s1_bad": 0.5,
                "ood_gap_min": 0.1}

register(Claim(
    id="L-P41", control=Control("L-M31", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Proposition 4.1",
    title="Attention concentrates on same-pattern contexts (near 1 in-domain; out of domain it rises, not to 1)",
    statement=r"\textstyle\sum_{i:\,\text{pattern}(x_i)=\text{pattern}(x_{query})}\mathrm{attn}(\Psi^{(T)};P,i)"
              r"\ \ge\ 0.9\ \text{(ID)},\ \text{rising from the uniform share; OOD: rises with training and with } S_1",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_p41,
    params=WORLD_PARAMS + P41_PARAMS, defaults=WORLD_DEFAULTS | P41_DEFAULTS,
    assumptions=THEOREM_33 + (S1_AT_LEAST_1,), cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="per seed, one-sided Student t limits at FFR/6 (split over parts and seeds) of mean masses and of "
              "paired differences (same prompts at init and after training; common random numbers across S1); "
              "thresholds from spec ST6 (ID) and the calibration (OOD)",
    notes=WEAKER + "the mass reaches ~0.93-0.97 in-domain only. Out of domain it rises (0.41 -> ~0.65 at "
          "S1 = 1.1) but not to 1, because ||mu'||^2 = S1^2/2 scales the learned score; the report shows how far. "
          "The exact bound (1 - eps or 1 - eta^C) is NOT FOUND.",
    figure="attention_mass",
))


# ---------------------------------------------------------------------------------------------------- L-P42
def _neuron_readouts(w: World, cfg: dict, p: m.Params | None = None) -> dict[str, torch.Tensor]:
    p = w.params if p is None else p
    rX, rY = neuron_parts(p, cfg["d_X"])
    dt = rX.dtype
    q = torch.zeros(cfg["d_Y"], dtype=dt, device=rX.device)
    q[0] = 1.0
    mubar = w.idr.mean(1).to(dt).unsqueeze(1)
    sign = torch.sign(p.a)
    return {
        "top": _top_half(torch.cat([rX, rY], -1).norm(dim=-1)),
        "label_cos": cosine(rY, sign.unsqueeze(-1) * q),  # cos(r^Y, sign(a_i) q)
        "feature_cos": cosine(rX, mubar.expand_as(rX)),
        "label_norm": rY.norm(dim=-1), "sign": sign,
    }


def check_p42(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    nr = _neuron_readouts(w, cfg)
    top = nr["top"]
    low = two_means_1d(impl.neuron_norms(w.params, cfg["prune_norm"]).double())[0]
    disp = (w.params.W_O - w.init.W_O).norm(dim=-1).double()  # how far each W_O row moved from init
    ratios = []
    for s in range(low.shape[0]):
        hi_disp = disp[s][~low[s]].median() if (~low[s]).any() else torch.tensor(0.0)
        lo_disp = disp[s][low[s]].median() if low[s].any() else torch.tensor(math.inf)
        ratios.append(float(lo_disp / hi_disp) if hi_disp > 0 else math.inf)
    r = FFR / 2
    parts = {
        "top half: cos(label part, sign(a_i) q) >= align_cos for >= align_frac":
            fraction_at_least(nr["label_cos"][top] >= cfg["align_cos"], cfg["align_frac"], r),
        "top half: median cos(feature part, mu_bar) >= align_cos":
            fraction_at_least(nr["feature_cos"][top] >= cfg["align_cos"], 0.5, r),
        "small group >= min_small neurons": per_seed(low.sum(-1), cfg["min_small"], "at_least", "low cluster size"),
        "small group stays near init (displacement ratio)": per_seed(ratios, cfg["ratio_max"], "at_most",
                                                                     "median |dW_O row| small / large"),
    }
    return combine(parts, cfg, details={
        "median label cos (top half) per seed": [float(nr["label_cos"][s][top[s]].median()) for s in range(top.shape[0])],
        "median feature cos (top half) per seed": [float(nr["feature_cos"][s][top[s]].median()) for s in range(top.shape[0])],
        "median feature cos of the small group (slides: ~pi/2; calibration: ~-0.7)":
            [float(nr["feature_cos"][s][low[s]].median()) if low[s].any() else None for s in range(top.shape[0])]})


register(Claim(
    id="L-P42", control=Control("L-M32", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Proposition 4.2 (slide 'Proposition 2'; paper number not confirmed)",
    title="MLP neurons align with (mu_bar, +q) or (mu_bar, -q) by the sign of a_i; a small-norm group stays near init",
    statement=r"r_i=(W_O^{(T)}W_V^{(T)})_{(i)}=(r_i^X,r_i^Y):\ \cos(r_i^Y,\mathrm{sign}(a_i)q)\ge0.8,\ "
              r"\cos(r_i^X,\bar\mu)\ge0.8\ \text{(large neurons)};\ \text{small-norm neurons stay near } W_O^{(0)}",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_p42,
    params=WORLD_PARAMS + (
        _p("align_cos", float, "cosine threshold (spec ST8: 0.8)", min=-1, max=1),
        _p("align_frac", float, "fraction of the top half aligned (spec ST8: 0.9)", min=0, max=1),
        _p("min_small", int, "the small group holds at least this many neurons (calibration: 3)", min=1, max=1024),
        _p("ratio_max", float, "small / large median displacement from init (spec ST8's factor 0.5)", gt=0, max=1)),
    defaults=WORLD_DEFAULTS | {"align_cos": 0.8, "align_frac": 0.9, "min_small": 3, "ratio_max": 0.5},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="neurons pooled over seeds are i.i.d. at init: one-sided Clopper-Pearson upper limits at FFR/2 of the "
              "aligned fractions must reach the thresholds (spec ST8); the small-group parts hold in every seed",
    notes="STATED qualitatively (slides). Reconstructed measurement: 'top half by |r_i|', cosines with "
          "mu_bar = mean of the IDR patterns, small group = 2-means low cluster of |W_O rows|. The slides show the "
          "small cluster's feature angle near pi/2; in the calibrated model it is ~-0.7 (those neurons never "
          "activate), so that angle is reported, not asserted.",
))


# ---------------------------------------------------------------------------------------------------- L-C43
def check_c43(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    pr = id_prompts(w, cfg, ctx)
    f = impl.forward(w.params, pr.P)
    label_part = f.h[..., cfg["d_X"]]  # <h^Y, e_1>: the attention output's label block along q
    r = FFR / 2
    parts = {
        "z F >= 1 (zero hinge) on >= margin_frac of prompts":
            at_least((pr.z * f.F >= 1).double(), cfg["margin_frac"], r, binary=True),
        "attention output's label part has the sign of z":
            at_least((pr.z * label_part > 0).double(), cfg["margin_frac"], r, binary=True),
    }
    zf = (pr.z * f.F).double()
    return combine(parts, cfg, details={
        "1% quantile of z F per seed": torch.quantile(zf, 0.01, dim=-1).tolist()})


register(Claim(
    id="L-C43", control=Control("L-M32", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Corollary 4.3 (statement NOT FOUND; mechanism summary STATED)",
    title="Combined ICL mechanism: attention picks same-pattern contexts, the MLP reads their label: z F >= 1",
    statement=r"\Pr_{P}\big[z\,F(\Psi^{(T)};P)\ge 1\big]\ge 0.9,\quad "
              r"\Pr_P\big[z\,\langle (W_V\textstyle\sum_i \mathrm{attn}_i p_i)^Y, q\rangle>0\big]\ge 0.9",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.STATISTICAL, check=check_c43,
    params=WORLD_PARAMS + (_p("margin_frac", float, "fraction of prompts (spec ST12: 0.9)", min=0, max=1),),
    defaults=WORLD_DEFAULTS | {"margin_frac": 0.9},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="per seed, one-sided Clopper-Pearson upper limits at FFR/(2 S) must reach margin_frac (spec ST12)",
    notes="Reconstructed: the corollary's statement is NOT FOUND; the first author's homepage states the mechanism "
          "(attention selects same-pattern contexts, the ReLU MLP promotes their label embedding).",
))


# ---------------------------------------------------------------------------------------------------- L-F-ATTN
def check_f_attn(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    idp = id_prompts(w, cfg, ctx)
    fr0 = qk_pattern_fractions(w.init, idp, w.idr)
    fr1 = qk_pattern_fractions(w.params, idp, w.idr)
    mass0 = same_pattern_mass(impl.attention(w.init, idp.P), idp)
    mass1 = same_pattern_mass(impl.attention(w.params, idp.P), idp)
    r = FFR / 7
    g = cfg["growth_min"]
    parts = {"ID mass rise over training": at_least(mass1 - mass0, cfg["rise_min"], r)}
    for side in ("q", "k"):
        n0, n1, p0, p1 = fr0[f"{side}_norm"], fr1[f"{side}_norm"], fr0[f"{side}_pattern"], fr1[f"{side}_pattern"]
        name = "W_Q p_query" if side == "q" else "W_K p_i"
        parts[f"|{name}| grows by >= growth_min (log ratio)"] = at_least(torch.log(n1 / n0), math.log(g), r)
        parts[f"most of the growth of {name} is along the pattern"] = at_least((p1 - p0) - 0.5 * (n1 - n0), 0.0, r)
        parts[f"{name}: pattern component / norm after training"] = at_least(p1 / n1, cfg["fraction_min"], r)
    hist = _history(w, cfg, ctx)
    st = hist["step"]
    return combine(parts, cfg, details={
        "|W_Q p_q| (init, final)": [float(fr0["q_norm"].mean()), float(fr1["q_norm"].mean())],
        "|W_K p_i| (init, final)": [float(fr0["k_norm"].mean()), float(fr1["k_norm"].mean())],
        "pattern fraction q (init, final)": [float((fr0["q_pattern"] / fr0["q_norm"]).mean()),
                                             float((fr1["q_pattern"] / fr1["q_norm"]).mean())]},
        curves={
            "attention_over_training": curve("SGD step", "same-pattern attention mass", {
                "in-domain": (st, hist["mass_id"]), f"OOD S1 = {cfg['S1']:g}": (st, hist["mass_ood"])}),
            "qk_norms_over_training": curve("SGD step", "norm (mean over prompts)", {
                "|W_Q p_query|": (st, hist["q_norm"]), "its pattern component": (st, hist["q_pattern"]),
                "|W_K p_i|": (st, hist["k_norm"]), "its pattern component ": (st, hist["k_pattern"])})})


register(Claim(
    id="L-F-ATTN", control=Control("L-M31", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Slides fig. 8-9 (attention mechanism)",
    title="W_Q p and W_K p grow mostly along the relevant pattern; same-pattern attention mass rises over training",
    statement=r"\|W_Qp_{query}\|,\|W_Kp_i\|\ \text{grow}\ \ge 2\times;\ \Delta\langle W p,\hat\mu\rangle\ge\tfrac12"
              r"\Delta\|Wp\|;\ \frac{|\langle W p,\hat\mu\rangle|}{\|Wp\|}\ge0.7;\ \text{mass rises}\ \ge 0.2",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f_attn,
    params=WORLD_PARAMS + (
        _p("rise_min", float, "ID mass rise (spec ST6: 0.2)", min=-1, max=1),
        _p("growth_min", float, "norm growth factor (sqrt of the slide's 0.45 -> 1.75)", gt=0, max=100),
        _p("fraction_min", float, "final pattern fraction (spec ST7: 0.7)", min=0, max=1)),
    defaults=WORLD_DEFAULTS | {"rise_min": 0.2, "growth_min": 2.0, "fraction_min": 0.7},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="per seed one-sided Student t limits at FFR/7 over prompts; 'most of the growth' is the linearised "
              "ratio test mean(dpattern - dnorm/2) >= 0; thresholds from spec ST6/ST7 and the slide's figure",
    notes="Reconstructed measurement: m_a = d, so W_Q p lives in token space and its pattern component is the "
          "projection on (mu_pattern/|mu|, 0). The spec's ST7 'ratio increases' holds for keys only: the query's "
          "ratio starts at ~0.97 (delta I init, zero label block) and ends ~0.85; asserted instead: most of the "
          "growth is along the pattern (the slide's reading) and the final ratio >= 0.7. The slide plots OOD "
          "prompts; the OOD mass curve is shown beside the in-domain one.",
    figure="attention_over_training",
))


# ---------------------------------------------------------------------------------------------------- L-F-MLP
def check_f_mlp(cfg: dict, ctx: CheckContext) -> Outcome:
    w = world(cfg, ctx)
    nr, nr0 = _neuron_readouts(w, cfg), _neuron_readouts(w, cfg, w.init)
    top, sign = nr["top"], nr["sign"]
    c = cfg["align_cos"]
    r = FFR / 4
    parts = {
        "a_i > 0 (top half): cos(label part, +q) >= align_cos for >= 90%":
            fraction_at_least(nr["label_cos"][top & (sign > 0)] >= c, 0.9, r),
        "a_i < 0 (top half): cos(label part, -q) >= align_cos for >= 90%":
            fraction_at_least(nr["label_cos"][top & (sign < 0)] >= c, 0.9, r),
        "top half: median cos(feature part, mu_bar) >= align_cos":
            fraction_at_least(nr["feature_cos"][top] >= c, 0.5, r),
        "top half: label-part norm grew for >= 90%": fraction_at_least(nr["label_norm"][top] > nr0["label_norm"][top],
                                                                       0.9, r),
    }
    hist = _history(w, cfg, ctx)
    st = hist["step"]

    def angle(xs):
        return [math.acos(max(-1.0, min(1.0, x))) / math.pi for x in xs]

    return combine(parts, cfg, curves={
        "mlp_angles_over_training": curve("SGD step", "angle / pi (median over neurons)", {
            "label part vs q, a_i > 0": (st, angle(hist["label_cos_pos"])),
            "label part vs q, a_i < 0": (st, angle(hist["label_cos_neg"])),
            "feature part vs mu_bar, large neurons": (st, angle(hist["feature_cos_top"])),
            "feature part vs mu_bar, small group": (st, angle(hist["feature_cos_small"]))}),
        "mlp_norms_over_training": curve("SGD step", "norm (median, large neurons)", {
            "label part": (st, hist["label_norm_top"]), "feature part": (st, hist["feature_norm_top"])})})


register(Claim(
    id="L-F-MLP", control=Control("L-M32", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Slides fig. 10-11 (MLP mechanism)",
    title="Over training, large neurons' label part turns to +q (a_i > 0) or -q (a_i < 0), feature part to mu_bar",
    statement=r"\angle(r_i^Y,q)\to\approx0\ (a_i>0),\ \approx\pi\ (a_i<0);\ \angle(r_i^X,\bar\mu)\ \text{small};\ "
              r"\|r_i^Y\|\ \text{grows}",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f_mlp,
    params=WORLD_PARAMS + (_p("align_cos", float, "cosine threshold (spec ST8: 0.8)", min=-1, max=1),),
    defaults=WORLD_DEFAULTS | {"align_cos": 0.8},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="neurons pooled over seeds (i.i.d. at init): one-sided Clopper-Pearson upper limits at FFR/4 must "
              "reach the fractions (90%, or 50% for a median); cos threshold from spec ST8",
    notes="Figure reading per the slides (feature angle ~pi/16, label angle ~0.1 pi / ~0.9 pi). The slides' small "
          "cluster stays near pi/2 to mu_bar; here it starts and stays near ~0.75 pi (those neurons never "
          "activate): plotted, not asserted.",
    figure="mlp_angles_over_training",
))


# ---------------------------------------------------------------------------------------------------- L-F-PRUNE
def check_f_prune(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    p = w.params
    sw = _sweep(w, cfg, ctx)
    z, h0 = sw.prompts.z, hinge_loss(sw.fwd.F, sw.prompts.z)
    gen = ctx.generator(21)
    S, mm = p.a.shape
    R0, R1 = PRUNE_RATES[0], PRUNE_RATES[-1]

    def cost(method, R):
        keep = impl.keep_mask(S, mm, impl.pruning_indices(p, R, method, gen, cfg["prune_norm"]), device=p.a.device)
        return _hinge_after(sw, p, keep) - h0

    rand0 = torch.stack([cost("random", R0).double().mean(-1) for _ in range(cfg["n_random_draws"])])  # (draws, S)
    rc = _rate_curves(sw, p, gen, cfg["n_random_draws"], cfg["prune_norm"])
    r = FFR / 4
    parts = {
        f"magnitude pruning at R = {R0}: hinge cost <= slack": at_most(cost("magnitude", R0), cfg["prune_slack"], r),
        f"random pruning at R = {R0}: hinge cost >= effect_min (rises from the start)":
            effect_verdict(rand0.reshape(1, -1), cfg["effect_min"], r, unit="draws x seeds"),
        f"magnitude pruning at R = {R1}: hinge cost >= effect_min": effect_verdict(cost("magnitude", R1),
                                                                                  cfg["effect_min"], r),
        "random pruning no better than magnitude pruning": _random_vs_magnitude(rc, r),
    }
    return combine(parts, cfg, curves=_pruning_curves(rc, sw), details={
        "small-group fraction per seed (slides: ~20%)": (sw.low.sum(-1) / mm).tolist(),
        "0-1 error vs R (the slides' measure; flat here)": {k: [float(v.mean()) for v in rc["error"][k]]
                                                          for k in rc["error"]}})


register(Claim(
    id="L-F-PRUNE", control=Control("L-M11", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Slides fig. 22 (pruning)",
    title="Magnitude pruning keeps the OOD hinge at baseline at small R; random pruning costs from the start",
    statement=r"\Delta\ell_{mag}(0.05)\le s,\ \Delta\ell_{rand}(0.05)>0,\ \Delta\ell_{mag}(0.4)>0,\ "
              r"\ell_{rand}(R)\ge\ell_{mag}(R)",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f_prune,
    params=WORLD_PARAMS + PRUNE_PARAMS, defaults=WORLD_DEFAULTS | PRUNE_DEFAULTS,
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="one-sided t limits at FFR/4 per part (per seed over prompts; over draws x seeds for random); strict "
              "'> 0' parts fail unless the limit excludes 0 (their false-fail rate holds for effects well above the "
              "limit's half-width: measured >= 10x)",
    notes=WEAKER + "the slides plot the 0-1 error (baseline ~7e-3, magnitude flat to ~15%, random rising); here "
          "the 0-1 error is flat for every mode up to 40%, so the figure is reproduced in the hinge loss (the "
          "paper's generalisation measure); the error curves are reported. Sorted neuron norms are plotted.",
    figure="pruning_hinge",
))


# ---------------------------------------------------------------------------------------------------- L-F-PRUNE-ALPHA
ALPHA_PRIMES = (0.6, 0.8, 1.0)


def check_f_prune_alpha(cfg: dict, ctx: CheckContext) -> Outcome:
    alpha_primes = ALPHA_PRIMES
    impl = ctx.impl
    w = world(cfg, ctx)
    p = w.params
    S, mm = p.a.shape
    xs = [0.0, *PRUNE_RATES]
    H = {}
    for at in alpha_primes:
        sw = _sweep(w, cfg, ctx, alpha_test=at)
        H[at] = [_hinge_after(sw, p, impl.keep_mask(S, mm, impl.pruning_indices(p, R, "magnitude", norm=cfg["prune_norm"]),
                                                 device=p.a.device)).double() for R in xs]  # each (S, n)
    # per alpha' pair: the difference of mean hinges (lower alpha' minus higher) at every (R, seed): alpha' must
    # matter (an effect of at least alpha_effect), not merely "not significantly reversed"
    rows, labels = [], []
    for lo_a, hi_a in zip(alpha_primes, alpha_primes[1:]):
        rows.append(torch.stack([H[lo_a][i].mean(-1) - H[hi_a][i].mean(-1) for i in range(len(xs))]).reshape(-1))
        labels.append(f"alpha' {lo_a} vs {hi_a}")
    parts = {"lower alpha' gives a higher hinge (mean over R and seeds) by >= alpha_effect":
             effect_verdict(torch.stack(rows), cfg["alpha_effect"], FFR, labels=labels, unit="(R, seed) pairs")}
    slopes = {}
    for at in alpha_primes:
        yy = np.array([[float(H[at][j][s].mean()) for j in range(len(xs))] for s in range(S)])
        slopes[at] = float(np.polyfit(np.tile(xs, S), yy.reshape(-1), 1)[0])
    return combine(parts, cfg, details={
        "slope of hinge in R per alpha' (slides: grows faster for lower alpha'; not reproduced)": slopes},
        curves={"pruning_vs_alpha": curve("pruning rate R", "hinge (magnitude pruning, mean over seeds)", {
            f"alpha' = {at}": (xs, [float(v.mean()) for v in H[at]]) for at in alpha_primes})})


register(Claim(
    id="L-F-PRUNE-ALPHA", control=Control("L-M20", {}, 0), power=POWER, shares=SHARES_WORLD, paper=PAPER, reference="Slides fig. 23 (pruning vs alpha')",
    title="Under magnitude pruning, lower alpha' gives a higher OOD hinge at every pruning rate (weaker form)",
    statement=r"\alpha'_1<\alpha'_2\ \Rightarrow\ \ell_{mag}(R;\alpha'_1)\ge\ell_{mag}(R;\alpha'_2)\quad\forall R",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f_prune_alpha,
    params=WORLD_PARAMS + PRUNE_PARAMS + (_p("alpha_effect", float, "least hinge gap between consecutive alpha' (resolution: half)", gt=0, max=1),),
    defaults=WORLD_DEFAULTS | PRUNE_DEFAULTS | {"alpha_effect": 0.01},
    assumptions=THEOREM_33, cost=Cost.MEDIUM, false_fail_rate=FFR,
    tolerance="per (alpha' pair, R, seed): the difference of mean hinges (independent prompt sets) with its combined "
              "standard error; fails only if its one-sided normal upper limit at FFR/rows is below 0",
    notes=WEAKER + "the slides say lower alpha' gives higher error that grows faster with R. Measured in hinge: "
          "higher at every R (asserted), but the growth in R is about the same for all alpha' (slopes reported, "
          "not asserted); the 0-1 error is ~0 except at alpha' = 0.6.",
    figure="pruning_vs_alpha",
))


# ---------------------------------------------------------------------------------------------------- L-F-SCALE
SCALE_ALPHAS = (0.4, 0.6, 0.8, 1.0)
SCALE_BETAS = (1.0, 1.5, 2.0)


def check_f_scale(cfg: dict, ctx: CheckContext) -> Outcome:

    def steps_needed(**over):
        w = world(cfg, ctx, steps=cfg["scale_steps"], **over)
        return steps_to_reach(w.result.loss, cfg["hinge_target"], cfg["window"]).tolist()

    ta = {a: steps_needed(alpha=a) for a in SCALE_ALPHAS}
    tb = {b: steps_needed(beta=b) for b in SCALE_BETAS}
    S = cfg["n_seeds"]

    def loglog(table):
        xs = [math.log(k) for k in table for _ in range(S)]
        ys = [math.log(t) if math.isfinite(t) else math.nan for k in table for t in table[k]]
        return xs, ys

    xa, ya = loglog(ta)
    xb, yb = loglog(tb)
    r = FFR / 2
    if any(math.isnan(v) for v in ya + yb):
        raise AssumptionNotMet("model did not learn: some run never reached the training-hinge target "
                               f"{cfg['hinge_target']} within scale_steps = {cfg['scale_steps']}")
    else:
        res = cfg["slope_resolution"]
        parts = {
            "iterations vs alpha: log-log slope <= slope_hi": slope_verdict(
                xa, ya, cfg["slope_hi"], "at_most", r, resolution=res, seeds=S, what="log-log slope in alpha"),
            "iterations vs alpha: log-log slope >= slope_lo": slope_verdict(
                xa, ya, cfg["slope_lo"], "at_least", r, resolution=res, seeds=S, what="log-log slope in alpha"),
            "iterations decrease with beta: log-log slope <= -beta_slope_min": slope_verdict(
                xb, yb, -cfg["beta_slope_min"], "at_most", r, resolution=cfg["beta_slope_min"] / 2, seeds=S,
                what="log-log slope in beta"),
        }
        a_hat = parts["iterations vs alpha: log-log slope <= slope_hi"].measured
        favoured = {"alpha^-2/3 (slides, narration)": abs(a_hat + 2 / 3), "alpha^-1 (poster)": abs(a_hat + 1)}
        parts["iterations vs alpha: log-log slope <= slope_hi"].details["which reconstruction the data favour"] = \
            min(favoured, key=favoured.get)
    mean_a = [float(np.mean(ta[a])) for a in SCALE_ALPHAS]
    mean_b = [float(np.mean(tb[b])) for b in SCALE_BETAS]
    ref = mean_a[-1]
    return combine(parts, cfg, details={
        "steps to reach the target per alpha (per seed)": ta, "per beta": tb,
        },
        curves={
            "iterations_vs_alpha": curve("alpha", "SGD steps to training hinge <= target", {
                "measured (mean over seeds)": (list(SCALE_ALPHAS), mean_a),
                "alpha^(-2/3) through alpha = 1": (list(SCALE_ALPHAS), [ref * a ** (-2 / 3) for a in SCALE_ALPHAS])},
                logx=True, logy=True),
            "iterations_vs_beta": curve("beta", "SGD steps to training hinge <= target", {
                "measured (mean over seeds)": (list(SCALE_BETAS), mean_b),
                "beta^(-2/3) through beta = 1": (list(SCALE_BETAS), [mean_b[0] * b ** (-2 / 3) for b in SCALE_BETAS])},
                logx=True, logy=True)})


register(Claim(
    id="L-F-SCALE", control=Control("L-M33", {}, 0), power=POWER, paper=PAPER, reference="Theorem 3.3 (iv); narration's scaling figure",
    title="Iterations to learn fall with alpha (log-log slope within [-1.2, -0.2]; paper -2/3) and with beta",
    statement=r"T_{\epsilon}(\alpha)\propto\alpha^{s_\alpha},\ s_\alpha\in[-1.2,-0.2]\ (\text{paper } -2/3);\ "
              r"T_\epsilon(\beta)\ \text{decreasing (paper } \beta^{-2/3})",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.RATE, check=check_f_scale,
    params=WORLD_PARAMS + (
        _p("scale_steps", int, "SGD steps per run (enough to reach the target)", min=10, max=100_000),
        _p("hinge_target", float, "training-hinge target (spec ST4: 0.1)", gt=0, max=1),
        _p("window", int, "running-mean window over SGD batches", min=1, max=1000),
        _p("slope_lo", float, "band (spec ST4)", min=-10, max=10), _p("slope_hi", float, "band", min=-10, max=10),
        _p("slope_resolution", float, "resolution of the alpha-slope decisions", gt=0, max=1),
        _p("beta_slope_min", float, "least decrease of log steps per log beta", gt=0, max=5)),
    defaults=WORLD_DEFAULTS | {"scale_steps": 300, "hinge_target": 0.1, "window": 10, "slope_lo": -1.2,
                               "slope_hi": -0.2, "slope_resolution": 0.1, "beta_slope_min": 0.2},
    assumptions=(COND_32, BATCH), cost=Cost.SLOW, false_fail_rate=FFR,
    tolerance="least-squares slope of log steps on log alpha (beta) with a fixed effect per seed (the seeds share "
              "patterns, init and batch stream across the grid), t interval at FFR/2; the alpha part fails only if "
              "the interval misses the spec's band [-1.2, -0.2]; the beta part only if it does not lie below 0",
    notes=WEAKER + "T = Theta(eta^-1 M1 alpha^-2/3 beta^-2/3 sqrt(log M1)) is from the narration (MED). The alpha "
          "exponent is measured near -0.7; the beta exponent is steeper than -2/3 (~-1.4: beta^2 scales the "
          "attention scores), so only 'decreasing in beta' is asserted. 'Needed context length ~ 1/alpha' is not "
          "encoded.",
    figure="iterations_vs_alpha",
))


# ---------------------------------------------------------------------------------------------------- L-F-CLASSIC
CLASSIC_LENGTHS = (8, 12, 16, 20)


def check_f_classic(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    w = world(cfg, ctx)
    ecfg = _eval_cfg(cfg, ctx).replace(test_sampling=cfg["classic_sampling"])
    dt = DTYPES[cfg["dtype"]]
    table: dict[str, dict[str, list[float]]] = {}
    gated = None
    for at in (0.6, 0.8):
        for l in CLASSIC_LENGTHS:
            pr = impl.make_test_prompts(ecfg, w.id_domain(), cfg["n_classic"], ctx.generator(40), l=l, alpha=at,
                                     dtype=dt)
            err = zero_one(impl.forward(w.params, pr.P).F, pr.z)
            row = {"ICL (trained transformer)": float(err.mean())} | bl.baseline_errors(pr.P, pr.z, cfg["d_X"])
            for k, v in row.items():
                table.setdefault(f"{k}, alpha' = {at}", []).append(v)
            if at == cfg["classic_alpha"] and l == cfg["classic_l"]:
                gated = err
    if gated is None:
        pr = impl.make_test_prompts(ecfg, w.id_domain(), cfg["n_classic"], ctx.generator(41), l=cfg["classic_l"],
                                 alpha=cfg["classic_alpha"], dtype=dt)
        gated = zero_one(impl.forward(w.params, pr.P).F, pr.z)
    part = at_most(gated, cfg["err_max"], FFR, binary=True)
    curves = {f"classic_alpha_{at}": curve("context examples l", "0-1 error", {
        k.split(",")[0]: (list(CLASSIC_LENGTHS), v) for k, v in table.items() if k.endswith(f"= {at}")})
        for at in (0.6, 0.8)}
    return combine({f"ICL error at alpha' = {cfg['classic_alpha']}, l = {cfg['classic_l']}": part}, cfg,
                   curves=curves, details={"errors vs l (reported, not gated)": table, "lengths": list(CLASSIC_LENGTHS)})


register(Claim(
    id="L-F-CLASSIC", control=Control("L-M32", {}, 0), power=POWER, paper=PAPER, reference="Slides fig. 20-21 (ICL vs classical classifiers)",
    title="In-context error of the trained model, with logistic regression, SVMs and k-NN on the same contexts beside",
    statement=r"\Pr[zF\le0]\le\epsilon\ \text{at } \alpha'=0.6,\ l=12;\ \text{baselines fitted on the } l "
              r"\text{ contexts reported (slides: ICL comparable at } \alpha'=0.8,\ \text{best at } 0.6)",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_f_classic,
    params=WORLD_PARAMS + (
        _p("classic_sampling", str, "test prompts: training-style (harder; calibration point 5) or guaranteed",
           choices=("training", "guaranteed")),
        _p("classic_alpha", float, "alpha' of the gated point", gt=0, max=1),
        _p("classic_l", int, "l of the gated point", min=1, max=128),
        _p("n_classic", int, "prompts per seed and point", min=100, max=100_000),
        _p("err_max", float, "ICL error bound at the gated point (spec ST1: 0.05)", min=0, max=1)),
    defaults=WORLD_DEFAULTS | {"classic_sampling": "training", "classic_alpha": 0.6, "classic_l": 12,
                               "n_classic": 400, "err_max": 0.05},
    assumptions=THEOREM_33, cost=Cost.SLOW, false_fail_rate=FFR,
    tolerance="gated: per seed one-sided Clopper-Pearson limit at FFR/S of the ICL 0-1 error; the comparison with "
              "the baselines is reported, not gated (spec ST13)",
    notes="Baselines are the scikit-learn defaults re-implemented in torch (models/li2024_baselines.py; the RBF/"
          "linear SVM absorb the intercept into the kernel). Test prompts are training-style (calibration point 5: "
          "with guaranteed prompts every method is perfect in-domain).",
    figure="classic_alpha_0.6",
))


# ---------------------------------------------------------------------------------------------------- deeper model
GPT_SIZES = {
    # reduced: trains in seconds on 2 CPU cores; paper: the paper's 3-layer 2-head GPT-2 (width NOT FOUND; 256 is
    # a common small-GPT-2 ICL width) for a GPU run.
    "reduced": dict(n_layer=3, n_head=2, n_embd=16, lr=2e-3, steps=800, batch=64),
    # lr calibrated on an H100 (2026-11-22): at 1e-3 the paper-size model stays at 23% in-domain error; at 1e-4 (and
    # at width 128, lr 3e-4) it makes no OOD errors at any S1, so L-F-S1 has nothing to order; 3e-4 learns both.
    "paper": dict(n_layer=3, n_head=2, n_embd=256, lr=3e-4, steps=5000, batch=64),
}
GPT_PARAMS = WORLD_PARAMS + (_p("size", str, "deeper-model size: reduced (CPU) or paper (GPU)",
                                choices=("reduced", "paper")),)
GPT_DEFAULTS = WORLD_DEFAULTS | {"size": "reduced", "n_task_families": 5, "n_seeds": 3}
FIGURE_MODEL = _p("model", str, "the paper's deeper model (gpt2) or the analysed one-layer model on the same figure",
                  choices=("gpt2", "one-layer"))


@dataclass
class GPTWorld:
    g: m.GPTConfig
    init: dict
    weights: dict
    idr: torch.Tensor
    idi: torch.Tensor
    rotation: torch.Tensor
    tasks: torch.Tensor
    loss: torch.Tensor


def _train_gpt_world(impl, lcfg, size: str, dtype: str, n_seeds: int, train_seed: int, device: str) -> GPTWorld:
    ctx = CheckContext(torch.device(device), train_seed)
    g = impl.GPTConfig(**GPT_SIZES[size])
    idr, idi = impl.orthonormal_patterns(lcfg, n_seeds, ctx.generator(1))
    rotation = random_rotation(n_seeds, lcfg.M2, ctx.generator(4))
    tr = impl.train_tasks(lcfg.M1, lcfg.n_task_families, lcfg.task_cover, device=ctx.device)
    w0 = impl.gpt_init(g, lcfg.d, n_seeds, ctx.generator(2), dtype=DTYPES[dtype])
    w, loss = impl.train_gpt(g, lcfg, w0, impl.Domain(idr, idi, tr), ctx.generator(3), l_min=lcfg.l)
    return GPTWorld(g, w0, w, idr, idi, rotation, tr, loss)


def gpt_world(cfg: dict, ctx: CheckContext) -> GPTWorld:
    """The trained deeper models of ctx.impl (cached per implementation, config, seed batch and device)."""
    impl, lcfg = ctx.impl, _train_config(cfg, ctx.impl)
    key = ("gpt", impl.key, repr(lcfg), cfg["size"], cfg["dtype"], cfg["n_seeds"], cfg["train_seed"], str(ctx.device))
    return _cached(key, lambda: _train_gpt_world(impl, lcfg, cfg["size"], cfg["dtype"], cfg["n_seeds"],
                                                 cfg["train_seed"], str(ctx.device)))


def _gpt_eval(gw: GPTWorld, cfg: dict, ctx: CheckContext, *, S1: float | None, l: int, alpha: float, offset: int,
              n: int | None = None):
    """Test prompts (ID: the training domain's tasks; OOD at S1) and the deeper model's output and attentions."""
    impl = ctx.impl
    ecfg = _eval_cfg(cfg, ctx)
    if S1 is None:
        dom = impl.Domain(gw.idr, gw.idi, gw.tasks)
    else:
        dom = impl.ood_domain(ecfg, gw.idr, gw.idi, gw.rotation, S1)
    pr = impl.make_test_prompts(ecfg, dom, n or cfg["n_test"], ctx.generator(offset), l=l, alpha=alpha,
                             dtype=DTYPES[cfg["dtype"]])
    with torch.no_grad():
        Fv, attns = impl.gpt_forward(gw.g, gw.weights, pr.P)
    return pr, Fv, attns


def _figure_model(cfg: dict, ctx: CheckContext) -> Callable:
    """evaluate(S1, l, alpha, offset, n) -> (prompts, F) for the model the figure claim reads (``cfg["model"]``)."""
    impl = ctx.impl
    if cfg["model"] == "gpt2":
        gw = gpt_world(cfg, ctx)
        return lambda **kw: _gpt_eval(gw, cfg, ctx, **kw)[:2]
    w = world(cfg, ctx)
    ecfg = _eval_cfg(cfg, ctx)

    def evaluate(*, S1, l, alpha, offset, n=None):
        dom = w.id_domain() if S1 is None else w.ood_domain(ecfg, S1)
        pr = impl.make_test_prompts(ecfg, dom, n or cfg["n_test"], ctx.generator(offset), l=l, alpha=alpha,
                                 dtype=DTYPES[cfg["dtype"]])
        return pr, impl.forward(w.params, pr.P).F

    return evaluate


DEEP_NOTE = ("Assertions are on averages over the training seeds. The deeper model is a small GPT-2-style transformer (pre-LN, causal, GELU, no positional embedding), "
             "read out at the query token and trained with Adam on the hinge loss, on all in-domain tasks: with a "
             "task subset it memorises the training tasks (held-out ID error 0.12-0.39 measured) instead of "
             "learning in context. size='reduced' (width 16, 800 steps of batch 64) runs on CPU in CI; size='paper' (width "
             "256, 5000 steps; the paper's width is NOT FOUND) is for a GPU. ")


def check_f_s1(cfg: dict, ctx: CheckContext) -> Outcome:
    evaluate = _figure_model(cfg, ctx)
    grid = list(S1_GRID)
    E, H = [], []
    for s1 in grid:
        pr, Fv = evaluate(S1=s1, l=cfg["l_test"], alpha=cfg["alpha_test"], offset=50)
        E.append(zero_one(Fv, pr.z))
        H.append(hinge_loss(Fv, pr.z))
    E, H = torch.stack(E), torch.stack(H)  # (G, S, n)
    # averages over training runs: the seeds' prompts pooled (at the reduced size some seeds do not learn)
    pooled_E, pooled_H = E.flatten(1), H.flatten(1)
    labels = [f"S1 {a:g} -> {b:g}" for a, b in zip(grid, grid[1:])]
    r = FFR / 3
    parts = {
        "OOD hinge non-increasing in S1 (seed average)": at_most(pooled_H[1:] - pooled_H[:-1], 0.0, r, labels=labels),
        "OOD 0-1 error non-increasing in S1 (seed average)": at_most(pooled_E[1:] - pooled_E[:-1], 0.0, r,
                                                                     labels=labels),
        f"error(S1 = {grid[0]}) > error(S1 = {grid[-1]}) (seed average)": effect_verdict(pooled_E[0] - pooled_E[-1], 0.02, r),
    }
    lengths = (4, 8, 12, 16, 20)
    by_len = {}
    for s1 in grid:
        ys = []
        for l in lengths:  # the report's curves: a quarter of the prompts
            pr, Fv = evaluate(S1=s1, l=l, alpha=cfg["alpha_test"], offset=51, n=max(100, cfg["n_test"] // 4))
            ys.append(float(zero_one(Fv, pr.z).mean()))
        by_len[f"S1 = {s1}"] = (list(lengths), ys)
    return combine(parts, cfg, details={"OOD error (S1 x seed) at l_ts": E.double().mean(-1).tolist()},
                   curves={"deep_ood_vs_length": curve("context length l_ts", "OOD 0-1 error (mean over seeds)", by_len),
                           "deep_ood_vs_S1": curve("S1", "OOD error / hinge (mean over seeds)", {
                               "0-1 error": (grid, E.double().mean((1, 2)).tolist()),
                               "hinge": (grid, H.double().mean((1, 2)).tolist())})})


register(Claim(
    id="L-F-S1", control=Control("L-M34", {}, 0), power=POWER, shares=SHARES_GPT, paper=PAPER, reference="Slides fig. 18 (GPT-2, OOD error vs S1)",
    title="Deeper model: OOD error falls with S1 and is clearly worse at S1 = 0.5 than at 1.3 (weaker form)",
    statement=r"\text{3-layer 2-head GPT-2: OOD error and hinge non-increasing in } S_1\in\{0.5,\dots,1.3\},\ "
              r"\mathrm{err}(0.5)>\mathrm{err}(1.3)",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_f_s1,
    params=GPT_PARAMS + (FIGURE_MODEL,), defaults=GPT_DEFAULTS | {"model": "gpt2"},
    assumptions=(TEST_LENGTH, BATCH), cost=Cost.SLOW,
    false_fail_rate=FFR,
    tolerance="seed averages (the seeds' prompts pooled, common random numbers across S1): one-sided t limits at "
              "FFR/3 split over the S1 pairs; monotonicity fails only on a significant increase; the drop from "
              "S1 = 0.5 to 1.3 must be significant (lower limit > 0)",
    notes=WEAKER + DEEP_NOTE + "At the reduced size the absolute errors are far above the slides' (< 1e-2 at "
          "S1 >= 1.1) and some seeds do not learn at all (flat error; per-seed values reported), so only the "
          "ordering in S1 of the seed-averaged error is asserted; the error-vs-length curves are reported.",
    figure="deep_ood_vs_S1",
))


def check_f_alpha(cfg: dict, ctx: CheckContext) -> Outcome:
    evaluate = _figure_model(cfg, ctx)
    lengths = (4, 8, 12, 16, 20)
    curves_id, curves_ood, ends = {}, {}, {}
    rows, labels = [], []
    for at in (0.8, 0.9, 1.0):
        for dom_name, S1, store in (("ID", None, curves_id), ("OOD", cfg["S1"], curves_ood)):
            errs = []
            for i, l in enumerate(lengths):  # the ends at full size, the curve's middle on a quarter of the prompts
                n = None if i in (0, len(lengths) - 1) else max(100, cfg["n_test"] // 4)
                pr, Fv = evaluate(S1=S1, l=l, alpha=at, offset=60, n=n)
                errs.append(zero_one(Fv, pr.z))
            store[f"alpha' = {at}"] = (list(lengths), [float(e.mean()) for e in errs])
            ends[f"{dom_name} alpha' {at}"] = [float(errs[0].mean()), float(errs[-1].mean())]
            if dom_name == cfg["domain"]:
                # i-th prompt at the shortest length minus the i-th at the longest, seeds pooled (the average over
                # training runs); independent draws, so the t limit of the mean difference is valid
                rows.append((errs[0] - errs[-1]).reshape(1, -1))
                labels.append(f"alpha' {at}")
    part = effect_verdict(torch.cat(rows), 0.02, FFR, labels=labels)
    dom = cfg["domain"]
    return combine({f"{dom}: error at l_ts = {lengths[-1]} < error at l_ts = {lengths[0]} (seed average)": part}, cfg,
                   details={f"error (shortest, longest length); {'OOD' if dom == 'ID' else 'ID'} reported, not "
                            "asserted": ends},
                   curves={"deep_id_vs_length": curve("l_ts", "ID 0-1 error (mean over seeds)", curves_id),
                           "deep_ood_vs_length_alpha": curve("l_ts", "OOD 0-1 error (mean over seeds)", curves_ood)})


register(Claim(
    id="L-F-ALPHA", control=Control("L-M34", {}, 0), power=POWER, shares=SHARES_GPT, paper=PAPER, reference="Slides fig. 19 (GPT-2, error vs alpha' and test length)",
    title="Deeper model: the error falls with the test prompt length (weaker form: one domain asserted, in-domain "
          "by default, the other reported)",
    statement=r"\mathrm{err}_{D}(l_{ts}=20)<\mathrm{err}_{D}(l_{ts}=4)\ \text{for } \alpha'\in\{0.8,0.9,1\},\ "
              r"D \in \{ID, OOD\}",
    provenance=Provenance.STATED, kind=Kind.STATISTICAL, check=check_f_alpha,
    params=GPT_PARAMS + (FIGURE_MODEL, _p("domain", str, "the domain whose error-vs-length is asserted",
                                          choices=("ID", "OOD"))),
    defaults=GPT_DEFAULTS | {"model": "gpt2", "domain": "ID"},
    # At paper size the in-domain error is saturated (0-0.6% at every length on an H100, 2026-11-22) while the OOD
    # error falls 0.22 -> 0.17-0.19: the figure's effect is visible out of domain only.
    presets={"paper": {"size": "paper", "domain": "OOD"}},
    assumptions=(BATCH,), cost=Cost.SLOW, false_fail_rate=FFR,
    tolerance="seed averages (prompts pooled over seeds): per alpha', the one-sided t lower limit at FFR/3 of the "
              "mean difference error(l_ts = 4) - error(l_ts = 20) must be above 0 (a strict decrease; measured "
              "~0.03 against half-widths ~0.02)",
    notes=WEAKER + DEEP_NOTE + "The slides show ID and OOD error falling with l_ts and larger alpha' needing "
          "shorter prompts. At the reduced size the ID error falls (asserted) but the OOD error is flat within "
          "noise, so the OOD curves and the alpha' ordering are reported, not asserted. In-domain prompts come from "
          "the training tasks (all tasks are trained). At the paper size (GPU preset) it is the other way round: the "
          "in-domain error is saturated near 0 at every length and the OOD error falls, so the preset asserts OOD "
          "(calibrated on one H100 run; the alpha' ordering is still reported only).",
    figure="deep_id_vs_length",
))


def check_f_3l(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    gw = gpt_world(cfg, ctx)
    pr, _, attns = _gpt_eval(gw, cfg, ctx, S1=None, l=cfg["l_test"], alpha=cfg["alpha_test"], offset=70)
    with torch.no_grad():
        _, attns0 = impl.gpt_forward(gw.g, gw.init, pr.P)
    same = (pr.pattern[..., :-1] == pr.pattern[..., -1:]).to(attns[0].dtype)  # (S, n, l)
    rises, per_layer = [], []
    for A, A0 in zip(attns, attns0):
        # the query's (last row's) attention mass on same-pattern contexts, per prompt and head: (S, n, H)
        rise = ((A[..., -1, :-1] - A0[..., -1, :-1]) * same.unsqueeze(2)).sum(-1)
        per_layer.append((A[..., -1, :-1] * same.unsqueeze(2)).sum(-1).mean(1).tolist())
        rises.append(rise)
    R = torch.stack(rises, -1).flatten(-2).double()  # (S, n, layers x heads)
    best = R.mean(1).argmax(-1)  # each seed's best (layer, head), chosen on the mean over 2000 prompts
    samples = R.gather(-1, best.view(-1, 1, 1).expand(-1, R.shape[1], 1)).squeeze(-1)  # (S, n)
    r = FFR / (gw.g.n_layer + 1)
    # a deeper model's seeds are few (3 at the CPU size): the prompts of the seeds are pooled (the seed average)
    parts = {"the query attends to its pattern: best head's same-pattern mass rises by >= attn_rise_min":
             effect_verdict(samples.reshape(1, -1), cfg["attn_rise_min"], r,
                            what="rise of the best head's same-pattern mass (prompts of all seeds)")}
    for i in range(gw.g.n_layer):
        n0, n1 = gw.init[f"{i}.w_fc"].norm(dim=-1), gw.weights[f"{i}.w_fc"].norm(dim=-1)
        parts[f"layer {i}: most MLP neurons grow"] = fraction_at_least(n1 > n0, cfg["grow_frac"], r,
                                                                       what="fraction of MLP rows that grew")
    return combine(parts, cfg, details={
        "same-pattern attention mass per layer (seed x head), reported": per_layer,
        "rise of the best head's mass per layer (per seed)": [x.tolist() for x in rises]})


register(Claim(
    id="L-F-3L", shares=SHARES_GPT, paper=PAPER, reference="Slides fig. 12-17 (3-layer extension)",
    title="Deeper model: the query attends to same-pattern contexts (best head) and most MLP neurons grow per layer",
    statement=r"\max_{k,h}\Delta\,\mathrm{mass}^{(k,h)}_{same}\ge r;\ \forall\ \text{layer } k:\ "
              r"\Pr_i\big[\|W^{(k,T)}_{fc,(i)}\|>\|W^{(k,0)}_{fc,(i)}\|\big]\ge\tfrac12",
    provenance=Provenance.STATED, kind=Kind.MECHANISM, check=check_f_3l,
    params=GPT_PARAMS + (_p("grow_frac", float, "'most' neurons: at least this fraction", min=0, max=1),
                         _p("attn_rise_min", float, "least rise of the best head's same-pattern mass", gt=0, max=1)),
    defaults=GPT_DEFAULTS | {"grow_frac": 0.5, "attn_rise_min": 0.05}, assumptions=(BATCH,), cost=Cost.SLOW,
    false_fail_rate=FFR, power=POWER,
    control=Control("L-M34", {}, 0),
    tolerance="attention: mean over training seeds of the best (layer, head) rise, Student t limits at "
              "FFR/(layers + 1), resolution attn_rise_min/2; per layer, neurons pooled over seeds (i.i.d. at init): "
              "Clopper-Pearson limits of the fraction that grew, resolution 0.02",
    notes=WEAKER + "the slides say every layer's attention selects same-IDR contexts and most neurons grow. At the "
          "reduced size only the best head (usually in the first layer) selects, so the best head's rise is "
          "asserted and the per-layer masses are reported. " + DEEP_NOTE,
))


# ---------------------------------------------------------------------------------------------------- exact (§4.1)
INSTANCE_PARAMS = (
    Param("l", int, min=1, max=64, doc="context examples"),
    Param("m", int, min=1, max=128, doc="MLP neurons"),
    Param("d_X", int, min=1, max=64, doc="feature dimension"),
    Param("d_Y", int, min=1, max=16, doc="label dimension"),
    Param("scale", float, min=1e-3, max=3, doc="weights are N(0,1)/sqrt(fan-in) * scale"),
    Param("batch", int, min=1, max=256, doc="independent instances (seeds)"),
    Param("n_prompts", int, min=1, max=256, doc="prompts per instance"),
)
INSTANCE_DEFAULTS = {"l": 20, "m": 64, "d_X": 30, "d_Y": 4, "scale": 1.0, "batch": 8, "n_prompts": 4}


def _instance(cfg: dict, ctx: CheckContext) -> tuple[m.Params, torch.Tensor]:
    impl = ctx.impl
    g = ctx.generator()
    S, n, l, mm, dX, dY = cfg["batch"], cfg["n_prompts"], cfg["l"], cfg["m"], cfg["d_X"], cfg["d_Y"]
    d = dX + dY
    kw = dict(generator=g, dtype=F64, device=ctx.device)
    s = cfg["scale"]
    W_Q, W_K, W_V = (torch.randn(S, d, d, **kw) * s / math.sqrt(d) for _ in range(3))
    W_O = torch.randn(S, mm, d, **kw) * s / math.sqrt(d)
    a = torch.randn(S, mm, **kw) * s / math.sqrt(mm)
    P = torch.randn(S, n, l + 1, d, **kw)
    P[..., -1, dX:] = 0.0  # the query's label block is 0
    return impl.Params(W_Q, W_K, W_V, W_O, a), P


def _forward_tolerance(p: m.Params, P: torch.Tensor) -> float:
    """eps(float64) x (longest reduction chain d + m_b + m + l) x (the terms' absolute scale): the forward pass on
    absolute values, times (1 + the largest absolute score), since a score error e moves attn_i by attn_i e."""
    ab = type(p)(*(t.abs() for t in p))
    Pa = P.abs()
    u = (Pa[..., -1, :] @ ab.W_Q.transpose(-1, -2)) @ ab.W_K  # (S, n, d)
    scores = (Pa[..., :-1, :] @ u.unsqueeze(-1)).squeeze(-1)
    pooled = Pa[..., :-1, :].max(-2).values
    absF = (torch.relu((pooled @ ab.W_V.transpose(-1, -2)) @ ab.W_O.transpose(-1, -2)) * ab.a.unsqueeze(1)).sum(-1)
    d, mb, mm, l = P.shape[-1], p.W_V.shape[1], p.W_O.shape[1], P.shape[-2] - 1
    return identity_tolerance(F64, d + mb + mm + l, float(absF.max()) * (1 + float(scores.max())))


def _loop_forward(p: m.Params, P: torch.Tensor, s: int, j: int) -> float:
    """The §1.2 formula with explicit loops over the l contexts (E1)."""
    ctx, pq = P[s, j, :-1], P[s, j, -1]
    raw = [float((p.W_K[s] @ ctx[i]) @ (p.W_Q[s] @ pq)) for i in range(ctx.shape[0])]
    top = max(raw)
    e = [math.exp(v - top) for v in raw]
    attn = [v / sum(e) for v in e]
    pooled = sum(attn[i] * (p.W_V[s] @ ctx[i]) for i in range(ctx.shape[0]))
    return float(p.a[s] @ torch.relu(p.W_O[s] @ pooled))


def check_e_attn(cfg: dict, ctx: CheckContext) -> Outcome:
    forward = ctx.impl.forward
    p, P = _instance(cfg, ctx)
    f = forward(p, P)
    tol = _forward_tolerance(p, P)
    loops = torch.tensor([[_loop_forward(p, P, s, j) for j in range(P.shape[1])] for s in range(min(P.shape[0], 4))],
                         dtype=F64, device=P.device)
    same = P.clone()
    same[..., :-1, :] = P[..., :1, :]  # all l contexts identical
    uni = forward(p, same).attn
    l = P.shape[-2] - 1
    parts = {
        "attn >= 0": Outcome.at_least(float(f.attn.min()), 0.0),
        "attn sums to 1 over the l contexts": Outcome.at_most(float((f.attn.sum(-1) - 1).abs().max()),
                                                              identity_tolerance(F64, l, 1.0)),
        "one weight per context (the query gets none)": Outcome.at_most(abs(f.attn.shape[-1] - l), 0.0),
        "F equals the loop formula": Outcome.at_most(max_abs_error(f.F[: loops.shape[0]], loops), tol),
        "identical contexts: attn = 1/l": Outcome.at_most(float((uni - 1.0 / l).abs().max()),
                                                          identity_tolerance(F64, l, 1.0 / l)),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


def check_e_perm(cfg: dict, ctx: CheckContext) -> Outcome:
    forward = ctx.impl.forward
    p, P = _instance(cfg, ctx)
    S, n, L1, d = P.shape
    perm = torch.argsort(torch.rand(S, n, L1 - 1, generator=ctx.generator(1), device=ctx.device), dim=-1)
    Pp = P.clone()
    Pp[..., :-1, :] = torch.gather(P[..., :-1, :], 2, perm.unsqueeze(-1).expand(-1, -1, -1, d))
    f, fp = forward(p, P), forward(p, Pp)
    tol = _forward_tolerance(p, P)
    parts = {
        "F(P) = F(P with permuted contexts)": Outcome.at_most(max_abs_error(f.F, fp.F), tol),
        "attention permutes with the contexts": Outcome.at_most(
            max_abs_error(torch.gather(f.attn, 2, perm), fp.attn), identity_tolerance(F64, L1 + d, 1.0)),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


def check_e_homog(cfg: dict, ctx: CheckContext) -> Outcome:
    forward = ctx.impl.forward
    p, P = _instance(cfg, ctx)
    c = cfg["c"]
    f = forward(p, P).F
    tol = _forward_tolerance(p, P)
    parts = {
        "F(c W_O) = c F (c > 0)": Outcome.at_most(max_abs_error(forward(p._replace(W_O=c * p.W_O), P).F, c * f),
                                                   tol * max(c, 1.0)),
        "F(-a) = -F": Outcome.at_most(max_abs_error(forward(p._replace(a=-p.a), P).F, -f), tol),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol, "c": c})


def _reference_magnitude_order(norms: torch.Tensor) -> list[list[int]]:
    return [sorted(range(len(row)), key=lambda i: (row[i], i)) for row in norms.tolist()]


def check_e_prune(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    prune = impl.prune
    p, P = _instance(cfg, ctx)
    S, mm = p.a.shape
    g = ctx.generator(2)
    # duplicate some rows so norms tie exactly: the order must then break ties by index
    n_dup = mm // 4
    if n_dup:
        src = torch.randint(0, mm, (n_dup,), generator=g, device=ctx.device)
        dst = torch.randint(0, mm, (n_dup,), generator=g, device=ctx.device)
        p = p._replace(W_O=p.W_O.clone())
        p.W_O[:, dst] = p.W_O[:, src]
    k = int(torch.randint(0, mm + 1, (1,), generator=g, device=ctx.device))
    idx = impl.pruning_indices(p, k / mm, "random", g)
    f_zero_rows = impl.forward(prune(p, idx), P).F
    f_mask = impl.forward(p, P, keep=impl.keep_mask(S, mm, idx, device=P.device)).F
    f_del = impl.forward(impl.delete_neurons(p, idx), P).F
    f_none = impl.forward(prune(p, idx[:, :0]), P).F
    f_all = impl.forward(prune(p, torch.arange(mm, device=P.device).expand(S, mm)), P).F
    z = torch.where(torch.rand(f_all.shape, generator=g, device=P.device) < 0.5, 1.0, -1.0).to(F64)
    base = impl.forward(p, P).F
    tol = _forward_tolerance(p, P)
    order = impl.pruning_indices(p, 1.0, "magnitude").tolist()
    parts = {
        "zeroing W_O rows = zeroing a_i": Outcome.at_most(max_abs_error(f_zero_rows, f_mask), tol),
        "zeroing rows = deleting the neurons": Outcome.at_most(max_abs_error(f_zero_rows, f_del), tol),
        "S = empty set changes nothing (bitwise)": Outcome.at_most(max_abs_error(f_none, base), 0.0),
        "S = [m] gives F = 0": Outcome.at_most(float(f_all.abs().max()), 0.0),
        "S = [m] gives hinge = 1": Outcome.at_most(max_abs_error(hinge_loss(f_all, z), torch.ones_like(z)), 0.0),
        "magnitude order = stable argsort of row norms": Outcome.at_most(
            float(order != _reference_magnitude_order(p.W_O.norm(dim=-1))), 0.0),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol, "pruned per instance": k})


def check_e_hinge(cfg: dict, ctx: CheckContext) -> Outcome:
    hinge = ctx.impl.hinge
    g = ctx.generator()
    n = cfg["n_values"]
    z = torch.where(torch.rand(n, generator=g, device=ctx.device) < 0.5, 1.0, -1.0).to(F64)
    Fv = torch.randn(n, generator=g, dtype=F64, device=ctx.device) * cfg["spread"]
    Fv[: n // 8] = z[: n // 8]  # exactly on the kink z F = 1
    Fv[n // 8: n // 4] = 0.0  # ties F = 0 count as errors
    Fr = Fv.clone().requires_grad_(True)
    ell = hinge(Fr, z)
    (grad,) = torch.autograd.grad(ell.sum(), Fr)
    ell = ell.detach()
    zF = z * Fv
    parts = {
        "hinge >= 0": Outcome.at_least(float(ell.min()), 0.0),
        "hinge = 0 iff z F >= 1": Outcome.at_most(float(((ell == 0) != (zF >= 1)).sum()), 0.0),
        "1{z F <= 0} <= hinge": Outcome.at_least(float((ell - zero_one(Fv, z)).min()), 0.0),
        "subgradient = -z 1{z F < 1}": Outcome.at_most(max_abs_error(grad, hinge_subgradient(Fv, z)), 0.0),
        "hinge = max(0, 1 - z F)": Outcome.at_most(max_abs_error(ell, torch.clamp(1 - zF, min=0)),
                                                    identity_tolerance(F64, 2, float(zF.abs().max()) + 1)),
    }
    return Outcome.all_of(parts, instances=n)


def check_e_label(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    p, P = _instance(cfg, ctx)
    dX = cfg["d_X"]
    Pf = P.clone()
    Pf[..., dX:] = -Pf[..., dX:]  # q -> -q in every token (the query's block is 0 and stays 0)
    W = [t.clone() for t in (p.W_Q, p.W_K, p.W_V)]
    for i, t in enumerate(W):
        if True:  # W_K too: the spec's literal E9 (W_V only) is false (see notes)
            t[..., dX:] = -t[..., dX:]  # negate the label columns
    pf = p._replace(W_Q=W[0], W_K=W[1], W_V=W[2])
    f, ff = impl.forward(p, P), impl.forward(pf, Pf)
    tol = _forward_tolerance(p, P)
    parts = {
        "F unchanged when q -> -q and the label columns of W_Q, W_K, W_V flip": Outcome.at_most(max_abs_error(f.F, ff.F), tol),
        "W_V p_i unchanged": Outcome.at_most(max_abs_error(P @ p.W_V.transpose(-1, -2).unsqueeze(1),
                                                           Pf @ pf.W_V.transpose(-1, -2).unsqueeze(1)), tol),
    }
    return Outcome.all_of(parts, instances=cfg["batch"], details={"tolerance": tol})


_EXACT_COMMON = dict(paper=PAPER, kind=Kind.IDENTITY, cost=Cost.CHEAP, params=INSTANCE_PARAMS,
                     defaults=INSTANCE_DEFAULTS)
_EXACT_TOL = ("8 eps(float64) x (d + m_b + m + l) x (forward pass on absolute values) x (1 + largest absolute "
              "score); attention sums: 8 eps l")

register(Claim(
    id="L-E-ATTN", control=Control("L-M01", {}, 0), reference="spec §4.1 E1, E2, E4 (setting §1.2; supports L-P41)",
    title="Model formula and attention as a distribution over the l contexts (the query gets no weight)",
    statement=r"\mathrm{attn}_i\ge0,\ \textstyle\sum_{i=1}^{l}\mathrm{attn}_i=1;\ F=a^\top\mathrm{ReLU}(W_O\sum_i "
              r"W_Vp_i\,\mathrm{attn}_i);\ p_1=\dots=p_l\Rightarrow\mathrm{attn}_i=1/l",
    provenance=Provenance.STATED, check=check_e_attn, tolerance=_EXACT_TOL,
    notes="Not a spec id (exact property of the model, spec E1/E2/E4). STATED: the model of §1.2 is on the slides.",
    **_EXACT_COMMON,
))
register(Claim(
    id="L-E-PERM", control=Control("L-M03", {}, 0), reference="spec §4.1 E3 (setting §1.2)",
    title="F is invariant to permuting the context columns (no positional encoding)",
    statement=r"F(\Psi;P_{\pi})=F(\Psi;P)\quad\forall\pi\in\mathfrak S_l\ \text{(contexts only)}",
    provenance=Provenance.DERIVED_HIGH, check=check_e_perm, tolerance=_EXACT_TOL,
    notes="Not a spec id (spec E3). Reconstructed consequence of the model (no positional encoding).",
    **_EXACT_COMMON,
))
register(Claim(
    id="L-E-HOMOG", control=Control("L-M36", {}, 0), reference="spec §4.1 E5 (setting; supports L-T37)",
    title="F is positively homogeneous in W_O and odd in a",
    statement=r"F(cW_O)=cF\ (c>0),\qquad F(-a)=-F",
    provenance=Provenance.DERIVED_HIGH, check=check_e_homog, tolerance=_EXACT_TOL + "; times max(c, 1)",
    notes="Not a spec id (spec E5). Reconstructed consequence of ReLU's positive homogeneity.",
    **(_EXACT_COMMON | {"params": INSTANCE_PARAMS + (Param("c", float, gt=0, max=1e3, doc="scale of W_O"),),
                        "defaults": INSTANCE_DEFAULTS | {"c": 2.5}}),
))
register(Claim(
    id="L-E-PRUNE", control=Control("L-M11", {}, 0), reference="spec §4.1 E6 (supports L-T37)",
    title="Pruning semantics: zeroing rows = zeroing a_i = deleting; empty set, all neurons, magnitude order",
    statement=r"F(\Psi_{\setminus S})=a_{\setminus S}^\top\mathrm{ReLU}(\cdot);\ S=\emptyset\Rightarrow F;\ "
              r"S=[m]\Rightarrow F=0,\ \ell=1;\ S_{mag}=\mathrm{argsort}\|W_{O,(i)}\|\ (\text{ties by index})",
    provenance=Provenance.STATED, check=check_e_prune, tolerance=_EXACT_TOL + "; empty/all-neuron cases bitwise",
    notes="Not a spec id (spec E6). Pruning = removing W_O rows is STATED on the slides.",
    **_EXACT_COMMON,
))
register(Claim(
    id="L-E-HINGE", control=Control("L-M09", {}, 0), reference="spec §4.1 E7 (supports L-T33, L-T34)",
    title="Hinge-loss facts: nonnegative, zero iff z F >= 1, bounds the 0-1 error, subgradient -z 1{zF < 1}",
    statement=r"\ell\ge0;\ \ell=0\iff zF\ge1;\ \mathbb 1\{zF\le0\}\le\ell;\ \partial_F\ell=-z\,\mathbb 1\{zF<1\}",
    provenance=Provenance.STATED, kind=Kind.IDENTITY, cost=Cost.CHEAP, check=check_e_hinge,
    params=(Param("n_values", int, min=8, max=100_000, doc="F values checked"),
            Param("spread", float, gt=0, max=100, doc="F ~ N(0, spread^2)")),
    defaults={"n_values": 256, "spread": 2.0},
    tolerance="exact comparisons (bitwise); max(0, 1 - zF): 8 eps x 2 x (|zF| + 1)",
    notes="Not a spec id (spec E7). The hinge loss is STATED; at the kink autograd takes subgradient 0, which is "
          "the convention -z 1{zF < 1}.",
    paper=PAPER,
))
register(Claim(
    id="L-E-LABEL", control=Control("L-M04", {}, 0), reference="spec §4.1 E9 (supports L-P42)",
    title="Label-embedding symmetry: q -> -q with the label columns of W_Q, W_K, W_V negated leaves F unchanged",
    statement=r"F(\Psi';P')=F(\Psi;P),\ P'=P\ \text{with } y\to-y,\ W'_{\{Q,K,V\}}=W_{\{Q,K,V\}}\,"
              r"\mathrm{diag}(I_{d_X},-I_{d_Y})",
    provenance=Provenance.DERIVED_HIGH, check=check_e_label, tolerance=_EXACT_TOL,
    notes="Not a spec id (spec E9). The spec negates only W_V's label columns; the attention scores then change "
          "(W_K p_i depends on the label block), so W_K's must be negated too (the negative control shows the "
          "spec's literal version fails).",
    **_EXACT_COMMON,
))


# ---------------------------------------------------------------------------------------------------- L-E-DATA
DATA_PARAMS = tuple(_FIELD_PARAMS[k] for k in (
    "d_X", "d_Y", "M1", "M2", "beta", "q_norm", "kappa_dist", "kappa_max", "n_task_families", "l", "alpha",
    "alpha_test", "l_test", "test_both_patterns", "M1_ood", "S1", "s1_definition", "s1_spread")) + (
    Param("n_prompts", int, min=10, max=100_000, doc="prompts per seed"),
    Param("n_seeds", int, min=1, max=64, doc="independent pattern sets"))
DATA_DEFAULTS = {k: WORLD_DEFAULTS[k] for k in (p.name for p in DATA_PARAMS) if k in WORLD_DEFAULTS}
DATA_DEFAULTS |= {"n_prompts": 500, "n_seeds": 2}
# A cheap claim runs 1000 examples under the thorough profile: at FFR (1e-3) per example such a run would fail about
# once by chance (it did: seed 320, a count 4 sd out, found by target()); 1e-6 per example keeps it at <= 1e-3 per
# run, as for the cheap statistical claims of ren2024 and yang2024.
DATA_FFR = 1e-6


def check_e_data(cfg: dict, ctx: CheckContext) -> Outcome:
    impl = ctx.impl
    lc = impl.LiConfig.from_mapping(cfg)
    S, n, l, M1 = cfg["n_seeds"], cfg["n_prompts"], cfg["l"], cfg["M1"]
    idr, idi = impl.orthonormal_patterns(lc, S, ctx.generator(1))
    tr = impl.train_tasks(M1, lc.n_task_families, device=ctx.device)
    pr = impl.sample_prompts(lc, impl.Domain(idr, idi, tr), n, ctx.generator(2), dtype=F64)
    ctxp, a, b = pr.pattern[..., :-1], pr.task[..., :1], pr.task[..., 1:]
    N = ctxp.numel()
    tests = []  # (name, count, trials, p)
    tests.append(("contexts with pattern a", int((ctxp == a).sum()), N, lc.alpha / 2))
    tests.append(("contexts with pattern b", int((ctxp == b).sum()), N, lc.alpha / 2))
    for j in range(M1):
        nontask = (a != j) & (b != j)
        trials = int(nontask.sum()) * l
        if trials:
            tests.append((f"contexts with non-task pattern {j}", int(((ctxp == j) & nontask).sum()), trials,
                          (1 - lc.alpha) / (M1 - 2)))
    other = (ctxp != a) & (ctxp != b)
    tests.append(("non-task labels +1", int(((pr.label > 0) & other).sum()), int(other.sum()), 0.5))
    tests.append(("query label +1", int((pr.z > 0).sum()), pr.z.numel(), 0.5))
    tests = [t for t in tests if t[2] > 0 and 0 < t[3] < 1]
    r = DATA_FFR / max(len(tests), 1)
    worst, worst_gap, binom = None, math.inf, {}
    for name, k, trials, prob in tests:
        lo, hi = binomial_acceptance(trials, prob, r)
        gap = min(k - lo, hi - k)
        binom[name] = {"count": k, "trials": trials, "p": prob, "acceptance": [lo, hi]}
        if gap < worst_gap:
            worst, worst_gap = name, gap
    parts = {"pattern and label frequencies within binomial acceptance bounds":
             Outcome.at_least(float(worst_gap), 0.0, details={"worst": worst})}
    # exact structure
    task_ctx = (ctxp == a) | (ctxp == b)
    f_label = torch.where(ctxp == a, 1, -1)
    parts["labels follow f on task-pattern contexts"] = Outcome.at_most(
        float((pr.label != f_label)[task_ctx].sum()), 0.0)
    q_pat, qa = pr.pattern[..., -1], pr.task[..., 0]
    parts["query: pattern a or b, z = +1 iff its pattern is a"] = Outcome.at_most(
        float(((q_pat != qa) & (q_pat != pr.task[..., 1])).sum() + ((pr.z > 0) != (q_pat == qa)).sum()), 0.0)
    y = pr.P[..., lc.d_X:]
    q_expected = torch.zeros_like(y)
    q_expected[..., :-1, 0] = pr.label.to(F64) * lc.q_norm
    parts["y_i = +-q, query label block 0"] = Outcome.at_most(max_abs_error(y, q_expected), 0.0)
    s_idx = torch.arange(S, device=ctx.device).view(S, 1, 1)
    resid = pr.P[..., : lc.d_X] - idr[s_idx, pr.pattern]  # kappa nu_k
    gram_tol = identity_tolerance(F64, lc.d_X, max(lc.beta, 1.0) ** 2)
    parts["x - mu_pattern = kappa nu_k, |kappa| <= K"] = Outcome.at_most(
        float(resid.norm(dim=-1).max()), lc.kappa_max + gram_tol)
    proj = resid @ (idi.transpose(-1, -2) @ idi).unsqueeze(1)  # onto span(IDI)
    parts["x - mu_pattern in span(IDI)"] = Outcome.at_most(max_abs_error(proj, resid), gram_tol)
    G = torch.cat([idr, idi], 1)
    gram = G @ G.transpose(-1, -2)
    target = torch.diag_embed(torch.cat([torch.full((M1,), lc.beta ** 2, dtype=F64),
                                         torch.ones(lc.M2, dtype=F64)]).to(ctx.device)).expand_as(gram)
    parts["IDR orthogonal (norm beta), IDI orthonormal, IDR perp IDI"] = Outcome.at_most(max_abs_error(gram, target),
                                                                                         gram_tol)
    allt = impl.all_tasks(M1)
    parts["|T| = M1 (M1 - 1) distinct ordered pairs"] = Outcome.at_most(
        abs(len({tuple(t) for t in allt.tolist()}) - M1 * (M1 - 1)) + int((allt[:, 0] == allt[:, 1]).sum()), 0.0)
    pos, neg = coverage_counts(tr, M1)
    parts["Condition 3.2 for T_tr"] = Outcome.at_most(float((pos - neg).abs().max() + (pos.max() - pos.min())), 0.0)
    rot = random_rotation(S, lc.M2, ctx.generator(3))
    od = impl.ood_domain(lc, idr, idi, rot)
    K = impl.ood_coefficients(lc, dtype=F64, device=ctx.device)
    span_res = od.rel - od.rel @ idr.transpose(-1, -2) @ idr / lc.beta ** 2
    sums = K.sum(-1)
    s1 = float(sums.min() if lc.s1_definition == "min" else sums.mean())
    parts["ODR in span(IDR)"] = Outcome.at_most(float(span_res.abs().max()), gram_tol * max(lc.S1, 1.0))
    parts["ODR coefficient sum S1"] = Outcome.at_most(abs(s1 - lc.S1), identity_tolerance(F64, M1, lc.S1 + 1))
    K_ref = torch.zeros(lc.M1_ood, M1, dtype=F64, device=ctx.device)  # the spec's mu'_j = (S1_j/2)(mu_2j + mu_2j+1)
    steps = [j / (lc.M1_ood - 1) - (0.5 if lc.s1_definition == "mean" else 0.0) for j in range(lc.M1_ood)]
    for j, t in enumerate(steps):
        K_ref[j, 2 * j] = K_ref[j, 2 * j + 1] = (lc.S1 + lc.s1_spread * t) / 2
    parts["ODR = K IDR (K of the spec)"] = Outcome.at_most(max_abs_error(od.rel, K_ref @ idr),
                                                           gram_tol * max(lc.S1 + lc.s1_spread, 1.0))
    parts["ood_coefficients = K of the spec"] = Outcome.at_most(max_abs_error(K, K_ref),
                                                                identity_tolerance(F64, 2, lc.S1 + lc.s1_spread + 1))
    parts["ODI = the rotation of the IDI basis"] = Outcome.at_most(max_abs_error(od.irr, rot @ idi), gram_tol)
    tcfg = lc.replace(test_sampling="guaranteed")
    tp = impl.make_test_prompts(tcfg, impl.Domain(idr, idi, tr), n, ctx.generator(4), dtype=F64)
    need = n_same_pattern(lc.alpha_test, lc.l_test)
    same = (tp.pattern[..., :-1] == tp.pattern[..., -1:]).sum(-1)
    parts["test prompts: l_ts contexts, exactly ceil(alpha' l_ts/2) with the query's pattern"] = Outcome.at_most(
        float((same != need).sum()) + abs(tp.P.shape[-2] - 1 - lc.l_test), 0.0)
    # the overrides l, alpha of make_test_prompts take precedence over cfg.l_test, cfg.alpha_test
    l2, a2 = lc.l_test + 3, (0.5 if lc.alpha_test > 0.75 else 1.0)
    tp2 = impl.make_test_prompts(tcfg, impl.Domain(idr, idi, tr), n, ctx.generator(5), l=l2, alpha=a2, dtype=F64)
    same2 = (tp2.pattern[..., :-1] == tp2.pattern[..., -1:]).sum(-1)
    parts["test prompts with overrides l, alpha': their length and same-pattern count"] = Outcome.at_most(
        float((same2 != n_same_pattern(a2, l2)).sum()) + abs(tp2.P.shape[-2] - 1 - l2), 0.0)
    if lc.test_both_patterns:
        opp_pat = torch.where(tp.z > 0, tp.task[..., 1], tp.task[..., 0]).unsqueeze(-1)
        opp = (tp.pattern[..., :-1] == opp_pat).sum(-1)
        parts["test prompts: as many opposite-pattern contexts"] = Outcome.at_least(
            float(opp.min()), min(need, lc.l_test - need))
    return Outcome.all_of(parts, instances=S, details={"binomial tests": binom, "rate per test": r})


register(Claim(
    id="L-E-DATA", control=Control("L-M20", {}, 0), power=POWER, paper=PAPER, reference="spec §4.1 E8 (supports L-C32, L-T33, L-T34)",
    title="Data-generator contract: pattern and label frequencies, orthogonality, tasks, Condition 3.2, OOD span",
    statement=r"\#\{\text{pattern } a\}\sim\mathrm{Bin}(N,\alpha/2),\ \#\{j\notin\{a,b\}\}\sim\mathrm{Bin}"
              r"(N_j,\tfrac{1-\alpha}{M_1-2});\ \mu_j\perp\nu_k;\ |\mathcal T|=M_1(M_1-1);\ \mu'_j\in"
              r"\mathrm{span}(\mu),\ \textstyle\sum_i k_{j,i}=S_1;\ \nu'\in\mathrm{span}(\nu)",
    provenance=Provenance.DERIVED_HIGH, kind=Kind.STATISTICAL, cost=Cost.CHEAP, check=check_e_data,
    params=DATA_PARAMS, defaults=DATA_DEFAULTS, false_fail_rate=DATA_FFR,
    tolerance="counts: exact binomial acceptance intervals at 1e-6 per example split over the tests (Bonferroni); "
              "geometry: 8 eps(float64) x d_X x max(beta, 1)^2; structure: exact",
    notes="Not a spec id (spec E8). The distributions are the spec's reading of the slides (MED/LOW: kappa "
          "distribution, query pattern a/b with probability 1/2, both task patterns guaranteed in test prompts).",
))

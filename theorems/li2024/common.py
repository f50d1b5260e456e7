"""World and data: the parameters, the cached trained world (one training per implementation, config, seed
batch and device), prompts, the claims' own measurements and the statistics (decisions over training seeds)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable
import numpy as np
import torch
from models.li2024 import LiConfig as _ReferenceConfig
from theorems.core import Assumption, CheckContext, Outcome, Param
from theorems.tolerances import mean_verdict
if TYPE_CHECKING:  # annotations only
    from models import li2024 as m
DTYPES = {"float32": torch.float32, "float64": torch.float64}
POWER = 0.9
PAPER = "li2024"
F64 = torch.float64
FFR = 1e-3
PRUNE_RATES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
S1_GRID = (0.5, 0.7, 0.9, 1.1, 1.3)
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

    # The domains are built through the reading check's implementation (its record of used members), which is the
    # one that trained the world: the cache key starts with impl.key.
    def id_domain(self, impl) -> m.Domain:
        return impl.Domain(self.idr, self.idi, self.test_tasks)

    def ood_domain(self, impl, ecfg, S1: float) -> m.Domain:
        return impl.ood_domain(ecfg, self.idr, self.idi, self.rotation, S1)


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


def _cached(key: tuple, build: Callable[[], Any], impl: Any) -> Any:
    """build() once per key. The API members the build called are stored with it and recorded as used by every
    check that gets the cached value (impl.used): a claim uses the training it reads, whichever claim paid for it
    (the kill matrix skips a mutant of a member that no claim's record reaches)."""
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        outer, impl.used = impl.used, set()
        try:
            value = build()
        finally:
            built, impl.used = impl.used, outer | impl.used
        _CACHE[key] = (value, frozenset(built))
    value, built = _CACHE[key]
    impl.used |= built
    return value


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
                                             str(ctx.device)), impl)


def _eval_cfg(cfg: dict, ctx: CheckContext):
    return ctx.impl.LiConfig.from_mapping(cfg)


def id_prompts(w: World, cfg: dict, ctx: CheckContext, *, offset: int = 10, **kw) -> m.Prompts:
    """Test prompts from the held-out in-domain tasks T \\ T_tr (evaluation randomness from the run seed)."""
    n = kw.pop("n", cfg["n_test"])
    return ctx.impl.make_test_prompts(_eval_cfg(cfg, ctx), w.id_domain(ctx.impl), n, ctx.generator(offset),
                                      dtype=DTYPES[cfg["dtype"]], **kw)


def ood_prompts(w: World, cfg: dict, ctx: CheckContext, S1: float, *, offset: int = 11, **kw) -> m.Prompts:
    """OOD test prompts. The same ``offset`` draws the same tasks, kappas, IDI indices and labels for every S1
    (common random numbers), so differences across S1 are paired."""
    ecfg = _eval_cfg(cfg, ctx)
    n = kw.pop("n", cfg["n_test"])
    return ctx.impl.make_test_prompts(ecfg, w.ood_domain(ctx.impl, ecfg, S1), n, ctx.generator(offset),
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


def rows_verdict(x, bound: float, side: str, rate: float, *, over: str = "prompts", labels: list[str] | None = None,
                 resolution: float = RES_RATE, what: str = "mean", unit: str = "seeds") -> Outcome:
    """Each row's mean over the training seeds <= bound (side "at_most") or >= bound ("at_least"), by mean_verdict:
    the unit of replication is the separately trained seed. ``over="prompts"``: x is (..., S, n) per-prompt values of
    S trained models, first averaged over the prompts into one value per seed; ``over="seeds"``: x is (K, S) (or
    (S,)) already one value per seed."""
    x = torch.as_tensor(x).double().cpu()
    if over == "prompts":
        x = x.mean(-1)
    elif over != "seeds":
        raise ValueError(f"over must be 'prompts' or 'seeds', got {over!r}")
    x = x.reshape(-1, x.shape[-1])
    K = x.shape[0]
    r = rate / K
    outs = {}
    for i, row in enumerate(x):
        outs[labels[i] if labels else f"row {i}"] = mean_verdict(row.numpy(), bound, side, rate=r, power=POWER,
                                                                 resolution=resolution, what=what, unit=unit)
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


def fraction_at_least(hits: torch.Tensor, mask: torch.Tensor, frac: float, rate: float,
                      resolution: float = RES_RATE, what: str = "fraction") -> Outcome:
    """Mean over seeds of each seed's fraction of hits among its ``mask`` neurons (both (S, m) bool) >= ``frac``."""
    per = (hits & mask).double().sum(-1) / mask.double().sum(-1).clamp_min(1)
    return rows_verdict(per.reshape(1, -1), frac, "at_least", rate, over="seeds", resolution=resolution,
                        what=f"per-seed {what}")


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

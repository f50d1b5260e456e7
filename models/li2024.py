"""Li, Wang, Lu, Cui & Chen (ICML 2024): a one-layer softmax-attention + ReLU-MLP transformer learns binary ICL.

Notation (spec ../shared/papers/li2024.md, §1). Everything carries a leading batch dimension ``S`` of independent
seeds (patterns, initialisation and training batches differ per seed) and a prompt dimension ``n``.

- Patterns: ``M1`` in-domain-relevant (IDR) ``mu_j`` and ``M2`` in-domain-irrelevant (IDI) ``nu_k`` in R^{d_X},
  orthonormal (IDR scaled to norm ``beta``); inputs ``x = mu_j + kappa nu_k``.
- Label embedding ``y = +q`` (label +1) or ``-q`` (label -1), ``q = q_norm e_1`` in R^{d_Y}; the query has ``y = 0``.
- A prompt is stored **tokens as rows**: ``P`` (S, n, l+1, d) with ``d = d_X + d_Y``; row ``i < l`` is the context
  column ``p_i = (x_i, y_i)`` of the paper and the last row is ``p_query``. (The paper writes P as columns.)
- Tasks: ordered IDR pairs ``(a, b)``: label +1 for pattern a, -1 for pattern b, a random label otherwise.
- Model ``F(P) = a^T ReLU(W_O sum_{i<=l} W_V p_i attn_i)``, ``attn_i = softmax_i((W_K p_i)^T W_Q p_query)`` over
  the l context rows only (the query does not attend to itself); no residual, positional encoding or LayerNorm.
  ``W_Q, W_K`` (S, m_a, d), ``W_V`` (S, m_b, d), ``W_O`` (S, m, m_b), ``a`` (S, m) fixed; m_a = m_b = d.
- Hinge loss ``max(0, 1 - z F)``; plain SGD on fresh prompts; pruning removes rows of ``W_O``.

Every free choice the spec lists as ambiguous or NOT FOUND is a field of :class:`LiConfig` with the spec's
calibrated default (its §4 defaults delta = 0.1, one step size 0.1 do not learn). The paper's deeper model (a small
GPT-2-style transformer) is at the end of this file.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple

import torch

from models.batched import layer_norm, linear
from models.validation import ConfigError, check_finite

Tensor = torch.Tensor


# ---------------------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class LiConfig:
    """All knobs of the setting. Defaults: the spec's calibrated working configuration (its last section)."""

    # patterns and inputs
    d_X: int = 30  # feature dimension (M1 + M2 = d_X in the experiments, MED)
    d_Y: int = 4  # label-embedding dimension (NOT FOUND)
    M1: int = 6  # IDR patterns
    M2: int = 24  # IDI patterns
    beta: float = 1.0  # ||mu_j||, "magnitude of the relevant features" (LOW/MED)
    q_norm: float = 1.0  # ||q|| (LOW)
    kappa_dist: str = "uniform"  # "uniform": kappa ~ U(-K, K); "sign": kappa = +-K with equal probability (LOW)
    kappa_max: float = 0.4  # K
    # tasks (Condition 3.2)
    n_task_families: int = 1  # |T_tr| = n_task_families * M1 cyclic shifts (a, a+s mod M1)
    task_cover: str = "cyclic"  # "cyclic" satisfies Condition 3.2; "lexicographic" (first pairs in order) does not
    # prompts
    l: int = 20  # training prompt length l_tr
    alpha: float = 0.8  # training fraction of task-pattern contexts
    alpha_test: float = 0.8  # alpha'
    l_test: int = 20  # l_ts
    test_sampling: str = "guaranteed"  # "guaranteed": ceil(alpha' l/2) same-pattern contexts; "training": iid as train
    test_both_patterns: bool = True  # guaranteed mode: also ceil(alpha' l/2) contexts of the opposite task pattern (MED)
    # out of domain
    M1_ood: int = 3  # ODR patterns mu'_j = (S1_j / 2)(mu_{2j} + mu_{2j+1})
    S1: float = 1.1  # coefficient sum of the ODR patterns
    s1_definition: str = "min"  # S1 := min_j S1_j ("min") or mean_j S1_j ("mean") (NOT FOUND)
    s1_spread: float = 0.0  # S1_j spread evenly over [S1, S1 + spread] ("min") or centred on S1 ("mean")
    # model and initialisation
    m: int = 64  # MLP neurons
    delta: float = 0.3  # W_Q = W_K = W_V = delta I at init (spec §4: 0.1, which does not learn)
    xi: float = 0.01  # W_O ~ N(0, xi^2) at init (NOT FOUND)
    a_scale: str = "sqrt"  # a_i = +-1/sqrt(m) ("sqrt") or +-1/m ("linear"), exactly half of each sign, fixed
    train_WV: bool = True  # whether W_V is trained (MED)
    # training
    eta_QK: float = 5.0  # SGD step for W_Q, W_K
    eta_OV: float = 1.0  # SGD step for W_O, W_V
    batch: int = 64  # B
    steps: int = 1000  # T
    # pruning
    prune_norm: str = "W_O"  # magnitude of neuron i: ||W_O,(i)|| ("W_O") or ||(W_O W_V)_(i)|| ("W_O W_V")

    CHOICES = {
        "kappa_dist": ("uniform", "sign"),
        "task_cover": ("cyclic", "lexicographic"),
        "test_sampling": ("guaranteed", "training"),
        "s1_definition": ("min", "mean"),
        "a_scale": ("sqrt", "linear"),
        "prune_norm": ("W_O", "W_O W_V"),
    }

    def __post_init__(self) -> None:
        for name, choices in self.CHOICES.items():
            if getattr(self, name) not in choices:
                raise ConfigError(name, f"must be one of {list(choices)}, got {getattr(self, name)!r}")
        for name in ("d_X", "d_Y", "M1", "M2", "l", "l_test", "m", "batch", "M1_ood", "n_task_families"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(name, f"must be >= 1, got {getattr(self, name)!r}")
        if self.steps < 0:
            raise ConfigError("steps", f"must be >= 0, got {self.steps}")
        for name in ("beta", "q_norm", "delta", "kappa_max", "xi", "eta_QK", "eta_OV", "S1", "s1_spread"):
            v = getattr(self, name)
            if not math.isfinite(v):
                raise ConfigError(name, f"must be finite, got {v!r}")
        for name in ("beta", "q_norm", "delta"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, f"must be > 0, got {getattr(self, name)!r}")
        for name in ("kappa_max", "xi", "eta_QK", "eta_OV", "s1_spread"):
            if getattr(self, name) < 0:
                raise ConfigError(name, f"must be >= 0, got {getattr(self, name)!r}")
        for name in ("alpha", "alpha_test"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(name, f"must be in (0, 1], got {getattr(self, name)!r}")
        if self.M1 < 3:
            raise ConfigError("M1", f"must be >= 3 (a task uses two IDR patterns; contexts draw the others), got {self.M1}")
        if self.M1 + self.M2 > self.d_X:
            raise ConfigError("M2", f"M1 + M2 = {self.M1 + self.M2} orthonormal patterns do not fit in d_X = {self.d_X}")
        if 2 * self.M1_ood > self.M1:
            raise ConfigError("M1_ood", f"each ODR pattern combines two IDR patterns: need 2 M1_ood <= M1 = {self.M1}")
        if self.M1_ood < 2:
            raise ConfigError("M1_ood", f"an OOD task needs two ODR patterns, got {self.M1_ood}")
        if self.n_task_families > self.M1 - 1:
            raise ConfigError("n_task_families", f"at most M1 - 1 = {self.M1 - 1} cyclic shifts exist")

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any], **overrides: Any) -> "LiConfig":
        """The fields of ``cfg`` that are config fields (other keys, e.g. a claim's thresholds, are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in cfg.items() if k in names}
        kw.update(overrides)
        return cls(**kw)

    @property
    def d(self) -> int:
        return self.d_X + self.d_Y

    def replace(self, **kw: Any) -> "LiConfig":
        return dataclasses.replace(self, **kw)


DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ---------------------------------------------------------------------------------------------------- patterns, tasks
class Domain(NamedTuple):
    """Relevant and irrelevant patterns of one domain (rows), and its task list."""

    rel: Tensor  # (S, M, d_X): IDR mu_j or ODR mu'_j
    irr: Tensor  # (S, M2, d_X): IDI nu_k or ODI nu'_k
    tasks: Tensor  # (T, 2) long: ordered pairs (a, b), shared by all seeds


def orthonormal_patterns(cfg: LiConfig, S: int, gen: torch.Generator, dtype=torch.float64) -> tuple[Tensor, Tensor]:
    """IDR (S, M1, d_X) of norm beta and IDI (S, M2, d_X) of norm 1: rows of a random orthonormal basis (QR)."""
    G = torch.randn(S, cfg.d_X, cfg.d_X, generator=gen, dtype=dtype, device=gen.device)
    Q, R = torch.linalg.qr(G)
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)  # Haar-distributed basis
    rows = Q.transpose(-1, -2)
    return cfg.beta * rows[:, : cfg.M1], rows[:, cfg.M1: cfg.M1 + cfg.M2]


def random_rotation(S: int, n: int, gen: torch.Generator, dtype=torch.float64) -> Tensor:
    """Haar-random orthogonal matrices (S, n, n)."""
    Q, R = torch.linalg.qr(torch.randn(S, n, n, generator=gen, dtype=dtype, device=gen.device))
    return Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)


def ood_coefficient_sums(cfg: LiConfig, S1: float | None = None) -> list[float]:
    """Per-pattern coefficient sums S1_j, spread so that min_j (or mean_j, per ``s1_definition``) equals S1."""
    S1 = cfg.S1 if S1 is None else S1
    M = cfg.M1_ood
    steps = [j / (M - 1) for j in range(M)]
    if cfg.s1_definition == "mean":
        steps = [t - 0.5 for t in steps]
    return [S1 + cfg.s1_spread * t for t in steps]


def ood_coefficients(cfg: LiConfig, S1: float | None = None, dtype=torch.float64, device=None) -> Tensor:
    """K (M1_ood, M1) with mu'_j = sum_i K_{j,i} mu_i: pattern j = (S1_j / 2)(mu_{2j} + mu_{2j+1})."""
    K = torch.zeros(cfg.M1_ood, cfg.M1, dtype=dtype, device=device)
    for j, s in enumerate(ood_coefficient_sums(cfg, S1)):
        K[j, 2 * j] = K[j, 2 * j + 1] = s / 2
    return K


def ood_domain(cfg: LiConfig, idr: Tensor, idi: Tensor, rotation: Tensor, S1: float | None = None) -> Domain:
    """ODR = K IDR (in span(IDR), coefficient sums S1_j); ODI = a rotation of the IDI basis (in span(IDI))."""
    K = ood_coefficients(cfg, S1, dtype=idr.dtype, device=idr.device)
    return Domain(K @ idr, rotation.to(idi.dtype) @ idi, all_tasks(cfg.M1_ood, idr.device))


def all_tasks(M: int, device=None) -> Tensor:
    """All M(M-1) ordered pairs (a, b), a != b."""
    return torch.tensor([(a, b) for a in range(M) for b in range(M) if a != b], dtype=torch.long, device=device)


def train_tasks(M1: int, n_families: int = 1, cover: str = "cyclic", device=None) -> Tensor:
    """T_tr. "cyclic": shifts s = 1, M1-1, 2, M1-2, ... of (a, a+s mod M1), n_families * M1 tasks; each pattern is the
    +1 pattern and the -1 pattern exactly n_families times (Condition 3.2). "lexicographic": the first
    n_families * M1 pairs in order, which over-represents pattern 0 (violates Condition 3.2)."""
    if cover == "lexicographic":
        return all_tasks(M1, device)[: n_families * M1]
    shifts, lo, hi = [], 1, M1 - 1
    while len(shifts) < M1 - 1:
        shifts.append(lo)
        if hi != lo and len(shifts) < M1 - 1:
            shifts.append(hi)
        lo, hi = lo + 1, hi - 1
    pairs = [(a, (a + s) % M1) for s in shifts[:n_families] for a in range(M1)]
    return torch.tensor(pairs, dtype=torch.long, device=device)


def heldout_tasks(M1: int, train: Tensor) -> Tensor:
    """T \\ T_tr (the in-domain test tasks)."""
    seen = {tuple(t) for t in train.tolist()}
    return torch.tensor([t for t in all_tasks(M1).tolist() if tuple(t) not in seen], dtype=torch.long,
                        device=train.device)


def coverage_counts(tasks: Tensor, M: int) -> tuple[Tensor, Tensor]:
    """For each pattern j: #{tasks with a = j} and #{tasks with b = j} (Condition 3.2 asks them equal, and uniform)."""
    return (torch.bincount(tasks[:, 0], minlength=M), torch.bincount(tasks[:, 1], minlength=M))


# ---------------------------------------------------------------------------------------------------- prompts
class Prompts(NamedTuple):
    P: Tensor  # (S, n, l+1, d) tokens as rows, query last
    z: Tensor  # (S, n) query label +-1
    pattern: Tensor  # (S, n, l+1) relevant-pattern index of every row (query last)
    task: Tensor  # (S, n, 2) the task (a, b)
    label: Tensor  # (S, n, l) context labels +-1

    @property
    def l(self) -> int:
        return self.P.shape[-2] - 1


def _other_patterns(a: Tensor, b: Tensor, M: int, shape, gen: torch.Generator) -> Tensor:
    """Uniform over the M-2 patterns other than a and b (broadcast over ``shape``)."""
    r = torch.randint(0, M - 2, shape, generator=gen, device=gen.device)
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    r = r + (r >= lo).long()
    return r + (r >= hi).long()


def _signs(shape, gen: torch.Generator) -> Tensor:
    return torch.randint(0, 2, shape, generator=gen, device=gen.device) * 2 - 1


def n_same_pattern(alpha_test: float, l: int) -> int:
    """ceil(alpha' l / 2): the guaranteed number of contexts sharing the query's pattern in a test prompt."""
    return min(l, math.ceil(alpha_test * l / 2 - 1e-12))


def sample_prompts(cfg: LiConfig, domain: Domain, n: int, gen: torch.Generator, *, l: int | None = None,
                   alpha: float | None = None, mode: str = "training", labels: str = "task",
                   dtype: torch.dtype = torch.float32) -> Prompts:
    """``n`` prompts per seed from ``domain`` (all seeds at once, no loop over prompts).

    mode "training": the query is pattern a or b (prob 1/2 each); every context is a (alpha/2), b (alpha/2) or one of
    the other M-2 patterns (uniform). mode "guaranteed": ceil(alpha l/2) contexts share the query's pattern,
    ceil(alpha l/2) have the opposite task pattern (``cfg.test_both_patterns``; otherwise the rest are uniform over the
    M-1 patterns other than the query's), the rest are other patterns; then shuffled.
    labels "task": labels follow f (random for non-task patterns); "shuffled": every label is an independent fair
    sign, so the prompts carry no task (a negative control).
    """
    S, M = domain.rel.shape[0], domain.rel.shape[1]
    l = cfg.l if l is None else int(l)
    alpha = cfg.alpha if alpha is None else float(alpha)
    if l < 1:
        raise ConfigError("l", f"must be >= 1, got {l}")
    if not 0 < alpha <= 1:
        raise ConfigError("alpha", f"must be in (0, 1], got {alpha}")
    dev = gen.device
    T = domain.tasks.shape[0]
    task = domain.tasks[torch.randint(0, T, (S, n), generator=gen, device=dev)]  # (S, n, 2)
    a, b = task[..., 0:1], task[..., 1:2]  # (S, n, 1)
    z = _signs((S, n), gen)
    q_pat = torch.where(z > 0, a[..., 0], b[..., 0])  # (S, n)
    if mode == "training":
        if alpha < 1 and M < 3:
            raise ConfigError("alpha", f"alpha < 1 needs a non-task pattern, but the domain has only M = {M}")
        u = torch.rand(S, n, l, generator=gen, device=dev)
        other = _other_patterns(a, b, M, (S, n, l), gen) if M >= 3 else a.expand(S, n, l)
        ctx = torch.where(u < alpha / 2, a, torch.where(u < alpha, b, other))
    elif mode == "guaranteed":
        n_same = n_same_pattern(alpha, l)
        qp = q_pat.unsqueeze(-1)
        opp = torch.where(z > 0, b[..., 0], a[..., 0]).unsqueeze(-1)
        if cfg.test_both_patterns:
            n_opp = min(n_same, l - n_same)
            n_rest = l - n_same - n_opp
            if n_rest and M < 3:
                raise ConfigError("alpha_test", f"leaves {n_rest} non-task contexts but the domain has only M = {M}")
            rest = _other_patterns(a, b, M, (S, n, n_rest), gen)
            ctx = torch.cat([qp.expand(S, n, n_same), opp.expand(S, n, n_opp), rest], -1)
        else:
            n_rest = l - n_same
            r = torch.randint(0, M - 1, (S, n, n_rest), generator=gen, device=dev)
            rest = r + (r >= qp).long()  # uniform over the patterns other than the query's
            ctx = torch.cat([qp.expand(S, n, n_same), rest], -1)
        perm = torch.argsort(torch.rand(S, n, l, generator=gen, device=dev), dim=-1)
        ctx = torch.gather(ctx, -1, perm)
    else:
        raise ConfigError("test_sampling", f"must be 'training' or 'guaranteed', got {mode!r}")
    pattern = torch.cat([ctx, q_pat.unsqueeze(-1)], -1)  # (S, n, l+1)
    if labels == "task":
        lab = torch.where(ctx == a, 1, torch.where(ctx == b, -1, _signs((S, n, l), gen)))
    elif labels == "shuffled":
        lab = _signs((S, n, l), gen)
        z = _signs((S, n), gen)
    else:
        raise ConfigError("labels", f"must be 'task' or 'shuffled', got {labels!r}")
    if cfg.kappa_dist == "uniform":
        kappa = (torch.rand(S, n, l + 1, generator=gen, device=dev, dtype=dtype) * 2 - 1) * cfg.kappa_max
    else:
        kappa = _signs((S, n, l + 1), gen).to(dtype) * cfg.kappa_max
    M2 = domain.irr.shape[1]
    k = torch.randint(0, M2, (S, n, l + 1), generator=gen, device=dev)
    # x = mu_pattern + kappa nu_k as one batched product: coefficients (1 at the pattern, kappa at M + k, 0 elsewhere)
    # times the stacked basis [rel; irr], instead of two gathers of (S, n, l+1, d_X) rows
    coef = torch.zeros(S, n, l + 1, M + M2, dtype=dtype, device=dev)
    coef.scatter_(-1, pattern.unsqueeze(-1), 1.0)
    coef.scatter_(-1, (M + k).unsqueeze(-1), kappa.unsqueeze(-1))
    basis = torch.cat([domain.rel, domain.irr], 1).to(dtype)  # (S, M + M2, d_X)
    P = torch.zeros(S, n, l + 1, cfg.d_X + cfg.d_Y, dtype=dtype, device=dev)
    P[..., : cfg.d_X] = (coef.view(S, -1, M + M2) @ basis).view(S, n, l + 1, -1)
    P[..., :l, cfg.d_X] = lab.to(dtype) * cfg.q_norm  # y_i = +-q with q = q_norm e_1; the query's label block is 0
    return Prompts(P, z, pattern, task, lab)


def make_test_prompts(cfg: LiConfig, domain: Domain, n: int, gen: torch.Generator, *, l: int | None = None,
                      alpha: float | None = None, dtype=torch.float32) -> Prompts:
    """Test prompts of length l_ts with fraction alpha' (``cfg.test_sampling``)."""
    return sample_prompts(cfg, domain, n, gen, l=cfg.l_test if l is None else l,
                          alpha=cfg.alpha_test if alpha is None else alpha, mode=cfg.test_sampling, dtype=dtype)


# ---------------------------------------------------------------------------------------------------- model
class Params(NamedTuple):
    """Psi = {W_Q, W_K, W_V, W_O, a}, each with a leading seed dimension S."""

    W_Q: Tensor  # (S, m_a, d)
    W_K: Tensor  # (S, m_a, d)
    W_V: Tensor  # (S, m_b, d)
    W_O: Tensor  # (S, m, m_b)
    a: Tensor  # (S, m), fixed

    def detach(self) -> "Params":
        return Params(*(t.detach().clone() for t in self))

    def to(self, dtype: torch.dtype) -> "Params":
        return Params(*(t.to(dtype) for t in self))


def check_params(p: Params, P: Tensor) -> None:
    if P.dim() != 4:
        raise ConfigError("P", f"must have shape (S, n, l+1, d), got {tuple(P.shape)}")
    S, _, L1, d = P.shape
    if L1 < 2:
        raise ConfigError("l", "a prompt needs at least one context row before the query")
    for name, W in (("W_Q", p.W_Q), ("W_K", p.W_K), ("W_V", p.W_V)):
        if W.dim() != 3 or W.shape[0] != S or W.shape[2] != d:
            raise ConfigError(name, f"must have shape (S={S}, m, d={d}), got {tuple(W.shape)}")
    if p.W_Q.shape[1] != p.W_K.shape[1]:
        raise ConfigError("W_K", f"key dim {p.W_K.shape[1]} differs from query dim {p.W_Q.shape[1]}")
    if p.W_O.dim() != 3 or p.W_O.shape[0] != S or p.W_O.shape[2] != p.W_V.shape[1]:
        raise ConfigError("W_O", f"must have shape (S={S}, m, m_b={p.W_V.shape[1]}), got {tuple(p.W_O.shape)}")
    if p.a.shape != p.W_O.shape[:2]:
        raise ConfigError("a", f"must have shape {tuple(p.W_O.shape[:2])}, got {tuple(p.a.shape)}")
    check_finite("P", P)


def init_params(cfg: LiConfig, S: int, gen: torch.Generator, dtype=torch.float32) -> Params:
    """W_Q = W_K = W_V = delta I (m_a = m_b = d), W_O ~ N(0, xi^2), a = +-1/sqrt(m) (or 1/m), half of each sign."""
    d, m, dev = cfg.d, cfg.m, gen.device
    eye = cfg.delta * torch.eye(d, dtype=dtype, device=dev).expand(S, d, d)
    W_O = cfg.xi * torch.randn(S, m, d, generator=gen, dtype=dtype, device=dev)
    rank = torch.argsort(torch.rand(S, m, generator=gen, device=dev), dim=-1)
    sign = torch.where(rank < (m + 1) // 2, 1.0, -1.0).to(dtype)
    scale = 1 / math.sqrt(m) if cfg.a_scale == "sqrt" else 1 / m
    return Params(eye.clone(), eye.clone(), eye.clone(), W_O, sign * scale)


def attention(p: Params, P: Tensor) -> Tensor:
    """attn (S, n, l): softmax over the l context rows of (W_K p_i)^T W_Q p_query."""
    ctx, qry = P[..., :-1, :], P[..., -1:, :]  # (S, n, l, d), (S, n, 1, d)
    S, n = P.shape[:2]
    u = qry.reshape(S, n, -1) @ p.W_Q.transpose(-1, -2)  # W_Q p_query (S, n, m_a)
    v = u @ p.W_K  # W_K^T W_Q p_query (S, n, d)
    scores = (ctx @ v.unsqueeze(-1)).squeeze(-1)  # (S, n, l)
    return torch.softmax(scores, dim=-1)


class Forward(NamedTuple):
    attn: Tensor  # (S, n, l)
    pooled: Tensor  # (S, n, d): sum_i attn_i p_i
    h: Tensor  # (S, n, m_b): W_V pooled (the attention layer's output at the query)
    pre: Tensor  # (S, n, m): W_O h, the neurons' pre-activations
    F: Tensor  # (S, n)


def forward(p: Params, P: Tensor, keep: Tensor | None = None, validate: bool = False) -> Forward:
    """F(Psi; P) = a^T ReLU(W_O W_V sum_i attn_i p_i); ``keep`` (S, m) masks pruned neurons (1 = kept)."""
    if validate:
        check_params(p, P)
    attn = attention(p, P)
    pooled = (attn.unsqueeze(-2) @ P[..., :-1, :]).squeeze(-2)
    h = pooled @ p.W_V.transpose(-1, -2)
    pre = h @ p.W_O.transpose(-1, -2)
    return Forward(attn, pooled, h, pre, output(pre, p.a, keep))


def output(pre: Tensor, a: Tensor, keep: Tensor | None = None) -> Tensor:
    """a^T ReLU(pre) with the pruned neurons' a_i set to zero (equivalent to deleting their W_O rows)."""
    w = a if keep is None else a * keep.to(a.dtype)
    return (torch.relu(pre) @ w.unsqueeze(-1)).squeeze(-1)


def F(p: Params, P: Tensor) -> Tensor:
    return forward(p, P).F


def hinge(Fv: Tensor, z: Tensor) -> Tensor:
    """ell = max(0, 1 - z F)."""
    return torch.relu(1 - z * Fv)


def hinge_subgradient(Fv: Tensor, z: Tensor) -> Tensor:
    """d ell / d F = -z 1{z F < 1} (the subgradient autograd takes; 0 at the kink zF = 1)."""
    return -z * (z * Fv < 1).to(Fv.dtype)


def zero_one(Fv: Tensor, z: Tensor) -> Tensor:
    """1{z F <= 0}: the classification error (a tie F = 0 counts as an error)."""
    return (z * Fv <= 0).to(Fv.dtype)


# ---------------------------------------------------------------------------------------------------- pruning
def neuron_norms(p: Params, norm: str = "W_O") -> Tensor:
    """(S, m): ||W_O,(i)|| or ||(W_O W_V)_(i)||."""
    rows = p.W_O if norm == "W_O" else p.W_O @ p.W_V
    return rows.norm(dim=-1)


def pruning_indices(p: Params, rate: float, method: str, gen: torch.Generator | None = None,
                    norm: str = "W_O") -> Tensor:
    """(S, k) neurons to prune, k = round(rate m). "magnitude": the k smallest norms (stable argsort: ties by index);
    "largest": the k largest; "random": a uniform k-subset (needs ``gen``)."""
    if not 0 <= rate <= 1:
        raise ConfigError("rate", f"pruning rate must be in [0, 1], got {rate}")
    S, m = p.a.shape
    k = int(round(rate * m))
    if method == "magnitude":
        order = torch.sort(neuron_norms(p, norm), dim=-1, stable=True).indices
    elif method == "largest":
        order = torch.sort(neuron_norms(p, norm), dim=-1, descending=True, stable=True).indices
    elif method == "random":
        if gen is None:
            raise ConfigError("gen", "random pruning needs a generator")
        order = torch.argsort(torch.rand(S, m, generator=gen, device=gen.device), dim=-1).to(p.a.device)
    else:
        raise ConfigError("method", f"must be magnitude, largest or random, got {method!r}")
    return order[:, :k]


def keep_mask(S: int, m: int, idx: Tensor, device=None) -> Tensor:
    """(S, m) float mask: 0 on the pruned neurons ``idx`` (S, k), 1 elsewhere."""
    keep = torch.ones(S, m, device=device)
    return keep.scatter(1, idx.to(keep.device), 0.0)


def prune(p: Params, idx: Tensor) -> Params:
    """Zero the rows ``idx`` (S, k) of W_O (the paper's pruning)."""
    keep = keep_mask(*p.a.shape, idx, device=p.W_O.device).to(p.W_O.dtype)
    return p._replace(W_O=p.W_O * keep.unsqueeze(-1))


def delete_neurons(p: Params, idx: Tensor) -> Params:
    """Remove the neurons ``idx`` (S, k) (rows of W_O, entries of a); every seed keeps m - k neurons."""
    S, m = p.a.shape
    keep = keep_mask(S, m, idx, device=p.a.device).bool()
    kept = torch.arange(m, device=p.a.device).expand(S, m)[keep].view(S, -1)
    W_O = torch.gather(p.W_O, 1, kept.unsqueeze(-1).expand(-1, -1, p.W_O.shape[-1]))
    return p._replace(W_O=W_O, a=torch.gather(p.a, 1, kept))


def two_means_1d(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Exact 2-means of each row of ``x`` (S, m) (the best split of the sorted values): returns (low mask (S, m),
    low mean (S,), high mean (S,))."""
    xs, order = torch.sort(x, dim=-1)
    S, m = xs.shape
    c = torch.cumsum(xs, -1)
    c2 = torch.cumsum(xs * xs, -1)
    k = torch.arange(1, m, device=x.device, dtype=x.dtype)  # low group = first k
    sse_lo = c2[:, :-1] - c[:, :-1] ** 2 / k
    sse_hi = (c2[:, -1:] - c2[:, :-1]) - (c[:, -1:] - c[:, :-1]) ** 2 / (m - k)
    best = torch.argmin(sse_lo + sse_hi, dim=-1)  # (S,)
    n_lo = best + 1
    low_sorted = torch.arange(m, device=x.device).expand(S, m) < n_lo.unsqueeze(-1)
    low = torch.zeros_like(low_sorted).scatter(1, order, low_sorted)
    lo_mean = c.gather(1, best.unsqueeze(-1)).squeeze(-1) / n_lo
    hi_mean = (c[:, -1] - c.gather(1, best.unsqueeze(-1)).squeeze(-1)) / (m - n_lo)
    return low, lo_mean, hi_mean


# ---------------------------------------------------------------------------------------------------- mechanism readouts
def same_pattern_mass(attn: Tensor, prompts: Prompts) -> Tensor:
    """(S, n): sum of attention over the contexts whose relevant pattern equals the query's."""
    same = prompts.pattern[..., :-1] == prompts.pattern[..., -1:]
    return (attn * same.to(attn.dtype)).sum(-1)


def neuron_parts(p: Params, d_X: int) -> tuple[Tensor, Tensor]:
    """Rows r_i of W_O W_V split into the feature part (S, m, d_X) and the label part (S, m, d_Y)."""
    r = p.W_O @ p.W_V
    return r[..., :d_X], r[..., d_X:]


# ---------------------------------------------------------------------------------------------------- training
class TrainResult(NamedTuple):
    params: Params  # final Psi^(T)
    init: Params  # Psi^(0)
    loss: Tensor  # (S, steps): mean training hinge of every SGD batch (fresh samples, so an unbiased estimate)


def train_sgd(cfg: LiConfig, params: Params, domain: Domain, gen: torch.Generator, *, labels: str = "task",
              monitor: Callable[[int, Params], None] | None = None, record_every: int = 0) -> TrainResult:
    """Plain SGD on the mean hinge over B fresh prompts per step; step eta_QK for W_Q, W_K and eta_OV for W_O, W_V;
    a fixed. All S seeds train in one pass: the loss is the sum of the seeds' means, so their gradients are
    independent. ``monitor(step, params)`` is called every ``record_every`` steps (and at 0 and the end)."""
    dtype = params.W_O.dtype
    init = params.detach()
    W = [t.detach().clone().requires_grad_(True) for t in params[:4]]
    etas = [cfg.eta_QK, cfg.eta_QK, cfg.eta_OV if cfg.train_WV else 0.0, cfg.eta_OV]
    a = params.a
    S = a.shape[0]
    losses = torch.zeros(S, cfg.steps, dtype=dtype, device=a.device)
    for t in range(cfg.steps):
        if monitor is not None and record_every and t % record_every == 0:
            monitor(t, Params(*(w.detach() for w in W), a))
        batch = sample_prompts(cfg, domain, cfg.batch, gen, labels=labels, dtype=dtype)
        out = forward(Params(*W, a), batch.P).F
        per_seed = hinge(out, batch.z).mean(-1)  # (S,)
        grads = torch.autograd.grad(per_seed.sum(), W)
        with torch.no_grad():
            for w, g, eta in zip(W, grads, etas):
                if eta:
                    w.sub_(eta * g)
            losses[:, t] = per_seed.detach()
    final = Params(*(w.detach() for w in W), a)
    check_finite("trained parameters (diverged: step size too large?)", final.W_O)
    if monitor is not None and record_every:
        monitor(cfg.steps, final)
    return TrainResult(final, init, losses)


def steps_to_reach(loss: Tensor, threshold: float, window: int) -> Tensor:
    """(S,) first step at which the running mean of the training hinge over ``window`` steps is <= threshold
    (the window end); +inf where it never is."""
    S, T = loss.shape
    if T < window:
        return torch.full((S,), math.inf)
    run = loss.unfold(-1, window, 1).mean(-1)  # (S, T - window + 1)
    hit = run <= threshold
    first = torch.where(hit.any(-1), hit.float().argmax(-1).double() + window, torch.tensor(math.inf, dtype=torch.float64))
    return first.cpu()


# ---------------------------------------------------------------------------------------------------- deeper model
@dataclass(frozen=True)
class GPTConfig:
    """A small GPT-2-style transformer (pre-LayerNorm blocks, causal attention, GELU MLP), the paper's deeper model.

    The paper used "GPT-2 with 3 layers and 2 heads"; its width and training schedule are NOT FOUND. Tokens are the
    prompt rows p_i (linear read-in), the output is a linear read-out of the last (query) token. No positional
    embedding by default (the prompts are exchangeable; causal masking still breaks the symmetry)."""

    n_layer: int = 3
    n_head: int = 2
    n_embd: int = 32
    lr: float = 3e-3  # Adam
    steps: int = 600
    batch: int = 64
    pos_emb: bool = False
    max_len: int = 64
    warmup: int = 0  # linear learning-rate warm-up steps (0: none)
    lr_final: float = 1.0  # cosine decay of the learning rate to lr_final x lr at the last step (1.0: constant)

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_head", "n_embd", "batch", "max_len"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be >= 1, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ConfigError("n_embd", f"must be divisible by n_head = {self.n_head}, got {self.n_embd}")
        if not self.lr > 0:
            raise ConfigError("lr", f"must be > 0, got {self.lr}")
        if not 0 <= self.warmup <= self.steps:
            raise ConfigError("warmup", f"must be in [0, steps = {self.steps}], got {self.warmup}")
        if not 0 < self.lr_final <= 1:
            raise ConfigError("lr_final", f"must be in (0, 1], got {self.lr_final}")


def gpt_init(g: GPTConfig, d_in: int, S: int, gen: torch.Generator, dtype=torch.float32) -> dict[str, Tensor]:
    """Weights with a leading seed dimension; GPT-2's init: N(0, 0.02^2), residual projections / sqrt(2 n_layer)."""
    E, dev = g.n_embd, gen.device

    def normal(*shape, std=0.02):
        return std * torch.randn(S, *shape, generator=gen, dtype=dtype, device=dev)

    def ones(*shape):
        return torch.ones(S, *shape, dtype=dtype, device=dev)

    def zeros(*shape):
        return torch.zeros(S, *shape, dtype=dtype, device=dev)

    w = {"w_in": normal(E, d_in), "b_in": zeros(E), "lnf_g": ones(E), "lnf_b": zeros(E), "w_out": normal(E)}
    if g.pos_emb:
        w["pos"] = normal(g.max_len, E)
    proj_std = 0.02 / math.sqrt(2 * g.n_layer)
    for i in range(g.n_layer):
        w |= {
            f"{i}.ln1_g": ones(E), f"{i}.ln1_b": zeros(E), f"{i}.w_qkv": normal(3 * E, E), f"{i}.b_qkv": zeros(3 * E),
            f"{i}.w_o": normal(E, E, std=proj_std), f"{i}.b_o": zeros(E),
            f"{i}.ln2_g": ones(E), f"{i}.ln2_b": zeros(E), f"{i}.w_fc": normal(4 * E, E), f"{i}.b_fc": zeros(4 * E),
            f"{i}.w_pr": normal(E, 4 * E, std=proj_std), f"{i}.b_pr": zeros(E),
        }
    return w


def gpt_forward(g: GPTConfig, w: dict[str, Tensor], P: Tensor) -> tuple[Tensor, list[Tensor]]:
    """F (S, n) read from the last token, and each layer's attention (S, n, heads, T, T)."""
    S, n, T, _ = P.shape
    E, H = g.n_embd, g.n_head
    x = linear(P, w["w_in"], w["b_in"])
    if g.pos_emb:
        if T > g.max_len:
            raise ConfigError("l", f"prompt of {T} tokens exceeds max_len = {g.max_len}")
        x = x + w["pos"][:, None, :T]
    mask = torch.ones(T, T, dtype=torch.bool, device=P.device).tril()
    attns = []
    for i in range(g.n_layer):
        hdn = layer_norm(x, w[f"{i}.ln1_g"], w[f"{i}.ln1_b"])
        qkv = linear(hdn, w[f"{i}.w_qkv"], w[f"{i}.b_qkv"]).view(S, n, T, 3, H, E // H)
        q, k, v = (qkv[..., j, :, :].transpose(-2, -3) for j in range(3))  # (S, n, H, T, E/H)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(E // H)
        att = torch.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        attns.append(att)
        y = (att @ v).transpose(-2, -3).reshape(S, n, T, E)
        x = x + linear(y, w[f"{i}.w_o"], w[f"{i}.b_o"])
        hdn = layer_norm(x, w[f"{i}.ln2_g"], w[f"{i}.ln2_b"])
        x = x + linear(torch.nn.functional.gelu(linear(hdn, w[f"{i}.w_fc"], w[f"{i}.b_fc"])),
                        w[f"{i}.w_pr"], w[f"{i}.b_pr"])
    x = layer_norm(x[..., -1, :], w["lnf_g"], w["lnf_b"])
    return (x * w["w_out"].unsqueeze(1)).sum(-1), attns


def _lr_factor(g: GPTConfig, t: int) -> float:
    """The learning rate of step t (0-based) in units of g.lr: linear warm-up, then cosine decay to g.lr_final."""
    warm = min(1.0, (t + 1) / g.warmup) if g.warmup else 1.0
    return warm * (g.lr_final + (1 - g.lr_final) * 0.5 * (1 + math.cos(math.pi * t / g.steps)))


def train_gpt(g: GPTConfig, cfg: LiConfig, w: dict[str, Tensor], domain: Domain, gen: torch.Generator,
              l_min: int = 1) -> tuple[dict[str, Tensor], Tensor]:
    """Adam on the hinge loss over fresh training prompts whose length is drawn per step from [l_min, cfg.l]
    (so the model can be read at any test length), learning rate g.lr x _lr_factor(g, t) (warm-up, cosine decay).
    Adam is elementwise, so the seeds stay independent."""
    params = {k: v.detach().clone().requires_grad_(True) for k, v in w.items()}
    opt = torch.optim.Adam(params.values(), lr=g.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: _lr_factor(g, t))
    S = next(iter(w.values())).shape[0]
    dtype = params["w_out"].dtype
    losses = torch.zeros(S, g.steps, dtype=dtype, device=gen.device)
    for t in range(g.steps):
        l = int(torch.randint(l_min, cfg.l + 1, (1,), generator=gen, device=gen.device))
        batch = sample_prompts(cfg, domain, g.batch, gen, l=l, dtype=dtype)
        out, _ = gpt_forward(g, params, batch.P)
        per_seed = hinge(out, batch.z).mean(-1)
        opt.zero_grad(set_to_none=True)
        per_seed.sum().backward()
        opt.step()
        schedule.step()
        losses[:, t] = per_seed.detach()
    return {k: v.detach() for k, v in params.items()}, losses

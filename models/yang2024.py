"""Yang, Huang, Liang & Chi (NeurIPS 2024): one-layer multi-head softmax attention over basis representations.

Notation (spec ../shared/papers/yang2024.md, §1). Everything carries a leading batch dimension B of independent
instances; columns are tokens, as in the paper:

- ``V`` (B, d, K): the dictionary v_1..v_K (unit norm); ``V_P = V[..., :N]`` the N prompt tokens, the same in every
  prompt.
- ``Zt`` (B, m, K): the representation table ``Z~ = (z_1 .. z_K)``, ``z_k = f(v_k)``; ``Z = Zt[..., :N]``,
  ``Z_Q = Zt[..., N:]``.
- Labels ``y_k = lambda^T (z_k + eps_k)``, ``eps_k ~ N(0, tau I_m)`` (the noise sits on the features).
- ``G = Z^T Z + m tau I_N`` (B, N, N), ``Zbar = G^{1/2}``.
- Parameters ``theta = {Q_h, w_h}``: ``Q`` (B, H, d, d), ``w`` (B, H, K).
- ``S`` (B, N, H, K): ``S[:, :, h, k] = s_k^h = softmax(V_P^T Q_h v_k)`` (softmax over the N prompt tokens), so
  ``S[..., k] = C_k = (s_k^1 .. s_k^H)`` (N x H).
- ``Ahat`` (B, N, K): ``a^_k = sum_h w_{h,k} s_k^h``; the prediction is linear in the prompt labels:
  ``y^ = Ahat^T y`` (eq. 8).
- Target ``A = G^{-1}(Z^T Z~ + m tau [I_N, 0])``; closed-form population loss (Lemma 5)
  ``L = 1/2 sum_k ||Zbar (a^_k - a_k)||^2 + L*``.
- Full-batch GD on the closed-form loss with ``eta_w = gamma^2 eta_Q`` and ``w^(0) = 0`` (§1.5).

The 4-layer transformer of the paper's experiments (Figures 2 and 5) is at the end of this file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from models.batched import layer_norm, linear
from models.validation import ConfigError, check_finite

F64 = torch.float64
LAWS = ("gaussian", "rademacher", "uniform", "ood")  # ood = N(1, 4 I): outside Assumption 1, used at inference


# ---------------------------------------------------------------- instances
def _check_dims(**dims: int) -> None:
    for name, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(name, f"must be a positive integer, got {value!r}")


def _check_tau(tau: float) -> None:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau) or tau <= 0:
        raise ConfigError("tau", f"must be a finite number > 0 (G = Z^T Z + m tau I must be positive definite), "
                                 f"got {tau!r}")


@dataclass(frozen=True)
class Instance:
    """A batch of B independent dictionaries with their representation tables (§1.1)."""

    V: Tensor  # (B, d, K) tokens, columns
    Zt: Tensor  # (B, m, K) features z_k = f(v_k), columns
    N: int  # prompt length: the first N tokens carry labels
    tau: float  # feature-noise variance per coordinate

    def __post_init__(self) -> None:
        if self.V.dim() != 3:
            raise ConfigError("V", f"must have shape (B, d, K), got {tuple(self.V.shape)}")
        if self.Zt.dim() != 3 or self.Zt.shape[0] != self.V.shape[0] or self.Zt.shape[2] != self.V.shape[2]:
            raise ConfigError("Zt", f"must have shape (B={self.V.shape[0]}, m, K={self.V.shape[2]}), "
                                    f"got {tuple(self.Zt.shape)}")
        _check_dims(N=self.N)
        if self.N >= self.V.shape[2]:
            raise ConfigError("N", f"must be < K = {self.V.shape[2]} (there must be unseen tokens), got {self.N}")
        _check_tau(self.tau)
        check_finite("V", self.V)
        check_finite("Zt", self.Zt)

    batch = property(lambda self: self.V.shape[0])
    d = property(lambda self: self.V.shape[1])
    K = property(lambda self: self.V.shape[2])
    m = property(lambda self: self.Zt.shape[1])
    VP = property(lambda self: self.V[..., : self.N])
    Z = property(lambda self: self.Zt[..., : self.N])
    ZQ = property(lambda self: self.Zt[..., self.N:])

    @cached_property
    def E0(self) -> Tensor:
        """``[I_N, 0]`` (N, K): the copy part of the target."""
        return torch.eye(self.N, self.K, dtype=self.V.dtype, device=self.V.device)

    @cached_property
    def G(self) -> Tensor:
        """``G = Zbar^2 = Z^T Z + m tau I_N`` (B, N, N)."""
        Z = self.Z
        return Z.transpose(-1, -2) @ Z + self.m * self.tau * torch.eye(self.N, dtype=Z.dtype, device=Z.device)

    @cached_property
    def G_eig(self) -> tuple[Tensor, Tensor]:
        return torch.linalg.eigh(self.G)

    @cached_property
    def Zbar(self) -> Tensor:
        """``Zbar = (Z^T Z + m tau I)^{1/2}`` (eq. 12), symmetric positive definite (B, N, N)."""
        lam, U = self.G_eig
        return (U * lam.sqrt().unsqueeze(-2)) @ U.transpose(-1, -2)

    @cached_property
    def G_norm(self) -> Tensor:
        """``||G||_2 = ||Zbar||_2^2`` (B,)."""
        return self.G_eig[0][..., -1]

    @cached_property
    def G_min(self) -> Tensor:
        """``lambda_min(G) >= m tau`` (B,)."""
        return self.G_eig[0][..., 0]

    @cached_property
    def A(self) -> Tensor:
        """Target ``A = G^{-1}(Z^T Z~ + m tau [I_N, 0])`` (eq. 34), (B, N, K); its first N columns are I_N."""
        rhs = self.Z.transpose(-1, -2) @ self.Zt + self.m * self.tau * self.E0
        return torch.linalg.solve(self.G, rhs)

    @cached_property
    def L_star(self) -> Tensor:
        """``L* = inf_theta L``: the closed-form loss evaluated at ``Ahat = A`` (computed, not the paper's c'_k)."""
        return loss_of_ahat(self.A, self)


def make_instance(batch: int, d: int, K: int, N: int, m: int, tau: float, generator: torch.Generator,
                  dtype: torch.dtype = F64, token_norm: float = 1.0) -> Instance:
    """Unit-norm Gaussian-direction tokens (theory, §1.1) scaled to ``token_norm``; i.i.d. N(0, 1) features.

    With probability one the prompt tokens have a coordinate with pairwise distinct entries (Assumption 3).
    """
    _check_dims(batch=batch, d=d, K=K, N=N, m=m)
    if N >= K:
        raise ConfigError("N", f"must be < K = {K}, got {N}")
    _check_tau(tau)
    if not (isinstance(token_norm, (int, float)) and math.isfinite(token_norm) and token_norm > 0):
        raise ConfigError("token_norm", f"must be a finite number > 0, got {token_norm!r}")
    kw = dict(generator=generator, dtype=dtype, device=generator.device)
    V = torch.randn(batch, d, K, **kw)
    V = V / V.norm(dim=1, keepdim=True) * token_norm
    Zt = torch.randn(batch, m, K, **kw)
    return Instance(V, Zt, N, float(tau))


def distinct_coordinate_gap(inst: Instance) -> Tensor:
    """Assumption 3 margin: ``max_coordinate min_{i != j} |V_P[x, i] - V_P[x, j]|`` (B,); > 0 iff it holds."""
    VP = inst.VP
    if inst.N < 2:
        return torch.full((inst.batch,), math.inf, dtype=VP.dtype, device=VP.device)
    srt = VP.sort(dim=-1).values
    return (srt[..., 1:] - srt[..., :-1]).amin(-1).amax(-1)


# ---------------------------------------------------------------- tasks and labels
def sample_tasks(law: str, batch: int, n: int, m: int, generator: torch.Generator, dtype: torch.dtype = F64) -> Tensor:
    """Task vectors lambda (B, n, m). ``gaussian``/``rademacher``/``uniform`` satisfy Assumption 1 (independent
    entries, mean 0, variance 1); ``ood`` is N(1_m, 4 I_m), the paper's out-of-domain test law."""
    kw = dict(generator=generator, dtype=dtype, device=generator.device)
    if law == "gaussian":
        return torch.randn(batch, n, m, **kw)
    if law == "rademacher":
        return torch.randint(0, 2, (batch, n, m), generator=generator, device=generator.device).to(dtype) * 2 - 1
    if law == "uniform":
        return (torch.rand(batch, n, m, **kw) * 2 - 1) * math.sqrt(3.0)
    if law == "ood":
        return 1.0 + 2.0 * torch.randn(batch, n, m, **kw)
    raise ConfigError("law", f"must be one of {list(LAWS)}, got {law!r}")


def clip_to_ball(lam: Tensor, B: float) -> Tensor:
    """Project task vectors onto ``||lambda||_2 <= B`` (Assumption 4 for inference tasks)."""
    norm = lam.norm(dim=-1, keepdim=True)
    return lam * torch.clamp(B / norm.clamp(min=torch.finfo(lam.dtype).tiny), max=1.0)


def labels(inst: Instance, lam: Tensor, generator: torch.Generator, chunk: int = 1 << 22) -> Tensor:
    """All K labels ``y_k = lambda^T (z_k + eps_k)`` with ``eps_k ~ N(0, tau I_m)`` drawn explicitly (B, n, K).

    Noise is drawn in chunks of prompts so memory stays at about ``chunk`` numbers.
    """
    B, n, m = lam.shape
    K = inst.K
    out = torch.einsum("bnm,bmk->bnk", lam, inst.Zt)
    step = max(1, chunk // max(m * K * B, 1))
    noise = []
    for i in range(0, n, step):  # chunks of prompts (a memory bound), not a loop over tokens or instances
        eps = torch.randn(B, min(step, n - i), m, K, generator=generator, dtype=lam.dtype, device=lam.device)
        noise.append(torch.einsum("bnm,bnmk->bnk", lam[:, i:i + step], eps) * math.sqrt(inst.tau))
    return out + torch.cat(noise, dim=1)


# ---------------------------------------------------------------- the model (eq. 8), two forms
def check_params(Q: Tensor, w: Tensor, inst: Instance) -> None:
    B, d, K = inst.batch, inst.d, inst.K
    if Q.dim() != 4 or Q.shape[0] != B or Q.shape[2:] != (d, d):
        raise ConfigError("Q", f"must have shape (B={B}, H, d={d}, d={d}), got {tuple(Q.shape)}")
    if w.dim() != 3 or w.shape != (B, Q.shape[1], K):
        raise ConfigError("w", f"must have shape (B={B}, H={Q.shape[1]}, K={K}), got {tuple(w.shape)}")
    check_finite("Q", Q)
    check_finite("w", w)


def init_params(inst: Instance, H: int, beta: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Proposition 1 initialisation: ``Q_h^(0)`` i.i.d. N(0, beta^2) entries, ``w^(0) = 0``."""
    _check_dims(H=H)
    if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta > 0):
        raise ConfigError("beta", f"must be a finite number > 0, got {beta!r}")
    Q = beta * torch.randn(inst.batch, H, inst.d, inst.d, generator=generator, dtype=inst.V.dtype,
                           device=inst.V.device)
    return Q, torch.zeros(inst.batch, H, inst.K, dtype=inst.V.dtype, device=inst.V.device)


def _scores_p(Qp: Tensor, inst: Instance) -> Tensor:
    """Scores from Q in the layout ``Qp[:, a, h, b] = Q_h[a, b]`` (B, d, H, d): two batched products, no broadcast."""
    B, d, H, _ = Qp.shape
    P = inst.VP.transpose(-1, -2) @ Qp.reshape(B, d, H * d)  # (B, N, H d): v_n^T Q_h
    return (P.reshape(B, inst.N * H, d) @ inst.V).reshape(B, inst.N, H, inst.K)


def scores(Q: Tensor, inst: Instance) -> Tensor:
    """``X[:, n, h, k] = v_n^T Q_h v_k`` (B, N, H, K)."""
    return _scores_p(Q.transpose(1, 2), inst)


def softmax_maps(Q: Tensor, inst: Instance) -> Tensor:
    """``S[:, :, h, k] = s_k^h = softmax(V_P^T Q_h v_k)`` over the N prompt tokens (B, N, H, K); so
    ``S[..., k] = C_k = (s_k^1 .. s_k^H)`` (N x H)."""
    return torch.softmax(scores(Q, inst), dim=1)


def ahat(w: Tensor, S: Tensor) -> Tensor:
    """``Ahat[:, :, k] = sum_h w_{h,k} s_k^h = C_k w_{:,k}`` (B, N, K)."""
    return (S * w.unsqueeze(1)).sum(2)


def predict(Q: Tensor, w: Tensor, inst: Instance, y: Tensor) -> Tensor:
    """Fast (einsum) form of eq. 8: ``y^_k = sum_h w_{h,k} y^T softmax(V_P^T Q_h v_k)``.

    ``y`` (B, n, N): n prompts' labels per instance; returns (B, n, K).
    """
    check_params(Q, w, inst)
    if y.dim() != 3 or y.shape[0] != inst.batch or y.shape[2] != inst.N:
        raise ConfigError("y", f"must have shape (B={inst.batch}, n, N={inst.N}), got {tuple(y.shape)}")
    return y @ ahat(w, softmax_maps(Q, inst))


def embedding(inst: Instance, y: Tensor) -> Tensor:
    """``E = (E_P, E_Q)`` (B, d+1, N+K): ``E_P = [V_P; y^T]``, ``E_Q = [v_1..v_K; 0]`` (§1.2), one prompt y (B, N)."""
    EP = torch.cat([inst.VP, y.unsqueeze(1)], dim=1)
    EQ = torch.cat([inst.V, torch.zeros_like(inst.V[:, :1])], dim=1)
    return torch.cat([EP, EQ], dim=2)


def predict_block(Q: Tensor, w: Tensor, inst: Instance, y: Tensor) -> Tensor:
    """Explicit block-matrix form of eq. 8 for one prompt per instance, ``y`` (B, N) -> (B, K).

    ``W^K_h = I_{d+1}``, ``W^Q_h = [[Q_h, 0], [0, 0]]`` (so ``(W^K_h)^T W^Q_h = [[Q_h, 0], [0, 0]]``),
    ``W^V_h = [0_{K x d}, w_h]``, keys/values from the N prompt columns, queries from the K query columns,
    column-wise softmax, ``W^O = (I_K, ..., I_K)``; the prediction is ``diag(T(E))``.
    """
    check_params(Q, w, inst)
    B, H, d, K, N = inst.batch, Q.shape[1], inst.d, inst.K, inst.N
    E = embedding(inst, y)
    EP, EQ = E[..., :N].unsqueeze(1), E[..., N:].unsqueeze(1)  # (B, 1, d+1, N), (B, 1, d+1, K)
    WQ = torch.zeros(B, H, d + 1, d + 1, dtype=Q.dtype, device=Q.device)
    WQ[..., :d, :d] = Q
    WK = torch.eye(d + 1, dtype=Q.dtype, device=Q.device).expand(B, H, d + 1, d + 1)
    WV = torch.cat([torch.zeros(B, H, K, d, dtype=Q.dtype, device=Q.device), w.unsqueeze(-1)], dim=-1)
    attn = torch.softmax((WK @ EP).transpose(-1, -2) @ (WQ @ EQ), dim=-2)  # (B, H, N, K), column-wise
    heads = WV @ EP @ attn  # (B, H, K, K)
    WO = torch.eye(K, dtype=Q.dtype, device=Q.device).repeat(1, H)  # (K, H K)
    T = WO @ heads.reshape(B, H * K, K)  # (B, K, K)
    return torch.diagonal(T, dim1=-2, dim2=-1)


# ---------------------------------------------------------------- loss (Lemma 5) and targets
def loss_of_ahat(Ah: Tensor, inst: Instance) -> Tensor:
    """Per-k form of Lemma 5 (exact population loss, ``E lambda lambda^T = I_m``):
    ``1/2 sum_{k<=N} [||Z a^_k - z_k||^2 + m tau ||a^_k - e_k||^2]
    + 1/2 sum_{k>N} [||Z a^_k - z_k||^2 + m tau ||a^_k||^2 + m tau]`` (B,)."""
    R = inst.Z @ Ah - inst.Zt
    mt = inst.m * inst.tau
    return 0.5 * ((R * R).sum((-1, -2)) + mt * ((Ah - inst.E0) ** 2).sum((-1, -2)) + mt * (inst.K - inst.N))


def loss_closed(Q: Tensor, w: Tensor, inst: Instance) -> Tensor:
    """Closed-form population loss ``L(theta)`` (eq. 9 via Lemma 5), (B,)."""
    check_params(Q, w, inst)
    return loss_of_ahat(ahat(w, softmax_maps(Q, inst)), inst)


def gap_of_ahat(Ah: Tensor, inst: Instance) -> Tensor:
    """``Delta = L - L* = 1/2 sum_k (a^_k - a_k)^T G (a^_k - a_k)`` (Lemma 5 decomposition), (B,).

    Computed from ``Ahat - A`` directly, so it stays accurate down to round-off, unlike ``L - L*``."""
    D = Ah - inst.A
    return 0.5 * (D * (inst.G @ D)).sum((-1, -2))


def loss_mc(Q: Tensor, w: Tensor, inst: Instance, n: int, law: str, generator: torch.Generator,
            chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """Monte-Carlo ``1/2 E sum_k (y^_k - y_k)^2`` over n sampled (lambda, eps): mean and standard error (B,)."""
    check_params(Q, w, inst)
    Ah = ahat(w, softmax_maps(Q, inst))
    per = []
    for i in range(0, n, chunk):  # chunks of samples (memory), vectorised over instances and tokens
        lam = sample_tasks(law, inst.batch, min(chunk, n - i), inst.m, generator, Q.dtype)
        y = labels(inst, lam, generator)
        yhat = torch.einsum("bsn,bnk->bsk", y[..., : inst.N], Ah)
        per.append(0.5 * ((yhat - y) ** 2).sum(-1))
    per = torch.cat(per, dim=1)
    return per.mean(1), per.std(1) / math.sqrt(n)


def ridge_coefficients(inst: Instance, y: Tensor, penalty: float | Tensor) -> Tensor:
    """``lambda(c) = (Z Z^T + c I_m)^{-1} Z y`` (B, n, m) for prompt labels y (B, n, N): the minimiser of
    ``(1/2N) sum_i (y_i - lambda^T z_i)^2 + (c/2N) ||lambda||^2``."""
    Z = inst.Z
    M = Z @ Z.transpose(-1, -2) + penalty * torch.eye(inst.m, dtype=Z.dtype, device=Z.device)
    return torch.linalg.solve(M, Z @ y.transpose(-1, -2)).transpose(-1, -2)


def ridge_prediction(inst: Instance, y: Tensor, penalty: float | Tensor) -> Tensor:
    """``(y_1..y_N, lambda(c)^T z_{N+1} .. lambda(c)^T z_K)`` (B, n, K)."""
    lam = ridge_coefficients(inst, y, penalty)
    return torch.cat([y, lam @ inst.ZQ], dim=-1)


def ridge_predictor(inst: Instance, y: Tensor) -> Tensor:
    """Theorem 2's limit ``y*`` (eq. 21): ridge with penalty ``m tau/(2N)`` in the 1/(2N) normalisation (c = m tau)."""
    return ridge_prediction(inst, y, inst.m * inst.tau)


def oracle_predictor(inst: Instance, y: Tensor) -> Tensor:
    """``y_best`` (eq. 23): ridge with penalty ``tau/2`` (Lemma 4; c = N tau)."""
    return ridge_prediction(inst, y, inst.N * inst.tau)


# ---------------------------------------------------------------- conditioning (Assumption 2) and step sizes
def C_matrices(S: Tensor) -> Tensor:
    """``C_k = (s_k^1 .. s_k^H)`` stacked as (B, K, N, H)."""
    return S.permute(0, 3, 1, 2)


def _B_spectrum(S: Tensor, inst: Instance) -> Tensor:
    """Eigenvalues of ``B_k B_k^T`` (B, K, N), ``B_k = Zbar C_k``; for H >= N they are the nonzero eigenvalues of
    ``C_k^T G C_k``, the w-Hessian block of token k."""
    Bk = inst.Zbar.unsqueeze(1) @ C_matrices(S)  # (B, K, N, H)
    return torch.linalg.eigvalsh(Bk @ Bk.transpose(-1, -2))


def zeta(S: Tensor, inst: Instance) -> Tensor:
    """``zeta = min_k lambda_min(B_k B_k^T)`` with ``B_k = Zbar C_k`` (B,); 0 when H < N (rank <= H)."""
    return _B_spectrum(S, inst)[..., 0].amin(-1).clamp(min=0)


def L_w(S: Tensor, inst: Instance) -> Tensor:
    """Smoothness of L in w at fixed Q: ``max_k lambda_max(C_k^T G C_k)`` (the w-Hessian is block-diagonal in k)."""
    return _B_spectrum(S, inst)[..., -1].amax(-1)


def kappa0(S: Tensor, inst: Instance) -> Tensor:
    """Conditioning ``kappa_0 = max_k lambda_max(C_k^T G C_k) / zeta_0`` (B,)."""
    ev = _B_spectrum(S, inst)
    return ev[..., -1].amax(-1) / ev[..., 0].amin(-1).clamp(min=torch.finfo(ev.dtype).tiny)


class StepSizes(NamedTuple):
    eta_Q: Tensor  # (B,)
    eta_w: Tensor  # (B,) = gamma^2 eta_Q


def step_sizes(inst: Instance, H: int, c: float, gamma: float) -> StepSizes:
    """The calibrated rule ``eta_w = c/(||G||_2 H)``, ``eta_Q = eta_w/gamma^2``. Since
    ``lambda_max(C_k^T G C_k) <= ||G||_2 ||C_k||_F^2 <= ||G||_2 H``, c <= 1 gives ``eta_w <= 1/L_w``."""
    eta_w = c / (inst.G_norm * H)
    return StepSizes(eta_w / gamma**2, eta_w)


# ---------------------------------------------------------------- gradients (Lemma 1) and GD
def softmax_vjp(S: Tensor, U: Tensor) -> Tensor:
    """Lemma 1: ``ds_j/dx_i = s_j (delta_ij - s_i)``, so the pull-back of U through the softmax over the prompt
    tokens (dim 1) is ``s_i (U_i - sum_j s_j U_j)``."""
    return S * (U - (S * U).sum(1, keepdim=True))


def grad_analytic(Q: Tensor, w: Tensor, inst: Instance, vjp: Callable[[Tensor, Tensor], Tensor] = softmax_vjp
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """Hand-derived gradient of the closed-form loss: ``R := dL/dAhat = G (Ahat - A)``,
    ``dL/dw_{h,k} = s_k^h . r_k``, ``dL/dX_{h,:,k} = vjp(s_k^h, w_{h,k} r_k)`` (Lemma 1's softmax Jacobian) and
    ``dL/dQ_h = V_P (dL/dX_h) V^T``. Returns (dQ, dw, Delta)."""
    check_params(Q, w, inst)
    S = softmax_maps(Q, inst)
    D = ahat(w, S) - inst.A
    R = inst.G @ D
    dw = (S * R.unsqueeze(2)).sum(1)
    dX = vjp(S, w.unsqueeze(1) * R.unsqueeze(2))  # (B, N, H, K)
    dQ = torch.einsum("ban,bnhk,bck->bhac", inst.VP, dX, inst.V)
    return dQ, dw, 0.5 * (D * R).sum((-1, -2))


class _GDStep:
    """One analytic GD gradient evaluation, written for speed: Q in the layout ``Qp[:, a, h, c] = Q_h[a, c]``
    (two plain batched products per direction, no broadcasting), every intermediate in a preallocated buffer
    (fresh multi-megabyte tensors each step cost page faults that dominate a batched CPU step), and Lemma 1 in
    fused form: ``sum_j s_j U_j = w_{h,k} s_k^h . r_k = w_{h,k} dL/dw_{h,k}``, so
    ``dL/dX = (w s) * (r - dL/dw)``. Agrees with :func:`grad_analytic` to round-off (tests/test_yang2024_models.py).
    """

    def __init__(self, inst: Instance, H: int):
        B, N, K, d = inst.batch, inst.N, inst.K, inst.d
        self.inst, self.H = inst, H
        new = lambda *shape: torch.empty(*shape, dtype=inst.V.dtype, device=inst.V.device)  # noqa: E731
        self.P, self.X, self.Sw, self.tmp = new(B, N, H * d), new(B, N * H, K), new(B, N, H, K), new(B, N, H, K)
        self.mx, self.sm = new(B, 1, H, K), new(B, 1, H, K)
        self.D, self.R, self.DR, self.dw = new(B, N, K), new(B, N, K), new(B, N, K), new(B, H, K)
        self.T2, self.dQp, self.delta = new(B, N * H, d), new(B, d, H * d), new(B)
        self.VPt, self.VP = inst.VP.transpose(-1, -2).contiguous(), inst.VP.contiguous()
        self.V, self.Vt = inst.V.contiguous(), inst.V.transpose(-1, -2).contiguous()
        self.A, self.G = inst.A.contiguous(), inst.G.contiguous()

    def __call__(self, Qp: Tensor, w: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Returns views ``(S, dQp, dw, Delta)`` into the buffers (valid until the next call)."""
        B, d, H, _ = Qp.shape
        N, K = self.inst.N, self.inst.K
        torch.bmm(self.VPt, Qp.reshape(B, d, H * d), out=self.P)  # v_n^T Q_h
        torch.bmm(self.P.view(B, N * H, d), self.V, out=self.X)  # v_n^T Q_h v_k
        S = self.X.view(B, N, H, K)
        torch.amax(S, 1, keepdim=True, out=self.mx)  # softmax over the prompt tokens, in place
        S.sub_(self.mx).exp_()
        torch.sum(S, 1, keepdim=True, out=self.sm)
        S.div_(self.sm)
        torch.mul(S, w.unsqueeze(1), out=self.Sw)
        torch.sum(self.Sw, 2, out=self.D)
        self.D.sub_(self.A)  # Ahat - A
        torch.bmm(self.G, self.D, out=self.R)  # dL/dAhat
        torch.mul(self.D, self.R, out=self.DR)
        torch.sum(self.DR, (-1, -2), out=self.delta)
        self.delta.mul_(0.5)
        torch.mul(S, self.R.unsqueeze(2), out=self.tmp)
        torch.sum(self.tmp, 1, out=self.dw)
        torch.sub(self.R.unsqueeze(2), self.dw.unsqueeze(1), out=self.tmp)
        self.tmp.mul_(self.Sw)  # dL/dX
        torch.bmm(self.tmp.view(B, N * H, K), self.Vt, out=self.T2)
        torch.bmm(self.VP, self.T2.view(B, N, H * d), out=self.dQp)
        return S, self.dQp.view(B, d, H, d), self.dw, self.delta


def grad_autograd(Q: Tensor, w: Tensor, inst: Instance) -> tuple[Tensor, Tensor]:
    """Gradient of ``loss_closed`` by torch autograd (instances are independent, so the batch sum separates)."""
    Q = Q.detach().requires_grad_(True)
    w = w.detach().requires_grad_(True)
    dQ, dw = torch.autograd.grad(loss_closed(Q, w, inst).sum(), (Q, w))
    return dQ, dw


class Trajectory(NamedTuple):
    Q: Tensor  # final parameters
    w: Tensor
    delta: Tensor  # (B, T+1): Delta(t) = L(theta^(t)) - L*
    zeta: Tensor | None  # (B, T+1): zeta_t = min_k lambda_min(B_k^(t) B_k^(t)T), when recorded
    L_w: Tensor | None  # (B, T+1): L_w(t) = max_k lambda_max(C_k^(t)T G C_k^(t)), recorded with zeta
    Q_drift: Tensor  # (B,): ||Q^(T) - Q^(0)||_F / ||Q^(0)||_F


class GDRunner:
    """Full-batch GD state on the closed-form population loss (§1.5): ``Q_h <- Q_h - eta_Q grad_Q L``,
    ``w_h <- w_h - eta_w grad_w L``, every instance with its own step sizes (B,).

    ``step()`` evaluates the gradient at the current parameters, applies one update and returns ``(S, Delta)`` at
    the parameters *before* the update; ``gradient()`` evaluates without updating. ``head_mask`` (B, H) of 0/1
    switches heads off (their w stays 0, hence their Q gets no gradient), so runs with different H share one
    vectorised pass. ``grad`` is ``analytic`` (Lemma 1, default) or ``autograd``.
    """

    def __init__(self, inst: Instance, Q0: Tensor, w0: Tensor, eta_Q: Tensor, eta_w: Tensor,
                 head_mask: Tensor | None = None, grad: str = "analytic"):
        check_params(Q0, w0, inst)
        if grad not in ("analytic", "autograd"):
            raise ConfigError("grad", f"must be 'analytic' or 'autograd', got {grad!r}")
        self.inst, self.grad = inst, grad
        self.eQ = torch.as_tensor(eta_Q, dtype=Q0.dtype, device=Q0.device).reshape(-1, 1, 1, 1)
        self.ew = torch.as_tensor(eta_w, dtype=Q0.dtype, device=Q0.device).reshape(-1, 1, 1)
        self.mask = None if head_mask is None else head_mask.to(Q0.dtype).unsqueeze(-1)
        # (B, d, H, d) in its own storage (a transpose over a size-1 dim would otherwise alias Q0): see _GDStep
        self.Qp = Q0.transpose(1, 2).clone(memory_format=torch.contiguous_format)
        self.w = w0.clone() if self.mask is None else w0 * self.mask
        self._step = _GDStep(inst, Q0.shape[1])

    def gradient(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(S, dQp, dw, Delta)`` at the current parameters."""
        if self.grad == "analytic":
            return self._step(self.Qp, self.w)
        dQ, dw = grad_autograd(self.Qp.transpose(1, 2), self.w, self.inst)
        S = torch.softmax(_scores_p(self.Qp, self.inst), dim=1)
        return S, dQ.transpose(1, 2), dw, gap_of_ahat(ahat(self.w, S), self.inst)

    def update(self, dQp: Tensor, dw: Tensor) -> None:
        if self.mask is not None:
            dw = dw * self.mask
        self.Qp.addcmul_(self.eQ, dQp, value=-1.0)
        self.w.addcmul_(self.ew, dw, value=-1.0)

    def step(self) -> tuple[Tensor, Tensor]:
        S, dQp, dw, delta = self.gradient()
        self.update(dQp, dw)
        return S, delta

    @property
    def Q(self) -> Tensor:
        return self.Qp.transpose(1, 2).contiguous()


def gd(inst: Instance, Q0: Tensor, w0: Tensor, eta_Q: Tensor, eta_w: Tensor, steps: int, record_zeta: bool = False,
       head_mask: Tensor | None = None, grad: str = "analytic") -> Trajectory:
    """``steps`` steps of :class:`GDRunner`, recording Delta(t) for t = 0..steps (and, with ``record_zeta``,
    zeta_t and L_w(t): one small eigen-decomposition per token and step, several times the cost of the step)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ConfigError("steps", f"must be a non-negative integer, got {steps!r}")
    run = GDRunner(inst, Q0, w0, eta_Q, eta_w, head_mask, grad)
    deltas, spectra = [], []
    for t in range(steps + 1):  # GD steps are sequential; everything inside a step is batched
        S, dQp, dw, delta = run.gradient()
        if record_zeta:
            ev = _B_spectrum(S, inst)
            spectra.append(torch.stack([ev[..., 0].amin(-1).clamp(min=0), ev[..., -1].amax(-1)], -1))
        deltas.append(delta.clone())
        if t < steps:
            run.update(dQp, dw)
    Q = run.Q
    drift = (Q - Q0).flatten(1).norm(dim=1) / Q0.flatten(1).norm(dim=1)
    spec = torch.stack(spectra, 1) if record_zeta else None
    return Trajectory(Q, run.w, torch.stack(deltas, 1), None if spec is None else spec[..., 0],
                      None if spec is None else spec[..., 1], drift)


def gd_step_flops(batch: int, d: int, N: int, K: int, m: int, H: int) -> int:
    """Analytic FLOP count of one analytic-gradient GD step as :class:`_GDStep` computes it (a multiply-add is 2
    FLOPs; exp, max and division count 1 each). ``m`` does not enter: the closed-form loss only needs G and A."""
    HNK = H * N * K
    per = (
        2 * N * d * (H * d) + 2 * (N * H) * d * K  # scores: P = V_P^T Q, then X = P V
        + 5 * HNK  # softmax over the prompt tokens: max, subtract, exp, sum, divide
        + 2 * HNK + N * K  # w s, Ahat = sum_h, Ahat - A
        + 2 * N * N * K + 2 * N * K  # R = G (Ahat - A), Delta
        + 2 * HNK  # dL/dw = sum_n s r
        + 2 * HNK  # dL/dX = (w s) * (r - dL/dw)
        + 2 * (N * H) * K * d + 2 * d * N * (H * d)  # dL/dQ = V_P (dL/dX V^T)
        + 2 * H * d * d + 2 * H * K  # updates
    )
    return batch * per


# ---------------------------------------------------------------- multi-head necessity (one head)
def one_head_lower_bound(inst: Instance) -> Tensor:
    """For H = 1, ``a^_k = w_k s_k`` with ``s_k`` in the simplex, so
    ``L - L* >= 1/2 sum_{k>N} min(NNLS(Zbar, Zbar a_k), NNLS(Zbar, -Zbar a_k))^2`` for every (Q, w) (B,).
    Uses scipy's NNLS on the CPU (off any hot path)."""
    from scipy.optimize import nnls

    Zbar = inst.Zbar.detach().cpu().numpy()
    A = inst.A.detach().cpu().numpy()
    out = np.zeros(inst.batch)
    for b in range(inst.batch):  # scipy NNLS has no batched form; this is a bound, computed once per instance
        for k in range(inst.N, inst.K):
            t = Zbar[b] @ A[b, :, k]
            r = min(nnls(Zbar[b], t)[1], nnls(Zbar[b], -t)[1])
            out[b] += 0.5 * r * r
    return torch.as_tensor(out, dtype=inst.V.dtype, device=inst.V.device)


# ---------------------------------------------------------------- the experiments' models, Adam training (Figs. 2, 5)
class OneLayerAttention(nn.Module):
    """The eq. 8 model as an ``nn.Module`` (parameters Q_h, w_h), one independent set per instance of the batch, for
    Adam training: Adam is elementwise, so the instances train independently in one vectorised pass."""

    def __init__(self, inst: Instance, H: int, beta: float, generator: torch.Generator):
        super().__init__()
        self.inst = inst
        Q, w = init_params(inst, H, beta, generator)
        self.Q, self.w = nn.Parameter(Q), nn.Parameter(w)

    def forward(self, y: Tensor) -> Tensor:
        """Predictions (B, n, K) for prompts y (B, n, N)."""
        return predict(self.Q, self.w, self.inst, y.to(self.Q.dtype))


class FourLayerTransformer(nn.Module):
    """A standard post-LN Transformer encoder (Vaswani et al. 2017) over the N + K embedding columns, one independent
    copy per instance of the batch.

    How the paper feeds E in and reads outputs is NOT FOUND; this project's choice: each column ``[v; y; flag]``
    (flag = 1 on prompt columns, y = 0 on query columns) is projected to ``d_model``, passes ``layers`` encoder layers
    (bidirectional attention, ``nhead`` heads of width d_model/nhead, ReLU feed-forward ``d_ff``, no dropout), and a
    linear read-out of the K query columns gives ``y^_1..y^_K``. Each layer computes what
    ``nn.TransformerEncoderLayer(d_model, nhead, d_ff, dropout=0, batch_first=True)`` computes (tests/ compare them),
    written out with a leading instance dimension so that a batch of instances trains in one pass, and with the
    attention as plain products (deterministic on CUDA, unlike the memory-efficient kernel's backward).
    """

    def __init__(self, inst: Instance, d_model: int, nhead: int, d_ff: int, layers: int, generator: torch.Generator,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        _check_dims(d_model=d_model, nhead=nhead, d_ff=d_ff, layers=layers)
        if d_model % nhead:
            raise ConfigError("nhead", f"must divide d_model = {d_model}, got {nhead}")
        self.inst, self.nhead, self.layers = inst, nhead, layers
        D, F = d_model, d_ff
        shapes = {"embed_w": (D, inst.d + 2), "embed_b": (D,), "readout_w": (1, D), "readout_b": (1,)}
        for i in range(layers):
            shapes |= {f"{i}_qkv_w": (3 * D, D), f"{i}_qkv_b": (3 * D,), f"{i}_out_w": (D, D), f"{i}_out_b": (D,),
                       f"{i}_norm1_g": (D,), f"{i}_norm1_b": (D,), f"{i}_ff1_w": (F, D), f"{i}_ff1_b": (F,),
                       f"{i}_ff2_w": (D, F), f"{i}_ff2_b": (D,), f"{i}_norm2_g": (D,), f"{i}_norm2_b": (D,)}
        kw = dict(dtype=dtype, device=generator.device)

        def init(name: str, shape: tuple[int, ...]) -> Tensor:
            # explicit generator, no global RNG: N(0, 1/fan_in) weights, zero biases, unit norm gains
            if len(shape) == 2:
                return torch.randn(inst.batch, *shape, generator=generator, **kw) / math.sqrt(shape[1])
            return (torch.ones if name.endswith("_g") else torch.zeros)(inst.batch, *shape, **kw)

        self.p = nn.ParameterDict({name: nn.Parameter(init(name, shape)) for name, shape in shapes.items()})

    def forward(self, y: Tensor) -> Tensor:
        """Predictions (B, n, K) for prompts y (B, n, N)."""
        p, dt = self.p, self.p["embed_w"].dtype
        if y.dim() != 3 or y.shape[0] != self.inst.batch or y.shape[2] != self.inst.N:
            raise ConfigError("y", f"must have shape (B={self.inst.batch}, n, N={self.inst.N}), got {tuple(y.shape)}")
        V, y = self.inst.V.to(dt), y.to(dt)
        (B, n, N), K, H = y.shape, self.inst.K, self.nhead
        T = N + K
        cols_P = torch.cat([V[:, :, :N].transpose(1, 2).unsqueeze(1).expand(B, n, N, -1), y.unsqueeze(-1),
                            torch.ones_like(y).unsqueeze(-1)], -1)
        zeros = torch.zeros(B, n, K, 1, dtype=dt, device=V.device)
        cols_Q = torch.cat([V.transpose(1, 2).unsqueeze(1).expand(B, n, K, -1), zeros, zeros], -1)
        h = linear(torch.cat([cols_P, cols_Q], 2), p["embed_w"], p["embed_b"])  # (B, n, T, D)
        D = h.shape[-1]
        for i in range(self.layers):
            qkv = linear(h, p[f"{i}_qkv_w"], p[f"{i}_qkv_b"]).view(B, n, T, 3, H, D // H)
            q, k, v = (qkv[..., j, :, :].transpose(-2, -3) for j in range(3))  # (B, n, H, T, D/H)
            att = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(D // H), dim=-1)
            a = (att @ v).transpose(-2, -3).reshape(B, n, T, D)
            h = layer_norm(h + linear(a, p[f"{i}_out_w"], p[f"{i}_out_b"]), p[f"{i}_norm1_g"], p[f"{i}_norm1_b"])
            ff = linear(torch.relu(linear(h, p[f"{i}_ff1_w"], p[f"{i}_ff1_b"])), p[f"{i}_ff2_w"], p[f"{i}_ff2_b"])
            h = layer_norm(h + ff, p[f"{i}_norm2_g"], p[f"{i}_norm2_b"])
        return linear(h[:, :, N:], p["readout_w"], p["readout_b"]).squeeze(-1)


def train_adam(model: nn.Module, inst: Instance, lam_train: Tensor, steps: int, lr: float, batch: int,
               generator: torch.Generator, evaluate: Callable[[int], None] | None = None,
               eval_every: int = 0) -> Tensor:
    """The experiments' training (§3), every instance at once: Adam on mini-batches of prompts; tasks drawn from each
    instance's fixed training set ``lam_train`` (B, n_train, m), fresh feature noise per batch; loss
    ``1/2 sum_k (y^_k - y_k)^2`` averaged over the batch and summed over instances (Adam is elementwise, so each
    instance's parameters follow their own gradient only). ``evaluate(step)`` is called every ``eval_every`` steps
    and at the end. Returns the training losses (B, steps)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    B, n_train = lam_train.shape[:2]
    losses = torch.zeros(B, steps, dtype=F64, device=lam_train.device)
    rows = torch.arange(B, device=lam_train.device).unsqueeze(1)
    for step in range(steps):  # optimisation steps are sequential
        if evaluate is not None and eval_every and step % eval_every == 0:
            evaluate(step)
        pick = torch.randint(0, n_train, (B, batch), generator=generator, device=generator.device)
        y_all = labels(inst, lam_train[rows, pick], generator)
        pred = model(y_all[..., : inst.N])
        per_instance = 0.5 * ((pred - y_all.to(pred.dtype)) ** 2).sum(-1).mean(-1)
        opt.zero_grad()
        per_instance.sum().backward()
        opt.step()
        losses[:, step] = per_instance.detach()  # stays on the device: no host sync per step
    if evaluate is not None:
        evaluate(steps)
    return losses


def inference_loss(model: nn.Module, inst: Instance, y: Tensor) -> Tensor:
    """The paper's inference loss ``(1/K) ||y^ - y*||^2`` averaged over prompts y (B, n, N), per instance (B,)."""
    with torch.no_grad():
        target = ridge_predictor(inst, y.to(inst.V.dtype))
        return ((model(y).to(target.dtype) - target) ** 2).sum(-1).mean(-1) / inst.K

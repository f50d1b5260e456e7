"""Ren & Liu (NeurIPS 2024): softmax attention as one gradient step of a kernel "dual model".

Notation (spec ../shared/papers/ren2024.md, §1). Everything carries a leading batch dimension B of independent
instances; columns are tokens, as in the paper:

- ``H`` (B, d_i, T+1): tokens ``[H_D, H_Q]``; the first N columns are demonstrations, the last column ``h_{T+1}`` is
  the query whose output ``h'_{T+1}`` we read; ``M = T+1-N >= 1`` query-side tokens.
- ``W_Q, W_K, W_V`` (B, d_o, d_i); ``Wr`` (B, d_r, d_o): random-feature directions ``w_r ~ N(0, I)``.
- Softmax attention: ``h' = W_V H softmax((W_K H)^T W_Q h_{T+1} / sqrt(d_o))``; the 1/sqrt(d_o) is absorbed as
  ``d_o^{-1/4}`` on keys and query.
- Positive random features: ``phi(x) = exp(-|x|^2/2)/sqrt(d_r) [exp(w_r^T x)]_r`` (Performer / FAVOR+).
- Dual model ``f(x) = W phi(x)``; training pairs ``x_i = W_K h_i`` (key view, scaled), ``y_i = W_V h_i`` (value view);
  ``W_0 = (1/D) sum_{j in Q} W_V h_j phi(k_j)^T``; ``D = sum_j phi(k_j)^T phi(q)``;
  loss ``L(W) = -(1/(eta D)) sum_i y_i^T W phi(x_i)``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from models.validation import ConfigError, check_finite


def check_shapes(H: torch.Tensor, W_Q: torch.Tensor, W_K: torch.Tensor, W_V: torch.Tensor, Wr: torch.Tensor | None,
                 N: int) -> None:
    if H.dim() != 3:
        raise ConfigError("H", f"must have shape (B, d_i, T+1), got {tuple(H.shape)}")
    B, d_i, T1 = H.shape
    for name, W in (("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V)):
        if W.dim() != 3 or W.shape[0] != B or W.shape[2] != d_i:
            raise ConfigError(name, f"must have shape (B={B}, d_o, d_i={d_i}), got {tuple(W.shape)}")
    if W_Q.shape[1] != W_K.shape[1]:
        raise ConfigError("W_K", f"key dim {W_K.shape[1]} differs from query dim {W_Q.shape[1]}")
    if Wr is not None and (Wr.dim() != 3 or Wr.shape[0] != B or Wr.shape[2] != W_K.shape[1]):
        raise ConfigError("Wr", f"must have shape (B={B}, d_r, d_o={W_K.shape[1]}), got {tuple(Wr.shape)}")
    if not 1 <= N < T1:
        raise ConfigError("N", f"must satisfy 1 <= N < T+1 = {T1} (at least one query-side token), got {N}")
    check_finite("H", H)


def prf(x: torch.Tensor, Wr: torch.Tensor) -> torch.Tensor:
    """Positive random features ``phi(x)`` of the columns of ``x`` (B, d_o, n) -> (B, d_r, n)."""
    d_r = Wr.shape[-2]
    return torch.exp(Wr @ x - 0.5 * (x * x).sum(-2, keepdim=True)) / math.sqrt(d_r)


def softmax_attention(H: torch.Tensor, W_Q: torch.Tensor, W_K: torch.Tensor, W_V: torch.Tensor) -> torch.Tensor:
    """Exact softmax attention output at the query ``h'_{T+1}`` (B, d_o)."""
    d_o = W_Q.shape[1]
    K = W_K @ H  # (B, d_o, T+1)
    q = W_Q @ H[..., -1:]  # (B, d_o, 1)
    a = torch.softmax((K.transpose(-1, -2) @ q).squeeze(-1) / math.sqrt(d_o), dim=-1)  # over the T+1 positions
    return (W_V @ H @ a.unsqueeze(-1)).squeeze(-1)


class KernelAttention(NamedTuple):
    """Kernelised attention at the query and the dual model's ingredients (all batched)."""

    h: torch.Tensor  # (B, d_o): hat h'_{T+1}
    D: torch.Tensor  # (B,): normaliser sum_j phi(k_j)^T phi(q)
    W0: torch.Tensor  # (B, d_o, d_r): query-side ("zero-shot") initialisation
    X: torch.Tensor  # (B, d_r, N): phi(x_i) of the demonstration keys
    Y: torch.Tensor  # (B, d_o, N): value-view labels y_i
    phi_q: torch.Tensor  # (B, d_r): phi(x_test)
    weights: torch.Tensor  # (B, T+1): attention weights phi(k_j)^T phi(q) / D


def kernel_attention(H, W_Q, W_K, W_V, Wr, N: int, values: torch.Tensor | None = None,
                     query_side_scale: float = 1.0) -> KernelAttention:
    """Kernelised softmax attention with positive random features, plus the dual model's data.

    ``values`` replaces ``W_V H`` (B, d_o, T+1) for modified attentions (negative samples); ``query_side_scale``
    multiplies the query-side terms of the numerator (regularised attention, ``1 - alpha``).
    """
    check_shapes(H, W_Q, W_K, W_V, Wr, N)
    d_o = W_Q.shape[1]
    s = d_o ** -0.25
    K = s * (W_K @ H)
    q = s * (W_Q @ H[..., -1:])
    V = W_V @ H if values is None else values
    phi_K = prf(K, Wr)  # (B, d_r, T+1)
    phi_q = prf(q, Wr).squeeze(-1)  # (B, d_r)
    scores = (phi_K * phi_q.unsqueeze(-1)).sum(-2)  # (B, T+1), all > 0
    D = scores.sum(-1)
    W0 = (V[..., N:] @ phi_K[..., N:].transpose(-1, -2)) / D[:, None, None]
    num = V[..., :N] @ scores[:, :N, None] + query_side_scale * (V[..., N:] @ scores[:, N:, None])
    h = num.squeeze(-1) / D[:, None]
    return KernelAttention(h, D, W0, phi_K[..., :N], V[..., :N], phi_q, scores / D[:, None])


def dual_loss(W: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, D: torch.Tensor, eta: float) -> torch.Tensor:
    """``L(W) = -(1/(eta D)) sum_i y_i^T W phi(x_i)``, summed over the batch (instances are independent)."""
    return -((Y * (W @ X)).sum((-1, -2)) / (eta * D)).sum()


def dual_one_step(W0: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, D: torch.Tensor, eta: float,
                  reg_alpha: float = 0.0) -> torch.Tensor:
    """``W_1 = W_0 - eta grad L(W_0)`` with the gradient taken by autograd (D is a constant of the dual problem).

    ``reg_alpha`` adds ``(alpha/(2 eta)) |W|_F^2`` (regularised dual loss, R-REG).
    """
    W = W0.detach().clone().requires_grad_(True)
    loss = dual_loss(W, X, Y, D.detach(), eta)
    if reg_alpha:
        loss = loss + reg_alpha / (2 * eta) * (W * W).sum()
    (grad,) = torch.autograd.grad(loss, W)
    return (W0 - eta * grad).detach()


def dual_predict(W: torch.Tensor, phi_q: torch.Tensor) -> torch.Tensor:
    """Dual model's test output ``f(x_test) = W phi(x_test)`` (B, d_o)."""
    return (W @ phi_q.unsqueeze(-1)).squeeze(-1)


def random_instance(B: int, d_i: int, d_o: int, N: int, M: int, d_r: int, scale: float, token_bound: float,
                    generator: torch.Generator, dtype=torch.float64, device=None):
    """Tokens uniform in [-token_bound, token_bound], weights N(0,1)/sqrt(d_i)*scale, w_r ~ N(0, I)."""
    device = device or generator.device
    kw = dict(generator=generator, dtype=dtype, device=device)
    H = (torch.rand(B, d_i, N + M, **kw) * 2 - 1) * token_bound
    W_Q, W_K, W_V = (torch.randn(B, d_o, d_i, **kw) * scale / math.sqrt(d_i) for _ in range(3))
    Wr = torch.randn(B, d_r, d_o, **kw)
    return H, W_Q, W_K, W_V, Wr

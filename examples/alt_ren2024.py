"""An alternative implementation of part of the ren2024 model API (models/ren2024_api.py), written independently of
models/ren2024.py: per-token loops and einsum, the dual step's gradient written by hand instead of autograd.

Provides: random_instance, prf, taylor_features, softmax_attention, kernel_attention, dual_loss, dual_one_step,
dual_predict, random_order, sequential_sgd -- enough for R-PRF, R-T31 and R-SEQ, which run against it and hold:

    pytest properties/ -k "R-PRF or R-T31 or R-SEQ" --impl ren2024=examples.alt_ren2024

Omits (deliberately) the FFN, the stack, the modified attentions, the ball sampler and the Fig. 3 regressor, so
R-FFN, R-ML, R-REG, R-AUG, R-NEG, R-T32 and R-F3 are reported as "not applicable" against it.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch


class Attention(NamedTuple):
    h: torch.Tensor  # (B, d_v) kernelised attention output at the query
    D: torch.Tensor  # (B,) normaliser
    W0: torch.Tensor  # (B, d_v, d_r) query-side initialisation
    X: torch.Tensor  # (B, d_r, N) features of the demonstration keys
    Y: torch.Tensor  # (B, d_v, N) demonstration values
    phi_q: torch.Tensor  # (B, d_r)
    weights: torch.Tensor  # (B, T+1)


def random_instance(B, d_i, d_o, N, M, d_r, scale, token_bound, generator, dtype=torch.float64, device=None):
    kw = dict(generator=generator, dtype=dtype, device=device or generator.device)
    H = token_bound * (2 * torch.rand(B, d_i, N + M, **kw) - 1)
    W_Q, W_K, W_V = (scale * torch.randn(B, d_o, d_i, **kw) / d_i**0.5 for _ in "qkv")
    return H, W_Q, W_K, W_V, torch.randn(B, d_r, d_o, **kw)


def prf(x, Wr):
    """phi(x)_r = exp(w_r . x - |x|^2 / 2) / sqrt(d_r), for the columns of x."""
    logits = torch.einsum("...rd,...dn->...rn", Wr, x) - 0.5 * torch.einsum("...dn,...dn->...n", x, x)[..., None, :]
    return torch.exp(logits) * Wr.shape[-2] ** -0.5


def taylor_features(x, order):
    """(+)_{k <= p} x^{(x)k} / sqrt(k!), one token at a time."""
    cols = []
    for j in range(x.shape[-1]):
        v, power, parts = x[..., j], torch.ones_like(x[..., :1, j]), []
        for k in range(order + 1):
            parts.append(power / math.sqrt(math.factorial(k)))
            power = torch.einsum("ba,bc->bac", power, v).flatten(1)
        cols.append(torch.cat(parts, -1))
    return torch.stack(cols, -1)


def _qkv(H, W_Q, W_K, W_V):
    s = W_Q.shape[1] ** -0.25
    K = s * torch.einsum("boi,bit->bot", W_K, H)
    return K, s * torch.einsum("boi,bi->bo", W_Q, H[..., -1]), torch.einsum("boi,bit->bot", W_V, H)


def softmax_attention(H, W_Q, W_K, W_V):
    K, q, V = _qkv(H, W_Q, W_K, W_V)
    a = torch.einsum("bot,bo->bt", K, q).softmax(-1)
    return torch.einsum("bvt,bt->bv", V, a)


def kernel_attention(H, W_Q, W_K, W_V, Wr, N, values=None, query_side_scale=1.0, features=None, residual=False,
                     mask_query_values=False, normaliser="all"):
    K, q, V = _qkv(H, W_Q, W_K, W_V)
    V = V if values is None else values
    T1 = H.shape[-1]
    phi = features if features is not None else (lambda x: prf(x, Wr))
    F = phi(K)  # (B, d_r, T+1)
    f_q = phi(q[..., None])[..., 0]
    s = torch.einsum("brt,br->bt", F, f_q)
    # which tokens the normaliser sums (errata 'demos_query': the demonstrations and the query itself)
    in_D = [1.0] * T1 if normaliser == "all" else [1.0] * N + [0.0] * (T1 - N - 1) + [1.0]
    D = s.sum(-1) if normaliser == "all" else sum(s[:, j] * in_D[j] for j in range(T1))
    q_side = 0.0 if mask_query_values else query_side_scale
    c = torch.tensor([1.0] * N + [q_side] * (T1 - N), dtype=H.dtype, device=H.device)
    h = sum(V[..., j] * (c[j] * s[:, j])[:, None] for j in range(T1)) / D[:, None]
    if residual:
        h = H[..., -1] + h
    W0 = torch.einsum("bvj,brj->bvr", V[..., N:], F[..., N:]) / D[:, None, None] * (0.0 if mask_query_values else 1.0)
    w = torch.tensor(in_D, dtype=H.dtype, device=H.device)
    return Attention(h, D, W0, F[..., :N], V[..., :N], f_q, s * w / D[:, None])


def dual_loss(W, X, Y, D, eta, Y_neg=None, beta=0.0):
    labels = Y if Y_neg is None else Y - beta * Y_neg
    return -(torch.einsum("bvn,bvr,brn->b", labels, W, X) / (eta * D)).sum()


def dual_one_step(W0, X, Y, D, eta, reg_alpha=0.0, Y_neg=None, beta=0.0):
    """W_1 = W_0 - eta grad L(W_0), the gradient written by hand: -(1/(eta D)) sum_i y_i phi_i^T (+ alpha/eta W)."""
    labels = Y if Y_neg is None else Y - beta * Y_neg
    grad = -torch.einsum("bvn,brn->bvr", labels, X) / (eta * D)[:, None, None] + reg_alpha / eta * W0
    return W0 - eta * grad


def dual_predict(W, phi_q):
    return torch.einsum("bvr,br->bv", W, phi_q)


def random_order(B, N, generator):
    return torch.stack([torch.randperm(N, generator=generator, device=generator.device) for _ in range(B)])


def sequential_sgd(W0, X, Y, D, eta, order):
    traj, W = [W0], W0
    for t in range(order.shape[1]):
        i = order[:, t]
        b = torch.arange(W0.shape[0], device=W0.device)
        W = W + torch.einsum("bv,br->bvr", Y[b, :, i], X[b, :, i]) / D[:, None, None]
        traj.append(W)
    return torch.stack(traj, 1)

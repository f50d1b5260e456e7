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

Extensions (all reconstructed, spec §1.4-§1.8): sequential one-token SGD, attention + FFN, a stack of L kernelised
attention layers, and the regularised / augmented / negative-sample modifications. A feature map other than the
PRF (``features=``, e.g. :func:`taylor_features`) can replace ``phi`` everywhere: the identities do not depend on it.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch

from models.validation import ConfigError, check_finite

FeatureMap = Callable[[torch.Tensor], torch.Tensor]  # columns (B, d, n) -> features (B, d_r, n)


# ---------------------------------------------------------------- validation
def check_positive(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(name, f"must be an integer >= {minimum}, got {value!r}")


def check_shapes(H: torch.Tensor, W_Q: torch.Tensor, W_K: torch.Tensor, W_V: torch.Tensor, Wr: torch.Tensor | None,
                 N: int | None) -> None:
    """One clear :class:`ConfigError` naming the parameter for bad shapes, NaN tokens, d_r < 1 or a bad split N
    (``N=None``: no demonstration/query split, e.g. attention at all positions)."""
    if H.dim() != 3:
        raise ConfigError("H", f"must have shape (B, d_i, T+1), got {tuple(H.shape)}")
    B, d_i, T1 = H.shape
    for name, W in (("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V)):
        if W.dim() != 3 or W.shape[0] != B or W.shape[2] != d_i:
            raise ConfigError(name, f"must have shape (B={B}, d_o, d_i={d_i}), got {tuple(W.shape)}")
    if W_Q.shape[1] != W_K.shape[1]:
        raise ConfigError("W_K", f"key dim {W_K.shape[1]} differs from query dim {W_Q.shape[1]}")
    if Wr is not None:
        if Wr.dim() != 3 or Wr.shape[0] != B or Wr.shape[2] != W_K.shape[1]:
            raise ConfigError("Wr", f"must have shape (B={B}, d_r, d_o={W_K.shape[1]}), got {tuple(Wr.shape)}")
        if Wr.shape[1] < 1:
            raise ConfigError("d_r", f"must be >= 1 (Wr has {Wr.shape[1]} random features)")
        check_finite("Wr", Wr)
    if N is not None and not 1 <= N < T1:
        raise ConfigError("N", f"must satisfy 1 <= N < T+1 = {T1} (at least one query-side token), got {N}")
    check_finite("H", H)


# ---------------------------------------------------------------- feature maps
def prf(x: torch.Tensor, Wr: torch.Tensor) -> torch.Tensor:
    """Positive random features ``phi(x)`` of the columns of ``x`` (..., d_o, n) -> (..., d_r, n)."""
    d_r = Wr.shape[-2]
    return torch.exp(Wr @ x - 0.5 * (x * x).sum(-2, keepdim=True)) / math.sqrt(d_r)


def taylor_features(x: torch.Tensor, order: int) -> torch.Tensor:
    """Deterministic features of ``exp(x^T y)`` truncated at ``order`` p: ``phi_p(x) = (+)_{k<=p} x^{(x)k}/sqrt(k!)``.

    ``phi_p(x)^T phi_p(y) = sum_{k<=p} (x^T y)^k / k!``, which is > 0 for every real x^T y when p is even.
    (B, d, n) -> (B, sum_k d^k, n).
    """
    check_positive("taylor_order", order, minimum=0)
    B, d, n = x.shape
    power = torch.ones(B, 1, n, dtype=x.dtype, device=x.device)  # x^{(x)0}
    feats = [power]
    for k in range(1, order + 1):
        power = (power[:, :, None, :] * x[:, None, :, :]).reshape(B, -1, n)  # x^{(x)k}
        feats.append(power / math.sqrt(math.factorial(k)))
    return torch.cat(feats, dim=1)


def taylor_feature_dim(d: int, order: int) -> int:
    return sum(d**k for k in range(order + 1))


# ---------------------------------------------------------------- attention and its dual model
def project(H: torch.Tensor, W_Q: torch.Tensor, W_K: torch.Tensor, W_V: torch.Tensor):
    """Keys ``K = d_o^{-1/4} W_K H`` (B, d_o, T+1), query ``q = d_o^{-1/4} W_Q h_{T+1}`` (B, d_o, 1), values
    ``W_V H``."""
    s = W_Q.shape[1] ** -0.25
    return s * (W_K @ H), s * (W_Q @ H[..., -1:]), W_V @ H


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
    D: torch.Tensor  # (B,): normaliser sum_j phi(k_j)^T phi(q) (over the tokens the normaliser convention sums)
    W0: torch.Tensor  # (B, d_o, d_r): query-side ("zero-shot") initialisation
    X: torch.Tensor  # (B, d_r, N): phi(x_i) of the demonstration keys
    Y: torch.Tensor  # (B, d_o, N): value-view labels y_i
    phi_q: torch.Tensor  # (B, d_r): phi(x_test)
    weights: torch.Tensor  # (B, T+1): phi(k_j)^T phi(q) / D on the tokens D sums (all, by default), else 0


def _feature_map(Wr: torch.Tensor | None, features: FeatureMap | None) -> FeatureMap:
    if features is not None:
        return features
    if Wr is None:
        raise ConfigError("Wr", "is required when no feature map is given")
    return lambda x: prf(x, Wr)


NORMALISERS = ("all", "demos_query")


def kernel_attention_kqv(K: torch.Tensor, q: torch.Tensor, V: torch.Tensor, Wr: torch.Tensor | None, N: int,
                         query_side_scale: float = 1.0, features: FeatureMap | None = None,
                         mask_query_values: bool = False, normaliser: str = "all") -> KernelAttention:
    """Kernelised attention on given keys (B, d, T+1), query (B, d, 1) and values (B, d_v, T+1).

    ``query_side_scale`` multiplies the query-side terms of the numerator only (regularised attention, ``1 - alpha``).
    Conventions of the softmax-attention / dual-model correspondence (spec, "New evidence and errata"); the defaults
    are spec §1's form:

    - ``mask_query_values``: the query-side values are masked in the numerator (``M = diag(I_N, 0)``): the numerator
      sums over the N demonstrations only and ``W0 = 0`` (no zero-shot part); default False (§1: every token's value).
    - ``normaliser``: ``"all"`` (§1, default): ``D = sum_{j=1}^{T+1} phi(k_j)^T phi(q)`` over every token, the
      query's own key included; ``"demos_query"`` (errata): ``D' = sum_{i<=N} phi(k_i)^T phi(q) + phi(k_{T+1})^T
      phi(q)``, the demonstrations plus the query's own key only (the other query-side tokens, if M > 1, are left
      out; with M = 1 the two coincide). ``weights`` are the normaliser's: ``phi(k_j)^T phi(q) / D`` for the tokens
      it sums, 0 for the others.
    """
    if normaliser not in NORMALISERS:
        raise ConfigError("normaliser", f"must be one of {list(NORMALISERS)}, got {normaliser!r}")
    phi = _feature_map(Wr, features)
    phi_K = phi(K)  # (B, d_r, T+1)
    phi_q = phi(q).squeeze(-1)  # (B, d_r)
    scores = (phi_K * phi_q.unsqueeze(-1)).sum(-2)  # (B, T+1), all > 0 for positive features
    if normaliser == "all":
        D = scores.sum(-1)
        weights = scores / D[:, None]
    else:  # the demonstrations and the query's own key
        in_D = torch.zeros_like(scores)
        in_D[:, :N] = 1.0
        in_D[:, -1] = 1.0
        D = (scores * in_D).sum(-1)
        weights = scores * in_D / D[:, None]
    if mask_query_values:
        W0 = torch.zeros(V.shape[0], V.shape[1], phi_K.shape[1], dtype=V.dtype, device=V.device)
        num = V[..., :N] @ scores[:, :N, None]
    else:
        W0 = (V[..., N:] @ phi_K[..., N:].transpose(-1, -2)) / D[:, None, None]
        num = V[..., :N] @ scores[:, :N, None] + query_side_scale * (V[..., N:] @ scores[:, N:, None])
    h = num.squeeze(-1) / D[:, None]
    return KernelAttention(h, D, W0, phi_K[..., :N], V[..., :N], phi_q, weights)


def kernel_attention(H, W_Q, W_K, W_V, Wr, N: int, values: torch.Tensor | None = None,
                     query_side_scale: float = 1.0, features: FeatureMap | None = None, residual: bool = False,
                     mask_query_values: bool = False, normaliser: str = "all") -> KernelAttention:
    """Kernelised softmax attention with positive random features, plus the dual model's data.

    ``values`` replaces ``W_V H`` (B, d_o, T+1) for modified attentions (negative samples); ``query_side_scale``
    multiplies the query-side terms of the numerator (regularised attention, ``1 - alpha``); ``features`` replaces
    the PRF (then ``Wr`` may be None). The errata's conventions (defaults: spec §1's form): ``residual`` returns
    ``h = h_{T+1} + `` the attention output (needs d_o == d_i; the dual data are unchanged, so the dual model's
    prediction is ``h_{T+1} + W_1 phi(q)``); ``mask_query_values`` and ``normaliser`` as in
    :func:`kernel_attention_kqv`.
    """
    check_shapes(H, W_Q, W_K, W_V, Wr, N)
    K, q, V = project(H, W_Q, W_K, W_V)
    if residual and V.shape[1] != H.shape[1]:
        raise ConfigError("d_o", f"a residual needs d_o == d_i, got {V.shape[1]} != {H.shape[1]}")
    if values is not None:
        if values.shape != V.shape:
            raise ConfigError("values", f"must have shape {tuple(V.shape)}, got {tuple(values.shape)}")
        V = values
    ka = kernel_attention_kqv(K, q, V, Wr, N, query_side_scale, features, mask_query_values, normaliser)
    if residual:
        ka = ka._replace(h=H[..., -1] + ka.h)
    return ka


def gd_step(W: torch.Tensor, loss_fn: Callable[[torch.Tensor], torch.Tensor], eta: float) -> torch.Tensor:
    """``W - eta grad loss(W)`` with the gradient by autograd.

    When ``W`` or the loss's other inputs carry a graph (e.g. under ``torch.autograd.functional.jacobian``, where
    W_0 and the dual data are functions of the query; with the query-side values masked W_0 = 0 is a constant and
    only the dual data are), the step keeps it (``create_graph``), so derivatives of the trained model w.r.t. its
    inputs flow through the update; otherwise the result is detached.
    """
    keep_graph = torch.is_grad_enabled() and (W.requires_grad or loss_fn(W.detach()).requires_grad)
    Wv = W if keep_graph and W.requires_grad else W.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(loss_fn(Wv), Wv, create_graph=keep_graph)
    W1 = W - eta * grad
    return W1 if keep_graph else W1.detach()


def dual_loss(W: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, D: torch.Tensor, eta: float,
              Y_neg: torch.Tensor | None = None, beta: float = 0.0) -> torch.Tensor:
    """``L(W) = -(1/(eta D)) sum_i (y_i - beta ybar_i^-)^T W phi(x_i)``, summed over the batch (independent instances).

    ``Y_neg`` (B, d_o, N) are the mean values of each token's negative set (R-NEG); without it, plain Theorem 3.1.
    """
    labels = Y if Y_neg is None else Y - beta * Y_neg
    return -((labels * (W @ X)).sum((-1, -2)) / (eta * D)).sum()


def dual_one_step(W0: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, D: torch.Tensor, eta: float,
                  reg_alpha: float = 0.0, Y_neg: torch.Tensor | None = None, beta: float = 0.0) -> torch.Tensor:
    """``W_1 = W_0 - eta grad L(W_0)`` with the gradient taken by autograd (D is a constant of the dual problem).

    ``reg_alpha`` adds ``(alpha/(2 eta)) |W|_F^2`` (regularised dual loss, R-REG); ``Y_neg, beta`` the negative
    samples (R-NEG).
    """
    def loss(W):
        out = dual_loss(W, X, Y, D, eta, Y_neg, beta)
        return out + reg_alpha / (2 * eta) * (W * W).sum() if reg_alpha else out

    return gd_step(W0, loss, eta)


def dual_predict(W: torch.Tensor, phi_q: torch.Tensor) -> torch.Tensor:
    """Dual model's test output ``f(x_test) = W phi(x_test)`` (B, d_o)."""
    return (W @ phi_q.unsqueeze(-1)).squeeze(-1)


# ---------------------------------------------------------------- R-SEQ: one demonstration per SGD step
def random_order(B: int, N: int, generator: torch.Generator) -> torch.Tensor:
    """An independent random permutation of the N demonstrations per instance, (B, N) long."""
    return torch.rand(B, N, generator=generator, device=generator.device).argsort(-1)


def sequential_sgd(W0: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, D: torch.Tensor, eta: float,
                   order: torch.Tensor) -> torch.Tensor:
    """Feed the demonstrations one per step in ``order`` (B, n_steps): each step is ``W <- W - eta grad L_i(W)`` by
    autograd on the one-sample loss ``L_i(W) = -(1/(eta D)) y_i^T W phi(x_i)``.

    Returns the trajectory ``W^{(0)}, ..., W^{(n_steps)}`` as (B, n_steps+1, d_o, d_r).
    """
    if order.dim() != 2 or order.shape[0] != W0.shape[0]:
        raise ConfigError("order", f"must have shape (B={W0.shape[0]}, n_steps), got {tuple(order.shape)}")
    if order.numel() and not (0 <= int(order.min()) and int(order.max()) < X.shape[-1]):
        raise ConfigError("order", f"indices must lie in [0, N={X.shape[-1]})")
    traj = [W0]
    W = W0
    for t in range(order.shape[1]):
        idx = order[:, t].view(-1, 1, 1)
        x = X.gather(-1, idx.expand(-1, X.shape[1], 1))  # (B, d_r, 1)
        y = Y.gather(-1, idx.expand(-1, Y.shape[1], 1))  # (B, d_o, 1)
        W = gd_step(W, lambda V, x=x, y=y: dual_loss(V, x, y, D, eta), eta)
        traj.append(W)
    return torch.stack(traj, dim=1)


# ---------------------------------------------------------------- R-FFN: attention + feed-forward layer
def ffn(z: torch.Tensor, W_1: torch.Tensor, W_2: torch.Tensor, activation: str = "relu",
        residual: bool = False) -> torch.Tensor:
    """``FFN(z) = W_2 sigma(W_1 z)`` (+ z when ``residual``); z (B, d_o), W_1 (B, d_ff, d_o), W_2 (B, d_o, d_ff)."""
    if W_1.shape[-1] != z.shape[-1] or W_2.shape[-2] != z.shape[-1] or W_2.shape[-1] != W_1.shape[-2]:
        raise ConfigError("W_1", f"FFN shapes {tuple(W_1.shape)}, {tuple(W_2.shape)} do not fit z {tuple(z.shape)}")
    act = {"relu": torch.relu, "gelu": torch.nn.functional.gelu}.get(activation)
    if act is None:
        raise ConfigError("activation", f"must be 'relu' or 'gelu', got {activation!r}")
    out = (W_2 @ act(W_1 @ z.unsqueeze(-1))).squeeze(-1)
    return z + out if residual else out


def transformer_layer(H, W_Q, W_K, W_V, Wr, N: int, W_1, W_2, activation: str = "relu", residual: bool = False,
                      features: FeatureMap | None = None) -> tuple[torch.Tensor, KernelAttention]:
    """One layer: kernelised attention at the query, then the FFN: ``h'' = W_2 sigma(W_1 h')`` (+ h' if residual)."""
    ka = kernel_attention(H, W_Q, W_K, W_V, Wr, N, features=features)
    return ffn(ka.h, W_1, W_2, activation, residual), ka


def relu_linearisation(z: torch.Tensor, W_1: torch.Tensor, W_2: torch.Tensor, residual: bool = False) -> torch.Tensor:
    """``A = W_2 Lambda W_1`` (+ I), ``Lambda = diag(1[W_1 z > 0])`` fixed at z, so that ``FFN_relu(z) = A z`` there;
    (B, d_o, d_o)."""
    mask = ((W_1 @ z.unsqueeze(-1)) > 0).to(z.dtype)  # (B, d_ff, 1)
    A = W_2 @ (mask * W_1)
    return A + torch.eye(A.shape[-1], dtype=A.dtype, device=A.device) if residual else A


def lift_dual(A: torch.Tensor, W0: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The lifted dual problem of R-FFN: initialisation ``A W_0`` and labels ``A y_i``."""
    return A @ W0, A @ Y


# ---------------------------------------------------------------- R-ML: a stack of kernelised attention layers
class AttentionWeights(NamedTuple):
    W_Q: torch.Tensor  # (B, d_o, d_in)
    W_K: torch.Tensor
    W_V: torch.Tensor
    Wr: torch.Tensor  # (B, d_r, d_o)


def kernel_attention_all(H: torch.Tensor, w: AttentionWeights, causal: bool = False,
                         features: FeatureMap | None = None) -> torch.Tensor:
    """Kernelised attention at every position (B, d_o, T+1); with ``causal`` position t attends to positions <= t."""
    check_shapes(H, w.W_Q, w.W_K, w.W_V, w.Wr if features is None else None, None)
    phi = _feature_map(w.Wr, features)
    s = w.W_Q.shape[1] ** -0.25
    phi_K = phi(s * (w.W_K @ H))  # (B, d_r, T+1)
    phi_Q = phi(s * (w.W_Q @ H))
    S = phi_K.transpose(-1, -2) @ phi_Q  # S[j, t] = phi(k_j)^T phi(q_t)
    if causal:
        S = S * torch.ones_like(S[0]).triu()  # keep j <= t
    return (w.W_V @ H @ S) / S.sum(-2, keepdim=True)


def attention_stack(H: torch.Tensor, layers: Sequence[AttentionWeights], causal: bool = False,
                    residual: bool = False, features: FeatureMap | None = None) -> list[torch.Tensor]:
    """``h^{(l)} = attn_l(h^{(l-1)})`` (+ ``h^{(l-1)}`` if residual) at all positions; returns
    ``[H^{(0)}, ..., H^{(L)}]``."""
    hs = [H]
    for l, w in enumerate(layers, start=1):
        prev = hs[-1]
        if w.W_Q.shape[-1] != prev.shape[1]:
            raise ConfigError("layers", f"layer {l} expects d_in={w.W_Q.shape[-1]} but receives {prev.shape[1]}")
        out = kernel_attention_all(prev, w, causal, features)
        if residual:
            if out.shape[1] != prev.shape[1]:
                raise ConfigError("d_o", f"a residual stack needs d_o == d_i, got {out.shape[1]} != {prev.shape[1]}")
            out = prev + out
        hs.append(out)
    return hs


def random_stack(B: int, d_i: int, d_o: int, L: int, d_r: int, scale: float, generator: torch.Generator,
                 dtype=torch.float64, device=None) -> list[AttentionWeights]:
    """L layers; layer 1 maps d_i -> d_o, the others d_o -> d_o; weights N(0,1)/sqrt(d_in)*scale, w_r ~ N(0, I)."""
    for name, v in (("batch", B), ("d_i", d_i), ("d_o", d_o), ("L", L), ("d_r", d_r)):
        check_positive(name, v)
    kw = dict(generator=generator, dtype=dtype, device=device or generator.device)
    layers = []
    for l in range(L):
        d_in = d_i if l == 0 else d_o
        W_Q, W_K, W_V = (torch.randn(B, d_o, d_in, **kw) * scale / math.sqrt(d_in) for _ in range(3))
        layers.append(AttentionWeights(W_Q, W_K, W_V, torch.randn(B, d_r, d_o, **kw)))
    return layers


# ---------------------------------------------------------------- R-REG, R-AUG, R-NEG: the three modifications
def regularised_attention(H, W_Q, W_K, W_V, Wr, N: int, alpha: float,
                          features: FeatureMap | None = None) -> KernelAttention:
    """Query-side (zero-shot) terms of the numerator scaled by ``1 - alpha``; the normaliser D is unchanged."""
    return kernel_attention(H, W_Q, W_K, W_V, Wr, N, query_side_scale=1.0 - alpha, features=features)


class MLP(NamedTuple):
    """A random two-layer map ``g(x) = W_2 tanh(W_1 x + b_1) + b_2`` applied to columns (one per instance)."""

    W_1: torch.Tensor  # (B, d_hidden, d_in)
    b_1: torch.Tensor  # (B, d_hidden, 1)
    W_2: torch.Tensor  # (B, d_out, d_hidden)
    b_2: torch.Tensor  # (B, d_out, 1)


def random_mlp(B: int, d_in: int, d_hidden: int, d_out: int, generator: torch.Generator, dtype=torch.float64,
               device=None) -> MLP:
    for name, v in (("batch", B), ("d_in", d_in), ("d_hidden", d_hidden), ("d_out", d_out)):
        check_positive(name, v)
    kw = dict(generator=generator, dtype=dtype, device=device or generator.device)
    return MLP(torch.randn(B, d_hidden, d_in, **kw) / math.sqrt(d_in), 0.1 * torch.randn(B, d_hidden, 1, **kw),
               torch.randn(B, d_out, d_hidden, **kw) / math.sqrt(d_hidden), 0.1 * torch.randn(B, d_out, 1, **kw))


def mlp(g: MLP | None, x: torch.Tensor) -> torch.Tensor:
    """Apply g to the columns of x (B, d_in, n); ``g = None`` is the identity view."""
    if g is None:
        return x
    return g.W_2 @ torch.tanh(g.W_1 @ x + g.b_1) + g.b_2


def augmented_attention(H, W_Q, W_K, W_V, Wr, N: int, g_K: MLP | None, g_V: MLP | None,
                        augment_query: bool = False, features: FeatureMap | None = None) -> KernelAttention:
    """Kernelised attention on nonlinear views: keys ``g_K(k_j)``, values ``g_V(v_j)`` for every token, and the query
    ``g_K(q)`` when ``augment_query`` (else ``q``). Keys are scaled by d_o^{-1/4} before g_K."""
    check_shapes(H, W_Q, W_K, W_V, Wr, N)
    K, q, V = project(H, W_Q, W_K, W_V)
    return kernel_attention_kqv(mlp(g_K, K), mlp(g_K, q) if augment_query else q, mlp(g_V, V), Wr, N,
                                features=features)


def negative_sets(B: int, N: int, n_neg: int, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """For each demonstration i, a uniformly random subset of ``min(n_neg, N-1)`` other demonstrations, as a 0/1 mask
    (B, N, N) with ``mask[b, i, j] = 1`` iff j is a negative of i (never j = i)."""
    check_positive("n_neg", n_neg)
    n_eff = min(n_neg, N - 1)
    keys = torch.rand(B, N, N, generator=generator, device=generator.device)
    keys = keys + 2.0 * torch.eye(N, device=keys.device)  # i itself sorts last: never its own negative
    mask = torch.zeros(B, N, N, dtype=dtype, device=keys.device)
    if n_eff:
        mask.scatter_(-1, keys.topk(n_eff, dim=-1, largest=False).indices, 1.0)
    return mask


def negative_means(Y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``ybar_i^-``: the mean value vector of i's negative set, (B, d_o, N); zero where the set is empty (N = 1)."""
    count = mask.sum(-1).clamp(min=1.0)  # (B, N)
    return (Y @ mask.transpose(-1, -2)) / count[:, None, :]


def negative_attention(H, W_Q, W_K, W_V, Wr, N: int, beta: float, mask: torch.Tensor,
                       features: FeatureMap | None = None) -> KernelAttention:
    """Attention whose demonstration values ``v_i`` are replaced by ``v_i - beta ybar_i^-`` (negative samples)."""
    check_shapes(H, W_Q, W_K, W_V, Wr, N)
    if mask.shape != (H.shape[0], N, N):
        raise ConfigError("mask", f"must have shape (B, N, N) = {(H.shape[0], N, N)}, got {tuple(mask.shape)}")
    V = W_V @ H
    V_demo = V[..., :N] - beta * negative_means(V[..., :N], mask)
    return kernel_attention(H, W_Q, W_K, W_V, Wr, N, values=torch.cat([V_demo, V[..., N:]], -1), features=features)


# ---------------------------------------------------------------- random instances
def random_instance(B: int, d_i: int, d_o: int, N: int, M: int, d_r: int, scale: float, token_bound: float,
                    generator: torch.Generator, dtype=torch.float64, device=None):
    """Tokens uniform in [-token_bound, token_bound], weights N(0,1)/sqrt(d_i)*scale, w_r ~ N(0, I)."""
    for name, v in (("batch", B), ("d_i", d_i), ("d_o", d_o), ("N", N), ("M", M), ("d_r", d_r)):
        check_positive(name, v)
    for name, v in (("scale", scale), ("token_bound", token_bound)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ConfigError(name, f"must be a finite number > 0, got {v!r}")
    device = device or generator.device
    kw = dict(generator=generator, dtype=dtype, device=device)
    H = (torch.rand(B, d_i, N + M, **kw) * 2 - 1) * token_bound
    W_Q, W_K, W_V = (torch.randn(B, d_o, d_i, **kw) * scale / math.sqrt(d_i) for _ in range(3))
    Wr = torch.randn(B, d_r, d_o, **kw)
    return H, W_Q, W_K, W_V, Wr


def random_ffn(B: int, d_o: int, d_ff: int, generator: torch.Generator, dtype=torch.float64, device=None):
    """FFN weights ``W_1`` (B, d_ff, d_o) and ``W_2`` (B, d_o, d_ff), N(0,1)/sqrt(fan_in)."""
    for name, v in (("batch", B), ("d_o", d_o), ("d_ff", d_ff)):
        check_positive(name, v)
    kw = dict(generator=generator, dtype=dtype, device=device or generator.device)
    return (torch.randn(B, d_ff, d_o, **kw) / math.sqrt(d_o), torch.randn(B, d_o, d_ff, **kw) / math.sqrt(d_ff))


def uniform_ball(n: int, d: int, radius: float, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """n points uniform in the d-dimensional ball of the given radius, (n, d)."""
    kw = dict(generator=generator, dtype=dtype, device=generator.device)
    direction = torch.randn(n, d, **kw)
    direction = direction / direction.norm(dim=-1, keepdim=True)
    return direction * radius * torch.rand(n, 1, **kw) ** (1.0 / d)


# ---------------------------------------------------------------- Fig. 3 (right) smoke: trained modified attention
def icl_regression_tokens(B: int, d: int, N: int, generator: torch.Generator, dtype=torch.float32):
    """ICL linear regression in the regression layout: ``h_i = [x_i; y_i]``, query ``[x; 0]``, ``y = w^T x`` with
    ``x ~ N(0, I_d)``, ``w ~ N(0, I_d / d)``. Returns tokens (B, d+1, N+1) and the query targets (B,)."""
    kw = dict(generator=generator, dtype=dtype, device=generator.device)
    x = torch.randn(B, d, N + 1, **kw)
    w = torch.randn(B, 1, d, **kw) / math.sqrt(d)
    y = w @ x  # (B, 1, N+1)
    H = torch.cat([x, torch.cat([y[..., :N], torch.zeros_like(y[..., N:])], -1)], 1)
    return H, y[:, 0, N]


class ModifiedAttentionRegressor(torch.nn.Module):
    """One kernelised attention layer (learned W_Q, W_K, W_V; fixed random features) whose prediction for the query is
    the last coordinate of ``h'_{T+1}``; ``variant`` selects the plain, regularised (alpha), augmented (learned MLP
    views g_K, g_V) or negative-sample (beta, n_neg) attention."""

    VARIANTS = ("plain", "regularised", "augmented", "negative")

    def __init__(self, d: int, d_r: int, variant: str, generator: torch.Generator, alpha: float = 0.0,
                 beta: float = 0.0, n_neg: int = 1, d_hidden: int = 8, dtype=torch.float32):
        super().__init__()
        if variant not in self.VARIANTS:
            raise ConfigError("variant", f"must be one of {list(self.VARIANTS)}, got {variant!r}")
        kw = dict(generator=generator, dtype=dtype, device=generator.device)
        d1 = d + 1
        self.W_Q, self.W_K, self.W_V = (torch.nn.Parameter(torch.randn(d1, d1, **kw) / math.sqrt(d1))
                                        for _ in range(3))
        self.register_buffer("Wr", torch.randn(d_r, d1, **kw))
        self.variant, self.alpha, self.beta, self.n_neg = variant, alpha, beta, n_neg
        if variant == "augmented":
            self.g_K = torch.nn.ParameterList(random_mlp(1, d1, d_hidden, d1, generator, dtype))
            self.g_V = torch.nn.ParameterList(random_mlp(1, d1, d_hidden, d1, generator, dtype))

    def forward(self, H: torch.Tensor, N: int, generator: torch.Generator | None = None) -> torch.Tensor:
        B = H.shape[0]
        ex = lambda t: t.expand(B, *t.shape[-2:])  # noqa: E731  (one shared model over the batch)
        args = (H, ex(self.W_Q), ex(self.W_K), ex(self.W_V), ex(self.Wr), N)
        if self.variant == "regularised":
            ka = regularised_attention(*args, alpha=self.alpha)
        elif self.variant == "augmented":
            ka = augmented_attention(*args, MLP(*map(ex, self.g_K)), MLP(*map(ex, self.g_V)))
        elif self.variant == "negative":
            ka = negative_attention(*args, beta=self.beta, mask=negative_sets(B, N, self.n_neg, generator, H.dtype))
        else:
            ka = kernel_attention(*args)
        return ka.h[:, -1]


def train_icl_regressor(model: ModifiedAttentionRegressor, d: int, N: int, steps: int, batch: int,
                        generator: torch.Generator, lr: float = 1e-2, eval_every: int = 10, eval_batch: int = 512):
    """Adam on fresh ICL regression prompts; returns the evaluation steps and the test MSE at each (held-out prompts).

    Adam is written out (a few lines) rather than taken from torch.optim, whose first use imports torch._dynamo
    (seconds of start-up on a small machine)."""
    dtype = model.W_Q.dtype
    H_test, y_test = icl_regression_tokens(eval_batch, d, N, generator, dtype)
    params = [p for p in model.parameters() if p.requires_grad]
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    beta1, beta2, adam_eps = 0.9, 0.999, 1e-8
    at, mse = [], []
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            with torch.no_grad():
                at.append(step)
                mse.append(float(((model(H_test, N, generator) - y_test) ** 2).mean()))
        if step == steps:
            break
        H, y = icl_regression_tokens(batch, d, N, generator, dtype)
        grads = torch.autograd.grad(((model(H, N, generator) - y) ** 2).mean(), params)
        with torch.no_grad():
            for p, g, (m1, m2) in zip(params, grads, moments):
                m1.mul_(beta1).add_(g, alpha=1 - beta1)
                m2.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m1_hat, m2_hat = m1 / (1 - beta1 ** (step + 1)), m2 / (1 - beta2 ** (step + 1))
                p.sub_(lr * m1_hat / (m2_hat.sqrt() + adam_eps))
    return at, mse

"""Seed-batched layers: every weight has a leading batch dimension S (independent models: training seeds or
instances), so S models run as one batched product. Shared by li2024's GPT-2 and yang2024's 4-layer transformer."""
from __future__ import annotations

import torch
from torch import Tensor


def linear(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """x (S, ..., in) @ W^T + b per model: W (S, out, in), b (S, out) -> (S, ..., out); one matmul per model."""
    S = x.shape[0]
    y = x.reshape(S, -1, x.shape[-1]) @ W.transpose(-1, -2) + b.unsqueeze(1)
    return y.view(*x.shape[:-1], W.shape[1])


def layer_norm(x: Tensor, gain: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """LayerNorm over the last dim of x (S, ..., D) with per-model gain and bias (S, D); eps as nn.LayerNorm's."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return torch.nn.functional.layer_norm(x, x.shape[-1:], eps=eps) * gain.view(shape) + bias.view(shape)

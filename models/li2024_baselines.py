"""Classical classifiers fitted on the context examples of each prompt (li2024, Figure 20-21 of the slides).

Every prompt is its own tiny training set: features x_i (the top d_X block of p_i), labels sign(<y_i, q>) = +-1; the
classifier then predicts the query. All prompts are fitted at once (a leading batch dimension, no Python loop over
prompts). scikit-learn is not a dependency; these are small closed-form / iterative implementations of the same
models with scikit-learn's default hyper-parameters:

- logistic regression: L2 penalty 1/(2C) |w|^2 with C = 1, unpenalised intercept, Newton's method;
- linear and RBF SVM: C = 1, RBF gamma = 1 / (d_X Var(X)) ("scale"); solved in the dual by projected gradient
  ascent, with the intercept absorbed into the kernel (K + 1), a standard variant of the SVC intercept;
- k-nearest neighbours (k = 1, 3), Euclidean distance, majority vote.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def context_data(P: Tensor, d_X: int) -> tuple[Tensor, Tensor, Tensor]:
    """(X (B, l, d_X), y (B, l) +-1, x_query (B, d_X)) from prompts P (..., l+1, d) with q along e_1."""
    P = P.reshape(-1, *P.shape[-2:])
    X, xq = P[:, :-1, :d_X], P[:, -1, :d_X]
    y = torch.where(P[:, :-1, d_X] >= 0, 1.0, -1.0).to(P.dtype)
    return X, y, xq


def knn_predict(X: Tensor, y: Tensor, xq: Tensor, k: int) -> Tensor:
    """Majority vote of the k nearest contexts (k capped at l; ties of the vote go to +1)."""
    k = min(k, X.shape[1])
    dist = ((X - xq.unsqueeze(1)) ** 2).sum(-1)
    idx = torch.topk(dist, k, dim=-1, largest=False).indices
    vote = torch.gather(y, 1, idx).sum(-1)
    return torch.where(vote >= 0, 1.0, -1.0).to(X.dtype)


def logistic_predict(X: Tensor, y: Tensor, xq: Tensor, C: float = 1.0, iters: int = 25) -> Tensor:
    """L2-regularised logistic regression by Newton's method; returns sign(w^T x_q + b)."""
    B, l, d = X.shape
    Z = torch.cat([X, torch.ones(B, l, 1, dtype=X.dtype, device=X.device)], -1)  # intercept column
    reg = torch.full((d + 1,), 1.0 / C, dtype=X.dtype, device=X.device)
    reg[-1] = 0.0  # the intercept is not penalised
    reg = torch.diag(reg) + 1e-10 * torch.eye(d + 1, dtype=X.dtype, device=X.device)
    theta = torch.zeros(B, d + 1, dtype=X.dtype, device=X.device)
    for _ in range(iters):
        margin = y * (Z @ theta.unsqueeze(-1)).squeeze(-1)
        s = torch.sigmoid(-margin)  # d/dmargin of log(1 + e^{-margin}) is -s
        grad = -(Z * (y * s).unsqueeze(-1)).sum(1) + theta @ reg
        W = s * (1 - s)
        H = Z.transpose(-1, -2) @ (Z * W.unsqueeze(-1)) + reg
        theta = theta - torch.linalg.solve(H, grad.unsqueeze(-1)).squeeze(-1)
    score = torch.cat([xq, torch.ones(B, 1, dtype=X.dtype, device=X.device)], -1)
    return torch.where((score * theta).sum(-1) >= 0, 1.0, -1.0).to(X.dtype)


def rbf_gamma(X: Tensor) -> Tensor:
    """scikit-learn's gamma="scale": 1 / (n_features Var(X)) per prompt."""
    var = X.reshape(X.shape[0], -1).var(-1, unbiased=False).clamp_min(torch.finfo(X.dtype).tiny)
    return 1.0 / (X.shape[-1] * var)


def kernel(A: Tensor, Bm: Tensor, kind: str, gamma: Tensor | None = None) -> Tensor:
    if kind == "linear":
        return A @ Bm.transpose(-1, -2)
    sq = (A * A).sum(-1).unsqueeze(-1) + (Bm * Bm).sum(-1).unsqueeze(-2) - 2 * A @ Bm.transpose(-1, -2)
    return torch.exp(-gamma.view(-1, 1, 1) * sq.clamp_min(0))


def svm_predict(X: Tensor, y: Tensor, xq: Tensor, kind: str = "linear", C: float = 1.0, iters: int = 400) -> Tensor:
    """Kernel SVM, max sum(alpha) - 1/2 alpha^T Q alpha over 0 <= alpha <= C, Q = yy^T o (K + 1)."""
    gamma = rbf_gamma(X) if kind == "rbf" else None
    K = kernel(X, X, kind, gamma) + 1.0
    Q = y.unsqueeze(-1) * y.unsqueeze(-2) * K
    v = torch.ones_like(y)
    for _ in range(30):  # power iteration: the largest eigenvalue of Q sets a safe step
        v = (Q @ v.unsqueeze(-1)).squeeze(-1)
        v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    lam = ((Q @ v.unsqueeze(-1)).squeeze(-1) * v).sum(-1).clamp_min(1e-12) * 1.01
    alpha = torch.zeros_like(y)
    step = (1.0 / lam).unsqueeze(-1)
    for _ in range(iters):
        grad = 1 - (Q @ alpha.unsqueeze(-1)).squeeze(-1)
        alpha = (alpha + step * grad).clamp(0.0, C)
    kq = kernel(X, xq.unsqueeze(1), kind, gamma).squeeze(-1) + 1.0  # (B, l)
    return torch.where(((alpha * y) * kq).sum(-1) >= 0, 1.0, -1.0).to(X.dtype)


BASELINES = {
    "logistic regression": lambda X, y, xq: logistic_predict(X, y, xq),
    "linear SVM": lambda X, y, xq: svm_predict(X, y, xq, "linear"),
    "RBF SVM": lambda X, y, xq: svm_predict(X, y, xq, "rbf"),
    "1-NN": lambda X, y, xq: knn_predict(X, y, xq, 1),
    "3-NN": lambda X, y, xq: knn_predict(X, y, xq, 3),
}


def baseline_errors(P: Tensor, z: Tensor, d_X: int) -> dict[str, float]:
    """0-1 error of every baseline on prompts P (..., l+1, d) with query labels z (...)."""
    X, y, xq = context_data(P.double(), d_X)
    zz = z.reshape(-1).double()
    return {name: float((fn(X, y, xq) != zz).double().mean()) for name, fn in BASELINES.items()}

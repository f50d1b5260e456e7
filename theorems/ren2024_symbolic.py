"""Symbolic (sympy) pieces of ren2024, spec §4.4-§4.5; used as parts of R-T31 and R-PRF.

Each derivation runs once per process (``lru_cache``) and returns plain data: a count of non-zero residual entries
after ``simplify`` (0 = the identity holds symbolically) and, where a symbolic result is evaluated numerically, a
function produced by ``sympy.lambdify(..., modules="torch")`` that the checks compare with autograd or Monte-Carlo.

- :func:`dual_gradient_identity`: the gradient of the dual loss and the one-step identity for small symbolic matrices;
- :func:`linear_kernel_reduction`: phi = id, D = 1 gives Dai et al.'s dual form of linear attention;
- :func:`least_squares_bridge`: at W = 0 the linear loss has the gradient of least squares (von Oswald's one GD step);
- :func:`prf_moments`: the Gaussian integrals E[Z^k] of the positive-random-feature product in one dimension.

``update_scale`` / ``loss_scale`` arguments exist so negative controls can feed a wrong claimed formula through the
same derivation and see a non-zero residual.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sympy as sp
import torch


def _nonzero(expr) -> int:
    """Number of entries that do not simplify to 0."""
    entries = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    return sum(1 for e in entries if sp.simplify(sp.expand(e)) != 0)


def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


@dataclass(frozen=True)
class GradientIdentity:
    nonzero_update: int  # entries of W_1 - (W_0 + sum_i y_i phi_i^T / D) that do not vanish
    nonzero_prediction: int  # entries of W_1 phi_q - (1/D) sum_{j} v_j phi_j^T phi_q (kernel attention) that do not
    d_o: int
    d_r: int
    N: int
    grad: Callable[..., list]  # lambdified dL/dW entries (row-major) of (W, X, Y, D, eta) flattened, torch tensors


@lru_cache(maxsize=None)
def dual_gradient_identity(d_o: int = 2, d_r: int = 3, N: int = 2, M: int = 1, update_scale: int = 1,
                           loss_scale: int = 1) -> GradientIdentity:
    """sympy: ``L = -(loss_scale/(eta D)) sum_i y_i^T W phi_i``; ``W_1 = W_0 - eta dL/dW`` against the claimed
    ``W_0 + update_scale * sum_i y_i phi_i^T / D`` and, with ``W_0 = (1/D) sum_{j in Q} v_j phi_j^T``, the prediction
    ``W_1 phi_q`` against the kernelised attention numerator over D."""
    eta, D = sp.symbols("eta D", positive=True)
    W = _mat("W", d_o, d_r)
    X = _mat("phi", d_r, N)  # columns phi(x_i)
    Y = _mat("y", d_o, N)  # columns y_i
    V_Q = _mat("v", d_o, M)  # query-side values
    P_Q = _mat("psi", d_r, M)  # query-side key features phi(k_j), j in Q
    phi_q = _mat("q", d_r, 1)
    L = -loss_scale / (eta * D) * sum((Y[:, i].T * W * X[:, i])[0, 0] for i in range(N))
    grad = sp.Matrix(d_o, d_r, lambda a, r: sp.diff(L, W[a, r]))
    W0 = V_Q * P_Q.T / D
    W1 = W0 - eta * grad.subs({W[a, r]: W0[a, r] for a in range(d_o) for r in range(d_r)})
    claimed = W0 + update_scale * Y * X.T / D
    attention = (Y * X.T * phi_q + V_Q * P_Q.T * phi_q) / D  # (1/D) sum_j v_j phi(k_j)^T phi(q)
    args = list(W) + list(X) + list(Y) + [D, eta]
    grad_fn = sp.lambdify(args, list(grad), modules="torch")
    return GradientIdentity(_nonzero(W1 - claimed), _nonzero(W1 * phi_q - attention), d_o, d_r, N, grad_fn)


def symbolic_gradient(W: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, D: torch.Tensor, eta: float,
                      ident: GradientIdentity) -> torch.Tensor:
    """Evaluate the lambdified dL/dW on batched tensors: W (B, d_o, d_r), X (B, d_r, N), Y (B, d_o, N), D (B,)."""
    B = W.shape[0]
    flat = lambda t: list(t.reshape(B, -1).unbind(-1))  # noqa: E731  (row-major, as sympy's Matrix iteration)
    eta_t = torch.full((B,), float(eta), dtype=W.dtype, device=W.device)
    entries = ident.grad(*flat(W), *flat(X), *flat(Y), D, eta_t)
    return torch.stack([torch.as_tensor(e, dtype=W.dtype, device=W.device).expand(B) for e in entries],
                       -1).reshape(B, ident.d_o, ident.d_r)


@lru_cache(maxsize=None)
def linear_kernel_reduction(d_i: int = 2, d_o: int = 2, N: int = 2, M: int = 1, update_scale: int = 1) -> int:
    """Dai et al.: with phi = id and D = 1, linear attention ``W_V H (W_K H)^T W_Q h_{T+1}`` equals one GD step from
    ``W_0 = W_V H_Q (W_K H_Q)^T`` on ``L = -(1/eta) sum_i y_i^T W x_i`` evaluated at ``x_test = W_Q h_{T+1}``.
    Returns the number of non-vanishing residual entries."""
    eta = sp.Symbol("eta", positive=True)
    H = _mat("h", d_i, N + M)
    W_Q, W_K, W_V = _mat("q", d_o, d_i), _mat("k", d_o, d_i), _mat("v", d_o, d_i)
    attention = W_V * H * (W_K * H).T * W_Q * H[:, -1]
    W = _mat("W", d_o, d_o)
    Xs, Ys = W_K * H[:, :N], W_V * H[:, :N]
    L = -1 / eta * sum((Ys[:, i].T * W * Xs[:, i])[0, 0] for i in range(N))
    grad = sp.Matrix(d_o, d_o, lambda a, b: sp.diff(L, W[a, b]))
    W0 = W_V * H[:, N:] * (W_K * H[:, N:]).T
    W1 = W0 - update_scale * eta * grad
    return _nonzero(W1 * W_Q * H[:, -1] - attention)


@lru_cache(maxsize=None)
def least_squares_bridge(d_x: int = 2, d_y: int = 2, N: int = 2, update_scale: int = 1) -> tuple[int, int]:
    """von Oswald: (a) at W = 0, grad of 1/2 sum |W x_i - y_i|^2 equals grad of -sum y_i^T W x_i; (b) with
    ``h_i = [x_i; y_i]``, ``W_K = W_Q = [I 0]``, ``W_V = [0 I]`` and query ``[x; 0]``, linear attention equals the
    prediction after one GD step of least squares from W = 0 with step 1 (step eta/N gives eta/N times it).
    Returns the non-vanishing entry counts of both residuals."""
    W = _mat("W", d_y, d_x)
    xs, ys = _mat("x", d_x, N), _mat("y", d_y, N)
    x_test = _mat("xt", d_x, 1)
    ls = sum(((W * xs[:, i] - ys[:, i]).T * (W * xs[:, i] - ys[:, i]))[0, 0] for i in range(N)) / 2
    lin = -sum((ys[:, i].T * W * xs[:, i])[0, 0] for i in range(N))
    at_zero = {w: 0 for w in W}
    g_ls = sp.Matrix(d_y, d_x, lambda a, b: sp.diff(ls, W[a, b]).subs(at_zero))
    g_lin = sp.Matrix(d_y, d_x, lambda a, b: sp.diff(lin, W[a, b]))
    H = sp.Matrix.vstack(sp.Matrix.hstack(xs, x_test), sp.Matrix.hstack(ys, sp.zeros(d_y, 1)))
    select_x = sp.Matrix.hstack(sp.eye(d_x), sp.zeros(d_x, d_y))
    select_y = sp.Matrix.hstack(sp.zeros(d_y, d_x), sp.eye(d_y))
    attention = select_y * H * (select_x * H).T * select_x * H[:, -1]
    one_step = (-update_scale * g_ls) * x_test  # W_1 = 0 - 1 * grad LS(0)
    return _nonzero(g_ls - g_lin), _nonzero(attention - one_step)


@dataclass(frozen=True)
class PRFMoments:
    nonzero_mean: int  # 1-D: E_w[exp(w(x+y) - (x^2+y^2)/2)] - exp(xy)
    nonzero_variance: int  # 1-D: Var - exp(2xy)(exp((x+y)^2) - 1)
    raw_moment: Callable  # (k, |x+y|^2, (|x|^2+|y|^2)/2) -> E[Z^k] in d dimensions, torch
    central_moment: dict  # n -> f(epsilon) = E[(Z - EZ)^n] / (EZ)^n as a polynomial in epsilon = e^{|x+y|^2} - 1


@lru_cache(maxsize=None)
def prf_moments(normalise: bool = True) -> PRFMoments:
    """Gaussian integrals of ``Z = exp(w(x+y) - c)``, ``w ~ N(0,1)``, ``c = (x^2+y^2)/2`` (or ``c = 0`` when
    ``normalise`` is False, the broken feature map without ``exp(-|x|^2/2)``).

    ``E[Z^k] = exp(k^2 s^2/2 - k c)`` with ``s = x + y``; in d dimensions the coordinates of w are independent, so
    ``E[exp(k w^T s)] = prod_j exp(k^2 s_j^2/2) = exp(k^2 |s|^2/2)``: the lambdified moment takes ``|s|^2``.
    """
    w, x, y, s = sp.symbols("w x y s", real=True)
    k = sp.Symbol("k", positive=True)
    S2, C = sp.symbols("S2 C", nonnegative=True)
    density = sp.exp(-w**2 / 2) / sp.sqrt(2 * sp.pi)
    c = (x**2 + y**2) / 2 if normalise else 0
    gauss = sp.simplify(sp.integrate(sp.exp(k * w * s) * density, (w, -sp.oo, sp.oo), conds="none"))
    moment_1d = lambda kk: (gauss.subs(k, kk) * sp.exp(-kk * c)).subs(s, x + y)  # noqa: E731
    mean, second = moment_1d(1), moment_1d(2)
    raw = sp.simplify(sp.exp(-k * C) * gauss.subs(s, sp.sqrt(S2)))
    # Standardised moments E[(Z/EZ)^j] = e^{j(j-1)|x+y|^2/2}; central moments as polynomials in
    # epsilon = e^{|x+y|^2} - 1 (evaluated with expm1), free of the cancellation in m2 - m1^2 when |x+y| is small.
    epsilon = sp.Symbol("epsilon", nonnegative=True)
    standard = lambda j: sp.simplify(raw.subs(k, j) / raw.subs(k, 1) ** j)  # noqa: E731
    central = {n: sp.expand(sum(sp.binomial(n, j) * (-1) ** (n - j) * standard(j) for j in range(n + 1))
                            .subs(S2, sp.log(1 + epsilon))) for n in (2, 4)}
    return PRFMoments(
        nonzero_mean=_nonzero(mean - sp.exp(x * y)),
        nonzero_variance=_nonzero(second - mean**2 - sp.exp(2 * x * y) * (sp.exp((x + y) ** 2) - 1)),
        raw_moment=sp.lambdify((k, S2, C), raw, modules="torch"),
        central_moment={n: sp.lambdify(epsilon, c, modules="torch") for n, c in central.items()},
    )

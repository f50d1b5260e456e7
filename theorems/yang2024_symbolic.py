"""Sympy derivations S1-S7 of the yang2024 spec (§4.1), at small symbolic sizes.

Each function derives a formula symbolically, reports whether the derivation closes (a residual that sympy
simplifies to exactly 0) and, where a numeric counterpart exists, returns the derived expression lambdified against
torch (``modules="torch"``) so a claim can compare it with autograd or with the model's closed forms at drawn points.
Derivations are cached: each runs once per process (a few seconds in all), then claims only evaluate them.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import sympy as sp
import torch


class Derivation(NamedTuple):
    closes: bool  # the symbolic residual simplified to exactly 0
    residual: str  # the simplified residual, as text (for the evidence)
    numeric: Callable | None  # lambdified derived expression (torch), or None


def _is_zero(e) -> bool:
    """Exact zero test: the expanded numerator of the combined fraction vanishes (fast for the rational functions
    of exponentials met here); ``sympy.simplify`` only as the fallback."""
    num, _ = sp.fraction(sp.together(sp.expand(e)))
    return sp.expand(num) == 0 or sp.simplify(e) == 0


def _closes(expr) -> tuple[bool, str]:
    """Whether a residual (scalar or matrix) is identically zero, and the residual as text (``0`` when it is)."""
    entries = list(sp.Matrix(expr)) if isinstance(expr, (list, tuple, sp.MatrixBase)) else [expr]
    zero = all(_is_zero(e) for e in entries)
    return zero, "0" if zero else str(sp.simplify(sp.Matrix(entries)))


def _scalar(x, like: torch.Tensor) -> torch.Tensor:
    """Scalars as tensors: torch-lambdified code calls ``torch.pow`` etc., which refuse plain floats."""
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _softmax(x: list) -> list:
    den = sum(sp.exp(xi) for xi in x)
    return [sp.exp(xi) / den for xi in x]


# ---------------------------------------------------------------- S1: softmax Jacobian and the chain rule for dQ
@lru_cache(maxsize=None)
def s1_softmax_jacobian(N: int = 3) -> Derivation:
    """``ds_j/dx_i = s_j (delta_ij - s_i)`` for symbolic x in R^N (Lemma 1, first step)."""
    x = sp.symbols(f"x0:{N}", real=True)
    s = _softmax(list(x))
    residual = [[sp.diff(s[j], x[i]) - s[j] * (sp.KroneckerDelta(i, j) - s[i]) for i in range(N)] for j in range(N)]
    closes, text = _closes(residual)
    return Derivation(closes, text, None)


@lru_cache(maxsize=None)
def s1_chain_rule(d: int = 2, N: int = 3) -> Derivation:
    """``ds_j/dQ = s_j (v_j - sum_i s_i v_i) v_k^T`` for ``s = softmax(V_P^T Q v_k)``, symbolic Q (d x d), V_P, v_k.

    ``numeric(Q, VP, vk)`` evaluates sympy's own derivative ``[ds_j/dQ_ab]`` (N, d, d) with torch tensors.
    """
    Q = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"q{a}{b}", real=True))
    VP = sp.Matrix(d, N, lambda a, n: sp.Symbol(f"v{a}{n}", real=True))
    vk = sp.Matrix(d, 1, lambda a, _: sp.Symbol(f"u{a}", real=True))
    s = _softmax(list(VP.T * Q * vk))
    vbar = sum((s[i] * VP[:, i] for i in range(N)), sp.zeros(d, 1))
    derivs, residual = [], []
    for j in range(N):
        dj = sp.Matrix(d, d, lambda a, b: sp.diff(s[j], Q[a, b]))
        derivs.append(dj)
        residual.append(dj - s[j] * (VP[:, j] - vbar) * vk.T)
    closes, text = _closes(sp.Matrix.vstack(*residual))
    args = (list(Q), list(VP), list(vk))
    f = sp.lambdify(args, [list(dj) for dj in derivs], modules="torch")

    def numeric(Qn: torch.Tensor, VPn: torch.Tensor, vkn: torch.Tensor) -> torch.Tensor:
        out = f(list(Qn.reshape(-1)), list(VPn.reshape(-1)), list(vkn.reshape(-1)))
        return torch.stack([torch.stack([torch.as_tensor(e, dtype=Qn.dtype) for e in row]) for row in out]).reshape(
            N, d, d)

    return Derivation(closes, text, numeric)


# ---------------------------------------------------------------- S2 / S5: Lemma 5
@lru_cache(maxsize=None)
def s2_ck_vanishes(m: int = 3, N: int = 2) -> Derivation:
    """For k <= N: ``c_k = -(Z^T z_k + m tau e_k)^T G^{-1} (Z^T z_k + m tau e_k) + ||z_k||^2 + m tau = 0``
    with ``G = Z^T Z + m tau I`` (symbolic Z, c = m tau > 0). ``numeric(Z, z, c)`` gives the k > N constant
    ``-(Z^T z)^T G^{-1} Z^T z + ||z||^2 + c`` (the paper's c'_k plus the +m tau of noisy unseen targets)."""
    Z = sp.Matrix(m, N, lambda a, n: sp.Symbol(f"z{a}{n}", real=True))
    c = sp.Symbol("c", positive=True)
    G = Z.T * Z + c * sp.eye(N)
    Ginv = G.inv()
    residual = []
    for k in range(N):
        g = Z.T * Z[:, k] + c * sp.eye(N)[:, k]
        residual.append((-(g.T * Ginv * g)[0, 0] + (Z[:, k].T * Z[:, k])[0, 0] + c))
    closes, text = _closes(residual)
    z = sp.Matrix(m, 1, lambda a, _: sp.Symbol(f"w{a}", real=True))
    gq = Z.T * z
    unseen = sp.together(-(gq.T * Ginv * gq)[0, 0] + (z.T * z)[0, 0] + c)
    f = sp.lambdify((list(Z), list(z), c), unseen, modules="torch")
    return Derivation(closes, text, lambda Zn, zn, cn: f(list(Zn.reshape(-1)), list(zn.reshape(-1)), _scalar(cn, Zn)))


def _gaussian_expectation(expr, noise: list, var) -> sp.Expr:
    """E over independent N(0, var) variables of a polynomial: by moments (E e = 0, E e^2 = var, E e^3 = 0,
    E e^4 = 3 var^2), coefficient by coefficient."""
    moments = {0: 1, 1: 0, 2: var, 3: 0, 4: 3 * var**2}
    poly = sp.Poly(sp.expand(expr), *noise)
    out = 0
    for powers, coeff in poly.terms():
        term = coeff
        for p in powers:
            term *= moments[p]
        out += term
    return sp.expand(out)


def _second_moment_identity(expr, lam: list) -> sp.Expr:
    """E over lambda with E[lambda lambda^T] = I of a quadratic form in lambda (Assumption 1 is all that enters)."""
    poly = sp.Poly(sp.expand(expr), *lam)
    out = 0
    for powers, coeff in poly.terms():
        if sum(powers) != 2:
            raise ValueError("expected a quadratic form in lambda")
        out += coeff if max(powers) == 2 else 0  # E lambda_i^2 = 1, E lambda_i lambda_j = 0
    return sp.expand(out)


@lru_cache(maxsize=None)
def s5_per_k_loss(m: int = 2, N: int = 2) -> tuple[Derivation, ...]:
    """``E (a^T (Z + eps_P)^T lambda - lambda^T (z_k + eps_k))^2`` under E[lambda lambda^T] = I and
    eps ~ N(0, tau I), derived by moments: equals ``||Z a - z_k||^2 + m tau ||a - e_k||^2`` for a prompt token
    k <= N (its noise eps_k is column k of eps_P) and ``||Z a - z_k||^2 + m tau ||a||^2 + m tau`` for k > N.
    Returns N + 1 derivations (k = 1..N, then an unseen token); ``numeric(Z, a, z_k, tau)`` of each evaluates the
    derived expectation."""
    Z = sp.Matrix(m, N, lambda i, n: sp.Symbol(f"z{i}{n}", real=True))
    a = sp.Matrix(N, 1, lambda n, _: sp.Symbol(f"a{n}", real=True))
    zk = sp.Matrix(m, 1, lambda i, _: sp.Symbol(f"w{i}", real=True))
    lam = sp.Matrix(m, 1, lambda i, _: sp.Symbol(f"l{i}", real=True))
    EP = sp.Matrix(m, N, lambda i, n: sp.Symbol(f"e{i}{n}", real=True))
    ek = sp.Matrix(m, 1, lambda i, _: sp.Symbol(f"f{i}", real=True))
    tau = sp.Symbol("tau", positive=True)
    out = []
    for k in list(range(N)) + [None]:  # None: a token outside the prompt
        seen = k is not None
        target_z, target_eps = (Z[:, k], EP[:, k]) if seen else (zk, ek)
        err = (a.T * (Z + EP).T * lam)[0, 0] - (lam.T * (target_z + target_eps))[0, 0]
        noise = list(EP) + ([] if seen else list(ek))
        expectation = _second_moment_identity(_gaussian_expectation(err**2, noise, tau), list(lam))
        r = Z * a - target_z
        shift = a - sp.eye(N)[:, k] if seen else a
        claimed = (r.T * r)[0, 0] + m * tau * (shift.T * shift)[0, 0] + (0 if seen else m * tau)
        closes, text = _closes(expectation - claimed)
        f = sp.lambdify((list(Z), list(a), list(zk), tau), expectation, modules="torch")
        out.append(Derivation(closes, text, lambda Zn, an, zn, t, f=f: f(list(Zn.reshape(-1)), list(an.reshape(-1)),
                                                                             list(zn.reshape(-1)), _scalar(t, Zn))))
    return tuple(out)


# ---------------------------------------------------------------- S3 / S7: ridge closed forms
@lru_cache(maxsize=None)
def s3_push_through(m: int = 2, N: int = 3) -> Derivation:
    """``(Z^T Z + c I)^{-1} Z^T = Z^T (Z Z^T + c I)^{-1}`` for symbolic Z (m x N), c > 0."""
    Z = sp.Matrix(m, N, lambda i, n: sp.Symbol(f"z{i}{n}", real=True))
    c = sp.Symbol("c", positive=True)
    closes, text = _closes((Z.T * Z + c * sp.eye(N)).inv() * Z.T - Z.T * (Z * Z.T + c * sp.eye(m)).inv())
    return Derivation(closes, text, None)


@lru_cache(maxsize=None)
def s7_ridge(m: int = 2, N: int = 3) -> tuple[Derivation, Derivation, Derivation]:
    """Stationary points of ``(1/2N) sum_i (y_i - lambda^T z_i)^2 + (c/2N)||lambda||^2`` solved by sympy, against
    ``(Z Z^T + c I)^{-1} Z y``: with c = m tau (eq. 20, the transformer) and c = N tau (eq. 25, Lemma 4's oracle);
    and ``lambda_transformer - lambda_oracle = 0`` when N = m (the Figure 3 gap vanishes). ``numeric(Z, y, tau)`` of
    the first two returns sympy's solution (m,)."""
    tau = sp.Symbol("tau", positive=True)
    out = []
    for c_of in (lambda mm, nn: mm * tau, lambda mm, nn: nn * tau):
        Z = sp.Matrix(m, N, lambda i, n: sp.Symbol(f"z{i}{n}", real=True))
        y = sp.Matrix(N, 1, lambda n, _: sp.Symbol(f"y{n}", real=True))
        lam = sp.Matrix(m, 1, lambda i, _: sp.Symbol(f"l{i}", real=True))
        c = c_of(m, N)
        obj = (sum(((y[i] - (lam.T * Z[:, i])[0, 0]) ** 2 for i in range(N))) / (2 * N)
               + c / (2 * N) * (lam.T * lam)[0, 0])
        sol = sp.solve([sp.diff(obj, li) for li in lam], list(lam), dict=True)[0]
        derived = sp.Matrix([sol[li] for li in lam])
        closes, text = _closes(derived - (Z * Z.T + c * sp.eye(m)).inv() * Z * y)
        f = sp.lambdify((list(Z), list(y), tau), list(derived), modules="torch")
        out.append(Derivation(closes, text, lambda Zn, yn, t, f=f: torch.stack(
            [_scalar(v, Zn) for v in f(list(Zn.reshape(-1)), list(yn.reshape(-1)), _scalar(t, Zn))])))
    # gap(N = m) = 0: with symbolic penalty coefficients the two solutions differ (residual not identically 0) and
    # coincide once N = m is substituted.
    Z = sp.Matrix(m, N, lambda i, n: sp.Symbol(f"z{i}{n}", real=True))
    y = sp.Matrix(N, 1, lambda n, _: sp.Symbol(f"y{n}", real=True))
    M, Nn = sp.symbols("M N_prompt", positive=True)
    diff = (Z * Z.T + M * tau * sp.eye(m)).inv() * Z * y - (Z * Z.T + Nn * tau * sp.eye(m)).inv() * Z * y
    point = {sym: sp.Rational(i + 2, 3) for i, sym in enumerate(sorted(diff.free_symbols, key=str))}
    point[Nn] = point[M] + 1  # N != m: the residual must not vanish (else the check below would be vacuous)
    differs_when_N_ne_m = any(v != 0 for v in diff.subs(point))
    closes, text = _closes(diff.subs(Nn, M))
    out.append(Derivation(closes and differs_when_N_ne_m, text, None))
    return out[0], out[1], out[2]


# ---------------------------------------------------------------- S4: Lemma 4 expectation
@lru_cache(maxsize=None)
def s4_lemma4(m: int = 2) -> Derivation:
    """``E_{eps ~ N(0, tau I)} (y - lambda^T (z + eps))^2 = (y - lambda^T z)^2 + tau ||lambda||^2`` with sympy.stats."""
    from sympy import stats

    tau = sp.Symbol("tau", positive=True)
    y = sp.Symbol("y", real=True)
    lam = sp.symbols(f"l0:{m}", real=True)
    z = sp.symbols(f"z0:{m}", real=True)
    eps = [stats.Normal(f"e{i}", 0, sp.sqrt(tau)) for i in range(m)]
    expr = (y - sum(lam[i] * (z[i] + eps[i]) for i in range(m))) ** 2
    expectation = stats.E(sp.expand(expr))
    claimed = (y - sum(lam[i] * z[i] for i in range(m))) ** 2 + tau * sum(li**2 for li in lam)
    closes, text = _closes(expectation - claimed)
    return Derivation(closes, text, None)


# ---------------------------------------------------------------- S6: the reparametrisation (Lemma 6)
@lru_cache(maxsize=None)
def s6_reparametrisation() -> Derivation:
    """With ``w = gamma alpha`` and ``l(alpha) = L(gamma alpha)`` for an arbitrary smooth L: a GD step on alpha with
    step eta, mapped back by w' = gamma alpha', equals a GD step on w with step ``gamma^2 eta``."""
    gamma, eta, alpha = sp.symbols("gamma eta alpha", positive=True)
    L = sp.Function("L")
    w = sp.Symbol("w", real=True)
    ell = L(gamma * alpha)
    alpha_next = alpha - eta * sp.diff(ell, alpha)
    w_next = w - gamma**2 * eta * sp.diff(L(w), w)
    residual = (gamma * alpha_next - w_next.subs(w, gamma * alpha)).doit()
    closes, text = _closes(residual)
    return Derivation(closes, text, None)

"""Symbolic (sympy) gradients of the li2024 model, spec §1.2-§1.3; used by L-E-GRAD (theorems/li2024/gradients.py).

The model ``F = a^T ReLU(W_O W_V sum_i attn_i p_i)``, ``attn = softmax_i(s)``, ``s_i = (W_K p_i)^T W_Q p_query``
over the l contexts, and the hinge ``ell = max(0, 1 - z F)`` are written in sympy for small symbolic sizes
(l contexts, tokens of dimension d, m_a, m_b, m); sympy differentiates them and each derivative is

- compared with its closed-form rule exactly: the residual, with ``exp(s_i)`` and the ReLU gates as free symbols, is
  evaluated in rational arithmetic at two random integer points (a Schwartz-Zippel identity test; expanding the
  residual symbolically took 2-6 minutes at these sizes), and
- lambdified against torch (``modules="torch"``, ``cse=True``) so the claim evaluates sympy's own derivative at drawn
  points and compares it with autograd and with one SGD step of the implementation under test.

Derivation: ``F`` depends on W_Q, W_K only through the scores, so sympy differentiates ``F`` as a function of
symbolic scores ``s`` (the softmax Jacobian), differentiates ``s_i`` (a bilinear form) w.r.t. W_Q, W_K, and the total
derivative is their chain-rule composition ``dF/dW_Q = sum_i dF/ds_i ds_i/dW_Q``: exact, and much smaller than
differentiating the fully expanded F (the single expression takes minutes at these sizes). W_V and W_O are
differentiated directly. ``d max(0, x)/dx = Heaviside(x)`` (sympy) is evaluated with autograd's convention
``1{x > 0}`` (0 at the kink), for the ReLU and for the hinge alike.

Each derivation runs once per process (``lru_cache``; 3-5 s at the default sizes), then claims only evaluate
(about 0.01 s per example).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import sympy as sp
import torch

NAMES = ("W_Q", "W_K", "W_V", "W_O")


def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True))


def _vec(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i}", real=True))


def _is_zero(e, points: list) -> bool:
    """Exact identity test of a rational function (Schwartz-Zippel): the residual evaluated in exact rational
    arithmetic at random integer points (``exp(s_i)`` and the ReLU gates among the free symbols) is 0 at every one.
    A non-zero residual vanishes at a random point with negligible probability; expanding the residual symbolically
    takes minutes at these sizes."""
    return all(sp.nsimplify(e.xreplace(pt)) == 0 for pt in points)


def _gate(e):
    """sympy's ``Heaviside(x)`` with autograd's convention: ``1{x > 0}`` (0 at x = 0)."""
    return e.replace(lambda x: isinstance(x, sp.Heaviside),
                     lambda x: sp.Piecewise((sp.Integer(1), x.args[0] > 0), (sp.Integer(0), True)))


class GradientDerivation(NamedTuple):
    sizes: dict  # l, d, m_a, m_b, m
    closes: dict  # rule name -> the sympy residual against the closed form is identically 0
    rules: dict  # rule name -> the closed form, in words
    scores: Callable  # (W_Q, W_K, P) entries -> s_1..s_l
    F: Callable  # (s, W_V, W_O, a, P) entries -> F
    grad_F: Callable  # (s, W_Q, W_K, W_V, W_O, a, P) entries -> dF/dW_Q, dF/dW_K, dF/dW_V, dF/dW_O (row-major)
    grad_hinge: Callable  # (F, z, s, W_Q, ..., P) entries -> d ell/dW_* (row-major), the hinge's subgradient
    seconds: float  # time of the derivation


@lru_cache(maxsize=None)
def model_gradients(l: int = 3, d: int = 6, m_a: int = 2, m_b: int = 2, m: int = 3) -> GradientDerivation:
    """sympy derives dF/dW_O, dF/dW_V, dF/ds (through the softmax Jacobian), dF/dW_Q, dF/dW_K and the hinge's
    subgradient d ell/dW for symbolic weights and tokens of the given sizes; see the module docstring."""
    import time

    t0 = time.perf_counter()
    W_Q, W_K, W_V, W_O = _mat("q", m_a, d), _mat("k", m_a, d), _mat("v", m_b, d), _mat("o", m, m_b)
    a = _vec("a", m)
    P = _mat("p", l, d)  # row i = context p_i
    pq = _vec("x", d)  # the query token
    s = _vec("s", l)  # symbolic scores
    Fs, z = sp.Symbol("F", real=True), sp.Symbol("z", real=True)
    ctx = [P[i, :].T for i in range(l)]

    # forward, as a function of the scores
    E = [sp.exp(s[i]) for i in range(l)]
    den = sum(E)
    attn = [e / den for e in E]
    pooled = sum((attn[i] * ctx[i] for i in range(l)), sp.zeros(d, 1))
    h = W_V * pooled
    pre = W_O * h
    F = sum(a[k] * sp.Max(0, pre[k]) for k in range(m))
    score = [(ctx[i].T * W_K.T * W_Q * pq)[0, 0] for i in range(l)]

    # sympy's derivatives
    dF_ds = [sp.diff(F, s[i]) for i in range(l)]
    dF = {
        "W_Q": sp.Matrix(m_a, d, lambda r, c: sum(dF_ds[i] * sp.diff(score[i], W_Q[r, c]) for i in range(l))),
        "W_K": sp.Matrix(m_a, d, lambda r, c: sum(dF_ds[i] * sp.diff(score[i], W_K[r, c]) for i in range(l))),
        "W_V": sp.Matrix(m_b, d, lambda r, c: sp.diff(F, W_V[r, c])),
        "W_O": sp.Matrix(m, m_b, lambda r, c: sp.diff(F, W_O[r, c])),
    }
    dl_dF = sp.diff(sp.Max(0, 1 - z * Fs), Fs)  # -z Heaviside(1 - z F)

    # the closed forms (rules), with the ReLU gates g_k = 1{pre_k > 0} as symbols
    g = _vec("g", m)
    gates = {sp.Heaviside(pre[k]): g[k] for k in range(m)}
    ag = sp.Matrix([a[k] * g[k] for k in range(m)])
    c = [(ctx[i].T * W_V.T * W_O.T * ag)[0, 0] for i in range(l)]  # dF/d attn_i
    cbar = sum(attn[i] * c[i] for i in range(l))
    back = sum((attn[i] * (c[i] - cbar) * ctx[i] for i in range(l)), sp.zeros(d, 1))
    rule = {
        "W_O": ag * h.T,
        "W_V": W_O.T * ag * pooled.T,
        "W_Q": W_K * back * pq.T,
        "W_K": W_Q * pq * back.T,
    }
    import random

    rng = random.Random(20240215)
    free = list(W_Q) + list(W_K) + list(W_V) + list(W_O) + list(a) + list(P) + list(pq) + list(g)
    points = [{**{x: sp.Integer(rng.randint(-9, 9)) for x in free},
               **{s[i]: sp.log(sp.Integer(rng.randint(1, 9))) for i in range(l)}} for _ in range(2)]
    closes = {
        "softmax Jacobian d attn_j/d s_i = attn_j (delta_ij - attn_i)": all(
            _is_zero(sp.diff(attn[j], s[i]) - attn[j] * (int(i == j) - attn[i]), points)
            for i in range(l) for j in range(l)),
        "dF/ds_i = attn_i (c_i - sum_j attn_j c_j), c_i = p_i^T W_V^T W_O^T (a . g)": all(
            _is_zero(dF_ds[i].xreplace(gates) - attn[i] * (c[i] - cbar), points) for i in range(l)),
        "ds_i/dW_Q = W_K p_i p_q^T, ds_i/dW_K = W_Q p_q p_i^T": all(
            sp.expand(sp.diff(score[i], W_Q[r, cc]) - (W_K * ctx[i] * pq.T)[r, cc]) == 0
            and sp.expand(sp.diff(score[i], W_K[r, cc]) - (W_Q * pq * ctx[i].T)[r, cc]) == 0
            for i in range(l) for r in range(m_a) for cc in range(d)),
        **{f"dF/d{n} = {w}": all(_is_zero(x.xreplace(gates) - y, points) for x, y in zip(dF[n], rule[n]))
           for n, w in (("W_O", "(a . g) h^T"), ("W_V", "W_O^T (a . g) pooled^T"),
                        ("W_Q", "W_K (sum_i dF/ds_i p_i) p_q^T"), ("W_K", "W_Q p_q (sum_i dF/ds_i p_i)^T"))},
        "d ell/dF = -z 1{z F < 1}": sp.simplify(_gate(dl_dF) - sp.Piecewise((-z, z * Fs < 1), (0, True))) == 0,
    }
    rules = {
        "gates": "g_k = 1{pre_k > 0} (autograd's ReLU subgradient), pre = W_O h, h = W_V pooled, "
                 "pooled = sum_i attn_i p_i",
        "W_O": "dF/dW_O = (a . g) h^T", "W_V": "dF/dW_V = W_O^T (a . g) pooled^T",
        "softmax": "d attn_j/d s_i = attn_j (delta_ij - attn_i); dF/ds_i = attn_i (c_i - sum_j attn_j c_j), "
                   "c_i = p_i^T W_V^T W_O^T (a . g)",
        "W_Q": "dF/dW_Q = W_K (sum_i dF/ds_i p_i) p_q^T", "W_K": "dF/dW_K = W_Q p_q (sum_i dF/ds_i p_i)^T",
        "hinge": "d ell/dW = -z 1{z F < 1} dF/dW (subgradient 0 at the kink z F = 1)",
        "SGD": "W <- W - eta_W mean_batch d ell/dW (eta_QK for W_Q, W_K; eta_OV for W_V, W_O; a fixed)",
    }

    sym_args = [list(s), list(W_Q), list(W_K), list(W_V), list(W_O), list(a), list(P), list(pq)]
    flat_dF = [_gate(e) for n in NAMES for e in dF[n]]
    grad_F = sp.lambdify(sym_args, flat_dF, modules="torch", cse=True)
    dl = _gate(dl_dF)
    grad_hinge = sp.lambdify([Fs, z] + sym_args, [dl * e for e in flat_dF], modules="torch", cse=True)
    return GradientDerivation(
        sizes={"l": l, "d": d, "m_a": m_a, "m_b": m_b, "m": m}, closes=closes, rules=rules,
        scores=sp.lambdify([list(W_Q), list(W_K), list(P), list(pq)], score, modules="torch"),
        F=sp.lambdify([list(s), list(W_V), list(W_O), list(a), list(P)], F.replace(
            lambda x: isinstance(x, sp.Max), lambda x: sp.Piecewise((x.args[1], x.args[1] > 0), (0, True))),
            modules="torch"),
        grad_F=grad_F, grad_hinge=grad_hinge, seconds=time.perf_counter() - t0)


def _entries(t: torch.Tensor, lead: int) -> list[torch.Tensor]:
    """Row-major entries (as sympy's Matrix iteration) of the trailing dims of ``t``, each with ``lead`` leading
    dims kept."""
    return list(t.reshape(*t.shape[:lead], -1).unbind(-1))


def evaluate(dv: GradientDerivation, W_Q, W_K, W_V, W_O, a, P: torch.Tensor, z: torch.Tensor | None = None):
    """sympy's derivatives at numeric points. Weights (S, r, c), a (S, m), prompts P (S, n, l+1, d) (query last),
    labels z (S, n). Returns (F (S, n), {name: dF/dW (S, n, r, c)}, {name: d ell/dW (S, n, r, c)} or None)."""
    S, n = P.shape[:2]
    w = lambda t: [e.unsqueeze(1) for e in _entries(t, 1)]  # noqa: E731  (S, 1): broadcast over prompts
    ctx, pq = _entries(P[..., :-1, :], 2), _entries(P[..., -1, :], 2)
    s = dv.scores(w(W_Q), w(W_K), ctx, pq)
    s = torch.stack([torch.as_tensor(e, dtype=P.dtype, device=P.device).expand(S, n) for e in s], -1)
    s = list((s - s.amax(-1, keepdim=True)).unbind(-1))  # softmax is shift invariant: no overflow
    F = torch.as_tensor(dv.F(s, w(W_V), w(W_O), w(a), ctx), dtype=P.dtype, device=P.device).expand(S, n)
    args = [s, w(W_Q), w(W_K), w(W_V), w(W_O), w(a), ctx, pq]
    shapes = [W_Q.shape[1:], W_K.shape[1:], W_V.shape[1:], W_O.shape[1:]]

    def pack(flat) -> dict:
        out, i = {}, 0
        for name, shp in zip(NAMES, shapes):
            k = shp[0] * shp[1]
            out[name] = torch.stack([torch.as_tensor(e, dtype=P.dtype, device=P.device).expand(S, n)
                                     for e in flat[i: i + k]], -1).reshape(S, n, *shp)
            i += k
        return out

    dF = pack(dv.grad_F(*args))
    dl = None if z is None else pack(dv.grad_hinge(F, z.to(P.dtype), *args))
    return F, dF, dl

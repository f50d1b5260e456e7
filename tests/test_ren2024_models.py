"""The ren2024 models themselves: invalid inputs raise one ConfigError naming the parameter, batching and
reproducibility contracts, and small facts the claims rely on (checked here once, outside Hypothesis)."""
from __future__ import annotations

import math

import pytest
import torch

from models import ren2024 as m
from models.validation import ConfigError
from theorems.tolerances import median_of_means_plan

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _inst(B=3, d_i=3, d_o=2, N=4, M=2, d_r=5, seed=0):
    return m.random_instance(B, d_i, d_o, N, M, d_r, 1.0, 1.0, _gen(seed))


# ---------------------------------------------------------------- invalid input -> one ConfigError naming it
def _with(i: int, t: torch.Tensor):
    H, W_Q, W_K, W_V, Wr = _inst()
    args = [H, W_Q, W_K, W_V, Wr]
    args[i] = t
    return args


@pytest.mark.parametrize("make, parameter", [
    (lambda: _with(4, torch.zeros(3, 0, 2, dtype=F64)), "d_r"),  # d_r < 1
    (lambda: _with(0, _inst()[0].index_fill(1, torch.tensor([0]), float("nan"))), "H"),  # NaN tokens
    (lambda: _with(0, torch.full((3, 3, 6), float("inf"), dtype=F64)), "H"),
    (lambda: _with(2, torch.zeros(3, 2, 4, dtype=F64)), "W_K"),  # d_i mismatch
    (lambda: _with(2, torch.zeros(3, 5, 3, dtype=F64)), "W_K"),  # key dim != query dim
    (lambda: _with(1, torch.zeros(2, 2, 3, dtype=F64)), "W_Q"),  # batch mismatch
    (lambda: _with(4, torch.zeros(3, 5, 7, dtype=F64)), "Wr"),  # feature directions of the wrong dim
    (lambda: _with(0, torch.zeros(3, 6, dtype=F64)), "H"),  # missing batch dimension
])
def test_kernel_attention_rejects_bad_input(make, parameter):
    args = make()
    with pytest.raises(ConfigError) as e:
        m.kernel_attention(*args, N=4)
    assert e.value.parameter == parameter and f"'{parameter}'" in str(e.value)


def test_kernel_attention_rejects_a_residual_with_d_o_not_d_i_and_an_unknown_normaliser():
    with pytest.raises(ConfigError) as e:
        m.kernel_attention(*_inst(d_i=3, d_o=2), N=4, residual=True)
    assert e.value.parameter == "d_o"
    with pytest.raises(ConfigError) as e:
        m.kernel_attention(*_inst(), N=4, normaliser="demos")
    assert e.value.parameter == "normaliser"


def test_errata_conventions_against_per_token_sums():
    """The errata's conventions (residual, masked query-side values, D' over the demonstrations and the query's own
    key) against an explicit loop over tokens; the defaults are spec §1's form."""
    N, M = 4, 3
    H, W_Q, W_K, W_V, Wr = _inst(d_i=3, d_o=3, N=N, M=M)
    s = 3 ** -0.25
    phi = lambda x: m.prf(x, Wr)  # noqa: E731
    f_q = phi(s * W_Q @ H[..., -1:])[..., 0]
    k = [(phi(s * W_K @ H[..., j:j + 1])[..., 0] * f_q).sum(-1) for j in range(N + M)]
    v = [(W_V @ H[..., j:j + 1])[..., 0] for j in range(N + M)]
    default = m.kernel_attention(H, W_Q, W_K, W_V, Wr, N)
    torch.testing.assert_close(default.D, sum(k), rtol=1e-13, atol=0)
    for residual in (False, True):
        for mask in (False, True):
            for norm in ("all", "demos_query"):
                ka = m.kernel_attention(H, W_Q, W_K, W_V, Wr, N, residual=residual, mask_query_values=mask,
                                        normaliser=norm)
                in_D = range(N + M) if norm == "all" else [*range(N), N + M - 1]
                D = sum(k[j] for j in in_D)
                h = sum(v[j] * k[j][:, None] for j in (range(N) if mask else range(N + M))) / D[:, None]
                h = H[..., -1] + h if residual else h
                torch.testing.assert_close(ka.D, D, rtol=1e-13, atol=0)
                torch.testing.assert_close(ka.h, h, rtol=1e-12, atol=1e-14)
                torch.testing.assert_close(ka.weights.sum(-1), torch.ones_like(D), rtol=1e-13, atol=0)
                if mask:
                    assert not ka.W0.any()
                W1 = m.dual_one_step(ka.W0, ka.X, ka.Y, ka.D, 0.1)
                pred = m.dual_predict(W1, ka.phi_q) + (H[..., -1] if residual else 0)
                torch.testing.assert_close(pred, h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("N", [0, -1, 6, 7])
def test_split_without_a_query_side_token_is_rejected(N):
    with pytest.raises(ConfigError, match="'N'"):
        m.kernel_attention(*_inst(), N=N)


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(d_r=0), "d_r"), (dict(d_i=-1), "d_i"), (dict(d_o=0), "d_o"), (dict(N=0), "N"), (dict(M=-2), "M"),
    (dict(B=0), "batch"), (dict(scale=float("nan")), "scale"), (dict(token_bound=-1.0), "token_bound"),
])
def test_random_instance_rejects_bad_sizes(kwargs, parameter):
    args = dict(B=2, d_i=2, d_o=2, N=3, M=1, d_r=4, scale=1.0, token_bound=1.0) | kwargs
    with pytest.raises(ConfigError, match=f"'{parameter}'"):
        m.random_instance(args.pop("B"), **args, generator=_gen())


@pytest.mark.parametrize("call, parameter", [
    (lambda: m.taylor_features(torch.ones(1, 2, 3, dtype=F64), -1), "taylor_order"),
    (lambda: m.negative_sets(2, 4, 0, _gen()), "n_neg"),
    (lambda: m.random_mlp(2, 3, 0, 3, _gen()), "d_hidden"),
    (lambda: m.random_ffn(2, 3, -4, _gen()), "d_ff"),
    (lambda: m.random_stack(2, 3, 3, 0, 4, 1.0, _gen()), "L"),
    (lambda: m.ffn(torch.ones(2, 3, dtype=F64), torch.ones(2, 4, 2, dtype=F64), torch.ones(2, 3, 4, dtype=F64)),
     "W_1"),
    (lambda: m.ffn(torch.ones(2, 3, dtype=F64), torch.ones(2, 4, 3, dtype=F64), torch.ones(2, 3, 4, dtype=F64),
                   activation="tanh"), "activation"),
    (lambda: m.attention_stack(_inst(d_i=3, d_o=2)[0], m.random_stack(3, 3, 2, 2, 4, 1.0, _gen()), residual=True),
     "d_o"),
    (lambda: m.sequential_sgd(*_dual_data(), 0.1, torch.full((3, 2), 9)), "order"),
    (lambda: m.negative_attention(*_inst(), N=4, beta=1.0, mask=torch.zeros(3, 3, 3, dtype=F64)), "mask"),
    (lambda: m.ModifiedAttentionRegressor(2, 4, "contrastive", _gen()), "variant"),
])
def test_other_model_functions_name_the_bad_parameter(call, parameter):
    with pytest.raises(ConfigError, match=f"'{parameter}'"):
        call()


def _dual_data():
    ka = m.kernel_attention(*_inst(), N=4)
    return ka.W0, ka.X, ka.Y, ka.D


# ---------------------------------------------------------------- contracts
def test_instances_in_a_batch_are_independent():
    """Instance b of a batch gives the same output as a batch of one holding only that instance."""
    H, W_Q, W_K, W_V, Wr = _inst(B=4)
    full = m.kernel_attention(H, W_Q, W_K, W_V, Wr, 4).h
    for b in range(4):
        one = m.kernel_attention(*(t[b:b + 1] for t in (H, W_Q, W_K, W_V, Wr)), 4).h
        torch.testing.assert_close(one[0], full[b], rtol=0, atol=1e-15)


def test_same_generator_seed_reproduces_bit_for_bit():
    a, b, c = _inst(seed=5), _inst(seed=5), _inst(seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and not torch.equal(a[0], c[0])


def test_taylor_kernel_is_the_truncated_exponential_series():
    x, y = torch.randn(2, 3, 4, generator=_gen(), dtype=F64).unbind(0)
    x, y = x[None], y[None]
    for p in range(5):
        k = (m.taylor_features(x, p) * m.taylor_features(y, p)).sum(1)
        t = (x * y).sum(1)
        series = sum(t**j / math.factorial(j) for j in range(p + 1))
        torch.testing.assert_close(k, series, rtol=1e-13, atol=1e-13)
    assert m.taylor_features(x, 3).shape[1] == m.taylor_feature_dim(3, 3) == 1 + 3 + 9 + 27


def test_attention_at_all_positions_agrees_with_the_query_path():
    H, W_Q, W_K, W_V, Wr = _inst()
    w = m.AttentionWeights(W_Q, W_K, W_V, Wr)
    full = m.kernel_attention_all(H, w)
    torch.testing.assert_close(full[..., -1], m.kernel_attention(H, W_Q, W_K, W_V, Wr, 4).h, rtol=1e-13, atol=1e-14)
    causal = m.kernel_attention_all(H, w, causal=True)
    torch.testing.assert_close(causal[..., -1], full[..., -1], rtol=1e-13, atol=1e-14)  # the last position sees all
    torch.testing.assert_close(causal[..., 0], (W_V @ H)[..., 0], rtol=1e-13, atol=1e-14)  # the first sees itself only


def test_relu_linearisation_reproduces_the_ffn_at_its_point():
    z = torch.randn(3, 4, generator=_gen(), dtype=F64)
    W_1, W_2 = m.random_ffn(3, 4, 7, _gen(1))
    for residual in (False, True):
        A = m.relu_linearisation(z, W_1, W_2, residual)
        torch.testing.assert_close((A @ z[..., None])[..., 0], m.ffn(z, W_1, W_2, "relu", residual))


def test_negative_sets_are_other_demonstrations_of_the_requested_size():
    mask = m.negative_sets(5, 6, 3, _gen())
    assert mask.diagonal(dim1=-2, dim2=-1).abs().sum() == 0 and bool((mask.sum(-1) == 3).all())
    assert bool((m.negative_sets(2, 3, 10, _gen()).sum(-1) == 2).all())  # capped at N - 1
    assert m.negative_sets(2, 1, 4, _gen()).sum() == 0  # N = 1: no negatives, ybar = 0
    assert m.negative_means(torch.ones(2, 3, 1, dtype=F64), m.negative_sets(2, 1, 4, _gen())).abs().sum() == 0


def test_gd_step_keeps_the_graph_only_when_differentiated():
    W0, X, Y, D = _dual_data()
    assert not m.dual_one_step(W0, X, Y, D, 0.1).requires_grad
    W = W0.clone().requires_grad_(True)
    W1 = m.dual_one_step(W, X, Y, D, 0.1, reg_alpha=0.5)
    (g,) = torch.autograd.grad(W1.sum(), W)
    torch.testing.assert_close(g, torch.full_like(W, 0.5))  # d/dW0 of (1 - alpha) W0 + ...


def test_prf_is_positive_and_unbiased_on_average():
    x, y = torch.tensor([[0.3, -0.2]], dtype=F64), torch.tensor([[0.1, 0.4]], dtype=F64)
    Wr = torch.randn(1, 1 << 18, 2, generator=_gen(), dtype=F64)
    k = (m.prf(x[..., None], Wr) * m.prf(y[..., None], Wr)).sum(1)
    assert bool((m.prf(x[..., None], Wr) > 0).all())
    assert abs(float(k) - math.exp(float((x * y).sum()))) < 0.01  # sd ~ 0.9/sqrt(2^18) ~ 2e-3: a 5 sd bound


def test_median_of_means_plan_has_at_most_its_stated_rate():
    """Heavy-tailed (log-normal) samples: the miss frequency of the median-of-means radius stays below the rate."""
    rate, n, reps = 0.05, 4000, 2000
    plan = median_of_means_plan(n, rate)
    g = _gen(3)
    s2 = 1.0
    z = torch.exp(torch.randn(reps, n, generator=g, dtype=F64) * math.sqrt(s2) - s2 / 2)  # mean 1
    sd = math.sqrt(math.exp(s2) - 1)
    m_g = n // plan.groups
    med = z[:, : plan.groups * m_g].reshape(reps, plan.groups, m_g).mean(-1).median(-1).values
    misses = int(((med - 1).abs() > plan.radius(sd / math.sqrt(m_g))).sum())
    assert misses <= reps * rate  # observed rates are far below: Chebyshev and the binomial tail are conservative


def test_lambdified_log_normal_central_moments():
    """sympy's central moments (polynomials in epsilon = e^s - 1) agree with the raw-moment formulas where those are
    well conditioned: mu2 = t - 1, mu4 = t^6 - 4t^3 + 6t - 3 in units of (EZ)^n, t = e^{|x+y|^2}."""
    from theorems.ren2024_symbolic import prf_moments

    s2 = torch.tensor([0.3, 1.0, 2.0], dtype=F64)
    t, eps = torch.exp(s2), torch.expm1(s2)
    mom = prf_moments()
    torch.testing.assert_close(mom.central_moment[2](eps), t - 1)
    torch.testing.assert_close(mom.central_moment[4](eps), t**6 - 4 * t**3 + 6 * t - 3)

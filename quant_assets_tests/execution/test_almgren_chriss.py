"""Almgren–Chriss optimal liquidation.

Reference: Almgren, R. and Chriss, N. (2000), "Optimal execution of portfolio transactions",
Journal of Risk 3(2), 5–39. Section numbers refer to the December 2000 version.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.execution import (
    almgren_chriss,
    almgren_chriss_frontier,
    trajectory_cost,
)

# §2.4 example: X = 10^6 shares, S0 = $50, 30 % annual volatility -> σ = 0.95 $/share/day^½,
# T = 5 days, N = 5 (τ = 1 day), bid-ask spread 1/8 -> ε = 1/16, η = 2.5e-6 (one spread per 1 %
# of the 5M daily volume), γ = 2.5e-7 (one spread per 10 % of daily volume), λ = 1e-6.
PAPER = {
    "shares": 1e6,
    "horizon": 5.0,
    "n_steps": 5,
    "sigma": 0.95,
    "eta": 2.5e-6,
    "gamma": 2.5e-7,
    "epsilon": 0.0625,
}


def _closed_form(X, T, N, sigma, eta, gamma, eps, kappa):
    """E and V of the optimal trajectory in closed form, AC 2000 §2.2 (eq. following (18))."""
    tau = T / N
    eta_t = eta - 0.5 * gamma * tau
    k = kappa
    e = (
        0.5 * gamma * X**2
        + eps * X
        + eta_t
        * X**2
        * math.tanh(0.5 * k * tau)
        * (tau * math.sinh(2 * k * T) + 2 * T * math.sinh(k * tau))
        / (2 * tau**2 * math.sinh(k * T) ** 2)
    )
    v = (
        0.5
        * sigma**2
        * X**2
        * (tau * math.sinh(k * T) * math.cosh(k * (T - tau)) - T * math.sinh(k * tau))
        / (math.sinh(k * T) ** 2 * math.sinh(k * tau))
    )
    return e, v


def _brute_force_holdings(X, T, N, sigma, eta, gamma, lam):
    """Minimise (η̃/τ)Σn² + λσ²τΣx² by solving the first-order (tridiagonal) linear system."""
    tau = T / N
    eta_t = eta - 0.5 * gamma * tau
    m = N - 1
    a = 2 * eta_t / tau
    b = 2 * lam * sigma**2 * tau
    mat = np.zeros((m, m))
    rhs = np.zeros(m)
    for j in range(m):
        mat[j, j] = 2 * a + b
        if j > 0:
            mat[j, j - 1] = -a
        if j < m - 1:
            mat[j, j + 1] = -a
    rhs[0] = a * X
    return np.concatenate(([X], np.linalg.solve(mat, rhs), [0.0]))


def test_paper_example_kappa_and_trajectory():
    """AC 2000 §2.4: for λ = 1e-6 the example has κ ≈ 0.6 per day (half-life ≈ 1.6 days)."""
    res = almgren_chriss(**PAPER, risk_aversion=1e-6)
    assert res.kappa == pytest.approx(0.6, abs=0.01)
    # x_k = X sinh(κ(T - t_k)) / sinh(κT), evaluated directly.
    t = np.arange(6.0)
    expected = 1e6 * np.sinh(res.kappa * (5.0 - t)) / np.sinh(res.kappa * 5.0)
    np.testing.assert_allclose(res.holdings, expected, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(res.trades, -np.diff(expected), rtol=1e-10)
    np.testing.assert_allclose(res.times, t)
    # κ from its defining equation cosh(κτ) = 1 + τ²λσ²/(2η̃).
    eta_t = 2.5e-6 - 0.5 * 2.5e-7
    assert math.cosh(res.kappa) == pytest.approx(1 + 1e-6 * 0.95**2 / (2 * eta_t), rel=1e-14)


@pytest.mark.parametrize("lam", [1e-8, 1e-7, 1e-6, 2e-6, 1e-5])
def test_paper_example_cost_moments_match_closed_form(lam):
    """E and V of the optimal strategy vs the paper's closed-form expressions (§2.2)."""
    res = almgren_chriss(**PAPER, risk_aversion=lam)
    e, v = _closed_form(1e6, 5.0, 5, 0.95, 2.5e-6, 2.5e-7, 0.0625, res.kappa)
    assert res.expected_cost == pytest.approx(e, rel=1e-10)
    assert res.variance == pytest.approx(v, rel=1e-10)
    assert res.std == pytest.approx(math.sqrt(v), rel=1e-10)


def test_naive_linear_schedule_at_zero_risk_aversion():
    """λ = 0 gives the naive strategy of §2.4: equal trades X/N,
    E = εX + ½γX²(1 - 1/N) + ηX²/T and V = ⅓σ²X²T(1 - 1/N)(1 - 1/(2N))."""
    res = almgren_chriss(**PAPER, risk_aversion=0.0)
    np.testing.assert_allclose(res.trades, np.full(5, 2e5), rtol=1e-12)
    X, T, N, s = 1e6, 5.0, 5, 0.95
    assert res.expected_cost == pytest.approx(
        0.0625 * X + 0.5 * 2.5e-7 * X**2 * (1 - 1 / N) + 2.5e-6 * X**2 / T, rel=1e-12
    )
    assert res.expected_cost == pytest.approx(662_500.0, rel=1e-12)
    assert res.variance == pytest.approx(s**2 * X**2 * T * (1 - 1 / N) * (1 - 0.5 / N) / 3, rel=1e-12)
    assert res.kappa == 0.0


def test_immediate_sale_at_infinite_risk_aversion():
    """λ → ∞: everything sold in the first period, E = εX + ηX²/τ, V = 0 (§2.4)."""
    res = almgren_chriss(**PAPER, risk_aversion=math.inf)
    np.testing.assert_array_equal(res.trades, [1e6, 0, 0, 0, 0])
    assert res.expected_cost == pytest.approx(0.0625 * 1e6 + 2.5e-6 * 1e12 / 1.0, rel=1e-12)
    assert res.variance == 0.0


def test_frontier_ends_are_naive_and_immediate():
    """The default frontier runs from the naive strategy to (nearly) the immediate sale."""
    f = almgren_chriss_frontier(**PAPER, n_points=40)
    assert f.expected_cost[0] == pytest.approx(662_500.0, rel=1e-12)
    assert f.variance[0] == pytest.approx(0.95**2 * 1e12 * 5 * 0.8 * 0.9 / 3, rel=1e-12)
    assert f.expected_cost[-1] == pytest.approx(2_562_500.0, rel=1e-6)
    assert f.variance[-1] < 1e-6 * f.variance[0]
    frame = f.to_frame()
    assert list(frame.columns) == ["risk_aversion", "expected_cost", "variance", "std", "kappa"]
    assert len(frame) == 40


@settings(max_examples=40, deadline=None)
@given(
    shares=st.floats(1e3, 1e7),
    n_steps=st.integers(2, 30),
    sigma=st.floats(0.05, 5.0),
    eta=st.floats(1e-7, 1e-4),
    gamma_frac=st.floats(0.0, 0.9),
)
def test_frontier_is_monotone(shares, n_steps, sigma, eta, gamma_frac):
    """Along increasing λ, E never decreases and V never increases (efficient frontier)."""
    horizon = float(n_steps)
    gamma = gamma_frac * 2 * eta  # keeps η - γτ/2 > 0 with τ = 1
    f = almgren_chriss_frontier(shares, horizon, n_steps, sigma, eta, gamma, 0.01, n_points=30)
    assert np.all(np.diff(f.expected_cost) >= -1e-9 * f.expected_cost[:-1])
    assert np.all(np.diff(f.variance) <= 1e-9 * f.variance[:-1])


@settings(max_examples=40, deadline=None)
@given(
    n_steps=st.integers(2, 12),
    lam=st.floats(0.0, 1e-4),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(1e-3, 0.5),
)
def test_random_perturbations_never_improve_the_objective(n_steps, lam, seed, scale):
    """Optimality: perturbing the interior holdings (keeping x_0 = X, x_N = 0 and a monotone
    sell program) never lowers E + λV."""
    X = 1e5
    res = almgren_chriss(X, float(n_steps), n_steps, 0.5, 1e-5, 1e-6, 0.01, lam)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        x = res.holdings.copy()
        x[1:-1] += scale * X * rng.standard_normal(n_steps - 1)
        x[1:-1] = np.clip(x[1:-1], 0.0, X)
        x = np.minimum.accumulate(x)  # stay a monotone sell program
        e, v = trajectory_cost(x, 1.0, 0.5, 1e-5, 1e-6, 0.01)
        assert e + lam * v >= res.expected_cost + lam * res.variance - 1e-9 * res.expected_cost


@pytest.mark.parametrize("lam", [0.0, 3e-7, 1e-6, 5e-5])
@pytest.mark.parametrize("n_steps", [1, 2, 7, 40])
def test_trajectory_matches_brute_force_quadratic_minimum(lam, n_steps):
    """The sinh formula equals the solution of the first-order conditions of E + λV."""
    if n_steps == 1:
        res = almgren_chriss(1e6, 5.0, 1, 0.95, 2.5e-6, 2.5e-7, 0.0625, lam)
        np.testing.assert_array_equal(res.holdings, [1e6, 0.0])
        return
    res = almgren_chriss(1e6, 5.0, n_steps, 0.95, 2.5e-6, 2.5e-7, 0.0625, lam)
    ref = _brute_force_holdings(1e6, 5.0, n_steps, 0.95, 2.5e-6, 2.5e-7, lam)
    np.testing.assert_allclose(res.holdings, ref, rtol=1e-9, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    holdings=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=10),
    tau=st.floats(0.1, 3.0),
    sigma=st.floats(0.0, 3.0),
    eps=st.floats(0.0, 0.2),
)
def test_trajectory_cost_matches_direct_definition(holdings, tau, sigma, eps):
    """E, V vs the raw definitions of §1.4–1.5 for arbitrary trajectories (buys included):
    E = Σ γ x_k n_k + Σ ε|n_k| + (η/τ) Σ n_k², V = σ²τ Σ x_k²."""
    eta, gamma = 2e-6, 3e-7
    x = [5e5, *holdings, 0.0]
    e_direct = 0.0
    v_direct = 0.0
    for k in range(1, len(x)):
        n_k = x[k - 1] - x[k]
        e_direct += gamma * x[k] * n_k + eps * abs(n_k) + eta / tau * n_k**2
        v_direct += sigma**2 * tau * x[k] ** 2
    e, v = trajectory_cost(x, tau, sigma, eta, gamma, eps)
    assert e == pytest.approx(e_direct, rel=1e-9, abs=1e-6)
    assert v == pytest.approx(v_direct, rel=1e-9, abs=1e-6)


def test_cost_moments_match_monte_carlo_of_price_dynamics():
    """Simulate the paper's price model (§1.2–1.3) for the λ = 1e-6 trajectory: the sample
    mean and variance of the implementation shortfall match E and V."""
    res = almgren_chriss(**PAPER, risk_aversion=1e-6)
    rng = np.random.default_rng(7)
    n_paths, s0, sigma, eta, gamma, eps = 100_000, 50.0, 0.95, 2.5e-6, 2.5e-7, 0.0625
    price = np.full(n_paths, s0)
    capture = np.zeros(n_paths)
    for n_k in res.trades:
        exec_price = price - (eps + eta * n_k / 1.0)  # S̃_k = S_{k-1} - h(n_k/τ)
        capture += n_k * exec_price
        price = price + sigma * rng.standard_normal(n_paths) - gamma * n_k  # τ g(n_k/τ)
    shortfall = 1e6 * s0 - capture
    se_mean = shortfall.std() / math.sqrt(n_paths)
    assert abs(shortfall.mean() - res.expected_cost) < 4 * se_mean
    assert shortfall.var() == pytest.approx(res.variance, rel=0.02)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shares": 0.0}, "shares"),
        ({"shares": -5.0}, "shares"),
        ({"horizon": 0.0}, "horizon"),
        ({"n_steps": 0}, "n_steps"),
        ({"sigma": -1.0}, "sigma"),
        ({"eta": 0.0}, "eta"),
        ({"gamma": -1e-7}, "gamma"),
        ({"gamma": 1e-5}, "eta - gamma"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"risk_aversion": -1e-6}, "risk_aversion"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(PAPER, risk_aversion=1e-6)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        almgren_chriss(**args)


def test_bad_frontier_input():
    with pytest.raises(ValueError, match="risk_aversions"):
        almgren_chriss_frontier(**PAPER, risk_aversions=[1e-6, -1.0])
    with pytest.raises(ValueError, match="sigma"):
        almgren_chriss_frontier(**dict(PAPER, sigma=0.0))
    with pytest.raises(TypeError, match="n_steps"):
        almgren_chriss(**dict(PAPER, n_steps=2.5), risk_aversion=0.0)

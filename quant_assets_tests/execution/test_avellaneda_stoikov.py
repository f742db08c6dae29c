"""Avellaneda–Stoikov market maker.

Reference: Avellaneda, M. and Stoikov, S. (2008), "High-frequency trading in a limit order
book", Quantitative Finance 8(3), 217–224, §4 (simulations with s = 100, T = 1, σ = 2,
dt = 0.005, q0 = 0, A = 140, k = 1.5, 1000 paths) and its results tables for γ = 0.1, 0.01
and 0.5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from quant_assets.execution import optimal_spread, simulate_avellaneda_stoikov

# (mean profit, std profit, std final inventory) reported by the paper, 1000 paths each.
PAPER_TABLES = {
    0.1: {"inventory": (62.94, 5.89, 2.80), "symmetric": (67.21, 13.43, 8.66)},
    0.01: {"inventory": (66.78, 8.76, 4.70), "symmetric": (67.36, 13.40, 8.65)},
    0.5: {"inventory": (33.92, 4.72, 1.88), "symmetric": (66.20, 14.53, 9.06)},
}


def test_spread_column_of_the_paper():
    """The paper's tables list spreads 1.29, 1.33 and 1.15 for γ = 0.1, 0.01, 0.5:
    the (2/γ) ln(1 + γ/k) part of the optimal spread with k = 1.5."""
    for gamma, reported in [(0.1, 1.29), (0.01, 1.33), (0.5, 1.15)]:
        assert optimal_spread(gamma, 2.0, 1.5, 0.0) == pytest.approx(reported, abs=0.005)
    # Full spread at t = 0 adds γσ²T.
    assert optimal_spread(0.1, 2.0, 1.5, 1.0) == pytest.approx(0.4 + 20 * math.log(1 + 0.1 / 1.5))


@pytest.mark.parametrize("gamma", [0.1, 0.01])
def test_reproduces_paper_tables(gamma):
    """γ = 0.1 and 0.01, 1000 paths: mean profit within 5 %, profit std within 15 % and final
    inventory std within 20 % of the paper's figures (their Monte Carlo error plus ours is
    about 2 % on a std and 0.3–0.6 on a mean)."""
    for strategy in ("inventory", "symmetric"):
        res = simulate_avellaneda_stoikov(gamma, strategy=strategy, n_paths=1000, seed=2008)
        mean_p, std_p, std_q = PAPER_TABLES[gamma][strategy]
        assert res.profit.mean() == pytest.approx(mean_p, rel=0.05)
        assert res.profit.std() == pytest.approx(std_p, rel=0.15)
        assert res.final_inventory.std() == pytest.approx(std_q, rel=0.20)


@pytest.mark.parametrize("gamma", [0.1, 0.01, 0.5])
def test_qualitative_findings(gamma):
    """The inventory strategy ends with a much smaller inventory dispersion and a less
    dispersed profit than the symmetric one, gives up some mean profit, and the mean final
    inventory is about zero for both (arrivals are symmetric)."""
    inv = simulate_avellaneda_stoikov(gamma, strategy="inventory", seed=11)
    sym = simulate_avellaneda_stoikov(gamma, strategy="symmetric", seed=11)
    assert inv.final_inventory.std() < 0.7 * sym.final_inventory.std()
    assert inv.profit.std() < sym.profit.std()
    assert inv.profit.mean() < sym.profit.mean() + 3 * sym.profit.std() / math.sqrt(1000)
    for res in (inv, sym):
        se = res.final_inventory.std() / math.sqrt(res.final_inventory.size)
        assert abs(res.final_inventory.mean()) < 4 * se


def test_symmetric_strategy_matches_exact_moments():
    """With quotes at the mid ± δ_t, fills are independent Bernoulli(p_t = A e^{-kδ_t} dt) on
    each side, so E[profit] = Σ 2 δ_t p_t, E[q_T] = 0 and Var[q_T] = Σ 2 p_t (1 - p_t)
    exactly; a 20,000-path simulation must agree within Monte Carlo error."""
    gamma, sigma, k, A, dt = 0.1, 2.0, 1.5, 140.0, 0.005
    t = np.arange(200) * dt
    delta = 0.5 * (gamma * sigma**2 * (1.0 - t) + (2 / gamma) * math.log(1 + gamma / k))
    p = A * np.exp(-k * delta) * dt
    mean_profit = np.sum(2 * delta * p)
    var_q = np.sum(2 * p * (1 - p))
    n = 20_000
    res = simulate_avellaneda_stoikov(gamma, strategy="symmetric", n_paths=n, seed=5)
    assert abs(res.profit.mean() - mean_profit) < 4 * res.profit.std() / math.sqrt(n)
    assert abs(res.final_inventory.mean()) < 4 * math.sqrt(var_q / n)
    assert res.final_inventory.var() == pytest.approx(var_q, rel=0.04)
    assert res.average_spread == pytest.approx(2 * delta.mean(), rel=1e-12)


def test_paths_are_consistent():
    gamma, sigma, dt = 0.1, 2.0, 0.005
    res = simulate_avellaneda_stoikov(gamma, n_paths=50, seed=3, return_paths=True)
    assert res.mid.shape == (201, 50) and res.bid.shape == (200, 50)
    np.testing.assert_allclose(res.profit, res.cash[-1] + res.inventory[-1] * res.mid[-1])
    np.testing.assert_array_equal(res.final_inventory, res.inventory[-1])
    dq = np.diff(res.inventory, axis=0)
    assert set(np.unique(dq)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_allclose(np.abs(np.diff(res.mid, axis=0)), sigma * math.sqrt(dt))
    # Quotes centred on the reservation price r = s - q γ σ² (T - t).
    t = (np.arange(200) * dt)[:, None]
    reservation = res.mid[:-1] - res.inventory[:-1] * gamma * sigma**2 * (1.0 - t)
    np.testing.assert_allclose(0.5 * (res.bid + res.ask), reservation, atol=1e-9)
    sym = simulate_avellaneda_stoikov(gamma, n_paths=50, seed=3, strategy="symmetric", return_paths=True)
    np.testing.assert_allclose(0.5 * (sym.bid + sym.ask), sym.mid[:-1], atol=1e-9)
    np.testing.assert_allclose(sym.ask - sym.bid, res.ask - res.bid, atol=1e-9)
    assert simulate_avellaneda_stoikov(gamma, n_paths=5).mid is None


def test_deterministic_given_seed():
    a = simulate_avellaneda_stoikov(0.1, n_paths=100, seed=42)
    b = simulate_avellaneda_stoikov(0.1, n_paths=100, seed=42)
    c = simulate_avellaneda_stoikov(0.1, n_paths=100, seed=43)
    np.testing.assert_array_equal(a.profit, b.profit)
    np.testing.assert_array_equal(a.final_inventory, b.final_inventory)
    assert not np.array_equal(a.profit, c.profit)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": -0.1}, "gamma"),
        ({"sigma": -1.0}, "sigma"),
        ({"k": 0.0}, "k"),
        ({"A": float("nan")}, "A"),
        ({"horizon": 0.0}, "horizon"),
        ({"dt": 0.3}, "integer"),
        ({"dt": 2.0}, "dt"),
        ({"n_paths": 0}, "n_paths"),
        ({"strategy": "martingale"}, "strategy"),
        ({"s0": -100.0}, "s0"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"gamma": 0.1}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        simulate_avellaneda_stoikov(**args)

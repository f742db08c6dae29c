"""Greeks attribution: a hand-built delta-hedged straddle to the cent; the buckets always sum to the total."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.options.attribution import greeks_attribution

CENT = 0.005


def test_hand_built_delta_hedged_straddle_to_the_cent():
    """Long 10 ATM straddles (x100), S 100 -> 101.5, 30 -> 29 days, vol 20% -> 21.5%, r = 2%.

    By hand (Black-Scholes with N from math.erf): straddle 4.572422 -> 5.045813, delta
    2N(d1) - 1 = 0.045724, so the hedge is -45.72 shares; gamma 0.138925, vega 22.837068 and
    theta -27.785100 per year per straddle. Option PnL 1000 x 0.473391 = 473.39, hedge
    -45.724223 x 1.5 = -68.59, total 404.80; gamma 0.5 x 138.925 x 1.5^2 = 156.29, theta
    -27785.1 / 365 = -76.12, vega 22837.07 x 0.015 = 342.56, residual -17.92 (volga, vanna).
    """
    out = greeks_attribution(
        [100.0, 101.5],
        [30 / 365, 29 / 365],
        [[0.20, 0.20], [0.215, 0.215]],
        [100.0, 100.0],
        [True, False],
        [10, 10],
        0.02,
    ).iloc[0]
    expected = {
        "option_pnl": 473.39,
        "hedge_pnl": -68.59,
        "total": 404.80,
        "delta": 0.0,
        "gamma": 156.29,
        "theta": -76.12,
        "vega": 342.56,
        "residual": -17.92,
        "hedge": -45.72,
    }
    for name, value in expected.items():
        assert out[name] == pytest.approx(value, abs=CENT), name
    parts = out[["delta", "gamma", "theta", "vega", "residual"]].sum()
    assert round(parts, 2) == round(out["total"], 2)


def test_an_unhedged_position_books_its_delta_bucket():
    out = greeks_attribution(
        [100.0, 101.0], [0.25, 0.25 - 1 / 365], [0.3, 0.3], [105.0], [True], [1], 0.0, hedge=[0.0, 0.0]
    ).iloc[0]
    assert out["delta"] == pytest.approx(out["net_delta"] * 1.0)
    assert out["hedge_pnl"] == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-0.05, 0.05), min_size=2, max_size=15),
    st.lists(st.floats(-0.03, 0.03), min_size=15, max_size=15),
    st.floats(0.8, 1.25),
    st.sampled_from([-5, -1, 2, 10]),
    st.booleans(),
)
def test_buckets_sum_to_the_total_pnl(returns, dvols, moneyness, qty, hedged):
    n = len(returns) + 1
    spot = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    t = 60 / 365 - np.arange(n) / 365
    vol = np.clip(0.25 + np.cumsum(np.r_[0.0, dvols[: n - 1]]), 0.05, None)
    out = greeks_attribution(
        spot,
        t,
        np.column_stack([vol, vol * 1.02]),
        [100.0 * moneyness, 100.0],
        [True, False],
        [qty, -qty],
        0.03,
        0.01,
        hedge=None if hedged else np.zeros(n),
    )
    parts = out[["delta", "gamma", "theta", "vega", "residual"]].sum(axis=1)
    np.testing.assert_allclose(parts, out["total"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["total"], out["option_pnl"] + out["hedge_pnl"], rtol=0, atol=1e-9)
    if hedged:
        np.testing.assert_allclose(out["delta"], 0.0, atol=1e-9)

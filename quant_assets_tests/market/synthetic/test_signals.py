"""Planted signal functions: independent reference computations and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from quant_assets.market.synthetic.signals import (
    cross_sectional_zscore,
    momentum_at,
    planted_expected_return,
    reversal_at,
    value_at,
)


def _prices(rng, n_t, n):
    r = rng.normal(0, 0.02, (n_t, n))
    return 50 * np.exp(np.cumsum(r, axis=0))


def test_momentum_matches_pandas_price_ratio():
    """Jegadeesh & Titman (1993) 12-1 momentum: P[t-21] / P[t-252] - 1, via pandas shift."""
    rng = np.random.default_rng(0)
    p = _prices(rng, 300, 4)
    df = pd.DataFrame(p)
    ref = (df.shift(21) / df.shift(252) - 1.0).to_numpy()
    for t in (251, 252, 280, 299):
        got = np.expm1(momentum_at(np.log(p), t))
        np.testing.assert_allclose(got, ref[t], rtol=1e-12, equal_nan=True)
    assert np.isnan(momentum_at(np.log(p), 251)).all()


def test_reversal_matches_pandas_pct_change():
    rng = np.random.default_rng(1)
    p = _prices(rng, 40, 5)
    ref = -pd.DataFrame(p).pct_change(5).to_numpy()
    for t in (5, 17, 39):
        np.testing.assert_allclose(-np.expm1(-reversal_at(np.log(p), t)), ref[t], rtol=1e-12)


def test_value_is_log_book_to_market_and_nan_when_missing():
    got = value_at(
        np.array([2e9, np.nan, 1e9, -5.0]), np.array([1e8, 1e8, 0.0, 1e6]), np.array([10.0, 10.0, 10.0, 10.0])
    )
    assert np.isclose(got[0], np.log(2.0))
    assert np.isnan(got[1:]).all()


def test_zscore_matches_scipy_without_outliers_and_clips():
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    x = x[np.abs(stats.zscore(x)) < 2.5]
    np.testing.assert_allclose(cross_sectional_zscore(x), stats.zscore(x), atol=1e-12)
    y = np.append(rng.normal(size=200), 1e6)
    z = cross_sectional_zscore(y)
    assert z.max() <= 3.0 + 1e-12 and abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
    assert (cross_sectional_zscore(np.array([1.0, np.nan])) == 0).all()


def test_expected_return_is_the_weighted_sum():
    z = np.array([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]])
    got = planted_expected_return(z[0], z[1], z[2], (1e-3, 2e-3, 4e-3))
    np.testing.assert_allclose(got, [1e-3 + 1e-3 - 4e-3, -2e-3 + 12e-3])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.integers(0, 299), scale=st.floats(0.01, 10.0))
def test_no_look_ahead(seed, t, scale):
    """Perturbing rows after t never changes the signals (nor their z-scores) at t."""
    rng = np.random.default_rng(seed)
    log_p = np.log(_prices(rng, 300, 6))
    log_p[: rng.integers(0, 260), 0] = np.nan  # a late listing
    bumped = log_p.copy()
    bumped[t + 1 :] += scale * rng.standard_normal(bumped[t + 1 :].shape)
    for f in (momentum_at, reversal_at):
        a, b = f(log_p, t), f(bumped, t)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(cross_sectional_zscore(a), cross_sectional_zscore(b))

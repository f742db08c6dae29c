"""Equity features: no look-ahead, agreement with the adjustment module, single session == panel, memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.features import FEATURE_COLUMNS, build_feature_panel, compute_equity_features, winsorized_z
from quant_assets.features.rolling import lagged_sum, rolling_beta, rolling_moments
from quant_assets.market.adjustments import pit_adjusted_history
from quant_assets.research import build_universe
from quant_assets_tests.research.markets import perturb_after, small_market

VALUES = [c for c in FEATURE_COLUMNS if not c.endswith("_missing")]


@pytest.fixture(scope="module")
def panel():
    m = small_market()
    return build_feature_panel(m, m.wide.sessions)


def test_columns_are_symbol_asof_and_standardized_features(panel):
    assert list(panel.columns) == ["asof", "symbol", *FEATURE_COLUMNS]
    xs = [c for c in VALUES if any(k in c for k in ("xsmom", "rvol", "amihud", "_bp", "beta_mkt"))]
    assert panel[xs].abs().max().max() <= 3.0
    by_day = panel.groupby("asof")["feature_rvol_20"]
    assert by_day.mean().abs().max() < 0.1  # the final +/-3 clip moves the mean a little
    assert (by_day.std().dropna() - 1).abs().median() < 0.05
    # a flag for each value that can be missing, exactly where it is NaN
    np.testing.assert_array_equal(
        panel["feature_xsmom_252_missing"].to_numpy(), panel["feature_xsmom_252"].isna().to_numpy().astype(float)
    )
    assert panel["feature_xsmom_252"].isna().any() and panel["feature_xsmom_21"].notna().mean() > 0.9


def test_momentum_equals_log_ratio_of_pit_adjusted_total_return_closes():
    """The 12-1 momentum of asof t is log(adj_close[t-22] / adj_close[t-253]) as adjusted at t-1."""
    m = small_market()
    s = m.wide.sessions
    t = 300
    raw = lagged_sum(np.log1p(m.wide.ret), 21, 252)[t - 1]
    hist = pit_adjusted_history(m.prices, s[t - 1], total_return=True)
    wide = hist.pivot(index="date", columns="symbol", values="adj_close").reindex(s[:t])
    ref = np.log(wide.iloc[t - 1 - 21] / wide.iloc[t - 1 - 252]).reindex(m.wide.symbols).to_numpy()
    ok = ~np.isnan(ref) & ~np.isnan(raw)
    assert ok.sum() > 10
    np.testing.assert_allclose(raw[ok], ref[ok], rtol=1e-9, atol=1e-12)


def test_rolling_moments_match_pandas():
    rng = np.random.default_rng(0)
    x = rng.standard_t(4, size=(200, 3)) * 0.01
    x[[5, 50, 51], 1] = np.nan
    got = rolling_moments(x, 20, 10)
    df = pd.DataFrame(x).rolling(20, min_periods=10)
    np.testing.assert_allclose(got["std"], df.std().to_numpy(), rtol=1e-8, equal_nan=True)
    v = x[180:200, 0]
    m2 = ((v - v.mean()) ** 2).mean()
    assert got["skew"][199, 0] == pytest.approx(((v - v.mean()) ** 3).mean() / m2**1.5, rel=1e-8)
    assert got["kurt"][199, 0] == pytest.approx(((v - v.mean()) ** 4).mean() / m2**2 - 3, rel=1e-8)
    assert got["quarticity"][199, 0] == pytest.approx(20 / 3 * (v**4).sum(), rel=1e-10)
    f = rng.normal(size=200) * 0.01
    y = 1.5 * f[:, None] + rng.normal(size=(200, 1)) * 1e-4
    assert rolling_beta(y, f, 60, 30)[-1, 0] == pytest.approx(1.5, abs=0.01)


def test_winsorized_z_clips_an_outlier_and_ignores_names_outside_the_mask():
    x = np.array([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 1e6, 7.0]])
    mask = np.ones_like(x, bool)
    mask[0, -1] = False
    z = winsorized_z(x, mask)
    assert np.isnan(z[0, -1])
    assert np.nanmax(np.abs(z)) <= 3.0 and z[0, 9] == np.nanmax(z)
    assert np.nanmean(z[0, :10]) == pytest.approx(0.0, abs=1e-12)


def test_single_session_equals_the_panel_row():
    m = small_market()
    s = m.wide.sessions
    uni = build_universe(m, s, 20)
    full = build_feature_panel(m, s, universe=uni)
    t = s[320]
    one = compute_equity_features(t, uni, panel=m)
    ref = full[full["asof"] == t].set_index("symbol")[one.columns[2:]]
    assert list(one.columns[:2]) == ["symbol", "asof"] and len(one) == 20
    np.testing.assert_allclose(
        one.set_index("symbol").loc[ref.index, ref.columns].to_numpy(), ref.to_numpy(), atol=1e-10, equal_nan=True
    )
    # from a prebuilt panel: a selection
    pd.testing.assert_frame_equal(
        compute_equity_features(t, uni, panel=full).reset_index(drop=True),
        full[full["asof"] == t][["symbol", "asof", *FEATURE_COLUMNS]].reset_index(drop=True),
    )


@settings(max_examples=6, deadline=None)
@given(cut=st.integers(min_value=30, max_value=370), seed=st.integers(0, 2**16))
def test_data_after_t_minus_1_changes_no_feature_at_t(cut, seed):
    m = small_market()
    s = m.wide.sessions
    other = perturb_after(m, s[cut - 1], seed)
    a = build_feature_panel(m, s[: cut + 1])
    b = build_feature_panel(other, s[: cut + 1])
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12)


def test_panel_peak_memory_stays_near_its_own_size(panel):
    """One preallocated block, one feature at a time: the traced peak is < 2x the panel.

    Building every raw matrix first and assembling the frame from per-column copies peaked
    at 3.6x on this market.
    """
    m = small_market()
    tracemalloc.start()
    try:
        out = build_feature_panel(m, m.wide.sessions)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    pd.testing.assert_frame_equal(out, panel)
    assert peak < 2.0 * out.memory_usage(deep=False).sum()


def test_float32_panel_is_the_float64_panel_rounded(panel):
    """``dtype=np.float32`` only rounds on output: |error| <= 4 x 2^-24 (|value| <= 4), flags exact."""
    m = small_market()
    low = build_feature_panel(m, m.wide.sessions, dtype=np.float32)
    assert (low[list(FEATURE_COLUMNS)].dtypes == np.float32).all()
    pd.testing.assert_frame_equal(low[["asof", "symbol"]], panel[["asof", "symbol"]])
    a, b = panel[list(FEATURE_COLUMNS)].to_numpy(), low[list(FEATURE_COLUMNS)].to_numpy(np.float64)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(b, a, rtol=0, atol=4 * 2.0**-24, equal_nan=True)
    flags = [c for c in FEATURE_COLUMNS if c.endswith("_missing")]
    np.testing.assert_array_equal(low[flags].to_numpy(np.float64), panel[flags].to_numpy())

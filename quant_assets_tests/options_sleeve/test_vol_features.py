"""Vol features: surface readings against the core maths, the NaN rules, and the t-1 lag (property test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.calendars import sessions_in_range
from quant_assets.options import bs_greeks, ssvi_total_variance
from quant_assets.options.surfaces import ssvi_as_raw_svi
from quant_assets.options.vol_features import (
    VolFeatureConfig,
    build_vol_features,
    surface_summary,
    surface_vols,
)

SESSIONS = sessions_in_range("2024-01-02", "2024-04-30")
NAMES = ("A", "B")
MATURITIES = np.array([10, 24, 45, 80, 150]) / 365.0
CFG = VolFeatureConfig(rank_window=10, rv_window=5, flow_window=2, volume_window=3)


def ssvi_slices(dates, names, theta_scale, rho=-0.5, eta=1.0, spot=100.0) -> pd.DataFrame:
    """SSVI surfaces (power-law phi, gamma 1/2) written as raw SVI slices, one per maturity."""
    rows = []
    for i, date in enumerate(dates):
        for j, name in enumerate(names):
            theta = 0.09 * theta_scale[i, j] * MATURITIES
            phi = eta / np.sqrt(theta * (1 + theta))
            raw = ssvi_as_raw_svi(theta, rho, phi)
            for t, p in zip(MATURITIES, raw, strict=True):
                rows.append(
                    dict(
                        date=date,
                        underlier=name,
                        t_years=t,
                        forward=spot,
                        rate=0.0,
                        **dict(zip(("a", "b", "rho", "m", "sigma"), p, strict=True)),
                    )
                )
    return pd.DataFrame(rows)


def market(seed: int = 0, n: int = 40):
    rng = np.random.default_rng(seed)
    dates = SESSIONS[:n]
    scale = np.exp(0.1 * np.cumsum(rng.standard_normal((n, len(NAMES))), axis=0))
    slices = ssvi_slices(dates, NAMES, scale)
    close = 100 * np.exp(np.cumsum(0.02 * rng.standard_normal((n, len(NAMES))), axis=0))
    prices = pd.DataFrame({"date": np.repeat(dates, len(NAMES)), "symbol": np.tile(NAMES, n), "close": close.ravel()})
    flows = pd.DataFrame(
        {
            "date": np.repeat(dates, len(NAMES)),
            "underlier": np.tile(NAMES, n),
            "open_interest": rng.integers(1000, 5000, n * len(NAMES)).astype(float),
            "volume": rng.integers(0, 500, n * len(NAMES)).astype(float),
        }
    )
    earnings = pd.DataFrame(
        {
            "symbol": ["A", "B", "A"],
            "announce_date": [dates[3], dates[10], dates[20]],
            "earnings_date": [dates[12], dates[30], dates[33]],
        }
    )
    return slices, prices, flows, earnings


def features(slices, prices, flows, earnings, asof=SESSIONS[1:40]):
    return build_vol_features(surface_summary(slices, CFG), prices, flows, earnings, asof, CFG)


def test_surface_readings_match_the_ssvi_truth_and_the_core_deltas():
    slices = ssvi_slices(SESSIONS[:1], ["A"], np.ones((1, 1)))
    s = surface_summary(slices, CFG).iloc[0]
    t = 30 / 365.0
    # 30 days lies between the 24- and 45-day slices: total variance is linear in T there.
    lo, hi = MATURITIES[1], MATURITIES[2]
    w = np.interp(t, [lo, hi], [0.09 * lo, 0.09 * hi])
    assert s["atm_iv"] == pytest.approx(np.sqrt(w / t), rel=1e-12)
    assert s["atm_skew"] < 0 and s["atm_curvature"] > 0  # rho < 0: a downward sloping, convex smile
    assert s["rr25"] < 0 and s["bf25"] > 0
    # The 25-delta call vol read off the grid is the vol at which the core's call delta is 0.25.
    strikes = 100 * np.exp(np.linspace(-0.6, 0.5, 4001))
    v = surface_vols(slices, pd.DataFrame({"date": SESSIONS[0], "underlier": "A", "t_years": t, "strike": strikes}))
    call = np.asarray(bs_greeks(100.0, strikes, t, 0.0, 0.0, v["vol"], True).delta)
    put = np.asarray(bs_greeks(100.0, strikes, t, 0.0, 0.0, v["vol"], False).delta)
    vc25 = v["vol"].iloc[int(np.argmin(np.abs(call - 0.25)))]
    vp25 = v["vol"].iloc[int(np.argmin(np.abs(put + 0.25)))]
    assert vc25 - vp25 == pytest.approx(s["rr25"], abs=2e-4)
    assert 0.5 * (vc25 + vp25) - s["atm_iv"] == pytest.approx(s["bf25"], abs=2e-4)


def test_surface_vols_are_the_slices_at_their_own_maturities():
    slices = ssvi_slices(SESSIONS[:1], ["A"], np.ones((1, 1)))
    k = np.linspace(-0.4, 0.3, 8)
    theta = 0.09 * MATURITIES[3]
    q = pd.DataFrame({"date": SESSIONS[0], "underlier": "A", "t_years": MATURITIES[3], "strike": 100 * np.exp(k)})
    got = surface_vols(slices, q)["vol"].to_numpy()
    phi = 1.0 / np.sqrt(theta * (1 + theta))
    want = np.sqrt(np.asarray(ssvi_total_variance(k, theta, -0.5, phi)) / MATURITIES[3])
    np.testing.assert_allclose(got, want, rtol=1e-10)
    beyond = q.assign(t_years=1.0)
    assert surface_vols(slices, beyond)["vol"].isna().all()  # no extrapolation past the last expiry


def test_iv_rank_waits_for_a_full_window_and_earnings_count_sessions():
    out = features(*market()).set_index(["asof", "underlier"])
    a = out.xs("A", level="underlier")
    # Data date of asof SESSIONS[k] is SESSIONS[k-1]: the window of 10 fills at data date 9, asof 10.
    assert a.loc[SESSIONS[1:10], "feature_iv_rank"].isna().all()
    assert a.loc[SESSIONS[10] :, "feature_iv_rank"].between(0, 1).all()
    assert a.loc[SESSIONS[10] :, "feature_iv_percentile"].between(0.1, 1).all()
    # Announced on session 3, earnings on session 12: known from asof 4 to 12.
    assert np.isnan(a.loc[SESSIONS[3], "feature_days_to_earnings"])
    assert a.loc[SESSIONS[4], "feature_days_to_earnings"] == 8
    assert a.loc[SESSIONS[12], "feature_days_to_earnings"] == 0
    assert np.isnan(a.loc[SESSIONS[13], "feature_days_to_earnings"])
    assert a.loc[SESSIONS[21], "feature_days_to_earnings"] == 12  # the next one, announced on 20
    assert out["feature_rv"].notna().sum() > 0 and (out["feature_rv"].dropna() > 0).all()


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(2, 38), scale=st.floats(min_value=0.5, max_value=2.0), seed=st.integers(0, 3))
def test_no_feature_of_t_depends_on_data_after_t_minus_1(cut, scale, seed):
    slices, prices, flows, earnings = market(seed)
    t = SESSIONS[cut]
    later = lambda df, col="date": pd.DatetimeIndex(df[col]) >= t  # noqa: E731
    s2 = slices.copy()
    s2.loc[later(s2), "a"] *= scale * 1.3
    p2 = prices.copy()
    p2.loc[later(p2), "close"] *= scale * 1.1
    f2 = flows.copy()
    f2.loc[later(f2), ["open_interest", "volume"]] *= 3.0
    e2 = pd.concat(
        [
            earnings[~later(earnings, "announce_date")],
            pd.DataFrame({"symbol": ["B"], "announce_date": [t], "earnings_date": [SESSIONS[cut + 1]]}),
        ]
    )
    base = features(slices, prices, flows, earnings)
    moved = features(s2, p2, f2, e2)
    keep = base["asof"] <= t
    pd.testing.assert_frame_equal(base[keep].reset_index(drop=True), moved[moved["asof"] <= t].reset_index(drop=True))
    nxt = base["asof"] == SESSIONS[cut + 1]
    after = moved.loc[moved["asof"] == SESSIONS[cut + 1], "feature_atm_iv"]
    assert not np.allclose(base.loc[nxt, "feature_atm_iv"], after)  # the perturbation is seen from t+1

"""Drift and health metrics against closed forms, literature values and planted changes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.monitoring.calibration import brier, log_loss
from quant_assets.monitoring.changepoint import pnl_change_points
from quant_assets.monitoring.drift import bin_shares, feature_drift, kl_from_shares, kl_normal, psi, psi_from_shares
from quant_assets.monitoring.episodes import step
from quant_assets.monitoring.health import DriftConfig, breaches, session_health
from quant_assets.monitoring.impact import modeled_vs_realized
from quant_assets.monitoring.performance import monthly_ir, time_under_water
from quant_assets.monitoring.risk import factor_betas, net_greeks


def test_psi_of_two_known_binned_distributions_by_hand():
    # Ten equal bins against a shift of 5 points of mass from the first to the last bin:
    # PSI = (0.05 - 0.10) ln(0.5) + (0.15 - 0.10) ln(1.5) = 0.05 (ln 2 + ln 1.5) = 0.0549306.
    e = np.full(10, 0.1)
    a = e.copy()
    a[0], a[-1] = 0.05, 0.15
    assert psi_from_shares(e, a) == pytest.approx(0.05 * (math.log(2) + math.log(1.5)), abs=1e-12)
    assert psi_from_shares(e, e) == 0.0


def test_psi_of_a_one_sigma_mean_shift_matches_the_normal_integral():
    # Deciles of N(0, 1) against N(1, 1): the population PSI is sum (a - e) ln(a / e) over the
    # decile bins, with a_i = Phi(q_{i+1} - 1) - Phi(q_i - 1) (about 1.0 for one sigma).
    from scipy import stats

    q = stats.norm.ppf(np.linspace(0, 1, 11))
    a = np.diff(stats.norm.cdf(q - 1.0))
    exact = float(np.sum((a - 0.1) * np.log(a / 0.1)))
    rng = np.random.default_rng(0)
    sample = psi(rng.normal(0, 1, 200_000), rng.normal(1, 1, 200_000))
    assert sample == pytest.approx(exact, rel=0.02)
    assert 0.8 < exact < 1.2  # far above the 0.25 "significant shift" reading


def test_binned_kl_converges_to_the_closed_form_for_two_normals():
    assert kl_normal(0.0, 1.0, 0.0, 1.0) == 0.0
    assert kl_normal(1.0, 1.0, 0.0, 1.0) == pytest.approx(0.5)
    assert kl_normal(0.0, 2.0, 0.0, 1.0) == pytest.approx(2.0 - 0.5 - math.log(2.0))
    rng = np.random.default_rng(1)
    train, live = rng.normal(0, 1, 400_000), rng.normal(0.5, 1, 400_000)
    shares = bin_shares(train, live, n_bins=200)
    assert kl_from_shares(*shares) == pytest.approx(kl_normal(0.5, 1, 0, 1), rel=0.05)  # 0.125


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=3, max_size=12), st.lists(st.floats(0, 1), min_size=3, max_size=12))
def test_psi_is_symmetric_and_non_negative(e, a):
    n = min(len(e), len(a))
    e, a = np.array(e[:n]) + 0.01, np.array(a[:n]) + 0.01
    assert psi_from_shares(e, a) >= -1e-12
    assert psi_from_shares(e, a) == pytest.approx(psi_from_shares(a, e), abs=1e-9)
    assert kl_from_shares(e, a) >= -1e-12


def test_feature_drift_flags_the_shifted_feature_only():
    rng = np.random.default_rng(2)
    train = pd.DataFrame({"feature_a": rng.normal(size=5000), "feature_b": rng.normal(size=5000)})
    live = pd.DataFrame({"feature_a": rng.normal(size=2000), "feature_b": rng.normal(2.0, 1.0, 2000)})
    out = feature_drift(train, live, ["feature_a", "feature_b"]).set_index("feature")
    assert out.loc["feature_a", "psi"] < 0.02 and out.loc["feature_b", "psi"] > 1.0


def test_brier_and_log_loss_literature_values():
    assert brier([0.5] * 4, [0, 1, 0, 1]) == 0.25
    assert brier([1.0, 0.0], [1, 0]) == 0.0
    assert log_loss([0.5] * 4, [0, 1, 0, 1]) == pytest.approx(math.log(2))
    assert log_loss([0.8, 0.3], [1, 0]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    with pytest.raises(ValueError, match="outcomes"):
        brier([0.5], [2])


def test_monthly_ir_and_time_under_water():
    idx = pd.bdate_range("2024-01-01", "2024-02-29")
    r = pd.Series(np.where(np.arange(len(idx)) % 2 == 0, 0.02, 0.0), index=idx)
    ir = monthly_ir(r)
    jan = r[r.index.month == 1]
    assert ir[pd.Period("2024-01", "M")] == pytest.approx(np.sqrt(252) * jan.mean() / jan.std(ddof=1))
    nav = pd.Series([100.0, 90, 95, 101, 100, 99, 98])
    assert time_under_water(nav) == {"current_sessions": 3, "longest_sessions": 3}


def test_factor_betas_recover_planted_loadings_and_net_greeks_sum_signed_legs():
    rng = np.random.default_rng(3)
    f = pd.DataFrame({"mkt": rng.normal(0, 0.01, 500), "smb": rng.normal(0, 0.01, 500)})
    r = 0.0002 + 1.2 * f["mkt"] - 0.4 * f["smb"]
    assert factor_betas(r, f).round(10).to_dict() == {"mkt": 1.2, "smb": -0.4}
    legs = pd.DataFrame({"quantity": [2, -1], "delta": [0.5, 0.3], "vega": [0.1, 0.2]})
    assert net_greeks(legs) == pytest.approx({"delta": 70.0, "vega": 0.0})


def test_impact_ratio_is_one_when_the_model_is_right():
    out = modeled_vs_realized([5.0, 7.0], [5.0, 7.0], notional=[1e5, 2e5])
    assert out == {"impact_ratio": 1.0, "impact_residual_bps": 0.0, "n_fills": 2}


def test_change_point_found_at_a_planted_shift_and_not_in_noise():
    rng = np.random.default_rng(4)
    x = np.r_[rng.normal(0, 1, 120), rng.normal(1.5, 1, 80)]
    cps = pnl_change_points(x)
    assert len(cps) == 1 and abs(cps[0] - 120) <= 5
    assert pnl_change_points(rng.normal(0, 1, 200)) == []
    assert pnl_change_points([1.0, 2.0]) == []


def test_episode_fires_once_per_breach_episode_and_ignores_replays():
    state: dict = {}
    fired = [step(state, s, r)[0] for s, r in [("a", ["x"]), ("b", ["x"]), ("c", []), ("d", ["y"])]]
    assert fired == [True, False, False, True]
    assert step(state, "b", ["x"])[0] is False  # an older session re-materialized


def _features(rng, n, shift=0.0):
    return pd.DataFrame(
        {
            "feature_mom": rng.normal(shift, 1, n),
            "feature_mom_missing": 0.0,
            "feature_val": rng.normal(0, 1, n),
            "feature_qual": rng.normal(0, 1, n),
        }
    )


def test_session_health_row_and_breach_sentences():
    rng = np.random.default_rng(5)
    cfg = DriftConfig(psi_threshold=0.25)
    t = pd.Timestamp("2024-03-01")
    calm = session_health(t, features_ref=_features(rng, 600), features_live=_features(rng, 100), cfg=cfg)
    assert calm["n_features"] == 3 and calm["psi_median"] < 0.25 and breaches(calm, cfg) == []
    assert math.isnan(calm["brier"]) and math.isnan(calm["ir_month"]) and math.isnan(calm["net_delta"])
    hot = session_health(t, features_ref=_features(rng, 600), features_live=_features(rng, 100, 3.0), cfg=cfg)
    assert breaches(hot, cfg) == []  # one of three features moved: the median PSI stays low
    shifted = _features(rng, 100, 3.0).assign(feature_val=lambda d: d["feature_val"] + 3.0)
    hot = session_health(t, features_ref=_features(rng, 600), features_live=shifted, cfg=cfg)
    (reason,) = breaches(hot, cfg)
    assert reason.startswith("feature drift: median PSI") and "feature_" in reason


def test_session_health_reads_calibration_and_the_book():
    t = pd.Timestamp("2024-02-29")
    dates = pd.bdate_range("2024-01-02", t)
    nav = 1e6 * np.cumprod(1 + np.r_[0.0, np.full(len(dates) - 1, 0.001)])
    pnl = pd.DataFrame({"date": dates, "nav": nav, "nav_prev": np.r_[1e6, nav[:-1]]})
    pnl["net_pnl"] = pnl["nav"] - pnl["nav_prev"]
    pnl["impact"], pnl["impact_realized"], pnl["traded_notional"] = 10.0, 15.0, 1e5
    scores = pd.DataFrame(
        {
            "asof": pd.Timestamp("2024-02-01"),
            "symbol": ["A", "B"],
            "expected_excess_return": [0.01, -0.01],
            "confidence": [1.0, 1.0],
            "horizon_sessions": 5,
        }
    )
    labels = pd.DataFrame({"entry_date": pd.Timestamp("2024-02-01"), "symbol": ["A", "B"], "xret_5": [0.02, 0.01]})
    market = pd.Series(0.001, index=dates)
    row = session_health(
        t,
        features_ref=pd.DataFrame(),
        features_live=pd.DataFrame(),
        cfg=DriftConfig(),
        scores=scores,
        labels=labels,
        pnl=pnl,
        market=market,
    )
    assert row["brier"] == 0.5 and row["n_calibration"] == 2  # A right (0), B wrong (1)
    assert row["impact_ratio"] == 1.5 and row["impact_residual_bps"] == pytest.approx(0.5)
    assert row["tuw_current"] == 0 and row["n_features"] == 0
    assert breaches(row, DriftConfig()) == ["calibration: Brier 0.500 > 0.3"]

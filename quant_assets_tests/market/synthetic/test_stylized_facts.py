"""Market properties of a generated market held to documented ranges.

One moderately sized market (500 names over 2015-2022, the profiles' fault rates) is measured
with :func:`quant_assets.market.synthetic.properties.market_properties`. Reference magnitudes:
monthly rank IC of a single US equity signal about 0.02-0.05 (Grinold & Kahn 2000); Cont
(2001) stylized facts (negative skew, leverage effect, slowly decaying autocorrelation of
absolute returns); mean pairwise correlation of large US stocks near 0.3; persistent
detrended turnover (Lo & Wang 2000); forward splits by a few percent of names a year at most.
The bands are wider than the references by the sampling error of 500 names over 96 months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant_assets.market.synthetic.properties import market_properties, total_log_returns
from quant_assets_tests.market.synthetic.conftest import make_market

FAULTS = {
    "fault_missing_bar_rate": 0.0002,
    "fault_halt_rate": 0.03,
    "fault_zero_volume_rate": 0.0002,
    "fault_bad_print_rate": 0.00005,
    "fault_late_action_share": 0.02,
}
MARKET = {
    "seed": 2015,
    "n_symbols": 500,
    "start": "2015-01-02",
    "end": "2022-12-30",
    "n_option_underliers": 20,
    **FAULTS,
}


@pytest.fixture(scope="module")
def props() -> dict:
    return market_properties(make_market(**MARKET), n_large=100)


@pytest.mark.parametrize("edge", ["momentum", "value", "reversal"])
def test_each_planted_edge_has_a_realistic_monthly_rank_ic(props, edge):
    assert 0.005 <= props[f"ic_{edge}"] <= 0.07, props[f"ic_{edge}"]
    assert props[f"ic_{edge}_positive"] < 0.85  # not positive nearly every month


def test_combined_edge_is_realistic(props):
    assert 0.015 <= props["ic_expected_return"] <= 0.08
    assert props["momentum_ls_sharpe"] < 2.5  # gross quintile long/short, annualized


def test_returns_are_negatively_skewed(props):
    assert props["share_negative_skew"] > 0.5 and props["median_skew"] < 0


def test_index_leverage_effect(props):
    assert props["index_leverage_corr"] < -0.02


def test_volatility_has_long_memory(props):
    assert props["abs_acf_1"] > 0.1
    assert props["abs_acf_100"] > 0.015


def test_market_factor_strength(props):
    assert 0.2 <= props["mean_pairwise_corr"] <= 0.4


def test_volume_persistence_and_volatility_link(props):
    assert 0.4 <= props["turnover_acf_1"] <= 0.7
    assert 0.1 <= props["turnover_abs_return_corr"] <= 0.5


def test_split_rates(props):
    assert 0.003 <= props["forward_splits_per_name_year"] <= 0.04
    assert props["reverse_splits_per_name_year"] <= 0.02


def test_live_count_is_stable(props):
    assert props["live_count_min_over_max_yearly"] > 0.85
    assert 0.85 <= props["live_count_last"] / props["live_count_first"] <= 1.15


def test_borrow_status_does_not_foretell_bankruptcy(props):
    assert props["htb_switch_ons"] >= 20
    assert props["p_bankrupt_within_120_given_htb_on"] < 0.25
    assert 0.01 <= props["htb_share"] <= 0.15


def test_prices_rise_with_size_and_underliers_are_optionable(props):
    assert props["price_size_rank_corr"] > 0.5
    assert props["underlier_min_price"] > 5.0
    assert props["underlier_share_below_20"] < 0.05


def test_total_log_returns_add_back_splits_and_dividends():
    dates = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])
    bars = pd.DataFrame(
        {"date": dates.repeat(2), "symbol": ["A", "B"] * 3, "close": [100.0, 50.0, 50.0, 49.0, 51.0, 50.0]}
    )
    ca = pd.DataFrame(
        {
            "ex_date": [dates[1], dates[2], pd.Timestamp("2030-01-02")],
            "symbol": ["A", "B", "A"],
            "event_type": ["split", "dividend", "split"],
            "ratio": [2.0, np.nan, 3.0],
            "amount": [np.nan, 1.0, np.nan],
        }
    )
    out = total_log_returns(bars, ca)
    assert out.loc[dates[1], "A"] == pytest.approx(0.0)  # 2-for-1: 50 x 2 = 100
    assert out.loc[dates[2], "A"] == pytest.approx(np.log(51 / 50))
    assert out.loc[dates[1], "B"] == pytest.approx(np.log(49 / 50))
    assert out.loc[dates[2], "B"] == pytest.approx(np.log(51 / 49))  # 50 + 1 dividend
    assert out.iloc[0].isna().all()

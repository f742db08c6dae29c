"""Blotter parts: factor exposures, the PSR/DSR trend from the core functions, the options strategies."""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quant_assets.reporting import emit_daily
from quant_assets.reporting.exposures import book_exposures, factor_exposures
from quant_assets.reporting.scorecard import curve_dsr, sharpe_trend
from quant_assets.validation import deflated_sharpe_ratio, probabilistic_sharpe_ratio

STRATEGY = {
    "underlier": "AAPL",
    "type": "delta_hedged_straddle",
    "expiry": "2024-04-19",
    "qty": 10,
    "target_vega": 5000.0,
    "expected_pnl_bps": 40.0,
    "conf": 0.58,
    "hedge_rules": {"rebalance": "daily", "delta_threshold": 0.2},
}
ROW = {
    "symbol": ["A", "B"],
    "target_w": [0.02, -0.01],
    "horizon_days": [5, 5],
    "expected_alpha_bps": [20.0, -15.0],
    "conf": [0.6, 0.5],
    "tp_bps": [100.0, 90.0],
    "sl_bps": [-50.0, -45.0],
}


def test_market_beta_and_style_exposures_by_hand():
    """r_A = 2x, r_B = 0: the equal-weighted market is x, so beta_A = 2 and beta_B = 0."""
    x = np.random.default_rng(0).normal(0, 0.01, 30)
    returns = pd.DataFrame({"A": 2 * x, "B": np.zeros(30)})
    feats = pd.DataFrame({"symbol": ["B", "A"], "feature_mom_12_1": [-1.0, 0.5], "feature_bp": [2.0, 0.0]})
    ex = factor_exposures(["A", "B", "C"], feats, returns)
    assert ex.loc["A", "factor_market_beta"] == pytest.approx(2.0)
    assert ex.loc["B", "factor_market_beta"] == pytest.approx(0.0)
    assert np.isnan(ex.loc["C", "factor_market_beta"]) and np.isnan(ex.loc["A", "factor_size"])
    w = pd.Series({"A": 0.1, "B": -0.2, "C": 0.3})
    book = book_exposures(w, ex)
    assert book["market_beta"] == pytest.approx(0.2)
    assert book["momentum"] == pytest.approx(0.1 * 0.5 + 0.2)
    assert book["value"] == pytest.approx(-0.4) and np.isnan(book["size"])
    short = factor_exposures(["A"], None, returns.head(10))  # too few returns: unknown
    assert np.isnan(short.loc["A", "factor_market_beta"])


def test_sharpe_trend_uses_the_core_psr_and_dsr():
    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2024-01-02", periods=60)
    nav = 1e6 * np.cumprod(1 + rng.normal(5e-4, 0.01, 60))
    frame = pd.DataFrame({"date": dates, "nav": nav})
    trials = pd.DataFrame({"sharpe_ann": [0.5, 1.0, -0.3, 2.0]})
    trend = sharpe_trend(frame, 1e6, trials, min_obs=20)
    assert trend["date"].iloc[0] == dates[19] and trend["date"].iloc[-1] == dates[-1] and len(trend) == 41
    r = np.diff(np.concatenate([[1e6], nav])) / np.concatenate([[1e6], nav[:-1]])
    sr, skew, kurt = r.mean() / r.std(ddof=1), stats.skew(r), stats.kurtosis(r, fisher=False)
    assert trend["psr"].iloc[-1] == pytest.approx(probabilistic_sharpe_ratio(sr, 60, skew, kurt))
    var = np.var(trials["sharpe_ann"] / np.sqrt(252), ddof=1)
    assert trend["dsr"].iloc[-1] == pytest.approx(deflated_sharpe_ratio(sr, 60, skew, kurt, 4, var))
    assert curve_dsr(frame, 1e6, trials) == pytest.approx(trend["dsr"].iloc[-1])
    assert (trend["dsr"] <= trend["psr"] + 1e-12).all()
    assert sharpe_trend(frame.head(10), 1e6).empty


def test_options_strategies_are_validated_listed_and_kept_in_the_json(tmp_path):
    pos = pd.DataFrame(ROW)
    second = {**STRATEGY, "underlier": "MSFT", "type": "vertical", "qty": np.int64(-3), "expected_pnl_bps": 25.0}
    md, payload = emit_daily("2024-03-01", pos, [STRATEGY, second], {}, out_dir=tmp_path)
    assert payload["strategies"] == [STRATEGY, {**second, "qty": -3}]
    assert json.loads((tmp_path / "blotter.json").read_text())["strategies"][1]["qty"] == -3
    section = md.split("## Options strategies")[1]
    row = "| AAPL | delta_hedged_straddle | 2024-04-19 | +10 | 5,000 | +40.0 | 0.58 | daily / \\|Δ\\| > 0.2 |"
    assert row in section
    # a Markdown table row: 8 cells, the pipes of |Δ| escaped
    assert len(re.split(r"(?<!\\)\|", row)) == 8 + 2
    assert "| MSFT | vertical |" in section and "2 strategies; top 2" in section
    md, _ = emit_daily("2024-03-01", pos, [STRATEGY] * 3, {}, top_n=1)
    assert md.split("## Options strategies")[1].count("| AAPL |") == 1
    with pytest.raises(jsonschema.ValidationError):
        emit_daily("2024-03-01", pos, [{**STRATEGY, "conf": 1.5}], {})
    with pytest.raises(jsonschema.ValidationError):
        emit_daily("2024-03-01", pos, [{k: v for k, v in STRATEGY.items() if k != "expiry"}], {})

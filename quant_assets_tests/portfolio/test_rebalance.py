"""Turnover-aware rebalancing: partial moves toward the aim and a no-trade band cut turnover, never caps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant_assets.backtest import run_backtest
from quant_assets.portfolio import RiskConfig, build, gp_trade_rate
from quant_assets_tests.portfolio.test_build import books


def test_gp_trade_rate_limits():
    assert gp_trade_rate(1.0, 2.0) == pytest.approx(0.5)
    assert gp_trade_rate(5.0, 1e-9) == pytest.approx(1.0, abs=1e-6)
    assert gp_trade_rate(1.0, 100.0) < gp_trade_rate(1.0, 10.0) < gp_trade_rate(1.0, 1.0)
    with pytest.raises(ValueError, match="risk_aversion"):
        gp_trade_rate(0.0, 1.0)
    with pytest.raises(ValueError, match="trade_rate"):
        RiskConfig(trade_rate=0.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.floats(0.05, 1.0), st.sampled_from([0.0, 0.001, 0.01, 0.05]))
def test_turnover_never_above_the_uncapped_rebalance_and_caps_hold(book, rate, band):
    scores, cfg, seed = book
    rng = np.random.default_rng(seed + 2)
    current = build(scores, cfg)["target_weights"]
    nxt = scores.assign(expected_excess_return=rng.permutation(scores["expected_excess_return"].to_numpy()))
    out = build(nxt, {**cfg, "trade_rate": rate, "no_trade_band": band}, current_weights=current)
    free = {**cfg, "turnover_cap": 1e9}
    aim = build(nxt.assign(adv_dollar=1e30), free, current_weights=current)["target_weights"]
    w = out["target_weights"]
    assert ((w - current).abs() <= (aim - current).abs() + 1e-12).all()
    assert out["turnover"] <= float((aim - current).abs().sum()) + 1e-12
    meta = scores.set_index("symbol").reindex(w.index)
    tol = 1e-9
    assert np.abs(w).sum() <= cfg["gross_cap"] + tol and abs(w.sum()) <= cfg["net_cap"] + tol
    assert (np.abs(w) <= cfg["name_cap"] + tol).all()
    assert (w.groupby(meta["sector"]).sum().abs() <= cfg["sector_cap"] + tol).all()
    assert out["turnover"] <= cfg["turnover_cap"] + tol
    assert ((w - current).abs() * cfg["book_size"] <= 0.10 * meta["adv_dollar"] * (1 + 1e-9) + 1e-6).all()


def persistent_edge_market(n_names=20, n_days=250, seed=0):
    """Scores = a slowly decaying true edge (AR(1), phi 0.95) plus daily noise; returns carry the edge."""
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2023-01-02", periods=n_days)
    syms = [f"S{i:02d}" for i in range(n_names)]
    edge = np.zeros((n_days, n_names))
    edge[0] = rng.normal(0, 1e-3, n_names)
    for t in range(1, n_days):
        edge[t] = 0.95 * edge[t - 1] + rng.normal(0, 1e-3 * np.sqrt(1 - 0.95**2), n_names)
    ret = edge + rng.normal(0, 0.015, edge.shape)  # daily edge of 10 bp a day at one sigma
    close = 50 * np.exp(np.cumsum(ret, axis=0))
    prices = pd.DataFrame(
        {
            "date": np.repeat(sessions, n_names),
            "symbol": np.tile(syms, n_days),
            "open": np.vstack([close[:1], close[:-1]]).ravel(),
            "close": close.ravel(),
            "volume": 5e6,
            "split_ratio": 1.0,
            "dividend": 0.0,
            "is_delisting": False,
            "delisting_return": np.nan,
        }
    )
    noisy = edge + rng.normal(0, 1.5e-3, edge.shape)  # the daily score: the edge plus more noise
    return sessions, syms, prices, 5 * noisy


def backtest_turnover(risk: dict, seed: int = 0) -> dict:
    sessions, syms, prices, scores = persistent_edge_market(seed=seed)
    current, rows = pd.Series(dtype=float), []
    for t, d in enumerate(sessions[:-1]):
        s = pd.DataFrame(
            {
                "symbol": syms,
                "expected_excess_return": scores[t],
                "confidence": 1.0,
                "daily_vol": 0.015,
                "adv_dollar": 2.5e8,
            }
        )
        w = build(s, {"net_cap": 0.05, "turnover_cap": 2.0, **risk}, current_weights=current)["target_weights"]
        rows.append(pd.DataFrame({"date": d, "symbol": w.index, "target_w": w.to_numpy()}))
        current = w
    res = run_backtest(pd.concat(rows), prices, None, {"initial_capital": 1e7, "fee_bps": 1.0, "spread_bps": 5.0})
    return res.metrics


def test_partial_rebalancing_cuts_the_backtest_turnover():
    full = backtest_turnover({})
    slow = backtest_turnover({"trade_rate": 0.2, "no_trade_band": 0.002})
    assert slow["turnover_ann"] < 0.5 * full["turnover_ann"]
    assert sum(slow["costs"].values()) < 0.5 * sum(full["costs"].values())

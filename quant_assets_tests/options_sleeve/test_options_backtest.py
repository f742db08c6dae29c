"""Options backtest: daily re-hedging, Greeks attribution summing to the PnL, costs, caps, Go/No-Go figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.options.black_scholes import bs_price
from quant_assets.options.book import BUCKETS, run_options_backtest, sleeve_go_no_go, trial_grid
from quant_assets.options.strategies import StrategyPolicy
from quant_assets_tests.options_sleeve.markets import flat_smile_row

SESSIONS = sessions_in_range("2024-01-02", "2024-03-28")[:40]
EXPIRIES = pd.to_datetime(["2024-02-16", "2024-03-15", "2024-04-19", "2024-06-21"])


def market(names=("AAA", "BBB"), vol=0.3, seed=0, rate=0.02, vol_path=None):
    """Flat-smile surfaces on fixed expiries and lognormal spots over :data:`SESSIONS`."""
    rng = np.random.default_rng(seed)
    rows, spots = [], []
    for n, name in enumerate(names):
        s = 50.0 * (n + 1) * np.exp(np.cumsum(rng.normal(0, vol / np.sqrt(252), len(SESSIONS))))
        for i, d in enumerate(SESSIONS):
            v = vol if vol_path is None else vol_path[i]
            spots.append({"date": d, "underlier": name, "spot": s[i]})
            for e in EXPIRIES[EXPIRIES > d]:
                t = (e - d).days / 365.0
                rows.append(flat_smile_row(d, name, e, t, s[i], rate, v))
    return pd.DataFrame(rows), pd.DataFrame(spots)


def always(bps: float, names=("AAA", "BBB")) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "underlier": n,
                "asof": d,
                "horizon": 10,
                "forecast_iv_change": 0.0,
                "forecast_straddle_pnl_bps": bps,
                "conf": 0.7,
            }
            for d in SESSIONS
            for n in names
        ]
    )


def test_daily_buckets_sum_to_the_pnl_and_the_daily_hedge_leaves_no_delta():
    surfaces, spots = market(vol_path=0.3 + 0.02 * np.sin(np.arange(len(SESSIONS))))
    res = run_options_backtest(surfaces, spots, StrategyPolicy(holding_sessions=7), vol_forecasts=always(-1500))
    d = res.daily
    assert len(res.trades) >= 4 and (res.trades["qty"] < 0).all()
    np.testing.assert_allclose(d[list(BUCKETS)].sum(axis=1), d["total"], atol=1e-8)
    np.testing.assert_allclose(d["delta"], 0.0, atol=1e-8)
    np.testing.assert_allclose(d["net"], d["total"] - d["costs"], atol=1e-8)
    assert (d["costs"] >= 0).all() and d["costs"].sum() > 0
    assert (d.loc[d["sleeve"] == "vol", "vega"].abs() > 0).any()


def test_a_trade_total_is_the_option_value_change_plus_the_hedge_pnl():
    """Independent of the attribution: legs repriced by hand, hedge from bumped prices."""
    surfaces, spots = market(names=("AAA",), seed=3)
    res = run_options_backtest(
        surfaces, spots, StrategyPolicy(holding_sessions=30), vol_forecasts=always(-1500, names=("AAA",))
    )
    t = res.trades.iloc[0]
    assert res.trades.iloc[1]["entry"] >= t["exit"]
    legs = json.loads(t["legs"])
    e, x = SESSIONS.get_loc(t["entry"]), SESSIONS.get_loc(t["exit"])
    s = spots["spot"].to_numpy()

    def value(i, bump=0.0):
        out = 0.0
        for leg in legs:
            tt = (pd.Timestamp(leg["expiry"]) - SESSIONS[i]).days / 365.0
            out += leg["ratio"] * float(bs_price(s[i] + bump, leg["strike"], tt, 0.02, 0.0, 0.3, leg["is_call"]))
        return out

    units = 100.0 * t["qty"]
    h = 1e-4
    hedge = sum(-units * (value(i, h) - value(i, -h)) / (2 * h) * (s[i + 1] - s[i]) for i in range(e, x))
    expected = units * (value(x) - value(e)) + hedge
    vol = res.daily[res.daily["sleeve"] == "vol"].set_index("date")["total"]
    assert vol.loc[SESSIONS[e + 1] : SESSIONS[x]].sum() == pytest.approx(expected, abs=0.01)


def test_the_threshold_rule_hedges_less_often_than_daily():
    surfaces, spots = market(seed=5)
    fc = always(-1500)
    daily = run_options_backtest(surfaces, spots, StrategyPolicy(), vol_forecasts=fc).daily
    thr = run_options_backtest(
        surfaces, spots, StrategyPolicy(rebalance="threshold", delta_threshold=0.3), vol_forecasts=fc
    ).daily
    assert thr["costs"].sum() < daily["costs"].sum()
    assert thr["delta"].abs().sum() > 0
    np.testing.assert_allclose(thr[list(BUCKETS)].sum(axis=1), thr["total"], atol=1e-8)


def test_net_vega_never_exceeds_the_cap_at_entry():
    surfaces, spots = market(names=("AAA", "BBB", "CCC", "DDD"))
    pol = StrategyPolicy(vega_cap=0.03, vega_per_strategy=0.02)
    res = run_options_backtest(surfaces, spots, pol, vol_forecasts=always(-1500, ("AAA", "BBB", "CCC", "DDD")))
    entry_book = res.trades.groupby("entry")["entry_vega"].sum()
    assert len(res.trades) and (entry_book.abs() <= pol.vega_limit + 1e-6).all()
    assert res.daily["net_vega"].abs().max() <= pol.vega_limit * 1.05


def test_spread_sleeve_is_unhedged_and_books_delta():
    surfaces, spots = market()
    sc = pd.DataFrame(
        [
            {"asof": d, "symbol": n, "expected_excess_return": 0.05, "horizon_sessions": 5, "confidence": 0.5}
            for d in SESSIONS
            for n in ("AAA", "BBB")
        ]
    )
    res = run_options_backtest(surfaces, spots, StrategyPolicy(), equity_scores=sc)
    d = res.daily[res.daily["sleeve"] == "spread"]
    assert (res.trades["sleeve"] == "spread").all() and len(res.trades)
    assert d["delta"].abs().sum() > 0
    np.testing.assert_allclose(d[list(BUCKETS)].sum(axis=1), d["total"], atol=1e-8)


def test_go_no_go_figures_and_the_vega_condition():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2023-01-02", periods=300)
    trials = pd.DataFrame(rng.normal(50, 2000, (300, 4)), columns=list("abcd"))
    daily = pd.DataFrame({"date": dates, "net": trials["a"], "net_vega": 1000.0})
    pol = StrategyPolicy()
    g = sleeve_go_no_go(daily, trials, pol)
    assert 0 <= g["pbo"] <= 1 and 0 <= g["dsr"] <= 1 and g["max_drawdown"] >= 0 and g["vega_within_policy"]
    assert g["n_trials"] == 4
    over = sleeve_go_no_go(daily.assign(net_vega=pol.vega_limit * 2), trials, pol)
    assert not over["vega_within_policy"] and not over["passed"] and "net vega" in over["reasons"]
    assert list(trial_grid(pol))[0] == "policy" and len(trial_grid(pol, holds=(5,), dtes=(45,))) == 2

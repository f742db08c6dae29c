"""Backtester: hand-computed sessions (split, dividends, delistings, partial fills, limits, HTB) and determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant_assets.backtest import BacktestConfig, FifoLots, capacity, delisting_return, run_backtest
from quant_assets_tests.backtest.helpers import FRICTIONLESS, SESSIONS, bars, random_bars, targets


def shares_on(res, day: int, symbol: str) -> float:
    pos = res.positions
    hit = pos[(pos["date"] == SESSIONS[day]) & (pos["symbol"] == symbol)]
    return float(hit["shares"].sum())


def test_split_day_scales_shares_keeps_nav_and_basis():
    """100 shares bought at 100 on day 1; a 2-for-1 split on day 2 (open/close 50): 200 shares, NAV 10,000."""
    px = bars("A", [100, 100, 50, 50], split={2: 2.0})
    res = run_backtest(targets([(0, "A", 1.0)]), px, config=FRICTIONLESS)
    assert shares_on(res, 1, "A") == 100
    assert shares_on(res, 2, "A") == 200
    assert shares_on(res, 3, "A") == 200  # the standing target was split too: nothing traded after
    assert res.equity["nav"].tolist() == [10_000.0] * 4
    assert res.positions.query("date == @SESSIONS[2]")["cost_basis"].item() == 10_000.0
    assert len(res.fills) == 1
    ev = res.events.query("event == 'split'")
    assert ev[["symbol", "shares", "amount"]].values.tolist() == [["A", 200.0, 2.0]]


def test_dividend_credited_to_long_debited_to_short_on_ex_date():
    """Long A and short B, 50 shares each at 100; 1.00 dividend ex on day 2, prices drop to 99: NAV unchanged."""
    px = pd.concat([bars(s, [100, 100, 99, 99], dividend={2: 1.0}) for s in ("A", "B")])
    res = run_backtest(targets([(0, "A", 0.5), (0, "B", -0.5)]), px, config=FRICTIONLESS)
    ev = res.events.query("event == 'dividend'").set_index("symbol")
    assert ev.loc["A", "amount"] == 50.0
    assert ev.loc["B", "amount"] == -50.0
    day2 = res.equity.iloc[2]
    assert day2["dividends"] == 0.0
    assert day2["cash"] == pytest.approx(10_000.0 - 5_000 + 5_000 + 50 - 50)
    assert res.equity["nav"].tolist() == pytest.approx([10_000.0] * 4)


def test_dividend_long_only_pays_cash():
    px = bars("A", [100, 100, 98, 98], dividend={2: 2.0})
    res = run_backtest(targets([(0, "A", 1.0)]), px, config=FRICTIONLESS)
    assert res.equity["cash"].iloc[2] == 200.0
    assert res.equity["nav"].iloc[2] == pytest.approx(100 * 98 + 200)


def test_delisting_closes_long_and_short_at_the_delisting_return():
    """Close 50 on the delisting day, δ = -50 %: the long gets 25 a share, the short pays 25."""
    px = pd.concat([bars(s, [100, 100, 50], delisting={2: -0.5}) for s in ("A", "B")])
    res = run_backtest(targets([(0, "A", 0.5), (0, "B", -0.5)]), px, config=FRICTIONLESS)
    ev = res.events.query("event == 'delisting'").set_index("symbol")
    assert ev.loc["A", "shares"] == 50 and ev.loc["A", "amount"] == pytest.approx(50 * (25 - 100))
    assert ev.loc["B", "shares"] == -50 and ev.loc["B", "amount"] == pytest.approx(-50 * (25 - 100))
    last = res.equity.iloc[-1]
    assert last["long_value"] == last["short_value"] == 0.0
    assert last["nav"] == pytest.approx(10_000 - 3_750 + 3_750)
    assert res.positions.query("date == @SESSIONS[2]").empty


def test_delisting_return_recovered_from_curated_returns():
    """k = 1, P_{t-1} = 100, P_t = 50, D = 0, δ = -0.2: r_price = -0.5, r_total = 0.5 * 0.8 - 1 = -0.6."""
    df = pd.DataFrame(
        {
            "is_delisting": [True, False],
            "split_ratio": [1.0, 1.0],
            "close": [50.0, 10.0],
            "ret_price": [-0.5, 0.0],
            "ret_total": [-0.6, 0.0],
            "dividend": [0.0, 0.0],
        }
    )
    out = delisting_return(df)
    assert out[0] == pytest.approx(-0.2) and np.isnan(out[1])


def test_partial_fill_completes_over_three_days():
    """Volume 1,000 a day, cap 10 %: a 250-share order fills 100, 100, 50 on days 1-3."""
    px = bars("A", [100] * 5, volume=1_000)
    res = run_backtest(targets([(0, "A", 2.5)]), px, config={**FRICTIONLESS, "initial_capital": 10_000.0})
    assert res.fills["quantity"].tolist() == [100.0, 100.0, 50.0]
    assert res.fills["date"].tolist() == list(SESSIONS[1:4])
    assert res.orders["requested"].tolist() == [250.0, 150.0, 50.0]
    assert res.orders["unfilled"].tolist() == [150.0, 50.0, 0.0]
    assert [shares_on(res, d, "A") for d in range(1, 5)] == [100, 200, 250, 250]


def test_limit_order_that_never_fills():
    """A buy limited at 90 while the stock trades at 100: resting every session, never filled."""
    px = bars("A", [100] * 5)
    res = run_backtest(targets([(0, "A", 1.0, 90.0)]), px, config=FRICTIONLESS)
    assert res.fills.empty
    assert res.orders["filled"].tolist() == [0.0] * 4
    assert res.orders["type"].unique().tolist() == ["LMT"]
    assert res.equity["nav"].tolist() == [10_000.0] * 5
    assert res.positions.empty


def test_short_refused_on_hard_to_borrow_name():
    px = pd.concat([bars("H", [100] * 3), bars("E", [100] * 3)])
    master = pd.DataFrame({"symbol": ["H", "E"], "htb": [True, False], "borrow_fee_bps": [500.0, 0.0]})
    res = run_backtest(targets([(0, "H", -0.5), (0, "E", -0.5)]), px, master, FRICTIONLESS)
    refused = res.events.query("event == 'refused_htb'")
    assert refused["symbol"].tolist() == ["H"]
    assert refused["amount"].tolist() == [50.0]
    assert set(res.fills["symbol"]) == {"E"}
    assert shares_on(res, 2, "H") == 0 and shares_on(res, 2, "E") == -50


def test_htb_long_may_be_sold_to_flat_but_not_through():
    px = bars("H", [100] * 4)
    master = pd.DataFrame({"symbol": ["H"], "htb": [True], "borrow_fee_bps": [500.0]})
    res = run_backtest(targets([(0, "H", 0.5), (1, "H", -0.5)]), px, master, FRICTIONLESS)
    assert [shares_on(res, d, "H") for d in (1, 2, 3)] == [50, 0, 0]
    assert res.events.query("event == 'refused_htb'")["amount"].tolist() == [50.0]


def test_borrow_fee_accrues_on_calendar_days():
    """Short 50 at 100 with a 360 bp fee: 5,000 x 3.6 % / 360 = 0.50 a calendar day (3 over a weekend)."""
    px = bars("B", [100] * 6)
    master = pd.DataFrame({"symbol": ["B"], "htb": [False], "borrow_fee_bps": [360.0]})
    res = run_backtest(targets([(0, "B", -0.5)]), px, master, FRICTIONLESS)
    assert res.equity["borrow"].tolist() == pytest.approx([0.0, 0.5, 0.5, 0.5, 1.5, 0.5])  # Fri -> Mon: 3 days


def test_fifo_lots_realize_oldest_first_across_a_flip():
    lots = FifoLots()
    lots.trade(-10, 50.0)
    assert lots.trade(15, 40.0) == pytest.approx(100.0)
    assert lots.lots == [[5.0, 40.0]]


def test_latency_delays_trading_by_whole_sessions():
    px = bars("A", [100] * 5)
    res = run_backtest(targets([(0, "A", 1.0)]), px, config={**FRICTIONLESS, "latency_sessions": 2})
    assert res.fills["date"].tolist() == [SESSIONS[3]]


def random_market(n_names: int = 12, n_days: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2023-01-02", periods=n_days)
    syms = [f"S{i:02d}" for i in range(n_names)]
    px = random_bars(rng, sessions, syms)
    w = rng.normal(0, 0.05, (n_days, n_names))
    tg = pd.DataFrame({"date": np.repeat(sessions, n_names), "symbol": np.tile(syms, n_days), "target_w": w.ravel()})
    return px, tg


def test_identical_inputs_give_byte_identical_results():
    px, tg = random_market()
    cfg = {"initial_capital": 1e7, "fee_bps": 1.0, "latency_sessions": 1}
    a, b = run_backtest(tg, px, None, cfg), run_backtest(tg.copy(), px.copy(), None, dict(cfg))
    assert a.run_id == b.run_id
    assert a.report_json() == b.report_json()
    for name in ("equity", "positions", "fills", "orders", "events"):
        assert getattr(a, name).to_csv().encode() == getattr(b, name).to_csv().encode()
    assert (a.fills["quantity"] > 0).all() and a.metrics["costs"]["impact"] > 0
    assert run_backtest(tg, px, None, {**cfg, "fee_bps": 2.0}).run_id != a.run_id
    assert run_backtest(tg.assign(target_w=tg["target_w"] * 0.5), px, None, cfg).run_id != a.run_id


def test_metrics_cost_breakdown_adds_up_and_impact_is_measured():
    px, tg = random_market()
    res = run_backtest(tg, px, None, {"initial_capital": 1e7, "fee_bps": 1.0, "default_borrow_bps": 50.0})
    m = res.metrics
    assert m["gross_pnl"] - sum(m["costs"].values()) == pytest.approx(m["net_pnl"])
    # gross PnL from first principles: trades at the reference price, positions marked at the close
    signed = np.where(res.fills["side"] == "buy", 1.0, -1.0) * res.fills["quantity"]
    last = res.equity.iloc[-1]
    frictionless = -(signed * res.fills["reference_price"]).sum() + last["long_value"] + last["short_value"]
    assert m["gross_pnl"] == pytest.approx(frictionless, rel=1e-9)
    assert m["realized_impact_bps"] == pytest.approx(
        1e4 * res.fills["impact_cost"].sum() / (res.fills["quantity"] * res.fills["reference_price"]).sum()
    )
    assert m["max_drawdown"] <= 0 and m["turnover_ann"] > 0
    assert res.equity["nav"].iloc[-1] == pytest.approx(1e7 + m["net_pnl"])


def test_capacity_where_impact_eats_half_the_gross_edge():
    assert capacity(1e6, 100.0, 10.0) == pytest.approx(1e6 * 25)
    assert capacity(1e6, -1.0, 10.0) == 0.0


def test_bad_inputs_are_named():
    px = bars("A", [100] * 3)
    with pytest.raises(ValueError, match="without prices"):
        run_backtest(targets([(0, "Z", 1.0)]), px, config=FRICTIONLESS)
    with pytest.raises(ValueError, match="order_type"):
        BacktestConfig(order_type="STOP")


def test_frictionless_nav_equals_a_plain_numpy_reference():
    """No costs, no partial fills, no latency: NAV_{t+1} = NAV_t + s_t (o_{t+1} - c_t) + s_{t+1} (c_{t+1} - o_{t+1})."""
    px, tg = random_market(10, 30, seed=7)
    px = px.assign(volume=1e15)
    res = run_backtest(
        tg,
        px,
        None,
        {
            "initial_capital": 1e6,
            "spread_bps": 0.0,
            "impact_y": 0.0,
            "default_borrow_bps": 0.0,
            "max_participation": 1.0,
        },
    )
    o = px.pivot(index="date", columns="symbol", values="open").to_numpy()
    c = px.pivot(index="date", columns="symbol", values="close").to_numpy()
    w = tg.pivot(index="date", columns="symbol", values="target_w").to_numpy()
    nav, held = [1e6], np.zeros(c.shape[1])
    for t in range(len(c) - 1):
        new = w[t] * nav[t] / c[t]
        nav.append(nav[t] + held @ (o[t + 1] - c[t]) + new @ (c[t + 1] - o[t + 1]))
        held = new
    np.testing.assert_allclose(res.equity["nav"].to_numpy(), nav, rtol=1e-10)

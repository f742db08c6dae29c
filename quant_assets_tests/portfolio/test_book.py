"""The daily book step: hand-checked corporate actions, cash reconciliation, and the backtester's NAV path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant_assets.backtest import BacktestConfig, MarketPanel, run_backtest
from quant_assets.portfolio.book import (
    CASH,
    Book,
    advance_session,
    pnl_breaks,
    position_breaks,
    replay_sessions,
    run_sessions,
)
from quant_assets_tests.backtest.helpers import FRICTIONLESS, SESSIONS, bars, random_bars

COSTLY = {"initial_capital": 1e6, "fee_bps": 1.0, "spread_bps": 5.0, "default_borrow_bps": 50.0}


def _market(seed: int = 0, n_names: int = 6, n_days: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2024-01-02", periods=n_days)
    px = random_bars(rng, sessions, [f"S{i}" for i in range(n_names)])
    # a 2-for-1 split of S0 on day 5, a dividend of S1 on day 6, S2 delists on day 8 (delta -30 %)
    at = {(d, s): i for i, (d, s) in enumerate(zip(px["date"], px["symbol"], strict=True))}
    px.loc[at[(sessions[5], "S0")], "split_ratio"] = 2.0
    px.loc[[at[(d, "S0")] for d in sessions[5:]], ["open", "close"]] /= 2.0
    px.loc[at[(sessions[6], "S1")], "dividend"] = 0.5
    px.loc[at[(sessions[8], "S2")], ["is_delisting", "delisting_return"]] = [True, -0.3]
    return px[~((px["symbol"] == "S2") & (px["date"] > sessions[8]))].reset_index(drop=True)


def _weights(px: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return px.loc[:, ["date", "symbol"]].assign(target_w=rng.normal(0, 0.1, len(px)))


def _run_book(px, tg, cfg, book=None):
    """Each session's targets trade from its open, decided at the close before (the blotter convention)."""
    cfg = BacktestConfig.coerce(cfg)
    panel = MarketPanel.build(px, None, cfg)
    book = book or Book.flat(cfg.initial_capital)
    by_date = {d: g.set_index("symbol")["target_w"] for d, g in tg.groupby("date")}
    steps = []
    for i, d in enumerate(panel.sessions):
        step = advance_session(book, panel, i, by_date.get(d) if i > 0 else None, cfg)
        steps.append(step)
        book = step.book
    return steps


def test_daily_book_follows_the_backtester_nav_path_with_costs_and_corporate_actions():
    px = _market()
    tg = _weights(px)
    steps = _run_book(px, tg, COSTLY)
    sessions = pd.DatetimeIndex(sorted(px["date"].unique()))
    decided = tg.assign(date=tg["date"].map(dict(zip(sessions[1:], sessions[:-1], strict=True)))).dropna()
    res = run_backtest(decided, px, None, COSTLY)
    np.testing.assert_allclose([s.pnl["nav"] for s in steps], res.equity["nav"], rtol=1e-12)
    for col in ("fee", "spread", "impact", "borrow", "dividends", "traded_notional"):
        np.testing.assert_allclose([s.pnl[col] for s in steps], res.equity[col], rtol=1e-9, atol=1e-9)
    events = pd.concat([s.events for s in steps if len(s.events)])
    assert {"split", "dividend", "delisting"} <= set(events["event"])


def test_positions_are_yesterday_plus_fills_plus_corporate_actions_and_pnl_reconciles_with_cash():
    px = _market(seed=3)
    steps = _run_book(px, _weights(px, seed=4), COSTLY)
    for prev, step in zip(steps, steps[1:], strict=False):
        before = prev.book.to_positions().set_index("symbol")["shares"].drop(CASH)
        after = step.book.to_positions().set_index("symbol")["shares"].drop(CASH)
        ev = step.events.set_index("symbol")
        expected = before.copy()
        for s, k in ev.loc[ev["event"] == "split", "amount"].items():
            expected[s] *= k
        signed = np.where(step.fills["side"] == "buy", 1.0, -1.0) * step.fills["quantity"]
        expected = expected.add(signed.groupby(step.fills["symbol"]).sum(), fill_value=0.0)
        expected = expected.drop(ev.index[ev["event"] == "delisting"], errors="ignore")
        expected = expected[expected.abs() > 1e-9]
        pd.testing.assert_series_equal(after.sort_index(), expected.sort_index(), check_names=False, rtol=1e-12)
        p = step.pnl
        flows = p["trade_cash_flow"] + p["dividends"] + p["delisting_proceeds"] - p["borrow"]
        assert p["cash"] - p["cash_prev"] == pytest.approx(flows, rel=1e-12, abs=1e-6)
        assert p["nav"] == pytest.approx(step.book.to_positions()["market_value"].sum(), rel=1e-12)
        assert p["net_pnl"] == pytest.approx(p["nav"] - p["nav_prev"])
        assert p["gross_pnl"] - p["fee"] - p["spread"] - p["impact"] - p["borrow"] == pytest.approx(p["net_pnl"])


def test_the_stored_positions_restore_the_book():
    px = _market(seed=5)
    steps = _run_book(px, _weights(px, seed=6), COSTLY)
    cfg = BacktestConfig.coerce(COSTLY)
    panel = MarketPanel.build(px, None, cfg)
    tg = _weights(px, seed=6)
    for i in (3, 6, 9):
        restored = Book.from_positions(steps[i - 1].book.to_positions(), 0.0)
        w = tg[tg["date"] == panel.sessions[i]].set_index("symbol")["target_w"]
        again = advance_session(restored, panel, i, w, cfg)
        assert again.pnl == steps[i].pnl
        pd.testing.assert_frame_equal(again.book.to_positions(), steps[i].book.to_positions())


def test_split_and_dividend_by_hand():
    """Long 100 A at 100; day 2: 2-for-1 split and a 1.00 dividend per new share (ex at the open): 200 shares."""
    px = bars("A", [100, 100, 50, 50], split={2: 2.0}, dividend={2: 1.0})
    cfg = BacktestConfig.coerce(FRICTIONLESS)
    panel = MarketPanel.build(px, None, cfg)
    book = Book.flat(10_000.0)
    book = advance_session(book, panel, 0, None, cfg).book
    book = advance_session(book, panel, 1, pd.Series({"A": 1.0}), cfg).book
    assert book.shares == {"A": 100.0}
    step = advance_session(book, panel, 2, pd.Series({"A": 1.0}), cfg)
    assert step.book.shares == {"A": 200.0} and step.orders.empty  # the target was split too
    assert step.pnl["dividends"] == 100.0 and step.pnl["nav"] == 200 * 50 + 100
    assert step.book.lots["A"].lots == [[200.0, 50.0]]


def test_hard_to_borrow_short_is_refused_and_no_target_holds_the_book():
    px = bars("A", [100, 100, 100])
    cfg = BacktestConfig.coerce(FRICTIONLESS)
    panel = MarketPanel.build(px, pd.DataFrame({"symbol": ["A"], "htb": [True], "borrow_fee_bps": [300.0]}), cfg)
    step = advance_session(Book.flat(10_000.0), panel, 1, pd.Series({"A": -0.5}), cfg)
    assert step.orders.empty and step.events["event"].tolist() == ["refused_htb"]
    held = advance_session(Book.flat(10_000.0), panel, 1, pd.Series({"A": 0.5}), cfg).book
    step = advance_session(held, panel, 2, None, cfg)
    assert step.orders.empty and step.book.shares == {"A": 50.0}
    assert SESSIONS[2] == step.book.date
    with pytest.raises(ValueError, match="not before"):
        advance_session(step.book, panel, 2, None, cfg)


def test_two_windows_equal_one_pass_and_the_records_reconcile():
    px = _market(seed=7)
    tg = _weights(px, seed=8)
    sessions = pd.DatetimeIndex(sorted(px["date"].unique()))
    tg = tg[tg["date"] > sessions[0]]
    one = run_sessions(pd.DataFrame(), tg, px, None, sessions[1:], COSTLY)
    first = run_sessions(pd.DataFrame(), tg, px, None, sessions[1:6], COSTLY)
    second = run_sessions(first["positions"], tg, px, None, sessions[6:], COSTLY)
    assert first["started_flat"] and not second["started_flat"]
    replayed = replay_sessions(one["positions"], tg, px, None, sessions[1:], COSTLY)
    for name in ("orders", "fills", "positions", "pnl"):
        pd.testing.assert_frame_equal(replayed[name], one[name])
    for name in ("orders", "fills", "positions", "pnl"):
        both = pd.concat([first[name], second[name]], ignore_index=True)
        pd.testing.assert_frame_equal(both, one[name], check_dtype=False)
    assert position_breaks(pd.DataFrame(), one["positions"], one["fills"], px).empty
    assert position_breaks(first["positions"], second["positions"], second["fills"], px).empty
    assert pnl_breaks(one["positions"], one["pnl"]).empty
    # a fill left out, a position or a cost changed: each is caught
    assert len(position_breaks(pd.DataFrame(), one["positions"], one["fills"].iloc[1:], px)) >= 1
    bad = one["pnl"].copy()
    bad.loc[3, "fee"] += 1.0
    assert set(pnl_breaks(one["positions"], bad)["what"]) == {"gross - costs = net"}
    bad = one["positions"].copy()
    bad.loc[bad["symbol"] == CASH, "market_value"] += 1.0
    assert "nav = sum(market_value)" in set(pnl_breaks(bad, one["pnl"])["what"])

"""The run's logs agree with each other: fills are the filled orders, costs add up per session, lots reconcile."""

from __future__ import annotations

import numpy as np
import pytest

from quant_assets.backtest import run_backtest
from quant_assets_tests.backtest.test_engine import random_market


@pytest.fixture(scope="module")
def result():
    px, tg = random_market(10, 30, seed=3)
    return run_backtest(tg, px, None, {"initial_capital": 2e7, "fee_bps": 1.0, "vectorized_fills": True})


def test_fills_are_the_filled_orders_in_order(result):
    orders, fills = result.orders, result.fills
    filled = orders[orders["filled"] > 0].reset_index(drop=True)
    assert (orders["unfilled"] > 0).any()  # partial fills happen
    for o, f in (
        ("date", "date"),
        ("order_id", "order_id"),
        ("symbol", "symbol"),
        ("side", "side"),
        ("filled", "quantity"),
        ("date", "bar_time"),
    ):
        assert filled[o].tolist() == fills[f].tolist()
    np.testing.assert_allclose(filled["filled_notional"], fills["quantity"] * fills["reference_price"], rtol=1e-12)


def test_session_costs_are_the_sums_of_the_fills(result):
    by_day = result.fills.groupby("date")[["fee", "spread_cost", "impact_cost"]].sum()
    eq = result.equity.set_index("date").loc[by_day.index]
    for f, e in (("fee", "fee"), ("spread_cost", "spread"), ("impact_cost", "impact")):
        np.testing.assert_allclose(eq[e], by_day[f], rtol=1e-9)


def test_cost_basis_is_what_was_paid_less_what_was_realized(result):
    """Per name at the end: cost basis of the open lots = sum of signed fill notionals + realized PnL.

    A close of ``c`` shares against a lot at ``p_lot`` at price ``p`` realizes ``c (p - p_lot)`` and takes
    ``c p_lot = c p - realized`` out of the basis; opening trades add ``q p``.
    """
    f = result.fills.assign(q=lambda d: np.where(d["side"] == "buy", 1.0, -1.0) * d["quantity"])
    paid = (f["q"] * f["price"]).groupby(f["symbol"]).sum() + f.groupby("symbol")["realized_pnl"].sum()
    last = result.positions[result.positions["date"] == result.positions["date"].max()].set_index("symbol")
    basis = last["cost_basis"].reindex(paid.index, fill_value=0.0)
    np.testing.assert_allclose(basis, paid, rtol=1e-9, atol=1e-6)
    assert (f["realized_pnl"] != 0).any()

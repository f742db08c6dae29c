"""The session rules shared by the backtester and the daily book: properties and hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant_assets.backtest.step import (
    borrow_accrual,
    delisting_values,
    dividend_cash,
    limit_prices,
    realized_impact,
    refuse_shorts,
    target_shares,
)
from quant_assets.execution import CostModel

_size = st.floats(-1e4, 1e4, allow_nan=False)


@given(st.lists(st.tuples(_size, _size, st.booleans()), min_size=1, max_size=20), st.floats(0, 1))
def test_refused_sales_never_open_a_forbidden_short(rows, min_trade):
    qty, held, may_short = (np.array(c) for c in zip(*rows, strict=True))
    cut = refuse_shorts(qty, held, may_short, min_trade)
    after = held + cut.qty
    # a name that may not be shorted ends no shorter than min(held, 0) (within the tolerance), and only sales are cut
    assert np.all(may_short | (after >= np.minimum(held, 0.0) - min_trade - 1e-9))
    np.testing.assert_array_equal(cut.qty[~cut.refused], qty[~cut.refused])
    assert not np.any(cut.refused & (may_short | (qty >= 0)))
    assert np.all(cut.keep | cut.refused)


def test_refuse_shorts_by_hand():
    # long 30 selling 100 (not shortable): sells 30; flat selling 10: dropped; shortable: untouched; buy: untouched
    cut = refuse_shorts(
        np.array([-100.0, -10.0, -50.0, 20.0]),
        np.array([30.0, 0.0, 0.0, -5.0]),
        np.array([False, False, True, False]),
        1e-6,
    )
    np.testing.assert_array_equal(cut.qty, [-30.0, 0.0, -50.0, 20.0])
    np.testing.assert_array_equal(cut.refused, [True, True, False, False])
    np.testing.assert_array_equal(cut.keep, [True, False, True, True])


def test_dividends_borrow_limits_and_delistings_by_hand():
    paid, amount = dividend_cash(np.array([100.0, -50.0, 0.0, 10.0]), np.array([0.5, 0.5, 0.5, 0.0]))
    assert paid.tolist() == [0, 1] and amount.tolist() == [50.0, -25.0]
    # 1,000,000 short at 360 bps for 3 days, actual/360: 1e6 * 0.036 * 3 / 360 = 300
    assert borrow_accrual(np.array([6e5, 4e5]), np.array([360.0, 360.0]), 3, CostModel()) == pytest.approx(300.0)
    np.testing.assert_allclose(limit_prices(np.array([100.0, 100.0]), np.array([True, False]), 10.0), [99.9, 100.1])
    np.testing.assert_allclose(delisting_values(np.array([20.0]), np.array([-0.3])), [14.0])
    # bought 100 at 10.05 against 10.00 with 2.00 of half-spread: 3.00 of impact; sold 100 at 9.95: the same
    np.testing.assert_allclose(
        realized_impact(np.array([1.0, -1.0]), np.array([10.05, 9.95]), 10.0, 100.0, 2.0), [3.0, 3.0]
    )
    # 10 % of 1,000,000 at 50.00: 2,000 shares; no close, no shares
    np.testing.assert_array_equal(target_shares(np.array([0.1, 0.1]), 1e6, np.array([50.0, np.nan]))[:1], [2000.0])
    assert np.isnan(target_shares(np.array([0.1]), 1e6, np.array([np.nan]))[0])

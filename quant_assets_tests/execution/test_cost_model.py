"""Cost model: fees, half-spread, square-root impact, borrow, participation cap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.execution import (
    CostModel,
    allocate_with_carry,
    allocate_with_carry_reference,
)


def test_components_by_hand():
    """10,000 shares at $50, 2 cents spread, 1 % of ADV, 2 % daily vol, Y = 1:
    fee 0.5¢/share + 1 bp -> $50 + $50; half spread $100; impact 20 bps of $500k = $1,000."""
    cm = CostModel(fee_per_share=0.005, fee_bps=1.0)
    c = cm.costs(10_000, price=50.0, spread=0.02, adv=1_000_000, daily_vol=0.02)
    assert c.fee == pytest.approx(100.0)
    assert c.spread == pytest.approx(100.0)
    assert c.impact == pytest.approx(1_000.0)
    assert c.total == pytest.approx(1_200.0)
    # Sells cost the same as buys.
    s = cm.costs(-10_000, price=50.0, spread=0.02, adv=1_000_000, daily_vol=0.02)
    assert (s.fee, s.spread, s.impact) == pytest.approx((c.fee, c.spread, c.impact))


def test_borrow_cost():
    """$1M short for 30 days at 50 bps a year on actual/360: 1e6 · 0.005 · 30/360 = $416.67."""
    cm = CostModel(borrow_bps=50.0)
    assert cm.borrow_cost(1e6, 30) == pytest.approx(1e6 * 0.005 * 30 / 360)
    assert CostModel(borrow_bps=50.0, days_per_year=365).borrow_cost(1e6, 365) == pytest.approx(5_000.0)
    np.testing.assert_allclose(cm.borrow_cost([1e6, 2e6], 30), [416.6666667, 833.3333333])
    with pytest.raises(ValueError, match="short_notional"):
        cm.borrow_cost(-1.0, 30)
    with pytest.raises(ValueError, match="days"):
        cm.borrow_cost(1.0, -3)


def test_participation_cap_default_ten_percent():
    cm = CostModel()
    assert cm.max_participation == 0.10
    assert cm.participation_cap(5e6) == pytest.approx(5e5)


def test_allocate_partial_fill_carries_over():
    cm = CostModel(max_participation=0.1)
    fills, left = cm.allocate(250.0, [1000.0, 1000.0, 1000.0])
    np.testing.assert_allclose(fills, [100.0, 100.0, 50.0])
    assert left == 0.0
    fills, left = cm.allocate(500.0, [1000.0, 500.0])
    np.testing.assert_allclose(fills, [100.0, 50.0])
    assert left == pytest.approx(350.0)
    fills, left = cm.allocate(150.0, [1000.0, 1000.0, 1000.0], schedule=[50.0, 100.0, 0.0])
    np.testing.assert_allclose(fills, [50.0, 100.0, 0.0])


@settings(max_examples=200, deadline=None)
@given(data=st.lists(st.tuples(st.floats(0, 1e6), st.floats(0, 1e6)), min_size=1, max_size=40))
def test_vectorized_allocation_matches_reference_loop(data):
    """Running-minimum closed form vs the plain carry-over loop; caps respected; no overfill."""
    targets = np.array([t for t, _ in data])
    caps = np.array([c for _, c in data])
    fast = allocate_with_carry(targets, caps)
    ref = allocate_with_carry_reference(targets, caps)
    scale = max(targets.sum(), caps.sum(), 1.0)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-9 * scale)
    assert np.all(fast <= caps) and np.all(fast >= 0)
    assert fast.sum() <= targets.sum() + 1e-9 * scale
    # Cumulative fills never run ahead of the cumulative target.
    assert np.all(np.cumsum(fast) <= np.cumsum(targets) + 1e-9 * scale)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fee_per_share": -0.01}, "fee_per_share"),
        ({"fee_bps": float("nan")}, "fee_bps"),
        ({"impact_y": -1.0}, "impact_y"),
        ({"borrow_bps": -5.0}, "borrow_bps"),
        ({"max_participation": 0.0}, "max_participation"),
        ({"max_participation": 1.5}, "max_participation"),
        ({"days_per_year": 0.0}, "days_per_year"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CostModel(**kwargs)


def test_bad_trade_input():
    cm = CostModel()
    with pytest.raises(ValueError, match="price"):
        cm.costs(100, price=0.0, spread=0.01, adv=1e6, daily_vol=0.02)
    with pytest.raises(ValueError, match="spread"):
        cm.costs(100, price=10.0, spread=-0.01, adv=1e6, daily_vol=0.02)
    with pytest.raises(ValueError, match="adv"):
        cm.costs(100, price=10.0, spread=0.01, adv=0.0, daily_vol=0.02)
    with pytest.raises(ValueError, match="quantity"):
        cm.costs(float("nan"), price=10.0, spread=0.01, adv=1e6, daily_vol=0.02)
    with pytest.raises(ValueError, match="volume"):
        cm.allocate(10.0, [-1.0])
    with pytest.raises(ValueError, match="schedule sums"):
        cm.allocate(10.0, [100.0, 100.0], schedule=[1.0, 1.0])
    with pytest.raises(ValueError, match="schedule has shape"):
        cm.allocate(10.0, [100.0, 100.0], schedule=[10.0])

"""Square-root impact law I = Y σ sqrt(Q / ADV) (Tóth et al. 2011, Phys. Rev. X 1, 021006)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.execution import DEFAULT_IMPACT_Y, square_root_impact


def test_textbook_value():
    """Trading 1 % of ADV in a stock with 2 % daily volatility costs Y·0.02·0.1 = 20 bps at
    Y = 1 (the order-of-magnitude example of Bouchaud et al. 2018, ch. 12)."""
    assert square_root_impact(10_000, 1_000_000, 0.02, y=1.0) == pytest.approx(0.002, rel=1e-14)
    assert DEFAULT_IMPACT_Y == 1.0
    assert square_root_impact(10_000, 1_000_000, 0.02) == pytest.approx(0.002, rel=1e-14)


def test_scaling_laws():
    """Quadrupling Q doubles impact; impact is linear in σ and in Y; zero for Q = 0."""
    base = square_root_impact(1e4, 1e6, 0.02)
    assert square_root_impact(4e4, 1e6, 0.02) == pytest.approx(2 * base)
    assert square_root_impact(1e4, 1e6, 0.04) == pytest.approx(2 * base)
    assert square_root_impact(1e4, 1e6, 0.02, y=0.5) == pytest.approx(0.5 * base)
    assert square_root_impact(0.0, 1e6, 0.02) == 0.0


def test_broadcasting():
    q = np.array([[1e3], [1e4], [1e5]])
    adv = np.array([1e6, 2e6])
    out = square_root_impact(q, adv, 0.02)
    assert out.shape == (3, 2)
    assert out[1, 1] == pytest.approx(0.02 * math.sqrt(1e4 / 2e6))
    assert isinstance(square_root_impact(1e3, 1e6, 0.02), float)


@settings(max_examples=50, deadline=None)
@given(
    q=st.floats(0, 1e8),
    adv=st.floats(1.0, 1e9),
    vol=st.floats(0, 0.2),
    y=st.floats(0, 2),
)
def test_matches_scalar_formula(q, adv, vol, y):
    assert square_root_impact(q, adv, vol, y=y) == pytest.approx(y * vol * math.sqrt(q / adv))


@pytest.mark.parametrize(
    "args, match",
    [
        ((-1.0, 1e6, 0.02), "quantity"),
        ((1.0, 0.0, 0.02), "adv"),
        ((1.0, -1e6, 0.02), "adv"),
        ((1.0, 1e6, -0.02), "daily_vol"),
        ((float("nan"), 1e6, 0.02), "quantity"),
        ((1.0, float("nan"), 0.02), "adv"),
        ((1.0, 1e6, float("inf")), "daily_vol"),
        (([1.0, 2.0], [1e6, 1e6, 1e6], 0.02), "broadcast"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        square_root_impact(*args)


def test_bad_y():
    with pytest.raises(ValueError, match="y"):
        square_root_impact(1.0, 1e6, 0.02, y=-1.0)
    with pytest.raises(TypeError, match="quantity"):
        square_root_impact("a lot", 1e6, 0.02)

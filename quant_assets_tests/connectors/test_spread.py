"""The Corwin-Schultz spread estimate given to bars that carry no quote (Alpaca)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.calendars import sessions_in_range
from quant_assets.connectors.spread import TICK, corwin_schultz, with_estimated_spread

SESSIONS = sessions_in_range("2023-12-01", "2024-02-29")
prices = st.floats(1.0, 5_000.0)
fractions = st.floats(1e-4, 0.2)


@settings(max_examples=200, deadline=None)
@given(mid=prices, rel=fractions, where=st.floats(0.0, 1.0))
def test_bid_ask_bounce_alone_is_recovered_exactly(mid, rel, where):
    """Both sessions trade only at bid and ask (no volatility): S = (ask - bid) / mid (their eq. 14 with sigma 0)."""
    bid, ask = mid * (1 - rel / 2), mid * (1 + rel / 2)
    close = bid + where * (ask - bid)
    assert corwin_schultz(ask, bid, ask, bid, close)[0] == pytest.approx(rel, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(h=prices, r1=fractions, r2=fractions, r3=fractions, c=st.floats(0.01, 100.0), pos=st.floats(0.0, 1.0))
def test_relative_estimate_is_non_negative_and_scale_free(h, r1, r2, r3, c, pos):
    lo, ph = h * (1 - r1), h * (1 + r3 - r2)
    pl = ph * (1 - r2)
    pc = pl + pos * (ph - pl)
    s = corwin_schultz(h, lo, ph, pl, pc)[0]
    assert s >= 0.0 and np.isfinite(s)
    assert corwin_schultz(c * h, c * lo, c * ph, c * pl, c * pc)[0] == pytest.approx(s, abs=1e-9)


def _bars(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "symbol", "high", "low", "close"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_bars_pair_with_the_previous_session_only_and_never_get_a_zero_spread():
    bars = _bars(
        [
            ("2024-01-02", "AAA", 101.0, 99.0, 100.0),
            ("2024-01-03", "AAA", 101.0, 99.0, 100.0),  # bounce only: 2% of 100
            ("2024-01-05", "AAA", 101.0, 99.0, 100.0),  # 01-04 missing: no pair, one cent
            ("2024-01-03", "BBB", 10.0, 10.0, 10.0),  # listing day: one cent
            ("2024-01-04", "BBB", 10.0, 10.0, 10.0),  # flat: estimate 0, floored at one cent
        ]
    )
    spread = with_estimated_spread(bars, SESSIONS)
    assert spread.tolist() == pytest.approx([TICK, 2.0, TICK, TICK, TICK])
    assert (spread <= bars["high"]).all()


def test_a_bars_estimate_does_not_depend_on_the_window_that_fetched_it():
    rng = np.random.default_rng(7)
    days = SESSIONS[5:25]
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
    rows = [
        (d, "AAA", c * (1 + rng.uniform(0.001, 0.03)), c * (1 - rng.uniform(0.001, 0.03)), c)
        for d, c in zip(days, close)
    ]
    whole = with_estimated_spread(_bars(rows), SESSIONS)
    tail = with_estimated_spread(_bars(rows[9:]), SESSIONS)  # fetched from the session before the 11th
    assert tail.to_numpy()[1:] == pytest.approx(whole.to_numpy()[10:], rel=1e-12)
    assert (whole > TICK).any()


def test_missing_inputs_give_nan_not_zero():
    s = corwin_schultz([101.0, np.nan], [99.0, 99.0], [101.0, 101.0], [99.0, 99.0], [100.0, 100.0])
    assert s[0] > 0 and np.isnan(s[1])

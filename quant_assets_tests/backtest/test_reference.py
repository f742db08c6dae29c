"""With costs, partial fills and latency off, the engine's NAV is the plain vectorized reference's to 1e-10."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.backtest import run_backtest
from quant_assets.backtest.reference import frictionless_nav
from quant_assets_tests.backtest.test_engine import random_market

OFF = {"spread_bps": 0.0, "impact_y": 0.0, "default_borrow_bps": 0.0, "max_participation": 1.0, "fee_bps": 0.0}


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 12), st.integers(2, 40), st.integers(0, 2**16), st.sampled_from([1e4, 1e6, 1e9]))
def test_frictionless_engine_equals_the_vectorized_reference(n_names, n_days, seed, capital):
    px, tg = random_market(n_names, n_days, seed)
    px = px.assign(volume=1e15)  # no participation limit binds: no partial fills
    res = run_backtest(tg, px, None, {**OFF, "initial_capital": capital})
    wide = {
        c: f.pivot(index="date", columns="symbol", values=c).to_numpy()
        for c, f in (("open", px), ("close", px), ("target_w", tg))
    }
    ref = frictionless_nav(wide["open"], wide["close"], wide["target_w"], capital)
    np.testing.assert_allclose(res.equity["nav"].to_numpy(), ref, rtol=1e-10)

"""simulate_session, the vectorized one-session fast path, equals simulate on the same orders and bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.execution import CostModel, simulate, simulate_session


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**16), st.floats(0.0, 2.0), st.floats(0.0, 20.0))
def test_simulate_session_equals_simulate(n, seed, impact_y, fee_bps):
    rng = np.random.default_rng(seed)
    price = rng.uniform(5, 200, n)
    side = np.where(rng.uniform(size=n) < 0.5, "buy", "sell")
    lmt = rng.uniform(size=n) < 0.4
    limit = np.where(lmt, price * (1 + np.where(side == "buy", 1, -1) * rng.uniform(-0.01, 0.02, n)), np.nan)
    t = pd.Timestamp("2024-01-02")
    syms = [f"S{i}" for i in range(n)]
    orders = pd.DataFrame(
        {
            "order_id": syms,
            "symbol": syms,
            "side": side,
            "quantity": rng.uniform(1, 5e4, n),
            "type": np.where(lmt, "LMT", "MKT"),
            "limit_price": limit,
            "submit_time": t,
        }
    )
    md = pd.DataFrame(
        {
            "bar_time": t,
            "symbol": syms,
            "price": price,
            "spread": price * rng.uniform(0, 0.002, n),
            "volume": rng.choice([0.0, 1e4, 1e6], n),
            "adv": rng.uniform(1e4, 1e6, n),
            "volatility": rng.uniform(0, 0.05, n),
        }
    )
    cm = CostModel(fee_bps=fee_bps, impact_y=impact_y)
    fa, ra = simulate(orders, cm, md)
    fb, rb = simulate_session(orders, cm, md)
    cols = ["quantity", "price", "reference_price", "fee", "spread_cost", "impact_cost"]
    assert fa["order_id"].tolist() == fb["order_id"].tolist()
    np.testing.assert_allclose(fa[cols].to_numpy(float), fb[cols].to_numpy(float), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(ra["filled"].to_numpy(), rb["filled"].to_numpy(), rtol=1e-12, atol=1e-9)

"""The backtest with the vectorized one-session fills (execution.simulate_session) equals the simulate path."""

from __future__ import annotations

import numpy as np
import pytest

from quant_assets.backtest import run_backtest
from quant_assets_tests.backtest.test_engine import random_market


def test_backtest_with_vectorized_fills_equals_the_simulate_path():
    px, tg = random_market(8, 25, seed=4)
    cfg = {"initial_capital": 5e7, "fee_bps": 1.0}
    a = run_backtest(tg, px, None, cfg)
    b = run_backtest(tg, px, None, {**cfg, "vectorized_fills": True})
    assert (a.fills["quantity"] < a.orders["requested"].max()).any()  # partial fills happen
    np.testing.assert_allclose(a.equity["nav"], b.equity["nav"], rtol=1e-12)
    assert a.metrics["net_sharpe"] == pytest.approx(b.metrics["net_sharpe"], rel=1e-9)

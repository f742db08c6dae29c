"""``simulate_session``: one session's fills for one order per name, vectorized over names.

:func:`~quant_assets.execution.simulate` over a single bar, specialised: with one bar there is
no schedule and no carry inside the call, so each order fills ``min(q, cap)`` with ``cap`` the
participation cap (and, for LMT, the simulator's own largest child within the limit), at
``P ± (s/2 + P Y σ sqrt(fill / ADV))`` with :class:`~quant_assets.execution.CostModel` costs.
It reuses the simulator's limit rule and fill columns rather than restating them, and is tested
to give the same fills and costs as ``simulate``
(``quant_assets_tests/execution/test_simulate_session.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.execution.cost_model import CostModel
from quant_assets.execution.impact import square_root_impact
from quant_assets.execution.simulator import FILL_COLUMNS, _Bars, _limit_caps

__all__ = ["simulate_session"]


def simulate_session(orders: pd.DataFrame, cost_model: CostModel, market_data: pd.DataFrame):
    """``(fills, report)`` like :func:`~quant_assets.execution.simulate` for one bar and one order per name.

    ``orders`` and ``market_data`` are aligned row by row (same symbols, same order); the
    report carries ``order_id, symbol, side, type, limit_price, requested, filled, unfilled``.
    No input validation beyond ``simulate``'s column names: the caller builds both frames.
    """
    qty = orders["quantity"].to_numpy(np.float64)
    buy = orders["side"].to_numpy() == "buy"
    lmt = orders["type"].to_numpy() == "LMT"
    limit = orders["limit_price"].to_numpy(np.float64)
    price = market_data["price"].to_numpy(np.float64)
    spread = market_data["spread"].to_numpy(np.float64)
    adv = market_data["adv"].to_numpy(np.float64)
    vol = market_data["volatility"].to_numpy(np.float64)
    cap = np.asarray(cost_model.participation_cap(market_data["volume"].to_numpy(np.float64)), dtype=np.float64)
    for side, mask in (("buy", lmt & buy), ("sell", lmt & ~buy)):
        if mask.any():  # the simulator's limit rule is elementwise: one call per side
            bars = _Bars(
                pd.Index(np.flatnonzero(mask)),
                price[mask],
                spread[mask],
                np.zeros(mask.sum()),
                adv[mask],
                vol[mask],
                1.0,
            )
            cap[mask] = np.minimum(cap[mask], _limit_caps(side, limit[mask], bars, slice(None), cost_model.impact_y))
    fill = np.clip(np.minimum(qty, cap), 0.0, None)
    sign = np.where(buy, 1.0, -1.0)
    frac = np.asarray(square_root_impact(fill, adv, vol, y=cost_model.impact_y), dtype=np.float64)
    fill_price = price + sign * (0.5 * spread + price * frac)
    with np.errstate(invalid="ignore"):
        fill = np.where(lmt & (sign * (fill_price - limit) > 0), 0.0, fill)
    hit = fill > 0
    costs = cost_model.costs(fill[hit], price[hit], spread[hit], adv[hit], vol[hit])
    fills = pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy()[hit],
            "symbol": orders["symbol"].to_numpy()[hit],
            "side": orders["side"].to_numpy()[hit],
            "bar_time": market_data["bar_time"].to_numpy()[hit],
            "quantity": fill[hit],
            "price": fill_price[hit],
            "reference_price": price[hit],
            "fee": np.atleast_1d(costs.fee),
            "spread_cost": np.atleast_1d(costs.spread),
            "impact_cost": np.atleast_1d(costs.impact),
        },
        columns=list(FILL_COLUMNS),
    )
    report = orders.loc[:, ["order_id", "symbol", "side", "type", "limit_price"]].assign(
        requested=qty, filled=fill, unfilled=np.maximum(qty - fill, 0.0)
    )
    return fills, report.reset_index(drop=True)

"""``simulate_session``: one session's fills for one order per name, vectorized over names.

:func:`~quant_assets.execution.simulate` over a single bar, specialised: with one bar there is
no schedule and no carry inside the call, so each order fills ``min(q, cap)`` with ``cap`` the
participation cap (and, for LMT, the simulator's own largest child within the limit), at
``P ± (s/2 + P Y σ sqrt(fill / ADV))`` with :class:`~quant_assets.execution.CostModel` costs.
It reuses the simulator's limit rule and fill columns rather than restating them, and is tested
to give the same fills and costs as ``simulate``
(``quant_assets_tests/execution/test_simulate_session.py``).

:func:`session_fills` is the same computation on plain arrays (what the backtester calls once
per session); :func:`simulate_session` wraps it in ``simulate``'s frames.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.execution.cost_model import CostModel
from quant_assets.execution.impact import square_root_impact
from quant_assets.execution.simulator import FILL_COLUMNS, _Bars, _limit_caps

__all__ = ["SessionFills", "session_fills", "simulate_session"]


class SessionFills(NamedTuple):
    """Per order (aligned with the inputs): shares filled (0 when nothing fills) and the fill price."""

    filled: NDArray[np.float64]
    price: NDArray[np.float64]


def session_fills(
    quantity: NDArray[np.float64],
    buy: NDArray[np.bool_],
    lmt: NDArray[np.bool_],
    limit: NDArray[np.float64],
    price: NDArray[np.float64],
    spread: NDArray[np.float64],
    volume: NDArray[np.float64],
    adv: NDArray[np.float64],
    vol: NDArray[np.float64],
    cost_model: CostModel,
) -> SessionFills:
    """Fills of one order per name in one bar, on aligned 1-d arrays (see the module docstring).

    ``quantity`` is unsigned (``buy`` gives the side), ``limit`` NaN on MKT orders; ``price``,
    ``spread``, ``volume``, ``adv`` and ``vol`` (daily volatility) are the bar's. No validation
    beyond the cost model's own: the caller builds the arrays. The fills' costs are
    ``cost_model.costs(filled, price, spread, adv, vol)`` (bar price, not fill price), left to
    the caller so that it can price many sessions' fills in one call.
    """
    cap = np.asarray(cost_model.participation_cap(volume), dtype=np.float64)
    cap = np.array(cap, ndmin=1)  # a private copy: the limit caps are written into it
    if lmt.any():
        for side, mask in (("buy", lmt & buy), ("sell", lmt & ~buy)):
            if mask.any():  # the simulator's limit rule is elementwise: one call per side
                bars = _Bars(
                    pd.RangeIndex(int(mask.sum())),
                    price[mask],
                    spread[mask],
                    np.zeros(mask.sum()),
                    adv[mask],
                    vol[mask],
                    1.0,
                )
                capped = _limit_caps(side, limit[mask], bars, slice(None), cost_model.impact_y)
                cap[mask] = np.minimum(cap[mask], capped)
    fill = np.clip(np.minimum(quantity, cap), 0.0, None)
    sign = np.where(buy, 1.0, -1.0)
    frac = np.asarray(square_root_impact(fill, adv, vol, y=cost_model.impact_y), dtype=np.float64)
    fill_price = price + sign * (0.5 * spread + price * frac)
    if lmt.any():
        with np.errstate(invalid="ignore"):
            fill = np.where(lmt & (sign * (fill_price - limit) > 0), 0.0, fill)
    return SessionFills(fill, fill_price)


def simulate_session(orders: pd.DataFrame, cost_model: CostModel, market_data: pd.DataFrame):
    """``(fills, report)`` like :func:`~quant_assets.execution.simulate` for one bar and one order per name.

    ``orders`` and ``market_data`` are aligned row by row (same symbols, same order); the
    report carries ``order_id, symbol, side, type, limit_price, requested, filled, unfilled``.
    No input validation beyond ``simulate``'s column names: the caller builds both frames.
    """
    qty = orders["quantity"].to_numpy(np.float64)
    price, spread = market_data["price"].to_numpy(np.float64), market_data["spread"].to_numpy(np.float64)
    adv, vol = market_data["adv"].to_numpy(np.float64), market_data["volatility"].to_numpy(np.float64)
    out = session_fills(
        qty,
        orders["side"].to_numpy() == "buy",
        orders["type"].to_numpy() == "LMT",
        orders["limit_price"].to_numpy(np.float64),
        price,
        spread,
        market_data["volume"].to_numpy(np.float64),
        adv,
        vol,
        cost_model,
    )
    hit = out.filled > 0
    costs = cost_model.costs(out.filled[hit], price[hit], spread[hit], adv[hit], vol[hit])
    fills = pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy()[hit],
            "symbol": orders["symbol"].to_numpy()[hit],
            "side": orders["side"].to_numpy()[hit],
            "bar_time": market_data["bar_time"].to_numpy()[hit],
            "quantity": out.filled[hit],
            "price": out.price[hit],
            "reference_price": price[hit],
            "fee": np.atleast_1d(costs.fee),
            "spread_cost": np.atleast_1d(costs.spread),
            "impact_cost": np.atleast_1d(costs.impact),
        },
        columns=list(FILL_COLUMNS),
    )
    report = orders.loc[:, ["order_id", "symbol", "side", "type", "limit_price"]].assign(
        requested=qty, filled=out.filled, unfilled=np.maximum(qty - out.filled, 0.0)
    )
    return fills, report.reset_index(drop=True)

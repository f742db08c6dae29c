"""The rules of one trading session, as array functions shared by the backtester and the daily paper book.

:mod:`quant_assets.backtest.engine` (the whole window at once) and
:func:`quant_assets.portfolio.book.advance_session` (one stored session at a time) both apply
these to the names of a session, so a rule has one implementation:

- :func:`dividend_cash`: cash dividends going ex, per pre-ex share, credited to longs and
  debited to shorts;
- :func:`target_shares`: a target weight becomes ``w NAV / close`` shares;
- :func:`refuse_shorts`: the part of a sale that would open or increase a forbidden short
  (shorting off, or a hard-to-borrow name) is refused;
- :func:`limit_prices`: the default limit of an LMT order, ``limit_offset_bps`` through the
  reference price on the order's side;
- :func:`session_market` and :func:`simulator_inputs`: what an order meets at the open (the
  open as arrival price, the configured half-spread, the session's volume for the
  participation cap, trailing ADV and volatility), as arrays or as the frames of
  :func:`~quant_assets.execution.simulate`;
- :func:`realized_impact`: what a fill paid over its reference price beyond the half-spread;
- :func:`delisting_values`: a delisting closes the name at ``close (1 + δ)``;
- :func:`borrow_accrual`: borrow on short notional over the calendar days since the previous
  close at each name's fee (actual/``days_per_year``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.backtest.market import MarketPanel
from quant_assets.execution import CostModel

__all__ = [
    "OrderMarket",
    "ShortCut",
    "borrow_accrual",
    "delisting_values",
    "dividend_cash",
    "limit_prices",
    "realized_impact",
    "refuse_shorts",
    "session_market",
    "simulator_inputs",
    "target_shares",
]


def target_shares(weight: NDArray[np.float64], nav: float, close: NDArray[np.float64]) -> NDArray[np.float64]:
    """Shares of target weights ``weight`` (fractions of ``nav``) at ``close`` (NaN where the close is missing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return weight * nav / close


def dividend_cash(shares: NDArray[np.float64], dividend: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray]:
    """Positions paid a dividend and the cash each receives (``< 0`` for shorts).

    Returns ``(paid, amount)``: indices into ``shares`` of the held names with a dividend
    ``> 0`` and ``shares[paid] x dividend[paid]``.
    """
    paid = np.flatnonzero((shares != 0) & (dividend > 0))
    return paid, shares[paid] * dividend[paid]


class ShortCut(NamedTuple):
    """Orders after :func:`refuse_shorts`: signed ``qty``, which were cut, what could be sold, which remain."""

    qty: NDArray[np.float64]
    refused: NDArray[np.bool_]
    allowed: NDArray[np.float64]
    keep: NDArray[np.bool_]


def refuse_shorts(
    qty: NDArray[np.float64], held: NDArray[np.float64], may_short: NDArray[np.bool_], min_trade_shares: float
) -> ShortCut:
    """Cut sales to what may be sold without a forbidden short.

    Parameters
    ----------
    qty : ndarray
        Signed order sizes (shares, ``< 0`` sells).
    held : ndarray
        Positions before the orders.
    may_short : ndarray of bool
        Names that may be shorted (shorting on and not hard to borrow): their sales are not cut.
    min_trade_shares : float
        Sales within this of what is allowed are not cut; a cut order left this small is dropped.

    Returns
    -------
    ShortCut
        ``qty`` with refused sales cut to ``-allowed`` (``allowed``: the long position, or
        ``inf`` where shorting is free), the mask of refused orders (the refused part is
        ``-qty - allowed``) and ``keep``, the orders still sent.
    """
    allowed = np.where(may_short, np.inf, np.maximum(held, 0.0))
    refused = (qty < 0) & (-qty > allowed + min_trade_shares)
    cut = np.where(refused, -allowed, qty)
    return ShortCut(cut, refused, allowed, ~(refused & (allowed <= min_trade_shares)))


def limit_prices(reference: NDArray[np.float64], buy: NDArray[np.bool_], offset_bps: float) -> NDArray[np.float64]:
    """Default limit prices: ``reference (1 -/+ offset)`` for buys / sells (the limit sits through the price)."""
    side = np.where(buy, 1.0, -1.0)
    return reference * (1.0 - side * offset_bps * 1e-4)


def realized_impact(
    sign: NDArray[np.float64], price: NDArray[np.float64], reference: NDArray[np.float64], quantity, spread_cost
) -> NDArray[np.float64]:
    """Realized impact of fills: ``sign (price - reference) quantity - spread_cost`` (``sign`` +1 buys, -1 sells)."""
    return sign * (price - reference) * quantity - spread_cost


def delisting_values(close: NDArray[np.float64], delisting_return: NDArray[np.float64]) -> NDArray[np.float64]:
    """Value per share of a delisted name: its close times ``1 + δ``."""
    return close * (1.0 + delisting_return)


def borrow_accrual(
    short_notional: NDArray[np.float64], borrow_bps: NDArray[np.float64], days: int, cost_model: CostModel
) -> float:
    """Borrow charged on ``short_notional`` (``>= 0``) at each name's fee for ``days`` calendar days.

    The :meth:`~quant_assets.execution.CostModel.borrow_cost` convention (``1e-4 bps days /
    days_per_year``) with a fee per name.
    """
    per_bp = 1e-4 * days / cost_model.days_per_year
    return float(np.sum(short_notional * borrow_bps) * per_bp)


class OrderMarket(NamedTuple):
    """Per order: arrival price (the open), spread, session volume, trailing ADV and daily volatility."""

    open: NDArray[np.float64]
    spread: NDArray[np.float64]
    volume: NDArray[np.float64]
    adv: NDArray[np.float64]
    vol: NDArray[np.float64]


def session_market(panel: MarketPanel, i: int, js: NDArray[np.intp], spread_bps: float) -> OrderMarket:
    """What orders in names ``js`` meet at the open of session ``i``; a name without volume trades nothing."""
    opn = panel.open[i, js]
    return OrderMarket(
        opn, opn * spread_bps * 1e-4, np.nan_to_num(panel.volume[i, js]), panel.adv[i, js], panel.daily_vol[i, js]
    )


def simulator_inputs(
    date: pd.Timestamp,
    symbols: NDArray,
    order_id: NDArray,
    buy: NDArray[np.bool_],
    size: NDArray[np.float64],
    limit_order: NDArray[np.bool_],
    limit_price: NDArray[np.float64],
    m: OrderMarket,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders and market-data frames of :func:`~quant_assets.execution.simulate` for one session's orders."""
    orders = pd.DataFrame(
        {
            "order_id": order_id,
            "symbol": symbols,
            "side": np.where(buy, "buy", "sell"),
            "quantity": size,
            "type": np.where(limit_order, "LMT", "MKT"),
            "limit_price": np.where(limit_order, limit_price, np.nan),
            "submit_time": date,
        }
    )
    md = pd.DataFrame(
        {
            "bar_time": date,
            "symbol": symbols,
            "price": m.open,
            "spread": m.spread,
            "volume": m.volume,
            "adv": m.adv,
            "volatility": m.vol,
        }
    )
    return orders, md

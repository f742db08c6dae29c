"""The backtest's logs (orders, fills, positions, events): arrays per session, framed once at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.execution.simulator import FILL_COLUMNS, REPORT_ORDER_COLUMNS

__all__ = [
    "COST_COLUMNS",
    "EVENT_COLUMNS",
    "FILL_FRAME_COLUMNS",
    "ORDER_FRAME_COLUMNS",
    "POSITION_FRAME_COLUMNS",
    "Records",
]

ORDER_FRAME_COLUMNS = (
    "date",
    *REPORT_ORDER_COLUMNS,
    "filled",
    "unfilled",
    "modeled_impact",
    "requested_notional",
    "filled_notional",
)
FILL_FRAME_COLUMNS = ("date", *FILL_COLUMNS, "realized_pnl")
POSITION_FRAME_COLUMNS = ("date", "symbol", "shares", "close", "market_value", "weight", "cost_basis")
EVENT_COLUMNS = ("date", "symbol", "event", "shares", "amount")
COST_COLUMNS = ("fee", "spread", "impact", "impact_realized", "borrow", "dividends")
"""A session's trading costs, borrow and dividends, in the backtest's equity curve and the daily book's P&L."""

_SIDE = np.array(["sell", "buy"], dtype=object)
_TYPE = np.array(["MKT", "LMT"], dtype=object)
_FIELDS = {
    "orders": ("day", "symbol", "buy", "limit_order", "limit_price", "requested", "filled", "price"),
    "fills": ("price", "fee", "realized_pnl"),  # the rest is its order's
    "positions": ("day", "symbol", "shares", "close", "market_value", "weight", "cost_basis"),
    "events": ("day", "symbol", "event", "shares", "amount"),
}


class Records:
    """Per-session arrays of each log, concatenated by :meth:`columns`.

    The fills of a session are its orders with ``filled > 0``, in the same order: a fill row
    takes its order's date, id, symbol and side.
    """

    def __init__(self, sessions: pd.DatetimeIndex, symbols: pd.Index) -> None:
        self.sessions = sessions
        self.symbols = np.asarray(symbols, dtype=object)
        self._parts: dict[str, list[tuple]] = {name: [] for name in _FIELDS}
        self._done: dict[tuple[str, int], dict[str, np.ndarray]] = {}

    def order(self, i, js, buy, limit_order, limit_price, requested, filled, price) -> None:
        """Orders sent at session ``i`` (``price``: the bar's, the reference of their fills)."""
        self._parts["orders"].append((i, js, buy, limit_order, limit_price, requested, filled, price))

    def fill(self, price, fee, realized) -> None:
        """Fills of the session's orders with ``filled > 0``, in order: fill price, fee, realized PnL."""
        self._parts["fills"].append((price, fee, realized))

    def position(self, i, js, shares, close, value, nav, cost_basis) -> None:
        self._parts["positions"].append((i, js, shares, close, value, value / nav, cost_basis))

    def event(self, i, js, kind: str, shares, amount) -> None:
        if len(js):
            self._parts["events"].append((i, js, np.full(len(js), kind, dtype=object), shares, amount))

    def columns(self, name: str) -> dict[str, np.ndarray]:
        """The log's fields over the run (``day``: session index, ``symbol``: symbol index)."""
        parts, fields = self._parts[name], _FIELDS[name]
        key = (name, len(parts))
        if key not in self._done:
            self._done[key] = self._concatenate(parts, fields)
        return self._done[key]

    @staticmethod
    def _concatenate(parts: list[tuple], fields: tuple[str, ...]) -> dict[str, np.ndarray]:
        if not parts:
            return {f: np.zeros(0, np.intp if f in ("day", "symbol") else np.float64) for f in fields}
        out = {f: np.concatenate([p[k] for p in parts]) for k, f in enumerate(fields) if f != "day"}
        if fields[0] == "day":
            out["day"] = np.repeat(np.array([p[0] for p in parts], np.intp), [len(p[1]) for p in parts])
        return out

    def frames(self, modeled_impact: np.ndarray, spread_cost: np.ndarray, impact_cost: np.ndarray):
        """``(orders, fills, positions, events)`` frames; costs per order and per fill, computed by the caller."""
        o, f = self.columns("orders"), self.columns("fills")
        if not o["day"].size:
            return _empty(ORDER_FRAME_COLUMNS), _empty(FILL_FRAME_COLUMNS), self._positions(), self._events()
        date, symbol = self.sessions[o["day"]], self.symbols[o["symbol"]]
        prefix = np.asarray([f"{d:%Y%m%d}:" for d in self.sessions], dtype=object)
        order_id, side = prefix[o["day"]] + symbol, _SIDE[o["buy"].astype(np.intp)]
        orders = pd.DataFrame(
            {
                "date": date,
                "order_id": order_id,
                "symbol": symbol,
                "side": side,
                "type": _TYPE[o["limit_order"].astype(np.intp)],
                "limit_price": np.where(o["limit_order"], o["limit_price"], np.nan),
                "requested": o["requested"],
                "filled": o["filled"],
                "unfilled": np.maximum(o["requested"] - o["filled"], 0.0),
                "modeled_impact": modeled_impact,
                "requested_notional": o["requested"] * o["price"],
                "filled_notional": o["filled"] * o["price"],
            },
            copy=False,  # fresh arrays: one block per column, no consolidating copy
        )
        hit = o["filled"] > 0
        if not hit.any():
            return orders, _empty(FILL_FRAME_COLUMNS), self._positions(), self._events()
        fills = pd.DataFrame(
            {
                "date": date[hit],
                "order_id": order_id[hit],
                "symbol": symbol[hit],
                "side": side[hit],
                "bar_time": date[hit],
                "quantity": o["filled"][hit],
                "price": f["price"],
                "reference_price": o["price"][hit],
                "fee": f["fee"],
                "spread_cost": spread_cost,
                "impact_cost": impact_cost,
                "realized_pnl": f["realized_pnl"],
            },
            copy=False,
        )
        return orders, fills, self._positions(), self._events()

    def _positions(self) -> pd.DataFrame:
        c = self.columns("positions")
        if not c["day"].size:
            return _empty(POSITION_FRAME_COLUMNS)
        values = {"date": self.sessions[c["day"]], "symbol": self.symbols[c["symbol"]]}
        values.update((k, c[k]) for k in POSITION_FRAME_COLUMNS[2:])
        return pd.DataFrame(values, copy=False)

    def _events(self) -> pd.DataFrame:
        c = self.columns("events")
        if not c["day"].size:
            return pd.DataFrame(columns=list(EVENT_COLUMNS))
        return pd.DataFrame(
            {
                "date": self.sessions[c["day"]],
                "symbol": self.symbols[c["symbol"]],
                "event": c["event"],
                "shares": c["shares"].astype(np.float64),
                "amount": c["amount"].astype(np.float64),
            },
            copy=False,
        )


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})

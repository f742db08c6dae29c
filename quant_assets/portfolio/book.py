"""The live book advanced one session: corporate actions, orders toward target weights, fills, marks.

:func:`advance_session` is the daily step of the paper book behind the ``orders``, ``fills``,
``positions`` and ``pnl`` assets. It follows the session order of the backtester
(:mod:`quant_assets.backtest.engine`) on the same inputs and parts, and is tested to give the
same NAV path as :func:`~quant_assets.backtest.run_backtest` on the same targets. The rules
both apply (dividends, short refusal, default limit prices, the simulator's inputs, delisting
value, borrow accrual) are the functions of :mod:`quant_assets.backtest.step`:

1. **Corporate actions at the open** (the book's positions of the close before): cash dividends
   going ex on ``t`` credited to longs, debited to shorts; splits scale shares and FIFO lots
   (:class:`~quant_assets.backtest.FifoLots`).
2. **Orders.** Target shares ``w_i NAV_{t-1} / P_{i,t-1}`` (times the split ratio of ``t``);
   the order is the difference to the position, sent at the open of ``t`` through
   :func:`~quant_assets.execution.simulate` (or its vectorized one-session form
   :func:`~quant_assets.execution.simulate_session`): fees, half-spread, square-root impact,
   participation cap. Short sales are refused when shorting is off or, for hard-to-borrow names,
   when they open or increase a short. What does not fill is not carried: the next session's
   targets replace it. A session without targets holds the book (no orders).
3. **Delistings** close the name at ``close (1 + δ)`` without trading cost.
4. **Close.** Marks at the close (the last close while a name has no bar); borrow accrues on
   short notional over the calendar days since the previous close at the name's fee
   (actual/360).

The book's state is stored as one session's positions frame (:data:`POSITION_COLUMNS`): one row
per held name with its open FIFO lots as JSON, and one :data:`CASH` row whose ``market_value``
is the cash, so ``NAV = sum(market_value)``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from quant_assets.backtest import BacktestConfig, FifoLots, MarketPanel
from quant_assets.backtest.records import COST_COLUMNS, EVENT_COLUMNS, POSITION_FRAME_COLUMNS
from quant_assets.backtest.step import (
    borrow_accrual,
    delisting_values,
    dividend_cash,
    limit_prices,
    realized_impact,
    refuse_shorts,
    session_market,
    simulator_inputs,
    target_shares,
)
from quant_assets.execution import simulate, simulate_session
from quant_assets.execution.simulator import FILL_COLUMNS, REPORT_ORDER_COLUMNS

__all__ = [
    "CASH",
    "ORDER_COLUMNS",
    "PNL_COLUMNS",
    "POSITION_COLUMNS",
    "Book",
    "SessionStep",
    "advance_session",
    "fill_orders",
    "pnl_breaks",
    "position_breaks",
    "replay_sessions",
    "run_sessions",
]

CASH = "$CASH"
"""Symbol of the cash row of a positions frame."""
POSITION_COLUMNS = (*POSITION_FRAME_COLUMNS, "lots")
ORDER_COLUMNS = (
    "date",
    *REPORT_ORDER_COLUMNS,
    "target_shares",
    "modeled_impact",
    "requested_notional",
)
FILL_FRAME_COLUMNS = ("date", *FILL_COLUMNS)
PNL_COLUMNS = (
    "date",
    "nav_prev",
    "nav",
    "net_pnl",
    "gross_pnl",
    *COST_COLUMNS,
    "cash_prev",
    "cash",
    "trade_cash_flow",
    "delisting_proceeds",
    "realized_pnl",
    "traded_notional",
    "turnover",
)
_COSTS = ("fee", "spread", "impact", "borrow")


@dataclass
class Book:
    """Cash, shares, FIFO lots and the last marks of a book after the close of ``date``."""

    cash: float
    shares: dict[str, float] = field(default_factory=dict)
    lots: dict[str, FifoLots] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    date: pd.Timestamp | None = None

    @classmethod
    def flat(cls, capital: float) -> Book:
        """All cash, no positions, no previous session."""
        return cls(float(capital))

    @property
    def nav(self) -> float:
        """Cash plus the marked value of every position."""
        return self.cash + sum(q * self.marks[s] for s, q in self.shares.items())

    def copy(self) -> Book:
        lots = {}
        for s, lot in self.lots.items():
            lots[s] = _lots_from(lot.lots)
        return dataclasses.replace(self, shares=dict(self.shares), lots=lots, marks=dict(self.marks))

    @classmethod
    def from_positions(cls, positions: pd.DataFrame, capital: float) -> Book:
        """The book stored as one session's positions frame; flat with ``capital`` when empty."""
        if positions.empty:
            return cls.flat(capital)
        dates = pd.to_datetime(positions["date"]).unique()
        if len(dates) != 1:
            raise ValueError(f"positions must hold one session, got {len(dates)}")
        cash_rows = positions[positions["symbol"] == CASH]
        if len(cash_rows) != 1:
            raise ValueError(f"positions must hold exactly one {CASH!r} row, got {len(cash_rows)}")
        held = positions[positions["symbol"] != CASH].sort_values("symbol", kind="stable")
        syms = held["symbol"].astype(str).tolist()
        return cls(
            cash=float(cash_rows["market_value"].iloc[0]),
            shares=dict(zip(syms, held["shares"].astype(float), strict=True)),
            lots={s: _lots_from(json.loads(text)) for s, text in zip(syms, held["lots"], strict=True)},
            marks=dict(zip(syms, held["close"].astype(float), strict=True)),
            date=pd.Timestamp(dates[0]),
        )

    def to_positions(self) -> pd.DataFrame:
        """One row per held name (sorted) and the :data:`CASH` row, dated at the book's close."""
        nav = self.nav
        syms = sorted(s for s, q in self.shares.items() if q != 0)
        q = np.array([self.shares[s] for s in syms], dtype=np.float64)
        close = np.array([self.marks[s] for s in syms], dtype=np.float64)
        mv = q * close
        frame = pd.DataFrame(
            {
                "date": self.date,
                "symbol": [*syms, CASH],
                "shares": [*q, self.cash],
                "close": [*close, 1.0],
                "market_value": [*mv, self.cash],
                "weight": np.append(mv, self.cash) / nav if nav else 0.0,
                "cost_basis": [*(self.lots[s].cost_basis for s in syms), self.cash],
                "lots": [*(json.dumps(self.lots[s].lots) for s in syms), "[]"],
            }
        )
        return frame.loc[:, list(POSITION_COLUMNS)]


def _lots_from(lots: list) -> FifoLots:
    out = FifoLots()
    for qty, price in lots:  # lots of one name share a side: each trade opens a lot
        out.trade(float(qty), float(price))
    return out


@dataclass
class SessionStep:
    """What one session did: the book after its close and the session's records."""

    book: Book
    orders: pd.DataFrame
    fills: pd.DataFrame
    events: pd.DataFrame
    pnl: dict


def advance_session(
    book: Book,
    panel: MarketPanel,
    i: int,
    target_w: pd.Series | None,
    config: BacktestConfig | None = None,
) -> SessionStep:
    """Advance ``book`` (after the close before) through session ``panel.sessions[i]``.

    Parameters
    ----------
    book : Book
        The book after the previous close (not modified).
    panel : MarketPanel
        Bars, ADV, volatility, corporate actions and borrow of a window holding session ``i``
        and the sessions before it that trailing statistics and the previous close need.
    i : int
        Index of the session in ``panel.sessions``.
    target_w : Series or None
        Target weights by symbol (fraction of the NAV at the previous close) for this session;
        names held and absent go to zero. None: no decision, the book is held.
    config : BacktestConfig, optional
        Costs, order type, shorting rules (the backtester's configuration).

    Returns
    -------
    SessionStep
    """
    cfg = BacktestConfig.coerce(config)
    date = panel.sessions[i]
    if book.date is not None and book.date >= date:
        raise ValueError(f"the book is dated {book.date.date()}, not before session {date.date()}")
    b = book.copy()
    row = dict.fromkeys(PNL_COLUMNS, 0.0)
    row.update(date=date, nav_prev=b.nav, cash_prev=b.cash)
    events: list[tuple] = []
    prev_close = _previous_close(panel, i, b)

    _corporate_actions(b, panel, i, events, row)  # 1.
    orders = _orders(b, panel, i, target_w, prev_close, row["nav_prev"], cfg, events)
    fills = fill_orders(orders, panel, i, cfg)  # 2. fills at the open
    _book_fills(b, fills, prev_close, row)
    _delist(b, panel, i, events, row)  # 3.
    _close(b, panel, i, cfg, row)  # 4.
    b.date = date
    row.update(nav=b.nav, cash=b.cash)
    row["net_pnl"] = row["nav"] - row["nav_prev"]
    row["gross_pnl"] = row["net_pnl"] + sum(row[c] for c in _COSTS)
    row["turnover"] = row["traded_notional"] / row["nav_prev"] if row["nav_prev"] > 0 else 0.0
    ev = pd.DataFrame(events, columns=list(EVENT_COLUMNS))
    return SessionStep(b, orders, fills, ev, row)


def _previous_close(panel: MarketPanel, i: int, book: Book) -> dict[str, float]:
    """Close before session ``i`` by symbol: the book's marks, else the panel's last close before ``i``."""
    before = pd.DataFrame(panel.close[:i], columns=panel.symbols).ffill()
    last = before.iloc[-1] if i > 0 else pd.Series(np.nan, index=panel.symbols)
    out = {str(s): float(v) for s, v in last.items() if np.isfinite(v)}
    out.update(book.marks)
    return out


def _orders(b: Book, panel, i, target_w, prev_close, nav, cfg: BacktestConfig, events) -> pd.DataFrame:
    if target_w is None:
        return _empty(ORDER_COLUMNS)
    w = pd.Series(target_w, dtype=np.float64)
    w.index = w.index.astype(str)
    unknown = sorted(set(w.index) - set(panel.symbols))
    if unknown:
        raise ValueError(f"target_w names symbols outside the panel: {unknown[:5]}")
    date = panel.sessions[i]
    names = np.array(sorted(set(w.index) | {s for s, q in b.shares.items() if q != 0}), dtype=object)
    js = panel.symbols.get_indexer(names)
    close = np.array([prev_close.get(s, np.nan) for s in names], dtype=np.float64)
    ok = np.isfinite(panel.open[i, js]) & np.isfinite(close)
    names, js, close = names[ok], js[ok], close[ok]
    k = panel.split_ratio[i, js]
    held = np.array([b.shares.get(s, 0.0) for s in names], dtype=np.float64)
    target = target_shares(w.reindex(names, fill_value=0.0).to_numpy(np.float64), nav, close) * k
    qty = target - held
    live = np.abs(qty) > cfg.min_trade_shares
    names, js, close, k, held, target, qty = (a[live] for a in (names, js, close, k, held, target, qty))
    cut = refuse_shorts(qty, held, np.full(js.size, cfg.allow_short) & ~panel.htb[i, js], cfg.min_trade_shares)
    reason = "refused_htb" if cfg.allow_short else "refused_short"
    for r in np.flatnonzero(cut.refused):
        events.append((date, names[r], reason, float(qty[r]), float(-qty[r] - cut.allowed[r])))
    names, js, close, k, target, qty = (a[cut.keep] for a in (names, js, close, k, target, cut.qty))
    if not names.size:
        return _empty(ORDER_COLUMNS)
    limit = np.full(names.size, np.nan)
    if cfg.order_type == "LMT":
        limit = limit_prices(close * k, qty > 0, cfg.limit_offset_bps)
    out = pd.DataFrame(
        {
            "order_id": [f"{date:%Y%m%d}:{s}" for s in names],
            "symbol": names,
            "type": cfg.order_type,
            "limit_price": limit,
            "target_shares": target,
        }
    )
    opn = panel.open[i, js]
    modeled = cfg.cost_model.impact_cost(np.abs(qty), opn, panel.adv[i, js], panel.daily_vol[i, js])
    out = out.assign(
        date=date,
        side=np.where(qty > 0, "buy", "sell"),
        requested=np.abs(qty),
        modeled_impact=np.atleast_1d(modeled),
        requested_notional=np.abs(qty) * opn,
    )
    return out.loc[:, list(ORDER_COLUMNS)]


def _empty(columns) -> pd.DataFrame:
    text = {"order_id", "symbol", "side", "type", "event"}
    return pd.DataFrame(
        {
            c: pd.Series(dtype="datetime64[ns]" if c in ("date", "bar_time") else object if c in text else float)
            for c in columns
        }
    )


def fill_orders(orders: pd.DataFrame, panel: MarketPanel, i: int, config: BacktestConfig | None = None) -> pd.DataFrame:
    """Fills of session ``i``'s orders (:data:`ORDER_COLUMNS`) at its open, through the execution simulator.

    :func:`~quant_assets.execution.simulate` (or, with ``vectorized_fills``, the equal
    :func:`~quant_assets.execution.simulate_session`) with the backtester's market data: the open
    as arrival price, the configured spread, trailing ADV and volatility, the session's volume for
    the participation cap. Returns :data:`FILL_FRAME_COLUMNS`.
    """
    cfg = BacktestConfig.coerce(config)
    if orders.empty:
        return _empty(FILL_FRAME_COLUMNS)
    date = panel.sessions[i]
    symbols = orders["symbol"].astype(str).to_numpy()
    sent, md = simulator_inputs(
        date,
        symbols,
        orders["order_id"].to_numpy(),
        orders["side"].to_numpy() == "buy",
        orders["requested"].to_numpy(np.float64),
        orders["type"].to_numpy() == "LMT",
        orders["limit_price"].astype(float).to_numpy(),
        session_market(panel, i, panel.symbols.get_indexer(symbols), cfg.spread_bps),
    )
    fills, _ = (simulate_session if cfg.vectorized_fills else simulate)(sent, cfg.cost_model, md)
    return fills.assign(date=date).loc[:, list(FILL_FRAME_COLUMNS)]


def _book_fills(b: Book, fills: pd.DataFrame, prev_close, row: dict) -> None:
    sign = np.where(fills["side"].to_numpy() == "buy", 1.0, -1.0)
    q = fills["quantity"].to_numpy(np.float64) * sign
    price = fills["price"].to_numpy(np.float64)
    fee = fills["fee"].to_numpy(np.float64)
    for s, qq, pp, ff in zip(fills["symbol"], q, price, fee, strict=True):
        b.shares[s] = b.shares.get(s, 0.0) + qq
        b.marks.setdefault(s, prev_close[s])
        b.cash -= qq * pp + ff
        row["realized_pnl"] += b.lots.setdefault(s, FifoLots()).trade(float(qq), float(pp))
    ref = fills["reference_price"].to_numpy(np.float64)
    row["fee"] += float(fee.sum())
    row["spread"] += float(fills["spread_cost"].sum())
    row["impact"] += float(fills["impact_cost"].sum())
    row["impact_realized"] += float(realized_impact(sign, price, ref, np.abs(q), fills["spread_cost"].to_numpy()).sum())
    row["traded_notional"] += float(np.abs(q * ref).sum())
    row["trade_cash_flow"] -= float((q * price).sum() + fee.sum())
    for s in [s for s, v in b.shares.items() if abs(v) <= 1e-9]:
        _drop(b, s)


def _drop(b: Book, s: str) -> None:
    b.shares.pop(s, None)
    b.lots.pop(s, None)
    b.marks.pop(s, None)


def _held(b: Book, panel: MarketPanel) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Held names (sorted), their panel columns and shares."""
    names = sorted(b.shares)
    return names, panel.symbols.get_indexer(names), np.array([b.shares[s] for s in names], dtype=np.float64)


def _corporate_actions(b: Book, panel, i, events, row) -> None:
    """Dividends going ex on session ``i`` (per pre-ex share), then splits of shares and lots."""
    date = panel.sessions[i]
    names, js, shares = _held(b, panel)
    paid, amount = dividend_cash(shares, panel.dividend[i, js])
    if paid.size:
        b.cash += float(amount.sum())
        row["dividends"] = float(amount.sum())
        events += [(date, names[r], "dividend", shares[r], float(a)) for r, a in zip(paid, amount, strict=True)]
    for r in np.flatnonzero(panel.split_ratio[i, js] != 1.0):
        s, k = names[r], float(panel.split_ratio[i, js[r]])
        b.shares[s] *= k
        b.lots[s].split(k)
        events.append((date, s, "split", b.shares[s], k))


def _delist(b: Book, panel, i, events, row) -> None:
    date = panel.sessions[i]
    names, js, shares = _held(b, panel)
    gone = np.flatnonzero(np.isfinite(panel.delisting_return[i, js]))
    if not gone.size:
        return
    value = delisting_values(panel.close[i, js[gone]], panel.delisting_return[i, js[gone]])
    proceeds = float(np.sum(shares[gone] * value))
    b.cash += proceeds
    row["delisting_proceeds"] += proceeds
    for r, v in zip(gone, value, strict=True):
        s = names[r]
        realized = b.lots[s].close_all(float(v))
        row["realized_pnl"] += realized
        events.append((date, s, "delisting", shares[r], float(realized)))
        _drop(b, s)


def _close(b: Book, panel, i, cfg: BacktestConfig, row) -> None:
    date = panel.sessions[i]
    days = (date - b.date).days if b.date is not None else 1
    names, js, shares = _held(b, panel)
    for s, c in zip(names, panel.close[i, js], strict=True):
        if np.isfinite(c):
            b.marks[s] = float(c)
    marks = np.array([b.marks[s] for s in names], dtype=np.float64)
    short = shares < 0
    row["borrow"] = borrow_accrual(-shares[short] * marks[short], panel.borrow_bps[i, js[short]], days, cfg.cost_model)
    b.cash -= row["borrow"]


def run_sessions(
    previous: pd.DataFrame,
    targets: pd.DataFrame,
    prices: pd.DataFrame,
    symbols: pd.DataFrame | None,
    sessions: pd.DatetimeIndex,
    config: BacktestConfig | None = None,
) -> dict[str, pd.DataFrame]:
    """Advance the book stored in ``previous`` through ``sessions``, in order.

    Parameters
    ----------
    previous : DataFrame
        Stored positions (:data:`POSITION_COLUMNS`); the latest session before ``sessions[0]`` is
        the starting book, flat with ``initial_capital`` when there is none.
    targets : DataFrame
        ``date, symbol, target_w``: the weights each session trades toward from its open (a
        session without rows holds the book).
    prices : DataFrame
        Curated bars of ``sessions`` and of the sessions before them that the trailing ADV and
        volatility need (:class:`~quant_assets.backtest.MarketPanel`).
    symbols : DataFrame, optional
        Symbols master (``htb``, ``borrow_fee_bps``).
    sessions : DatetimeIndex
    config : BacktestConfig, optional

    Returns
    -------
    dict
        ``orders``, ``fills``, ``positions``, ``pnl``, ``events`` over ``sessions``, and
        ``started_flat`` (bool: no stored book before the first session).
    """
    return _sessions(previous, targets, prices, symbols, sessions, config, chained=True)


def replay_sessions(
    positions: pd.DataFrame,
    targets: pd.DataFrame,
    prices: pd.DataFrame,
    symbols: pd.DataFrame | None,
    sessions: pd.DatetimeIndex,
    config: BacktestConfig | None = None,
) -> dict[str, pd.DataFrame]:
    """Like :func:`run_sessions`, but each session starts from the *stored* book before it.

    The step is deterministic, so replaying each session from the stored positions of the
    session before gives the records :func:`run_sessions` produced when it stored them; the
    ``orders`` and ``pnl`` assets are built this way from the ``positions`` asset.
    """
    return _sessions(positions, targets, prices, symbols, sessions, config, chained=False)


def _stored_before(positions: pd.DataFrame, day: pd.Timestamp, capital: float) -> Book:
    if positions.empty:
        return Book.flat(capital)
    dates = pd.to_datetime(positions["date"])
    before = dates[dates < day]
    return Book.from_positions(positions[dates == before.max()], capital) if len(before) else Book.flat(capital)


def _sessions(previous, targets, prices, symbols, sessions, config, *, chained: bool) -> dict[str, pd.DataFrame]:
    cfg = BacktestConfig.coerce(config)
    sessions = pd.DatetimeIndex(sessions).sort_values()
    panel = MarketPanel.build(prices, symbols, cfg)
    missing = sessions.difference(panel.sessions)
    if len(missing):
        raise ValueError(f"prices hold no bars for sessions {[str(d.date()) for d in missing[:5]]}")
    tg = targets.assign(date=pd.to_datetime(targets["date"]), symbol=targets["symbol"].astype(str))
    by_date = {d: g.set_index("symbol")["target_w"].astype(float) for d, g in tg.groupby("date")}
    parts: dict[str, list] = {"orders": [], "fills": [], "positions": [], "events": [], "pnl": []}
    book = _stored_before(previous, sessions[0], cfg.initial_capital)
    started_flat = book.date is None
    for d in sessions:
        if not chained:
            book = _stored_before(previous, d, cfg.initial_capital)
        step = advance_session(book, panel, panel.sessions.get_loc(d), by_date.get(d), cfg)
        book = step.book
        for name, frame in (("orders", step.orders), ("fills", step.fills), ("events", step.events)):
            if len(frame):
                parts[name].append(frame)
        parts["positions"].append(book.to_positions())
        parts["pnl"].append(step.pnl)
    columns = {"orders": ORDER_COLUMNS, "fills": FILL_FRAME_COLUMNS, "events": EVENT_COLUMNS}
    out = {k: pd.concat(parts[k], ignore_index=True) if parts[k] else _empty(c) for k, c in columns.items()}
    out["positions"] = pd.concat(parts["positions"], ignore_index=True)
    out["pnl"] = pd.DataFrame(parts["pnl"], columns=list(PNL_COLUMNS))
    out["started_flat"] = started_flat
    return out


def position_breaks(
    previous: pd.DataFrame, positions: pd.DataFrame, fills: pd.DataFrame, prices: pd.DataFrame, tol: float = 1e-6
) -> pd.DataFrame:
    """``date, symbol, expected, stored`` where shares at ``t`` differ from shares at ``t - 1`` moved by ``t``.

    Expected: the previous session's shares times the split ratio of ``t``, plus the signed fills
    of ``t``, zero when the name delists on ``t``. ``previous`` holds the positions before the first
    session of ``positions`` (empty: flat); cash rows are ignored.
    """
    previous = previous if len(previous) else positions.iloc[:0]
    pos = pd.concat([previous, positions], ignore_index=True)
    pos = pos[pos["symbol"] != CASH].assign(date=lambda d: pd.to_datetime(d["date"]))
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(positions["date"]).unique()))
    all_dates = dates.union(pd.DatetimeIndex(pd.to_datetime(previous["date"]).unique()))
    sign = np.where(fills["side"] == "buy", 1.0, -1.0)
    traded = fills.assign(q=sign * fills["quantity"], date=pd.to_datetime(fills["date"])).pivot_table(
        index="date", columns="symbol", values="q", aggfunc="sum"
    )
    shares = pos.pivot_table(index="date", columns="symbol", values="shares", aggfunc="sum")
    names = shares.columns.union(traded.columns)
    shares = shares.reindex(index=all_dates, columns=names).fillna(0.0)
    px = prices.assign(date=pd.to_datetime(prices["date"]))
    ratio = px.pivot_table(index="date", columns="symbol", values="split_ratio", aggfunc="last")
    ratio = ratio.reindex(index=all_dates, columns=names).fillna(1.0)
    flag = px.assign(flag=px["is_delisting"].astype(float))
    delisted = flag.pivot_table(index="date", columns="symbol", values="flag", aggfunc="max")
    delisted = delisted.reindex(index=all_dates, columns=names).fillna(0.0) > 0
    expected = shares.shift(1).fillna(0.0) * ratio + traded.reindex(index=all_dates, columns=names).fillna(0.0)
    expected = expected.mask(delisted, 0.0).loc[dates]
    stored = shares.loc[dates]
    bad = (expected - stored).abs() > tol * np.maximum(1.0, expected.abs())
    rows = bad.stack()
    rows = rows[rows].index
    return pd.DataFrame(
        {
            "date": rows.get_level_values(0),
            "symbol": rows.get_level_values(1),
            "expected": [expected.at[d, s] for d, s in rows],
            "stored": [stored.at[d, s] for d, s in rows],
        }
    )


def pnl_breaks(positions: pd.DataFrame, pnl: pd.DataFrame, rtol: float = 1e-9) -> pd.DataFrame:
    """``date, what, lhs, rhs`` where the PnL frame disagrees with the positions or its own cash flows.

    Per session: ``nav`` is the sum of the positions' market values, ``net_pnl = nav - nav_prev``,
    ``gross_pnl - fee - spread - impact - borrow = net_pnl``, ``cash`` is the '$CASH' row and
    ``cash - cash_prev = trade_cash_flow + dividends + delisting_proceeds - borrow``; from one
    session to the next ``nav_prev`` and ``cash_prev`` are the previous ``nav`` and ``cash``.
    """
    pos = positions.assign(date=pd.to_datetime(positions["date"]))
    value = pos.groupby("date")["market_value"].sum()
    cash = pos[pos["symbol"] == CASH].set_index("date")["market_value"]
    p = pnl.assign(date=pd.to_datetime(pnl["date"])).sort_values("date").set_index("date")
    pairs = {
        "nav = sum(market_value)": (p["nav"], value.reindex(p.index)),
        "cash = $CASH row": (p["cash"], cash.reindex(p.index)),
        "net_pnl = nav - nav_prev": (p["net_pnl"], p["nav"] - p["nav_prev"]),
        "gross - costs = net": (p["gross_pnl"] - p[list(_COSTS)].sum(axis=1), p["net_pnl"]),
        "cash change = cash flows": (
            p["cash"] - p["cash_prev"],
            p["trade_cash_flow"] + p["dividends"] + p["delisting_proceeds"] - p["borrow"],
        ),
        "nav_prev = previous nav": (p["nav_prev"].iloc[1:], p["nav"].shift(1).iloc[1:]),
        "cash_prev = previous cash": (p["cash_prev"].iloc[1:], p["cash"].shift(1).iloc[1:]),
    }
    rows = []
    for what, (lhs, rhs) in pairs.items():
        scale = np.maximum(1.0, p["nav_prev"].abs().reindex(lhs.index))
        bad = ~(np.abs(lhs - rhs) <= rtol * scale)
        rows += [(d, what, float(lhs[d]), float(rhs[d])) for d in lhs.index[bad]]
    return pd.DataFrame(rows, columns=["date", "what", "lhs", "rhs"])

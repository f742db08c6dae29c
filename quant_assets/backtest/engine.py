"""Event-driven, position-aware, deterministic daily backtester.

Each session ``t``, in this order:

1. **Corporate actions at the open.** Cash dividends going ex on ``t`` (per pre-ex share) are
   credited to longs and debited to shorts; then splits scale share counts, lots and pending
   targets by the ratio.
2. **Orders.** Targets decided at the close of ``t - 1 - latency`` become active; every active
   target with a bar today sends ``target shares - position`` to the execution simulator at
   today's open (MKT or LMT, fees, half-spread,
   square-root impact, participation cap). What does not fill carries to the next session
   against the same target until a newer target replaces it. Short sales are refused (the
   short part of the order) when shorting is off or, for hard-to-borrow names, when they would
   open or increase a short.
3. **Delistings.** A name delisting on ``t`` is closed at ``close (1 + δ)`` (its delisting
   return), with no trading cost.
4. **Close.** Positions are marked at the close; borrow accrues on short notional for the
   calendar days since the previous close at the name's fee (actual/360).
5. **Decisions.** Targets dated ``t`` (the whole book: names left out go to zero) become share
   targets at ``target_w x NAV / close``.

The book is held as arrays indexed by symbol (shares, active targets, FIFO lots in a
:class:`~quant_assets.backtest.lots.FifoBook`): each step is a handful of array operations over
the names, and a session's orders are filled by one vectorized call
(:func:`~quant_assets.execution.session.session_fills`, the computation of
:func:`~quant_assets.execution.simulate_session`; ``vectorized_fills=False`` sends them through
:func:`~quant_assets.execution.simulate` instead, the same fills).

The rules of a session shared with the daily paper book
(:func:`quant_assets.portfolio.book.advance_session`) are the functions of
:mod:`quant_assets.backtest.step`.

Identical inputs give identical outputs: names are processed in sorted order and the run id
hashes the data and the configuration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.backtest.config import BacktestConfig
from quant_assets.backtest.lots import FifoBook
from quant_assets.backtest.market import MarketPanel
from quant_assets.backtest.metrics import summarize
from quant_assets.backtest.records import COST_COLUMNS, Records
from quant_assets.backtest.step import (
    OrderMarket,
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
from quant_assets.backtest.targets import TargetPanel
from quant_assets.execution import simulate
from quant_assets.execution.session import SessionFills, session_fills

__all__ = ["EQUITY_COLUMNS", "BacktestResult", "run_backtest", "run_id"]

EQUITY_COLUMNS = (
    "date",
    "nav",
    "cash",
    "long_value",
    "short_value",
    "net_pnl",
    *COST_COLUMNS,
    "traded_notional",
)


def _frame_digest(df: pd.DataFrame | None) -> str:
    """``sha256`` of a frame's column names and values, column by column.

    Numeric, boolean and datetime columns hash their bytes; other columns hash their factorized
    codes and the ``repr`` of their distinct values.
    """
    if df is None:
        return "none"
    columns = sorted(df.columns, key=str)
    h = hashlib.sha256(json.dumps([str(c) for c in columns]).encode())
    h.update(str(len(df)).encode())
    for c in columns:
        values = df[c].to_numpy()
        if values.dtype.kind in "biufcmM":
            h.update(values.dtype.str.encode())
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            codes, uniques = pd.factorize(df[c])
            h.update(codes.astype(np.int64).tobytes())
            h.update(json.dumps([repr(u) for u in uniques]).encode())
    return h.hexdigest()


def run_id(targets: pd.DataFrame, prices: pd.DataFrame, symbols: pd.DataFrame | None, cfg: BacktestConfig) -> str:
    """``sha256`` of the data snapshot (targets, prices, symbols master) and the configuration, 16 hex digits."""
    h = hashlib.sha256()
    for part in (_frame_digest(targets), _frame_digest(prices), _frame_digest(symbols)):
        h.update(part.encode())
    h.update(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    return h.hexdigest()[:16]


@dataclass
class BacktestResult:
    """Everything a run produced; ``report_json`` is byte-identical for identical inputs.

    ``equity`` and ``metrics`` are built by the run; the logs (``orders``, ``fills``,
    ``positions``, ``events``) are kept as arrays and framed on first access.
    """

    run_id: str
    config: dict
    equity: pd.DataFrame
    metrics: dict
    logs: Callable[[], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]] = field(repr=False, compare=False)

    @cached_property
    def _frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return self.logs()

    @property
    def orders(self) -> pd.DataFrame:
        """One row per order sent: requested, filled, unfilled, modeled impact, notionals."""
        return self._frames[0]

    @property
    def fills(self) -> pd.DataFrame:
        """One row per fill (the simulator's fill columns) with its realized FIFO PnL."""
        return self._frames[1]

    @property
    def positions(self) -> pd.DataFrame:
        """One row per held name and session: shares, close, market value, weight, cost basis."""
        return self._frames[2]

    @property
    def events(self) -> pd.DataFrame:
        """Dividends, splits, delistings and refused short sales."""
        return self._frames[3]

    def report_json(self) -> str:
        """Run id, configuration and metrics as canonical JSON."""
        return json.dumps(
            {"run_id": self.run_id, "config": self.config, "metrics": self.metrics},
            sort_keys=True,
            indent=2,
            default=str,
        )


def run_backtest(
    targets: pd.DataFrame,
    prices: pd.DataFrame,
    symbols: pd.DataFrame | None = None,
    config: BacktestConfig | Mapping | None = None,
) -> BacktestResult:
    """Run the daily target weights ``targets`` over curated ``prices``.

    Parameters
    ----------
    targets : DataFrame
        ``date, symbol, target_w`` (fraction of NAV) decided at that date's close; optional
        ``order_type`` ("MKT"/"LMT") and ``limit_price`` per row.
    prices : DataFrame
        Curated bars (:class:`~quant_assets.schemas.AdjustedPrices`): raw ``open, close,
        volume``, ``split_ratio``, ``dividend``, ``is_delisting`` and ``ret_price, ret_total``
        (or a ``delisting_return`` column).
    symbols : DataFrame, optional
        Symbols master: ``symbol``, ``htb``, ``borrow_fee_bps`` (optionally by ``date``).
    config : BacktestConfig or mapping, optional

    Returns
    -------
    BacktestResult
    """
    cfg = BacktestConfig.coerce(config)
    panel = MarketPanel.build(prices, symbols, cfg)
    decided = TargetPanel.build(targets, panel)
    rid = run_id(targets, prices, symbols, cfg)
    return _Run(panel, decided, cfg, rid).go()


@dataclass
class _Intents:
    """Share targets by name (``on``: the name has one), with order type and limit price."""

    on: NDArray[np.bool_]
    shares: NDArray[np.float64]
    limit_order: NDArray[np.bool_]
    limit_price: NDArray[np.float64]

    @classmethod
    def none(cls, n: int) -> _Intents:
        return cls(np.zeros(n, bool), np.zeros(n), np.zeros(n, bool), np.full(n, np.nan))

    def replace_with(self, new: _Intents) -> None:
        """Names targeted by ``new`` take its targets."""
        m = new.on
        self.on |= m
        self.shares[m] = new.shares[m]
        self.limit_order[m] = new.limit_order[m]
        self.limit_price[m] = new.limit_price[m]


class _Run:
    def __init__(self, panel: MarketPanel, decided: TargetPanel, cfg: BacktestConfig, rid: str) -> None:
        n = len(panel.symbols)
        self.p, self.tp, self.cfg, self.rid = panel, decided, cfg, rid
        self.cm = cfg.cost_model
        self.cash = float(cfg.initial_capital)
        self.shares = np.zeros(n)
        self.lots = FifoBook(n)
        self.active = _Intents.none(n)
        self.pending: dict[int, _Intents] = {}  # session -> targets that become active at its open
        self.delisted = np.zeros(n, bool)
        # per-session inputs computed once: last close (marks), tradable bars, days with events
        self.marks = pd.DataFrame(panel.close).ffill().to_numpy()
        self.has_open = np.isfinite(panel.open)
        self.may_refuse = ~np.full(len(panel.sessions), cfg.allow_short) | panel.htb.any(axis=1)
        self.event_day = {
            "dividend": (panel.dividend > 0).any(axis=1),
            "split": (panel.split_ratio != 1.0).any(axis=1),
            "delisting": np.isfinite(panel.delisting_return).any(axis=1),
        }
        self.eq = {c: np.zeros(len(panel.sessions)) for c in EQUITY_COLUMNS[1:]}
        self.rec = Records(panel.sessions, panel.symbols)

    def go(self) -> BacktestResult:
        prev_date = None
        for i, date in enumerate(self.p.sessions):
            self._corporate_actions(i)
            self._trade(i)
            self._delistings(i)
            self._close(i, 1 if prev_date is None else (date - prev_date).days)
            self._decide(i)
            prev_date = date
        return self._result()

    def _result(self) -> BacktestResult:
        """Costs of every order and fill in one call each, the per-session sums, the frames and metrics."""
        p, cm, eq = self.p, self.cm, self.eq
        o, f = self.rec.columns("orders"), self.rec.columns("fills")
        at = o["day"] * len(p.symbols) + o["symbol"]
        adv, vol = p.adv.ravel()[at], p.daily_vol.ravel()[at]
        modeled = _array(cm.impact_cost(o["requested"], o["price"], adv, vol))
        hit = o["filled"] > 0
        day, qty, ref = o["day"][hit], o["filled"][hit], o["price"][hit]
        sign = np.where(o["buy"][hit], 1.0, -1.0)
        spread = _array(cm.spread_cost(qty, ref * self.cfg.spread_bps * 1e-4))
        impact = _array(cm.impact_cost(qty, ref, adv[hit], vol[hit]))
        n = len(p.sessions)
        eq["spread"] = np.bincount(day, spread, n)
        eq["impact"] = np.bincount(day, impact, n)
        eq["impact_realized"] = np.bincount(day, realized_impact(sign, f["price"], ref, qty, spread), n)
        eq["traded_notional"] = np.bincount(day, qty * ref, n)
        equity = pd.DataFrame({"date": p.sessions, **eq}, columns=list(EQUITY_COLUMNS))
        totals = pd.DataFrame(
            {
                "modeled_impact": np.bincount(o["day"], modeled, n),
                "requested_notional": np.bincount(o["day"], o["requested"] * o["price"], n),
                "filled_notional": np.bincount(o["day"], o["filled"] * o["price"], n),
            }
        )
        metrics = summarize(equity, totals, self.cfg.initial_capital, self.cfg.periods_per_year)
        metrics["run_id"] = self.rid
        rec = self.rec
        return BacktestResult(
            self.rid, self.cfg.to_dict(), equity, metrics, lambda: rec.frames(modeled, spread, impact)
        )

    # -------------------------------------------------------------------- session steps
    def _corporate_actions(self, i: int) -> None:
        p, shares = self.p, self.shares
        paid, amount = dividend_cash(shares, p.dividend[i]) if self.event_day["dividend"][i] else ((), None)
        if len(paid):
            self.cash += float(amount.sum())
            self.eq["dividends"][i] = float(amount.sum())
            self.rec.event(i, paid, "dividend", shares[paid], amount)
        split = np.flatnonzero(p.split_ratio[i] != 1.0) if self.event_day["split"][i] else ()
        if len(split):
            k = p.split_ratio[i, split]
            held = shares[split] != 0
            self.rec.event(i, split[held], "split", shares[split[held]] * k[held], k[held])
            shares[split] *= k
            self.lots.split(split[held], k[held])
            self.active.shares[split] *= k
            for intents in self.pending.values():
                intents.shares[split] *= k

    def _trade(self, i: int) -> None:
        p, cfg, act = self.p, self.cfg, self.active
        if i in self.pending:
            act.replace_with(self.pending.pop(i))
        js = np.flatnonzero(act.on & self.has_open[i])
        qty = act.shares[js] - self.shares[js]
        keep = np.abs(qty) > cfg.min_trade_shares
        js, qty = js[keep], qty[keep]
        if self.may_refuse[i] and (qty < 0).any():
            js, qty = self._refuse_shorts(i, js, qty)
        if not js.size:
            return
        buy, size = qty > 0, np.abs(qty)
        m = session_market(p, i, js, cfg.spread_bps)
        lmt, limit = act.limit_order[js], act.limit_price[js]
        if cfg.vectorized_fills:
            f = session_fills(size, buy, lmt, limit, *m, self.cm)
        else:
            f = self._simulate(i, js, size, buy, lmt, limit, m)
        self.rec.order(i, js, buy, lmt, limit, size, f.filled, m.open)
        hit = f.filled > 0
        if hit.any():
            self._book_fills(i, js[hit], np.where(buy[hit], 1.0, -1.0), f.filled[hit], f.price[hit], m.open[hit])

    def _refuse_shorts(self, i: int, js: NDArray[np.intp], qty: NDArray[np.float64]):
        """Cut sales to what may be sold without a forbidden short: all, or down to flat (HTB / no shorting)."""
        cfg, held = self.cfg, self.shares[js]
        cut = refuse_shorts(qty, held, np.full(js.size, cfg.allow_short) & ~self.p.htb[i, js], cfg.min_trade_shares)
        refused, allowed = cut.refused, cut.allowed
        if not refused.any():
            return js, qty
        r = js[refused]
        reason = "refused_htb" if cfg.allow_short else "refused_short"
        self.rec.event(i, r, reason, qty[refused], -qty[refused] - allowed[refused])
        self.active.shares[r] = held[refused] - allowed[refused]  # the refused part is dropped, not retried
        return js[cut.keep], cut.qty[cut.keep]

    def _simulate(self, i, js, size, buy, lmt, limit, m: OrderMarket) -> SessionFills:
        """The session's orders through :func:`~quant_assets.execution.simulate`, as per-order arrays."""
        sym = self.p.symbols[js].to_numpy()
        orders, md = simulator_inputs(self.p.sessions[i], sym, np.arange(js.size), buy, size, lmt, limit, m)
        fills, _ = simulate(orders, self.cm, md)
        out = SessionFills(np.zeros(js.size), np.zeros(js.size))
        at = fills["order_id"].to_numpy(np.intp)
        out.filled[at] = fills["quantity"].to_numpy(np.float64)
        out.price[at] = fills["price"].to_numpy(np.float64)
        return out

    def _book_fills(self, i: int, js, sign, filled, price, ref) -> None:
        """Shares, cash (fill price and fee) and lots; spread and impact are priced at the end of the run."""
        q = sign * filled
        fee = _array(self.cm.fee(filled, ref))
        self.shares[js] += q
        self.cash -= float(np.sum(q * price + fee))
        self.eq["fee"][i] = float(fee.sum())
        self.rec.fill(price, fee, self.lots.trade(js, q, price))

    def _delistings(self, i: int) -> None:
        p = self.p
        if not self.event_day["delisting"][i]:
            return
        gone = np.flatnonzero(np.isfinite(p.delisting_return[i]))
        self.delisted[gone] = True
        self.active.on[gone] = False
        for intents in self.pending.values():
            intents.on[gone] = False
        held = gone[self.shares[gone] != 0]
        if held.size:
            value = delisting_values(p.close[i, held], p.delisting_return[i, held])
            shares = self.shares[held].copy()
            realized = self.lots.close_all(held, value)
            self.cash += float(np.sum(shares * value))
            self.shares[held] = 0.0
            self.rec.event(i, held, "delisting", shares, realized)

    def _close(self, i: int, days: int) -> None:
        p, eq, marks = self.p, self.eq, self.marks[i]
        held = np.flatnonzero(self.shares != 0)
        mv = self.shares[held] * marks[held]
        short = held[mv < 0]
        if short.size:
            notional = -self.shares[short] * marks[short]
            eq["borrow"][i] = borrow_accrual(notional, p.borrow_bps[i, short], days, self.cm)
            self.cash -= eq["borrow"][i]
        nav = self.cash + float(mv.sum())
        eq["cash"][i] = self.cash
        eq["long_value"][i] = float(mv[mv > 0].sum())
        eq["short_value"][i] = float(mv[mv < 0].sum())
        eq["net_pnl"][i] = nav - (eq["nav"][i - 1] if i else self.cfg.initial_capital)
        eq["nav"][i] = nav
        if held.size:
            self.rec.position(i, held, self.shares[held], marks[held], mv, nav, self.lots.cost_basis(held))

    def _decide(self, i: int) -> None:
        tp, cfg = self.tp, self.cfg
        if not tp.decided[i]:
            return
        given, close = tp.given[i], self.marks[i]
        on = (given | (self.shares != 0) | self.active.on) & np.isfinite(close) & ~self.delisted
        target = np.where(on, target_shares(np.where(given, tp.weight[i], 0.0), self.eq["nav"][i], close), 0.0)
        lmt = np.full(on.size, cfg.order_type == "LMT")
        if tp.limit_order is not None:
            lmt = np.where(given, tp.limit_order[i], lmt)
        limit = np.full(on.size, np.nan) if tp.limit_price is None else np.where(given, tp.limit_price[i], np.nan)
        unpriced = lmt & ~np.isfinite(limit)
        if unpriced.any():
            limit = np.where(unpriced, limit_prices(close, target > self.shares, cfg.limit_offset_bps), limit)
        new = _Intents(on, target, lmt & on, np.where(lmt & on, limit, np.nan))
        at = i + 1 + int(cfg.latency_sessions)
        if at in self.pending:
            self.pending[at].replace_with(new)
        else:
            self.pending[at] = new


def _array(values) -> NDArray[np.float64]:
    return np.atleast_1d(np.asarray(values, dtype=np.float64))

"""Event-driven, position-aware, deterministic daily backtester.

Each session ``t``, in this order:

1. **Corporate actions at the open.** Cash dividends going ex on ``t`` (per pre-ex share) are
   credited to longs and debited to shorts; then splits scale share counts, lots and pending
   targets by the ratio.
2. **Orders.** Targets decided at the close of ``t - 1 - latency`` become active; every active
   target with a bar today sends ``target shares - position`` to
   :func:`quant_assets.execution.simulate` at today's open (MKT or LMT, fees, half-spread,
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

Identical inputs give identical outputs: every loop runs in sorted order and the run id hashes
the data and the configuration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from quant_assets.backtest.config import BacktestConfig
from quant_assets.backtest.lots import FifoLots
from quant_assets.backtest.market import MarketPanel
from quant_assets.backtest.metrics import summarize
from quant_assets.execution import simulate, simulate_session
from quant_assets.execution.simulator import FILL_COLUMNS

__all__ = ["BacktestResult", "run_backtest", "run_id"]

TARGET_COLUMNS = ("date", "symbol", "target_w")
EQUITY_COLUMNS = (
    "date",
    "nav",
    "cash",
    "long_value",
    "short_value",
    "net_pnl",
    "fee",
    "spread",
    "impact",
    "impact_realized",
    "borrow",
    "dividends",
    "traded_notional",
)


def _frame_digest(df: pd.DataFrame | None) -> str:
    if df is None:
        return "none"
    d = df.reindex(sorted(df.columns), axis=1)
    h = hashlib.sha256(json.dumps([str(c) for c in d.columns]).encode())
    h.update(pd.util.hash_pandas_object(d, index=False).to_numpy().tobytes())
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
    """Everything a run produced; ``report_json`` is byte-identical for identical inputs."""

    run_id: str
    config: dict
    equity: pd.DataFrame
    positions: pd.DataFrame
    fills: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    metrics: dict = field(default_factory=dict)

    def report_json(self) -> str:
        """Run id, configuration and metrics as canonical JSON."""
        return json.dumps(
            {"run_id": self.run_id, "config": self.config, "metrics": self.metrics},
            sort_keys=True,
            indent=2,
            default=str,
        )


@dataclass
class _Book:
    cash: float
    shares: np.ndarray
    lots: dict[int, FifoLots] = field(default_factory=dict)
    active: dict[int, list] = field(default_factory=dict)  # sym -> [target_shares, type, limit]
    pending: dict[int, list] = field(default_factory=dict)  # session -> [(sym, target, type, limit)]

    def fill(self, j: int, qty: float, price: float, fee: float) -> float:
        self.shares[j] += qty
        self.cash -= qty * price + fee
        return self.lots.setdefault(j, FifoLots()).trade(qty, price)


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
    missing = [c for c in TARGET_COLUMNS if c not in targets]
    if missing:
        raise ValueError(f"targets is missing columns {missing}")
    panel = MarketPanel.build(prices, symbols, cfg)
    rid = run_id(targets, prices, symbols, cfg)
    tg = targets.assign(date=pd.to_datetime(targets["date"]), symbol=targets["symbol"].astype(str))
    unknown = sorted(set(tg["symbol"]) - set(panel.symbols))
    if unknown:
        raise ValueError(f"targets name symbols without prices: {unknown[:5]}")
    tg = tg.sort_values(["date", "symbol"], kind="stable")
    by_date = {d: g for d, g in tg.groupby("date", sort=True)}
    return _Run(panel, cfg, by_date, rid).go()


class _Run:
    def __init__(self, panel: MarketPanel, cfg: BacktestConfig, by_date: dict, rid: str) -> None:
        self.p, self.cfg, self.by_date, self.rid = panel, cfg, by_date, rid
        self.cm = cfg.cost_model
        self.unit_borrow = dataclasses.replace(self.cm, borrow_bps=1.0)  # 1 bp a year, scaled per name
        self.book = _Book(cfg.initial_capital, np.zeros(len(panel.symbols)))
        self.sym_pos = {s: j for j, s in enumerate(panel.symbols)}
        self.equity: list[dict] = []
        self.positions: list[pd.DataFrame] = []
        self.fills: list[pd.DataFrame] = []
        self.orders: list[pd.DataFrame] = []
        self.events: list[tuple] = []
        self.last_close = np.full(len(panel.symbols), np.nan)
        self.delisted = np.zeros(len(panel.symbols), bool)

    def go(self) -> BacktestResult:
        prev_date = None
        for i, date in enumerate(self.p.sessions):
            row = dict.fromkeys(EQUITY_COLUMNS, 0.0)
            row["date"] = date
            self._corporate_actions(i, date, row)
            self._trade(i, date, row)
            self._delistings(i, date)
            self._close(i, date, prev_date, row)
            self._decide(i, date, row["nav"])
            prev_date = date
        return self._result()

    # -------------------------------------------------------------------- session steps
    def _corporate_actions(self, i: int, date, row: dict) -> None:
        b, p = self.book, self.p
        held = np.flatnonzero(b.shares != 0)
        for j in held[p.dividend[i, held] > 0]:
            amount = b.shares[j] * p.dividend[i, j]
            b.cash += amount
            row["dividends"] += amount
            self.events.append((date, p.symbols[j], "dividend", float(b.shares[j]), float(amount)))
        for j in np.flatnonzero(p.split_ratio[i] != 1.0):
            k = p.split_ratio[i, j]
            if b.shares[j] != 0:
                self.events.append((date, p.symbols[j], "split", float(b.shares[j] * k), float(k)))
                b.shares[j] *= k
                b.lots[j].split(k)
            if j in b.active:
                b.active[j][0] *= k
            for intents in b.pending.values():
                for intent in intents:
                    if intent[0] == j:
                        intent[1] *= k

    def _trade(self, i: int, date, row: dict) -> None:
        b, p, cfg = self.book, self.p, self.cfg
        for j, target, otype, limit in b.pending.pop(i, []):
            b.active[j] = [target, otype, limit]
        recs = []
        for j in sorted(b.active):
            if not np.isfinite(p.open[i, j]):
                continue
            target, otype, limit = b.active[j]
            qty = target - b.shares[j]
            if abs(qty) <= cfg.min_trade_shares:
                continue
            if qty < 0:
                allowed = self._sellable(i, j)
                if -qty > allowed + cfg.min_trade_shares:
                    reason = "refused_htb" if cfg.allow_short else "refused_short"
                    self.events.append((date, p.symbols[j], reason, float(qty), float(-qty - allowed)))
                    b.active[j][0] = b.shares[j] - allowed  # the refused part is dropped, not retried
                    qty = -allowed
                    if allowed <= cfg.min_trade_shares:
                        continue
            recs.append((j, qty, otype, limit))
        if not recs:
            return
        js = np.array([r[0] for r in recs])
        qty = np.array([r[1] for r in recs])
        sym = p.symbols[js].to_numpy()
        orders = pd.DataFrame(
            {
                "order_id": [f"{date:%Y%m%d}:{s}" for s in sym],
                "symbol": sym,
                "side": np.where(qty > 0, "buy", "sell"),
                "quantity": np.abs(qty),
                "type": [r[2] for r in recs],
                "limit_price": [r[3] for r in recs],
                "submit_time": date,
            }
        )
        opn = p.open[i, js]
        md = pd.DataFrame(
            {
                "bar_time": date,
                "symbol": sym,
                "price": opn,
                "spread": opn * cfg.spread_bps * 1e-4,
                "volume": np.nan_to_num(p.volume[i, js]),
                "adv": p.adv[i, js],
                "volatility": p.daily_vol[i, js],
            }
        )
        fills, report = (simulate_session if cfg.vectorized_fills else simulate)(orders, self.cm, md)
        modeled = self.cm.impact_cost(np.abs(qty), opn, p.adv[i, js], p.daily_vol[i, js])
        self._book_fills(date, fills, row)
        report = report.assign(
            date=date,
            modeled_impact=np.atleast_1d(modeled),
            requested_notional=np.abs(qty) * opn,
            filled_notional=report["filled"] * opn,
        )
        self.orders.append(report)

    def _sellable(self, i: int, j: int) -> float:
        """Shares that may be sold without a forbidden short: all, or down to flat (HTB / no shorting)."""
        if self.cfg.allow_short and not self.p.htb[i, j]:
            return np.inf
        return max(float(self.book.shares[j]), 0.0)

    def _book_fills(self, date, fills: pd.DataFrame, row: dict) -> None:
        if fills.empty:
            return
        b = self.book
        sign = np.where(fills["side"].to_numpy() == "buy", 1.0, -1.0)
        q = fills["quantity"].to_numpy() * sign
        price = fills["price"].to_numpy()
        fee = fills["fee"].to_numpy()
        realized = [
            b.fill(self.sym_pos[s], float(qq), float(pp), float(ff))
            for s, qq, pp, ff in zip(fills["symbol"], q, price, fee, strict=True)
        ]
        ref = fills["reference_price"].to_numpy()
        impact_realized = sign * (price - ref) * np.abs(q) - fills["spread_cost"].to_numpy()
        row["fee"] += float(fee.sum())
        row["spread"] += float(fills["spread_cost"].sum())
        row["impact"] += float(fills["impact_cost"].sum())
        row["impact_realized"] += float(impact_realized.sum())
        row["traded_notional"] += float(np.abs(q * ref).sum())
        self.fills.append(fills.assign(date=date, realized_pnl=realized))

    def _delistings(self, i: int, date) -> None:
        b, p = self.book, self.p
        for j in np.flatnonzero(np.isfinite(p.delisting_return[i])):
            self.delisted[j] = True
            b.active.pop(j, None)
            for intents in b.pending.values():
                intents[:] = [x for x in intents if x[0] != j]
            if b.shares[j] == 0:
                continue
            value = p.close[i, j] * (1.0 + p.delisting_return[i, j])
            shares = float(b.shares[j])
            realized = b.lots[j].close_all(value)
            b.cash += shares * value
            b.shares[j] = 0.0
            self.events.append((date, p.symbols[j], "delisting", shares, float(realized)))

    def _close(self, i: int, date, prev_date, row: dict) -> None:
        b, p = self.book, self.p
        bar = np.isfinite(p.close[i])
        self.last_close[bar] = p.close[i, bar]
        held = np.flatnonzero(b.shares != 0)
        mv = b.shares[held] * self.last_close[held]
        short = held[mv < 0]
        if short.size:
            days = (date - prev_date).days if prev_date is not None else 1
            notional = -b.shares[short] * self.last_close[short]
            unit = float(self.unit_borrow.borrow_cost(1.0, days))  # times each name's fee in bps
            row["borrow"] = float(np.sum(notional * p.borrow_bps[i, short]) * unit)
            b.cash -= row["borrow"]
        row["cash"] = b.cash
        row["long_value"] = float(mv[mv > 0].sum())
        row["short_value"] = float(mv[mv < 0].sum())
        row["nav"] = b.cash + float(mv.sum())
        prev_nav = self.equity[-1]["nav"] if self.equity else self.cfg.initial_capital
        row["net_pnl"] = row["nav"] - prev_nav
        self.equity.append(row)
        if held.size:
            self.positions.append(
                pd.DataFrame(
                    {
                        "date": date,
                        "symbol": p.symbols[held].to_numpy(),
                        "shares": b.shares[held],
                        "close": self.last_close[held],
                        "market_value": mv,
                        "weight": mv / row["nav"],
                        "cost_basis": [b.lots[j].cost_basis for j in held],
                    }
                )
            )

    def _decide(self, i: int, date, nav: float) -> None:
        b, p, cfg = self.book, self.p, self.cfg
        decided = self.by_date.get(date)
        if decided is None:
            return
        w = dict(zip(decided["symbol"], decided["target_w"].astype(float), strict=True))
        types = decided["order_type"] if "order_type" in decided else pd.Series(cfg.order_type, index=decided.index)
        limits = decided["limit_price"] if "limit_price" in decided else pd.Series(np.nan, index=decided.index)
        spec = {s: (t, float(lp)) for s, t, lp in zip(decided["symbol"], types, limits, strict=True)}
        names = set(w) | {p.symbols[j] for j in np.flatnonzero(b.shares != 0)} | {p.symbols[j] for j in b.active}
        intents = []
        for s in sorted(names):
            j = self.sym_pos[s]
            close = self.last_close[j]
            if not np.isfinite(close) or self.delisted[j]:
                continue
            target = w.get(s, 0.0) * nav / close
            otype, limit = spec.get(s, (cfg.order_type, np.nan))
            if otype == "LMT" and not np.isfinite(limit):
                side = 1.0 if target > b.shares[j] else -1.0
                limit = close * (1.0 - side * cfg.limit_offset_bps * 1e-4)
            intents.append([j, target, otype, limit if otype == "LMT" else np.nan])
        b.pending.setdefault(i + 1 + int(cfg.latency_sessions), []).extend(intents)

    # -------------------------------------------------------------------- output
    def _result(self) -> BacktestResult:
        equity = pd.DataFrame(self.equity, columns=list(EQUITY_COLUMNS))
        positions = _concat(
            self.positions, ["date", "symbol", "shares", "close", "market_value", "weight", "cost_basis"]
        )
        fills = _concat(self.fills, ["date", *FILL_COLUMNS, "realized_pnl"])
        orders = _concat(
            self.orders,
            [
                "date",
                "order_id",
                "symbol",
                "side",
                "type",
                "limit_price",
                "requested",
                "filled",
                "unfilled",
                "modeled_impact",
                "requested_notional",
                "filled_notional",
            ],
        )
        events = pd.DataFrame(self.events, columns=["date", "symbol", "event", "shares", "amount"])
        metrics = summarize(equity, orders, self.cfg.initial_capital, self.cfg.periods_per_year)
        metrics["run_id"] = self.rid
        return BacktestResult(self.rid, self.cfg.to_dict(), equity, positions, fills, orders, events, metrics)


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    return pd.concat(parts, ignore_index=True).loc[:, columns]

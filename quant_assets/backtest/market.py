"""Session x symbol matrices the engine reads: bars, corporate actions, delistings, borrow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.backtest.config import BacktestConfig

__all__ = ["PRICE_COLUMNS", "MarketPanel", "delisting_return", "session_codes", "symbol_codes"]

PRICE_COLUMNS = ("date", "symbol", "open", "close", "volume", "split_ratio", "dividend", "is_delisting")


def delisting_return(prices: pd.DataFrame) -> NDArray[np.float64]:
    r"""Delisting return ``δ`` of each row (NaN off delisting sessions).

    A ``delisting_return`` column is used as is; otherwise ``δ`` is recovered from curated
    returns, ``1 + r^{total} = (1 + r^{price} + D / P_{t-1})(1 + δ)`` with
    ``P_{t-1} = k P_t / (1 + r^{price})`` (:mod:`quant_assets.market.adjustments`); 0 when the
    returns are missing (a name delisted on its first bar).
    """
    flag = prices["is_delisting"].to_numpy(bool)
    if "delisting_return" in prices:
        return np.where(flag, prices["delisting_return"].to_numpy(np.float64), np.nan)
    k, close = prices["split_ratio"].to_numpy(np.float64), prices["close"].to_numpy(np.float64)
    rp, rt = prices["ret_price"].to_numpy(np.float64), prices["ret_total"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        prev = k * close / (1.0 + rp)
        delta = (1.0 + rt) / (1.0 + rp + prices["dividend"].to_numpy(np.float64) / prev) - 1.0
    return np.where(flag, np.where(np.isfinite(delta), delta, 0.0), np.nan)


def session_codes(dates: pd.Series, name: str) -> tuple[NDArray[np.intp], pd.DatetimeIndex]:
    """Each row's position among the sorted distinct sessions of ``dates``, and those sessions."""
    codes, uniques = pd.factorize(dates)
    if (codes < 0).any():
        raise ValueError(f"{name}.date has missing values")
    when = pd.DatetimeIndex(pd.to_datetime(uniques))
    sessions = pd.DatetimeIndex(when.unique().sort_values(), name=None)
    return sessions.get_indexer(when)[codes], sessions


def symbol_codes(symbols: pd.Series, name: str) -> tuple[NDArray[np.intp], pd.Index]:
    """Each row's position among the sorted distinct symbols (as text) of ``symbols``, and those symbols."""
    codes, uniques = pd.factorize(symbols)
    if (codes < 0).any():
        raise ValueError(f"{name}.symbol has missing values")
    text = pd.Index(uniques).astype(str)
    names = pd.Index(sorted(set(text)))
    return names.get_indexer(text)[codes], names


@dataclass(frozen=True)
class MarketPanel:
    """Aligned ``(session, symbol)`` matrices; NaN prices where a name has no bar."""

    sessions: pd.DatetimeIndex
    symbols: pd.Index
    open: NDArray[np.float64]
    close: NDArray[np.float64]
    volume: NDArray[np.float64]
    adv: NDArray[np.float64]
    daily_vol: NDArray[np.float64]
    split_ratio: NDArray[np.float64]
    dividend: NDArray[np.float64]
    delisting_return: NDArray[np.float64]
    htb: NDArray[np.bool_]
    borrow_bps: NDArray[np.float64]

    @classmethod
    def build(cls, prices: pd.DataFrame, symbols_master: pd.DataFrame | None, cfg: BacktestConfig) -> MarketPanel:
        """From curated prices (:class:`~quant_assets.schemas.AdjustedPrices`) and the symbols master.

        ADV is the mean volume and volatility the sample standard deviation of close-to-close
        total returns over the trailing windows to ``t - 1`` (the session's own volume while a
        name has no history; :attr:`BacktestConfig.default_daily_vol` before two returns). The
        master's ``htb`` and ``borrow_fee_bps`` are carried forward from their latest date
        (a master without ``date`` applies to every session); unknown fees take
        :attr:`BacktestConfig.default_borrow_bps`.
        """
        missing = [c for c in PRICE_COLUMNS if c not in prices]
        if missing:
            raise ValueError(f"prices is missing columns {missing}")
        di, sessions = session_codes(prices["date"], "prices")
        si, names = symbol_codes(prices["symbol"], "prices")
        cell = di * len(names) + si
        row_of = np.full(len(sessions) * len(names), -1, np.int64)
        row_of[cell] = np.arange(cell.size)
        if (row_of[cell] != np.arange(cell.size)).any():
            raise ValueError("prices has duplicate (date, symbol) rows")

        def wide(values: NDArray[np.float64], fill: float = np.nan) -> NDArray[np.float64]:
            out = np.full(len(sessions) * len(names), fill)
            out[cell] = values if np.isnan(fill) else np.where(np.isnan(values), fill, values)
            return out.reshape(len(sessions), len(names))

        def col(name: str) -> NDArray[np.float64]:
            return prices[name].to_numpy(np.float64)

        close = wide(col("close"))
        volume = wide(col("volume"))
        adv = pd.DataFrame(volume).rolling(cfg.adv_window, min_periods=1).mean().shift(1).to_numpy()
        adv = np.where(np.isfinite(adv) & (adv > 0), adv, np.maximum(np.nan_to_num(volume), 1.0))
        prev = pd.DataFrame(close).ffill().shift(1).to_numpy()
        split, div = wide(col("split_ratio"), 1.0), wide(col("dividend"), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = (split * close + div) / prev - 1.0
        vol = pd.DataFrame(ret).rolling(cfg.vol_window, min_periods=2).std(ddof=1).shift(1).to_numpy()
        vol = np.where(np.isfinite(vol) & (vol > 0), vol, cfg.default_daily_vol)
        htb, fee = cls._borrow(symbols_master, sessions, names, cfg)
        dl = wide(delisting_return(prices))
        return cls(sessions, names, wide(col("open")), close, volume, adv, vol, split, div, dl, htb, fee)

    @staticmethod
    def _borrow(master: pd.DataFrame | None, sessions: pd.DatetimeIndex, names: pd.Index, cfg: BacktestConfig):
        shape = (len(sessions), len(names))
        if master is None or master.empty:
            return np.zeros(shape, bool), np.full(shape, cfg.default_borrow_bps)
        m = master.assign(symbol=master["symbol"].astype(str))
        if "date" not in m:
            m = m.drop_duplicates("symbol", keep="last").set_index("symbol").reindex(names)
            htb = np.broadcast_to(m["htb"].fillna(False).to_numpy(bool), shape).copy()
            fee = m["borrow_fee_bps"].to_numpy(np.float64) if "borrow_fee_bps" in m else np.full(len(names), np.nan)
            fee = np.broadcast_to(np.where(np.isfinite(fee), fee, cfg.default_borrow_bps), shape).copy()
            return htb, fee
        m = m.assign(date=pd.to_datetime(m["date"])).sort_values("date", kind="stable")

        def carried(col: str) -> pd.DataFrame:
            # as floats: a boolean column pivots to object dtype, which ffill would downcast
            w = m.assign(**{col: m[col].astype(float)}).pivot_table(
                index="date", columns="symbol", values=col, aggfunc="last"
            )
            full = w.reindex(w.index.union(sessions)).ffill()
            return full.reindex(index=sessions, columns=names)

        htb = carried("htb").astype(float).fillna(0.0).to_numpy() > 0.5
        fee = carried("borrow_fee_bps").to_numpy(np.float64) if "borrow_fee_bps" in m else np.full(shape, np.nan)
        return htb, np.where(np.isfinite(fee), fee, cfg.default_borrow_bps)

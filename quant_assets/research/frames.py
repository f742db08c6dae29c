"""The research inputs bundled once: :class:`MarketFrames` and its session x symbol matrices.

Every research step (universe, features, labels) reads the same five frames: curated prices
(``adjusted_prices``), fundamentals by arrival (``raw_fundamentals``), the earnings calendar as
announced (``raw_earnings_calendar``), the point-in-time symbol master (``symbols``) and the
rate curve (``rates``). :class:`MarketFrames` holds them and pivots the prices once into wide
``(session, symbol)`` matrices (:class:`Wide`), on which the rolling computations are
vectorized. It is built from the store, from an in-memory :class:`SyntheticMarket` (through the
same curation as the graph, :func:`~quant_assets.market.feeds.curate_window`) or from frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.market.feeds import curate_window

__all__ = ["MarketFrames", "Wide"]


@dataclass(frozen=True)
class Wide:
    """Prices as ``(T, N)`` float matrices over ``sessions`` x ``symbols`` (NaN: no bar).

    ``has_bar`` marks the sessions a name traded; ``delisted`` marks its delisting session.
    """

    sessions: pd.DatetimeIndex
    symbols: pd.Index
    open: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    ret: np.ndarray
    ret_price: np.ndarray
    dividend: np.ndarray
    split_ratio: np.ndarray
    shares: np.ndarray
    has_bar: np.ndarray
    delisted: np.ndarray

    @property
    def dollar_volume(self) -> np.ndarray:
        """Raw close times raw volume (USD; invariant to splits)."""
        return self.close * self.volume

    def long(self, matrix: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(dates, symbols, values)`` of the cells where ``mask`` holds, in (date, symbol) order."""
        t_i, n_i = np.nonzero(mask)
        return self.sessions.values[t_i], self.symbols.to_numpy()[n_i], matrix[t_i, n_i]


@dataclass(frozen=True)
class MarketFrames:
    """The point-in-time inputs of the research sleeve.

    Parameters
    ----------
    prices : DataFrame
        Curated prices (``schemas.AdjustedPrices``: raw OHLCV, ``split_ratio``, ``dividend``,
        ``ret_price``, ``ret_total``, ``is_delisting``).
    fundamentals : DataFrame
        ``symbol, period_end, report_date, book_equity, shares_outstanding, eps``; a row is
        known from the close of its ``report_date``.
    earnings : DataFrame
        ``symbol, announce_date, earnings_date``; known from the close of ``announce_date``.
    symbols : DataFrame
        Point-in-time master: ``date, symbol, shares_outstanding`` (more columns allowed).
    rates : DataFrame
        ``date, tenor_days, rate`` (continuously compounded).
    through : date-like, optional
        Last session of the matrices (default: the last price date). Set it past the data to
        score the session after the last close.
    """

    prices: pd.DataFrame
    fundamentals: pd.DataFrame
    earnings: pd.DataFrame
    symbols: pd.DataFrame
    rates: pd.DataFrame
    through: pd.Timestamp | None = None

    @classmethod
    def from_synthetic(cls, market, start=None, end=None) -> MarketFrames:
        """Frames of an in-memory ``SyntheticMarket`` over ``[start, end]`` (default: all of it).

        Prices go through :func:`~quant_assets.market.feeds.curate_window`, the curation the
        graph runs; no lineage-bearing store is involved, so it takes well under a second.
        """
        start = pd.Timestamp(start if start is not None else market.sessions[0])
        end = pd.Timestamp(end if end is not None else market.sessions[-1])
        sessions = market.sessions[(market.sessions >= start) & (market.sessions <= end)]
        prices = curate_window(
            pd.DatetimeIndex(sessions, name="date"),
            market.bars(start, end),
            market.corporate_actions(start, end),
            market.delistings(start, end),
            config_fingerprint=market.config.fingerprint(),
        )
        return cls(
            prices=prices,
            fundamentals=market.fundamentals(start, end),
            earnings=market.earnings_calendar(start, end),
            symbols=market.symbols(start, end),
            rates=market.rates(start, end),
        )

    @classmethod
    def from_store(cls, store, start, end) -> MarketFrames:
        """Frames read from a :class:`~quant_assets.market.store.ParquetStore` over ``[start, end]``.

        Layers and datasets are those the market graph writes: ``curated/adjusted_prices``,
        ``raw/raw_fundamentals``, ``raw/raw_earnings_calendar``, ``reference/symbols`` and
        ``reference/rates``. Missing sessions are an error (the store's integrity rules).
        """
        expected = sessions_in_range(start, end)

        def read(layer: str, dataset: str) -> pd.DataFrame:
            return store.read_window(layer, dataset, expected[0], expected[-1], expected=expected)

        return cls(
            prices=read("curated", "adjusted_prices"),
            fundamentals=read("raw", "raw_fundamentals"),
            earnings=read("raw", "raw_earnings_calendar"),
            symbols=read("reference", "symbols"),
            rates=read("reference", "rates"),
        )

    def sessions(self) -> pd.DatetimeIndex:
        """Every exchange session from the first price date to :attr:`through` (or the last)."""
        dates = pd.DatetimeIndex(self.prices["date"])
        if not len(dates):
            return pd.DatetimeIndex([])
        last = dates.max() if self.through is None else max(dates.max(), pd.Timestamp(self.through))
        return sessions_in_range(dates.min(), last)

    @cached_property
    def wide(self) -> Wide:
        """The prices pivoted to ``(session, symbol)`` matrices (computed once)."""
        sessions = self.sessions()
        p = self.prices
        codes, symbols = pd.factorize(p["symbol"], sort=True)
        t_i = sessions.get_indexer(pd.DatetimeIndex(p["date"]))
        if (t_i < 0).any():
            raise ValueError("prices hold dates that are not exchange sessions")
        shape = (len(sessions), len(symbols))

        def mat(values, fill=np.nan) -> np.ndarray:
            out = np.full(shape, fill, dtype=float)
            out[t_i, codes] = values
            return out

        shares = np.full(shape, np.nan)
        s_codes = pd.Index(symbols).get_indexer(self.symbols["symbol"])
        s_t = sessions.get_indexer(pd.DatetimeIndex(self.symbols["date"]))
        ok = (s_codes >= 0) & (s_t >= 0)
        shares[s_t[ok], s_codes[ok]] = self.symbols["shares_outstanding"].to_numpy(dtype=float)[ok]
        has_bar = np.zeros(shape, dtype=bool)
        has_bar[t_i, codes] = True
        delisted = np.zeros(shape, dtype=bool)
        delisted[t_i, codes] = p["is_delisting"].to_numpy(dtype=bool)
        return Wide(
            sessions=pd.DatetimeIndex(sessions, name="date"),
            symbols=pd.Index(symbols, name="symbol"),
            open=mat(p["open"].to_numpy(dtype=float)),
            close=mat(p["close"].to_numpy(dtype=float)),
            volume=mat(p["volume"].to_numpy(dtype=float)),
            ret=mat(p["ret_total"].to_numpy(dtype=float)),
            ret_price=mat(p["ret_price"].to_numpy(dtype=float)),
            dividend=mat(p["dividend"].to_numpy(dtype=float), 0.0),
            split_ratio=mat(p["split_ratio"].to_numpy(dtype=float), 1.0),
            shares=shares,
            has_bar=has_bar,
            delisted=delisted,
        )

    def session_index(self, dates, *, strict: bool = False) -> np.ndarray:
        """Row positions of ``dates`` in :attr:`wide` (``-1`` for dates outside it; ``strict``: raise)."""
        dates = pd.DatetimeIndex(dates)
        rows = self.wide.sessions.get_indexer(dates)
        if strict and (rows < 0).any():
            raise ValueError(f"sessions outside the market's sessions: {list(dates[rows < 0][:5])}")
        return rows

    def restrict(self, start, end, through=None) -> MarketFrames:
        """The frames with every row known in ``[start, end]`` (by its arrival date)."""
        a, b = pd.Timestamp(start), pd.Timestamp(end)

        def cut(df: pd.DataFrame, col: str) -> pd.DataFrame:
            d = df[col]
            return df[(d >= a) & (d <= b)].reset_index(drop=True)

        return MarketFrames(
            prices=cut(self.prices, "date"),
            fundamentals=cut(self.fundamentals, "report_date"),
            earnings=cut(self.earnings, "announce_date"),
            symbols=cut(self.symbols, "date"),
            rates=cut(self.rates, "date"),
            through=through,
        )

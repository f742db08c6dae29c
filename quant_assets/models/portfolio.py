"""Decile long/short path returns net of fee, half-spread and square-root impact.

The strategy every candidate is judged by: at each entry session ``t`` a tranche goes long the
top decile of scores and short the bottom decile, equal weight, half the tranche's capital on
each side (gross 1, dollar neutral), and holds it ``horizon`` sessions. The book is ``horizon``
staggered tranches, each ``book_size / horizon``; tranche ``t`` replaces tranche
``t - horizon``, so what is traded at ``t`` is the difference of their weights (a name with no
earlier tranche in view is traded in full, a conservative choice at fold edges).

The tranche's return is ``sum_i w_i y_i - cost_t`` with ``y`` the realized ``horizon``-session
return and ``cost_t`` the dollar cost of the trades from :class:`~quant_assets.execution.CostModel`
(fee, half the quoted spread, square-root impact with the name's daily volatility and average
dollar volume) over the tranche's capital. Returns are per tranche (one per entry session);
annualize their Sharpe ratio with ``sqrt(252 / horizon)``; the book's equity moves by
``return / horizon`` per tranche.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.execution import CostModel

__all__ = ["CostInputs", "DecileLongShort", "annualized_sharpe", "decile_weights", "max_drawdown"]

SESSIONS_PER_YEAR = 252


@dataclass(frozen=True)
class CostInputs:
    """Per-row trading-cost inputs known before the open (aligned with the panel's rows).

    ``price`` (currency), ``spread`` (quoted spread, currency), ``adv_dollar`` (average daily
    dollar volume), ``daily_vol`` (daily return volatility, fraction).
    """

    price: NDArray[np.float64]
    spread: NDArray[np.float64]
    adv_dollar: NDArray[np.float64]
    daily_vol: NDArray[np.float64]

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> CostInputs:
        """From columns ``price``, ``spread``, ``adv_dollar``, ``daily_vol`` (NaN filled conservatively)."""
        price = df["price"].to_numpy(np.float64)
        price = np.where(np.isfinite(price) & (price > 0), price, 1.0)
        spread = df["spread"].to_numpy(np.float64)
        spread = np.where(np.isfinite(spread), spread, 0.002 * price)
        adv = df["adv_dollar"].to_numpy(np.float64)
        adv = np.where(np.isfinite(adv) & (adv > 0), adv, np.nanmedian(adv) if np.isfinite(adv).any() else 1e6)
        vol = df["daily_vol"].to_numpy(np.float64)
        vol = np.where(np.isfinite(vol) & (vol > 0), vol, np.nanmedian(vol) if np.isfinite(vol).any() else 0.02)
        return cls(price, spread, adv, vol)


def decile_weights(score: NDArray[np.float64], codes: NDArray[np.intp], quantile: float = 0.1) -> NDArray[np.float64]:
    """Equal weights: +0.5/n on the top ``quantile`` of each session, -0.5/n on the bottom.

    ``n = max(1, floor(quantile * m))`` names per side in a session of ``m`` rows (sessions with
    fewer than 2 rows hold nothing); ties broken by row order.

    Examples
    --------
    >>> decile_weights(np.array([3.0, 1.0, 2.0, 0.0]), np.zeros(4, dtype=np.intp), 0.25).tolist()
    [0.5, 0.0, 0.0, -0.5]
    """
    order = np.lexsort((score, codes))
    size = np.bincount(codes)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    pos = np.empty(codes.size, dtype=np.int64)
    pos[order] = np.arange(codes.size) - start[codes[order]]
    m = size[codes]
    n = np.maximum(1, np.floor(quantile * m)).astype(np.int64)
    w = np.zeros(codes.size)
    ok = m >= 2
    w[ok & (pos >= m - n)] = 0.5 / n[ok & (pos >= m - n)]
    w[ok & (pos < n)] = -0.5 / n[ok & (pos < n)]
    return w


def max_drawdown(book_returns: pd.Series | NDArray[np.float64]) -> float:
    """Largest peak-to-trough fall of the compounded equity ``prod(1 + r)``, as a fraction (>= 0)."""
    r = np.nan_to_num(np.asarray(book_returns, dtype=np.float64))
    equity = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak))


def annualized_sharpe(tranche_returns: pd.Series | NDArray[np.float64], horizon: int) -> float:
    """``mean / std * sqrt(252 / horizon)`` of per-tranche returns (NaN if undefined)."""
    r = np.asarray(tranche_returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 2 or np.std(r, ddof=1) == 0:
        return float("nan")
    return float(np.mean(r) / np.std(r, ddof=1) * np.sqrt(SESSIONS_PER_YEAR / horizon))


class DecileLongShort:
    """``returns_fn`` for :func:`~quant_assets.validation.run_cpcv`: net decile long/short tranches.

    Bound to the whole panel (row times, symbols, cost inputs); called with a test set's
    predictions, realized returns and times, it finds the test rows again (a CPCV test set is
    every row of its test sessions, in row order) and returns the net tranche return per session.

    Parameters
    ----------
    times, symbols : array_like
        Entry session and symbol of every panel row.
    costs : CostInputs
        Cost inputs of every panel row.
    horizon : int
        Holding period in sessions (the label horizon of ``y``).
    book_size : float
        Capital of the whole book in currency (each tranche holds ``book_size / horizon``).
    cost_model : CostModel
    quantile : float, default 0.1
        Share of names per side (deciles).
    """

    def __init__(
        self,
        times,
        symbols,
        costs: CostInputs,
        horizon: int,
        book_size: float,
        cost_model: CostModel | None = None,
        quantile: float = 0.1,
    ) -> None:
        self.times = np.asarray(times)
        self.symbols = np.asarray(symbols)
        self.costs = costs
        self.horizon = int(horizon)
        self.book_size = float(book_size)
        self.cost_model = cost_model or CostModel()
        self.quantile = quantile
        self.all_times = np.unique(self.times)

    def _rows(self, groups: NDArray) -> NDArray[np.intp]:
        idx = np.flatnonzero(np.isin(self.times, np.unique(groups)))
        if idx.size != len(groups) or not np.array_equal(self.times[idx], np.asarray(groups)):
            raise ValueError("the test rows are not all rows of their sessions in panel order")
        return idx

    def tranche_costs(self, idx: NDArray[np.intp], w: NDArray[np.float64]) -> pd.Series:
        """Cost per session (fraction of tranche capital) of moving from tranche ``t - h`` to ``t``."""
        tranche = self.book_size / self.horizon
        slot = np.searchsorted(self.all_times, self.times[idx])
        sym = self.symbols[idx]
        key = pd.Series(np.arange(idx.size), index=pd.MultiIndex.from_arrays([slot, sym]))
        cur = pd.Series(w, index=key.index)
        prev = pd.Series(w, index=pd.MultiIndex.from_arrays([slot + self.horizon, sym]))
        prev = prev[prev.index.get_level_values(0).isin(np.unique(slot))]
        dw = cur.sub(prev, fill_value=0.0).abs()
        dw = dw[dw > 0]
        s_, n_ = dw.index.get_level_values(0), dw.index.get_level_values(1)
        # A name leaving the book is priced with its row at t if it has one, else at t - h.
        here = key.reindex(dw.index).to_numpy(dtype=np.float64)
        there = key.reindex(pd.MultiIndex.from_arrays([s_ - self.horizon, n_])).to_numpy(dtype=np.float64)
        rows = idx[np.where(np.isfinite(here), here, there).astype(np.int64)]
        c = self.costs
        shares = dw.to_numpy() * tranche / c.price[rows]
        dollars = self.cost_model.costs(
            shares, c.price[rows], c.spread[rows], c.adv_dollar[rows] / c.price[rows], c.daily_vol[rows]
        ).total
        per_slot = pd.Series(np.asarray(dollars, dtype=np.float64) / tranche).groupby(np.asarray(s_)).sum()
        per_slot.index = self.all_times[per_slot.index.to_numpy()]
        return per_slot

    def __call__(self, prediction, y, groups) -> pd.Series:
        idx = self._rows(np.asarray(groups))
        times, codes = np.unique(np.asarray(groups), return_inverse=True)
        w = decile_weights(np.asarray(prediction, dtype=np.float64), codes, self.quantile)
        gross = np.bincount(codes, weights=w * np.asarray(y, dtype=np.float64), minlength=times.size)
        cost = self.tranche_costs(idx, w).reindex(times).fillna(0.0).to_numpy()
        return pd.Series(gross - cost, index=times)

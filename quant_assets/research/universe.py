"""Point-in-time universe: the top-N names by 60-session average dollar volume (blueprint §18.1).

The universe of session ``t`` is ranked on data up to the close of ``t-1``:

* ``adv_60`` is the mean of raw close x raw volume over the ``window`` sessions ending at
  ``t-1`` (sessions without a bar are skipped; at least ``min_obs`` bars are required);
* a name is eligible if it traded at ``t-1`` and had not delisted by then (its delisting
  session is its last bar, so a name is in the universe on its delisting session, entered at
  that session's open, and never after);
* names that delist later are ranked like any other (no survivorship: the ranking never looks
  past ``t-1``).

Ties in ``adv_60`` are broken by symbol, so membership is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.research.frames import MarketFrames

__all__ = ["build_universe", "member_mask", "universe_mask", "rolling_mean"]


def rolling_mean(x: np.ndarray, window: int, min_obs: int) -> np.ndarray:
    """Mean over the last ``window`` rows of each column, skipping NaN (NaN below ``min_obs``).

    Computed by differences of cumulative sums: row ``t`` reads rows ``t-window+1 .. t`` only.
    """
    valid = ~np.isnan(x)
    s = np.cumsum(np.where(valid, x, 0.0), axis=0)
    n = np.cumsum(valid, axis=0, dtype=float)
    s[window:] = s[window:] - s[:-window]
    n[window:] = n[window:] - n[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= min_obs, s / np.maximum(n, 1), np.nan)


def member_mask(market: MarketFrames, universe: pd.DataFrame | None = None) -> np.ndarray:
    """``(T, N)`` mask of the names of each session's universe over ``market.wide``.

    ``universe`` holds ``date, symbol`` rows (rows outside the market are ignored); default:
    every name that traded, and had not delisted, at the session before.
    """
    w = market.wide
    mask = np.zeros_like(w.has_bar)
    if universe is None:
        mask[1:] = w.has_bar[:-1] & ~w.delisted[:-1]
        return mask
    t_i = market.session_index(universe["date"])
    n_i = w.symbols.get_indexer(universe["symbol"])
    ok = (t_i >= 0) & (n_i >= 0)
    mask[t_i[ok], n_i[ok]] = True
    return mask


def universe_mask(
    market: MarketFrames, top_n: int, window: int = 60, min_obs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(member, adv)`` over ``market.wide``: row ``t`` is the universe of session ``t``.

    ``adv[t]`` is the average dollar volume over the ``window`` sessions ending at ``t-1``.
    """
    if top_n < 1 or window < 1:
        raise ValueError(f"top_n and window must be >= 1, got {top_n}, {window}")
    min_obs = max(1, window // 3) if min_obs is None else int(min_obs)
    w = market.wide
    dv = np.where(w.has_bar, w.dollar_volume, np.nan)
    adv_close = rolling_mean(dv, window, min_obs)
    eligible_close = w.has_bar & ~w.delisted & ~np.isnan(adv_close)
    adv = np.full_like(adv_close, np.nan)
    adv[1:] = np.where(eligible_close[:-1], adv_close[:-1], np.nan)
    # rank descending by adv, ties by symbol (column order is sorted by symbol)
    key = np.where(np.isnan(adv), -np.inf, adv)
    order = np.argsort(-key, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[1])[None, :].repeat(order.shape[0], 0), axis=1)
    member = (rank < top_n) & ~np.isnan(adv)
    return member, adv


def build_universe(
    market: MarketFrames, sessions, top_n: int, window: int = 60, min_obs: int | None = None
) -> pd.DataFrame:
    """The universe of each session in ``sessions``: ``date, symbol, rank, adv_60``.

    Parameters
    ----------
    market : MarketFrames
        Inputs; only prices are read. History before ``sessions`` gives the ranking its window.
    sessions : sequence of date-like
        Sessions to build (must lie within the market's sessions).
    top_n : int
        Universe size (names ranked 1..top_n by ``adv_60``; fewer if fewer are eligible).
    window : int, default 60
        Sessions of average dollar volume.
    min_obs : int, optional
        Bars required in the window (default ``window // 3``).

    Returns
    -------
    DataFrame
        ``date`` (the session the universe is for), ``symbol``, ``rank`` (1 = most liquid),
        ``adv_60`` (USD, mean close x volume over the window ending the session before),
        sorted by (date, rank).
    """
    member, adv = universe_mask(market, top_n, window, min_obs)
    w = market.wide
    rows = market.session_index(sessions, strict=True)
    sub = np.zeros_like(member)
    sub[rows] = member[rows]
    dates, symbols, values = w.long(adv, sub)
    out = pd.DataFrame({"date": dates, "symbol": symbols, "adv_60": values})
    out["rank"] = out.groupby("date")["adv_60"].rank(ascending=False, method="first").astype("int64")
    return out.sort_values(["date", "rank"], kind="stable").reset_index(drop=True)[["date", "symbol", "rank", "adv_60"]]

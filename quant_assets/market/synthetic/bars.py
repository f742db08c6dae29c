"""Daily bars (OHLC, VWAP, volume, quoted spread, trade count) around the simulated closes.

Given the close ``C_t`` and the previous close adjusted for today's corporate action
``C*_{t-1} = (C_{t-1} - D_t) / ratio_t``:

* open ``O = C*_{t-1} exp(0.3 ln(C / C*_{t-1}) + 0.45 sigma z)`` (overnight share of the move);
* high/low extend ``max(O, C)`` / ``min(O, C)`` by exponential excursions with mean
  ``0.5 sigma`` (a simple stand-in for the Brownian-bridge range, Parkinson 1980); high rounds up
  and low down to the tick, so ``low <= min(O, C) <= max(O, C) <= high`` and ``low >= tick``;
* VWAP is the typical price ``(H + L + C) / 3`` with noise, clipped to ``[L, H]``;
* dollar volume ``= turnover * market cap * LN(0.35) * (1 + 1.5 |r| / sigma) / 2.2`` (busier on big
  moves), shares ``= dollar volume / VWAP``; trades ``= volume / average trade size``;
* quoted spread: :func:`.liquidity.dollar_spread` of the relative spread of the dollar ADV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.equities import EquityPaths
from quant_assets.market.synthetic.liquidity import (
    ceil_to_tick,
    dollar_spread,
    floor_to_tick,
    relative_spread,
    round_to_tick,
)
from quant_assets.market.synthetic.seeding import stream
from quant_assets.market.synthetic.universe import Universe

__all__ = ["BAR_COLUMNS", "bars_frame"]

BAR_COLUMNS = ("date", "symbol", "open", "high", "low", "close", "vwap", "volume",
               "nbbo_spread", "trades", "session_id")


CHUNK_SESSIONS = 63  # bars are built (and their noise drawn) per block of sessions


def bars_frame(seed: int, sessions: pd.DatetimeIndex, uni: Universe, paths: EquityPaths,
               corp_ratio: np.ndarray, corp_div: np.ndarray) -> pd.DataFrame:
    """Bars for every listed (session, name), sorted by (date, symbol).

    ``corp_ratio`` and ``corp_div`` are (T, N) arrays of the split ratio and dividend going ex
    on each session (1 and 0 elsewhere). Blocks of :data:`CHUNK_SESSIONS` sessions draw their
    noise from their own stream, which bounds the memory of the temporaries.
    """
    n_rows = int(paths.listed.sum())
    cols: dict[str, np.ndarray] = {}
    row = 0
    for b, t0 in enumerate(range(0, len(sessions), CHUNK_SESSIONS)):
        blk = _bars_block(stream(seed, "bars", b), uni, paths, corp_ratio, corp_div, t0,
                          min(t0 + CHUNK_SESSIONS, len(sessions)))
        for k, v in blk.items():
            if k not in cols:
                cols[k] = np.empty(n_rows, dtype=v.dtype)
            cols[k][row:row + len(v)] = v
        row += len(blk["close"])
    session_id = cols.pop("session_id")
    symbol = uni.symbols[cols.pop("name")]
    data = {"date": sessions.values[session_id], "symbol": symbol, **cols,
            "session_id": session_id}
    return pd.DataFrame({k: data[k] for k in BAR_COLUMNS}, copy=False)


def _bars_block(rng: np.random.Generator, uni: Universe, paths: EquityPaths,
                corp_ratio: np.ndarray, corp_div: np.ndarray, t0: int,
                t1: int) -> dict[str, np.ndarray]:
    t_i, n_i = np.nonzero(paths.listed[t0:t1])  # row-major: sorted by session then name
    t_i = t_i + t0
    m = len(t_i)
    c = paths.close[t_i, n_i]
    tick = paths.tick[t_i, n_i]
    sig = paths.sigma[t_i, n_i]
    prev = np.where(t_i > 0, paths.close[np.maximum(t_i - 1, 0), n_i], np.nan)
    base = (prev - corp_div[t_i, n_i]) / corp_ratio[t_i, n_i]
    base = np.where(np.isfinite(base) & (base > 0), base, c)  # listing day: open near the close
    o = base * np.exp(0.3 * np.log(c / base) + 0.45 * sig * rng.standard_normal(m))
    o = np.maximum(round_to_tick(o, tick), tick)
    hi = ceil_to_tick(np.maximum(o, c) * np.exp(0.5 * sig * rng.exponential(1.0, m)), tick)
    lo = np.maximum(floor_to_tick(np.minimum(o, c) * np.exp(-0.5 * sig * rng.exponential(1.0, m)),
                                  tick), tick)
    typical = (hi + lo + c) / 3.0 * np.exp(0.1 * sig * rng.standard_normal(m))
    vwap = np.clip(np.round(np.clip(typical, lo, hi), 4), lo, hi)

    dadv = uni.turnover[n_i] * paths.shares[t_i, n_i] * c
    r = paths.ret[t_i, n_i]
    r_abs = np.where(np.isfinite(r), np.abs(r), 0.0)
    dvol = dadv * np.exp(0.35 * rng.standard_normal(m) - 0.06125) * (1.0 + 1.5 * r_abs / sig) / 2.2
    volume = np.maximum(np.round(dvol / vwap), 100).astype(np.int64)
    ats = uni.trade_size[n_i] * np.exp(0.1 * rng.standard_normal(m))
    trades = np.maximum(np.round(volume / ats), 1).astype(np.int64)
    spread = dollar_spread(relative_spread(dadv) * np.exp(0.15 * rng.standard_normal(m)), c, tick)
    return {"session_id": t_i.astype(np.int64), "name": n_i, "open": o, "high": hi, "low": lo,
            "close": c, "vwap": vwap, "volume": volume, "nbbo_spread": spread, "trades": trades}

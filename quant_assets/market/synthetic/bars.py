"""Daily bars (OHLC, VWAP, volume, quoted spread, trade count) around the simulated closes.

Given the close ``C_t`` and the previous close adjusted for today's corporate action
``C*_{t-1} = (C_{t-1} - D_t) / ratio_t``:

* open ``O = C*_{t-1} exp(0.3 ln(C / C*_{t-1}) + 0.45 sigma z)`` (overnight share of the move);
* high/low extend ``max(O, C)`` / ``min(O, C)`` by exponential excursions with mean
  ``0.5 sigma`` (a simple stand-in for the Brownian-bridge range, Parkinson 1980); high rounds up
  and low down to the tick, so ``low <= min(O, C) <= max(O, C) <= high`` and ``low >= tick``;
* VWAP is the typical price ``(H + L + C) / 3`` with noise, clipped to ``[L, H]``;
* log dollar volume ``= ln(turnover * market cap) + a_t + 0.4 ln(sigma_t / sigma_bar)
  + ln(1 + 0.25 |r| / sigma) + 0.25 z`` (up to a constant keeping the mean at turnover x cap):
  ``a_t`` a per-name AR(1) activity state (half-life 7 sessions, sd 0.3) gives persistent
  volume (Lo & Wang 2000), the volatility level and the day's absolute return a moderate
  volume-volatility link (Karpoff 1987); shares ``= dollar volume / VWAP``;
  trades ``= volume / average trade size``;
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

BAR_COLUMNS = (
    "date",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "vwap",
    "volume",
    "nbbo_spread",
    "trades",
    "session_id",
)


CHUNK_SESSIONS = 63  # bars are built (and their noise drawn) per block of sessions
ACTIVITY_HALF_LIFE, ACTIVITY_SD, VOLUME_NOISE_SD = 7.0, 0.3, 0.25
VOL_LEVEL_ELASTICITY, ABS_RETURN_LINK = 0.4, 0.25


def activity_state(seed: int, n_t: int, n: int) -> np.ndarray:
    """(T, N) stationary AR(1) log-activity state, half-life :data:`ACTIVITY_HALF_LIFE`.

    Examples
    --------
    >>> a = activity_state(1, 20_000, 1)[:, 0]
    >>> bool(0.85 < np.corrcoef(a[:-1], a[1:])[0, 1] < 0.95 and 0.25 < a.std() < 0.35)
    True
    """
    rng = stream(seed, "activity")
    phi = 0.5 ** (1.0 / ACTIVITY_HALF_LIFE)
    shocks = rng.standard_normal((n_t, n)) * ACTIVITY_SD * np.sqrt(1.0 - phi**2)
    out = np.empty((n_t, n))
    out[0] = ACTIVITY_SD * rng.standard_normal(n)
    for t in range(1, n_t):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


# mean of ln E[multiplier]: lognormal parts + E ln(1 + 0.25 |r| / sigma) ~ ln(1.19)
_LOG_MULT_MEAN = 0.5 * (ACTIVITY_SD**2 + VOLUME_NOISE_SD**2) + np.log(1.19)


def bars_frame(
    seed: int,
    sessions: pd.DatetimeIndex,
    uni: Universe,
    paths: EquityPaths,
    corp_ratio: np.ndarray,
    corp_div: np.ndarray,
) -> pd.DataFrame:
    """Bars for every listed (session, name), sorted by (date, symbol).

    ``corp_ratio`` and ``corp_div`` are (T, N) arrays of the split ratio and dividend going ex
    on each session (1 and 0 elsewhere). Blocks of :data:`CHUNK_SESSIONS` sessions draw their
    noise from their own stream, which bounds the memory of the temporaries.
    """
    n_rows = int(paths.listed.sum())
    activity = activity_state(seed, len(sessions), uni.n)
    cols: dict[str, np.ndarray] = {}
    row = 0
    for b, t0 in enumerate(range(0, len(sessions), CHUNK_SESSIONS)):
        blk = _bars_block(
            stream(seed, "bars", b),
            uni,
            paths,
            activity,
            corp_ratio,
            corp_div,
            t0,
            min(t0 + CHUNK_SESSIONS, len(sessions)),
        )
        for k, v in blk.items():
            if k not in cols:
                cols[k] = np.empty(n_rows, dtype=v.dtype)
            cols[k][row : row + len(v)] = v
        row += len(blk["close"])
    session_id = cols.pop("session_id")
    symbol = uni.symbols[cols.pop("name")]
    data = {"date": sessions.values[session_id], "symbol": symbol, **cols, "session_id": session_id}
    return pd.DataFrame({k: data[k] for k in BAR_COLUMNS}, copy=False)


def _bars_block(
    rng: np.random.Generator,
    uni: Universe,
    paths: EquityPaths,
    activity: np.ndarray,
    corp_ratio: np.ndarray,
    corp_div: np.ndarray,
    t0: int,
    t1: int,
) -> dict[str, np.ndarray]:
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
    lo = np.maximum(floor_to_tick(np.minimum(o, c) * np.exp(-0.5 * sig * rng.exponential(1.0, m)), tick), tick)
    typical = (hi + lo + c) / 3.0 * np.exp(0.1 * sig * rng.standard_normal(m))
    vwap = np.clip(np.round(np.clip(typical, lo, hi), 4), lo, hi)

    dadv = uni.turnover[n_i] * paths.shares[t_i, n_i] * c
    r = paths.ret[t_i, n_i]
    r_abs = np.where(np.isfinite(r), np.abs(r), 0.0)
    level = VOL_LEVEL_ELASTICITY * np.log(sig / np.sqrt(paths.longrun_var[n_i]))
    log_mult = (
        activity[t_i, n_i] + level + np.log1p(ABS_RETURN_LINK * r_abs / sig) + VOLUME_NOISE_SD * rng.standard_normal(m)
    )
    dvol = dadv * np.exp(log_mult - _LOG_MULT_MEAN)
    volume = np.maximum(np.round(dvol / vwap), 100).astype(np.int64)
    ats = uni.trade_size[n_i] * np.exp(0.1 * rng.standard_normal(m))
    trades = np.maximum(np.round(volume / ats), 1).astype(np.int64)
    spread = dollar_spread(relative_spread(dadv) * np.exp(0.15 * rng.standard_normal(m)), c, tick)
    return {
        "session_id": t_i.astype(np.int64),
        "name": n_i,
        "open": o,
        "high": hi,
        "low": lo,
        "close": c,
        "vwap": vwap,
        "volume": volume,
        "nbbo_spread": spread,
        "trades": trades,
    }

"""A quoted-spread estimate for daily bars that carry no quote: the Corwin–Schultz high-low estimator.

Vendors such as Alpaca deliver OHLCV bars without the closing NBBO. A zero spread would be a
false statement that trading is free, so the ``nbbo_spread`` of such bars is *estimated*
from two consecutive sessions' highs and lows (Corwin, S. A. and Schultz, P. (2012), "A
Simple Way to Estimate Bid-Ask Spreads from Daily High and Low Prices", *Journal of
Finance* 67(2), 719-760, eqs. (14) and (18), with their overnight-return adjustment):

    beta  = ln(H_t / L_t)^2 + ln(H_{t-1} / L_{t-1})^2
    gamma = ln(max(H_t, H_{t-1}) / min(L_t, L_{t-1}))^2
    alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))
    S     = 2 (e^alpha - 1) / (1 + e^alpha)          (relative to the price)

Day ``t``'s high and low are first shifted by the overnight gap when they lie entirely above
(or below) the previous close. Negative estimates are set to zero, as in the paper. The
estimate in currency units, ``S * close``, is then floored at :data:`TICK` (one cent, the
minimum quoting increment of a stock priced at $1 or more under Reg NMS rule 612, so the
closing spread of an unlocked market is never below it) and capped at the day's high (the
bars contract). A session whose previous session has no bar of the name gets :data:`TICK`:
a stated lower bound, never a measured spread. The estimate uses sessions ``t-1`` and ``t``
only, so it is known at ``t``'s close and is the same whatever window fetched the bars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ESTIMATOR", "TICK", "corwin_schultz", "with_estimated_spread"]

TICK = 0.01
"""One cent: the floor of an estimated closing spread (currency units)."""
ESTIMATOR = "corwin_schultz_2012"
"""Name of the estimator, recorded in the lineage of the bars that carry it."""
_K = 3.0 - 2.0 * np.sqrt(2.0)


def corwin_schultz(high, low, prev_high, prev_low, prev_close) -> np.ndarray:
    """Relative spread estimate of each session from it and the previous one (NaN where inputs are).

    Examples
    --------
    >>> round(float(corwin_schultz(101.0, 99.0, 101.0, 99.0, 100.0)[0]), 6)
    0.02
    >>> float(corwin_schultz(110.0, 100.0, 101.0, 91.0, 100.0)[0])  # trending: negative -> 0
    0.0
    """
    h, lo = np.asarray(high, dtype=float), np.asarray(low, dtype=float)
    ph, pl, pc = (np.asarray(x, dtype=float) for x in (prev_high, prev_low, prev_close))
    up = np.where(lo > pc, lo - pc, 0.0)  # gap up overnight: shift day t down
    down = np.where(h < pc, pc - h, 0.0)  # gap down overnight: shift day t up
    h, lo = h - up + down, lo - up + down
    beta = np.log(h / lo) ** 2 + np.log(ph / pl) ** 2
    gamma = np.log(np.maximum(h, ph) / np.minimum(lo, pl)) ** 2
    alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _K - np.sqrt(gamma / _K)
    s = 2.0 * np.expm1(alpha) / (1.0 + np.exp(alpha))
    return np.atleast_1d(np.maximum(s, 0.0))  # np.maximum keeps NaN


def with_estimated_spread(bars: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.Series:
    """``nbbo_spread`` (currency units) of ``date, symbol, high, low, close`` bars, by the estimator above.

    ``sessions`` is the trading calendar covering the bars and the session before the first:
    a bar is paired with the name's bar of the immediately preceding session, if any.
    """
    b = bars[["date", "symbol", "high", "low", "close"]]
    prev_date = pd.Series(sessions[np.maximum(sessions.searchsorted(b["date"]) - 1, 0)], index=b.index)
    prev = b.rename(columns={"date": "prev_date", "high": "ph", "low": "pl", "close": "pc"})
    paired = b.assign(prev_date=prev_date).merge(prev, on=["symbol", "prev_date"], how="left")
    rel = corwin_schultz(paired["high"], paired["low"], paired["ph"], paired["pl"], paired["pc"])
    spread = np.clip(np.nan_to_num(rel * paired["close"].to_numpy(), nan=0.0), TICK, None)
    return pd.Series(np.minimum(spread, paired["high"].to_numpy()), index=b.index, name="nbbo_spread")

"""Per-name trading-cost inputs as known before the open of each session.

From the curated prices (:class:`~quant_assets.research.frames.Wide` matrices): the previous
close as the price, the 60-session average dollar volume and the 60-session daily return
volatility, both to the close of ``t - 1``. The curated prices carry no quotes, so the quoted
spread is a stated assumption: ``spread_bps`` of the price (configurable per profile).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.features.rolling import rolling_moments

__all__ = ["cost_inputs_from_wide"]


def _lagged_rolling(x: np.ndarray, window: int, stat: str) -> np.ndarray:
    """Trailing ``stat`` (``mean`` or ``std``) over the ``window`` rows ending the row before."""
    out = np.full(x.shape, np.nan)
    out[1:] = rolling_moments(x, window, max(5, window // 4), (stat,))[stat][:-1]
    return out


def cost_inputs_from_wide(wide, spread_bps: float = 5.0, window: int = 60) -> pd.DataFrame:
    """``date, symbol, price, spread, adv_dollar, daily_vol`` for every session with a prior close.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(sessions=pd.DatetimeIndex(["2024-01-02", "2024-01-03"]),
    ...                     symbols=pd.Index(["A"]), close=np.array([[10.0], [11.0]]),
    ...                     volume=np.array([[100.0], [100.0]]), ret=np.array([[np.nan], [0.1]]))
    >>> cost_inputs_from_wide(w)[["symbol", "price", "spread"]].to_dict("records")
    [{'symbol': 'A', 'price': 10.0, 'spread': 0.005}]
    """
    close = np.asarray(wide.close, dtype=np.float64)
    price = np.vstack([np.full((1, close.shape[1]), np.nan), close[:-1]])
    adv = _lagged_rolling(close * np.asarray(wide.volume, dtype=np.float64), window, "mean")
    vol = _lagged_rolling(np.asarray(wide.ret, dtype=np.float64), window, "std")
    t_i, n_i = np.nonzero(np.isfinite(price))
    return pd.DataFrame(
        {
            "date": wide.sessions.values[t_i],
            "symbol": np.asarray(wide.symbols)[n_i],
            "price": price[t_i, n_i],
            "spread": price[t_i, n_i] * spread_bps * 1e-4,
            "adv_dollar": adv[t_i, n_i],
            "daily_vol": vol[t_i, n_i],
        }
    )

r"""A simple variance-risk-premium forecast in the ``vol_forecasts`` shape (a baseline signal).

For an ATM straddle of implied vol :math:`\sigma_i` delta-hedged over :math:`T` while the
underlier realizes :math:`\sigma_r`, the gamma PnL :math:`\tfrac12\Gamma S^2(\sigma_r^2 -
\sigma_i^2)T` with :math:`\Gamma \approx 2\varphi(0)/(S\sigma_i\sqrt T)` over the premium
:math:`2\varphi(0) S\sigma_i\sqrt T` is :math:`\tfrac12(\sigma_r^2/\sigma_i^2 - 1)` (Carr & Wu
2009, "Variance risk premiums"; Bennett 2014, *Trading Volatility*, §2). The forecast takes the
premium's trailing ratio as its expectation: realized variance over the last ``window``
sessions (log returns through the close, x252) over the mean 30-day ATM implied variance
quoted ``horizon`` sessions before each of those returns. Negative when implied has been rich
(sell), positive when cheap (buy). As the model forecasts, the row of session ``asof`` is formed
before its open: from data through the close of the session before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["atm_vol_30d", "vrp_forecasts"]


def atm_vol_30d(surfaces: pd.DataFrame, days: float = 30.0) -> pd.DataFrame:
    """Forward-ATM implied vol of the expiry nearest ``days`` per ``date, underlier``."""
    s = surfaces
    w0 = s["a"] + s["b"] * (-s["rho"] * s["m"] + np.sqrt(s["m"] ** 2 + s["sigma"] ** 2))
    f = pd.DataFrame(
        {
            "date": pd.DatetimeIndex(s["date"]),
            "underlier": s["underlier"].astype(str),
            "dist": np.abs(s["t_years"] * 365.0 - days),
            "iv": np.sqrt(np.maximum(w0, 1e-12) / s["t_years"]),
        }
    )
    f = f.sort_values(["date", "underlier", "dist"], kind="stable").drop_duplicates(["date", "underlier"])
    return f[["date", "underlier", "iv"]].reset_index(drop=True)


def vrp_forecasts(
    surfaces: pd.DataFrame, spots: pd.DataFrame, window: int = 252, min_periods: int = 126, horizon: int = 21
) -> pd.DataFrame:
    """``underlier, asof, horizon, forecast_iv_change, forecast_straddle_pnl_bps, conf`` per session.

    Realized variance over the last ``window`` returns (at least ``min_periods``; fewer: no
    row); ``conf`` is 1 and the IV change forecast 0 (this signal has no view on the level's path).
    """
    px = spots.pivot_table(index="date", columns="underlier", values="spot", aggfunc="last").sort_index()
    iv2 = atm_vol_30d(surfaces).pivot_table(index="date", columns="underlier", values="iv", aggfunc="last") ** 2
    iv2 = iv2.reindex(index=px.index, columns=px.columns)
    rv = np.log(px).diff().pow(2).rolling(window, min_periods=min_periods).mean() * 252.0
    implied = iv2.shift(horizon).rolling(window, min_periods=min_periods).mean()
    ratio = (rv / implied).shift(1).stack().rename("ratio").reset_index()  # known before the open
    ratio = ratio[np.isfinite(ratio["ratio"])]
    bps = 1e4 * 0.5 * (ratio["ratio"] - 1.0)
    return pd.DataFrame(
        {
            "underlier": ratio["underlier"].astype(str),
            "asof": pd.DatetimeIndex(ratio["date"]),
            "horizon": np.int64(horizon),
            "forecast_iv_change": 0.0,
            "forecast_straddle_pnl_bps": bps,
            "conf": 1.0,
        }
    ).sort_values(["asof", "underlier"], ignore_index=True)

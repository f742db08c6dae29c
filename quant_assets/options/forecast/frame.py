"""The daily ``vol_forecasts`` rows from the two selected forecasters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.options.forecast.selection import VolForecaster

__all__ = ["FORECAST_COLUMNS", "forecast_frame"]

FORECAST_COLUMNS = (
    "underlier",
    "asof",
    "horizon",
    "forecast_iv_change",
    "forecast_straddle_pnl_bps",
    "conf",
    "model_pnl",
    "model_iv",
)


def forecast_frame(pnl: VolForecaster, iv: VolForecaster, features: pd.DataFrame) -> pd.DataFrame:
    """One row per (asof, underlier) of ``features``: both forecasts over the horizon and a confidence.

    ``conf`` is the straddle-PnL forecaster's :meth:`~VolForecaster.confidence` (the PnL forecast
    is what a vol strategy trades on); ``model_pnl`` / ``model_iv`` name the selected candidates.
    """
    if pnl.horizon != iv.horizon:
        raise ValueError(f"the forecasters disagree on the horizon: {pnl.horizon} vs {iv.horizon}")
    X = features.reset_index(drop=True)
    return pd.DataFrame(
        {
            "underlier": X["underlier"].astype(str).to_numpy(dtype=object),
            "asof": pd.to_datetime(X["asof"]).to_numpy(),
            "horizon": np.full(len(X), int(pnl.horizon), dtype=np.int64),
            "forecast_iv_change": iv.predict(X),
            "forecast_straddle_pnl_bps": pnl.predict(X),
            "conf": pnl.confidence(X),
            "model_pnl": pnl.name,
            "model_iv": iv.name,
        }
    )[list(FORECAST_COLUMNS)]

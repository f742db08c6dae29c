"""Walk-forward vol forecasts over history, for backtests: refitted on the labels known at each refit.

The daily ``vol_forecasts`` asset forecasts only sessions on or after its model's training date.
A backtest of a vol strategy needs forecasts for every past session made without the future:
:func:`walk_forward_forecasts` refits a given candidate every ``refit_every`` sessions on the
panel of labels whose ``known_date`` is before the refit session (expanding window) and forecasts
the sessions up to the next refit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from quant_assets.options.forecast.config import VolForecastConfig
from quant_assets.options.forecast.frame import FORECAST_COLUMNS, forecast_frame
from quant_assets.options.forecast.selection import VolForecaster, vol_candidates, vol_panel

__all__ = ["walk_forward_forecasts"]


def walk_forward_forecasts(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: VolForecastConfig | None = None,
    *,
    candidate: str = "lightgbm",
    refit_every: int = 21,
    min_sessions: int = 60,
) -> pd.DataFrame:
    """Out-of-sample forecasts (:data:`~quant_assets.options.forecast.FORECAST_COLUMNS`) over history.

    Parameters
    ----------
    features, labels : DataFrame
        As for :func:`~quant_assets.options.forecast.select_vol_model`.
    candidate : str
        One of :func:`~quant_assets.options.forecast.vol_candidates` (the same for both forecasts).
    refit_every : int
        Sessions between refits.
    min_sessions : int
        Labelled sessions needed before the first refit; earlier sessions get no forecast.
    """
    cfg = config or VolForecastConfig()
    sessions = pd.DatetimeIndex(np.sort(pd.to_datetime(features["asof"]).unique()))
    cols = [c for c in features.columns if c.startswith("feature_")]
    parts = []
    for i in range(0, len(sessions), refit_every):
        d = sessions[i]
        panel = vol_panel(features, labels, cfg, as_of=d)
        if panel["asof"].nunique() < min_sessions:
            continue
        scorers = []
        for target in (cfg.targets["straddle_pnl"], cfg.targets["iv_change"]):
            y = panel[target].to_numpy(np.float64)
            model = clone(vol_candidates(cols, cfg)[candidate]).fit(panel, y)
            scorers.append(VolForecaster(model, cols, cfg.horizon, candidate, target).fit(panel, y))
        block = sessions[i : i + refit_every]
        todo = features[pd.DatetimeIndex(features["asof"]).isin(block)]
        parts.append(forecast_frame(*scorers, todo).assign(model_as_of=d))
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in (*FORECAST_COLUMNS, "model_as_of")})
    return pd.concat(parts, ignore_index=True)

"""Vol forecasts: ATM IV change and delta-hedged straddle PnL over a horizon, selected under CPCV.

Pure domain code: settings (:class:`VolForecastConfig`), the selection through the core CPCV +
PBO + DSR path with the multiplicity log (:func:`select_vol_model`) and the daily forecast rows
(:func:`forecast_frame`). Features and labels: :mod:`quant_assets.options.vol_features`,
:mod:`quant_assets.options.vol_labels`.
"""

from quant_assets.options.forecast.config import VolForecastConfig
from quant_assets.options.forecast.frame import FORECAST_COLUMNS, forecast_frame
from quant_assets.options.forecast.selection import (
    StraddleBook,
    VolForecaster,
    VolSelectionResult,
    readiness,
    select_vol_model,
    vol_candidates,
    vol_panel,
)
from quant_assets.options.forecast.walk_forward import walk_forward_forecasts

__all__ = [
    "FORECAST_COLUMNS",
    "StraddleBook",
    "VolForecastConfig",
    "VolForecaster",
    "VolSelectionResult",
    "forecast_frame",
    "readiness",
    "select_vol_model",
    "vol_candidates",
    "vol_panel",
    "walk_forward_forecasts",
]

"""Settings of the vol forecasts (the profile's ``vol_forecast`` block)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quant_assets.config.fields import coerce_dataclass, reject_unknown_fields
from quant_assets.models.gate import GateConfig
from quant_assets.options.vol_features import VolFeatureConfig
from quant_assets.options.vol_labels import VolLabelConfig

__all__ = ["VolForecastConfig"]


@dataclass(frozen=True)
class VolForecastConfig:
    """Features, labels, CPCV layout, costs, gate and tracking of the vol forecasts.

    ``horizon`` (sessions, one of ``labels.horizons``) is the horizon forecast and traded;
    ``straddle_cost_bps`` is the round-trip cost of a straddle position charged in selection, in
    bps of its premium (half the quoted spread on entry and exit: about 6% of the mid on the
    synthetic quotes, hence the 600 default); ``lgbm_params`` are those of the LightGBM candidates;
    ``backtest_candidate`` is the candidate whose walk-forward forecasts (refit every
    ``backtest_refit_every`` sessions on the labels known by then) drive the options backtest.
    """

    horizon: int = 21
    n_folds: int = 6
    n_test_folds: int = 2
    embargo_days: int = 5
    pbo_blocks: int = 16
    straddle_cost_bps: float = 600.0
    ridge_alpha: float = 10.0
    lgbm_params: Mapping[str, Any] = field(
        default_factory=lambda: {
            "n_estimators": 80,
            "learning_rate": 0.05,
            "num_leaves": 7,
            "min_child_samples": 20,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "reg_lambda": 5.0,
        }
    )
    seed: int = 0
    backtest_candidate: str = "ridge"
    backtest_refit_every: int = 21
    features: VolFeatureConfig = field(default_factory=VolFeatureConfig)
    labels: VolLabelConfig = field(default_factory=VolLabelConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    experiment: str = "vol_selection"
    model_name: str = "vol_forecaster"

    def __post_init__(self) -> None:
        if self.horizon not in self.labels.horizons:
            raise ValueError(f"horizon {self.horizon} is not one of the label horizons {self.labels.horizons}")

    @property
    def targets(self) -> dict[str, str]:
        """Forecast name -> label column."""
        return {"straddle_pnl": f"straddle_pnl_bps_{self.horizon}", "iv_change": f"iv_change_{self.horizon}"}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> VolForecastConfig:
        """From a profile's ``vol_forecast`` block (``features``, ``labels``, ``gate`` sub-blocks)."""
        d = dict(d or {})
        feats = coerce_dataclass(VolFeatureConfig, d.pop("features", None), "vol_forecast.features")
        labels = coerce_dataclass(VolLabelConfig, d.pop("labels", None), "vol_forecast.labels")
        gate = GateConfig.from_dict(d.pop("gate", None))
        reject_unknown_fields(cls, d, "vol_forecast settings")
        return cls(**d, features=feats, labels=labels, gate=gate)

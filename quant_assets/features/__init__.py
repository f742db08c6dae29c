"""Equity features, point in time: see :mod:`quant_assets.features.equity` for the list and rules."""

from quant_assets.features.equity import (
    FEATURE_COLUMNS,
    FEATURES,
    LOOKBACK_SESSIONS,
    build_feature_panel,
    compute_equity_features,
    feature_columns,
    raw_feature_matrices,
)
from quant_assets.features.standardize import winsorized_z
from quant_assets.research.frames import MarketFrames

__all__ = [
    "FEATURES",
    "FEATURE_COLUMNS",
    "LOOKBACK_SESSIONS",
    "MarketFrames",
    "build_feature_panel",
    "compute_equity_features",
    "feature_columns",
    "raw_feature_matrices",
    "winsorized_z",
]

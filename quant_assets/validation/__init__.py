"""Validation statistics: Sharpe-ratio inference, PBO, CPCV and model selection.

Pure domain code (NumPy / SciPy / scikit-learn / matplotlib), no orchestration
framework imports.
"""

from quant_assets.validation.cpcv import (
    EMBARGOED,
    MAX_COMBINATIONS,
    PURGED,
    TEST,
    TRAIN,
    CombinatorialPurgedCV,
    SplitMasks,
    as_observation_times,
)
from quant_assets.validation.fold_diagram import cpcv_session_status, plot_cpcv_folds
from quant_assets.validation.pbo import (
    PBOResult,
    cscv_combinations,
    probability_of_backtest_overfitting,
)
from quant_assets.validation.run import (
    ReturnsFn,
    default_candidates,
    rank_long_short_returns,
    run_cpcv,
)
from quant_assets.validation.sharpe import (
    EULER_GAMMA,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    selection_dsr,
    sharpe_ratio_std,
)

__all__ = [
    "EMBARGOED",
    "EULER_GAMMA",
    "MAX_COMBINATIONS",
    "PURGED",
    "TEST",
    "TRAIN",
    "CombinatorialPurgedCV",
    "PBOResult",
    "ReturnsFn",
    "SplitMasks",
    "as_observation_times",
    "cpcv_session_status",
    "cscv_combinations",
    "default_candidates",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "min_track_record_length",
    "plot_cpcv_folds",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "rank_long_short_returns",
    "run_cpcv",
    "selection_dsr",
    "sharpe_ratio_std",
]

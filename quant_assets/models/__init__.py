"""Equities sleeve models: candidates, net decile long/short paths, selection under CPCV with
PBO and DSR, the go/no-go gate, the multiplicity log, the dark hold-out and daily scoring.

Pure domain code (pandas, scikit-learn, LightGBM); no orchestration imports. MLflow tracking
lives in :mod:`quant_assets.models.tracking` and is imported only where used.
"""

from quant_assets.models.candidates import CandidateSpec, FeatureModel, RankScore, build_candidates, feature_families
from quant_assets.models.costs import cost_inputs_from_wide
from quant_assets.models.gate import GateConfig, GateVerdict, evaluate_gate
from quant_assets.models.holdout import DarkHoldout, DarkHoldoutError, SealedFrame, seal
from quant_assets.models.portfolio import CostInputs, DecileLongShort, annualized_sharpe, decile_weights, max_drawdown
from quant_assets.models.scoring import ScoringModel, score_frame
from quant_assets.models.selection import SelectionConfig, SelectionResult, research_panel, select_model
from quant_assets.models.trials import TrialsLog

__all__ = [
    "CandidateSpec",
    "CostInputs",
    "DarkHoldout",
    "DarkHoldoutError",
    "DecileLongShort",
    "FeatureModel",
    "GateConfig",
    "GateVerdict",
    "RankScore",
    "ScoringModel",
    "SealedFrame",
    "SelectionConfig",
    "SelectionResult",
    "TrialsLog",
    "annualized_sharpe",
    "build_candidates",
    "cost_inputs_from_wide",
    "decile_weights",
    "evaluate_gate",
    "feature_families",
    "max_drawdown",
    "research_panel",
    "score_frame",
    "seal",
    "select_model",
]

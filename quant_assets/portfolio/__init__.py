"""Portfolio construction: scores to target weights under fractional Kelly, volatility targets and hard caps.

Pure domain code (NumPy, pandas, scikit-learn); no orchestration imports.
"""

from quant_assets.portfolio.build import REQUIRED_COLUMNS, build
from quant_assets.portfolio.caps import CONSTRAINT_COLUMNS, CapLog, LevelCaps, limit_trades
from quant_assets.portfolio.config import KELLY_RANGE, RiskConfig
from quant_assets.portfolio.rebalance import gp_trade_rate, partial_rebalance
from quant_assets.portfolio.risk import MIN_OBS, conservative_edge, ex_ante_vol, shrunk_covariance

__all__ = [
    "CONSTRAINT_COLUMNS",
    "KELLY_RANGE",
    "MIN_OBS",
    "REQUIRED_COLUMNS",
    "CapLog",
    "LevelCaps",
    "RiskConfig",
    "build",
    "conservative_edge",
    "ex_ante_vol",
    "gp_trade_rate",
    "limit_trades",
    "partial_rebalance",
    "shrunk_covariance",
]

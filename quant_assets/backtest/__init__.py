"""Event-driven, position-aware, deterministic backtester of daily target weights.

Pure domain code (NumPy, pandas); orders go through :func:`quant_assets.execution.simulate`.
"""

from quant_assets.backtest.config import BacktestConfig
from quant_assets.backtest.engine import EQUITY_COLUMNS, BacktestResult, run_backtest, run_id
from quant_assets.backtest.lots import FifoBook, FifoLots
from quant_assets.backtest.market import MarketPanel, delisting_return
from quant_assets.backtest.metrics import capacity, drawdown, summarize

__all__ = [
    "EQUITY_COLUMNS",
    "BacktestConfig",
    "BacktestResult",
    "FifoBook",
    "FifoLots",
    "MarketPanel",
    "capacity",
    "delisting_return",
    "drawdown",
    "run_backtest",
    "run_id",
    "summarize",
]

"""Event-driven, position-aware, deterministic backtester of daily target weights.

Pure domain code (NumPy, pandas); the book is held as arrays indexed by symbol and each
session's orders are filled by the execution simulator in one vectorized call
(:func:`quant_assets.execution.session.session_fills`).
"""

from quant_assets.backtest.config import BacktestConfig
from quant_assets.backtest.engine import EQUITY_COLUMNS, BacktestResult, run_backtest, run_id
from quant_assets.backtest.lots import FifoBook, FifoLots
from quant_assets.backtest.market import MarketPanel, delisting_return
from quant_assets.backtest.metrics import capacity, drawdown, summarize
from quant_assets.backtest.reference import frictionless_nav
from quant_assets.backtest.targets import TargetPanel

__all__ = [
    "EQUITY_COLUMNS",
    "BacktestConfig",
    "BacktestResult",
    "FifoBook",
    "FifoLots",
    "MarketPanel",
    "TargetPanel",
    "capacity",
    "delisting_return",
    "drawdown",
    "frictionless_nav",
    "run_backtest",
    "run_id",
    "summarize",
]

"""Options book: the daily re-hedged backtest of the options sleeves with Greeks attribution
and the per-sleeve Go/No-Go figures. Pure domain code."""

from quant_assets.options.book.engine import BUCKETS, DAILY_COLUMNS, OptionsBacktest, run_options_backtest
from quant_assets.options.book.metrics import sleeve_go_no_go, trial_grid

__all__ = ["BUCKETS", "DAILY_COLUMNS", "OptionsBacktest", "run_options_backtest", "sleeve_go_no_go", "trial_grid"]

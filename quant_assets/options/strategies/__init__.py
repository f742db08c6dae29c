"""Options strategies: the vol sleeve (delta-hedged straddles and strangles from vol forecasts)
and the spread sleeve (verticals, calendars, diagonals from equities scores and surface shape),
their costs, Greeks caps and the daily §10.2 document. Pure domain code."""

from quant_assets.options.strategies.build import (
    STRATEGY_COLUMNS,
    build_strategies,
    document_from_rows,
    empty_strategies,
)
from quant_assets.options.strategies.costs import (
    assignment_risk,
    hedge_cost,
    option_fill_costs,
    projected_ex_dividends,
)
from quant_assets.options.strategies.panel import SurfacePanel
from quant_assets.options.strategies.policy import StrategyPolicy
from quant_assets.options.strategies.signals import vrp_forecasts

__all__ = [
    "STRATEGY_COLUMNS",
    "StrategyPolicy",
    "SurfacePanel",
    "assignment_risk",
    "build_strategies",
    "document_from_rows",
    "empty_strategies",
    "hedge_cost",
    "option_fill_costs",
    "projected_ex_dividends",
    "vrp_forecasts",
]

"""Reports: human-readable markdown and figures, machine-readable JSON."""

from quant_assets.reporting.blotter import blotter_positions, emit_daily, validate_blotter
from quant_assets.reporting.market_summary import MarketSummary, write_market_summary

__all__ = ["MarketSummary", "blotter_positions", "emit_daily", "validate_blotter", "write_market_summary"]
